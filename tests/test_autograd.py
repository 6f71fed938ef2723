"""pygrad.grad: first to third derivatives of every op against PyTorch and
against central differences; no grad changed; graphs of derivatives that
replay; bad arguments; nothing left behind."""
import itertools
import math
import random

import pytest

import pygrad
from pygrad import Value, nn
from pygrad._c import lib

from helpers import close, live_now, through_each_failure

# Each op inside a function of two inputs, so that every derivative up to the
# third, mixed ones included, goes through its rules. The same text runs on
# pygrad's Values and on torch's tensors; `nary` is how each spells the
# n-ary ops. Points include the edges the rules treat apart.
OPS = {
    "add": (lambda x, y, n: (x + y) * x, [(1.5, -2.0)]),
    "sub": (lambda x, y, n: (x - y) * y, [(1.5, -2.0)]),
    "mul": (lambda x, y, n: x * y * x, [(1.5, -2.0), (0.0, 3.0)]),
    "div": (lambda x, y, n: x / y, [(1.5, -2.0), (0.0, 0.5)]),
    "pow": (lambda x, y, n: x ** y, [(2.0, 3.0), (0.5, -1.5), (1.7, 0.0), (0.0, 2.0),
                                     (0.0, 3.5), (0.0, 0.0), (-2.0, 3.0)]),
    "powk": (lambda x, y, n: (x * y) ** 3.0 + x ** 0.0 + x ** -2.0 + y ** 0.5,
             [(1.5, 2.0), (-0.5, 0.25)]),
    "powk at 0": (lambda x, y, n: x ** 1.0 * y + x ** 2.0 + y ** 0.0, [(0.0, 0.0), (0.0, 1.5)]),
    "neg": (lambda x, y, n: -(x * y) * x, [(1.5, -2.0)]),
    "relu": (lambda x, y, n: (x * y).relu() * x, [(1.5, -2.0), (1.5, 2.0), (0.0, 2.0)]),
    "tanh": (lambda x, y, n: (x * y).tanh(), [(0.3, -0.7), (0.0, 1.0)]),
    "sigmoid": (lambda x, y, n: (x * y).sigmoid(), [(0.3, -0.7), (2.0, 3.0)]),
    "exp": (lambda x, y, n: (x * y).exp(), [(0.3, -0.7)]),
    "log": (lambda x, y, n: (x * y).log(), [(0.3, 0.7), (2.0, 0.25)]),
    "sqrt": (lambda x, y, n: (x * y).sqrt(), [(0.3, 0.7), (2.0, 0.25)]),
    "abs": (lambda x, y, n: abs(x * y) * x, [(0.3, -0.7), (0.3, 0.7), (0.0, 1.0)]),
    "sin": (lambda x, y, n: (x * y).sin(), [(0.3, -0.7), (2.0, 1.5)]),
    "cos": (lambda x, y, n: (x * y).cos(), [(0.3, -0.7), (2.0, 1.5)]),
    "sum": (lambda x, y, n: n.sum([x, y, x * y, x * x]), [(0.3, -0.7)]),
    "dot": (lambda x, y, n: n.dot([x, y, x * x], [y, x * y, y], x), [(0.3, -0.7)]),
    "logsumexp": (lambda x, y, n: n.logsumexp([x, y, x * y]), [(0.3, -0.7), (5.0, -2.0)]),
}


class PygradOps:
    sum = staticmethod(pygrad.sum)
    logsumexp = staticmethod(pygrad.logsumexp)

    @staticmethod
    def dot(ws, xs, bias):
        return pygrad.dot(ws, xs, bias=bias)


def torch_ops():
    torch = pytest.importorskip("torch", reason="torch is the oracle for higher derivatives")

    class TorchOps:
        @staticmethod
        def sum(vs):
            out = vs[0]
            for v in vs[1:]:
                out = out + v
            return out

        @staticmethod
        def dot(ws, xs, bias):
            out = bias
            for w, x in zip(ws, xs):
                out = out + w * x
            return out

        @staticmethod
        def logsumexp(vs):
            return torch.logsumexp(torch.stack(vs), 0)

    return torch, TorchOps


def pygrad_tower(f, point, order=3):
    """Every derivative of f at point up to order, by index path: {(): f,
    (0,): df/dx, (0, 1): d2f/dx dy, ...}, as floats."""
    xs = [Value(v) for v in point]
    nodes = {(): f(*xs, PygradOps)}
    for depth in range(order):
        for path in itertools.product(range(len(xs)), repeat=depth):
            node = nodes[path]
            found = ((None,) * len(xs) if node is None
                     else pygrad.grad(node, xs, create_graph=True, allow_unused=True))
            for k, g in enumerate(found):
                nodes[path + (k,)] = g
    return {p: 0.0 if v is None else v.data for p, v in nodes.items()}


def torch_tower(f, point, order=3):
    torch, ops = torch_ops()
    xs = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    nodes = {(): f(*xs, ops)}
    for depth in range(order):
        for path in itertools.product(range(len(xs)), repeat=depth):
            node = nodes[path]
            if node is None or not node.requires_grad:
                found = (None,) * len(xs)
            else:
                found = torch.autograd.grad(node, xs, create_graph=True, allow_unused=True)
            for k, g in enumerate(found):
                nodes[path + (k,)] = g
    return {p: 0.0 if v is None else v.item() for p, v in nodes.items()}


CASES = [(name, point) for name, (_, points) in OPS.items() for point in points]


@pytest.mark.parametrize("name,point", CASES, ids=[f"{n}{p}" for n, p in CASES])
def test_first_to_third_derivatives_match_torch(name, point):
    f = OPS[name][0]
    ours, theirs = pygrad_tower(f, point), torch_tower(f, point)
    for path in ours:
        if (name == "pow" and point[0] == 0.0 and math.isnan(theirs[path])
                and not math.isnan(ours[path])):
            # torch.where passes a zero gradient into the branch it did not
            # take, where 0 * log(0) makes NaN; MASK passes none, so pygrad
            # gives the derivative of 0 ** y, which is 0 for y > 0.
            assert ours[path] == 0.0, path
            continue
        assert close(ours[path], theirs[path], rel=1e-10, abs_=1e-12), (path, ours[path],
                                                                        theirs[path])


SMOOTH = [(name, point) for name, point in CASES
          if 0.0 not in point and name not in ("relu", "abs")]


@pytest.mark.parametrize("name,point", SMOOTH, ids=[f"{n}{p}" for n, p in SMOOTH])
def test_each_derivative_is_the_central_difference_of_the_one_below(name, point):
    f, h = OPS[name][0], 1e-5
    ours = pygrad_tower(f, point)
    for path, value in ours.items():
        if not path:
            continue
        k, below = path[-1], path[:-1]
        up, down = list(point), list(point)
        up[k] += h
        down[k] -= h
        numeric = (pygrad_tower(f, up, len(below))[below]
                   - pygrad_tower(f, down, len(below))[below]) / (2 * h)
        assert close(value, numeric, rel=1e-6, abs_=1e-6), (path, value, numeric)


def test_first_derivatives_equal_backward_to_the_bit_and_change_no_grad():
    x, y = Value(0.3), Value(-0.7)
    e = (x * y).tanh()
    out = e * x + pygrad.logsumexp([x, y, e]) + pygrad.dot([x, y], [y, e])
    out.backward()
    want = [x.grad, y.grad, e.grad]
    for v, g in zip((x, y, e, out), (11.0, 12.0, 13.0, 14.0)):
        v.grad = g
    plain = pygrad.grad(out, [x, y, e])
    built = pygrad.grad(out, [x, y, e], create_graph=True)
    assert [g.data for g in plain] == want
    assert [g.data for g in built] == want
    assert [v.grad for v in (x, y, e, out)] == [11.0, 12.0, 13.0, 14.0]
    assert all(g.op == "" for g in plain) and built[0].op != ""


def test_outputs_weighted_by_grad_outputs_and_inputs_inside_the_graph():
    x, y = Value(2.0), Value(3.0)
    a, b = x * y, x + y
    gx, ga = pygrad.grad([a, b], [x, a], grad_outputs=[2.0, Value(-1.0)])
    assert gx.data == 2.0 * 3.0 - 1.0
    assert ga.data == 2.0
    (gy,) = pygrad.grad(a, y, grad_outputs=0.5)
    assert gy.data == 1.0
    (again,) = pygrad.grad([a, a], [x])  # one output twice: counted twice
    assert again.data == 6.0
    g1, g2 = pygrad.grad(a, [x, x])
    assert g1.data == g2.data == 3.0


def test_unused_inputs_are_named_or_given_as_none(live):
    x, y, z = Value(1.0), Value(2.0, "zed"), Value(3.0)
    out = x * 2
    with pytest.raises(ValueError, match=r"inputs\[1\] \('zed'\) is not used by the outputs"):
        pygrad.grad(out, [x, y])
    with pytest.raises(ValueError, match=r"inputs\[1\] is not used"):
        pygrad.grad(out, [x, z], create_graph=True)
    gx, gy = pygrad.grad(out, [x, y], allow_unused=True)
    assert gx.data == 2.0 and gy is None
    del gx, out, x, y, z
    assert live_now() == live


def test_a_zero_gradient_that_is_reached_is_zero_not_none():
    x = Value(1.0)
    out = x ** 0.0
    (g,) = pygrad.grad(out, x, create_graph=True)
    assert g.data == 0.0
    (g2,) = pygrad.grad(abs(x), x, create_graph=True)
    (h,) = pygrad.grad(g2, x)  # through SIGN: reached, and zero
    assert h.data == 0.0


def test_graphs_of_derivatives_replay_with_new_data():
    """MASK and SIGN keep their conditions as ops: a relu's gradient graph
    built where it passes, replayed where it blocks, blocks."""
    x, y = Value(1.5), Value(2.0)
    out = (x * y).relu() * x + abs(x - y) * y + x ** y
    gx, gy = pygrad.grad(out, [x, y], create_graph=True)
    (gxx,) = pygrad.grad(gx, [x], create_graph=True)
    for xd, yd in ((-1.5, 2.0), (3.0, 0.5), (0.0, 0.0), (2.0, 2.0)):
        x.data, y.data = xd, yd
        got = [gx.forward(), gy.forward(), gxx.forward()]
        fx, fy = Value(xd), Value(yd)
        fresh = (fx * fy).relu() * fx + abs(fx - fy) * fy + fx ** fy
        hx, hy = pygrad.grad(fresh, [fx, fy], create_graph=True)
        (hxx,) = pygrad.grad(hx, [fx])
        for a, b in zip(got, (hx.data, hy.data, hxx.data)):
            assert close(a, b, rel=1e-15, abs_=0.0), (xd, yd, got)


def test_derivative_graphs_draw_with_the_internal_ops():
    x = Value(-2.0)
    (g,) = pygrad.grad(x.relu() + abs(x) + x.tanh() + x.sigmoid(), x, create_graph=True)
    ops = {node["op"] for node in pygrad.graph(g)["nodes"]}
    assert {"mask", "sign", "tanh_backward", "sigmoid_backward"} <= ops


@pytest.mark.parametrize("act,back,d_g,d_out", [
    ("tanh", "tanh_backward", lambda y: 1 - y * y, lambda a, y: -2 * a * y),
    ("sigmoid", "sigmoid_backward", lambda y: y * (1 - y), lambda a, y: a * (1 - 2 * y)),
])
def test_tanh_and_sigmoid_contribute_one_node_with_rules_of_its_own(live, act, back, d_g, d_out):
    """An activation's whole contribution g * f'(out) is one internal node,
    equal to the float rule to the bit, with local derivatives of its own
    (d/dg = f'(out), d/dout by hand) that explain() names."""
    x = Value(0.8, "x")
    out = getattr(x, act)()
    out.backward()
    base = live_now()
    (g,) = pygrad.grad(out, x, grad_outputs=1.5, create_graph=True)
    seed, y = g.children
    assert g.op == back and y is out and seed.data == 1.5 and g.data == 1.5 * x.grad
    assert live_now() - base == 2  # the node and its seed
    ex = pygrad.explain(g)
    assert [s["local"] for s in ex.steps[:2]] == [d_g(y.data), d_out(1.5, y.data)]
    assert f"d{ex.steps[0]['node']}/d" in str(ex)
    (h,) = pygrad.grad(g, x)
    assert close(h.data, d_out(1.5, y.data) * d_g(y.data), rel=1e-15, abs_=0.0)
    del g, h, seed, y, out, x, ex
    assert live_now() == live


def test_a_gradient_of_many_terms_is_one_dot_over_them_in_order(live):
    """create_graph keeps each product term unmade until the operand's whole
    gradient is known, then makes one dot over the terms, in the order
    backward() adds them (a plain term times a leaf holding 1): one node
    where an ADD and a MUL per term would be 21, and equal to the bit."""
    w = Value(0.7)
    xs = [Value(0.1 * k - 0.45) for k in range(10)]
    out = pygrad.sum([w * x for x in xs]) + w.tanh() + w
    out.backward()
    base = live_now()
    (g,) = pygrad.grad(out, w, create_graph=True)
    assert g.op == "dot" and g.data == w.grad
    kids = g.children
    firsts, seconds = [k.data for k in kids[0::2]], [k.data for k in kids[1::2]]
    # the reverse of creation: `+ w` (plain), tanh's contribution (plain, one
    # tanh_backward node), then the ten products of the sum's gradient with
    # each x, last x first
    assert seconds[0] == 1.0 and firsts[0] == 1.0
    assert kids[2].op == "tanh_backward" and seconds[1] == 1.0
    assert firsts[1] == 1.0 - w.tanh().data ** 2
    assert seconds[2:] == [x.data for x in reversed(xs)] and firsts[2:] == [1.0] * 10
    # the dot, the seed, the shared leaf 1, and tanh's one node
    del kids
    assert live_now() - base == 4
    (h,) = pygrad.grad(g, w)
    t = math.tanh(0.7)
    assert close(h.data, -2 * t * (1 - t * t), rel=1e-15, abs_=0.0)
    del g, h, out, w, xs
    assert live_now() == live


def test_nothing_is_left_behind(live):
    x, y = Value(0.3), Value(0.7)
    out = pygrad.logsumexp([x * y, y.sin()]) + pygrad.dot([x], [y]) + (x ** y).relu()
    base = live_now()
    g = pygrad.grad(out, [x, y], create_graph=True)
    h = pygrad.grad(g[0], [x, y], create_graph=True)
    assert live_now() > base
    del g, h
    assert live_now() == base
    del out, x, y
    assert live_now() == live


@pytest.mark.parametrize("create", [False, True])
def test_every_allocation_failure_makes_nothing(create):
    x, y = Value(0.3), Value(0.7)
    out = pygrad.logsumexp([x * y, y.sin()]) + (x ** y).tanh() * x
    base = live_now()

    def attempt():
        return pygrad.grad(out, [x, y], create_graph=create)

    result, failed = through_each_failure(attempt, base)
    assert failed >= 3
    want = pygrad.grad(out, [x, y])
    assert [g.data for g in result] == [g.data for g in want]


@pytest.mark.parametrize("call,exc,message", [
    (lambda x, o: pygrad.grad(o, 1.0), TypeError, r"inputs must be a Value or a sequence"),
    (lambda x, o: pygrad.grad(3.0, x), TypeError, r"outputs must be a Value or a sequence"),
    (lambda x, o: pygrad.grad([], x), ValueError, r"outputs must not be empty"),
    (lambda x, o: pygrad.grad(o, []), ValueError, r"inputs must not be empty"),
    (lambda x, o: pygrad.grad(o, [x, 2]), TypeError, r"inputs\[1\] must be a Value, not int"),
    (lambda x, o: pygrad.grad(o, "x"), TypeError, r"not str"),
    (lambda x, o: pygrad.grad(o, x, grad_outputs=[1.0, 2.0]), ValueError,
     r"1 output\(s\) but 2 grad_outputs"),
    (lambda x, o: pygrad.grad(o, x, grad_outputs=["a"]), TypeError, r"grad_outputs\[0\]"),
    (lambda x, o: pygrad.grad(o, x, grad_outputs=10 ** 400), OverflowError, r"range"),
    (lambda x, o: pygrad.grad(o, x, create_graph="yes"), TypeError, r"create_graph must be a bool"),
])
def test_bad_arguments_raise_and_change_nothing(call, exc, message):
    x = Value(2.0)
    out = x * x
    x.grad = 5.0
    before = live_now()
    with pytest.raises(exc, match=message):
        call(x, out)
    assert x.grad == 5.0 and live_now() == before


def test_the_core_refuses_bad_pass_arguments():
    from pygrad._c import ffi
    box = ffi.new("pg_pass **")
    x = Value(1.0)
    idx = ffi.new("uint32_t[]", [x._i])
    seeds = ffi.new("double[]", [1.0])
    assert lib.pg_pass_new(idx, seeds, 0, idx, 1, lib.PG_PASS_GRAD, box) == lib.PG_EARG
    assert lib.pg_pass_new(idx, seeds, 1, idx, 1, 7, box) == lib.PG_EARG
    dead = ffi.new("uint32_t[]", [2 ** 32 - 2])
    assert lib.pg_pass_new(dead, seeds, 1, idx, 1, lib.PG_PASS_GRAD, box) == lib.PG_EINDEX
    assert lib.pg_pass_new(idx, seeds, 1, dead, 1, lib.PG_PASS_GRAD, box) == lib.PG_EINDEX
    assert lib.pg_pass_new(idx, seeds, 1, idx, 1, lib.PG_PASS_BACKWARD, box) == lib.PG_OK
    p = box[0]
    out = ffi.new("uint32_t[]", 1)
    assert lib.pg_pass_set_grad(p, 1.0) == lib.PG_EARG  # not stopped
    assert math.isnan(lib.pg_pass_grad(p))
    assert lib.pg_pass_run(p) == 2 ** 32 - 1
    assert lib.pg_pass_results(p, out) == lib.PG_EARG  # a backward pass has none
    lib.pg_pass_free(p)
    assert x.grad == 1.0


# ---- A create pass from one output keeps its listing for the next pass from
# that output to the same inputs (Newton's method, conjugate gradients).

def hvp_model(point=(0.3, -0.7, 1.1)):
    xs = [Value(p) for p in point]
    out = (xs[0] * xs[1]).tanh() * xs[2] + pygrad.dot(xs, xs).sin() + xs[1].sigmoid() * xs[0]
    return out, xs


def hvp(out, xs, v):
    g = pygrad.grad(out, xs, create_graph=True)
    return [h.data for h in pygrad.grad(pygrad.dot(list(g), v), xs)]


def test_a_repeated_create_pass_reads_the_kept_listing_and_makes_the_same(live):
    out, xs = hvp_model()
    v = [0.5, -1.0, 2.0]
    assert not lib.pg_pass_kept(out._i)
    first = hvp(out, xs, v)
    assert lib.pg_pass_kept(out._i)
    base = live_now()
    assert [hvp(out, xs, v) for _ in range(3)] == [first] * 3  # to the bit
    assert live_now() == base
    # other inputs are listed afresh, and their listing is kept instead
    other_out, other_xs = hvp_model()
    assert hvp(out, xs[:2], v[:2]) == hvp(other_out, other_xs[:2], v[:2])
    assert hvp(out, xs, v) == first == hvp(*hvp_model(), v)
    # the product against central differences of the gradient along v
    def gradient(t):
        o, ys = hvp_model([x.data + t * d for x, d in zip(xs, v)])
        return [g.data for g in pygrad.grad(o, ys)]
    eps = 1e-5
    numeric = [(p - m) / (2 * eps) for p, m in zip(gradient(eps), gradient(-eps))]
    assert all(close(h, n, rel=1e-6, abs_=1e-8) for h, n in zip(first, numeric))


def test_a_kept_listing_rereads_hooks_and_goes_with_its_output(live):
    out, xs = hvp_model()
    v = [1.0, 1.0, 1.0]
    first = hvp(out, xs, v)
    assert lib.pg_pass_kept(out._i)
    seen = []
    handle = xs[0].register_hook(lambda g: seen.append(g))  # added after the listing was kept
    assert hvp(out, xs, v) == first
    assert len(seen) == 2  # once in each pass: the create pass and the one over its graph
    handle.remove()
    i = out._i
    del out
    assert not lib.pg_pass_kept(i)
    # a new output in the same slot is listed afresh
    made = [xs[0] * xs[2] for _ in range(40)]
    (out2,) = [m for m in made if m._i == i]
    g = pygrad.grad(out2, xs, create_graph=True, allow_unused=True)
    assert g[1] is None and (g[0].data, g[2].data) == (xs[2].data, xs[0].data)
    del g, out2, made, xs
    assert live_now() == live


def test_a_hook_may_differentiate_the_same_output_while_its_listing_is_read(live):
    out, xs = hvp_model()
    v = [0.5, 0.25, -1.0]
    first = hvp(out, xs, v)
    inner = []

    def hook(g):
        if not inner:  # once: the inner passes reach this hook too
            inner.append(None)
            inner[0] = hvp(out, xs, v)
    handle = xs[1].register_hook(hook)
    assert hvp(out, xs, v) == first
    assert inner == [first]
    handle.remove()


def test_a_kept_listing_is_counted_and_given_back():
    x = Value(0.5)
    out = x
    for _ in range(20_000):
        out = (out * x).sin()
    before = pygrad.stats()["bytes"]
    pygrad.grad(out, [x], create_graph=True)
    assert lib.pg_pass_kept(out._i)
    kept = pygrad.stats()["bytes"] - before
    assert kept >= 20_000 * (4 + 4 + 1 + 8)  # list, slot, needed and at of every node
    del out
    assert pygrad.stats()["bytes"] < before + kept


def test_every_allocation_failure_of_a_pass_reading_the_kept_listing_makes_nothing():
    out, xs = hvp_model()
    want = [g.data for g in pygrad.grad(out, xs, create_graph=True)]
    assert lib.pg_pass_kept(out._i)
    base = live_now()
    result, failed = through_each_failure(lambda: pygrad.grad(out, xs, create_graph=True), base)
    assert failed >= 3 and [g.data for g in result] == want


def batch_hinge_loss(points=12, seed=5):
    """A small MLP's hinge loss summed over a batch, and its parameters: the
    shape whose weight gradients are dots over the batch."""
    random.seed(seed)
    model = nn.MLP(2, [4, 4, 1])
    xs = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(points)]
    ys = [random.choice([-1.0, 1.0]) for _ in xs]
    loss = pygrad.sum([(1 - y * model(x)).relu() for x, y in zip(xs, ys)])
    return loss, model, xs, ys


def test_a_batch_loss_hessian_vector_product_matches_torch():
    torch = pytest.importorskip("torch", reason="torch is the oracle for higher derivatives")
    loss, model, xs, ys = batch_hinge_loss()
    params = model.parameters()
    v = [math.sin(k + 1.0) for k in range(len(params))]
    t = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in params]
    at = iter(t)
    layers = [[(list(itertools.islice(at, len(n.w))), next(at)) for n in layer.neurons]
              for layer in model.layers]
    total = 0
    for x, y in zip(xs, ys):
        h = [torch.tensor(c, dtype=torch.float64) for c in x]
        for depth, layer in enumerate(layers):
            h = [sum((w * hi for w, hi in zip(ws, h)), b) for ws, b in layer]
            h = [torch.relu(z) for z in h] if depth < len(layers) - 1 else h
        total = total + torch.relu(1 - y * h[0])
    first = torch.autograd.grad(total, t, create_graph=True)
    want = torch.autograd.grad(sum(g * c for g, c in zip(first, v)), t)
    g = pygrad.grad(loss, params, create_graph=True)
    loss.backward()
    assert [x.data for x in g] == [p.grad for p in params]  # to the bit
    assert all(close(x.data, w.item(), rel=1e-12, abs_=1e-14) for x, w in zip(g, first))
    got = pygrad.grad(pygrad.dot(list(g), v), params)
    assert all(close(h.data, w.item(), rel=1e-12, abs_=1e-14) for h, w in zip(got, want))


STRIDES_PROBE = """
import json, random, pygrad
from pygrad import nn
random.seed(5)
points = 40
model = nn.MLP(2, [4, 4, 1])
xs = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(points)]
ys = [random.choice([-1.0, 1.0]) for _ in xs]
loss = pygrad.sum([(1 - y * model(x)).relu() for x, y in zip(xs, ys)])
params = model.parameters()
made, products = [], []
for _ in range(3):
    before = pygrad.stats()["operand_bytes"]
    g = pygrad.grad(loss, params, create_graph=True)
    made.append(pygrad.stats()["operand_bytes"] - before)
    products.append([h.data for h in pygrad.grad(pygrad.dot(list(g), [1.0] * len(g)), params)])
    del g
print(json.dumps([points, len(params), made, products]))
"""


def test_a_weight_gradient_over_a_batch_keeps_its_steps_not_its_terms():
    """Each weight's gradient is a dot over the batch naming one node of each
    example, evenly spaced: it keeps 24 bytes, not 8 a term, and so does the
    graph of every product after, which takes the slots the last one freed.
    (A fresh interpreter, whose graph no earlier test has scattered.)"""
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", STRIDES_PROBE], check=True,
                         capture_output=True, text=True).stdout
    points, nparams, made, products = json.loads(out)
    # a dot for each parameter, and for each example one for each input of
    # the second layer (4 terms: as a list, 36 bytes), all strided
    assert made == [24 * (nparams + 4 * points)] * 3
    assert products[1] == products[0] == products[2]


def records_and_gradients(out, ins):
    """A create pass from out to ins: the records it kept room for, and its
    first derivatives as floats."""
    from pygrad.autograd import _Pass
    p = _Pass([out._i], [1.0], [x._i for x in ins], lib.PG_PASS_CREATE)
    try:
        p.run()
        return lib.pg_pass_records(p._p), [g.data for g in p.results()]
    finally:
        p.close()


ROWS_PROBE = """
import json, random, pygrad
from pygrad import nn
from pygrad._c import lib
from pygrad.autograd import _Pass

def records_and_gradients(out, ins):
    p = _Pass([out._i], [1.0], [x._i for x in ins], lib.PG_PASS_CREATE)
    p.run()
    got = lib.pg_pass_records(p._p), [g.data for g in p.results()]
    p.close()
    return got

random.seed(3)
model = nn.MLP(2, [4, 4, 1])
xs = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(40)]
ys = [random.choice([-1.0, 1.0]) for _ in xs]
loss = pygrad.sum([(1 - y * model(x)).relu() for x, y in zip(xs, ys)])
params = model.parameters()
more = loss + model.layers[0].neurons[0].w[0] * 0.5  # one weight used once more
found = []
for out in (loss, more):
    for p in params:
        p.grad = 0.0
    out.backward()
    records, got = records_and_gradients(out, params)
    found.append([records, got == [p.grad for p in params]])
print(json.dumps(found))
"""


def test_a_dense_row_passes_one_record_to_a_run_that_only_rows_reach():
    """In each of 40 examples, each of the 4 + 4 + 1 rows gives one record to
    its weights, each second-layer row one to the example's first-layer
    outputs, and the last row one to its second-layer outputs; a weight used
    once more takes its row's 40 records back as terms. The derivatives
    equal backward()'s to the bit. (A fresh interpreter, as above: a batch's
    inputs to a layer are one run when its nodes take ascending slots.)"""
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", ROWS_PROBE], check=True,
                         capture_output=True, text=True).stdout
    assert json.loads(out) == [[40 * (4 + 4 + 1 + 4 + 1), True], [40 * (4 + 4 + 1 + 4 + 1 - 1), True]]


def test_runs_that_overlap_repeat_or_are_partly_wanted_get_their_terms_in_order():
    from pygrad.value import leaves
    rng = random.Random(4)
    def run(n):
        return leaves([rng.uniform(-1, 1) for _ in range(n)])
    a, b, c, d, e = run(4), run(4), run(5), run(4), run(3)
    ps = [run(4), run(4), run(4), run(4), run(3)]
    def loss(a, b, c, d, e, ps):
        total = pygrad.sum([pygrad.dot(a, p) for p in ps[:4]])  # a's run: 4 records
        total = total + pygrad.dot(b, b) + pygrad.dot(b, ps[0])  # b's: 3, and ps[0]'s: 2
        total = total + pygrad.dot(c[:4], ps[1]) + pygrad.dot(c[1:], ps[2])  # overlapping
        total = total + pygrad.dot(d, ps[3])  # d's run is wanted in part
        total = total + pygrad.dot(e, ps[4]) + e[1] * 2.0  # e[1] is reached otherwise
        return (0.3 * total).tanh()
    ins = a + b + c + d[:2] + e + ps[0]
    out = loss(a, b, c, d, e, ps)
    out.backward()
    records, got = records_and_gradients(out, ins)
    assert records == 4 + 3 + 2
    assert got == [x.grad for x in ins]  # to the bit
    # the Hessian-vector product against central differences of the gradient
    v = [rng.uniform(-1, 1) for _ in ins]
    g = pygrad.grad(out, ins, create_graph=True)
    product = [h.data for h in pygrad.grad(pygrad.dot(list(g), v), ins)]
    def gradient(t):
        moved = {x._i: x.data + t * dv for x, dv in zip(ins, v)}
        runs = [leaves([moved.get(x._i, x.data) for x in r]) for r in (a, b, c, d, e)]
        qs = [leaves([moved.get(x._i, x.data) for x in p]) for p in ps]
        o = loss(*runs, qs)
        return [h.data for h in pygrad.grad(o, runs[0] + runs[1] + runs[2] + runs[3][:2] + runs[4] + qs[0])]
    eps = 1e-5
    numeric = [(p - m) / (2 * eps) for p, m in zip(gradient(eps), gradient(-eps))]
    assert all(close(h, n, rel=1e-6, abs_=1e-8) for h, n in zip(product, numeric))
