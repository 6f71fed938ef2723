"""Gradient hooks: functions a reverse pass calls with a node's gradient
before passing it on, as `Tensor.register_hook` in PyTorch.

The core flags a hooked node (pg_hook), and a pass object stops there
(pygrad.autograd runs it). The functions themselves live here, in `hooked`
(value.py's dict, so that `backward()` sees at once whether any exist),
keyed by node index. An entry outlives its node harmlessly: the core drops
the flag with the node, so a later node at that index is not stopped at, and
hooking it starts a new entry.
"""
from __future__ import annotations

import itertools
from typing import Callable, Dict, Optional

from ._c import check, lib
from .value import Value, hooked, _real

__all__ = ["RemovableHandle", "register", "call", "sweep"]

Hook = Callable[[float], Optional[float]]

_keys = itertools.count()
# Entries are checked for nodes gone once there are this many.
_sweep_at = 64


class RemovableHandle:
    """What register_hook returns: remove() takes the hook off again."""

    __slots__ = ("_i", "_entry", "_key")

    def __init__(self, i: int, entry: Dict[int, Hook], key: int) -> None:
        self._i, self._entry, self._key = i, entry, key

    def remove(self) -> None:
        """Removes the hook; once a node has none, passes no longer stop there.
        Removing twice does nothing."""
        if self._entry.pop(self._key, None) is None or self._entry:
            return
        if hooked.get(self._i) is self._entry:
            del hooked[self._i]
            lib.pg_hook(self._i, 0)  # a node gone meanwhile: nothing to clear

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _flagged(i: int) -> bool:
    """Whether live node i carries the core's hook flag (leaving it as it is)."""
    was: int = lib.pg_hook(i, 1)
    if was == 0:
        lib.pg_hook(i, 0)
    return was == 1


def sweep() -> None:
    """Drops the entries of nodes that have gone (their flag went with them):
    all of them while there are few, else once their number has doubled."""
    global _sweep_at
    if len(hooked) > 32 and len(hooked) < _sweep_at:
        return
    for i in list(hooked):
        if not _flagged(i):
            del hooked[i]
    _sweep_at = 2 * len(hooked) + 64


def register(v: Value, fn: Hook) -> RemovableHandle:
    """Adds fn to v's node's hooks, after any it has."""
    if not callable(fn):
        raise TypeError(f"register_hook() needs a callable, not {type(fn).__name__}")
    i = v._i
    sweep()
    was = check(lib.pg_hook(i, 1))
    entry = hooked.get(i)
    if entry is None or not was:  # none yet, or a gone node's at this index
        entry = hooked[i] = {}
    key = next(_keys)
    entry[key] = fn
    return RemovableHandle(i, entry, key)


def call(i: int, grad: float) -> Optional[float]:
    """Runs node i's hooks on grad, in the order they were added, each on what
    the one before returned; the replacement gradient, or None if none
    returned a number. An exception from a hook propagates."""
    entry = hooked.get(i)
    if not entry:
        return None
    replaced = False
    for fn in list(entry.values()):
        result = fn(grad)
        if result is not None:
            grad = result.item() if isinstance(result, Value) else _real(result, "a hook's result")
            replaced = True
    return grad if replaced else None
