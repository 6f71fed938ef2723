"""Failure injection: allocations in the core fail on demand. Whatever was
running raises MemoryError, everything that existed is left as it was, and
the engine works again once memory is back."""
import pytest

import pygrad
from pygrad import Leaves, Value
from pygrad._c import lib
from pygrad.optim import Adam
from helpers import live_now


@pytest.fixture
def failing():
    """Calls pg_test_fail_alloc(n); always switched off after the test."""
    yield lib.pg_test_fail_alloc
    lib.pg_test_fail_alloc(0)
    lib.pg_test_node_limit(0)


def snapshot(values):
    return [(v.data, v.grad, v.label, v.op) for v in values]


def workload(keep):
    """Everything that allocates in the core: nodes (growing the arena), labels,
    kept orders, optimizer state. Appends what it makes to keep."""
    x = keep[0]
    y = x
    for _ in range(3000):
        y = (y * 0.999 + 0.001).tanh()
        keep.append(y)
    y.label = "y"
    y.backward()
    y.forward()
    opt = Adam([x])
    opt.step()
    z = Value(1.0, label="z")
    keep.append(z)
    Leaves([x, z]).set([0.5, 0.25])


def test_each_allocation_failing_in_turn_changes_nothing(failing, live):
    old = [Value(float(k), label=f"old{k}") for k in range(5)]
    total = old[0] * old[1] + old[2]
    total.backward()
    before = snapshot(old + [total])
    stats = pygrad.stats()
    # Make sure the workload needs a larger arena, then fail each allocation in turn.
    lib.pg_test_node_limit(0)
    failures = 0
    for n in range(1, 40):
        keep = [Value(2.0)]
        alive = live_now()
        failing(n)
        try:
            workload(keep)
        except MemoryError as e:
            failures += 1
            assert "could not allocate memory" in str(e)
            assert snapshot(old + [total]) == before
        finally:
            failing(0)
        assert keep[0].op == ""
        del keep
        assert live_now() == alive - 1
    assert failures >= 5  # the workload did reach the injected failures
    # And everything works once memory is back.
    out = old[3] * old[4]
    out.backward()
    assert (out.data, old[3].grad, old[4].grad) == (12.0, 4.0, 3.0)
    assert snapshot(old[:3] + [total]) == before[:3] + [before[5]]
    assert pygrad.stats()["live_nodes"] >= stats["live_nodes"]


def test_arena_growth_failure_keeps_every_node(failing, live):
    xs = [Value(float(k)) for k in range(10)]
    s = sum(x * x for x in xs)
    s.backward()
    grads = [x.grad for x in xs]
    cap = pygrad.stats()["capacity"]
    filler = []
    with pytest.raises(MemoryError):
        while True:
            if pygrad.stats()["live_nodes"] + 2 > pygrad.stats()["capacity"]:
                failing(1)  # the next allocation is the arena's growth
            filler.append(xs[0] + 1)
    assert pygrad.stats()["capacity"] == cap or pygrad.stats()["capacity"] >= cap
    assert [x.grad for x in xs] == grads and s.data == 285.0
    failing(0)
    filler.append(xs[0] + 1)  # grows now
    del filler
    s.backward()
    assert [x.grad for x in xs] == [2 * g for g in grads]
    del xs, s
    assert live_now() == live


def test_backward_allocates_nothing_and_a_failed_order_changes_nothing(failing):
    a, b = Value(3.0), Value(4.0)
    c = a * b + a
    failing(1)  # would fail backward's first allocation: it makes none
    c.backward()
    failing(0)
    assert (a.grad, b.grad, c.grad) == (5.0, 3.0, 1.0)
    a.data = 2.0
    kept = pygrad.stats()["cached_orders"]
    failing(1)  # forward() lists the order first
    with pytest.raises(MemoryError):
        c.forward()
    failing(0)
    assert c.data == 15.0 and pygrad.stats()["cached_orders"] == kept
    assert c.forward() == 10.0 and pygrad.stats()["cached_orders"] == kept + 1


def test_failed_optimizer_and_label_change_nothing(failing, live):
    p = Value(1.0, label="p")
    for n in (1, 2, 3, 4):
        failing(n)
        with pytest.raises(MemoryError):
            Adam([p])
        failing(0)
    failing(1)
    with pytest.raises(MemoryError):
        p.label = "a much longer label"
    failing(0)
    assert p.label == "p" and p.data == 1.0
    del p
    assert live_now() == live
