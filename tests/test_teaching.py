"""The teaching tools: micrograd's manual _backward() steps, attributes and
weak references on a Value, pygrad.explain and pygrad.check_manual, against
values derived by hand."""
import copy
import json
import math
import pickle
import weakref

import pytest

import pygrad
from pygrad import Value

from helpers import close, live_now, worked_example


def test_manual_backward_steps_of_the_worked_example(live):
    a, b, c, f, e, d, L = worked_example()
    L.grad = 1.0
    for leaf in (a, b, c, f):
        leaf._backward()  # a leaf's does nothing
    L._backward()
    assert (d.grad, f.grad) == (-2.0, 4.0)
    d._backward()
    e._backward()
    assert [v.grad for v in (a, b, c, f)] == [6.0, -4.0, -2.0, 4.0]
    del a, b, c, f, e, d, L, leaf
    assert live_now() == live


def test_manual_backward_steps_of_the_tanh_neuron():
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    o.grad = 1.0
    for v in (o, n, s, x2w2, x1w1):
        v._backward()
    t = math.tanh(-6.0 + 6.8813735870195432)
    assert n.grad == 1 - t * t and close(n.grad, 0.5, rel=1e-9, abs_=0.0)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == (-3.0 * n.grad, 2.0 * n.grad, n.grad, 0.0)
    # steps by hand add up to what backward() gives
    for v in (x1, x2, w1, w2, b):
        v.grad = 0.0
    o.backward()
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == (-3.0 * n.grad, 2.0 * n.grad, n.grad, 0.0)


def test_backward_step_adds_like_micrograd():
    a = Value(3.0)
    y = a * a  # both contributions go to a
    y.grad = 2.0
    y._backward()
    y._backward()
    assert a.grad == 2 * (2.0 * 3.0 + 2.0 * 3.0)


def test_attributes_and_weak_references(live):
    p = Value(1.5)
    p.m, p.colour = 0.0, "red"
    p.m += 0.25
    assert (p.m, p.colour) == (0.25, "red")
    ref = weakref.ref(p)
    assert ref() is p
    q = pickle.loads(pickle.dumps(p))
    assert (q.data, q.m, q.colour) == (1.5, 0.25, "red") and q._i != p._i
    assert copy.deepcopy(p).m == 0.25
    del p, q
    assert ref() is None
    assert live_now() == live


def test_explain_lists_every_contribution_in_the_engines_order():
    a, b, c, f, e, d, L = worked_example()
    x = pygrad.explain(L)
    got = [(s["node"], s["operand"], s["upstream"], s["local"], s["contribution"])
           for s in x.steps]
    assert got == [("L", "d", 1.0, -2.0, -2.0), ("L", "f", 1.0, 4.0, 4.0),
                   ("d", "e", -2.0, 1.0, -2.0), ("d", "c", -2.0, 1.0, -2.0),
                   ("e", "a", -2.0, -3.0, 6.0), ("e", "b", -2.0, 2.0, -4.0)]
    assert [v.grad for v in (a, b, c, f)] == [6.0, -4.0, -2.0, 4.0]  # as backward()
    text = str(x).splitlines()
    assert "dL/da = dL/de * de/da = -2 * -3 = 6    (de/da = b)" in text
    assert "dL/dd = dL/dL * dL/dd = 1 * -2 = -2    (dL/dd = f)" in text
    assert json.loads(x.to_json()) == x.steps


def test_explain_sums_a_node_used_twice_and_names_unlabelled_nodes():
    a = Value(3.0, "a")
    w = a * a + a  # a used three times
    x = pygrad.explain(w)
    to_a = [s["contribution"] for s in x.steps if s["operand"] == "a"]
    assert to_a == [1.0, 3.0, 3.0] and a.grad == 7.0
    assert "a is used 3 times: dn0/da = 1 + 3 + 3 = 7" in str(x)
    # the unlabelled nodes: n0 the root, then (after the leaf a) n2 = a * a, as drawn
    assert {s["node"] for s in x.steps} == {"n0", "n2"}
    assert 'label="{ n2 | data 9.0000' in pygrad.draw_dot(w).source


def test_explain_stops_at_max_steps_and_says_how_many_it_left_out():
    x = Value(0.5, "x")
    y = x
    for _ in range(10):
        y = y * x  # 10 nodes, 20 contributions
    ex = pygrad.explain(y, max_steps=5)
    assert len(ex.steps) == 5 and ex.left_out == 15
    assert "15 more steps not shown" in str(ex)
    assert x.grad == 11 * 0.5 ** 10  # the whole backward ran


@pytest.mark.parametrize("call,exc", [
    (lambda: pygrad.explain(1.0), TypeError),
    (lambda: pygrad.explain(Value(1.0), max_steps=0), ValueError),
    (lambda: pygrad.explain(Value(1.0), max_steps=2.5), ValueError),
    (lambda: pygrad.check_manual("L"), TypeError),
    (lambda: pygrad.check_manual(Value(1.0), rtol=-1), ValueError),
])
def test_teaching_tools_refuse_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_check_manual_right_and_wrong_and_changes_nothing():
    a, b, c, f, e, d, L = worked_example()
    hand = {L: 1.0, d: -2.0, f: 4.0, e: -2.0, c: -2.0, a: 6.0, b: -4.0}
    for v, g in hand.items():
        v.grad = g
    report = pygrad.check_manual(L)
    assert report.ok and all(row["ok"] for row in report.rows)
    assert {row["name"]: row["expected"] for row in report.rows} == {
        v.label: g for v, g in hand.items()}
    a.grad = 5.0  # a slip
    data = [v.data for v in hand]
    report = pygrad.check_manual(L)
    assert not report.ok
    assert [row["name"] for row in report.rows if not row["ok"]] == ["a"]
    row = next(row for row in report.rows if row["name"] == "a")
    assert (row["yours"], row["expected"]) == (5.0, 6.0)
    assert "1 of 7 wrong" in str(report) and "WRONG" in str(report)
    assert [v.data for v in hand] == data and a.grad == 5.0 and L.grad == 1.0
    source = pygrad.draw_dot(L, check=report).source
    assert source.count("fillcolor=salmon") == 1 and source.count("fillcolor=palegreen") == 6


@pytest.mark.parametrize("make", [
    lambda x, y: x + y, lambda x, y: x - y, lambda x, y: x * y, lambda x, y: x / y,
    lambda x, y: x ** y, lambda x, y: x ** 3, lambda x, y: -x, lambda x, y: x.relu(),
    lambda x, y: x.tanh(), lambda x, y: x.sigmoid(), lambda x, y: x.exp(),
    lambda x, y: x.log(), lambda x, y: x.sqrt(), lambda x, y: abs(x), lambda x, y: x.sin(),
    lambda x, y: x.cos(), lambda x, y: pygrad.sum([x, y]),
    lambda x, y: pygrad.dot([x], [y], bias=x), lambda x, y: pygrad.logsumexp([x, y]),
])
def test_explained_local_derivatives_are_the_rules(make):
    """Each op's local derivatives, as explain() reports them, equal the
    gradient of a one-node graph (one step: upstream 1)."""
    x, y = Value(1.3, "x"), Value(0.6, "y")
    out = make(x, y)
    steps = pygrad.explain(out).steps
    operands = out.children
    assert len(steps) == len(operands)
    for step, v in zip(steps, operands):
        (want,) = pygrad.grad(out, v) if operands.count(v) == 1 else (None,)
        if want is not None:
            assert step["upstream"] == 1.0 and step["local"] == want.data, step
