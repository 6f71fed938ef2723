"""Scopes: names for the parts of a big graph.

    with pygrad.scope("attention"):
        y = (q * k).tanh()          # these nodes are in scope "attention"

Every node a thread makes inside `with pygrad.scope(name)` is tagged with
the scope's path; nested scopes join with "/" ("Layer 1/Neuron 3"). nn's
modules open scopes for themselves. graph() reports each node's scope and
draw_dot(group=True) or draw_dot(collapse=True) draws them. The core keeps
the tag as runs of its creation log (pg_scope_set), so a node costs no more
bytes in a scope than out of one; here each path gets a number, kept for the
life of the process.
"""
from __future__ import annotations

import threading
from contextlib import ContextDecorator
from typing import Any, Callable, Dict, List, Tuple

from ._c import lib
from .value import Value

__all__ = ["scope", "scope_of", "path_of"]

_get: Callable[[], int] = lib.pg_scope_get
_set: Callable[[int], int] = lib.pg_scope_set

# Scope number -> path; number 0 is no scope, "". Only ever appended to.
_paths: List[str] = [""]
# (enclosing scope number, name) -> the number of the scope name inside it.
_inner: Dict[Tuple[int, str], int] = {}
# Held while a number is given out, so that two threads never get the same.
_giving = threading.Lock()


def _name(name: object) -> str:
    if type(name) is not str:
        raise TypeError(f"a scope name must be a str, not {type(name).__name__}")
    if not name or "\0" in name:
        raise ValueError(f"a scope name must be a non-empty str without NUL characters, "
                         f"not {name!r}")
    return name


def inner(outer: int, name: str) -> int:
    """The number of scope name inside scope number outer, made on first use."""
    number = _inner.get((outer, name))
    if number is None:
        with _giving:
            number = _inner.get((outer, name))
            if number is None:
                if len(_paths) == 2**32 - 1:
                    raise RuntimeError("no more scopes: 4,294,967,294 paths are in use")
                number = len(_paths)
                _paths.append(f"{_paths[outer]}/{name}" if outer else name)
                _inner[(outer, name)] = number
    return number


def enter(name: str) -> int:
    """Enters scope name inside the calling thread's; returns the scope to go
    back to with leave()."""
    outer = _get()
    _set(inner(outer, name))
    return outer


def leave(outer: int) -> None:
    """Goes back to scope number outer, which enter() returned."""
    _set(outer)


def current() -> int:
    """The calling thread's scope number."""
    return _get()


class scope(ContextDecorator):
    """`with pygrad.scope(name):` tags the nodes made inside with name, joined
    with "/" to the scopes around it. Per thread, as no_grad; nests; usable
    as a decorator, by many threads at once."""

    def __init__(self, name: str) -> None:
        self.name = _name(name)
        self._saved = threading.local()  # each thread's stack of scopes to go back to

    def __enter__(self) -> scope:
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append(enter(self.name))
        return self

    def __exit__(self, *exc: Any) -> None:
        leave(self._saved.stack.pop())

    def __repr__(self) -> str:
        return f"pygrad.scope({self.name!r})"


def path_of(i: int) -> str:
    """The scope path node i was made in ("" for none)."""
    number = lib.pg_scope_of(i)
    return _paths[number] if number >= 0 else ""


def scope_of(v: Value) -> str:
    """The scope path v's node was made in: "" when none."""
    if not isinstance(v, Value):
        raise TypeError(f"scope_of() takes a Value, not {type(v).__name__}")
    return path_of(v._i)
