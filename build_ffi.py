"""cffi builder: compiles csrc/ into the extension module pygrad._core.

Out-of-line API mode. The cdef is csrc/pygrad.h itself, less its preprocessor
lines, so every C declaration exists once, documented where it is declared.

Environment:
  PYGRAD_SANITIZE=1  build with AddressSanitizer and UndefinedBehaviorSanitizer
                     (run with the ASan runtime preloaded; see .ci/run).

The flavor is written into the generated source, so switching it changes that
file and setuptools rebuilds every object rather than reusing build/.
`pygrad._c.lib.pg_build()` reports what the core was compiled with.
"""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ["csrc/arena.c", "csrc/graph.c", "csrc/grad.c", "csrc/ops.c", "csrc/optim.c"]

# Placed by cffi after Python.h and before its call wrappers. The wrappers
# release the GIL around each call and save errno through cffi's export
# table; pygrad keeps the GIL held instead (that is what serialises threads
# in the arena, and it saves 40 to 70 ns a call: benchmarks/gil_choice.py)
# and never reads ffi.errno.
PREAMBLE = """
/* flavor: %s */
#include "pygrad.h"
#undef Py_BEGIN_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#undef Py_END_ALLOW_THREADS
#define Py_END_ALLOW_THREADS }
#undef _cffi_restore_errno
#define _cffi_restore_errno() ((void)0)
#undef _cffi_save_errno
#define _cffi_save_errno() ((void)0)
"""


def cdef_source(path):
    """The header's declarations: cffi's cdef reads no preprocessor lines."""
    with open(path) as f:
        return "".join(line for line in f if not line.lstrip().startswith("#"))


def sanitized():
    return bool(os.environ.get("PYGRAD_SANITIZE"))


def compile_args():
    """Optimised by default; instrumented when PYGRAD_SANITIZE is set."""
    if sanitized():
        # PG_UBSAN: gcc has no macro that says UBSan is on; pg_build() reads this.
        flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-DPG_UBSAN",
                 "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
        return flags, ["-fsanitize=address,undefined"]
    # -fno-jump-tables: the passes over a graph dispatch on each node's op. As
    # a jump table that is one indirect branch whose prediction swung by 2x
    # with where the code happened to land; as compare-and-branch it is fast
    # whatever the layout.
    # -fvect-cost-model=cheap: -O2's default model leaves the dense loops over
    # runs of nodes (rules.h, optim.c) scalar; this one vectorizes them.
    return ["-O2", "-std=c11", "-Wall", "-Wextra", "-fno-jump-tables",
            "-fvect-cost-model=cheap"], []


ffibuilder = FFI()
ffibuilder.cdef(cdef_source(os.path.join(HERE, "csrc", "pygrad.h")))
_cflags, _ldflags = compile_args()
ffibuilder.set_source(
    "pygrad._core",
    PREAMBLE % ("sanitize" if sanitized() else "release"),
    sources=SOURCES,
    include_dirs=["csrc"],
    extra_compile_args=_cflags,
    extra_link_args=_ldflags,
    libraries=["m"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
