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
    dot = draw_dot(x)
    records, ops, edges = parse(dot)
    assert len(records) == 500
    assert "more values not drawn" in dot.source
    assert "showing the 500 values nearest the root" in dot.source
    assert "draw_dot(max_nodes=None) draws all" in dot.source
    small = draw_dot(x, max_nodes=10)
    assert len(parse(small)[0]) == 10
    # Cut drawings list only what they show: no order of the graph is kept.
    assert pygrad.stats()["cached_orders"] == 0


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
    assert len(cut["nodes"]) == 3 and cut["truncated"] and cut["total"] is None
    # The three nearest the root: L, then its leaf operand f, then d.
    assert [n["label"] for n in cut["nodes"]] == ["f", "d", "L"]
    whole = graph(L, max_nodes=7)
    assert not whole["truncated"] and whole["total"] == 7 and whole["nodes"] == nodes


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


@needs_dot
def test_render_paths_are_files_never_options(tmp_path, monkeypatch):
    L = worked_example()
    monkeypatch.chdir(tmp_path)
    assert pygrad.render(L, "-ofoo.svg") == "-ofoo.svg"  # a file with a dash in front
    assert os.listdir(tmp_path) == ["-ofoo.svg"]
    with open(tmp_path / "-ofoo.svg", "rb") as f:
        assert b"<svg" in f.read()
    os.mkdir(tmp_path / "sub")
    assert pygrad.render(L, "sub/g.pdf", max_nodes=3) == "sub/g.pdf"
    assert os.listdir(tmp_path / "sub") == ["g.pdf"]


def test_render_refuses_paths_it_cannot_read_as_files(tmp_path):
    L = worked_example()
    for bad, exc, message in ((b"x.svg", TypeError, "str or os.PathLike, not bytes"),
                              (123, TypeError, "not int"),
                              (None, TypeError, "not NoneType"),
                              ("", ValueError, "not a file name"),
                              (str(tmp_path / "graph"), ValueError, "cannot tell the format"),
                              (str(tmp_path / "graph.docx"), ValueError, "cannot tell the format")):
        with pytest.raises(exc, match=message):
            pygrad.render(L, bad)
    with pytest.raises(ValueError, match="not a Graphviz output format"):
        pygrad.render(L, tmp_path / "graph", format="docx")
    assert not os.listdir(tmp_path)


def test_graph_with_non_finite_numbers_is_strict_json():
    x = Value(0.0, "x")
    y = x.log() * Value(float("nan"), "n") + Value(float("inf"), "i")
    y.backward()
    g = graph(y)
    text = json.dumps(g, allow_nan=False)
    by_label = {n["label"]: n for n in json.loads(text)["nodes"]}
    assert by_label["n"]["data"] == "NaN" and by_label["i"]["data"] == "Infinity"
    assert by_label["x"]["grad"] == "NaN"
    assert [n["data"] for n in g["nodes"] if n["op"] == "log"] == ["-Infinity"]
    assert by_label["i"]["grad"] == 1.0  # finite numbers stay numbers


def test_a_cut_listing_does_work_in_proportion_to_its_bound(live):
    x0 = x = Value(1.0, "x")
    for _ in range(1_000_000):
        x = x + 1.0
    g = graph(x, max_nodes=3)
    assert [n["op"] for n in g["nodes"]] == ["", "+", "+"]  # the constant, x's two last sums
    assert g["nodes"][-1]["data"] == 1_000_001.0
    assert g["truncated"] and g["total"] is None
    dot = draw_dot(x, max_nodes=3)
    assert len(parse(dot)[0]) == 3
    # A bound far past the graph lists the whole graph.
    assert len(graph(worked_example(), max_nodes=10**12)["nodes"]) == 7
    # Nothing of the million-node order was listed or kept.
    assert pygrad.stats()["cached_orders"] == 0 and pygrad.stats()["order_bytes"] == 0
    # The cut pass left no mark behind: backward afterwards is right, and the
    # nearest nodes of a small graph list as its whole order does.
    x.backward()
    assert x0.grad == 1.0 and x.grad == 1.0
    L = worked_example()
    assert graph(L, max_nodes=7)["nodes"] == graph(L)["nodes"]
