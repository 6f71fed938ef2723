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
    with pytest.raises(AttributeError):
        x.anything = 1  # __slots__: no per-instance dict


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
