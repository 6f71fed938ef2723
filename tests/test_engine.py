"""Graph building and backward() semantics: worked examples, shared
subexpressions, accumulation, no_grad, attributes and micrograd compatibility."""
import math
import pickle
import threading

import pytest

import pygrad
from pygrad import Value, no_grad
from pygrad.value import _handle
from helpers import central_difference, close, worked_example


def test_worked_example_values_and_gradients():
    a, b, c, f, e, d, L = worked_example()
    assert (e.data, d.data, L.data) == (-6.0, 4.0, -8.0)
    L.backward()
    assert L.grad == 1.0
    assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)
    assert (d.grad, e.grad) == (-2.0, -2.0)


def test_worked_example_gradient_step_with_rebuilt_graph():
    a, b, c, f, e, d, L = worked_example()
    L.backward()
    lr = 0.001
    new = [v.data + lr * v.grad for v in (a, b, c, f)]  # a step up the gradient
    *_, L2 = worked_example(*new)
    assert close(L2.data, -7.928064096, rel=1e-12)
    new = [v.data - lr * v.grad for v in (a, b, c, f)]  # and one down it
    *_, L3 = worked_example(*new)
    assert close(L3.data, -8.072063904, rel=1e-12)
    assert round(L3.data, 4) == -8.0721


def test_tanh_neuron():
    # The classic neuron with a third input: n = -6 + 0 + 0.5 + b = 0.8814, so
    # tanh(n) = 1/sqrt(2) and dtanh/dn = 1/2.
    x0, x1, x2 = Value(2.0), Value(0.0), Value(-1.0)
    w0, w1, w2 = Value(-3.0), Value(1.0), Value(-0.5)
    b = Value(6.3813735870195432)
    n = w0 * x0 + w1 * x1 + w2 * x2 + b
    o = n.tanh()
    o.backward()
    t = math.tanh(n.data)
    assert close(o.data, t, rel=1e-12) and close(o.data, 0.7071, rel=1e-4)
    dn = 1 - t * t
    assert close(n.grad, dn, rel=1e-12) and close(dn, 0.5, rel=1e-4)
    for xi, wi in ((x0, w0), (x1, w1), (x2, w2)):
        assert close(xi.grad, wi.data * dn, rel=1e-12)
        assert close(wi.grad, xi.data * dn, rel=1e-12)
    assert close(b.grad, dn, rel=1e-12)

    def f(*p):
        return math.tanh(p[0] * p[3] + p[1] * p[4] + p[2] * p[5] + p[6])
    point = [w.data for w in (w0, w1, w2, x0, x1, x2, b)]
    numeric = central_difference(f, point)
    for v, g in zip((w0, w1, w2, x0, x1, x2, b), numeric):
        assert close(v.grad, g, rel=1e-5, abs_=1e-8)


def test_node_used_twice_gets_both_contributions():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a = Value(-2.0)
    (a * a).backward()
    assert a.grad == -4.0


def test_shared_subexpression():
    a, b = Value(-2.0), Value(3.0)
    d = a * b
    e = a + b
    f = d * e
    f.backward()
    # f = ab(a+b): df/da = b(a+b) + ab, df/db = a(a+b) + ab
    assert a.grad == 3.0 * 1.0 + (-6.0)
    assert b.grad == -2.0 * 1.0 + (-6.0)
    x = Value(0.5)
    s = x.tanh()
    y = s * s + s.exp() + s
    y.backward()
    t = math.tanh(0.5)
    assert close(x.grad, (2 * t + math.exp(t) + 1) * (1 - t * t), rel=1e-12)


def test_leaves_accumulate_and_interior_nodes_reset():
    x = Value(3.0)
    h = x * x
    y = h * 2
    y.backward()
    assert x.grad == 12.0 and h.grad == 2.0
    y.backward()
    assert x.grad == 24.0  # leaves accumulate, as in PyTorch
    assert h.grad == 2.0   # interior nodes hold the latest pass only
    x.grad = 0
    y.backward(grad=0.5)
    assert x.grad == 6.0 and y.grad == 0.5 and h.grad == 1.0


def test_backward_of_a_leaf_accumulates_the_seed():
    x = Value(1.0)
    x.backward()
    x.backward(2)
    assert x.grad == 3.0


def test_backward_seed_scales_every_gradient():
    a, b, c, f, e, d, L = worked_example()
    L.backward(grad=-2.5)
    assert (a.grad, b.grad, c.grad, f.grad) == (-15.0, 10.0, 5.0, -10.0)


def test_backward_from_an_interior_node():
    a, b, c, f, e, d, L = worked_example()
    d.backward()
    assert (a.grad, b.grad, c.grad, f.grad) == (-3.0, 2.0, 1.0, 0.0)


def test_no_grad_records_no_graph():
    a, b = Value(2.0), Value(3.0)
    with no_grad():
        c = a * b + 1
        d = 2 - a
    assert c.data == 7.0 and c.op == "" and c.children == ()
    assert d.data == 0.0 and d.op == ""
    e = a * b
    assert e.op == "*"  # recording again after the block


def test_no_grad_nests_and_decorates():
    @no_grad()
    def f(x):
        return x * 2

    x = Value(1.0)
    with no_grad():
        with no_grad():
            pass
        assert (x + 1).op == ""
    assert (x + 1).op == "+"
    assert f(x).op == "" and (x * 2).op == "*"


def test_no_grad_is_per_thread():
    x = Value(1.0)
    seen = []
    inside, done = threading.Event(), threading.Event()

    def other():
        inside.wait()
        seen.append((x * 2).op)
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with no_grad():
        inside.set()
        done.wait()
    t.join()
    assert seen == ["*"]


def test_attributes():
    a = Value(2, label="a")
    assert type(a.data) is float and a.data == 2.0 and a.grad == 0.0
    assert a.label == "a"
    a.data = 5
    a.grad = 1.5
    a.label = "weight ω"
    assert (a.data, a.grad, a.label) == (5.0, 1.5, "weight ω")
    a.label = ""
    assert a.label == ""
    b = Value(3.0)
    c = a * b
    assert c.children == (a, b)
    assert c._prev == {a, b}
    assert a.children == () and a._prev == set()
    assert (a + a).children == (a, a)


def test_handles_of_one_node_are_equal_and_hash_alike():
    a, b = Value(1.0), Value(1.0)
    c = a * b
    first, second = c.children[0], _handle(a._i)  # a walk's, and a second handle
    assert first is a and second == a and second is not a
    assert hash(first) == hash(a)
    assert len({a, first, second}) == 1
    assert a != b  # equal data, different nodes
    assert a != 1.0


def test_repr():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(-1.5, label="x")) == "Value(data=-1.5, grad=0.0, label='x')"


def test_micrograd_style_graph_walk():
    # A trace() as micrograd's notebooks write it: recursion over _prev, sets.
    def trace(root):
        nodes, edges = set(), set()

        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)
        build(root)
        return nodes, edges

    *_, L = worked_example()
    nodes, edges = trace(L)
    assert len(nodes) == 7 and len(edges) == 6
    assert {v.label for v in nodes} == {"a", "b", "c", "d", "e", "f", "L"}
    assert {n._op for n in nodes} == {"", "*", "+"}


def test_pickle_and_copy_of_a_value():
    import copy
    a = Value(1.25, label="w")
    a.grad = 0.5
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
        assert (b.data, b.grad, b.label, b.op) == (1.25, 0.5, "w", "")
        assert b != a
        b.data = 9.0
        assert a.data == 1.25
    c = pickle.loads(pickle.dumps(a * 2))
    assert c.data == 2.5 and c.op == ""  # an interior node pickles as a leaf


def test_stats_fields():
    s = pygrad.stats()
    for key in ("live_nodes", "capacity", "bytes", "cached_orders", "order_bytes"):
        assert isinstance(s[key], int)
    assert s["capacity"] >= s["live_nodes"]


def test_forward_replays_from_new_leaf_data():
    a, b, c, f, e, d, L = worked_example()
    a.data = 3.0
    assert L.forward() == (3.0 * -3.0 + 10.0) * -2.0
    assert (e.data, d.data, L.data) == (-9.0, 1.0, -2.0)


@pytest.mark.parametrize("seed", [1.0, 0.0, -3.0])
def test_backward_matches_finite_differences_on_a_mixed_graph(seed):
    def f(x, y, z):
        h = math.tanh(x * y) + (y / z) ** 2
        return math.exp(h * 0.1) * abs(z) + math.sqrt(abs(x) + 1) - math.log(z * z)

    point = [0.7, -1.3, 2.1]
    x, y, z = (Value(p) for p in point)
    h = (x * y).tanh() + (y / z) ** 2
    out = (h * 0.1).exp() * z.abs() + (x.abs() + 1).sqrt() - (z * z).log()
    assert close(out.data, f(*point), rel=1e-12)
    out.backward(seed)
    for v, g in zip((x, y, z), central_difference(f, point)):
        assert close(v.grad, seed * g, rel=1e-5, abs_=1e-8)
