"""Where an operation's time goes, counted rather than timed: instructions per
graph-building operation, in all and inside pygrad's C core, with valgrind's
callgrind (counts do not depend on how busy the machine is).

    python benchmarks/instructions.py

Runs the chain workload (x = relu(x*a + b)) at two lengths under callgrind,
once counting everything and once counting only inside the core's pg_*
functions, and divides the differences by the extra operations, so that
interpreter start-up cancels out. Needs valgrind.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

CHAIN = """
import sys
from pygrad import Value
a, b, x = Value(0.5), Value(0.1), Value(1.0)
for _ in range(int(sys.argv[1])):
    x = (x * a + b).relu()
"""
SHORT, LONG = 5_000, 15_000


def instructions(script, steps, only_core):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out"]
        if only_core:
            cmd.append("--toggle-collect=pg_*")
        r = subprocess.run(cmd + [sys.executable, script, str(steps)], capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        raise RuntimeError(r.stderr[-2000:])
    return int(m.group(1))


def main():
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(CHAIN)
    try:
        ops = 3 * (LONG - SHORT)
        total = (instructions(f.name, LONG, False) - instructions(f.name, SHORT, False)) / ops
        core = (instructions(f.name, LONG, True) - instructions(f.name, SHORT, True)) / ops
    finally:
        os.unlink(f.name)
    print(f"instructions per operation, building the chain: {total:,.0f} in all, "
          f"{core:,.0f} ({core / total:.0%}) inside pygrad's C core")


if __name__ == "__main__":
    main()
