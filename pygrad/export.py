"""Graph export: a graphviz drawing of the graph under a value, and the same
graph as plain data. Both walk the C core's topological order, fetched in one
call, so a graph of any depth exports without recursion."""
import os
import shutil

import graphviz

from ._c import ffi, lib, check
from .value import Value, op_name

__all__ = ["draw_dot", "graph", "render"]

DOT_MISSING = ("rendering needs Graphviz's `dot` program, which is not on PATH: install "
               "it with `apt-get install graphviz` (Debian, Ubuntu), `brew install "
               "graphviz` (macOS) or `conda install graphviz`")


def _operands(i):
    out = []
    for which in (0, 1):
        p = lib.pg_parent(i, which)
        if p < 0:
            break
        out.append(p)
    return out


def _nodes(root, max_nodes):
    """The nodes under root, nearest first: a list of (index, operand indices)
    of at most max_nodes entries, and the total number of nodes. The core's
    order lists root and the non-leaf nodes; each leaf comes right after the
    first node that names it."""
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, not {type(root).__name__}")
    if max_nodes is not None and (type(max_nodes) is not int or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None, not {max_nodes!r}")
    out = ffi.new("const uint32_t **")
    listed = check(lib.pg_order(root._i, out))  # kept with root while it lives
    order = out[0]
    bound = max_nodes if max_nodes is not None else float("inf")
    nodes, seen = [], set()
    k = 0
    while k < listed and len(nodes) < bound:
        i = order[k]
        k += 1
        operands = _operands(i)
        nodes.append((i, operands))
        seen.add(i)
        for p in operands:
            if p not in seen and lib.pg_op(p) == lib.PG_LEAF and len(nodes) < bound:
                nodes.append((p, []))
                seen.add(p)
    if k == listed and len(nodes) < bound:
        return nodes, len(nodes)
    # Cut short: count what was left out, leaves included.
    leaves = {p for j in range(listed) for p in _operands(order[j])
              if lib.pg_op(p) == lib.PG_LEAF}
    return nodes, listed + len(leaves)


def _label(i):
    p = lib.pg_label(i)
    return "" if p == ffi.NULL else ffi.string(p).decode()


def graph(root, max_nodes=None):
    """The graph under root as JSON-ready data.

    Returns {"nodes": [...], "edges": [...], "total": N, "truncated": bool}.
    Each node is {"id", "label", "op", "data", "grad", "children"}: ids count
    from 0 in topological order (operands before results, root last), and
    "children" lists the operands' ids in order. Each edge is [operand id,
    result id]. With max_nodes, only the max_nodes nodes nearest the root are
    listed, and links to the others are left out."""
    nodes, total = _nodes(root, max_nodes)
    # Topological order: leaves first, then the rest reversed (operands first).
    nodes = [n for n in nodes if not n[1]] + [n for n in reversed(nodes) if n[1]]
    ids = {i: n for n, (i, _) in enumerate(nodes)}
    out, edges = [], []
    for n, (i, operands) in enumerate(nodes):
        children = [ids[p] for p in operands if p in ids]
        edges.extend([c, n] for c in children)
        out.append({"id": n, "label": _label(i), "op": op_name(i),
                    "data": lib.pg_data(i), "grad": lib.pg_grad(i), "children": children})
    return {"nodes": out, "edges": edges, "total": total, "truncated": len(out) < total}


def _record(text):
    """Text safe inside a graphviz record label."""
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def draw_dot(root, format="svg", rankdir="LR", max_nodes=500):
    """A graphviz.Digraph of the graph under root, as micrograd draws it.

    One record per value showing `label | data | grad` (4 decimals), one
    small circle per operation, an edge from each operand to its operation
    and from the operation to its result. rankdir is "LR" or "TB"; format is
    any Graphviz output format. Past max_nodes values (None: no bound), the
    nodes nearest the root are drawn and the drawing says how many are not."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    if format not in graphviz.FORMATS:
        raise ValueError(f"format {format!r} is not a Graphviz output format")
    nodes, total = _nodes(root, max_nodes)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    drawn = {i for i, _ in nodes}
    for i, operands in nodes:
        text = f"{{ {_record(_label(i))} | data {lib.pg_data(i):.4f} | grad {lib.pg_grad(i):.4f} }}"
        dot.node(f"v{i}", text, shape="record")
        if not operands:
            continue
        dot.node(f"op{i}", op_name(i), shape="circle", fontsize="10", margin="0.02")
        dot.edge(f"op{i}", f"v{i}")
        for p in operands:
            if p in drawn:
                dot.edge(f"v{p}", f"op{i}")
            else:
                dot.edge("more", f"op{i}", style="dashed")
    if total > len(nodes):
        dot.node("more", f"{total - len(nodes):,} more values not drawn", shape="note",
                 style="dashed")
        dot.attr(label=f"showing the {len(nodes):,} values nearest the root of {total:,}; "
                       f"draw_dot(max_nodes=None) draws all", labelloc="t")
    return dot


def render(root, path, format=None, **options):
    """Draws the graph under root into the file path and returns path. The
    format defaults to path's suffix ("graph.svg", "graph.png")."""
    if shutil.which("dot") is None:
        raise RuntimeError(DOT_MISSING)
    if format is None:
        format = os.path.splitext(str(path))[1][1:].lower() or "svg"
    dot = draw_dot(root, format=format, **options)
    dot.render(outfile=str(path), format=format, cleanup=True)
    return path
