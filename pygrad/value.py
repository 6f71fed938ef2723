"""The Value facade: a Python handle on one node of the C arena.

A Value holds only its node's index. Creating one takes a reference to the
node and dropping it releases that reference; the arena frees a node when no
Value and no living child refers to it. Every operator below is a single call
into C, so the cost per operation is Python's own: the method call, one C call
and one small object.
"""
import numbers
from contextlib import ContextDecorator

from ._c import ffi, lib, check, raise_status

__all__ = ["Value", "Leaves", "no_grad", "stats"]

_new = object.__new__
_leaf = lib.pg_leaf
_unary = lib.pg_unary
_powk = lib.pg_powk
_binary = lib.pg_binary
_binary_k = lib.pg_binary_k
_data = lib.pg_data
_grad = lib.pg_grad

# The op names micrograd shows (PG_POWK shows its exponent: "**3").
_OP_NAMES = {
    lib.PG_LEAF: "", lib.PG_ADD: "+", lib.PG_SUB: "-", lib.PG_MUL: "*",
    lib.PG_DIV: "/", lib.PG_POW: "**", lib.PG_NEG: "neg", lib.PG_RELU: "ReLU",
    lib.PG_TANH: "tanh", lib.PG_SIGMOID: "sigmoid", lib.PG_EXP: "exp",
    lib.PG_LOG: "log", lib.PG_SQRT: "sqrt", lib.PG_ABS: "abs", lib.PG_SIN: "sin",
    lib.PG_COS: "cos",
}


def _real(x, what):
    """x as a float if it is a real number (bool, int, float, NumPy scalar...)."""
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"{what} must be a real number, not {type(x).__name__}")


def _label_bytes(label):
    """A label as the NUL-terminated UTF-8 the core stores."""
    if type(label) is not str:
        raise TypeError(f"Value label must be a str, not {type(label).__name__}")
    if "\0" in label:
        raise ValueError("Value label must not contain NUL characters")
    return label.encode()


def op_name(i):
    """The name of node i's operation, as micrograd shows it."""
    code = lib.pg_op(i)
    if code == lib.PG_POWK:
        k = lib.pg_const(i)
        return f"**{int(k) if k.is_integer() and abs(k) < 1e15 else k}"
    return _OP_NAMES[code]


def _handle(i):
    """A new Value for live node i, taking a reference to it."""
    check(lib.pg_retain(i))
    v = _new(Value)
    v._i = i
    return v


# The operator methods below end alike (check the status, make the Value).
# That tail is written out in each rather than shared: a helper would add a
# Python call, about 50 ns, to every operation.

def _binop(op, name):
    """The method for `self <op> other`."""
    def method(self, other):
        if type(other) is Value:
            i = _binary(op, self._i, other._i)
        elif type(other) is float or type(other) is int:
            i = _binary_k(op, self._i, other, 0)
        elif isinstance(other, Value):
            i = _binary(op, self._i, other._i)
        elif isinstance(other, numbers.Real):
            i = _binary_k(op, self._i, float(other), 0)
        else:
            return NotImplemented
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v
    method.__name__ = method.__qualname__ = name
    return method


def _rbinop(op, name):
    """The method for `other <op> self` when other is not a Value."""
    def method(self, other):
        if type(other) is float or type(other) is int:
            i = _binary_k(op, self._i, other, 1)
        elif isinstance(other, Value):
            i = _binary(op, other._i, self._i)
        elif isinstance(other, numbers.Real):
            i = _binary_k(op, self._i, float(other), 1)
        else:
            return NotImplemented
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v
    method.__name__ = method.__qualname__ = name
    return method


def _unop(op, name, doc):
    """The method for a one-operand operation."""
    def method(self):
        i = _unary(op, self._i)
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v
    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


class Value:
    """A scalar in a computation graph: its data, and after backward() its grad."""

    __slots__ = ("_i",)

    def __new__(cls, data, label=""):
        if type(data) is not float:
            data = _real(data, "Value data")
        encoded = _label_bytes(label) if label != "" else None
        i = _leaf(data)
        if i < 0:
            raise_status(i)
        self = _new(cls)
        self._i = i
        if encoded is not None:
            check(lib.pg_set_label(i, encoded))
        return self

    def __del__(self, _release=lib.pg_release):
        _release(self._i)

    def __reduce__(self):
        # Pickles and copies as a leaf with the same data, grad and label.
        return (_restore, (self.data, self.grad, self.label))

    # ---- Attributes.

    @property
    def data(self):
        """The node's value (a float)."""
        return _data(self._i)

    @data.setter
    def data(self, x):
        if type(x) is not float:
            x = _real(x, "Value.data")
        lib.pg_set_data(self._i, x)

    @property
    def grad(self):
        """d(root)/d(this node) from the latest backward() through it."""
        return _grad(self._i)

    @grad.setter
    def grad(self, x):
        if type(x) is not float:
            x = _real(x, "Value.grad")
        lib.pg_set_grad(self._i, x)

    @property
    def label(self):
        """A name for drawings; "" when none."""
        p = lib.pg_label(self._i)
        return "" if p == ffi.NULL else ffi.string(p).decode()

    @label.setter
    def label(self, label):
        check(lib.pg_set_label(self._i, _label_bytes(label)))

    @property
    def op(self):
        """The operation that made this value: "" for a leaf, else "+", "*", "**3", "tanh"..."""
        return op_name(self._i)

    @property
    def children(self):
        """The operands, in order: (a, b) for a * b, (a,) for a.tanh(), () for a leaf."""
        i = self._i
        out = []
        for k in (0, 1):
            p = lib.pg_parent(i, k)
            if p < 0:
                break
            out.append(_handle(p))
        return tuple(out)

    # micrograd's names, so code that walks micrograd graphs runs unchanged.
    _op = op

    @property
    def _prev(self):
        return set(self.children)

    def __eq__(self, other):
        # Two handles of the same node are the same value.
        if isinstance(other, Value):
            return self._i == other._i
        return NotImplemented

    def __hash__(self):
        return self._i

    def __repr__(self):
        label = self.label
        tail = f", label={label!r}" if label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{tail})"

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

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            return NotImplemented
        if type(other) is int or type(other) is float:
            i = _powk(self._i, other)  # constant exponent, kept in the node
        elif isinstance(other, Value):
            i = _binary(lib.PG_POW, self._i, other._i)
        elif isinstance(other, numbers.Real):
            i = _powk(self._i, float(other))
        else:
            return NotImplemented
        if i < 0:
            raise_status(i)
        v = _new(Value)
        v._i = i
        return v

    __neg__ = _unop(lib.PG_NEG, "__neg__", "-self")
    __abs__ = _unop(lib.PG_ABS, "__abs__", "|self|")

    def __pos__(self):
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

    def backward(self, grad=1.0):
        """Backpropagates from this value, seeded with grad.

        Interior nodes get the gradients of this pass; leaves add them to what
        they hold, as in PyTorch (set p.grad = 0 to reset)."""
        if type(grad) is not float:
            grad = _real(grad, "backward() grad")
        check(lib.pg_backward(self._i, grad))

    def draw_dot(self, **options):
        """A graphviz drawing of the graph under this value: see pygrad.draw_dot."""
        from .export import draw_dot
        return draw_dot(self, **options)

    def forward(self):
        """Recomputes every node under this one from the leaves' current data,
        in C, and returns the new data."""
        check(lib.pg_forward(self._i))
        return _data(self._i)


def _restore(data, grad, label):
    """Unpickles a Value as a leaf."""
    v = Value(data, label)
    v.grad = grad
    return v


class Leaves:
    """A fixed list of leaves whose data is set in one call, for feeding a
    new batch to a graph before forward()."""

    def __init__(self, values):
        values = list(values)
        for v in values:
            if not isinstance(v, Value):
                raise TypeError(f"Leaves takes Values, not {type(v).__name__}")
            if lib.pg_op(v._i) != lib.PG_LEAF:
                raise ValueError(f"Leaves takes leaves only; {v!r} is the result of {v.op!r}")
        self.values = values  # keeps the nodes alive while their indices are held
        self._idx = ffi.new("uint32_t[]", [v._i for v in values])

    def __len__(self):
        return len(self.values)

    def set(self, data):
        """Sets each leaf's data from data: a sequence of real numbers, or any
        buffer of float64 (array.array("d"), a NumPy float64 array) read in place."""
        n = len(self.values)
        if isinstance(data, (list, tuple)):
            if len(data) != n:
                raise ValueError(f"got {len(data)} numbers for {n} leaves")
            try:
                buf = ffi.new("double[]", data)
            except TypeError:
                bad = next(x for x in data if not isinstance(x, numbers.Real))
                raise TypeError(f"leaf data must be real numbers, not {type(bad).__name__}") from None
        else:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError(f"data must be a sequence of numbers or a float64 buffer, "
                                f"not {type(data).__name__}") from None
            if view.format not in ("d", "<d", "=d") or not view.c_contiguous:
                raise TypeError(f"a data buffer must be contiguous float64, not format {view.format!r}")
            if view.nbytes != 8 * n:
                raise ValueError(f"got {view.nbytes // 8} numbers for {n} leaves")
            buf = ffi.from_buffer("double[]", view)
        check(lib.pg_set_data_many(self._idx, buf, n))


class no_grad(ContextDecorator):
    """Inside, operations record no graph: their results are leaves. Applies to
    the calling thread only, as in PyTorch; usable as a decorator too."""

    def __init__(self):
        self._saved = []

    def __enter__(self):
        self._saved.append(lib.pg_grad_mode(0))
        return self

    def __exit__(self, *exc):
        lib.pg_grad_mode(self._saved.pop())
        return False


def stats():
    """The arena's figures: live_nodes, capacity, bytes, cached_orders, order_bytes."""
    s = ffi.new("pg_stats *")
    lib.pg_get_stats(s)
    return {name: getattr(s, name) for name in
            ("live_nodes", "capacity", "bytes", "cached_orders", "order_bytes")}
