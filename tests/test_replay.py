"""Graph replay: forward() re-evaluates a built graph in C from new leaf data."""
import array
import random

import pytest

import pygrad
from pygrad import Leaves, Value
from pygrad.nn import MLP
from pygrad.optim import SGD
from helpers import live_now


def test_worked_example_step_then_forward():
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    e = a * b
    d = e + c
    L = d * f
    L.backward()
    for v in (a, b, c, f):
        v.data -= 0.001 * v.grad
    assert L.data == -8.0  # nothing recomputed yet
    new = L.forward()
    assert new == L.data
    assert abs(L.data - (-8.072063904)) < 1e-12 and round(L.data, 4) == -8.0721
    assert abs(e.data - 1.994 * -2.996) < 1e-12
    assert abs(d.data - (1.994 * -2.996 + 10.002)) < 1e-12


def test_forward_of_a_leaf_is_its_data():
    x = Value(3.5)
    assert x.forward() == 3.5


def test_relu_and_abs_follow_sign_changes():
    x = Value(2.0)
    y = x.relu() + x.abs() * 10
    y.backward()
    assert (y.data, x.grad) == (22.0, 11.0)
    x.data = -3.0
    assert y.forward() == 30.0
    x.grad = 0
    y.backward()
    assert x.grad == -10.0  # relu now passes nothing, abs has flipped sign
    x.data = 0.5
    assert y.forward() == 5.5


def test_every_op_replays_to_the_value_of_a_rebuilt_graph():
    def build(u, w):
        return ((u * w + 1).tanh() + (u - w).sigmoid() * u.exp() - (w * w + 1).log()
                + (u.abs() + 0.5).sqrt() / (w.relu() + 1) + u.sin() * w.cos() - (-u) ** 3
                + (u.abs() + 1) ** w + 2 ** w + 3 / (w.abs() + 1) - 5 - u)

    u, w = Value(0.3), Value(-0.7)
    out = build(u, w)
    for x, y in [(1.2, 0.4), (-0.5, 2.0), (0.0, -1.5)]:
        u.data, w.data = x, y
        out.forward()
        assert out.data == build(Value(x), Value(y)).data


def training_run(replay, steps=5):
    random.seed(11)
    X = [[0.5, -1.0], [-0.3, 0.8], [1.2, 0.1], [-1.1, -0.4]]
    y = [1, -1, 1, -1]
    model = MLP(2, [8, 8, 1])
    params = model.parameters()
    opt = SGD(params, lr=0.05, momentum=0.9)

    def build():
        return sum((1 - t * model(x)).relu() for x, t in zip(X, y)) * 0.25 + \
            1e-3 * sum(p * p for p in params)

    loss = build()
    seen = []
    for k in range(steps):
        if k:
            loss = loss if replay else build()
            if replay:
                loss.forward()
        opt.zero_grad()
        loss.backward()
        seen.append((loss.data, [p.grad for p in params]))
        opt.step()
    return seen, [p.data for p in params]


def test_replay_equals_rebuilding_to_the_last_bit():
    replayed, final_replayed = training_run(replay=True)
    rebuilt, final_rebuilt = training_run(replay=False)
    assert replayed == rebuilt  # losses and every gradient, bit for bit
    assert final_replayed == final_rebuilt
    assert replayed[-1][0] < replayed[0][0]


def test_order_is_kept_once_and_released_with_the_root(live):
    base = pygrad.stats()
    x = Value(1.0)
    y = x
    for _ in range(1000):
        y = y * 1.5 + 1
    assert pygrad.stats()["cached_orders"] == base["cached_orders"]
    y.forward()
    kept = pygrad.stats()
    assert kept["cached_orders"] == base["cached_orders"] + 1
    assert kept["order_bytes"] - base["order_bytes"] == 4 * 2000  # the non-leaf nodes
    for _ in range(3):
        y.forward()
        y.backward()
    assert pygrad.stats()["order_bytes"] == kept["order_bytes"]  # not sorted again
    del y
    assert pygrad.stats()["cached_orders"] == base["cached_orders"]
    assert pygrad.stats()["order_bytes"] == base["order_bytes"]
    del x
    assert live_now() == live


def test_million_deep_chain_replays():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y * 0.5 + 0.25
    x.data = 0.5
    assert abs(y.forward() - 0.5) < 1e-12  # 0.5 is the fixed point


def test_leaves_set_from_lists_and_buffers():
    xs = [Value(0.0) for _ in range(4)]
    s = (xs[0] * xs[1]) + xs[2] - xs[3]
    feed = Leaves(xs)
    assert len(feed) == 4
    feed.set([1.0, 2, 3.5, True])
    assert [v.data for v in xs] == [1.0, 2.0, 3.5, 1.0]
    assert s.forward() == 1.0 * 2.0 + 3.5 - 1.0
    feed.set(array.array("d", [2.0, 3.0, 4.0, 5.0]))
    assert s.forward() == 5.0
    np = pytest.importorskip("numpy")
    feed.set(np.array([1.0, 1.0, 1.0, 1.0]))
    assert s.forward() == 1.0
    feed.set(np.arange(8, dtype=np.float64)[::2].copy())
    assert [v.data for v in xs] == [0.0, 2.0, 4.0, 6.0]


def test_leaves_refuse_bad_input_and_change_nothing():
    xs = [Value(1.0), Value(2.0)]
    feed = Leaves(xs)
    with pytest.raises(ValueError, match="got 3 numbers for 2 leaves"):
        feed.set([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="leaf data must be a real number, not str"):
        feed.set([1.0, "2"])
    with pytest.raises(TypeError, match=r"must hold float64 \(format 'd'\), not format 'f'"):
        feed.set(array.array("f", [1.0, 2.0]))
    with pytest.raises(ValueError, match="got 3 numbers for 2 leaves"):
        feed.set(array.array("d", [1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match="not int"):
        feed.set(5)
    assert [v.data for v in xs] == [1.0, 2.0]
    with pytest.raises(ValueError, match="leaves only"):
        Leaves([xs[0] * 2])
    with pytest.raises(TypeError, match="Leaves takes Values, not float"):
        Leaves([1.0])


def test_leaves_keep_their_values_alive(live):
    feed = Leaves([Value(1.0), Value(2.0)])
    assert live_now() == live + 2
    feed.set([3.0, 4.0])
    assert [v.data for v in feed.values] == [3.0, 4.0]
    del feed
    assert live_now() == live
