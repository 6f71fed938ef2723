"""Handles with identity: the Value object for a node, the same one each time.

Walking a graph (`children`, `_prev`) must give back the user's own Values,
and the same object for a node on every walk while it lives, so that code
keyed by `is` or `id()` works as on micrograd. The operators do not record
the Values they make (that would cost every `a * b`); instead a walk keeps a
weak map from node index to Value, and when it meets a node it has no Value
for while Values it has not seen may exist, it finds them once among the
objects the garbage collector tracks. Values that may be unseen are those
made since that search: the core counts the nodes it makes (pg_made), and
value.own counts the Values it makes for existing nodes.
"""
from __future__ import annotations

import gc
import weakref
from typing import List, Tuple

from ._c import lib
from .value import Value, _handle, adopted

__all__ = ["value_of"]

# node index -> the Value walks give for it. An entry can outlive its node's
# index only while its Value lives, which holds the node; an entry whose _i
# was rewritten since is ignored (checked on every look-up).
_known: weakref.WeakValueDictionary[int, Value] = weakref.WeakValueDictionary()
# (pg_made(), adopted) when the heap was last searched: no Value unseen by
# that search exists while both are unchanged.
_searched: List[Tuple[int, int]] = [(-1, -1)]


def _search() -> None:
    """Maps every live Value that names a live node and has no entry yet."""
    for obj in gc.get_objects():
        if isinstance(obj, Value):
            i = getattr(obj, "_i", None)
            if type(i) is int and 0 <= i < 2**32 and lib.pg_op(i) >= 0 and _fresh(i) is None:
                _known[i] = obj


def _fresh(i: int) -> Value | None:
    """The mapped Value of node i, if it still names node i."""
    v = _known.get(i)
    return v if v is not None and getattr(v, "_i", None) == i else None


def value_of(i: int) -> Value:
    """The Value for live node i: one the user holds when there is one, else a
    new handle, kept as the answer for i while it lives."""
    v = _fresh(i)
    if v is not None:
        return v
    now = (lib.pg_made(), adopted[0])
    if now != _searched[0]:
        _search()
        _searched[0] = now
        v = _fresh(i)
        if v is not None:
            return v
    v = _handle(i)
    _known[i] = v
    return v
