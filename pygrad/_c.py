"""The compiled core as the package sees it, and the one place where its
negative status codes become Python exceptions."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any, Dict, NoReturn, Tuple, Type

__all__ = ["ffi", "lib", "check", "raise_status"]


def _installed_core() -> ModuleType:
    """The compiled core of an installed pygrad.

    Run from a source checkout (`python -m pygrad` in the repository), this
    package is the source folder, which has no compiled core unless it was
    built in place; `pip install .` put one beside the installed copy."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path:
        folder = os.path.join(os.path.abspath(entry or os.curdir), "pygrad")
        if folder == here:
            continue
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_core" + suffix)
            if os.path.isfile(path):
                spec = importlib.util.spec_from_file_location(f"{__package__}._core", path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                sys.modules[spec.name] = module
                return module
    raise ImportError("pygrad's C core is not built: run `pip install .` in the "
                      "repository (or `python build_ffi.py` there to build it in place)")


try:
    from ._core import ffi as _ffi, lib as _lib
except ImportError:
    _core = _installed_core()
    _ffi, _lib = _core.ffi, _core.lib
# The cffi module's objects: ffi (types, allocation) and lib (pygrad.h).
ffi: Any = _ffi
lib: Any = _lib

_MESSAGES: Dict[int, Tuple[Type[BaseException], str]] = {
    lib.PG_ENOMEM: (MemoryError, "pygrad's node arena could not allocate memory; "
                                 "no existing node was changed"),
    lib.PG_EFULL: (MemoryError, "pygrad's node arena is full: a 32-bit index names "
                                "at most 4,294,967,294 nodes (or a test limit is set)"),
    lib.PG_EINDEX: (ValueError, "the index does not name a live pygrad node"),
    lib.PG_EARG: (ValueError, "an argument to pygrad's core is out of range"),
    # An interrupt put off by pygrad.interrupts, delivered here, before the
    # operation makes anything.
    lib.PG_EINTR: (KeyboardInterrupt, ""),
}


def raise_status(status: int) -> NoReturn:
    """Raises the exception for a negative status from the C core."""
    exc, message = _MESSAGES.get(status, (RuntimeError, f"pygrad core status {status}"))
    raise exc(message)


def check(status: int) -> int:
    """Returns a C call's non-negative result, or raises for its status."""
    if status < 0:
        raise_status(status)
    return status
