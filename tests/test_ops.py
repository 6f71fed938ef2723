"""Each operation's value and gradient, against hand-derived formulas and
central finite differences of the same function written with math."""
import math

import pytest

from pygrad import Value
from helpers import central_difference, close

# name, pygrad expression, float function, hand-derived derivative, points
UNARY = [
    ("neg", lambda v: -v, lambda x: -x, lambda x: -1.0, [-2.0, 0.5]),
    ("relu", lambda v: v.relu(), lambda x: max(x, 0.0),
     lambda x: 1.0 if x > 0 else 0.0, [-1.5, 0.7, 3.0]),
    ("tanh", lambda v: v.tanh(), math.tanh, lambda x: 1 - math.tanh(x) ** 2, [-2.0, 0.3, 1.1]),
    ("sigmoid", lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x)),
     lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2, [-3.0, 0.0, 2.5]),
    ("exp", lambda v: v.exp(), math.exp, math.exp, [-1.0, 0.0, 2.0]),
    ("log", lambda v: v.log(), math.log, lambda x: 1 / x, [0.2, 1.0, 7.5]),
    ("sqrt", lambda v: v.sqrt(), math.sqrt, lambda x: 0.5 / math.sqrt(x), [0.25, 2.0, 9.0]),
    ("abs", lambda v: v.abs(), abs, lambda x: math.copysign(1.0, x), [-2.5, 1.5]),
    ("abs()", lambda v: abs(v), abs, lambda x: math.copysign(1.0, x), [-0.5]),
    ("sin", lambda v: v.sin(), math.sin, math.cos, [-1.0, 0.4, 2.0]),
    ("cos", lambda v: v.cos(), math.cos, lambda x: -math.sin(x), [-1.0, 0.4, 2.0]),
    ("**3", lambda v: v ** 3, lambda x: x ** 3, lambda x: 3 * x ** 2, [-1.5, 0.5, 2.0]),
    ("**-1", lambda v: v ** -1, lambda x: x ** -1, lambda x: -x ** -2, [-2.0, 0.5]),
    ("**0.5", lambda v: v ** 0.5, lambda x: x ** 0.5, lambda x: 0.5 * x ** -0.5, [0.3, 4.0]),
    ("+ const", lambda v: v + 2.5, lambda x: x + 2.5, lambda x: 1.0, [1.0]),
    ("const +", lambda v: 2.5 + v, lambda x: 2.5 + x, lambda x: 1.0, [1.0]),
    ("- const", lambda v: v - 4, lambda x: x - 4, lambda x: 1.0, [1.0]),
    ("const -", lambda v: 4 - v, lambda x: 4 - x, lambda x: -1.0, [1.0]),
    ("* const", lambda v: v * -3, lambda x: x * -3, lambda x: -3.0, [1.0]),
    ("const *", lambda v: -3 * v, lambda x: -3 * x, lambda x: -3.0, [1.0]),
    ("/ const", lambda v: v / 4, lambda x: x / 4, lambda x: 0.25, [1.0]),
    ("const /", lambda v: 4 / v, lambda x: 4 / x, lambda x: -4 / x ** 2, [0.5, -2.0]),
    ("const **", lambda v: 2 ** v, lambda x: 2 ** x, lambda x: 2 ** x * math.log(2), [-1.0, 1.5]),
]

# name, pygrad expression, float function, hand-derived gradient, points
BINARY = [
    ("+", lambda a, b: a + b, lambda x, y: x + y, lambda x, y: (1.0, 1.0)),
    ("-", lambda a, b: a - b, lambda x, y: x - y, lambda x, y: (1.0, -1.0)),
    ("*", lambda a, b: a * b, lambda x, y: x * y, lambda x, y: (y, x)),
    ("/", lambda a, b: a / b, lambda x, y: x / y, lambda x, y: (1 / y, -x / y ** 2)),
    ("**", lambda a, b: a ** b, lambda x, y: x ** y,
     lambda x, y: (y * x ** (y - 1), x ** y * math.log(x))),
]
BINARY_POINTS = [(1.5, 2.0), (0.7, -1.3), (3.0, 0.5)]


@pytest.mark.parametrize("name,expr,f,df,points", UNARY, ids=[u[0] for u in UNARY])
def test_unary_value_and_gradient(name, expr, f, df, points):
    for x0 in points:
        x = Value(x0)
        y = expr(x)
        assert close(y.data, f(x0), rel=1e-12)
        y.backward()
        assert close(x.grad, df(x0), rel=1e-12), (name, x0)
        (numeric,) = central_difference(f, [x0])
        assert close(x.grad, numeric, rel=1e-5, abs_=1e-7), (name, x0)


@pytest.mark.parametrize("name,expr,f,df", BINARY, ids=[b[0] for b in BINARY])
def test_binary_value_and_gradient(name, expr, f, df):
    for x0, y0 in BINARY_POINTS:
        a, b = Value(x0), Value(y0)
        out = expr(a, b)
        assert close(out.data, f(x0, y0), rel=1e-12)
        out.backward()
        exact = df(x0, y0)
        numeric = central_difference(f, [x0, y0])
        for got, want, approx in zip((a.grad, b.grad), exact, numeric):
            assert close(got, want, rel=1e-12)
            assert close(got, approx, rel=1e-5, abs_=1e-7)


def test_op_names_match_micrograd():
    a, b = Value(2.0), Value(3.0)
    assert a.op == "" and a._op == ""
    assert (a + b).op == "+" and (a * b).op == "*"
    assert (a - b).op == "-" and (a / b).op == "/"
    assert (a ** 3).op == "**3" and (a ** 0.5).op == "**0.5" and (a ** -1).op == "**-1"
    assert (a ** b).op == "**"
    assert a.relu().op == "ReLU" and a.tanh().op == "tanh" and a.exp().op == "exp"
    assert (-a).op == "neg" and a.sigmoid().op == "sigmoid" and a.log().op == "log"


def test_ieee_edge_values_do_not_raise():
    assert Value(0.0).log().data == -math.inf
    assert math.isnan(Value(-1.0).log().data)
    assert (1 / Value(0.0)).data == math.inf
    assert (Value(-1.0) / 0).data == -math.inf
    assert math.isnan((Value(0.0) / 0).data)
    assert math.isnan(Value(-4.0).sqrt().data)
    assert Value(1000.0).exp().data == math.inf
    assert Value(-1000.0).sigmoid().data == 0.0
    y = Value(0.0).log()
    y.backward()
    assert y.children[0].grad == math.inf


def test_edge_gradients_follow_pytorch():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0  # relu passes the gradient only where the output is > 0
    x = Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0  # d(x**0)/dx is 0, not 0 * x**-1
    x, y = Value(0.0), Value(2.0)
    (x ** y).backward()
    assert y.grad == 0.0 and x.grad == 0.0  # d(0**y)/dy taken as 0 for y >= 0
    x = Value(0.0)
    x.abs().backward()
    assert x.grad == 0.0


def test_operands_of_every_number_type():
    np = pytest.importorskip("numpy")
    from fractions import Fraction
    x = Value(2.0)
    for k in (3, 3.0, True, Fraction(3, 1), np.float64(3.0), np.int64(3), np.float32(3.0)):
        assert (x * k).data == 2.0 * float(k)
        assert (k * x).data == 2.0 * float(k)
        assert (x + k).data == 2.0 + float(k)
        assert (x ** k).data == 2.0 ** float(k)
    assert Value(np.float32(1.5)).data == 1.5
    assert Value(Fraction(1, 4)).data == 0.25


def test_constant_operands_become_leaves():
    x = Value(3.0)
    y = 2 - x
    left, right = y.children
    assert left.data == 2.0 and left.op == "" and right == x
    z = x * 5
    assert z.children[0] == x and z.children[1].data == 5.0
    assert (x ** 2).children == (x,)


def test_value_pow_value_both_ways():
    x, y = Value(1.7), Value(0.3)
    z = x ** y + y ** x
    z.backward()
    gx = 0.3 * 1.7 ** (0.3 - 1) + 0.3 ** 1.7 * math.log(0.3)
    gy = 1.7 ** 0.3 * math.log(1.7) + 1.7 * 0.3 ** 0.7
    assert close(x.grad, gx, rel=1e-12) and close(y.grad, gy, rel=1e-12)
