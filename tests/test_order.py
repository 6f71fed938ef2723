"""The order every pass follows: the reverse of creation, read from the
arena's creation log. Gradients must not depend on where nodes land in the
arena, the log must stay right as it is compacted, and a pass must find a
graph's nodes among many unrelated ones."""
import random

import pygrad
from pygrad import Value

from helpers import central_difference, close


def shared_model(xs, ws):
    """A small graph whose nodes are used many times over, so that the order in
    which gradient contributions are added shows in the last bits."""
    hidden = [(w * x + 0.3).tanh() for w, x in zip(ws, xs)]
    total = Value(0.0)
    for k, h in enumerate(hidden):
        for j, g in enumerate(hidden):
            total = total + h * g * (0.1 * (k - j) + 0.01)
    return (total * (1.0 / len(hidden))).sigmoid() + sum(w * w for w in ws) * 1e-3


def grads_of(xs0, ws0):
    xs, ws = [Value(x) for x in xs0], [Value(w) for w in ws0]
    out = shared_model(xs, ws)
    out.backward()
    return out.data, [w.grad for w in ws] + [x.grad for x in xs]


def fragment(n=20_000, seed=5):
    """Leaves the free list scattered: many nodes made, a random half dropped."""
    rng = random.Random(seed)
    junk = [Value(float(k)) * 2 for k in range(n)]
    rng.shuffle(junk)
    return junk[: n // 2]


def test_gradients_do_not_depend_on_where_nodes_land(live):
    rng = random.Random(1)
    xs0 = [rng.uniform(-1, 1) for _ in range(12)]
    ws0 = [rng.uniform(-1, 1) for _ in range(12)]
    fresh = grads_of(xs0, ws0)
    kept = fragment()
    scattered = grads_of(xs0, ws0)
    assert scattered == fresh  # bit for bit
    del kept


def test_gradients_match_finite_differences_after_fragmenting(live):
    kept = fragment(seed=9)
    rng = random.Random(2)
    xs0 = [rng.uniform(-1, 1) for _ in range(5)]
    ws0 = [rng.uniform(-1, 1) for _ in range(5)]
    _, grads = grads_of(xs0, ws0)

    def f(*args):
        ws, xs = args[:5], args[5:]
        return shared_model([Value(x) for x in xs], [Value(w) for w in ws]).data

    numeric = central_difference(f, ws0 + xs0)
    assert all(close(g, n, rel=1e-5, abs_=1e-8) for g, n in zip(grads, numeric))
    del kept


def test_an_old_node_joins_new_graphs_across_log_compactions(live):
    a, b = Value(0.7), Value(-1.3)
    h = (a * b).tanh()  # made early, used by every graph below
    first = None
    for step in range(40):  # each step logs 2 * 5,000 nodes and frees them
        junk = [Value(float(k)) + 1 for k in range(5_000)]
        y = h * h + h * a
        y.backward()
        # dy/da = 2h h' b + h' b a + h, dy/db = 2h h' a + h' a a, h' = 1 - h^2
        t = h.data
        d = 1 - t * t
        assert close(a.grad, 2 * t * d * -1.3 + d * -1.3 * 0.7 + t)
        assert close(b.grad, 2 * t * d * 0.7 + d * 0.7 * 0.7)
        if first is None:
            first = (a.grad, b.grad)
        assert (a.grad, b.grad) == first
        a.grad = b.grad = 0.0
        del junk, y
    assert pygrad.stats()["live_nodes"] == 4 + live


REBUILT_PROBE = """
import json, pygrad
from pygrad import Value
a = Value(0.7)
h = a.tanh()
held, most = 0, 0
for step in range(40):           # each step logs 2 * 5,000 nodes and frees them
    junk = [Value(float(k)) + 1 for k in range(5_000)]
    y = h * h + h * a
    y.backward()
    del junk, y
    if step == 5:
        held = pygrad.stats()["bytes"]
    most = max(most, pygrad.stats()["bytes"])
print(json.dumps([held, most]))
"""


def test_a_loop_that_rebuilds_its_graph_compacts_the_log_rather_than_grow_it():
    # A fresh interpreter, so that no earlier test has grown the log already.
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", REBUILT_PROBE], check=True,
                         capture_output=True, text=True).stdout
    held, most = json.loads(out)
    assert most == held  # 400,000 nodes were logged


def test_a_graph_spread_among_many_unrelated_nodes(live):
    a = Value(2.0)
    h = a * 3.0
    unrelated = [Value(1.0) * k for k in range(100_000)]  # logged between h and y
    y = h * a + h
    y.backward()
    assert y.data == 18.0 and a.grad == 15.0 and h.grad == 3.0
    assert y.forward() == 18.0
    del unrelated
    a.data = 1.0
    assert y.forward() == 6.0
    y.backward()
    assert a.grad == 15.0 + 9.0


def test_order_follows_creation(live):
    x = Value(1.0, "x")
    a = x * 2
    b = x + 1
    c = a * b
    d = c - a
    for v, name in [(a, "a"), (b, "b"), (c, "c"), (d, "d")]:
        v.label = name
    listed = [n["label"] for n in pygrad.graph(d)["nodes"] if n["children"]]
    assert listed == ["a", "b", "c", "d"]  # operands first, in the order made
