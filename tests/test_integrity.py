"""What a careless or hostile caller can do from Python: crafted pickles,
bare objects, forged indices, weak references, Leaves' list. None of it may
crash the process, free a node a live node names, or leak."""
import copy
import gc
import pickle
import sys
import weakref

import pytest

import pygrad
from pygrad import Leaves, Value
from pygrad._c import lib
from pygrad.value import _handle
from helpers import live_now

# A pickle that makes a Value (NEWOBJ) and then sets its index with BUILD,
# taking no reference: (None, {"_i": 1}) as slot state, and {"_i": 1} as dict
# state.
SLOT_STATE = (b"\x80\x02cpygrad.value\nValue\nG\x00\x00\x00\x00\x00\x00\x00\x00\x85\x81"
              b"N}X\x02\x00\x00\x00_iJ\x01\x00\x00\x00s\x86b.")
DICT_STATE = (b"\x80\x02cpygrad.value\nValue\nG\x00\x00\x00\x00\x00\x00\x00\x00\x85\x81"
              b"}X\x02\x00\x00\x00_iJ\x01\x00\x00\x00sb.")


@pytest.mark.parametrize("crafted", [SLOT_STATE, DICT_STATE], ids=["slot state", "dict state"])
def test_crafted_pickle_cannot_set_an_index(crafted, live):
    x = Value(1.0)
    r = x * 2.0 + 1.0
    with pytest.raises(TypeError, match="cannot be given state by a pickle"):
        pickle.loads(crafted)
    gc.collect()
    r.backward()
    assert r.forward() == 3.0 and x.grad == 2.0
    assert [c.data for c in r.children] == [2.0, 1.0]
    del x, r
    assert live_now() == live


def test_ordinary_pickles_and_copies_still_work(live):
    a = Value(2.5, label="a")
    a.grad = 0.5
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
        assert (b.data, b.grad, b.label, b.op) == (2.5, 0.5, "a", "")
        assert b._i != a._i
    del a, b
    assert live_now() == live


def test_bare_value_names_no_node_and_drops_silently(live):
    seen = []
    hook, sys.unraisablehook = sys.unraisablehook, seen.append
    try:
        v = object.__new__(Value)
        with pytest.raises(AttributeError):
            v + 1.0
        with pytest.raises(AttributeError):
            v.backward()
        del v
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert seen == []  # no "Exception ignored"
    assert live_now() == live


def test_forged_index_cannot_free_a_node_a_live_node_names(live):
    x = Value(1.0)
    r = x * 2.0 + 1.0
    two = r.children[0].children[1]._i  # the leaf 2.0: linked, no hold
    v, w = Value(0.0), Value(0.0)
    orphans = [v._i, w._i]  # their own leaves, whose holds the forgeries strand
    object.__setattr__(v, "_i", two)
    w._i = x._i  # x's node: one hold, one link
    del v, w  # the release of `two` is refused; x's hold is given up
    gc.collect()
    assert r.forward() == 3.0
    r.backward()
    assert x.grad == 2.0 and [c.data for c in r.children[0].children] == [1.0, 2.0]
    del x  # its hold is gone already: refused, and still linked by r
    assert r.forward() == 3.0
    del r
    # The two forged Values' own leaves lost their owners: they stay, and
    # nothing else does, until their holds are given back.
    assert live_now() == live + 2
    for i in orphans:
        assert lib.pg_release(i) == lib.PG_OK
    assert live_now() == live


def test_core_refuses_a_release_without_a_hold(live):
    x = Value(1.0)
    r = x * 2.0
    k = r.children[1]._i
    assert lib.pg_release(k) == lib.PG_EARG  # held by r's link alone
    assert lib.pg_release(2**32 - 2) == lib.PG_EINDEX
    assert r.data == 2.0 and r.children[1].data == 2.0
    del x, r
    assert live_now() == live


def test_weak_references(live):
    v = Value(3.0)
    ref = weakref.ref(v)
    assert ref() is v
    cache = weakref.WeakValueDictionary({"v": v})
    del v
    assert ref() is None and "v" not in cache
    assert live_now() == live


def test_leaves_hold_their_leaves_immutably(live):
    xs = [Value(1.0), Value(2.0)]
    feed = Leaves(xs)
    assert feed.values == tuple(xs)
    with pytest.raises(AttributeError):
        feed.values.append(Value(3.0))
    with pytest.raises(AttributeError):
        feed.values = []
    with pytest.raises(AttributeError, match="immutable"):
        feed._idx = None
    with pytest.raises(AttributeError, match="immutable"):
        del feed._values
    with pytest.raises(TypeError, match="immutable"):
        feed.__init__([Value(5.0)])
    xs.clear()  # the caller's list is not Leaves' own
    gc.collect()
    feed.set([3.0, 4.0])
    assert [v.data for v in feed.values] == [3.0, 4.0]
    copied = pickle.loads(pickle.dumps(feed))
    assert [v.data for v in copied.values] == [3.0, 4.0] and len(copied) == 2
    del feed, copied
    assert live_now() == live


def test_too_many_holds_on_one_node_is_refused(live):
    x = Value(1.0)
    y = x * 1.0
    handles = [_handle(x._i) for _ in range(65_534)]  # x and these: 65,535 holds
    assert y.children[0] == x  # a walk gives one of these: no hold taken
    with pytest.raises(MemoryError):
        _handle(x._i)
    assert all(h.data == 1.0 for h in handles[:3])
    del handles, x, y
    assert live_now() == live
    assert pygrad.stats()["live_nodes"] == live
