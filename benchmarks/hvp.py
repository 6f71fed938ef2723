"""A Hessian-vector product against backward() on the same graph, side by
side in one process: the ratio of their medians.

The product is pygrad.grad(create_graph=True), a dot with the vector, and
pygrad.grad again; freeing the derivative graph is counted in it. Two graphs
of about 100,000 nodes: a chain of cheap scalar ops over 100 inputs, and a
batch loss of the demo's MLP over its 337 parameters.

    python benchmarks/hvp.py [--rounds N]
"""
import argparse
import random
import statistics
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


def measure(name, make, rounds):
    out, inputs = make()
    nodes = pygrad.stats()["live_nodes"]
    v = [random.uniform(-1, 1) for _ in inputs]

    def hvp():
        g = pygrad.grad(out, inputs, create_graph=True)
        pygrad.grad(pygrad.dot(list(g), v), inputs)

    out.backward()
    hvp()
    back, prod = medians_ms([out.backward, hvp], rounds)
    print(f"| {name} | {nodes:,} | {len(inputs)} | {back:.3f} | {prod:.2f} | {prod / back:.1f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    print("| graph | nodes | inputs | backward() ms | Hessian-vector product ms | ratio |")
    print("|---|---|---|---|---|---|")
    measure("chain of tanh, sin, *, +", chain_graph, args.rounds)
    measure("MLP(2, [16, 16, 1]) hinge loss, 1,500 points", mlp_graph, args.rounds)


if __name__ == "__main__":
    main()
