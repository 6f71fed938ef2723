"""Scopes: pygrad.scope tags the nodes made inside it, per thread, nested
with "/"; nn's modules open their own; graph() reports them and draw_dot
groups or collapses them; and a node costs no more bytes in a scope."""
import random
import re
import subprocess
import sys
import threading

import pytest

import pygrad
from pygrad import Value, nn, scope, scope_of
from pygrad.scopes import current
from pygrad.value import leaves

from helpers import live_now


def test_nodes_made_inside_a_scope_carry_its_path():
    x = Value(1.0)
    with scope("model"):
        y = x * 2
        with scope("head"):
            z = y.tanh()
            with scope("head"):  # a name may repeat at any depth
                u = z + 1
        v = u * y
    w = v - 1
    assert [scope_of(t) for t in (x, y, z, u, v, w)] == [
        "", "model", "model/head", "model/head/head", "model", ""]
    g = pygrad.graph(w)
    by_op = {n["op"]: n["scope"] for n in g["nodes"]}
    assert by_op["tanh"] == "model/head" and by_op["-"] == "" and by_op["+"] == "model/head/head"
    # x and the 1 of "- 1"; the 2; the 1 of "+ 1"
    assert {n["scope"] for n in g["nodes"] if n["op"] == ""} == {"", "model", "model/head/head"}


def test_a_scope_is_left_on_an_exception_and_works_as_a_decorator():
    s = scope("step")
    with pytest.raises(ZeroDivisionError):
        with s:
            1 / 0
    assert current() == 0 and scope_of(Value(1.0)) == ""

    @scope("loss")
    def loss(a):
        return (a - 1) ** 2

    assert scope_of(loss(Value(3.0))) == "loss"
    with scope("outer"):
        assert scope_of(loss(Value(3.0))) == "outer/loss"
    assert scope_of(Value(0.0)) == ""
    assert repr(s) == "pygrad.scope('step')"


@pytest.mark.parametrize("name, exc, message", [
    (3, TypeError, "a scope name must be a str, not int"),
    (None, TypeError, "a scope name must be a str, not NoneType"),
    ("", ValueError, "non-empty"),
    ("a\0b", ValueError, "without NUL"),
])
def test_bad_scope_names_are_refused_and_change_nothing(name, exc, message):
    with pytest.raises(exc, match=message):
        scope(name)
    assert current() == 0
    with pytest.raises(TypeError, match="scope_of"):
        scope_of(1.0)


def test_scopes_are_per_thread():
    # Two threads take turns making nodes, each inside its own scope; every
    # node is tagged with its own thread's scope, not the last one entered.
    turn = [threading.Semaphore(1), threading.Semaphore(0)]
    made = {0: [], 1: []}

    def work(me):
        with scope(f"thread {me}"):
            for k in range(200):
                turn[me].acquire()
                made[me].append(Value(float(k)) * 2)
                turn[1 - me].release()

    threads = [threading.Thread(target=work, args=(me,)) for me in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert current() == 0
    for me in (0, 1):
        assert {scope_of(v) for v in made[me]} == {f"thread {me}"}
        assert {scope_of(v.children[0]) for v in made[me]} == {f"thread {me}"}


def test_scopes_survive_the_log_being_compacted(live):
    # Many short-lived nodes in alternating scopes, then a few kept ones:
    # compaction drops the dead runs and keeps each survivor's scope.
    kept = []
    for k in range(3000):
        with scope(f"s{k % 3}"):
            t = Value(1.0)
            for _ in range(20):
                t = t * 1.0
            if k % 97 == 0:
                kept.append((t, f"s{k % 3}"))
        for _ in range(10):
            Value(0.0) + 1  # dies at once, outside any scope
    assert all(scope_of(t) == path for t, path in kept)
    del kept, t
    assert live_now() == live


def test_scopes_survive_a_freed_derivative_graph_leaving_the_log(live):
    # A derivative graph made in scopes of its own and freed after use was
    # the last made: its log entries and scope runs are dropped from the end,
    # and the nodes made after it get their own scopes, not the dropped ones'.
    with scope("model"):
        x = Value(0.5)
        y = (x * x).tanh().sin()
    for k in range(4):
        with scope(f"derivative {k}"):
            g, = pygrad.grad(y, x, create_graph=True)
            h, = pygrad.grad(g, x, create_graph=True)
        assert scope_of(h) == f"derivative {k}"
        del g, h
        with scope("model"):
            a = Value(1.0)
        b = a * 2.0
        with scope(f"next {k}"):
            c = b + a
        assert [scope_of(t) for t in (x, y, a, b, c)] == ["model", "model", "model", "", f"next {k}"]
        del a, b, c
    del x, y
    assert live_now() == live


def test_leaves_made_in_one_call_after_a_one_node_scope_keep_theirs():
    # Scope numbers given out one after another (new names) count up, as a
    # layer's neurons' do: the leaves must not be read as continuing a count.
    with scope("one node here"):
        a = Value(1.0)
    with scope("then a run of leaves"):
        ws = leaves([1.0, 2.0, 3.0, 4.0])
    assert scope_of(a) == "one node here"
    assert [scope_of(w) for w in ws] == ["then a run of leaves"] * 4


@pytest.mark.parametrize("width, calls", [(9, 400), (700, 6)])
def test_a_layer_keeps_its_neurons_scopes_when_some_outputs_die(live, width, calls):
    # A layer's dots and activations are two counting runs (Neuron 1, 2, ...);
    # compacting after some outputs die splits them, keeping every scope.
    # (A wide layer's runs could split into more than the core sizes for at
    # once: it counts them first.)
    random.seed(6)
    layer = nn.Layer(3, width, scope="wide")
    kept = []
    for k in range(calls):
        out = layer([Value(1.0), Value(2.0), Value(k / calls)])
        kept += [(o, f"wide/Neuron {j + 1}") for j, o in enumerate(out) if (j + k) % 4 == 0]
        del out
        for _ in range(30 * width if k % 3 == 2 else 0):
            Value(0.0) * 2  # short-lived nodes, so that the log compacts
    assert all(scope_of(o) == path for o, path in kept)
    assert all(scope_of(o.children[0]) == path for o, path in kept)  # its dot
    del kept, layer
    assert live_now() == live


CHAIN_BYTES = '''
import sys, pygrad
from pygrad import Value
def build():
    x, xs = Value(1.0), []
    for _ in range(50_000):
        x = x * 1.0
        xs.append(x)
    return xs
if sys.argv[1] == "scoped":
    with pygrad.scope("chain"):
        xs = build()
else:
    xs = build()
assert pygrad.scope_of(xs[-1]) == ("chain" if sys.argv[1] == "scoped" else "")
print(pygrad.stats()["bytes"])
'''


def test_a_node_costs_no_more_bytes_in_a_scope():
    # Each in a fresh process, so that neither reuses the other's room.
    plain, scoped = (int(subprocess.run([sys.executable, "-c", CHAIN_BYTES, how],
                                        capture_output=True, text=True, check=True).stdout)
                     for how in ("plain", "scoped"))
    assert plain > 50_000 * 40  # the chain's nodes are in the figure
    assert 0 <= scoped - plain <= 1024  # a few scope runs, nothing per node


MLP_BYTES = '''
import random, sys, pygrad
from pygrad import Value, nn
from pygrad.nary import Dense
random.seed(0)
model = nn.MLP(16, [32, 32, 1])
plans = [Dense([n.w for n in l.neurons], [n.b for n in l.neurons], "relu" if n.nonlin else None)
         for l in model.layers for n in l.neurons[:1]]
def plain(x):  # the same nodes, built with no scopes
    for p in plans:
        x = p(x)
    return x[0]
forward = model if sys.argv[1] == "scoped" else plain
base = pygrad.stats()["bytes"]
outs = [forward([Value(random.random()) for _ in range(16)]) for _ in range(300)]
print(pygrad.stats()["bytes"] - base)
'''


def test_an_nn_graph_costs_no_more_bytes_with_its_scopes():
    plain, scoped = (int(subprocess.run([sys.executable, "-c", MLP_BYTES, how],
                                        capture_output=True, text=True, check=True).stdout)
                     for how in ("plain", "scoped"))
    # 300 examples of 16 inputs and 65 neurons' dots and activations. Each
    assert plain > 300 * 140 * 40
    # layer's dots and activations are one counting run each: about 6 runs
    # (12 bytes each) an example, against 146 nodes; a run per neuron would
    # be 130.
    assert 0 <= scoped - plain <= 300 * 8 * 12


def test_nn_modules_open_scopes_for_themselves():
    random.seed(3)
    model = nn.MLP(2, [3, 2])
    out = model([1.0, -1.0])
    assert [scope_of(o) for o in out] == ["Layer 2/Neuron 1", "Layer 2/Neuron 2"]
    hidden = out[0].children[1]  # operand 1 of a dot is input 0: neuron 1's ReLU
    assert hidden.op == "ReLU" and scope_of(hidden) == "Layer 1/Neuron 1"
    assert scope_of(hidden.children[0]) == "Layer 1/Neuron 1"  # its dot
    assert scope_of(hidden.children[0].children[1]) == ""  # the input 1.0: the caller's
    for j, layer in enumerate(model.layers, 1):
        for k, neuron in enumerate(layer.neurons, 1):
            assert {scope_of(p) for p in neuron.parameters()} == {f"Layer {j}/Neuron {k}"}
    with scope("model"):
        out = model([1.0, -1.0])
    assert scope_of(out[1]) == "model/Layer 2/Neuron 2"
    # Neuron by neuron (activations differ): the same scopes.
    layer = nn.Layer(2, 2, scope="mixed")
    layer.neurons[1].activation = "tanh"
    out = layer([Value(0.5), Value(0.25)])
    assert [scope_of(o) for o in out] == ["mixed/Neuron 1", "mixed/Neuron 2"]
    assert scope_of(nn.Neuron(2)([1.0, 2.0])) == "Neuron"
    with pytest.raises(ValueError, match="non-empty"):
        nn.Layer(2, 2, scope="")


def test_group_draws_each_scope_as_a_nested_cluster():
    random.seed(4)
    model = nn.MLP(2, [2, 1])
    with scope("loss"):
        loss = (model([1.0, 2.0]) - 1) ** 2
    source = pygrad.draw_dot(loss, group=True, max_nodes=None).source
    # Each cluster's label and depth (graphviz indents a nested one a tab more).
    clusters = re.findall(r'^(\t+)color=grey40 label="?([^"\n]+?)"? style=rounded', source, re.M)
    depths = sorted((len(tabs) - 1, label) for tabs, label in clusters)
    # The computation inside "loss"; the parameters where the model made them.
    assert depths == sorted([(1, "loss"), (2, "Layer 1"), (3, "Neuron 1"), (3, "Neuron 2"),
                             (2, "Layer 2"), (3, "Neuron 1"),
                             (1, "Layer 1"), (2, "Neuron 1"), (2, "Neuron 2"),
                             (1, "Layer 2"), (2, "Neuron 1")])
    # Every node of the graph is drawn once, inside or outside the clusters.
    assert len(re.findall(r"^\s*v\d+ \[", source, re.M)) == pygrad.graph(loss)["total"]
    flat = pygrad.draw_dot(loss, max_nodes=None).source
    assert "cluster" not in flat


def test_collapse_draws_each_innermost_scope_as_one_box():
    random.seed(5)
    model = nn.MLP(2, [2, 1])
    x = [Value(1.0), Value(2.0)]
    loss = (model(x) - 1) ** 2
    source = pygrad.draw_dot(loss, collapse=True).source
    boxes = dict(re.findall(r'(box\d+) \[label="\{ ([^|]+?) \|', source))
    assert sorted(boxes.values()) == ["Layer 1/Neuron 1", "Layer 1/Neuron 2",
                                      "Layer 2/Neuron 1"]
    names = {path: box for box, path in boxes.items()}
    edges = set(re.findall(r"^\s*(\w+) -> (\w+)", source, re.M))
    out_box = names["Layer 2/Neuron 1"]
    # Both inputs feed both hidden neurons; both feed the output neuron, whose
    # result feeds the loss's "-" outside any scope.
    assert {(a, b) for a, b in edges if b == out_box} == {
        (names["Layer 1/Neuron 1"], out_box), (names["Layer 1/Neuron 2"], out_box)}
    ins = {f"v{v._i}" for v in x}
    for hidden in ("Layer 1/Neuron 1", "Layer 1/Neuron 2"):
        assert {a for a, b in edges if b == names[hidden]} == ins
    minus = [b for a, b in edges if a == out_box]
    assert len(minus) == 1 and minus[0].startswith("op")
    with pytest.raises(TypeError, match="collapse must be True or False"):
        pygrad.draw_dot(loss, collapse="yes")
