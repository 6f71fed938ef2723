"""Networks built in a few calls into C: nn's layers as pg_dense, weights side
by side (runs), cross_entropy, old pickles, and the passes that read runs of
nodes as arrays, each against the same model built one operation at a time."""
import copy
import math
import os
import pickle
import random
from types import SimpleNamespace

import pytest

import pygrad
from pygrad import Value, no_grad
from pygrad._c import ffi, lib
from pygrad.nn import MLP, Layer, Neuron, cross_entropy
from pygrad.optim import SGD, Adam
from pygrad.value import leaves
from helpers import live_now, through_each_failure

HERE = os.path.dirname(os.path.abspath(__file__))
ACTS = {"relu": Value.relu, "tanh": Value.tanh, "sigmoid": Value.sigmoid}


def per_op(model, x):
    """model's outputs built as micrograd builds them: one node an operation."""
    for k, layer in enumerate(model.layers):
        out = []
        for n in layer.neurons:
            act = n.b
            for w, xi in zip(n.w, x):
                act = act + w * xi
            out.append(ACTS[n.activation](act) if n.nonlin else act)
        x = out
    return x


def as_list(out):
    return out if isinstance(out, list) else [out]


def grads_of(root, params):
    for p in params:
        p.grad = 0.0
    root.backward()
    return [p.grad for p in params]


def assert_close(got, want, rel=1e-12):
    for a, b in zip(got, want):
        assert math.isclose(a, b, rel_tol=rel, abs_tol=1e-300), (a, b)
    assert len(got) == len(want)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("inputs", ["numbers", "values"])
def test_model_matches_the_per_op_build(activation, inputs):
    random.seed(11)
    model = MLP(5, [7, 6, 3], activation=activation)
    params = model.parameters()
    for trial in range(4):
        data = [random.uniform(-2, 2) for _ in range(5)]
        x = data if inputs == "numbers" else [Value(v) for v in data]
        fast, slow = as_list(model(x)), per_op(model, x)
        assert [o.data for o in fast] == pytest.approx([o.data for o in slow], rel=1e-12)
        weights = [0.5, -1.25, 2.0]
        got = grads_of(pygrad.dot(weights, fast), params)
        want = grads_of(pygrad.dot(weights, slow), params)
        assert_close(got, want)
        if inputs == "values":
            got_x = grads_of(pygrad.dot(weights, as_list(model(x))), x)
            want_x = grads_of(pygrad.dot(weights, per_op(model, x)), x)
            assert_close(got_x, want_x)


def test_a_neuron_is_one_dot_node_and_its_activation():
    random.seed(2)
    layer = Layer(3, 2, activation="tanh")
    x = [Value(1.0), Value(2.0), Value(3.0)]
    out = layer(x)
    for n, o in zip(layer.neurons, out):
        assert o.op == "tanh"
        (d,) = o.children
        assert d.op == "dot"
        assert d.children == tuple(v for w, xi in zip(n.w, x) for v in (w, xi)) + (n.b,)
    linear = Layer(3, 1, nonlin=False)([1.0, 2.0, 3.0])
    assert linear.op == "dot" and len(linear.children) == 7
    # a lone Neuron makes the same nodes
    n = layer.neurons[0]
    assert n(x).data == out[0].data and n(x).children[0].op == "dot"


def test_parameters_are_made_side_by_side():
    model = MLP(4, [3, 2])
    idx = [p._i for p in model.parameters()]
    # each neuron's weights and bias are one run of indices
    for layer in model.layers:
        for n in layer.neurons:
            run = [p._i for p in n.parameters()]
            assert run == list(range(run[0], run[0] + len(run)))
    assert len(set(idx)) == len(idx)


@pytest.mark.parametrize("hidden", [4, 9])  # rows replayed four at a time, and the rest
def test_replay_follows_new_weights_and_inputs(hidden):
    random.seed(5)
    model = MLP(5, [hidden, 3], activation="tanh")
    x = leaves([0.1 * k - 0.2 for k in range(5)])  # side by side: every dot reads runs
    out = model(x)
    root = pygrad.sum(out)
    opt = SGD(model.parameters(), lr=0.1)
    for step in range(3):
        opt.zero_grad()
        root.backward()
        opt.step()
        x[step].data = 1.5 * step - 1
        root.forward()
        fresh = model(x)
        assert [o.data for o in out] == [f.data for f in fresh]


def test_the_plan_follows_changes_to_the_model():
    random.seed(9)
    layer = Layer(2, 3)
    x = [0.5, -1.5]
    before = [o.data for o in layer(x)]
    n = layer.neurons[1]
    with pytest.raises(TypeError, match="cannot change in place: set w.data"):
        n.w[0] = Value(1.0)
    with pytest.raises(TypeError, match="cannot change in place"):
        layer.neurons.append(Neuron(2))
    assert [o.data for o in layer(x)] == before  # refused, so unchanged
    n.w = [Value(2.0), Value(3.0)]  # a new list: the next call uses it
    assert layer(x)[1].data == max(0.0, 2.0 * 0.5 + 3.0 * -1.5 + n.b.data) == 0.0
    n.b.data = 5.0  # a value changed in place needs no new plan
    assert layer(x)[1].data == 2.0 * 0.5 + 3.0 * -1.5 + 5.0
    n.nonlin = False  # neurons that differ: built neuron by neuron
    out = layer(x)
    assert [o.op for o in out] == ["ReLU", "dot", "ReLU"]
    assert out[1].data == 2.0 * 0.5 + 3.0 * -1.5 + 5.0

    class Doubled(Neuron):
        def __call__(self, x):
            return super().__call__(x) * 2

    layer.neurons = [Neuron(2), Doubled(2)]
    out = layer(x)
    assert out[1].op == "*" and out[1].data == 2 * Neuron.__call__(layer.neurons[1], x).data


def test_old_pickles_load_and_compute_as_before():
    # Written by pygrad 0.1.0, whose nn built one node an operation:
    # MLP(3, [4, 4, 2], activation="tanh") after random.seed(7), pickled
    # after backward() of out[0] * out[1] at x.
    x = [0.5, -1.25, 2.0]
    outputs = [-0.10610693213995066, -0.24542250197855553]
    grads_head = [-0.01135293473263728, 0.028382336831593198, -0.04541173893054912]
    with open(os.path.join(HERE, "data", "mlp-0.1.0.pkl"), "rb") as f:
        model = pickle.load(f)
    params = model.parameters()
    assert len(params) == 4 * 4 + 5 * 4 + 5 * 2
    assert [p.grad for p in params[:3]] == grads_head  # pickled with their grads
    out = model(x)
    assert_close([o.data for o in out], outputs)
    got = grads_of(out[0] * out[1], params)
    assert_close(got[:3], grads_head)
    slow = per_op(model, x)
    assert_close(got, grads_of(slow[0] * slow[1], params))
    assert out[0].op == "dot"  # the last layer is linear, now one dot node


def test_new_models_pickle_and_copy_without_their_plan():
    random.seed(4)
    model = MLP(3, [5, 2])
    x = [1.0, 2.0, -1.0]
    want = [o.data for o in model(x)]  # makes the plans
    state = model.layers[0].__getstate__()
    assert "_plan" not in state
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert [o.data for o in clone(x)] == want
        clone.layers[0].neurons[0].b.data += 1.0
        assert [o.data for o in model(x)] == want


def test_cross_entropy_by_hand_and_its_gradient():
    logits = [Value(1.0), Value(2.0), Value(0.5)]
    loss = cross_entropy(logits, 1)
    z = [1.0, 2.0, 0.5]
    total = sum(math.exp(v) for v in z)
    assert loss.data == pytest.approx(-math.log(math.exp(2.0) / total), rel=1e-15)
    loss.backward()
    softmax = [math.exp(v) / total for v in z]
    assert [v.grad for v in logits] == pytest.approx(
        [softmax[0], softmax[1] - 1, softmax[2]], rel=1e-14)
    assert loss.op == "-" and loss.children[0].op == "logsumexp"
    # stable where exp would overflow, and numbers are logits too
    big = cross_entropy([1000.0, Value(1001.0)], 0)
    assert big.data == pytest.approx(math.log(1 + math.e), rel=1e-14)


def test_cross_entropy_against_pytorch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle here")
    rng = random.Random(3)
    for n in (1, 2, 10):
        z = [rng.uniform(-5, 5) for _ in range(n)]
        t = rng.randrange(n)
        logits = [Value(v) for v in z]
        loss = cross_entropy(logits, t)
        loss.backward()
        tz = torch.tensor([z], dtype=torch.float64, requires_grad=True)
        tl = torch.nn.functional.cross_entropy(tz, torch.tensor([t]))
        tl.backward()
        assert loss.data == pytest.approx(tl.item(), rel=1e-13, abs=1e-15)
        assert [v.grad for v in logits] == pytest.approx(tz.grad[0].tolist(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("logits, target, exc, message", [
    (Value(1.0), 0, TypeError, "logits must be a sequence .* not Value"),
    (3.0, 0, TypeError, "not float"),
    ("ab", 0, TypeError, "not str"),
    ([1.0, 2.0], 1.0, TypeError, "class index \\(int\\), not float"),
    ([1.0, 2.0], True, TypeError, "not bool"),
    ([1.0, 2.0], 2, ValueError, "target 2 is not a class index for 2 logits"),
    ([1.0, 2.0], -1, ValueError, "target -1"),
    ([], 0, ValueError, "for 0 logits"),
    ([1.0, "x"], 0, TypeError, "operand must be a real number, not str"),
])
def test_cross_entropy_refuses_bad_input(logits, target, exc, message, live):
    with pytest.raises(exc, match=message):
        cross_entropy(logits, target)
    assert live_now() == live


def test_layer_input_is_checked(live):
    layer = Layer(3, 2)
    with pytest.raises(ValueError, match="takes 3 inputs, got 2"):
        layer([1.0, 2.0])
    with pytest.raises(TypeError, match="input operand must be a real number, not str"):
        layer([1.0, 2.0, "3"])
    with pytest.raises(TypeError, match="not Value"):
        layer(Value(1.0))
    del layer
    assert live_now() == live


def test_no_grad_layers_make_leaves_and_keep_nothing(live):
    random.seed(1)
    model = MLP(3, [4, 2])
    x = [0.2, 0.4, -0.6]
    want = [o.data for o in model(x)]
    before = live_now()
    with no_grad():
        out = model(x)
    assert [o.data for o in out] == want and all(o.op == "" for o in out)
    assert live_now() == before + 2
    del out, model
    assert live_now() == live


def test_graphs_free_everything_they_made(live):
    model = MLP(10, [8, 3])
    base = live_now()
    out = model([float(k) for k in range(10)])
    loss = cross_entropy(out, 2)
    del out
    loss.backward()
    del loss
    assert live_now() == base
    del model
    assert live_now() == live


def test_core_dense_refuses_bad_arguments_and_failed_allocations(live):
    w = leaves([0.5, -0.5, 1.0, 2.0])
    b = leaves([0.1, 0.2])
    wi = ffi.new("uint32_t[]", [v._i for v in w])
    bi = ffi.new("uint32_t[]", [v._i for v in b])
    out = ffi.new("uint32_t[]", 2)
    nil = 2**32 - 1
    x = [nil, nil]
    k = [3.0, 4.0]
    assert lib.pg_dense(wi, bi, x, k, 0, 2, lib.PG_RELU, ffi.NULL, out) == lib.PG_EARG
    assert lib.pg_dense(wi, bi, x, k, 2, 0, lib.PG_RELU, ffi.NULL, out) == lib.PG_EARG
    assert lib.pg_dense(wi, bi, x, k, 2, 2, lib.PG_POWK, ffi.NULL, out) == lib.PG_EARG
    assert lib.pg_dense(wi, bi, x, k, 2, 2, lib.PG_DOT, ffi.NULL, out) == lib.PG_EARG
    assert lib.pg_dense(wi, bi, x, ffi.NULL, 2, 2, lib.PG_RELU, ffi.NULL, out) == lib.PG_EARG
    assert lib.pg_dense(wi, bi, [w[0]._i, 2**32 - 2], k, 2, 2, lib.PG_RELU, ffi.NULL, out) == lib.PG_EINDEX
    assert lib.pg_dense([nil] * 4, bi, x, k, 2, 2, lib.PG_RELU, ffi.NULL, out) == lib.PG_EARG
    assert lib.pg_leaves([1.0], 0) == lib.PG_EARG
    assert live_now() == live + 6
    # Each allocation the call makes fails in turn, until it makes it through:
    # nothing is made and no reference is left behind by a failed one.
    from pygrad.nary import Dense
    plan = Dense([w[:2], w[2:]], b, "relu")
    made, failed = through_each_failure(lambda: plan([3.0, 4.0]), live + 6)
    assert failed >= 2
    assert [m.data for m in made] == [0.0, 0.2 + 1.0 * 3 + 2.0 * 4]  # relu(-0.4), relu(11.2)
    del made, plan, w, b
    assert live_now() == live


def test_runs_and_scattered_operands_agree_to_the_bit():
    rng = random.Random(8)
    data_w = [rng.uniform(-1, 1) for _ in range(50)]
    data_x = [rng.uniform(-1, 1) for _ in range(50)]
    ws, xs = leaves(data_w), leaves(data_x)  # runs
    keep = []
    sw, sx = [], []
    for a, c in zip(data_w, data_x):  # scattered: other nodes between
        sw.append(Value(a))
        keep.append(Value(0.0))
        sx.append(Value(c))
    fast, slow = pygrad.dot(ws, xs, 0.5), pygrad.dot(sw, sx, 0.5)
    assert lib.pg_op(fast._i) == lib.PG_DOT
    assert fast.data == slow.data
    fast.backward()
    slow.backward()
    assert [v.grad for v in ws + xs] == [v.grad for v in sw + sx]
    # one run as weights and inputs: each gets both terms, weight's first
    sq = pygrad.dot(ws, ws)
    for v in ws:
        v.grad = 0.0
    sq.backward()
    assert [v.grad for v in ws] == [w * 1.0 + w * 1.0 for w in data_w]
    # Overlapping runs are read one operand at a time: each entry gets its
    # terms in operand order, onto what its gradient held before.
    for shifted_w, shifted_x in ((ws[1:], ws[:-1]), (ws[:-1], ws[1:])):
        shifted = pygrad.dot(shifted_w, shifted_x)
        for v in ws:
            v.grad = 0.1
        shifted.backward()
        want = [0.1] * len(ws)
        pos = {id(v): k for k, v in enumerate(ws)}
        for w, x in zip(shifted_w, shifted_x):
            want[pos[id(w)]] += x.data
            want[pos[id(x)]] += w.data
        assert [v.grad for v in ws] == want


def test_a_dot_over_runs_keeps_their_starts_not_its_operands(live):
    random.seed(3)
    model = MLP(784, [50, 10])
    before = pygrad.stats()["operand_bytes"]
    x = [random.random() for _ in range(784)]
    out = model(x)
    # 60 dots of 1,569 and 101 operands: 16 bytes each (count, two starts, bias)
    assert pygrad.stats()["operand_bytes"] - before == 60 * 16
    # read back in order: the numbers became leaves side by side
    dot = out[0]
    first = model.layers[1].neurons[0]
    assert dot.op == "dot" and len(dot.children) == 101
    assert list(dot.children[0:100:2]) == first.w and dot.children[100] is first.b
    hidden = dot.children[1]
    assert hidden.op == "ReLU"
    inner = hidden.children[0]
    assert inner.op == "dot" and len(inner.children) == 1569
    assert [c.data for c in inner.children[1:1568:2]] == x
    assert list(inner.children[0:1568:2]) == model.layers[0].neurons[0].w
    assert_close([o.data for o in out], [o.data for o in per_op(model, x)])
    del out, dot, hidden, inner
    assert pygrad.stats()["operand_bytes"] == before

    # inputs that are not side by side: a dot keeps every operand, same numbers
    layer = Layer(3, 2, nonlin=False)
    apart, between = [], []
    for v in (0.5, -1.0, 2.0):
        apart.append(Value(v))
        between.append(Value(0.0))
    together = [Value(v.data) for v in apart]
    mark = pygrad.stats()["operand_bytes"]
    scattered = layer(apart)
    assert pygrad.stats()["operand_bytes"] - mark == 2 * (2 * 3 + 1 + 1) * 4
    mark = pygrad.stats()["operand_bytes"]
    runs = layer(together)
    assert pygrad.stats()["operand_bytes"] - mark == 2 * 16
    assert [o.data for o in scattered] == [o.data for o in runs]
    assert [o.data for o in scattered] == [o.data for o in per_op(SimpleNamespace(layers=[layer]), apart)]
    assert list(pygrad.dot(apart, together).children) == [
        v for pair in zip(apart, together) for v in pair]
    del model, first, layer, apart, between, together, scattered, runs
    assert live_now() == live


def test_backward_of_a_replayed_graph_matches_a_fresh_search():
    a, b = Value(0.7), Value(-1.3)
    c = a * b
    d = (c + a).tanh() * c
    y = pygrad.sum([d, c * c, pygrad.logsumexp([a, b, d])])
    y.backward()
    fresh = [v.grad for v in (a, b, c, d, y)]
    a.grad = b.grad = 0.0
    y.forward()  # keeps the order, which backward now walks
    assert pygrad.stats()["cached_orders"] >= 1
    y.backward()
    assert [v.grad for v in (a, b, c, d, y)] == fresh
    y.backward()  # interior nodes are reset, leaves accumulate
    assert [v.grad for v in (c, d, y)] == fresh[2:]
    assert [a.grad, b.grad] == [2 * fresh[0], 2 * fresh[1]]


@pytest.mark.parametrize("opt_class, kw", [
    (SGD, dict(lr=0.1)), (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    (Adam, dict(lr=0.01)), (Adam, dict(lr=0.01, weight_decay=0.1))])
def test_optimizers_give_the_same_steps_over_runs_and_scattered_parameters(opt_class, kw):
    rng = random.Random(6)
    start = [rng.uniform(-1, 1) for _ in range(40)]
    grads = [[rng.uniform(-1, 1) for _ in range(40)] for _ in range(3)]
    runs = leaves(start)
    keep, scattered = [], []
    for s in start:
        scattered.append(Value(s))
        keep.append(Value(0.0))
    order = list(range(40))
    rng.shuffle(order)  # a parameter list in no order of index
    traces = []
    for params, perm in ((runs, list(range(40))), (scattered, order)):
        opt = opt_class([params[k] for k in perm], **kw)
        trace = []
        for g in grads:
            for p, gi in zip(params, g):
                p.grad = gi
            opt.step()
            trace.append([p.data for p in params])
        opt.zero_grad()
        assert all(p.grad == 0.0 for p in params)
        traces.append(trace)
    assert traces[0] == traces[1]


def test_rows_replayed_together_never_include_one_anothers_operands():
    # Three dots over xs, then four over the same xs whose weights are runs of
    # the first three: in the order, the last first-layer rows and the first
    # second-layer row look like four rows of one layer, but one reads another.
    from pygrad.nary import Dense
    xs = leaves([0.5, -1.5])
    first = Dense([leaves([0.1, 0.2]), leaves([0.3, -0.4]), leaves([-0.5, 0.6])],
                  leaves([0.0, 0.1, 0.2]), None)(xs)
    rows = [first[0:2], first[1:3], first[0:2], first[1:3]]
    second = Dense(rows, leaves([1.0, 2.0, 3.0, 4.0]), None)(xs)
    root = pygrad.sum(second)
    xs[0].data, xs[1].data = 2.0, 3.0
    root.forward()

    def rebuilt():
        h = [pygrad.dot(n.children[0:4:2], xs, n.children[4]) for n in first]
        return [pygrad.dot(r, xs, s.children[4]) for r, s in
                zip([h[0:2], h[1:3], h[0:2], h[1:3]], second)]
    assert [s.data for s in second] == [v.data for v in rebuilt()]
