"""pygrad's benchmarks: pygrad against the pure-Python reference engine (and
micrograd and PyTorch where installed), side by side, several rounds.

    python benchmarks/run.py            # the full set, a few minutes
    python benchmarks/run.py --quick    # a reduced set, under a minute

Each engine runs each workload in a fresh process (chain and wide three
times over, the step workloads for at least a few steps and two seconds,
keeping the median); the engines alternate within a round.
Printed: median (min-max) per engine and the ratio of each engine's median
to pygrad's. Written: results.json and, with matplotlib,
ratios.png, into --out. Workloads:

  chain    x = relu(x*a + b) repeated (3 nodes a step): build, then backward
  wide     the sum of n products as a balanced tree: build, then backward
  mlp      one training step of micrograd's demo (MLP 2-16-16-1, 100 moons
           points, max-margin loss + L2), graph rebuilt each step; and
           PyTorch with tensors (nn.Linear layers, the whole batch at once)
  replay   the same step with pygrad's graph replay (forward(), backward(),
           step()), against the same step written by hand in C
  mnist    one SGD step of MLP(784, [50, 10]) with softmax cross-entropy on
           one example (random inputs from a fixed seed): pygrad replayed and
           rebuilt, micrograd (two steps, with squared error: it has no exp
           or log), PyTorch float64 tensors with a batch of one, and dense
           loops written by hand in C
  memory   resident bytes per live node over a chain of n nodes

Each engine builds its models the way its users do: micrograd, PyTorch's
scalars and the reference one operation at a time, pygrad with pygrad.nn
and its n-ary ops (a neuron is one dot node), PyTorch's tensors with
nn.Linear.
"""
import argparse
import gc
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ENGINES = ["pygrad", "reference", "micrograd", "torch"]
# Engines that run some workloads only: pygrad rebuilding the mnist graph
# every step, and PyTorch on whole tensors.
VARIANTS = {"pygrad-rebuilt": "pygrad", "torch-tensors": "torch"}
SIZES = {"full": {"chain": 100_000, "wide": 100_000, "mlp": 3, "replay": 30, "mnist": 30,
                  "memory": 1_000_000},
         "quick": {"chain": 20_000, "wide": 20_000, "mlp": 2, "replay": 10, "mnist": 10,
                   "memory": 200_000}}
# The workloads and metrics as the chart names them.
LABELS = {"chain.build_ns_per_node": "chain:\nbuild a node",
          "chain.backward_ns_per_node": "chain:\nbackward a node",
          "wide.build_ns_per_node": "wide sum:\nbuild a node",
          "wide.backward_ns_per_node": "wide sum:\nbackward a node",
          "mlp.step_ms": "demo training\nstep, graph\nrebuilt",
          "replay.step_ms": "demo training\nstep, pygrad's\ngraph replayed",
          "mnist.step_ms": "MNIST-sized\nMLP step, pygrad's\ngraph replayed",
          "memory.bytes_per_node": "memory\nper node"}
# The step workloads (mlp, replay) time at least SIZES[...] steps and at
# least this many seconds of steps, for every engine. Three 40 ms steps can
# all fall in one noisy half-second of a shared machine, which a 1.6 s step
# sits through and averages out; the time floor gives fast engines as many
# seconds of samples as slow ones get.
STEP_SECONDS = {"full": 2.0, "quick": 0.2}


# ---- Engines, loaded inside a worker process.

def load(engine):
    """The engine's Value constructor."""
    if engine == "pygrad":
        from pygrad import Value
        return Value
    if engine == "reference":
        sys.path.insert(0, HERE)
        from reference import Value
        return Value
    if engine == "micrograd":
        from micrograd.engine import Value
        sys.setrecursionlimit(10_000_000)  # its topological sort recurses
        return Value
    if engine in ("torch", "torch-tensors"):
        import torch
        torch.set_num_threads(1)

        def Value(x):
            return torch.tensor(float(x), dtype=torch.float64, requires_grad=True)
        return Value
    raise ValueError(engine)


def available(engine):
    """Whether the engine can be imported here, without importing it."""
    import importlib.util
    engine = VARIANTS.get(engine, engine)
    if engine in ("pygrad", "reference"):
        return True
    return importlib.util.find_spec(engine) is not None


# ---- Workloads, run inside a worker process; each returns its figures.

def repeated(build_and_backward, reps=3):
    """Runs a build-then-backward workload reps times in this process and
    returns the median of each figure, so that one slow moment of a noisy
    machine does not decide a short run. Garbage is collected between runs,
    untimed."""
    runs = []
    for _ in range(reps):
        runs.append(build_and_backward())
        gc.collect()
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def chain(V, n):
    def once():
        a, b, x = V(0.5), V(0.1), V(1.0)
        t0 = time.perf_counter()
        for _ in range(n):
            x = (x * a + b).relu()
        t1 = time.perf_counter()
        x.backward()
        t2 = time.perf_counter()
        return {"build_ns_per_node": (t1 - t0) / (3 * n) * 1e9,
                "backward_ns_per_node": (t2 - t1) / (3 * n) * 1e9}
    return repeated(once)


def wide(V, n):
    def once():
        rng = random.Random(0)
        xs = [V(rng.uniform(-1, 1)) for _ in range(n)]
        ys = [V(rng.uniform(-1, 1)) for _ in range(n)]
        t0 = time.perf_counter()
        level = [x * y for x, y in zip(xs, ys)]
        while len(level) > 1:
            pairs = [level[k] + level[k + 1] for k in range(0, len(level) - 1, 2)]
            level = pairs + ([level[-1]] if len(level) % 2 else [])
        t1 = time.perf_counter()
        level[0].backward()
        t2 = time.perf_counter()
        nodes = 2 * n - 1
        return {"build_ns_per_node": (t1 - t0) / nodes * 1e9,
                "backward_ns_per_node": (t2 - t1) / nodes * 1e9}
    return repeated(once)


def moons_model(V):
    """micrograd's demo model and data, built from V: (params, layers, X, y)."""
    from pygrad.datasets import make_moons
    X, y = make_moons(100, noise=0.1, seed=1337)
    rng = random.Random(1337)
    sizes = [2, 16, 16, 1]
    layers = [[([V(rng.uniform(-1, 1)) for _ in range(sizes[k])], V(0.0)) for _ in range(sizes[k + 1])]
              for k in range(3)]
    params = [p for layer in layers for w, b in layer for p in w + [b]]
    return params, layers, X, y


def moons_loss(params, layers, X, y):
    """micrograd's demo loss: mean(relu(1 - y * score)) + 1e-4 * sum(p * p)."""
    losses = []
    for x, t in zip(X, y):
        h = x
        for k, layer in enumerate(layers):
            out = []
            for w, b in layer:
                act = b
                for wi, xi in zip(w, h):
                    act = act + wi * xi
                out.append(act.relu() if k < len(layers) - 1 else act)
            h = out
        losses.append((1 - t * h[0]).relu())
    return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in params)


def timed_steps(step, steps, seconds):
    """Times step() after one warm-up call: at least `steps` calls and at
    least `seconds` of them. Returns the median in ms."""
    step()
    times = []
    start = time.perf_counter()
    while len(times) < steps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def pygrad_moons_loss():
    """The demo's model and loss the way pygrad's users write them: nn.MLP,
    whose weights are drawn as moons_model draws them, and n-ary ops for the
    sums. Returns (build, params): build() makes the loss."""
    import pygrad
    from pygrad.datasets import make_moons
    X, y = make_moons(100, noise=0.1, seed=1337)
    random.seed(1337)
    model = pygrad.nn.MLP(2, [16, 16, 1])
    params = model.parameters()

    def build():
        losses = [(1 - t * model(x)).relu() for x, t in zip(X, y)]
        return pygrad.sum(losses) * (1.0 / len(losses)) + 1e-4 * pygrad.dot(params, params)
    return build, params


def torch_tensors_step(lr=0.01):
    """The demo's step in PyTorch as its users write it: nn.Linear layers over
    the whole batch of float64 tensors, one thread."""
    import torch
    from pygrad.datasets import make_moons
    X, y = make_moons(100, noise=0.1, seed=1337)
    torch.manual_seed(1337)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                                torch.nn.ReLU(), torch.nn.Linear(16, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    xs = torch.tensor(X, dtype=torch.float64)
    ys = torch.tensor(y, dtype=torch.float64)

    def step():
        scores = model(xs)[:, 0]
        loss = torch.relu(1 - ys * scores).mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def mlp(V, steps, seconds, engine):
    if engine == "torch-tensors":
        return {"step_ms": timed_steps(torch_tensors_step(), steps, seconds)}
    if engine == "pygrad":
        from pygrad.optim import SGD
        build, params = pygrad_moons_loss()
        opt = SGD(params, lr=0.01)

        def step():
            loss = build()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return {"step_ms": timed_steps(step, steps, seconds)}
    params, layers, X, y = moons_model(V)

    def zero_grad():
        for p in params:
            p.grad = None if engine == "torch" else 0.0

    def update():
        for p in params:
            p.data -= 0.01 * p.grad

    def step():
        loss = moons_loss(params, layers, X, y)
        zero_grad()
        loss.backward()
        update()
    return {"step_ms": timed_steps(step, steps, seconds)}


def replay(V, steps, seconds):
    from pygrad.optim import SGD
    build, params = pygrad_moons_loss()
    opt = SGD(params, lr=0.01)
    loss = build()

    def step():
        loss.forward()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"step_ms": timed_steps(step, steps, seconds)}


MNIST_SIZES = (784, 50, 10)


def mnist_examples(k=8):
    """k examples of random pixels in [0, 1) and labels, from a fixed seed."""
    import array
    rng = random.Random(784)
    return ([array.array("d", [rng.random() for _ in range(MNIST_SIZES[0])]) for _ in range(k)],
            [rng.randrange(MNIST_SIZES[2]) for _ in range(k)])


def mnist(engine, steps, seconds, lr=0.01):
    """One SGD step on one example of MLP(784, [50, 10]) with softmax
    cross-entropy (micrograd: squared error), cycling through the examples."""
    nin, hidden, nout = MNIST_SIZES
    xs, labels = mnist_examples()
    k = [0]

    def example():
        k[0] = (k[0] + 1) % len(xs)
        return xs[k[0]], labels[k[0]]
    random.seed(0)
    if engine == "torch":
        import torch
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(nin, hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, nout)).double()
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        txs = [torch.tensor([list(x)], dtype=torch.float64) for x in xs]
        tys = [torch.tensor([t]) for t in labels]

        def step():
            k[0] = (k[0] + 1) % len(xs)
            loss = torch.nn.functional.cross_entropy(model(txs[k[0]]), tys[k[0]])
            opt.zero_grad()
            loss.backward()
            opt.step()
    elif engine == "micrograd":
        from micrograd.nn import MLP
        model = MLP(nin, [hidden, nout])
        params = model.parameters()
        steps = 2  # each takes more than a second

        def step():
            x, t = example()
            out = model(list(x))
            loss = sum((o - (1.0 if j == t else 0.0)) ** 2 for j, o in enumerate(out))
            model.zero_grad()
            loss.backward()
            for p in params:
                p.data -= lr * p.grad
    else:
        import pygrad
        from pygrad import Leaves, Value, nn
        from pygrad.optim import SGD
        model = nn.MLP(nin, [hidden, nout])
        opt = SGD(model.parameters(), lr=lr)
        if engine == "pygrad-rebuilt":
            def step():
                x, t = example()
                loss = nn.cross_entropy(model(list(x)), t)
                opt.zero_grad()
                loss.backward()
                opt.step()
        else:  # replayed: the inputs and the one-hot target are leaves set each step
            inputs = [Value(0.0) for _ in range(nin)]
            onehot = [Value(0.0) for _ in range(nout)]
            feed, target = Leaves(inputs), Leaves(onehot)
            logits = model(inputs)
            loss = pygrad.logsumexp(logits) - pygrad.dot(onehot, logits)
            codes = [[1.0 if j == t else 0.0 for j in range(nout)] for t in range(nout)]

            def step():
                x, t = example()
                feed.set(x)
                target.set(codes[t])
                loss.forward()
                opt.zero_grad()
                loss.backward()
                opt.step()
    return {"step_ms": timed_steps(step, steps, seconds)}


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory(V, n):
    gc.collect()
    before = rss()
    one, x = V(1.0), V(0.0)
    for _ in range(n):
        x = x + one
    gc.collect()
    return {"bytes_per_node": (rss() - before) / n}


def worker(engine, workload, size, seconds):
    V = load(VARIANTS.get(engine, engine)) if workload != "mnist" else None
    if workload == "mlp":
        return mlp(V, size, seconds, engine)
    if workload == "replay":
        return replay(V, size, seconds)
    if workload == "mnist":
        return mnist(engine, size, seconds)
    return {"chain": chain, "wide": wide, "memory": memory}[workload](V, size)


# ---- The parent: rounds of worker processes, then the report.

def handwritten(out, sizes):
    """Builds and runs benchmarks/handwritten.c; None without a C compiler."""
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None
    exe = os.path.join(out, "handwritten")
    subprocess.run([cc, "-O2", "-o", exe, os.path.join(HERE, "handwritten.c"), "-lm"], check=True)
    chain = json.loads(subprocess.run([exe, "chain", str(sizes["chain"])], check=True,
                                      capture_output=True, text=True).stdout)
    step = json.loads(subprocess.run([exe, "mlp", "50"], check=True,
                                     capture_output=True, text=True).stdout)
    dense = json.loads(subprocess.run([exe, "mnist", "2001"], check=True,
                                      capture_output=True, text=True).stdout)
    return {"chain": {"backward_ns_per_node": chain["backward_s"] / chain["nodes"] * 1e9},
            "replay": {"step_ms": step["step_s"] * 1e3, "nodes": step["nodes"]},
            "mnist": {"step_ms": dense["step_s"] * 1e3}}


def run_worker(engine, workload, size, seconds):
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", engine, workload,
                        str(size), str(seconds)], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"{engine} {workload} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def summary(values):
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": values}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def report(results, floor):
    """Prints the table; returns {workload.metric: {engine: engine median / pygrad median}}."""
    ratios = {}
    print(f"\n{'workload':9} {'metric':22} {'engine':10} {'median':>10} {'min':>10} {'max':>10} {'x pygrad':>9}")
    for workload, metrics in results.items():
        for metric, by_engine in metrics.items():
            base = by_engine["pygrad"]["median"]
            key = f"{workload}.{metric}"
            ratios[key] = {}
            for engine, s in by_engine.items():
                ratio = s["median"] / base
                ratios[key][engine] = ratio
                print(f"{workload:9} {metric:22} {engine:10} {s['median']:10.4g} {s['min']:10.4g} "
                      f"{s['max']:10.4g} {ratio:9.4g}")
            if workload in floor and metric in floor[workload]:
                c = floor[workload][metric]
                ratios[key]["handwritten C"] = c / base
                print(f"{workload:9} {metric:22} {'C by hand':10} {c:10.4g} {'':>10} {'':>10} "
                      f"{c / base:9.4g}")
    return ratios


def chart(ratios, path):
    """A bar chart of how many times slower each engine is than pygrad."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [k for k in ratios if len(ratios[k]) > 1]
    names = {"reference": "pure-Python reference", "micrograd": "micrograd",
             "torch": "PyTorch scalars (MNIST: a batch of 1)",
             "torch-tensors": "PyTorch tensors, whole batch",
             "pygrad-rebuilt": "pygrad, graph rebuilt each step",
             "handwritten C": "C written by hand"}
    engines = [e for e in names if any(e in ratios[k] for k in keys)]
    fig, ax = plt.subplots(figsize=(12, 6))
    width = 0.8 / max(1, len(engines))
    for n, engine in enumerate(engines):
        xs = [k + n * width for k in range(len(keys)) if engine in ratios[keys[k]]]
        ax.bar(xs, [ratios[k][engine] for k in keys if engine in ratios[k]], width,
               label=names[engine])
    ax.set_yscale("log")
    ax.axhline(1, color="black", linewidth=0.8)
    ax.set_xticks([k + width * (len(engines) - 1) / 2 for k in range(len(keys))],
                  [LABELS.get(k, k) for k in keys], rotation=0, fontsize=7)
    ax.set_title("How many times pygrad's time (or memory) each engine takes; "
                 "above the line, pygrad is faster", fontsize=9)
    ax.set_ylabel("times pygrad's time or memory")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes and engines, under a minute")
    parser.add_argument("--rounds", type=int, help="rounds (default 5, quick 2)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help="engines to run where installed (default: all four)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for results")
    parser.add_argument("--worker", nargs=4, metavar=("ENGINE", "WORKLOAD", "SIZE", "SECONDS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        engine, workload, size, seconds = args.worker
        print(json.dumps(worker(engine, workload, int(size), float(seconds))))
        return 0

    mode = "quick" if args.quick else "full"
    sizes = SIZES[mode]
    rounds = args.rounds or (2 if args.quick else 5)
    wanted = args.engines.split(",")
    unknown = set(wanted) - set(ENGINES)
    if unknown or "pygrad" not in wanted:
        parser.error(f"--engines takes pygrad and any of {ENGINES[1:]}")
    if args.quick:
        wanted = [e for e in wanted if e in ("pygrad", "reference")]
    engines = [e for e in wanted if available(e)]
    os.makedirs(args.out, exist_ok=True)
    print(f"pygrad benchmarks ({mode}): {', '.join(engines)}; {rounds} rounds; "
          f"{machine()['cpu']}, Python {platform.python_version()}")

    tensors = ["torch-tensors"] if "torch" in engines else []
    workloads = {"chain": engines, "wide": engines, "mlp": engines + tensors,
                 "replay": ["pygrad"],
                 "mnist": [e for e in ["pygrad", "pygrad-rebuilt", "micrograd", "torch"]
                           if e == "pygrad-rebuilt" or e in engines],
                 "memory": engines}
    raw = {w: {} for w in workloads}
    for r in range(rounds):
        for workload, names in workloads.items():
            order = names if r % 2 == 0 else names[::-1]  # alternate who goes first
            for engine in order:
                figures = run_worker(engine, workload, sizes[workload], STEP_SECONDS[mode])
                for metric, value in figures.items():
                    raw[workload].setdefault(metric, {}).setdefault(engine, []).append(value)
        print(f"round {r + 1}/{rounds} done", flush=True)
    results = {w: {m: {e: summary(v) for e, v in by_e.items()} for m, by_e in ms.items()}
               for w, ms in raw.items()}
    # The replay step against the rebuilt step of the other engines.
    for engine in engines[1:] + tensors:
        results["replay"]["step_ms"][engine] = results["mlp"]["step_ms"][engine]
    with tempfile.TemporaryDirectory() as tmp:
        floor = handwritten(tmp, sizes) or {}
    ratios = report(results, floor)
    data = {"command": " ".join(["python", "benchmarks/run.py"] + (argv or sys.argv[1:])),
            "mode": mode, "rounds": rounds, "sizes": sizes,
            "step_seconds": STEP_SECONDS[mode], "machine": machine(),
            "engines": engines, "results": results, "handwritten_c": floor, "ratios": ratios,
            "date": time.strftime("%Y-%m-%d")}
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump(data, f, indent=1)
    print(f"\nwrote {path}")
    if chart(ratios, os.path.join(args.out, "ratios.png")):
        print(f"wrote {os.path.join(args.out, 'ratios.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
