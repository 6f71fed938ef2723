"""Graph export: the graphviz drawing and the plain-data graph."""
import json
import os
import re
import shutil
from xml.etree import ElementTree

import graphviz
import pytest

import pygrad
from pygrad import Value, draw_dot, graph
import helpers

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz's dot is not installed (apt-get install graphviz)")


def worked_example():
    *_, L = helpers.worked_example()
    L.backward()
    return L


def parse(dot):
    """(value records, op nodes, edges) from a Digraph's DOT source."""
    records = re.findall(r'^\s*(v\d+) \[label="([^"]*)" shape=record\]', dot.source, re.M)
    ops = re.findall(r'^\s*(op\d+) \[label="([^"]*)"', dot.source, re.M)
    edges = re.findall(r'^\s*(\w+) -> (\w+)', dot.source, re.M)
    return dict(records), dict(ops), edges


def test_worked_example_drawing():
    L = worked_example()
    dot = draw_dot(L)
    assert isinstance(dot, graphviz.Digraph)
    records, ops, edges = parse(dot)
    assert len(records) == 7 and len(ops) == 3 and len(edges) == 9
    shown = sorted(records.values())
    for label, data, grad in [("a", 2, 6), ("b", -3, -4), ("c", 10, -2), ("f", -2, 4),
                              ("e", -6, -2), ("d", 4, -2), ("L", -8, 1)]:
        assert f"{{ {label} | data {data:.4f} | grad {grad:.4f} }}" in shown
    assert sorted(ops.values()) == ["*", "*", "+"]
    # every edge goes value -> op or op -> value, and each op has one result
    for src, dst in edges:
        assert (src[0], dst[0]) in {("v", "o"), ("o", "v")}
    assert sorted(src for src, _ in edges if src.startswith("op")) == sorted(ops)
    assert "rankdir=LR" in dot.source


def test_method_and_function_agree():
    L = worked_example()
    assert L.draw_dot(rankdir="TB").source == draw_dot(L, rankdir="TB").source


def test_rankdir_and_format_are_honoured():
    L = worked_example()
    dot = draw_dot(L, format="png", rankdir="TB")
    assert dot.format == "png" and "rankdir=TB" in dot.source
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB', not 'RL'"):
        draw_dot(L, rankdir="RL")
    with pytest.raises(ValueError, match="format 'jpeg2' is not a Graphviz output format"):
        draw_dot(L, format="jpeg2")
    with pytest.raises(ValueError, match="max_nodes must be a positive int or None"):
        draw_dot(L, max_nodes=0)
    with pytest.raises(TypeError, match="root must be a Value, not float"):
        draw_dot(1.0)


def test_labels_with_record_syntax_are_escaped():
    x = Value(1.0, label="{a|b}<c>")
    dot = draw_dot(x * 2)
    assert r"\{a\|b\}\<c\>" in dot.source


def test_large_graph_is_cut_at_the_bound_and_says_so():
    x = Value(0.5, "x")
    for _ in range(100_000):
        x = (x * 0.5).tanh()  # 200,001 value nodes plus 100,000 constants
    total = pygrad.stats()["live_nodes"]
    dot = draw_dot(x)
    records, ops, edges = parse(dot)
    assert len(records) == 500
    assert "more values not drawn" in dot.source
    assert "draw_dot(max_nodes=None) draws all" in dot.source
    assert f"of {total:,}" in dot.source or total > 300_001
    small = draw_dot(x, max_nodes=10)
    assert len(parse(small)[0]) == 10


def test_deep_graph_data_without_recursion():
    x = Value(1.0)
    for _ in range(50_000):
        x = x + 1.0
    g = graph(x)
    assert g["total"] == len(g["nodes"]) == 100_001 and not g["truncated"]
    assert g["nodes"][-1]["data"] == 50_001.0


def test_graph_as_plain_data():
    L = worked_example()
    g = graph(L)
    json.dumps(g)  # JSON-serialisable
    assert g["total"] == 7 and not g["truncated"]
    nodes = g["nodes"]
    by_label = {n["label"]: n for n in nodes}
    assert set(by_label) == {"a", "b", "c", "d", "e", "f", "L"}
    assert nodes[-1]["label"] == "L"  # the root comes last
    assert [n["id"] for n in nodes] == list(range(7))
    e, d, L_ = by_label["e"], by_label["d"], by_label["L"]
    assert e["children"] == [by_label["a"]["id"], by_label["b"]["id"]]
    assert d["children"] == [e["id"], by_label["c"]["id"]]
    assert (L_["op"], L_["data"], L_["grad"]) == ("*", -8.0, 1.0)
    assert by_label["a"]["grad"] == 6.0
    assert len(g["edges"]) == 6
    for child, parent in g["edges"]:
        assert child < parent  # operands before results
    cut = graph(L, max_nodes=3)
    assert len(cut["nodes"]) == 3 and cut["truncated"] and cut["total"] == 7


@needs_dot
def test_rendered_svg_is_an_svg(tmp_path):
    L = worked_example()
    svg = draw_dot(L).pipe(format="svg")
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for text in ("L", "data -8.0000", "grad 1.0000", "grad 6.0000", "*", "+"):
        assert text in texts
    path = pygrad.render(L, tmp_path / "graph.png")
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert sorted(os.listdir(tmp_path)) == ["graph.png"]


def test_render_without_dot_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        pygrad.render(worked_example(), tmp_path / "g.svg")
    assert not os.listdir(tmp_path)
