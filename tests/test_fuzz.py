"""Fuzzing the public API: random sequences of operations (n-ary ones
included), handles, deletions,
garbage collections, data changes, backward() and forward(), checked after
every step against a model whose numbers come from the pure-Python reference
engine, and against the live-node count the model predicts.

CI runs a short version; PYGRAD_FUZZ_EXAMPLES=5000 runs a long one by hand.
"""
import gc
import math
import os
import sys

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pygrad
from pygrad import Value

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import reference  # noqa: E402

UNARY = ["neg", "relu", "tanh", "sigmoid", "exp", "log", "sqrt", "abs", "sin", "cos"]
BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}
# Leaf data of ordinary size: with leaves like 1e-115, gradients of 1e114
# cancel, and any two summation orders disagree in every digit.
numbers = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False).filter(
    lambda x: x == 0 or abs(x) >= 1e-3)
constants = st.sampled_from([0.0, -1.0, 0.5, 2.0, 3.0, -2.5])


NARY = ["sum", "dot", "logsumexp"]


def reference_nary(op, vs, out=None):
    """An n-ary op written with the reference engine's binary ops, in the
    order pygrad adds terms: left to right, dot's from its bias (the last
    operand when their number is odd). out: the value logsumexp's node holds,
    from which its gradient is taken, where that is not what its operands
    give now (data set and not yet replayed)."""
    if op == "sum":
        terms = vs
    elif op == "dot":
        pairs = [vs[j] * vs[j + 1] for j in range(0, len(vs) - 1, 2)]
        terms = ([vs[-1]] if len(vs) % 2 else []) + pairs
    else:  # logsumexp: pygrad's value, and its gradient g * exp(v - out) as
        # the coefficients of a linear combination (edge values included)
        data = [v.data for v in vs]
        m = max(data)
        if out is not None:
            pass
        elif any(math.isnan(x) for x in data):
            out = math.nan
        elif math.isinf(m):
            out = m
        else:
            out = m + math.log(sum(math.exp(x - m) for x in data))
        acc = reference_nary("sum", [v * safe_exp(x - out) for v, x in zip(vs, data)])
        acc.data = out
        return acc
    acc = terms[0] * 1.0  # a node of its own, even for one term, exactly its value
    for t in terms[1:]:
        acc = acc + t
    return acc


def safe_exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def apply(op, operands, k):
    """op on Values of either engine, as a single node."""
    if op in NARY:
        if isinstance(operands[0], Value):
            if op == "dot":
                n = len(operands) // 2
                bias = operands[-1] if len(operands) % 2 else None
                return pygrad.dot(operands[0:2 * n:2], operands[1:2 * n:2], bias)
            return getattr(pygrad, op)(operands)
        return reference_nary(op, operands)
    if op in BINARY:
        return BINARY[op](*operands)
    if op == "powk":
        return operands[0] ** k
    if op == "neg":
        return -operands[0]
    return getattr(operands[0], op)()


def same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-7)


class Node:
    """The model of one arena node."""

    def __init__(self, op, args, k, data, hidden):
        self.op, self.args, self.k, self.data, self.grad = op, args, k, data, 0.0
        self.hidden = hidden  # nodes it holds but does not show: x ** k's leaf k


class Engine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        gc.collect()
        self.base = pygrad.stats()["live_nodes"]
        self.nodes = []   # the model, by model id; operands have smaller ids
        self.pool = []    # (model id, Value) for every handle the test holds

    # ---- the model

    def new(self, op, args, k=0.0, hidden=()):
        if op == "leaf":
            data = k
        else:
            data = apply(op, [reference.Value(self.nodes[a].data) for a in args], k).data
        self.nodes.append(Node(op, args, k, data, hidden))
        return len(self.nodes) - 1

    def under(self, roots):
        seen, stack = set(), list(roots)
        while stack:
            m = stack.pop()
            if m not in seen:
                seen.add(m)
                stack.extend(self.nodes[m].args)
                stack.extend(self.nodes[m].hidden)
        return seen

    def pick(self, i):
        return self.pool[i % len(self.pool)]

    # ---- rules

    @rule(x=numbers)
    def leaf(self, x):
        self.pool.append((self.new("leaf", [], x), Value(x)))

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(UNARY), i=st.integers(0, 999))
    def unary(self, op, i):
        m, v = self.pick(i)
        self.pool.append((self.new(op, [m]), apply(op, [v], 0.0)))

    @precondition(lambda self: self.pool)
    @rule(k=constants, i=st.integers(0, 999))
    def power(self, k, i):
        m, v = self.pick(i)
        exponent = self.new("leaf", [], k)
        self.pool.append((self.new("powk", [m], k, hidden=[exponent]), v ** k))

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(sorted(BINARY)), i=st.integers(0, 999), j=st.integers(0, 999))
    def binary(self, op, i, j):
        (m, v), (n, w) = self.pick(i), self.pick(j)
        self.pool.append((self.new(op, [m, n]), BINARY[op](v, w)))

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(sorted(BINARY)), i=st.integers(0, 999), k=constants, left=st.booleans())
    def with_constant(self, op, i, k, left):
        m, v = self.pick(i)
        if op == "pow" and not left:  # v ** k keeps k in its node: see power()
            return self.power(k, i)
        c = self.new("leaf", [], k)
        args = [c, m] if left else [m, c]
        self.pool.append((self.new(op, args), BINARY[op](k, v) if left else BINARY[op](v, k)))

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(NARY), picks=st.lists(st.integers(0, 999), min_size=1, max_size=5))
    def nary(self, op, picks):
        chosen = [self.pick(i) for i in picks]
        args = [m for m, _ in chosen]
        self.pool.append((self.new(op, args), apply(op, [v for _, v in chosen], 0.0)))

    @precondition(lambda self: self.pool)
    @rule(i=st.integers(0, 999), which=st.integers(0, 4))
    def child(self, i, which):
        m, v = self.pick(i)
        kids = v.children
        assert len(kids) == len(self.nodes[m].args)
        if kids:
            which %= len(kids)
            self.pool.append((self.nodes[m].args[which], kids[which]))

    @precondition(lambda self: self.pool)
    @rule(i=st.integers(0, 999), collect=st.booleans())
    def drop(self, i, collect):
        del self.pool[i % len(self.pool)]
        if collect:
            gc.collect()

    @precondition(lambda self: self.pool)
    @rule(i=st.integers(0, 999), x=numbers)
    def set_data(self, i, x):
        m, v = self.pick(i)
        if self.nodes[m].op == "leaf":
            v.data = x
            self.nodes[m].data = x

    @precondition(lambda self: self.pool)
    @rule(i=st.integers(0, 999))
    def zero_grad(self, i):
        m, v = self.pick(i)
        v.grad = 0
        self.nodes[m].grad = 0.0

    @precondition(lambda self: self.pool)
    @rule(i=st.integers(0, 999), seed=st.sampled_from([1.0, -0.5, 2.0]))
    def backward(self, i, seed):
        m, v = self.pick(i)
        under = sorted(self.under([m]))
        ref = {}
        for n in under:  # the reference graph, holding what the arena holds
            node = self.nodes[n]
            operands = [ref[a] for a in node.args]
            ref[n] = (reference.Value(node.data) if node.op == "leaf"
                      else reference_nary(node.op, operands, node.data) if node.op in NARY
                      else apply(node.op, operands, node.k))
            ref[n].data = node.data
            if node.op == "leaf":
                ref[n].grad = node.grad  # leaves accumulate into what they hold
        ref[m].backward(seed)
        for n in under:
            self.nodes[n].grad = ref[n].grad
        v.backward(seed)

    @precondition(lambda self: self.pool)
    @rule(i=st.integers(0, 999))
    def forward(self, i):
        m, v = self.pick(i)
        for n in sorted(self.under([m])):
            node = self.nodes[n]
            if node.op != "leaf":
                node.data = apply(node.op, [reference.Value(self.nodes[a].data)
                                            for a in node.args], node.k).data
        assert same(v.forward(), self.nodes[m].data)

    # ---- checks after every step

    @invariant()
    def numbers_agree(self):
        # Built so that a failure's traceback holds no Value: one kept alive
        # there would fail the teardown's count and hide this failure.
        bad = [(self.nodes[m].op, v.data, self.nodes[m].data, v.grad, self.nodes[m].grad)
               for m, v in self.pool
               if not (same(v.data, self.nodes[m].data) and same(v.grad, self.nodes[m].grad))]
        assert not bad, bad

    @invariant()
    def live_nodes_agree(self):
        expected = len(self.under(m for m, _ in self.pool))
        assert pygrad.stats()["live_nodes"] - self.base == expected

    def teardown(self):
        self.pool.clear()
        gc.collect()
        assert pygrad.stats()["live_nodes"] == self.base


Engine.TestCase.settings = settings(
    max_examples=int(os.environ.get("PYGRAD_FUZZ_EXAMPLES", "75")),
    stateful_step_count=40, deadline=None)
TestEngine = Engine.TestCase
