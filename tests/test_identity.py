"""Handles with identity: `children` and `_prev` give the user's own Values,
and the same object for a node on every walk while it lives, so code that
keys nodes by `is` or `id()` (micrograd's trace_graph notebook) works."""
import gc

import pygrad.handles
from pygrad import Value

from helpers import live_now


def trace(root):
    """micrograd's trace: every value under root and every (operand, result)
    edge, found through _prev."""
    nodes, edges = set(), set()
    todo = [root]
    while todo:
        v = todo.pop()
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                todo.append(child)
    return nodes, edges


def id_drawing(root):
    """The trace_graph notebook's drawing, reduced to its names: one node per
    value named str(id(value)), one per op named id + op, and edges between
    names. Returns (names drawn, edges drawn)."""
    nodes, edges = trace(root)
    names, lines = set(), []
    for n in nodes:
        names.add(str(id(n)))
        if n._op:
            names.add(str(id(n)) + n._op)
            lines.append((str(id(n)) + n._op, str(id(n))))
    for n1, n2 in edges:
        lines.append((str(id(n1)), str(id(n2)) + n2._op))
    return names, lines


def test_prev_gives_the_users_own_value():
    a = Value(2.0)
    square = a * a
    assert next(iter(square._prev)) is a
    assert square.children[0] is a and square.children[1] is a
    b = Value(-3.0)
    assert (a * b).children == (a, b)
    assert [c is v for c, v in zip((a * b).children, (a, b))] == [True, True]


def test_an_id_keyed_drawing_has_no_dangling_edges_on_shared_subexpressions(live):
    x = Value(1.0)
    w = (x + 1) * (x * 2)
    names, lines = id_drawing(w)
    # x, 1, x + 1, 2, x * 2, w; three ops; every endpoint is a drawn name.
    assert len(names) == 6 + 3
    assert len(lines) == 3 + 6
    assert all(a in names and b in names for a, b in lines)
    # A deeper graph that uses x and an interior value many times.
    y = x * 3
    z = y * y + y.tanh() * x + (y + x) * (y - x)
    names, lines = id_drawing(z)
    assert all(a in names and b in names for a, b in lines)
    nodes = trace(z)[0]
    assert x in nodes and any(n is x for n in nodes) and any(n is y for n in nodes)
    del x, w, y, z, nodes, names, lines
    assert live_now() == live


def test_the_same_object_on_every_walk_while_it_lives(live):
    x = Value(0.5)
    out = ((x * 2).exp() + 1).log()
    inner = out.children[0]          # exp(2x) + 1: no Value of the user's
    assert out.children[0] is inner
    assert set(out._prev) == {inner} and next(iter(out._prev)) is inner
    kept = id(inner)
    one = inner.children[1]          # the number 1, a leaf the core made
    assert inner.children[1] is one and id(out.children[0]) == kept
    # Once the walk's objects are dropped, a later walk makes working ones.
    del inner, one
    again = out.children[0]
    assert again.data == out.children[0].data == 1.0 + 2.718281828459045
    assert again.op == "+" and again.children[0].children[0].children[0] is x
    del x, out, again
    assert live_now() == live


def test_values_made_after_a_walk_are_found_by_the_next():
    a = Value(1.0)
    first = (a + 1).children[0]
    assert first is a
    b = Value(2.0)  # made after the walk above: not yet known to it
    c = b * a
    assert c.children[0] is b and c.children[1] is a


def test_a_walk_searches_the_heap_only_for_values_it_may_not_have_seen(monkeypatch):
    calls = []
    real = gc.get_objects
    monkeypatch.setattr(pygrad.handles.gc, "get_objects",
                        lambda *generation: calls.append(generation) or real(*generation))
    xs = [Value(float(k)) for k in range(20)]
    total = xs[0]
    for x in xs[1:]:
        total = total * 0.5 + x
    nodes = trace(total)[0]
    assert calls  # the xs were made since any search
    searched = len(calls)
    nodes2 = trace(total)[0]
    assert len(calls) == searched  # nothing made since: no search
    assert {id(n) for n in nodes} == {id(n) for n in nodes2}
    assert all(any(n is x for n in nodes) for x in xs)
    del nodes, nodes2
    total = total + 1.0  # a new node, but a walk meets only nodes no Value holds
    trace(total)
    assert len(calls) == searched
    y = Value(5.0)
    assert (total * y).children[1] is y  # y is new and held: searched for
    assert len(calls) > searched


def test_a_rewritten_index_is_never_taken_for_its_old_node():
    a, k = Value(2.0), Value(5.0)
    b = a * 3
    assert b.children[0] is a
    a._i, k._i = k._i, a._i  # now k names a's node and a names k's
    operand = b.children[0]
    assert operand is not a and operand.data == 2.0
    assert b.children[0] is operand  # the walk's own handle, while it lives
    del operand
    c = Value(1.0)  # a node made: the next walk searches, and finds k
    assert (b * c).children[0].children[0] is k
    a._i, k._i = k._i, a._i
    assert b.children[0] is not k and b.children[0].data == 2.0


def test_gradients_from_create_graph_are_found_by_walks():
    x, y = Value(3.0), Value(4.0)
    (gx,) = pygrad.grad(x * y, [x], create_graph=True)
    assert gx.data == 4.0
    out = gx * 2
    assert out.children[0] is gx


def test_the_search_reads_no_attribute_of_other_objects():
    """Objects that compute __class__ (deprecated module attributes that warn,
    proxies) are passed over by type, untouched."""
    class Touchy:
        @property
        def __class__(self):
            raise AssertionError("the search read __class__")

    bystander = Touchy()
    a = Value(2.0)
    b = Value(3.0)
    pygrad.handles._known.pop(b._i, None)  # b must now be found by the search
    c = a * b
    assert c.children[1] is b
    del bystander
