"""Several threads building, differentiating and dropping graphs at once give
the same results as one thread, and leave no node behind."""
import threading

from pygrad import Value
from helpers import live_now


def workload(seed, rounds=30):
    """Builds and differentiates small MLP-like graphs; returns every number seen."""
    out = []
    for r in range(rounds):
        ws = [Value((seed * 7 + r * 3 + k) % 11 / 10 - 0.5) for k in range(12)]
        xs = [((seed + k) % 5) / 4 for k in range(4)]
        h = [sum(w * x for w, x in zip(ws[4 * j:4 * j + 4], xs)).tanh() for j in range(3)]
        loss = (h[0] * h[1] - h[2]).relu() + (h[0] - 0.25) ** 2
        loss.backward()
        out.append((loss.data, tuple(w.grad for w in ws)))
    return out


def test_threads_build_graphs_at_once(live):
    expected = {seed: workload(seed) for seed in range(8)}
    results = {}
    start = threading.Barrier(8)

    def run(seed):
        start.wait()
        results[seed] = workload(seed)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected
    assert live_now() == live


def test_threads_share_one_graph(live):
    x = Value(0.3)
    y = (x * x).tanh() * 2
    results = []

    def differentiate():
        local = []
        for _ in range(200):
            z = y * 1.0  # a new root over the shared graph
            z.backward()
            local.append(z.data)
        results.append(local)

    threads = [threading.Thread(target=differentiate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == [y.data] * 200 for r in results)
    del x, y
    assert live_now() == live
