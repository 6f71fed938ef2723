"""Where a replayed MNIST-sized step goes, pass by pass, and what one
example's graph costs in memory built by pygrad.nn against one node an
operation (as micrograd builds it).

    python benchmarks/passes.py

MLP(784, [50, 10]) and softmax cross-entropy, as benchmarks/run.py's mnist
workload. Each pass is timed alone, median of 2,000 calls; memory is the
resident growth over 20 graphs of one example, per graph.
"""
import array
import gc
import os
import random
import statistics
import time

import pygrad
from pygrad import Leaves, Value, nn
from pygrad.optim import SGD

SIZES = (784, 50, 10)


def median_us(call, n=2000):
    call()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e6


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def per_op(model, x):
    """model's outputs built one node an operation, as micrograd builds them."""
    for layer in model.layers:
        out = []
        for n in layer.neurons:
            act = n.b
            for w, xi in zip(n.w, x):
                act = act + w * xi
            out.append(act.relu() if n.nonlin else act)
        x = out
    return x


def graph_bytes(build):
    """(resident bytes, live nodes) of one graph from build(), over 20."""
    gc.collect()
    before, live = rss(), pygrad.stats()["live_nodes"]
    graphs = [build() for _ in range(20)]
    gc.collect()
    grown, nodes = rss() - before, pygrad.stats()["live_nodes"] - live
    del graphs
    return grown / 20, nodes / 20


def main():
    nin, hidden, nout = SIZES
    random.seed(0)
    model = nn.MLP(nin, [hidden, nout])
    opt = SGD(model.parameters(), lr=0.01)
    inputs = [Value(0.0) for _ in range(nin)]
    feed = Leaves(inputs)
    loss = nn.cross_entropy(model(inputs), 3)
    x = array.array("d", [random.random() for _ in range(nin)])
    print("replayed MNIST-sized step, microseconds a pass (median of 2,000):")
    for name, call in [("Leaves.set", lambda: feed.set(x)), ("forward", loss.forward),
                       ("zero_grad", opt.zero_grad), ("backward", loss.backward),
                       ("step", opt.step)]:
        print(f"  {name:10} {median_us(call):7.1f}")
    example = list(x)
    multiply_adds = nin * hidden + hidden * nout
    print("one example's graph:")
    for name, build in [("pygrad.nn", lambda: model(example)),
                        ("one node an operation", lambda: per_op(model, example))]:
        size, nodes = graph_bytes(build)
        print(f"  {name:22} {size / 1e3:8.0f} KB, {nodes:8.0f} nodes, "
              f"{size / nodes:6.1f} bytes a node, {size / multiply_adds:6.1f} a multiply-add")


if __name__ == "__main__":
    main()
