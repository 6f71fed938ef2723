"""A small neural-network library in micrograd's shape: Neuron, Layer, MLP.

Weights start uniform in [-1, 1) from Python's `random` module, so
`random.seed(n)` makes a model repeatable. Models pickle and deep-copy as
independent copies with the same parameters:

    pickle.dump(model, open("model.pkl", "wb"))      # save
    model = pickle.load(open("model.pkl", "rb"))     # load
"""
from __future__ import annotations

import numbers
import random
from typing import Any, Callable, Dict, Iterable, List, Sequence, Union

from .value import Number, Value

__all__ = ["Module", "Neuron", "Layer", "MLP"]

# Each parameter is a node, and the arena's 32-bit indices name at most this
# many: a model that needs more is refused before anything is made.
MAX_PARAMETERS = 2**32 - 2

# The activations a neuron may apply, by name.
ACTIVATIONS: Dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid}

# What a model takes: numbers or Values; and what it gives: one Value when
# its last layer has one output, else a list.
Inputs = Sequence[Union[Value, Number]]
Outputs = Union[Value, List[Value]]


def _size(name: str, n: object) -> int:
    """n as a positive int (Python's or NumPy's), or the error naming it."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be a positive int, not {type(n).__name__}")
    size = int(n)
    if size < 1:
        raise ValueError(f"{name} must be a positive int, not {n!r}")
    return size


def _check_parameters(what: str, count: int) -> None:
    if count > MAX_PARAMETERS:
        raise ValueError(f"{what} would have {count:,} parameters, more than the "
                         f"{MAX_PARAMETERS:,} nodes pygrad's arena can hold")


class Module:
    """Anything with parameters."""

    def parameters(self) -> List[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """activation(w . x + b), or w . x + b when nonlin is False."""

    def __init__(self, nin: int, nonlin: bool = True, activation: str = "relu") -> None:
        nin = _size("nin", nin)
        _check_parameters(f"Neuron({nin})", nin + 1)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin
        self.activation = activation

    def __call__(self, x: Inputs) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"the neuron takes {len(self.w)} inputs, got {len(x)}")
        act = self.b
        for wi, xi in zip(self.w, x):
            act = act + wi * xi
        return ACTIVATIONS[self.activation](act) if self.nonlin else act

    def parameters(self) -> List[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        kind = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[self.activation]
        return f"{kind if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons over the same nin inputs; keyword arguments go to each Neuron."""

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        nin, nout = _size("nin", nin), _size("nout", nout)
        _check_parameters(f"Layer({nin}, {nout})", (nin + 1) * nout)
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Inputs) -> Outputs:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> List[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes nouts after nin inputs; every layer but the last applies
    the activation. Called on a list of numbers or Values, it returns a Value
    when the last layer has one output, else a list."""

    def __init__(self, nin: int, nouts: Iterable[int], activation: str = "relu") -> None:
        if isinstance(nouts, (str, bytes)) or not hasattr(nouts, "__iter__"):
            raise TypeError(f"nouts must be a list of layer sizes, not {type(nouts).__name__}")
        sizes = [_size("nin", nin)] + [_size("each of nouts", n) for n in nouts]
        if len(sizes) == 1:
            raise ValueError("nouts must list at least one layer size")
        _check_parameters(f"MLP({sizes[0]}, {sizes[1:]})",
                          sum((a + 1) * b for a, b in zip(sizes, sizes[1:])))
        self.layers = [Layer(sizes[i], sizes[i + 1], nonlin=i != len(sizes) - 2,
                             activation=activation) for i in range(len(sizes) - 1)]

    def __call__(self, x: Inputs) -> Outputs:
        for layer in self.layers:  # at least one
            out = layer(x)
            x = [out] if isinstance(out, Value) else out
        return out

    def parameters(self) -> List[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
