"""pygrad against the pure-Python reference engine (benchmarks/reference.py),
on random expressions built from every operation."""
import math
import os
import sys

from hypothesis import given, settings, strategies as st

import pygrad

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "benchmarks"))
import reference  # noqa: E402


def _safe(v):
    """abs(v) + 0.5: a positive operand for log, sqrt, division and powers."""
    return abs(v) + 0.5


# Each op takes the two operands a program picks; operands of log, sqrt, / and
# ** are kept in the domain where Python's floats do not raise.
OPS = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / _safe(b),
    "pow": lambda a, b: _safe(a) ** b.tanh(),
    "square": lambda a, b: a ** 2,
    "cube": lambda a, b: a ** 3,
    "inverse": lambda a, b: _safe(a) ** -1,
    "root": lambda a, b: _safe(a) ** 0.5,
    "neg": lambda a, b: -a,
    "relu": lambda a, b: a.relu(),
    "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "exp": lambda a, b: (a.tanh() * 2).exp(),
    "log": lambda a, b: _safe(a).log(),
    "sqrt": lambda a, b: _safe(a).sqrt(),
    "abs": lambda a, b: a.abs(),
    "sin": lambda a, b: a.sin(),
    "cos": lambda a, b: a.cos(),
    "radd": lambda a, b: 1.5 + a,
    "rsub": lambda a, b: 2 - a,
    "rmul": lambda a, b: -3 * a,
    "rdiv": lambda a, b: 1 / _safe(a),
    "rpow": lambda a, b: 2 ** a.tanh(),
    "shared": lambda a, b: a * a + a,
}

leaf_values = st.floats(-2.0, 2.0, allow_nan=False).filter(lambda x: abs(x) > 1e-3)
programs = st.tuples(
    st.lists(leaf_values, min_size=1, max_size=4),
    st.lists(st.tuples(st.sampled_from(sorted(OPS)), st.integers(0, 10**6), st.integers(0, 10**6)),
             min_size=1, max_size=14),
    st.floats(-2.0, 2.0, allow_nan=False),
)


def run(Value, leaves, steps, seed):
    """Builds the program's graph, backpropagates from the sum of its last two
    registers, and returns every register's data and grad."""
    regs = [Value(x) for x in leaves]
    for name, i, j in steps:
        regs.append(OPS[name](regs[i % len(regs)], regs[j % len(regs)]))
    root = regs[-1] + regs[-2] if len(regs) > 1 else regs[-1] * 1.0
    root.backward(seed)
    return [(r.data, r.grad) for r in regs]


def agree(x, y):
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=300, deadline=None)
@given(programs)
def test_pygrad_agrees_with_the_reference(program):
    leaves, steps, seed = program
    ours = run(pygrad.Value, leaves, steps, seed)
    theirs = run(reference.Value, leaves, steps, seed)
    for k, ((d1, g1), (d2, g2)) in enumerate(zip(ours, theirs)):
        assert agree(d1, d2), (k, d1, d2)
        assert agree(g1, g2), (k, g1, g2)


def test_reference_is_itself_right_on_the_worked_example():
    a, b, c, f = (reference.Value(x) for x in (2.0, -3.0, 10.0, -2.0))
    L = (a * b + c) * f
    L.backward()
    assert (L.data, a.grad, b.grad, c.grad, f.grad) == (-8.0, 6.0, -4.0, -2.0, 4.0)
    L.backward()
    assert a.grad == 12.0  # leaves accumulate, as in pygrad
