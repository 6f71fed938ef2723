"""pygrad.nn: shapes, parameter counts, activations, seeding, copies."""
import copy
import math
import pickle
import random

import pytest

from pygrad import Value
from pygrad.nn import MLP, Layer, Module, Neuron
from helpers import live_now


def test_parameter_counts():
    assert len(Neuron(3).parameters()) == 4
    assert len(Layer(3, 4).parameters()) == 16
    assert len(MLP(2, [16, 16, 1]).parameters()) == 337  # micrograd's demo model
    assert len(MLP(3, [4, 4, 1]).parameters()) == 41
    assert Module().parameters() == []


def test_output_shapes():
    random.seed(0)
    out = MLP(3, [4, 4, 1])([1.0, -2.0, 0.5])
    assert isinstance(out, Value)
    outs = MLP(3, [4, 2])([1.0, -2.0, 0.5])
    assert isinstance(outs, list) and len(outs) == 2 and all(isinstance(o, Value) for o in outs)
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)
    assert len(Layer(2, 3)([1.0, 2.0])) == 3
    narrow = MLP(2, [1, 3])([0.5, 0.5])  # a one-wide hidden layer feeds the next
    assert len(narrow) == 3


def test_neuron_computes_its_formula():
    random.seed(3)
    n = Neuron(2, activation="tanh")
    x = [0.3, -1.2]
    w = [p.data for p in n.w]
    n.b.data = 0.25
    assert math.isclose(n(x).data, math.tanh(w[0] * x[0] + w[1] * x[1] + 0.25), rel_tol=1e-12)
    linear = Neuron(2, nonlin=False)
    lw = [p.data for p in linear.w]
    assert linear(x).data == pytest.approx(lw[0] * x[0] + lw[1] * x[1], rel=1e-12)
    relu = Neuron(2)
    assert relu(x).data >= 0.0


def test_activation_choice():
    for name, op in (("relu", "ReLU"), ("tanh", "tanh"), ("sigmoid", "sigmoid")):
        assert Neuron(2, activation=name)([1.0, 2.0]).op == op
        hidden = MLP(2, [3, 1], activation=name).layers[0]([1.0, 2.0])
        assert {h.op for h in hidden} == {op}
    assert MLP(2, [3, 1])([1.0, 2.0]).op == "dot"  # the last layer is linear
    assert repr(MLP(2, [2, 1], activation="tanh")) == \
        "MLP of [Layer of [TanhNeuron(2), TanhNeuron(2)], Layer of [LinearNeuron(2)]]"


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        Neuron(2, activation="gelu")
    with pytest.raises(ValueError, match="nin must be a positive int"):
        Neuron(0)
    with pytest.raises(ValueError, match="nout must be a positive int"):
        Layer(2, 0)
    with pytest.raises(ValueError, match="the neuron takes 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])


def test_seeding_makes_models_repeatable():
    random.seed(42)
    a = [p.data for p in MLP(2, [4, 1]).parameters()]
    random.seed(42)
    b = [p.data for p in MLP(2, [4, 1]).parameters()]
    assert a == b and len(set(a)) > 1
    assert all(-1 <= w <= 1 for w in a)


def test_zero_grad():
    model = MLP(2, [3, 1])
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


@pytest.mark.parametrize("clone", [lambda m: pickle.loads(pickle.dumps(m)), copy.deepcopy],
                         ids=["pickle", "deepcopy"])
def test_copies_are_independent_with_the_same_parameters(clone, live):
    random.seed(7)
    model = MLP(2, [4, 4, 1], activation="tanh")
    twin = clone(model)
    assert [p.data for p in twin.parameters()] == [p.data for p in model.parameters()]
    assert all(p != q for p, q in zip(twin.parameters(), model.parameters()))
    x = [0.3, -0.7]
    assert twin(x).data == model(x).data
    twin.parameters()[0].data += 1.0
    assert twin(x).data != model(x).data
    assert model.parameters()[0].data != twin.parameters()[0].data
    del model, twin
    assert live_now() == live
