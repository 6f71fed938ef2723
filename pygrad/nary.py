"""N-ary operations: dot, sum and logsumexp, each one node of the graph made
in one call into C, whatever the number of operands (1 to millions).

Operands are Values or real numbers; a number becomes a leaf of the graph, as
it does in `x * 2`. The rules, and the order in which terms are added, are
in csrc/rules.h: left to right, as Python's own sum() of Values adds them.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, Union

from ._c import ffi, lib, raise_status
from .interrupts import atomic
from .value import Number, Value, _new, _real, own

__all__ = ["dot", "sum", "logsumexp", "Dense"]

Operand = Union[Value, Number]

# An operand that is a number, not a node: the core makes it a leaf.
_NUMBER = 2**32 - 1
_nary: Callable[[int, List[int], List[float], int], int] = lib.pg_nary
_pg_dense: Callable[..., int] = lib.pg_dense


def _operands(values: Iterable[Operand], what: str) -> Tuple[List[int], List[float]]:
    """The core's two arrays for values: node indices, and the numbers that
    stand where an index is _NUMBER."""
    if isinstance(values, (str, bytes, Value)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} takes a sequence of Values and numbers, "
                        f"not {type(values).__name__}")
    idx: List[int] = []
    k: List[float] = []
    for v in values:
        if isinstance(v, Value):
            idx.append(v._i)
            k.append(0.0)
        else:
            idx.append(_NUMBER)
            k.append(v if type(v) is float else _real(v, f"{what} operand"))
    return idx, k


@atomic
def _make(op: int, idx: List[int], k: List[float]) -> Value:
    """One n-ary node over the operands idx (and k)."""
    v = _new(Value)
    i = _nary(op, idx, k, len(idx))
    if i < 0:
        raise_status(i)
    v._i = i
    return v


@atomic
def _dense(w: Any, b: Any, idx: List[int], k: List[float], nout: int,
           activation: int, scopes: Any) -> List[Value]:
    """pg_dense's nout results as Values, which own the holds it gives."""
    out = ffi.new("uint32_t[]", nout)
    s = _pg_dense(w, b, idx, k, len(idx), nout, activation, scopes, out)
    if s < 0:
        raise_status(s)
    return own(out, nout)


# The activations a dense layer may apply, by name: unary ops of the core.
ACTIVATION_OPS = {None: lib.PG_LEAF, "relu": lib.PG_RELU, "tanh": lib.PG_TANH,
               "sigmoid": lib.PG_SIGMOID}


class Dense:
    """A dense layer's parameters as the core's arrays of node indices, made
    once: called on inputs it makes the layer's nodes in one call into C,
    each neuron one dot node (and its activation), as pygrad.dot and the
    activation's method would make them. It holds the Values, so that the
    indices stay theirs."""

    __slots__ = ("_values", "_w", "_b", "nin", "nout", "_act")

    def __init__(self, weights: Sequence[Sequence[Value]], biases: Optional[Sequence[Value]],
                 activation: Optional[str]) -> None:
        rows = [list(row) for row in weights]
        if not rows or any(len(row) != len(rows[0]) for row in rows) or not rows[0]:
            raise ValueError("a dense layer needs rows of weights, all of one length")
        flat = [w for row in rows for w in row] + list(biases or ())
        if not all(isinstance(v, Value) for v in flat):
            raise TypeError("a dense layer's weights and biases must be Values")
        if biases is not None and len(biases) != len(rows):
            raise ValueError(f"got {len(biases)} biases for {len(rows)} rows of weights")
        if activation not in ACTIVATION_OPS:
            raise ValueError(f"activation must be one of {sorted(a for a in ACTIVATION_OPS if a)} "
                             f"or None, not {activation!r}")
        self._values = tuple(flat)
        self.nin, self.nout = len(rows[0]), len(rows)
        self._w = ffi.new("uint32_t[]", [w._i for row in rows for w in row])
        self._b = ffi.new("uint32_t[]", [b._i for b in biases]) if biases is not None else ffi.NULL
        self._act = ACTIVATION_OPS[activation]

    def __call__(self, xs: Iterable[Operand], scopes: Any = ffi.NULL) -> List[Value]:
        """The layer's outputs for inputs xs; scopes, when given, a C array of
        each neuron's scope number (pg_dense)."""
        idx, k = _operands(xs, "a layer's input")
        if len(idx) != self.nin:
            raise ValueError(f"the layer takes {self.nin} inputs, got {len(idx)}")
        return _dense(self._w, self._b, idx, k, self.nout, self._act, scopes)


def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 (pygrad.sum, as torch.sum)
    """values[0] + values[1] + ... as one node (op "sum"), added left to right."""
    idx, k = _operands(values, "pygrad.sum()")
    if not idx:
        raise ValueError("pygrad.sum() needs at least one value")
    return _make(lib.PG_SUM, idx, k)


def logsumexp(values: Iterable[Operand]) -> Value:
    """log(exp(values[0]) + exp(values[1]) + ...) as one node (op
    "logsumexp"), computed as m + log(sum(exp(v - m))) with m the largest,
    so that no exp overflows."""
    idx, k = _operands(values, "pygrad.logsumexp()")
    if not idx:
        raise ValueError("pygrad.logsumexp() needs at least one value")
    return _make(lib.PG_LOGSUMEXP, idx, k)


def dot(ws: Iterable[Operand], xs: Iterable[Operand], bias: Optional[Operand] = None) -> Value:
    """bias + ws[0]*xs[0] + ws[1]*xs[1] + ... as one node (op "dot"), added
    from the bias left to right, as micrograd's neuron adds them, so the two
    agree to the bit. Its operands are w0, x0, w1, x1, ... and the bias last."""
    w_idx, w_k = _operands(ws, "pygrad.dot() ws")
    x_idx, x_k = _operands(xs, "pygrad.dot() xs")
    if len(w_idx) != len(x_idx):
        raise ValueError(f"pygrad.dot() got {len(w_idx)} weights for {len(x_idx)} inputs")
    idx = [i for pair in zip(w_idx, x_idx) for i in pair]
    k = [x for pair in zip(w_k, x_k) for x in pair]
    if bias is not None:
        b_idx, b_k = _operands([bias], "pygrad.dot() bias")
        idx += b_idx
        k += b_k
    if not idx:
        raise ValueError("pygrad.dot() needs at least one pair of values, or a bias")
    return _make(lib.PG_DOT, idx, k)
