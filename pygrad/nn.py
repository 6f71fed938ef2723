"""A small neural-network library in micrograd's shape: Neuron, Layer, MLP.

Weights start uniform in [-1, 1) from Python's `random` module, so
`random.seed(n)` makes a model repeatable. Models pickle and deep-copy as
independent copies with the same parameters:

    pickle.dump(model, open("model.pkl", "wb"))      # save
    model = pickle.load(open("model.pkl", "rb"))     # load
"""
import numbers
import random

from .value import Value

__all__ = ["Module", "Neuron", "Layer", "MLP"]

# Each parameter is a node, and the arena's 32-bit indices name at most this
# many: a model that needs more is refused before anything is made.
MAX_PARAMETERS = 2**32 - 2

# The activations a neuron may apply, by name.
ACTIVATIONS = {"relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid}


def _size(name, n):
    """n as a positive int (Python's or NumPy's), or the error naming it."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, not {type(n).__name__}")
    if n < 1:
        raise ValueError(f"{name} must be a positive int, not {n!r}")
    return int(n)


def _check_parameters(what, count):
    if count > MAX_PARAMETERS:
        raise ValueError(f"{what} would have {count:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} nodes pygrad's arena can hold")


class Module:
    """Anything with parameters."""

    def parameters(self):
        return []

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """activation(w . x + b), or w . x + b when nonlin is False."""

    def __init__(self, nin, nonlin=True, activation="relu"):
        nin = _size("nin", nin)
        _check_parameters(f"Neuron({nin})", nin + 1)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin
        self.activation = activation

    def __call__(self, x):
        if len(x) != len(self.w):
            raise ValueError(f"the neuron takes {len(self.w)} inputs, got {len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return ACTIVATIONS[self.activation](act) if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        kind = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[self.activation]
        return f"{kind if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons over the same nin inputs; keyword arguments go to each Neuron."""

    def __init__(self, nin, nout, **kwargs):
        nin, nout = _size("nin", nin), _size("nout", nout)
        _check_parameters(f"Layer({nin}, {nout})", (nin + 1) * nout)
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x):
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes nouts after nin inputs; every layer but the last applies
    the activation. Called on a list of numbers or Values, it returns a Value
    when the last layer has one output, else a list."""

    def __init__(self, nin, nouts, activation="relu"):
        if isinstance(nouts, (str, bytes)) or not hasattr(nouts, "__iter__"):
            raise TypeError(f"nouts must be a list of layer sizes, not {type(nouts).__name__}")
        sizes = [_size("nin", nin)] + [_size("each of nouts", n) for n in nouts]
        if len(sizes) == 1:
            raise ValueError("nouts must list at least one layer size")
        _check_parameters(f"MLP({sizes[0]}, {sizes[1:]})",
                          sum((a + 1) * b for a, b in zip(sizes, sizes[1:])))
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(sizes) - 2,
                             activation=activation) for i in range(len(sizes) - 1)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
            if isinstance(x, Value):
                x = [x]
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
