"""Handles with identity: the Value object for a node, the same one each time.

Walking a graph (`children`, `_prev`) must give back the user's own Values,
and the same object for a node on every walk while it lives, so that code
keyed by `is` or `id()` works as on micrograd. The operators do not record
the Values they make (that would cost every `a * b`); instead a walk keeps a
weak map from node index to Value. A node with no hold has no Value. One
with holds and none mapped may have a Value the walk has not seen: if any
could have been made since the last search (the core counts the nodes it
makes, pg_made, and value.own the Values it makes for existing nodes), the
walk looks for it among the objects the garbage collector tracks, youngest
generation first, stopping at the one that has it.
"""
from __future__ import annotations

import gc
import weakref
from typing import Dict, List, Optional, Tuple

from ._c import lib
from .value import Value, _handle, adopted

__all__ = ["value_of"]

# node index -> a weak reference to the Value walks give for it. The
# references have no callback, so that no Python code runs when a Value
# dies (an interrupt landing in a callback would be lost); dead ones are
# dropped in bulk by _keep. An entry names its node's index only while its
# Value lives, which holds the node; an entry whose _i was rewritten since is
# ignored (checked on every look-up).
_known: Dict[int, "weakref.ReferenceType[Value]"] = {}
# The entries left after dead ones were last dropped.
_kept_at: List[int] = [0]
# (pg_made(), adopted) when every generation was last searched: no Value
# unseen by that search exists while both are unchanged.
_searched: List[Tuple[int, int]] = [(-1, -1)]


def _fresh(i: int) -> Optional[Value]:
    """The mapped Value of node i, if it lives and still names node i."""
    ref = _known.get(i)
    v = ref() if ref is not None else None
    return v if v is not None and getattr(v, "_i", None) == i else None


def _keep(i: int, v: Value) -> None:
    """Maps node i to v; drops the dead entries once they may be half."""
    _known[i] = weakref.ref(v)
    if len(_known) > 2 * _kept_at[0] + 1024:
        for k in [k for k, ref in _known.items() if ref() is None]:
            del _known[k]
        _kept_at[0] = len(_known)


def _search(i: int) -> Optional[Value]:
    """Maps the live Values the garbage collector tracks that name live nodes
    with no mapped Value, a generation at a time, until one for node i is
    found; returns it, or None after searching them all."""
    now = (lib.pg_made(), adopted[0])
    for generation in range(3):
        for obj in gc.get_objects(generation):
            # type(), not isinstance(): that would read obj.__class__, which
            # some objects compute (and warn on, as deprecated ones do)
            if issubclass(type(obj), Value):
                k = getattr(obj, "_i", None)
                if type(k) is int and 0 <= k < 2**32 and lib.pg_op(k) >= 0 and _fresh(k) is None:
                    _keep(k, obj)
        v = _fresh(i)
        if v is not None:
            return v
    _searched[0] = now
    return None


def value_of(i: int) -> Value:
    """The Value for live node i: one the user holds when there is one, else a
    new handle, kept as the answer for i while it lives."""
    v = _fresh(i)
    if v is not None:
        return v
    if lib.pg_holds(i) > 0 and (lib.pg_made(), adopted[0]) != _searched[0]:
        v = _search(i)
        if v is not None:
            return v
    v = _handle(i)
    _keep(i, v)
    return v
