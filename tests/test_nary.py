"""The n-ary ops dot, sum and logsumexp: one node each, against the same
computation written with binary ops, against central differences and
PyTorch, replayed, drawn, at any arity, and refusing bad input."""
import math
import random

import pytest

import pygrad
from pygrad import Value, no_grad
from pygrad._c import lib
from helpers import central_difference, close, live_now, through_each_failure


def binary_dot(ws, xs, bias=None):
    act = bias if bias is not None else ws[0] * xs[0]
    for w, x in (zip(ws, xs) if bias is not None else list(zip(ws, xs))[1:]):
        act = act + w * x
    return act


def binary_sum(vs):
    act = vs[0]
    for v in vs[1:]:
        act = act + v
    return act


def binary_logsumexp(vs):
    m = max(v.data for v in vs)
    return binary_sum([(v - m).exp() for v in vs]).log() + m


def random_values(rng, n, scale=2.0):
    return [rng.uniform(-scale, scale) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 7, 100])
def test_values_and_gradients_agree_with_the_binary_build(n):
    rng = random.Random(n)
    for with_bias in (True, False):
        w0, x0, b0 = random_values(rng, n), random_values(rng, n), rng.uniform(-1, 1)
        ws, xs, b = [Value(w) for w in w0], [Value(x) for x in x0], Value(b0)
        ws2, xs2, b2 = [Value(w) for w in w0], [Value(x) for x in x0], Value(b0)
        one = pygrad.dot(ws, xs, b if with_bias else None)
        ref = binary_dot(ws2, xs2, b2 if with_bias else None)
        assert one.data == ref.data  # the same terms, added in the same order
        one.backward()
        ref.backward()
        for p, q in zip(ws + xs + [b], ws2 + xs2 + [b2]):
            assert close(p.grad, q.grad, rel=1e-12, abs_=1e-300)
        assert one.op == "dot" and len(one.children) == 2 * n + with_bias
    vs = [Value(v) for v in random_values(rng, n)]
    vs2 = [Value(v.data) for v in vs]
    s, r = pygrad.sum(vs), binary_sum(vs2)
    assert s.data == r.data
    lse, lref = pygrad.logsumexp(vs), binary_logsumexp(vs2)
    assert close(lse.data, lref.data, rel=1e-12)
    (s + lse).backward()
    (r + lref).backward()
    for p, q in zip(vs, vs2):
        assert close(p.grad, q.grad, rel=1e-12)


def test_gradients_against_central_differences():
    def f_dot(a, b, c, d, e):
        return pygrad.dot([Value(a), Value(b)], [Value(c), Value(d)], Value(e)).data

    def f_lse(a, b, c):
        return pygrad.logsumexp([Value(a), Value(b), Value(c)]).data

    for f, point in ((f_dot, [0.3, -1.2, 2.0, 0.7, 0.5]), (f_lse, [0.3, -1.2, 2.0])):
        vs = [Value(x) for x in point]
        out = (pygrad.dot(vs[:2], vs[2:4], vs[4]) if f is f_dot else pygrad.logsumexp(vs))
        out.backward()
        for v, g in zip(vs, central_difference(f, point)):
            assert close(v.grad, g, rel=1e-7)


def test_logsumexp_against_pytorch():
    torch = pytest.importorskip("torch")
    data = [1000.0, 1001.0, -3.0, 0.5]
    vs = [Value(x) for x in data]
    out = pygrad.logsumexp(vs)
    out.backward(2.0)
    t = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    ref = torch.logsumexp(t, 0)
    ref.backward(torch.tensor(2.0, dtype=torch.float64))
    assert close(out.data, ref.item(), rel=1e-15)
    for v, g in zip(vs, t.grad.tolist()):
        assert close(v.grad, g, rel=1e-14, abs_=1e-300)


def test_logsumexp_is_stable_and_follows_ieee_at_the_edges():
    assert close(pygrad.logsumexp([Value(1e300), Value(1e300)]).data, 1e300)
    assert pygrad.logsumexp([Value(-1e308), Value(-1e308)]).data == -1e308 + math.log(2)
    inf, nan = float("inf"), float("nan")
    assert pygrad.logsumexp([Value(inf), Value(1.0)]).data == inf
    assert pygrad.logsumexp([Value(-inf), Value(-inf)]).data == -inf
    assert math.isnan(pygrad.logsumexp([Value(nan), Value(1.0)]).data)
    assert math.isnan(pygrad.logsumexp([Value(inf), Value(nan)]).data)


def test_numbers_become_leaves_and_repeated_operands_add_up(live):
    a = Value(3.0)
    s = pygrad.sum([a, 2, a, 0.5])
    assert s.data == 8.5
    assert [c.data for c in s.children] == [3.0, 2.0, 3.0, 0.5]
    assert s.children[0] is a and s.children[2] is a
    s.backward()
    assert a.grad == 2.0
    d = pygrad.dot([a, 2.0], [a, a])
    d.backward()
    assert d.data == 15.0 and a.grad == 2.0 + 2 * 3.0 + 2.0
    del s, d
    assert live_now() == live + 1


def test_replay_recomputes_from_the_leaves():
    ws, xs = [Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]
    b = Value(0.5)
    y = pygrad.logsumexp([pygrad.dot(ws, xs, b), pygrad.sum(xs)])
    ws[0].data, xs[1].data = -1.0, 0.25
    got = y.forward()
    want = pygrad.logsumexp([pygrad.dot(ws, xs, b), pygrad.sum(xs)]).data
    assert got == want


def test_drawn_and_exported_with_their_operands_in_order():
    w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(1.0, "b")
    y = pygrad.dot([w], [x], b)
    y.label = "y"
    g = pygrad.graph(y)
    by_label = {n["label"]: n for n in g["nodes"]}
    assert by_label["y"]["op"] == "dot"
    assert by_label["y"]["children"] == [by_label[k]["id"] for k in ("w", "x", "b")]
    dot = pygrad.draw_dot(y)
    assert 'label=dot' in dot.source and len(g["edges"]) == 3


def test_any_arity_up_to_millions(live):
    vs = [Value(1.0) for _ in range(1_000_000)]
    s = pygrad.sum(vs)
    assert s.data == 1_000_000.0 and lib.pg_parent(s._i, 999_999) == vs[-1]._i
    d = pygrad.dot(vs, [0.5] * len(vs))
    assert d.data == 500_000.0
    (s + d).backward()
    assert vs[0].grad == 1.5 and vs[-1].grad == 1.5
    vs[0].data = 3.0
    assert s.forward() == 1_000_002.0
    one = pygrad.sum([vs[0]])
    assert one.data == 3.0 and one.op == "sum"
    del vs, s, d, one
    assert live_now() == live


def test_no_grad_makes_a_leaf_and_keeps_nothing(live):
    a = Value(2.0)
    with no_grad():
        y = pygrad.dot([a, 3.0], [a, 4.0], 1.0)
    assert (y.data, y.op, y.children) == (17.0, "", ())
    del y
    assert live_now() == live + 1


BAD = [
    (lambda a: pygrad.sum([]), ValueError, "needs at least one value"),
    (lambda a: pygrad.logsumexp(()), ValueError, "needs at least one value"),
    (lambda a: pygrad.dot([], []), ValueError, "at least one pair"),
    (lambda a: pygrad.dot([a, a], [a]), ValueError, "2 weights for 1 inputs"),
    (lambda a: pygrad.sum([a, "1"]), TypeError, "operand must be a real number, not str"),
    (lambda a: pygrad.sum(a), TypeError, "takes a sequence .* not Value"),
    (lambda a: pygrad.sum("ab"), TypeError, "not str"),
    (lambda a: pygrad.logsumexp(5), TypeError, "not int"),
    (lambda a: pygrad.dot([a], [None]), TypeError, "xs operand must be a real number"),
    (lambda a: pygrad.dot([a], [a], bias="b"), TypeError, "bias operand must be a real number"),
    (lambda a: pygrad.sum([a, 10 ** 400]), OverflowError, "out of float64's range"),
]


@pytest.mark.parametrize("call, exc, message", BAD)
def test_bad_input_is_refused_and_changes_nothing(call, exc, message, live):
    a = Value(1.0)
    with pytest.raises(exc, match=message):
        call(a)
    assert live_now() == live + 1 and a.grad == 0.0


def test_core_refuses_bad_arguments_and_failed_allocations(live):
    a = Value(1.0)
    nil = 2**32 - 1
    assert lib.pg_nary(lib.PG_ADD, [a._i], [0.0], 1) == lib.PG_EARG
    for op in (lib.PG_SUM, lib.PG_DOT, lib.PG_LOGSUMEXP):  # n-ary ops are not unary
        assert lib.pg_unary(op, a._i) == lib.PG_EARG
    assert lib.pg_nary(lib.PG_SUM, [a._i], [0.0], 0) == lib.PG_EARG
    assert lib.pg_nary(lib.PG_SUM, [nil], pygrad._c.ffi.NULL, 1) == lib.PG_EARG
    assert lib.pg_nary(lib.PG_SUM, [a._i, 2**32 - 2], [0.0, 0.0], 2) == lib.PG_EINDEX
    # Each allocation the call makes fails in turn (the arena's growth, if it
    # needs any, then the operand array), until the call makes it through.
    s, failed = through_each_failure(lambda: pygrad.sum([a, 2.0] * 2000), live + 1)
    assert failed >= 1 and s.data == 6000.0
