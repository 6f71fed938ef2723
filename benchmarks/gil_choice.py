"""Why pygrad's cffi calls keep the GIL held: the cost of one call both ways.

Builds two tiny cffi modules with the same function: one as cffi makes it
(the GIL released around the call) guarding its state with a pthread mutex,
the other with the GIL held (as build_ffi.py does), and times one call of
each, with 1 and 3 arguments, interleaved over several rounds.

    python benchmarks/gil_choice.py
"""
import importlib
import os
import statistics
import sys
import tempfile
import timeit

from cffi import FFI

CDEF = "int64_t f1(uint32_t a); int64_t f3(uint8_t op, uint32_t a, uint32_t b);"
BODY = """
#include <stdint.h>
static volatile int64_t state;
int64_t f1(uint32_t a) { LOCK; state += a; UNLOCK; return a; }
int64_t f3(uint8_t op, uint32_t a, uint32_t b) { LOCK; state += a + b + op; UNLOCK; return a + b; }
"""
VARIANTS = {
    "gil_released_mutex": """
#include <pthread.h>
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
#define LOCK pthread_mutex_lock(&mu)
#define UNLOCK pthread_mutex_unlock(&mu)
""",
    "gil_held": """
#undef Py_BEGIN_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#undef Py_END_ALLOW_THREADS
#define Py_END_ALLOW_THREADS }
#undef _cffi_restore_errno
#define _cffi_restore_errno() ((void)0)
#undef _cffi_save_errno
#define _cffi_save_errno() ((void)0)
#define LOCK
#define UNLOCK
""",
}


def build(tmp):
    libs = {}
    for name, preamble in VARIANTS.items():
        ffi = FFI()
        ffi.cdef(CDEF)
        ffi.set_source(f"_gil_{name}", preamble + BODY, extra_compile_args=["-O2"])
        ffi.compile(tmpdir=tmp, verbose=False)
    sys.path.insert(0, tmp)
    for name in VARIANTS:
        libs[name] = importlib.import_module(f"_gil_{name}").lib
    return libs


def main(rounds=7, number=300_000):
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)
        try:
            libs = build(tmp)
        finally:
            os.chdir(cwd)
        times = {(n, k): [] for n in VARIANTS for k in (1, 3)}
        for _ in range(rounds):
            for name, lib in libs.items():
                env = {"f1": lib.f1, "f3": lib.f3}
                times[name, 1].append(timeit.timeit("f1(1000)", globals=env, number=number) / number)
                times[name, 3].append(timeit.timeit("f3(3, 1000, 2000)", globals=env, number=number) / number)
    print(f"{'variant':22} {'args':>4} {'median ns/call':>15}")
    for (name, k), ts in times.items():
        print(f"{name:22} {k:>4} {statistics.median(ts) * 1e9:>15.1f}")


if __name__ == "__main__":
    main()
