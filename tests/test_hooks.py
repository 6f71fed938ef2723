"""Value.register_hook: when hooks run, what their result does, removal,
exceptions, and the state a failing hook leaves."""
import pytest

import pygrad
from pygrad import Value

from helpers import live_now


def test_a_hook_gets_the_whole_gradient_once_before_it_is_passed_on():
    x = Value(3.0)
    y = x * 2
    z = y * y + y  # y is used twice: its hook sees 2y + 1 once
    calls = []
    y.register_hook(lambda g: calls.append(g))
    z.backward()
    assert calls == [13.0]
    assert x.grad == 26.0
    z.backward()
    assert calls == [13.0, 13.0]


def test_hooks_run_root_first_and_in_the_order_added():
    x = Value(1.5)
    a = x.tanh()
    b = a * 3
    order = []
    a.register_hook(lambda g: order.append("a1"))
    b.register_hook(lambda g: order.append("b"))
    a.register_hook(lambda g: order.append("a2"))
    x.register_hook(lambda g: order.append("x"))
    b.backward()
    assert order == ["b", "a1", "a2", "x"]


def test_a_number_returned_replaces_the_gradient_passed_on():
    x, w = Value(2.0), Value(-3.0)
    y = x * w
    out = y.tanh()
    seen = []
    y.register_hook(lambda g: 10.0)
    y.register_hook(lambda g: seen.append(g))  # sees the first's replacement
    out.backward()
    assert seen == [10.0]
    assert y.grad == 10.0
    assert x.grad == 10.0 * -3.0 and w.grad == 10.0 * 2.0


def test_a_leaf_hook_sees_this_pass_and_its_result_is_added_to_what_the_leaf_held():
    x = Value(2.0)
    out = x * x
    x.grad = 100.0
    seen = []

    def clip(g):
        seen.append(g)
        return max(-1.0, min(1.0, g))

    h = x.register_hook(clip)
    out.backward()
    assert seen == [4.0]
    assert x.grad == 101.0
    h.remove()
    out.backward()
    assert x.grad == 105.0
    assert seen == [4.0]


def test_removed_hooks_are_not_called_and_removing_twice_is_harmless():
    x = Value(1.0)
    y = x * 5
    calls = []
    h1 = y.register_hook(lambda g: calls.append(1))
    h2 = y.register_hook(lambda g: calls.append(2))
    h1.remove()
    h1.remove()
    y.backward()
    assert calls == [2]
    with h2:  # a handle is also a context manager that removes it
        pass
    y.backward()
    assert calls == [2]
    assert y._i not in pygrad.value.hooked


def test_an_exception_propagates_and_leaves_the_grads_it_documents():
    x, w = Value(2.0), Value(3.0)
    y = x * w
    out = y + x
    x.grad = 1.0

    def boom(g):
        raise RuntimeError("from the hook")

    h = y.register_hook(boom)
    with pytest.raises(RuntimeError, match="from the hook"):
        out.backward()
    # passed on before the hook raised: out's contribution to x; y's not yet
    assert x.grad == 2.0 and w.grad == 0.0
    h.remove()
    leaf_hook = x.register_hook(boom)
    x.grad = 1.0
    with pytest.raises(RuntimeError):
        out.backward()
    assert x.grad == 1.0 + 1.0 + 3.0  # what it held plus all of this pass
    leaf_hook.remove()


def test_hooks_run_in_pygrad_grad_too_and_change_its_result_only():
    x = Value(2.0)
    y = x * x
    out = y * 3
    y.register_hook(lambda g: g / 3)
    (g,) = pygrad.grad(out, x)
    assert g.data == 4.0
    (g2,) = pygrad.grad(out, x, create_graph=True)
    assert g2.data == 4.0
    assert x.grad == 0.0 and y.grad == 0.0


def test_a_hook_on_a_node_that_died_does_not_reach_its_successor(live):
    calls = []
    x = Value(1.0)
    y = x * 2
    y.register_hook(lambda g: calls.append(g))
    del y
    z = x * 3  # may take the freed slot
    z.backward()
    assert calls == []
    del x, z
    assert live_now() == live


def test_entries_of_nodes_gone_are_swept_so_backward_takes_the_plain_path_again():
    x = Value(1.0)
    y = x * 2
    y.register_hook(lambda g: None)
    del y
    (x * 3).backward()  # a pass with hooks about sweeps their gone nodes' entries
    assert not pygrad.value.hooked


def test_bad_hooks_raise_type_errors():
    x = Value(1.0)
    y = x * 2
    with pytest.raises(TypeError, match="needs a callable, not int"):
        y.register_hook(3)
    h = y.register_hook(lambda g: "big")
    with pytest.raises(TypeError, match="a hook's result must be a real number, not str"):
        y.backward()
    h.remove()
    y.register_hook(lambda g: Value(7.0)).remove()
    h = y.register_hook(lambda g: Value(7.0))
    y.backward()
    assert x.grad == 14.0
    h.remove()
