"""A Hessian-vector product against backward() on the same graph, side by
side in one process: the ratio of their medians.

The product is pygrad.grad(create_graph=True), a dot with the vector, and
pygrad.grad again; freeing the derivative graph is counted in it. Two graphs
of about 100,000 nodes: a chain of cheap scalar ops over 100 inputs, and a
batch loss of the demo's MLP over its 337 parameters.

    python benchmarks/hvp.py [--rounds N]
    python benchmarks/hvp.py --counted    # counted under valgrind, not timed

On a machine whose memory is shared with others the timed ratio swings (the
product reads several times the memory backward() reads), so --counted also
gives, for one call of each, valgrind's count of instructions and of
simulated misses in a 1 MiB last-level cache (cachegrind), which do not
depend on the machine's load.
"""
import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import pygrad
from pygrad import Value, nn


def chain_graph():
    random.seed(1)
    xs = [Value(random.uniform(-1, 1)) for _ in range(100)]
    out = xs[0]
    while pygrad.stats()["live_nodes"] < 100_000:
        i = random.randrange(100)
        out = (out * xs[i]).tanh() + xs[(i + 1) % 100].sin() * 0.5
    return out, xs


def mlp_graph():
    random.seed(2)
    model = nn.MLP(2, [16, 16, 1])
    points = [[random.uniform(-2, 2), random.uniform(-2, 2)] for _ in range(1500)]
    labels = [random.choice([-1.0, 1.0]) for _ in points]
    loss = pygrad.sum([(1 - y * model(x)).relu() for x, y in zip(points, labels)])
    return loss, model.parameters()


def medians_ms(fns, rounds):
    """The median time of each of fns, in milliseconds: timed in turn, round
    after round, so that a change in the machine's speed reaches them alike,
    each run once untimed first so that each is timed warm, as in a loop."""
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, t in zip(fns, times):
            fn()
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [1e3 * statistics.median(t) for t in times]


GRAPHS = {"chain": ("chain of tanh, sin, *, +", chain_graph),
          "mlp": ("MLP(2, [16, 16, 1]) hinge loss, 1,500 points", mlp_graph)}


def setup(make):
    """The graph, its inputs, its node count, and its two calls: backward()
    and the product with a random vector."""
    out, inputs = make()
    nodes = pygrad.stats()["live_nodes"]
    v = [random.uniform(-1, 1) for _ in inputs]

    def hvp():
        g = pygrad.grad(out, inputs, create_graph=True)
        pygrad.grad(pygrad.dot(list(g), v), inputs)

    out.backward()
    hvp()
    return inputs, nodes, out.backward, hvp


def measure(graph, rounds):
    name, make = GRAPHS[graph]
    inputs, nodes, back, hvp = setup(make)
    b, h = medians_ms([back, hvp], rounds)
    print(f"| {name} | {nodes:,} | {len(inputs)} | {b:.3f} | {h:.2f} | {h / b:.1f}x |")


def cachegrind(graph, call, times):
    """Instructions and last-level misses of this script calling `call` on
    `graph` `times` times after its set-up, under cachegrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out")
        cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--LL=1048576,16,64",
               f"--cachegrind-out-file={out}", sys.executable, os.path.abspath(__file__),
               "--worker", graph, call, str(times)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(r.stderr[-2000:])
        with open(out) as f:
            text = f.read()
    events = re.search(r"^events: (.*)$", text, re.M).group(1).split()
    totals = dict(zip(events, map(int, re.search(r"^summary: (.*)$", text, re.M).group(1).split())))
    return totals["Ir"], totals["DLmr"] + totals["DLmw"]


def counted(graph):
    """One call of each, counted: the difference between 12 calls and 2,
    over 10, so that set-up and the arena's occasional tidying average out."""
    name, _ = GRAPHS[graph]
    per = {}
    for call in ("backward", "hvp"):
        few, more = cachegrind(graph, call, 2), cachegrind(graph, call, 12)
        per[call] = [(b - a) / 10 for a, b in zip(few, more)]
    (bi, bm), (hi, hm) = per["backward"], per["hvp"]
    print(f"| {name} | {bi / 1e6:.1f}M | {hi / 1e6:.1f}M | {hi / bi:.1f}x "
          f"| {bm / 1e3:,.0f}k | {hm / 1e3:,.0f}k | {hm / bm:.0f}x |")


def worker(graph, call, times):
    _, _, back, hvp = setup(GRAPHS[graph][1])
    fn = back if call == "backward" else hvp
    for _ in range(times):
        fn()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--counted", action="store_true",
                        help="count instructions and cache misses under valgrind instead of timing")
    parser.add_argument("--worker", nargs=3, metavar=("GRAPH", "CALL", "TIMES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        graph, call, times = args.worker
        worker(graph, call, int(times))
    elif args.counted:
        if shutil.which("valgrind") is None:
            sys.exit("valgrind is not installed (apt-get install valgrind)")
        print("| graph | backward() instructions | product instructions | ratio "
              "| backward() misses | product misses | ratio |")
        print("|---|---|---|---|---|---|---|")
        for graph in GRAPHS:
            counted(graph)
    else:
        print("| graph | nodes | inputs | backward() ms | Hessian-vector product ms | ratio |")
        print("|---|---|---|---|---|---|")
        for graph in GRAPHS:
            measure(graph, args.rounds)


if __name__ == "__main__":
    main()
