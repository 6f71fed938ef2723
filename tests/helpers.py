"""Oracles and small helpers shared by the tests."""
import gc
import math

import pygrad


def central_difference(f, xs, h=1e-6):
    """The gradient of f at the point xs by central differences in float64."""
    grads = []
    for k in range(len(xs)):
        up, down = list(xs), list(xs)
        up[k] += h
        down[k] -= h
        grads.append((f(*up) - f(*down)) / (2 * h))
    return grads


def close(a, b, rel=1e-6, abs_=1e-9):
    """Equal as floats, NaN equal to NaN, infinities by sign."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def worked_example(a0=2.0, b0=-3.0, c0=10.0, f0=-2.0):
    """The classic worked example, labelled: e = a*b, d = e + c, L = d*f."""
    from pygrad.teach import worked_example
    return worked_example(a0, b0, c0, f0)


def live_now():
    """The arena's live-node count after a full garbage collection."""
    gc.collect()
    return pygrad.stats()["live_nodes"]


def through_each_failure(make, live_expected):
    """Calls make() with each of its allocations failing in turn, checking
    after each MemoryError that the live-node count is live_expected, until
    it makes it through. Returns (make()'s result, how many failed)."""
    from pygrad._c import lib
    failed = 0
    while True:
        lib.pg_test_fail_alloc(failed + 1)
        try:
            result = make()
        except MemoryError:
            failed += 1
            assert live_now() == live_expected
            continue
        finally:
            lib.pg_test_fail_alloc(0)
        return result, failed
