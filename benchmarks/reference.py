"""A pure-Python scalar autograd engine, written the way tutorials write one.

Each Value keeps its operands in a set and its local backward rule in a
closure; backward() sorts the graph topologically and applies the closures in
reverse. It has pygrad's ops and gradient semantics (interior nodes are reset
at the start of each pass, leaves accumulate), so it serves twice: as the
baseline pygrad's speed is measured against, and as an independent oracle in
the tests. The sort uses an explicit stack rather than recursion so that deep
graphs can be measured at all; that makes it faster than the recursive
textbook version, never slower.

Python's float operations raise where IEEE arithmetic gives an infinity or a
NaN (log(0), x / 0, overflow in exp); the helpers below give the IEEE results,
as NumPy, PyTorch and pygrad do, so that the engines can be compared anywhere.
"""
import math


def _div(x, y):
    try:
        return x / y
    except ZeroDivisionError:
        if x != x or x == 0:
            return math.nan
        return math.copysign(math.inf, x) * math.copysign(1.0, y)


def _pow(x, y):
    try:
        return math.pow(x, y)
    except (ValueError, OverflowError) as e:
        odd = math.isfinite(y) and y == int(y) and int(y) % 2 == 1
        if isinstance(e, OverflowError):
            return -math.inf if x < 0 and odd else math.inf
        if x == 0:  # 0 ** negative
            return math.copysign(math.inf, x) if odd else math.inf
        return math.nan  # negative ** fractional


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(x):
    return math.log(x) if x > 0 else -math.inf if x == 0 else math.nan


def _sqrt(x):
    return math.sqrt(x) if x >= 0 else math.nan


def _sin(x):
    return math.sin(x) if math.isfinite(x) else math.nan


def _cos(x):
    return math.cos(x) if math.isfinite(x) else math.nan


def _sgn(x):
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if x == 0 else x


class Value:
    """A scalar, the operands that made it, and how to pass a gradient back."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data - other.data, (self, other), "-")

        def _backward():
            self.grad += out.grad
            other.grad -= out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(_div(self.data, other.data), (self, other), "/")

        def _backward():
            self.grad += _div(out.grad, other.data)
            other.grad += _div(-out.grad * out.data, other.data)
        out._backward = _backward
        return out

    def __pow__(self, other):
        if isinstance(other, Value):
            out = Value(_pow(self.data, other.data), (self, other), "**")

            def _backward():
                x, y = self.data, other.data
                self.grad += 0.0 if y == 0 else out.grad * y * _pow(x, y - 1)
                other.grad += 0.0 if x == 0 and y >= 0 else out.grad * out.data * _log(x)
            out._backward = _backward
            return out
        k = float(other)
        out = Value(_pow(self.data, k), (self,), f"**{other}")

        def _backward():
            self.grad += 0.0 if k == 0 else out.grad * k * _pow(self.data, k - 1)
        out._backward = _backward
        return out

    def _unary(self, value, rule, op):
        """A one-operand op: its value, and rule(x, out, g), its operand's
        share of the gradient g, in the same form as pygrad's rule."""
        out = Value(value, (self,), op)

        def _backward():
            self.grad += rule(self.data, out.data, out.grad)
        out._backward = _backward
        return out

    def relu(self):
        return self._unary(0.0 if self.data <= 0 else self.data,
                           lambda x, o, g: 0.0 if o <= 0 else g, "ReLU")

    def tanh(self):
        return self._unary(math.tanh(self.data), lambda x, o, g: g * (1 - o * o), "tanh")

    def sigmoid(self):
        return self._unary(1 / (1 + _exp(-self.data)), lambda x, o, g: g * o * (1 - o), "sigmoid")

    def exp(self):
        return self._unary(_exp(self.data), lambda x, o, g: g * o, "exp")

    def log(self):
        return self._unary(_log(self.data), lambda x, o, g: _div(g, x), "log")

    def sqrt(self):
        return self._unary(_sqrt(self.data), lambda x, o, g: _div(g, 2 * o), "sqrt")

    def abs(self):
        return self._unary(abs(self.data), lambda x, o, g: g * _sgn(x), "abs")

    def sin(self):
        return self._unary(_sin(self.data), lambda x, o, g: g * _cos(x), "sin")

    def cos(self):
        return self._unary(_cos(self.data), lambda x, o, g: -g * _sin(x), "cos")

    def __neg__(self):
        return self._unary(-self.data, lambda x, o, g: -g, "neg")

    def __abs__(self):
        return self.abs()

    def __radd__(self, other):
        return Value(other) + self

    def __rsub__(self, other):
        return Value(other) - self

    def __rmul__(self, other):
        return Value(other) * self

    def __rtruediv__(self, other):
        return Value(other) / self

    def __rpow__(self, other):
        return Value(other) ** self

    def backward(self, grad=1.0):
        # Topological order, operands before results, by depth-first search.
        topo, visited, stack = [], set(), [(self, False)]
        while stack:
            v, expanded = stack.pop()
            if expanded:
                topo.append(v)
            elif v not in visited:
                visited.add(v)
                stack.append((v, True))
                stack.extend((child, False) for child in v._prev if child not in visited)
        for v in topo:
            if v._prev:
                v.grad = 0.0
        self.grad += grad
        for v in reversed(topo):
            v._backward()

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"
