"""Several threads building, differentiating and dropping graphs at once give
the same results as one thread, and leave no node behind."""
import threading

import pygrad
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


def random_job(seed):
    """A seeded random graph: build, backward, replay after a change, drop.
    Returns every number it saw."""
    import random
    rng = random.Random(seed)
    leaves = [Value(rng.uniform(-1, 1)) for _ in range(rng.randint(2, 6))]
    vals = list(leaves)
    for _ in range(rng.randint(5, 60)):
        a, b = rng.choice(vals), rng.choice(vals)
        op = rng.randrange(6)
        vals.append([a + b, a * b, a - b, (a * b).tanh(), (a + 1).relu(), a.sigmoid() * 2][op])
    root = vals[-1] + vals[len(vals) // 2]
    root.backward()
    first = (root.data, [v.grad for v in leaves])
    leaves[0].data += 0.5
    root.forward()
    return first, root.data


def test_stress_threads_for_a_bounded_time(live):
    import time
    deadline = time.monotonic() + 3.0
    done = {}
    errors = []

    def run(t):
        seed, out = t * 1_000_000, []
        try:
            while time.monotonic() < deadline:
                out.append((seed, random_job(seed)))
                seed += 1
        except BaseException as e:  # reported by the assertion below
            errors.append(e)
        done[t] = out

    threads = [threading.Thread(target=run, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    jobs = [job for out in done.values() for job in out]
    assert len(jobs) > 50
    for seed, result in jobs:  # the same jobs on one thread give the same numbers
        assert random_job(seed) == result
    assert live_now() == live


def recording():
    """Whether the calling thread records graphs now."""
    return (Value(1.0) * 2.0).op == "*"


def test_one_no_grad_instance_shared_by_threads():
    shared = pygrad.no_grad()
    step = threading.Barrier(2)
    seen = {}

    def nested():  # enters twice, and leaves the inner one while B is inside
        with shared:
            with shared:
                step.wait()  # 1: B has entered too
                step.wait()  # 2
            seen["A after inner"] = recording()
            step.wait()  # 3: B checks while A is still inside the outer one
            step.wait()  # 4
        seen["A after outer"] = recording()

    def single():
        step.wait()  # 1: A is inside twice
        with shared:
            step.wait()  # 2: A leaves its inner one
            step.wait()  # 3
            seen["B inside"] = recording()
        step.wait()  # 4
        seen["B after"] = recording()

    threads = [threading.Thread(target=nested), threading.Thread(target=single)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"A after inner": False, "B inside": False,
                    "A after outer": True, "B after": True}


def test_no_grad_decorator_used_by_threads_at_once():
    @pygrad.no_grad()
    def inside(gate):
        gate.wait()  # every thread inside at once
        first = recording()
        gate.wait()
        return first, recording()

    gate = threading.Barrier(6)
    results = {}

    def run(k):
        if k % 2:  # half call it from their own no_grad, half while recording
            with pygrad.no_grad():
                results[k] = inside(gate), recording()
        else:
            results[k] = inside(gate), recording()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {k: ((False, False), k % 2 == 0) for k in range(6)}
