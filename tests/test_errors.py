"""Bad input raises a clear exception naming what was wrong, and changes
nothing: no node is made, no value or gradient moves."""
import pytest

import pygrad
from pygrad import Value
from helpers import live_now


class NotANumber:
    pass


BAD_DATA = ["1.0", None, 1j, [1.0], NotANumber(), b"1"]


@pytest.mark.parametrize("bad", BAD_DATA, ids=lambda b: type(b).__name__)
def test_constructor_refuses_non_real_data(bad, live):
    with pytest.raises(TypeError, match=f"Value data must be a real number, not {type(bad).__name__}"):
        Value(bad)
    assert live_now() == live


def test_constructor_refuses_a_value_as_data(live):
    with pytest.raises(TypeError, match="not Value"):
        Value(Value(1.0))
    assert live_now() == live


def test_constructor_refuses_bad_labels(live):
    with pytest.raises(TypeError, match="label must be a str, not int"):
        Value(1.0, label=3)
    with pytest.raises(ValueError, match="NUL"):
        Value(1.0, label="a\0b")
    assert live_now() == live


@pytest.mark.parametrize("bad", ["2", None, 1j, [1], NotANumber()], ids=lambda b: type(b).__name__)
def test_operators_refuse_other_types(bad, live):
    x = Value(2.0)
    before = live_now()
    for op in (lambda: x + bad, lambda: bad + x, lambda: x - bad, lambda: bad - x,
               lambda: x * bad, lambda: x / bad, lambda: bad / x, lambda: x ** bad):
        with pytest.raises(TypeError) as info:
            op()
        assert "Value" in str(info.value)
    assert live_now() == before
    assert x.data == 2.0 and x.op == ""


def test_three_argument_pow_is_refused():
    with pytest.raises(TypeError):
        pow(Value(2.0), 3, 5)


def test_huge_integer_operand_raises_overflow(live):
    x = Value(1.0)
    before = live_now()
    with pytest.raises(OverflowError):
        x * 10 ** 400
    assert live_now() == before


def test_backward_refuses_a_non_real_seed():
    x = Value(2.0)
    y = x * x
    with pytest.raises(TypeError, match="backward\\(\\) grad must be a real number, not str"):
        y.backward("1")
    assert x.grad == 0.0 and y.grad == 0.0


def test_setters_refuse_bad_values():
    x = Value(2.0, label="x")
    x.grad = 0.5
    with pytest.raises(TypeError, match="Value.data must be a real number, not str"):
        x.data = "3"
    with pytest.raises(TypeError, match="Value.grad must be a real number, not NoneType"):
        x.grad = None
    with pytest.raises(TypeError, match="label must be a str, not float"):
        x.label = 1.0
    assert (x.data, x.grad, x.label) == (2.0, 0.5, "x")


def test_read_only_attributes():
    x = Value(1.0)
    for name in ("op", "children", "_op", "_prev"):
        with pytest.raises(AttributeError):
            setattr(x, name, None)
    x.anything = 1  # any other attribute can be set, as on micrograd's Value
    assert x.anything == 1


def test_arena_full_gives_a_clear_error_and_changes_nothing(live):
    from pygrad._c import lib
    x = Value(1.0)
    y = x * 2
    s = pygrad.stats()
    lib.pg_test_node_limit(s["capacity"] if s["capacity"] > s["live_nodes"] + 4 else s["live_nodes"])
    try:
        made = []
        with pytest.raises(MemoryError, match="32-bit index"):
            while True:
                made.append(x + 1)
        assert x.data == 1.0 and y.data == 2.0
        y.backward()
        assert x.grad == 2.0
    finally:
        lib.pg_test_node_limit(0)
    del made
    z = x * 3  # works again once the limit is lifted
    assert z.data == 3.0


# ---- Numbers beyond float64, NumPy's types, and one rule for every entry point.

HUGE = 10 ** 400


def test_out_of_range_numbers_raise_overflow_naming_them(live):
    x = Value(1.0)
    y = x * 2.0
    before = live_now()
    for attempt in (lambda: Value(HUGE), lambda: x * HUGE, lambda: HUGE - x,
                    lambda: x ** HUGE, lambda: x + -HUGE, lambda: y.backward(HUGE)):
        with pytest.raises(OverflowError, match=r"10{8,}\.\.\.0{8} \(40[12] characters\) "
                                                r"is out of float64's range"):
            attempt()
    for attr in ("data", "grad"):
        with pytest.raises(OverflowError, match="out of float64's range"):
            setattr(x, attr, HUGE)
    with pytest.raises(OverflowError, match="leaf data .* out of float64's range"):
        pygrad.Leaves([x]).set([HUGE])
    assert live_now() == before
    assert (x.data, x.grad, y.grad) == (1.0, 0.0, 0.0)
    # An int too long for Python to write in digits is named by its size.
    with pytest.raises(OverflowError, match="int of 16,610 bits is out of float64's range"):
        Value(10 ** 5000)
    # The largest int that converts is still taken as a number.
    assert (x * (2**1024 - 2**970 - 1)).data == 1.7976931348623157e308


def test_numpy_bools_and_ints_are_numbers_everywhere(live):
    np = pytest.importorskip("numpy")
    for flag in (np.bool_(True), np.True_):
        assert Value(flag).data == 1.0
        assert (Value(2.0) * flag).data == 2.0
    assert Value(np.int64(3)).data == 3.0 and Value(np.float32(0.5)).data == 0.5
    feed = pygrad.Leaves([Value(0.0), Value(0.0)])
    feed.set([np.bool_(True), np.int32(7)])
    assert [v.data for v in feed.values] == [1.0, 7.0]
    from pygrad.nn import MLP, Neuron
    assert len(MLP(np.int64(2), [np.int32(3), 1]).parameters()) == 13
    assert len(Neuron(np.uint8(4)).parameters()) == 5


class RaisingReal:
    """A numbers.Real whose conversion fails."""
    def __float__(self):
        raise ArithmeticError("no float for you")


import numbers  # noqa: E402
numbers.Real.register(RaisingReal)


def test_leaves_set_takes_exactly_what_value_takes():
    from decimal import Decimal
    from fractions import Fraction
    feed = pygrad.Leaves([Value(1.0)])
    for bad, exc in ((Decimal("1.5"), TypeError), ("1", TypeError), (None, TypeError),
                     (RaisingReal(), ArithmeticError), (HUGE, OverflowError)):
        with pytest.raises(exc) as from_value:
            Value(bad)
        with pytest.raises(exc) as from_leaves:
            feed.set([bad])
        assert str(from_value.value).replace("Value data", "leaf data") == str(from_leaves.value)
        assert feed.values[0].data == 1.0
    for good in (True, 3, 2.5, Fraction(1, 4)):
        feed.set([good])
        assert feed.values[0].data == Value(good).data


def test_leaves_set_names_a_strided_buffer():
    np = pytest.importorskip("numpy")
    feed = pygrad.Leaves([Value(0.0), Value(0.0)])
    with pytest.raises(TypeError, match="must be C-contiguous"):
        feed.set(np.arange(4.0)[::2])
    assert [v.data for v in feed.values] == [0.0, 0.0]


def test_nn_refuses_empty_and_absurd_sizes_before_allocating(live):
    from pygrad.nn import MLP, Layer, Neuron
    for make, exc, message in (
            (lambda: MLP(2, []), ValueError, "at least one layer size"),
            (lambda: MLP(2, 3), TypeError, "nouts must be a list"),
            (lambda: MLP(2, [4, 0]), ValueError, "each of nouts must be a positive int"),
            (lambda: MLP(2, [True]), TypeError, "must be a positive int, not bool"),
            (lambda: Neuron(10 ** 20), ValueError, "more than the 4,294,967,294 nodes"),
            (lambda: Layer(100_000, 100_000), ValueError, "10,000,100,000 parameters"),
            (lambda: MLP(10 ** 6, [10 ** 6]), ValueError, "parameters, more than"),
            (lambda: Neuron(2.0), TypeError, "nin must be a positive int, not float")):
        with pytest.raises(exc, match=message):
            make()
    assert live_now() == live
