"""The Value facade: a Python handle on one node of the C arena.

A Value holds only its node's index, in a slot that only this module writes:
creating a Value takes a reference to the node and dropping it releases that
reference; the arena frees a node when no Value and no living child refers to
it. Every operator below is a single call into C, so the cost per operation is
Python's own: the method call, one C call and one small object.
"""
from __future__ import annotations

import numbers
import threading
from contextlib import ContextDecorator
from typing import (Any, Callable, Dict, Iterable, List, Optional, Set, SupportsFloat, Tuple,
                    Union, cast)

from ._c import ffi, lib, check, raise_status
from .interrupts import atomic

__all__ = ["Value", "Leaves", "no_grad", "stats"]

_new: Callable[[type[Value]], Value] = object.__new__
# The largest int that converts to a finite float64; past it, _real names it.
_INT_MAX = 2**1024 - 2**970 - 1
_leaf: Callable[[float], int] = lib.pg_leaf
_unary: Callable[[int, int], int] = lib.pg_unary
_powk: Callable[[int, object], int] = lib.pg_powk
_binary: Callable[[int, int, int], int] = lib.pg_binary
_binary_k: Callable[[int, int, object, int], int] = lib.pg_binary_k
_data: Callable[[int], float] = lib.pg_data
_grad: Callable[[int], float] = lib.pg_grad

# What an operator takes beside a Value: any real number.
Number = SupportsFloat
# The operator methods' answer to an operand they do not take, typed as what
# they return otherwise (they are made by functions, not written as dunders).
_NOT_IMPLEMENTED: Value = NotImplemented

# Gradient hooks, kept by pygrad.hooks: node index -> {key: function}. Here so
# that backward() can tell at once whether any exist.
hooked: Dict[int, Dict[int, Callable[[float], Optional[float]]]] = {}

# The op names micrograd shows (PG_POWK shows its exponent: "**3").
_OP_NAMES: Dict[int, str] = {
    lib.PG_LEAF: "", lib.PG_ADD: "+", lib.PG_SUB: "-", lib.PG_MUL: "*",
    lib.PG_DIV: "/", lib.PG_POW: "**", lib.PG_NEG: "neg", lib.PG_RELU: "ReLU",
    lib.PG_TANH: "tanh", lib.PG_SIGMOID: "sigmoid", lib.PG_EXP: "exp",
    lib.PG_LOG: "log", lib.PG_SQRT: "sqrt", lib.PG_ABS: "abs", lib.PG_SIN: "sin",
    lib.PG_COS: "cos", lib.PG_MASK: "mask", lib.PG_SIGN: "sign",
    lib.PG_TANH_BACK: "tanh_backward", lib.PG_SIGMOID_BACK: "sigmoid_backward",
    lib.PG_SUM: "sum", lib.PG_DOT: "dot", lib.PG_LOGSUMEXP: "logsumexp",
}


def operand_indices(i: int) -> List[int]:
    """Node i's operands, in order, as indices."""
    out: List[int] = []
    while True:
        p = lib.pg_parent(i, len(out))
        if p < 0:
            return out
        out.append(p)


def _shown(x: object) -> str:
    """x for an error message, a long number cut down to its ends."""
    try:
        text = repr(x)
    except ValueError:  # an int longer than Python will write out in digits
        return f"{type(x).__name__} of {x.bit_length():,} bits" if isinstance(x, int) else "?"
    return text if len(text) <= 40 else f"{text[:15]}...{text[-8:]} ({len(text)} characters)"


def _real(x: object, what: str) -> float:
    """x as a float if it is a real number (bool, int, float, Fraction, NumPy's
    numbers and bools); TypeError otherwise, OverflowError beyond float64."""
    t = type(x)
    numpy_bool = t.__module__ == "numpy" and t.__name__ in ("bool", "bool_")
    if isinstance(x, numbers.Real) or numpy_bool:
        try:
            return float(cast(SupportsFloat, x))
        except OverflowError:
            raise OverflowError(f"{what} {_shown(x)} is out of float64's range") from None
    raise TypeError(f"{what} must be a real number, not {t.__name__}")


def _compared(other: object) -> Optional[float]:
    """The number a Value is compared with: another Value's data or a real
    number; None for anything else, whose comparison is then NotImplemented
    (and a TypeError unless the other side handles it)."""
    if isinstance(other, Value):
        result: float = _data(other._i)
        return result
    if isinstance(other, numbers.Real):
        return float(other)
    return None


def _label_bytes(label: object) -> bytes:
    """A label as the NUL-terminated UTF-8 the core stores."""
    if type(label) is not str:
        raise TypeError(f"Value label must be a str, not {type(label).__name__}")
    if "\0" in label:
        raise ValueError("Value label must not contain NUL characters")
    return label.encode()


def op_name(i: int) -> str:
    """The name of node i's operation, as micrograd shows it."""
    code = lib.pg_op(i)
    if code == lib.PG_POWK:
        k = lib.pg_const(i)
        return f"**{int(k) if k.is_integer() and abs(k) < 1e15 else k}"
    return _OP_NAMES[code]


@atomic
def _handle(i: int) -> Value:
    """A new Value for live node i, taking a reference to it. No Python
    function runs between the retain and the store (an interrupt there would
    strand the hold), so the status is checked inline."""
    v = _new(Value)
    s = lib.pg_retain(i)
    if s < 0:
        raise_status(s)
    v._i = i
    return v


# The operator methods below end alike (check the status, make the Value).
# That tail is written out in each rather than shared: a helper would add a
# Python call, about 50 ns, to every operation.

def _binop(op: int, name: str) -> Callable[[Value, Union[Value, Number]], Value]:
    """The method for `self <op> other`."""
    def method(self: Value, other: object) -> Value:
        if type(other) is Value:
            i = _binary(op, self._i, other._i)
        elif type(other) is float or type(other) is int and -_INT_MAX <= other <= _INT_MAX:
            i = _binary_k(op, self._i, other, 0)
        elif isinstance(other, Value):
            i = _binary(op, self._i, other._i)
        elif isinstance(other, numbers.Real):
            i = _binary_k(op, self._i, _real(other, f"{name} operand"), 0)
        else:
            return _NOT_IMPLEMENTED
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v
    method.__name__ = method.__qualname__ = name
    return atomic(method)


def _rbinop(op: int, name: str) -> Callable[[Value, Number], Value]:
    """The method for `other <op> self` when other is not a Value."""
    def method(self: Value, other: object) -> Value:
        if type(other) is float or type(other) is int and -_INT_MAX <= other <= _INT_MAX:
            i = _binary_k(op, self._i, other, 1)
        elif isinstance(other, Value):
            i = _binary(op, other._i, self._i)
        elif isinstance(other, numbers.Real):
            i = _binary_k(op, self._i, _real(other, f"{name} operand"), 1)
        else:
            return _NOT_IMPLEMENTED
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v
    method.__name__ = method.__qualname__ = name
    return atomic(method)


def _unop(op: int, name: str, doc: str) -> Callable[[Value], Value]:
    """The method for a one-operand operation."""
    def method(self: Value) -> Value:
        i = _unary(op, self._i)
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v
    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return atomic(method)


class Value:
    """A scalar in a computation graph: its data, and after backward() its grad."""

    # _i: the node's index, owning one of the node's holds (pygrad.h). Written
    # once, by this module; a pickle cannot set it (__setstate__ refuses). It is
    # not guarded against writes from Python, which would cost every operation
    # a slower store (about 13% more instructions): a forged index can make a
    # Value act on another node, but its release is refused by the core unless
    # the node has a hold to give, so the arena stays whole. A bare
    # object.__new__(Value) has no _i and names no node. __dict__ holds what
    # users set on a Value (optimizer state, colours), as on micrograd's.
    __slots__ = ("_i", "__dict__", "__weakref__")

    _i: int

    @atomic
    def __new__(cls, data: Number, label: str = "") -> Value:
        if type(data) is not float:
            data = _real(data, "Value data")
        encoded = _label_bytes(label) if label != "" else None
        self = _new(cls)
        i = _leaf(data)
        if i < 0:
            raise_status(i)
        self._i = i
        if encoded is not None:
            check(lib.pg_set_label(i, encoded))
        return self

    @atomic
    def __del__(self, _release: Callable[[int], int] = lib.pg_release) -> None:
        try:
            i = self._i
        except AttributeError:  # made by object.__new__: no node
            return
        _release(i)

    def __reduce__(self) -> Tuple[Any, ...]:
        # Pickles and copies as a leaf with the same data, grad and label, and
        # the attributes set on it.
        return (_restore, (self.data, self.grad, self.label), self.__dict__ or None)

    def __setstate__(self, state: object) -> None:
        # pygrad's pickles carry only a dict of attributes; _i is never one.
        if (not isinstance(state, dict) or "_i" in state
                or not all(type(k) is str for k in state)):
            raise TypeError("a Value cannot be given state by a pickle: pygrad pickles a "
                            "Value as a call that makes a new leaf, and its attributes")
        self.__dict__.update(state)

    # ---- Attributes.

    @property
    def data(self) -> float:
        """The node's value (a float)."""
        return _data(self._i)

    @data.setter
    def data(self, x: Number) -> None:
        if type(x) is not float:
            x = _real(x, "Value.data")
        check(lib.pg_set_data(self._i, x))

    @property
    def grad(self) -> float:
        """d(root)/d(this node) from the latest backward() through it."""
        return _grad(self._i)

    @grad.setter
    def grad(self, x: Number) -> None:
        if type(x) is not float:
            x = _real(x, "Value.grad")
        check(lib.pg_set_grad(self._i, x))

    @property
    def label(self) -> str:
        """A name for drawings; "" when none."""
        p = lib.pg_label(self._i)
        return "" if p == ffi.NULL else ffi.string(p).decode()

    @label.setter
    def label(self, label: str) -> None:
        check(lib.pg_set_label(self._i, _label_bytes(label)))

    @property
    def op(self) -> str:
        """The operation that made this value: "" for a leaf, else "+", "*", "**3", "tanh"..."""
        return op_name(self._i)

    @property
    def children(self) -> Tuple[Value, ...]:
        """The operands, in order: (a, b) for a * b, (a,) for a.tanh(), () for a
        leaf, (w0, x0, w1, x1, ..., bias) for pygrad.dot. Each is the Value
        you hold for that node when you hold one, and the same object on
        every walk while it lives (pygrad.handles)."""
        from .handles import value_of
        return tuple(value_of(p) for p in operand_indices(self._i))

    # micrograd's names, so code that walks micrograd graphs runs unchanged.
    _op = op

    @property
    def _prev(self) -> Set[Value]:
        return set(self.children)

    def __eq__(self, other: object) -> bool:
        # Two handles of the same node are the same value.
        if isinstance(other, Value):
            return self._i == other._i
        return NotImplemented

    def __hash__(self) -> int:
        return self._i

    def __repr__(self) -> str:
        label = self.label
        tail = f", label={label!r}" if label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{tail})"

    # ---- The number itself, as PyTorch's 0-dim tensors give it.

    def item(self) -> float:
        """data, as a Python float."""
        result: float = _data(self._i)
        return result

    def __float__(self) -> float:
        result: float = _data(self._i)
        return result

    def __int__(self) -> int:
        return int(_data(self._i))

    def __round__(self, ndigits: Optional[int] = None) -> Union[int, float]:
        return round(_data(self._i), ndigits)

    def __format__(self, spec: str) -> str:
        # f"{v}" shows the Value; f"{v:.3f}" formats its data.
        return format(_data(self._i), spec) if spec else str(self)

    def detach(self) -> Value:
        """A new leaf holding the same data, outside any graph."""
        return Value(_data(self._i))

    # ---- Comparisons: of data, giving bools, so that max(), min() and
    # sorted() work on Values and return the Values themselves. == and hash
    # stay node identity (above), as in micrograd, where sets of _prev rely
    # on it.

    def __lt__(self, other: object) -> bool:
        x = _compared(other)
        return NotImplemented if x is None else _data(self._i) < x

    def __le__(self, other: object) -> bool:
        x = _compared(other)
        return NotImplemented if x is None else _data(self._i) <= x

    def __gt__(self, other: object) -> bool:
        x = _compared(other)
        return NotImplemented if x is None else _data(self._i) > x

    def __ge__(self, other: object) -> bool:
        x = _compared(other)
        return NotImplemented if x is None else _data(self._i) >= x

    # ---- Operators.

    __add__ = _binop(lib.PG_ADD, "__add__")
    __sub__ = _binop(lib.PG_SUB, "__sub__")
    __mul__ = _binop(lib.PG_MUL, "__mul__")
    __truediv__ = _binop(lib.PG_DIV, "__truediv__")
    __radd__ = _rbinop(lib.PG_ADD, "__radd__")
    __rsub__ = _rbinop(lib.PG_SUB, "__rsub__")
    __rmul__ = _rbinop(lib.PG_MUL, "__rmul__")
    __rtruediv__ = _rbinop(lib.PG_DIV, "__rtruediv__")
    __rpow__ = _rbinop(lib.PG_POW, "__rpow__")

    @atomic
    def __pow__(self, other: Union[Value, Number], modulo: None = None) -> Value:
        if modulo is not None:
            return NotImplemented
        if type(other) is float or type(other) is int and -_INT_MAX <= other <= _INT_MAX:
            i = _powk(self._i, other)  # constant exponent, kept in the node
        elif isinstance(other, Value):
            i = _binary(lib.PG_POW, self._i, other._i)
        elif isinstance(other, numbers.Real):
            i = _powk(self._i, _real(other, "__pow__ operand"))
        else:
            return NotImplemented
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v

    __neg__ = _unop(lib.PG_NEG, "__neg__", "-self")
    __abs__ = _unop(lib.PG_ABS, "__abs__", "|self|")

    def __pos__(self) -> Value:
        return self

    relu = _unop(lib.PG_RELU, "relu", "max(self, 0).")
    tanh = _unop(lib.PG_TANH, "tanh", "Hyperbolic tangent.")
    sigmoid = _unop(lib.PG_SIGMOID, "sigmoid", "1 / (1 + exp(-self)).")
    exp = _unop(lib.PG_EXP, "exp", "e ** self.")
    log = _unop(lib.PG_LOG, "log", "Natural logarithm (-inf at 0, nan below).")
    sqrt = _unop(lib.PG_SQRT, "sqrt", "Square root (nan below 0).")
    abs = _unop(lib.PG_ABS, "abs", "|self|")
    sin = _unop(lib.PG_SIN, "sin", "Sine.")
    cos = _unop(lib.PG_COS, "cos", "Cosine.")

    # ---- Graph passes.

    def _backward(self) -> None:
        """One step of backpropagation by hand, as in micrograd: adds this
        node's grad times each local derivative to its operands' grad. A
        leaf's does nothing."""
        check(lib.pg_backward_node(self._i))

    def backward(self, grad: Number = 1.0, retain_graph: Optional[bool] = None) -> None:
        """Backpropagates from this value, seeded with grad.

        Interior nodes get the gradients of this pass; leaves add them to what
        they hold, as in PyTorch (set p.grad = 0 to reset). retain_graph is
        taken for code written for PyTorch: pygrad's graphs outlive backward
        whatever it says."""
        if type(grad) is not float:
            grad = _real(grad, "backward() grad")
        if hooked:
            from .autograd import backward_with_hooks
            backward_with_hooks(self, grad)
        else:
            check(lib.pg_backward(self._i, grad))

    def register_hook(self, fn: Callable[[float], Optional[float]]) -> Any:
        """Calls fn(grad) with this node's whole gradient in every pass that
        reaches it (backward() and pygrad.grad), before it is passed on; a
        number returned replaces the gradient. Returns a handle whose remove()
        takes fn off. An exception in fn propagates out of the pass."""
        from .hooks import register
        return register(self, fn)

    def draw_dot(self, **options: Any) -> Any:
        """A graphviz drawing of the graph under this value: see pygrad.draw_dot."""
        from .export import draw_dot
        return draw_dot(self, **options)

    def forward(self) -> float:
        """Recomputes every node under this one from the leaves' current data,
        in C, and returns the new data."""
        check(lib.pg_forward(self._i))
        result: float = _data(self._i)
        return result


_setattr = object.__setattr__


def _restore(data: float, grad: float, label: str) -> Value:
    """Unpickles a Value as a leaf."""
    v = Value(data, label)
    v.grad = grad
    return v


# How many calls of own() there have been: its Values may name nodes made
# before (a gradient that is an existing node), which pygrad.handles must
# know to look for.
adopted = [0]


@atomic
def own(indices: Any, count: int) -> List[Value]:
    """Values for the count node indices in indices (a sequence or a C array),
    taking over the holds the core gave on them; one not yet in a Value when
    something fails is given back. The caller is atomic too, so that nothing
    runs between the core's call and this one."""
    adopted[0] += 1
    values: List[Value] = []
    try:
        for j in range(count):
            v = _new(Value)
            v._i = indices[j]
            values.append(v)
    except BaseException:
        for j in range(len(values), count):
            lib.pg_release(indices[j])
        raise
    return values


@atomic
def leaves(data: List[float]) -> List[Value]:
    """New leaves holding data (floats), made in one call at consecutive
    indices, so that the dense loops of the core read them as one array: how
    nn makes a neuron's parameters."""
    first = lib.pg_leaves(data, len(data))
    if first < 0:
        raise_status(first)
    return own(range(first, first + len(data)), len(data))


class Leaves:
    """A fixed, immutable list of leaves whose data is set in one call, for
    feeding a new batch to a graph before forward()."""

    # _values keeps the leaves alive while _idx, a C array of their indices
    # made from the same tuple, is held; neither changes after __init__.
    __slots__ = ("_values", "_idx")

    _values: Tuple[Value, ...]
    _idx: Any  # a cffi uint32_t[]

    def __init__(self, values: Iterable[Value]) -> None:
        if hasattr(self, "_idx"):
            raise TypeError("Leaves is immutable: make a new one")
        values = tuple(values)
        for v in values:
            if not isinstance(v, Value):
                raise TypeError(f"Leaves takes Values, not {type(v).__name__}")
            if lib.pg_op(v._i) != lib.PG_LEAF:
                raise ValueError(f"Leaves takes leaves only; {v!r} is the result of {v.op!r}")
        _setattr(self, "_values", values)
        _setattr(self, "_idx", ffi.new("uint32_t[]", [v._i for v in values]))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Leaves is immutable: make a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Leaves is immutable: make a new one")

    def __reduce__(self) -> Tuple[type, Tuple[Tuple[Value, ...]]]:
        return (Leaves, (self._values,))

    @property
    def values(self) -> Tuple[Value, ...]:
        """The leaves, as a tuple."""
        return self._values

    def __len__(self) -> int:
        return len(self._values)

    def set(self, data: Any) -> None:
        """Sets each leaf's data from data: a sequence of real numbers (what
        Value() takes, with its errors), or any C-contiguous buffer of float64
        (array.array("d"), a NumPy float64 array) read in place."""
        idx = self._idx
        n = len(idx)  # the C array's own length: set() never reads past it
        if isinstance(data, (list, tuple)):
            if len(data) != n:
                raise ValueError(f"got {len(data)} numbers for {n} leaves")
            buf = None
            if _PLAIN.issuperset(map(type, data)):  # floats and ints: converted in C
                try:
                    buf = ffi.new("double[]", data)
                except OverflowError:
                    pass  # named below
            if buf is None:
                buf = ffi.new("double[]", [x if type(x) is float else _real(x, "leaf data")
                                           for x in data])
        else:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError(f"data must be a sequence of numbers or a float64 buffer, "
                                f"not {type(data).__name__}") from None
            if view.format not in ("d", "<d", "=d"):
                raise TypeError(f"a data buffer must hold float64 (format 'd'), "
                                f"not format {view.format!r}")
            if not view.c_contiguous:
                raise TypeError("a data buffer must be C-contiguous: copy it first "
                                "(numpy.ascontiguousarray)")
            if view.nbytes != 8 * n:
                raise ValueError(f"got {view.nbytes // 8} numbers for {n} leaves")
            buf = ffi.from_buffer("double[]", view)
        check(lib.pg_set_data_many(idx, buf, n))


# Number types whose lists cffi converts to double itself.
_PLAIN = frozenset((float, int))


class no_grad(ContextDecorator):
    """Inside, operations record no graph: their results are leaves. Applies to
    the calling thread only, as in PyTorch; usable as a decorator too, and one
    instance may be entered by many threads at once, and nested."""

    def __init__(self) -> None:
        self._saved = threading.local()  # each thread's stack of modes to restore

    def __enter__(self) -> no_grad:
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append(lib.pg_grad_mode(0))
        return self

    def __exit__(self, *exc: object) -> None:
        lib.pg_grad_mode(self._saved.stack.pop())


def stats() -> Dict[str, int]:
    """The arena's figures: live_nodes, capacity, bytes, cached_orders,
    order_bytes, operand_bytes."""
    s = ffi.new("pg_stats *")
    lib.pg_get_stats(s)
    return {name: getattr(s, name) for name in
            ("live_nodes", "capacity", "bytes", "cached_orders", "order_bytes",
             "operand_bytes")}
