"""A Value as a number: item(), float(), int(), round(), format(), detach(),
comparisons of data (so max, min and sorted work and return the Values), and
backward's retain_graph, as PyTorch's 0-dim tensors have them."""
import math

import pytest

import pygrad
from pygrad import Value
from helpers import live_now


def test_conversions_act_on_data():
    v = Value(2.71828)
    assert v.item() == 2.71828 and type(v.item()) is float
    assert float(v) == 2.71828 and int(v) == 2 and int(Value(-2.7)) == -2
    assert round(v) == 3 and type(round(v)) is int
    assert round(v, 2) == 2.72 and type(round(v, 2)) is float
    assert math.sqrt(Value(16.0)) == 4.0
    assert f"{v:.3f}" == "2.718" and format(v, "e") == format(2.71828, "e")
    assert f"{v}" == str(v) == repr(v)  # no spec: the Value itself
    with pytest.raises(ValueError):
        int(Value(math.nan))
    with pytest.raises(OverflowError):
        int(Value(math.inf))


def test_detach_makes_a_leaf_outside_the_graph(live):
    a = Value(3.0)
    y = a * a
    d = y.detach()
    assert (d.data, d.op, d.children, d.grad) == (9.0, "", (), 0.0)
    z = d * a
    z.backward()
    assert a.grad == 9.0  # through z's second operand only: d is a constant
    assert y.grad == 0.0 and d.grad == 3.0
    d.data = 5.0
    assert y.data == 9.0
    del a, y, d, z
    assert live_now() == live


def test_comparisons_compare_data_and_give_bools():
    a, b = Value(1.0), Value(2.0)
    assert (a < b, a <= b, a > b, a >= b) == (True, True, False, False)
    assert type(a < b) is bool
    assert a < 1.5 and 1.5 > a and a <= 1 and 1 >= a and not (a > 1)
    assert Value(1.0) <= a and a >= Value(1.0)
    assert not (Value(math.nan) < a) and not (Value(math.nan) >= a)
    # == and hashing stay node identity, as in micrograd
    assert Value(1.0) != a and a == a and len({a, a, Value(1.0)}) == 2
    for bad in ("1", None, [1.0]):
        with pytest.raises(TypeError, match="not supported between"):
            a < bad
        with pytest.raises(TypeError, match="not supported between"):
            a >= bad


def test_max_min_and_sorted_return_the_values_and_gradients_flow_through_them():
    xs = [Value(x) for x in (0.5, -2.0, 3.0, 1.0)]
    big, small = max(xs), min(xs)
    assert big is xs[2] and small is xs[1]
    assert [v.data for v in sorted(xs)] == [-2.0, 0.5, 1.0, 3.0]
    assert sorted(xs)[0] is xs[1]
    loss = big * 2 + small * 3
    loss.backward()
    assert [v.grad for v in xs] == [0.0, 3.0, 2.0, 0.0]
    assert max(xs, key=lambda v: -v.data) is xs[1]
    assert max(Value(1.0), 2.5) == 2.5 and max(Value(3.0), 2.5).data == 3.0


def test_backward_takes_retain_graph_and_the_graph_survives():
    a = Value(2.0)
    y = a * a
    y.backward(retain_graph=False)
    y.backward(1.0, retain_graph=True)
    y.backward(retain_graph=None)
    assert a.grad == 12.0
    with pytest.raises(TypeError):
        y.backward(1.0, True, 3)


def test_a_value_with_a_spec_formats_as_its_float():
    for spec in (".2f", "10.3e", "+g", "%", ">12"):
        assert format(Value(0.125), spec) == format(0.125, spec)
    with pytest.raises(ValueError):
        format(Value(1.0), "d")  # as format(1.0, "d")
    assert pygrad.Value(7.0).__round__() == 7


def test_gradcheck_passes_right_gradients():
    assert pygrad.gradcheck(lambda x, y: (x * y + x.sin()).tanh() / (y ** 2 + 1), [0.3, -1.2])
    assert pygrad.gradcheck(lambda *v: pygrad.logsumexp(v), [1.0, 2.0, 3.0])
    assert pygrad.gradcheck(lambda x: x.relu() * 3, [0.5], eps=1e-4, atol=0, rtol=1e-6)


def test_gradcheck_fails_a_wrong_gradient_naming_the_input_and_both_numbers():
    # x * y as data, but y's gradient lost by detach(): the mistake to find
    with pytest.raises(pygrad.GradcheckError,
                       match=r"d f / d inputs\[1\] at 2\.0: pygrad gives 0\.0, "
                             r"central differences 2\.99999\d*"):
        pygrad.gradcheck(lambda x, y: x * y.detach() + y * 0, [3.0, 2.0])
    with pytest.raises(pygrad.GradcheckError, match=r"inputs\[0\] at 1\.5: pygrad gives"):
        pygrad.gradcheck(lambda x: Value(x.data ** 2) + x, [1.5])
    assert issubclass(pygrad.GradcheckError, AssertionError)


@pytest.mark.parametrize("call, exc, message", [
    (lambda: pygrad.gradcheck(3, [1.0]), TypeError, "f must be callable, not int"),
    (lambda: pygrad.gradcheck(lambda x: x, 1.0), TypeError, "inputs must be a list of numbers"),
    (lambda: pygrad.gradcheck(lambda x: x, []), ValueError, "at least one number"),
    (lambda: pygrad.gradcheck(lambda x: x, ["a"]), TypeError, r"inputs\[0\] must be a real"),
    (lambda: pygrad.gradcheck(lambda x: x, [1.0], eps=0), ValueError, "eps must be positive"),
    (lambda: pygrad.gradcheck(lambda x: x, [1.0], atol=-1), ValueError, "atol must be >= 0"),
    (lambda: pygrad.gradcheck(lambda x: x, [1.0], rtol="x"), TypeError, "rtol must be a real"),
    (lambda: pygrad.gradcheck(lambda x: 2.0, [1.0]), TypeError, "f must return a Value, not float"),
])
def test_gradcheck_refuses_bad_arguments(call, exc, message, live):
    with pytest.raises(exc, match=message):
        call()
    assert live_now() == live
