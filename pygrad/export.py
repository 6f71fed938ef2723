"""Graph export: a graphviz drawing of the graph under a value, and the same
graph as plain data. Both walk the C core's topological order, fetched in one
call, so a graph of any depth exports without recursion; with max_nodes they
fetch only the nodes nearest the root, with work in proportion to max_nodes."""
from __future__ import annotations

import math
import os
import shutil
from typing import Any, Dict, List, Optional, Tuple, Union

import graphviz

from ._c import ffi, lib, check
from .scopes import path_of
from .value import Value, op_name, operand_indices as _operands, stats

__all__ = ["draw_dot", "graph", "render"]

DOT_MISSING = ("rendering needs Graphviz's `dot` program, which is not on PATH: install "
               "it with `apt-get install graphviz` (Debian, Ubuntu), `brew install "
               "graphviz` (macOS) or `conda install graphviz`")


# What graph() returns for one node: its id, label, op, data, grad, scope and children.
Node = Dict[str, Any]


def _nodes(root: Value, max_nodes: Optional[int]) -> Tuple[List[Tuple[int, List[int]]], bool]:
    """The nodes under root, nearest first: a list of (index, operand indices)
    of at most max_nodes entries, and whether nodes were left out. The core
    lists root and the non-leaf nodes; each leaf comes right after the first
    node that names it."""
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, not {type(root).__name__}")
    if max_nodes is not None and (type(max_nodes) is not int or max_nodes < 1):
        raise ValueError(f"max_nodes must be a positive int or None, not {max_nodes!r}")
    if max_nodes is None:
        out = ffi.new("const uint32_t **")
        listed = check(lib.pg_order(root._i, out))  # kept with root, within a budget
        order, more = out[0], False
        bound: float = math.inf
    else:
        bound = max_nodes
        # No listing is longer than the arena's live nodes: the buffer is never larger.
        order = ffi.new("uint32_t[]", min(max_nodes, stats()["live_nodes"]))
        more_flag = ffi.new("int *")
        listed = check(lib.pg_nearest(root._i, order, len(order), more_flag))
        more = bool(more_flag[0])
    nodes: List[Tuple[int, List[int]]] = []
    seen = set()
    k = 0
    while k < listed and len(nodes) < bound:
        i = order[k]
        k += 1
        operands = _operands(i)
        nodes.append((i, operands))
        seen.add(i)
        for p in operands:
            if p not in seen and lib.pg_op(p) == lib.PG_LEAF:
                if len(nodes) == bound:
                    more = True
                    break
                nodes.append((p, []))
                seen.add(p)
    return nodes, more or k < listed


def node_names(nodes: List[Tuple[int, List[int]]]) -> Dict[int, str]:
    """A name for each node of a _nodes() listing: its label, else n0, n1, ...
    by its place in the listing (root first). A bounded listing is the start
    of the whole one, so draw_dot and the teaching tools agree on names."""
    return {i: _label(i) or f"n{k}" for k, (i, _) in enumerate(nodes)}


def _number(x: float) -> Union[float, str]:
    """x for JSON: finite floats as they are, the others as the strings
    "NaN", "Infinity" and "-Infinity" (what JavaScript's Number() reads)."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def _label(i: int) -> str:
    p = lib.pg_label(i)
    return "" if p == ffi.NULL else ffi.string(p).decode()


def graph(root: Value, max_nodes: Optional[int] = None) -> Dict[str, Any]:
    """The graph under root as JSON-ready data.

    Returns {"nodes": [...], "edges": [...], "total": N, "truncated": bool}.
    Each node is {"id", "label", "op", "data", "grad", "scope", "children"}:
    ids count from 0 in topological order (operands before results, root
    last), "scope" is the pygrad.scope path the node was made in ("" for
    none), and "children" lists the operands' ids in order. Each edge is [operand id,
    result id]. Non-finite data and grads are the strings "NaN", "Infinity"
    and "-Infinity", so the result passes json.dumps(allow_nan=False). With
    max_nodes, only the max_nodes nodes nearest the root are listed, links to
    the others are left out, and when that leaves nodes out "truncated" is
    True and "total" is None (counting them would walk the whole graph)."""
    nodes, truncated = _nodes(root, max_nodes)
    # Topological order: leaves first, then the rest reversed (operands first).
    nodes = [n for n in nodes if not n[1]] + [n for n in reversed(nodes) if n[1]]
    ids = {i: n for n, (i, _) in enumerate(nodes)}
    out: List[Node] = []
    edges: List[List[int]] = []
    for n, (i, operands) in enumerate(nodes):
        children = [ids[p] for p in operands if p in ids]
        edges.extend([c, n] for c in children)
        out.append({"id": n, "label": _label(i), "op": op_name(i),
                    "data": _number(lib.pg_data(i)), "grad": _number(lib.pg_grad(i)),
                    "scope": path_of(i), "children": children})
    return {"nodes": out, "edges": edges, "total": None if truncated else len(out),
            "truncated": truncated}


def _record(text: str) -> str:
    """Text safe inside a graphviz record label."""
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def draw_dot(root: Value, format: str = "svg", rankdir: str = "LR",
             max_nodes: Optional[int] = 500, check: Any = None, group: bool = False,
             collapse: bool = False) -> graphviz.Digraph:
    """A graphviz.Digraph of the graph under root, as micrograd draws it.

    One record per value showing `label | data | grad` (4 decimals), one
    small circle per operation, an edge from each operand to its operation
    and from the operation to its result. rankdir is "LR" or "TB"; format is
    any Graphviz output format. Past max_nodes values (None: no bound), the
    nodes nearest the root are drawn and the drawing says that more are not.
    A value with no label shows the name pygrad.explain gives it. With check
    (a pygrad.check_manual report), right gradients are green, wrong red.
    With group, each pygrad.scope is a box around its nodes, nested as the
    scopes are; with collapse, the nodes of each innermost scope are drawn
    as one box, with an edge from each value that feeds it and to each that
    it feeds."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    if format not in graphviz.FORMATS:
        raise ValueError(f"format {format!r} is not a Graphviz output format")
    for name, flag in (("group", group), ("collapse", collapse)):
        if type(flag) is not bool:
            raise TypeError(f"{name} must be True or False, not {type(flag).__name__}")
    nodes, truncated = _nodes(root, max_nodes)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    drawn = {i for i, _ in nodes}
    names = node_names(nodes)
    scopes = {i: path_of(i) for i, _ in nodes} if group or collapse else {}
    # What is drawn where: the graphviz nodes of each scope path ("" outside all).
    placed: Dict[str, List[Tuple[str, str, Dict[str, str]]]] = {}
    boxes: Dict[str, List[int]] = {}  # collapse: scope path -> its values
    box_ids: Dict[str, str] = {"": ""}  # scope path -> its box's graphviz name
    edges = set()

    def box_of(i: int) -> str:
        path = scopes.get(i, "") if collapse else ""
        if path not in box_ids:
            box_ids[path] = f"box{len(box_ids)}"
        return box_ids[path]

    for i, operands in nodes:
        box = box_of(i)
        if box:
            boxes.setdefault(scopes[i], []).append(i)
        else:
            text = f"{{ {_record(names[i])} | data {lib.pg_data(i):.4f} | grad {lib.pg_grad(i):.4f} }}"
            right = None if check is None else check.right(i)
            attrs = {"shape": "record"} if right is None else {
                "shape": "record", "style": "filled",
                "fillcolor": "palegreen" if right else "salmon"}
            where = placed.setdefault(scopes.get(i, ""), [])
            where.append((f"v{i}", text, attrs))
            if operands:
                where.append((f"op{i}", op_name(i), {"shape": "circle", "fontsize": "10",
                                                     "margin": "0.02"}))
                edges.add((f"op{i}", f"v{i}", ""))
        into = box or f"op{i}"
        for p in operands:
            if p not in drawn:
                edges.add(("more", into, "dashed"))
            elif box_of(p) != box or not box:
                edges.add((box_of(p) or f"v{p}", into, ""))
    for path, members in boxes.items():
        label = f"{{ {_record(path)} | {len(members)} value{'s' if len(members) > 1 else ''} }}"
        placed.setdefault(path, []).append((box_ids[path], label, {
            "shape": "record", "style": "filled", "fillcolor": "lightgrey"}))
    _place(dot, placed, group)
    for a, b, style in sorted(edges):
        dot.edge(a, b, **({"style": style} if style else {}))
    if truncated:
        dot.node("more", "more values not drawn", shape="note", style="dashed")
        dot.attr(label=f"showing the {len(nodes):,} values nearest the root; "
                       f"draw_dot(max_nodes=None) draws all", labelloc="t")
    return dot


def _place(dot: graphviz.Digraph, placed: Dict[str, List[Tuple[str, str, Dict[str, str]]]],
           group: bool) -> None:
    """Adds the nodes of each scope path to dot: with group, inside a cluster
    per scope, nested as the paths are; else all at the top."""
    if not group:
        for members in placed.values():
            for name, label, attrs in members:
                dot.node(name, label, **attrs)
        return
    inside: Dict[str, List[str]] = {}  # path -> the paths one level inside it, in order
    for path in list(placed):
        while path:
            parent = path.rpartition("/")[0]
            if path in inside.setdefault(parent, []):
                break
            inside[parent].append(path)
            path = parent
    clusters = iter(range(len(placed) + sum(map(len, inside.values())) + 1))

    def fill(g: graphviz.Digraph, path: str) -> None:
        for name, label, attrs in placed.get(path, []):
            g.node(name, label, **attrs)
        for sub in inside.get(path, []):
            if sub not in inside and len(placed.get(sub, ())) == 1:  # a collapsed scope's box
                fill(g, sub)
                continue
            with g.subgraph(name=f"cluster_{next(clusters)}") as c:
                c.attr(label=sub.rpartition("/")[2], style="rounded", color="grey40")
                fill(c, sub)

    fill(dot, "")


def render(root: Value, path: Union[str, os.PathLike[str]], format: Optional[str] = None,
           **options: Any) -> Union[str, os.PathLike[str]]:
    """Draws the graph under root into the file path (a str or os.PathLike)
    and returns path. The format is path's suffix ("graph.svg", "graph.png"),
    or format when given; a path with neither a Graphviz format for a suffix
    nor a format is refused."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(f"path must name a file with a str, not {type(name).__name__}")
    if not name or "\0" in name:
        raise ValueError(f"path {name!r} is not a file name")
    if format is None:
        format = os.path.splitext(name)[1][1:].lower()
        if format not in graphviz.FORMATS:
            raise ValueError(f"cannot tell the format from {name!r}: give the path a "
                             f"Graphviz format as its suffix (.svg, .png, .pdf) or pass format=")
    dot = draw_dot(root, format=format, **options)  # checks format
    if shutil.which("dot") is None:
        raise RuntimeError(DOT_MISSING)
    # dot reads the graph from a pipe and writes to one: no path is ever on
    # its command line, where one starting with "-" would read as an option.
    drawing = dot.pipe(format=format)
    with open(name, "wb") as f:
        f.write(drawing)
    return path
