"""Ctrl-C that never lands inside pygrad's bookkeeping.

Python runs a signal's handler between two bytecodes of whatever Python code
is running. Inside a few of the facade's functions that would lose memory or
the interrupt itself: between the C call that makes a node and the store that
gives it to its `Value` (the node would have no owner), or at the start of
`Value.__del__` (the exception is swallowed by the finalizer and the graph is
never released). So pygrad wraps the SIGINT handler that is installed when it
is imported: if a SIGINT arrives while one of those functions is the running
frame, it is put off; anywhere else the previous handler runs at once, as
before. An interrupt put off is delivered by the thread's next operation,
whose call into the core then makes nothing and fails with PG_EINTR, raised
as KeyboardInterrupt (with Python's own handler); failing that, by sending
SIGINT again a millisecond later, when the function has returned.

Functions mark themselves with `atomic`. They are short and run no loops, so
the delay is one or two functions' worth. A handler installed after pygrad is
imported replaces this one, and then these windows are open again; see the
README's Guarantees.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType, CodeType
from typing import Any, Callable, Optional, Set, TypeVar

from ._c import lib

__all__ = ["atomic", "installed"]

# The code of every function during which a SIGINT is put off.
_ATOMIC: Set[CodeType] = set()
# The handler pygrad wrapped: Python's own, or one installed before it.
_previous: Callable[[int, Optional[FrameType]], Any] = signal.default_int_handler

F = TypeVar("F", bound=Callable[..., Any])


def atomic(function: F) -> F:
    """Marks function as one an interrupt must not land in; returns it."""
    _ATOMIC.add(function.__code__)
    return function


# Set by the handler when it puts an interrupt off; the watcher thread waits
# on it. _resend: the interrupt is the previous handler's to run, so it must be
# sent again whatever the core has done.
_pending = threading.Event()
_resend = False
# True while the handler puts an interrupt off: Event.set runs Python code, and
# a SIGINT landing there must not raise into the atomic frame.
_deferring = False


def _watch() -> None:
    """Sends SIGINT again, a millisecond after an interrupt was put off, unless
    an operation delivered it meanwhile."""
    global _resend
    while True:
        _pending.wait()
        _pending.clear()
        time.sleep(0.001)
        if lib.pg_take_interrupt() or _resend:
            _resend = False
            os.kill(os.getpid(), signal.SIGINT)


def _start_watcher() -> None:
    threading.Thread(target=_watch, name="pygrad interrupts", daemon=True).start()


def _on_sigint(signum: int, frame: Optional[FrameType]) -> Any:
    global _deferring
    if _deferring:  # inside the lines below: put this one off too
        _put_off()
        return None
    if frame is not None and frame.f_code in _ATOMIC:
        _deferring = True
        try:
            _put_off()
            _pending.set()
        finally:
            _deferring = False
        return None
    return _previous(signum, frame)


def _put_off() -> None:
    """Arms the core's PG_EINTR for this thread, or marks the signal to send again."""
    global _resend
    if _previous is signal.default_int_handler:
        lib.pg_defer_interrupt()  # raises KeyboardInterrupt, as Python's handler would
    else:
        _resend = True


def installed() -> bool:
    """True while pygrad's handler is SIGINT's, putting interrupts off."""
    return signal.getsignal(signal.SIGINT) is _on_sigint


def _install() -> None:
    """Wraps SIGINT's Python handler, if it has one and this is the main thread."""
    global _previous
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGINT)
    if current is _on_sigint or not callable(current):
        return
    _previous = current
    signal.signal(signal.SIGINT, _on_sigint)
    _start_watcher()
    if hasattr(os, "register_at_fork"):  # a child has no threads but the forking one
        os.register_at_fork(after_in_child=_start_watcher)


_install()
