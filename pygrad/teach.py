"""Tools for learning backprop: explain() shows the chain rule a backward pass
applied on the learner's own graph, one contribution at a time, and
check_manual() checks gradients worked out by hand. Both read each node's
local derivatives from the core's rules (pg_local_grads), the same rules
backward() applies."""
from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional, Tuple

from ._c import check, ffi, lib
from .autograd import grad
from .export import _nodes, node_names
from .value import Value, _handle, op_name

__all__ = ["explain", "check_manual", "worked_example", "Explanation", "ManualCheck"]


def worked_example(a: float = 2.0, b: float = -3.0, c: float = 10.0,
                   f: float = -2.0) -> Tuple[Value, ...]:
    """The backprop tutorials' worked example, every value labelled:
    e = a * b, d = e + c, L = d * f. Returns (a, b, c, f, e, d, L)."""
    va, vb, vc, vf = Value(a, "a"), Value(b, "b"), Value(c, "c"), Value(f, "f")
    e = va * vb
    e.label = "e"
    d = e + vc
    d.label = "d"
    L = d * vf
    L.label = "L"
    return va, vb, vc, vf, e, d, L


def _num(x: float) -> str:
    """A number as the tutorials write it: 6, -2, 0.5, 0.7071."""
    return f"{x:.6g}"


def _what(op: str, j: int, count: int, x: List[str], out: str) -> str:
    """What node out's local derivative with respect to its operand j is, in
    the operands' names x: `b` for d(a*b)/da."""
    if op in ("+", "sum"):
        return "1"
    if op == "-":
        return "1" if j == 0 else "-1"
    if op == "*":
        return x[1 - j]
    if op == "dot":
        return "1" if count % 2 and j == count - 1 else x[j ^ 1]
    if op.startswith("**") and op != "**":
        k = op[2:]
        return f"{k} * {x[0]}**({k} - 1)"
    table = {
        "/": (f"1/{x[-1]}", f"-{out}/{x[-1]}"),
        "**": (f"{x[-1]} * {x[0]}**({x[-1]} - 1)", f"{out} * log({x[0]})"),
        "neg": ("-1",), "ReLU": (f"1 if {out} > 0 else 0",),
        "tanh": (f"1 - {out}**2",), "sigmoid": (f"{out} * (1 - {out})",),
        "exp": (out,), "log": (f"1/{x[0]}",), "sqrt": (f"1/(2 * {out})",),
        "abs": (f"sign({x[0]})",), "sin": (f"cos({x[0]})",), "cos": (f"-sin({x[0]})",),
        "mask": ("0", f"1 if {x[0]} > 0 else 0"), "sign": ("0",),
        "tanh_backward": (f"1 - {x[-1]}**2", f"-2 * {x[0]} * {x[-1]}"),
        "sigmoid_backward": (f"{x[-1]} * (1 - {x[-1]})", f"{x[0]} * (1 - 2 * {x[-1]})"),
        "logsumexp": (f"exp({x[min(j, len(x) - 1)]} - {out})",) * max(count, 1),
    }
    return table[op][j]


def _locals(i: int, count: int) -> List[float]:
    out = ffi.new("double[]", max(count, 1))
    check(lib.pg_local_grads(i, out, count))
    return [out[j] for j in range(count)]


class Explanation:
    """What explain() returns: .steps (one dict per contribution), str() in
    the tutorials' notation, .to_json()."""

    def __init__(self, root: str, steps: List[Dict[str, Any]], lines: List[str],
                 sums: List[str], left_out: int) -> None:
        self.root = root
        self.steps = steps
        self.left_out = left_out
        self._lines = lines
        self._sums = sums

    def __str__(self) -> str:
        text = list(self._lines)
        if self._sums:
            text.append("")
            text.extend(self._sums)
        if self.left_out:
            text.append(f"... and {self.left_out:,} more steps not shown "
                        f"(explain(root, max_steps=...) shows more)")
        return "\n".join(text)

    def __repr__(self) -> str:
        return f"<Explanation of d{self.root}: {len(self.steps)} steps>"

    def to_json(self) -> str:
        """The steps as a JSON string (non-finite numbers as strings)."""
        def fix(x: Any) -> Any:
            return x if not isinstance(x, float) or math.isfinite(x) else str(x)
        return json.dumps([{k: fix(v) for k, v in s.items()} for s in self.steps])


def explain(root: Value, max_steps: int = 1000) -> Explanation:
    """Runs root.backward() and explains it: each contribution the engine
    passed from a node to an operand, in the order it applied them (a node's
    operands in their order), as upstream gradient times local derivative.
    Names are labels where given, else the names draw_dot shows."""
    if not isinstance(root, Value):
        raise TypeError(f"explain() root must be a Value, not {type(root).__name__}")
    if type(max_steps) is not int or max_steps < 1:
        raise ValueError(f"explain() max_steps must be a positive int, not {max_steps!r}")
    root.backward()
    nodes, _ = _nodes(root, None)
    names = node_names(nodes)
    r = names[root._i]
    steps: List[Dict[str, Any]] = []
    lines: List[str] = []
    received: Dict[int, List[float]] = {}
    left_out = 0
    for i, operands in nodes:
        if not operands:
            continue
        if len(steps) >= max_steps:
            left_out += len(operands)
            continue
        upstream = lib.pg_grad(i)
        local = _locals(i, len(operands))
        op, xs = op_name(i), [names[p] for p in operands]
        for j, p in enumerate(operands):
            if len(steps) >= max_steps:
                left_out += len(operands) - j
                break
            contribution = upstream * local[j]
            steps.append({"node": names[i], "operand": names[p], "local": local[j],
                          "upstream": upstream, "contribution": contribution})
            received.setdefault(p, []).append(contribution)
            n, o = names[i], names[p]
            head = f"d{r}/d{o} = d{r}/d{n} * d{n}/d{o}"
            lines.append(f"{head} = {_num(upstream)} * {_num(local[j])} = "
                         f"{_num(contribution)}    (d{n}/d{o} = {_what(op, j, len(operands), xs, n)})")
    sums = []
    for p, parts in received.items():
        if len(parts) > 1:
            total = 0.0
            for c in parts:  # added in the engine's order
                total += c
            terms = " + ".join(_num(c) for c in parts)
            sums.append(f"{names[p]} is used {len(parts)} times: d{r}/d{names[p]} = "
                        f"{terms} = {_num(total)}")
    return Explanation(r, steps, lines, sums, left_out)


class ManualCheck:
    """What check_manual() returns: .ok, .rows (dicts with name, yours,
    expected, ok) and a table as str()."""

    def __init__(self, rows: List[Dict[str, Any]], by_node: Dict[int, bool]) -> None:
        self.rows = rows
        self.ok = all(row["ok"] for row in rows)
        self._by_node = by_node

    def right(self, i: int) -> Optional[bool]:
        """Whether node index i's gradient was right; None if not checked."""
        return self._by_node.get(i)

    def __str__(self) -> str:
        width = max([len(row["name"]) for row in self.rows] + [4])
        lines = [f"{'node':<{width}}  {'yours':>12}  {'expected':>12}  ",
                 "-" * (width + 32)]
        for row in self.rows:
            mark = "ok" if row["ok"] else "WRONG"
            lines.append(f"{row['name']:<{width}}  {_num(row['yours']):>12}  "
                         f"{_num(row['expected']):>12}  {mark}")
        wrong = sum(not row["ok"] for row in self.rows)
        lines.append("all right" if not wrong else f"{wrong} of {len(self.rows)} wrong")
        return "\n".join(lines)


def _agree(yours: float, expected: float, rtol: float) -> bool:
    if math.isnan(yours) or math.isnan(expected):
        return math.isnan(yours) and math.isnan(expected)
    return yours == expected or abs(yours - expected) <= rtol * max(abs(yours), abs(expected))


def check_manual(root: Value, rtol: float = 1e-6) -> ManualCheck:
    """Checks the .grad a learner set by hand on every node under root
    (root included, whose should be 1) against the true d root / d node,
    computed without changing any data or grad."""
    if not isinstance(root, Value):
        raise TypeError(f"check_manual() root must be a Value, not {type(root).__name__}")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not rtol >= 0:
        raise ValueError(f"check_manual() rtol must be a number >= 0, not {rtol!r}")
    nodes, _ = _nodes(root, None)
    names = node_names(nodes)
    handles = [_handle(i) for i, _ in nodes]
    expected = grad(root, handles, allow_unused=True)
    rows, by_node = [], {}
    for (i, _), e in zip(nodes, expected):
        want = e.data if e is not None else 0.0
        yours = lib.pg_grad(i)
        ok = _agree(yours, want, rtol)
        rows.append({"name": names[i], "yours": yours, "expected": want, "ok": ok})
        by_node[i] = ok
    return ManualCheck(rows, by_node)
