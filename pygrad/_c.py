"""The compiled core as the package sees it, and the one place where its
negative status codes become Python exceptions."""
from ._core import ffi, lib

__all__ = ["ffi", "lib", "check", "raise_status"]

_MESSAGES = {
    lib.PG_ENOMEM: (MemoryError, "pygrad's node arena could not allocate memory; "
                                 "no existing node was changed"),
    lib.PG_EFULL: (MemoryError, "pygrad's node arena is full: a 32-bit index names "
                                "at most 4,294,967,294 nodes (or a test limit is set)"),
    lib.PG_EINDEX: (ValueError, "the index does not name a live pygrad node"),
    lib.PG_EARG: (ValueError, "an argument to pygrad's core is out of range"),
}


def raise_status(status):
    """Raises the exception for a negative status from the C core."""
    exc, message = _MESSAGES.get(status, (RuntimeError, f"pygrad core status {status}"))
    raise exc(message)


def check(status):
    """Returns a C call's non-negative result, or raises for its status."""
    if status < 0:
        raise_status(status)
    return status
