"""A small neural-network library in micrograd's shape: Neuron, Layer, MLP,
and cross_entropy.

A neuron is one dot node and its activation; a layer makes all its neurons'
nodes in one call into C. Weights start uniform in [-1, 1) from Python's
`random` module, drawn as micrograd draws them, so `random.seed(n)` makes a
model repeatable (and the same model as micrograd's). A neuron's weights and
bias are made side by side in the arena, which the core's dense loops read
as plain arrays. Models pickle and deep-copy as independent copies with the
same parameters:

    pickle.dump(model, open("model.pkl", "wb"))      # save
    model = pickle.load(open("model.pkl", "rb"))     # load
"""
from __future__ import annotations

import numbers
import random
from typing import Any, Callable, Dict, Iterable, List, NoReturn, Optional, Sequence, Tuple, Union

from ._c import ffi, lib
from .nary import Dense, dot, logsumexp
from .scopes import enter, inner, leave, _name
from .value import Number, Value, leaves

__all__ = ["Module", "Neuron", "Layer", "MLP", "cross_entropy"]

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


# The calling thread's scope number (pygrad.scopes), read once a layer call.
_scope_now: Callable[[], int] = lib.pg_scope_get

# Bumped by every attribute write on a Neuron or Layer, so that a layer's
# plan (its parameters' indices, kept for the core) is remade after any change.
_changes = [0]


class _Fixed(list):  # type: ignore[type-arg]
    """A list that cannot change in place: a neuron's weights and a layer's
    neurons, whose nodes a layer's plan names. Assign a new list instead, or
    set a weight's .data to change its value."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a Neuron's weights and a Layer's neurons cannot change in place: "
                        "set w.data to change a weight, or assign a new list")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> Tuple[type, Tuple[List[Any]]]:
        return (_Fixed, (list(self),))


class Module:
    """Anything with parameters."""

    def parameters(self) -> List[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """activation(w . x + b), or w . x + b when nonlin is False: one dot node
    (pygrad.dot) and its activation. Its parameters and the nodes it makes are
    in scope `scope` (pygrad.scope), which a Layer names "Neuron 1", "Neuron 2"..."""

    w: List[Value]
    b: Value
    scope = "Neuron"  # for models pickled before scopes

    def __init__(self, nin: int, nonlin: bool = True, activation: str = "relu", *,
                 scope: str = "Neuron") -> None:
        nin = _size("nin", nin)
        _check_parameters(f"Neuron({nin})", nin + 1)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {activation!r}")
        self.scope = _name(scope)
        outer = enter(scope)
        try:
            params = leaves([random.uniform(-1, 1) for _ in range(nin)] + [0.0])
        finally:
            leave(outer)
        self.w = _Fixed(params[:-1])
        self.b = params[-1]
        self.nonlin = nonlin
        self.activation = activation

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        _changes[0] += 1

    def __call__(self, x: Inputs) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"the neuron takes {len(self.w)} inputs, got {len(x)}")
        outer = enter(self.scope)
        try:
            act = dot(self.w, x, self.b)
            return ACTIVATIONS[self.activation](act) if self.nonlin else act
        finally:
            leave(outer)

    def parameters(self) -> List[Value]:
        return list(self.w) + [self.b]

    def __repr__(self) -> str:
        kind = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}[self.activation]
        return f"{kind if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """nout neurons over the same nin inputs; keyword arguments go to each
    Neuron. Called on inputs, it makes every neuron's nodes in one call into
    C, or neuron by neuron where they differ (in kind, size or activation).
    Its neurons' nodes are in scopes "Neuron 1", "Neuron 2"... inside scope
    `scope` (which an MLP names "Layer 1", "Layer 2"...)."""

    neurons: List[Neuron]
    scope = "Layer"  # for models pickled before scopes
    # (the _changes count it was made at, the scope it was called in, the plan
    # or None to go neuron by neuron, each neuron's scope number for the
    # plan); None until first called. Not pickled.
    _plan: Optional[Tuple[int, int, Optional[Dense], Any]] = None

    def __init__(self, nin: int, nout: int, *, scope: str = "Layer", **kwargs: Any) -> None:
        nin, nout = _size("nin", nin), _size("nout", nout)
        _check_parameters(f"Layer({nin}, {nout})", (nin + 1) * nout)
        self.scope = _name(scope)
        outer = enter(scope)
        try:
            self.neurons = _Fixed(Neuron(nin, scope=f"Neuron {j + 1}", **kwargs)
                                  for j in range(nout))
        finally:
            leave(outer)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name != "_plan":
            _changes[0] += 1

    def __getstate__(self) -> Dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_plan", None)
        return state

    def _make_plan(self, outer: int) -> Tuple[int, int, Optional[Dense], Any]:
        """The plan for the neurons as they are now, called from scope number
        outer, with each neuron's scope number as pg_dense takes them (made in
        order, a new layer's are consecutive, which the core keeps as one run)."""
        # Lists from before plans existed (an old pickle, a user's own) are
        # made fixed first, so that nothing changes under the plan unseen.
        if type(self.neurons) is not _Fixed:
            self.neurons = _Fixed(self.neurons)
        for n in self.neurons:
            if type(n) is Neuron and type(n.w) is not _Fixed:
                n.w = _Fixed(n.w)
        plan: Optional[Dense] = None
        first = self.neurons[0] if self.neurons else None
        if first is not None and all(
                type(n) is Neuron and n.nonlin == first.nonlin
                and n.activation == first.activation and len(n.w) == len(first.w)
                and all(type(v) is Value for v in n.w) and type(n.b) is Value
                for n in self.neurons):
            plan = Dense([n.w for n in self.neurons], [n.b for n in self.neurons],
                         first.activation if first.nonlin else None)
        numbers = None
        if plan is not None:
            layer = inner(outer, self.scope)
            numbers = ffi.new("uint32_t[]", [inner(layer, n.scope) for n in self.neurons])
        self._plan = (_changes[0], outer, plan, numbers)
        return self._plan

    def __call__(self, x: Inputs) -> Outputs:
        outer = _scope_now()
        kept = self._plan
        if kept is None or kept[0] != _changes[0] or kept[1] != outer:
            kept = self._make_plan(outer)
        plan = kept[2]
        if plan is not None:
            out = plan(x, kept[3])
        else:
            outer = enter(self.scope)
            try:
                out = [n(x) for n in self.neurons]
            finally:
                leave(outer)
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
                             activation=activation, scope=f"Layer {i + 1}")
                       for i in range(len(sizes) - 1)]

    def __call__(self, x: Inputs) -> Outputs:
        for layer in self.layers:  # at least one
            out = layer(x)
            x = [out] if isinstance(out, Value) else out
        return out

    def parameters(self) -> List[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def cross_entropy(logits: Sequence[Union[Value, Number]], target: int) -> Value:
    """Softmax cross-entropy of one example: -log(softmax(logits)[target]),
    computed as logsumexp(logits) - logits[target] (one logsumexp node, stable
    for any logits), as torch.nn.functional.cross_entropy on one row of
    logits and a class index."""
    if isinstance(logits, (Value, str, bytes)) or not isinstance(logits, Sequence):
        raise TypeError(f"logits must be a sequence of Values or numbers, "
                        f"not {type(logits).__name__}")
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(f"target must be a class index (int), not {type(target).__name__}")
    if not 0 <= target < len(logits):
        raise ValueError(f"target {target} is not a class index for {len(logits)} logits")
    return logsumexp(logits) - logits[int(target)]
