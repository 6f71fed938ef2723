"""The `python -m pygrad` command line."""
from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

from . import __version__, nary
from .datasets import make_moons
from .nn import MLP, Neuron, Outputs
from .optim import SGD
from .value import Leaves, Value


def moons_training(steps: int = 100, seed: int = 1337, lr: float = 1.0, rebuild: bool = False,
                   log: Callable[[str], None] = print
                   ) -> Tuple[MLP, List[List[float]], List[int], float, float]:
    """Trains MLP(2, [16, 16, 1]) on 100 two-moons points with micrograd's
    demo loss: mean(relu(1 - y * score)) + 1e-4 * sum(p * p), and SGD whose
    learning rate falls linearly from lr to lr / 10.

    The graph over the whole batch is built once and replayed each step
    (loss.forward(), loss.backward(), opt.step(): three calls into C), or
    rebuilt from Python each step when rebuild is True, as micrograd does.
    Returns (model, X, y, final accuracy, seconds per step)."""
    random.seed(seed)
    X, y = make_moons(100, noise=0.1, seed=seed)
    model = MLP(2, [16, 16, 1])
    params = model.parameters()
    opt = SGD(params, lr=lr)

    def build() -> Tuple[Value, List[Value]]:
        # The sums as single nodes: the same bits as micrograd's sum(),
        # which adds left to right too.
        scores = [_one(model(x)) for x in X]
        losses = [(1 - yi * si).relu() for yi, si in zip(y, scores)]
        data_loss = nary.sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * nary.dot(params, params)
        return data_loss + reg_loss, scores

    def accuracy(scores: List[Value]) -> float:
        return sum((yi > 0) == (si.data > 0) for yi, si in zip(y, scores)) / len(y)

    log(f"training MLP(2, [16, 16, 1]) ({len(params)} parameters) on {len(X)} points, "
        f"{'rebuilding the graph' if rebuild else 'replaying one graph'} each step")
    loss, scores = build()
    start = time.perf_counter()
    for k in range(steps):
        if k > 0:
            if rebuild:
                loss, scores = build()
            else:
                loss.forward()
        opt.zero_grad()
        loss.backward()
        opt.lr = lr * (1.0 - 0.9 * k / steps)
        opt.step()
        if k % 10 == 0 or k == steps - 1:
            log(f"step {k:4d}  loss {loss.data:.4f}  accuracy {accuracy(scores):.0%}")
    per_step = (time.perf_counter() - start) / steps
    loss.forward()
    return model, X, y, accuracy(scores), per_step


def _axis(X: List[List[float]], k: int, size: int) -> List[float]:
    """size evenly spaced points over coordinate k of the points, with a margin."""
    lo, hi = min(p[k] for p in X) - 0.5, max(p[k] for p in X) + 0.5
    return [lo + (hi - lo) * j / (size - 1) for j in range(size)]


def _side(model: MLP) -> Callable[[float, float], bool]:
    """Whether the model scores a point above 0: one graph over two input
    leaves, replayed for each point asked about."""
    u, v = Value(0.0), Value(0.0)
    score = _one(model([u, v]))
    inputs = Leaves([u, v])

    def side(a: float, b: float) -> bool:
        inputs.set([a, b])
        return score.forward() > 0
    return side


def _sides(model: MLP, xs: List[float], ys: List[float]) -> List[List[bool]]:
    """Whether the model scores each grid point (xs[i], ys[j]) above 0, by rows of ys."""
    side = _side(model)
    return [[side(a, b) for a in xs] for b in ys]


def boundary_text(model: MLP, X: List[List[float]], y: List[int], cols: int = 64,
                  rows: int = 22, unicode: bool = True) -> str:
    """The model's decision boundary over the points as text: the +1 side
    shaded, each point drawn in its cell (a filled mark for +1, an open one
    for -1, X where the model gets it wrong), top row highest; ASCII only
    when unicode is False."""
    xs, ys = _axis(X, 0, cols), _axis(X, 1, rows)
    grid = _sides(model, xs, ys)
    side = _side(model)
    shade, plus, minus, miss = ("\u2591", "\u25cf", "\u25cb", "X") if unicode else (".", "o", "x", "!")
    cells = [[shade if above else " " for above in row] for row in grid]
    step_x, step_y = xs[1] - xs[0], ys[1] - ys[0]
    wrong = 0
    for (a, b), t in zip(X, y):
        i, j = round((a - xs[0]) / step_x), round((b - ys[0]) / step_y)
        right = side(a, b) == (t > 0)
        wrong += not right
        cells[j][i] = miss if not right else plus if t > 0 else minus
    border = "+" + "-" * cols + "+"
    lines = [border] + ["|" + "".join(row) + "|" for row in reversed(cells)] + [border]
    lines.append(f"{shade} the model says +1   {plus} a +1 point   {minus} a -1 point   "
                 f"{miss} a point it gets wrong ({wrong})")
    return "\n".join(lines)


def plot_boundary(model: MLP, X: List[List[float]], y: List[int], path: str,
                  size: int = 80) -> None:
    """Writes the model's decision boundary over the points as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs, ys = _axis(X, 0, size), _axis(X, 1, size)
    grid = [[1.0 if side else 0.0 for side in row] for row in _sides(model, xs, ys)]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xs, ys, grid, levels=[-0.5, 0.5, 1.5], colors=["#f4c7a1", "#a9c8ec"], alpha=0.8)
    ax.scatter([p[0] for p in X], [p[1] for p in X], c=["#c0392b" if t < 0 else "#1f5fa8" for t in y],
               s=22, edgecolors="black", linewidths=0.5)
    ax.set_title("pygrad: MLP(2, [16, 16, 1]) on two moons")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _one(out: Outputs) -> Value:
    """A one-output model's Value."""
    assert isinstance(out, Value)
    return out


def draw_neuron(path: str) -> None:
    """Draws one tanh neuron's graph, with its gradients, as an SVG."""
    from .export import render
    random.seed(0)
    n = Neuron(2, activation="tanh")
    for k, w in enumerate(n.w):
        w.label = f"w{k}"
    n.b.label = "b"
    out = n([Value(2.0, "x0"), Value(-1.0, "x1")])
    out.label = "out"
    out.backward()
    render(out, path)


def demo(args: argparse.Namespace) -> int:
    model, X, y, acc, per_step = moons_training(args.steps, args.seed, args.lr, args.rebuild)
    print(f"final accuracy {acc:.0%} after {args.steps} steps; "
          f"{per_step * 1e3:.2f} ms per step ({'rebuilt' if args.rebuild else 'replayed'} graph)")
    os.makedirs(args.out, exist_ok=True)
    print("what it learned:")
    print(boundary_text(model, X, y, unicode=_can_write("\u2591\u25cf\u25cb")))
    if args.no_plot:
        return 0
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print('matplotlib is not installed (pip install "pygrad[demo]"): '
              "no decision-boundary picture")
    else:
        path = os.path.join(args.out, "moons.png")
        plot_boundary(model, X, y, path)
        print(f"wrote {path}")
    if shutil.which("dot") is None:
        print("Graphviz's dot is not installed (apt-get install graphviz): no neuron drawing")
    else:
        path = os.path.join(args.out, "neuron.svg")
        draw_neuron(path)
        print(f"wrote {path}")
    return 0


def _can_write(text: str) -> bool:
    """Whether standard output's encoding can write text."""
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def explain_command(args: argparse.Namespace) -> int:
    """Prints the backward pass of the tutorials' worked example, step by
    step, and draws its graph with the gradients."""
    from .export import render
    from .teach import explain, worked_example
    a, b, c, f, e, d, L = worked_example()
    print("the worked example: e = a * b; d = e + c; L = d * f, "
          "with a = 2, b = -3, c = 10, f = -2")
    print(f"L = {L.data:g}; backpropagating from L:")
    print(explain(L))
    print("gradients: " + ", ".join(f"dL/d{v.label} = {v.grad:g}" for v in (a, b, c, f, e, d)))
    if shutil.which("dot") is None:
        print("Graphviz's dot is not installed (apt-get install graphviz): no drawing")
    else:
        render(L, args.out)
        print(f"wrote {args.out}")
    return 0


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def _positive_float(text: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not x > 0 or x == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, not {text}")
    return x


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pygrad",
        description="pygrad: scalar reverse-mode autograd with a compiled C core.")
    parser.add_argument("--version", action="version", version=f"pygrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    d = sub.add_parser("demo", help="train a small MLP on two moons and draw what it learned",
                       description="Trains MLP(2, [16, 16, 1]) on 100 two-moons points as "
                                   "micrograd's demo does, then writes moons.png (the decision "
                                   "boundary; needs matplotlib) and neuron.svg (one neuron's "
                                   "graph; needs Graphviz's dot) into --out.")
    d.add_argument("--steps", type=_positive_int, default=100, help="training steps (default 100)")
    d.add_argument("--seed", type=int, default=1337, help="seed for data and weights (default 1337)")
    d.add_argument("--lr", type=_positive_float, default=1.0,
                   help="initial learning rate, falling linearly to a tenth (default 1.0)")
    d.add_argument("--out", default=".", help="folder for the pictures (default: here)")
    d.add_argument("--no-plot", action="store_true", help="write no pictures")
    d.add_argument("--rebuild", action="store_true",
                   help="rebuild the graph from Python each step instead of replaying it")
    x = sub.add_parser("explain", help="explain backprop on the tutorials' worked example",
                       description="Builds the worked example of the backprop tutorials "
                                   "(e = a*b, d = e + c, L = d*f), prints each step of its "
                                   "backward pass in the chain rule's notation, and draws "
                                   "the graph with its gradients into --out (needs "
                                   "Graphviz's dot).")
    x.add_argument("--out", default="worked_example.svg",
                   help="the drawing's file; its suffix names the format "
                        "(default worked_example.svg)")
    args = parser.parse_args(argv)
    if args.command == "explain":
        if os.path.isdir(args.out):
            parser.error(f"--out {args.out!r} is a folder: give a file name such as "
                         f"{os.path.join(args.out, 'worked_example.svg')!r}")
        import graphviz
        if os.path.splitext(args.out)[1][1:].lower() not in graphviz.FORMATS:
            parser.error(f"--out {args.out!r} needs a Graphviz format as its suffix, "
                         f"such as .svg, .png or .pdf")
        return explain_command(args)
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        parser.error(f"--out {args.out!r} exists and is not a folder")
    return demo(args)
