"""The demo: a small training run in-process, and `python -m pygrad demo`
run as a user runs it."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from pygrad import Value
from pygrad.cli import _axis, boundary_text, moons_training
from pygrad.datasets import make_moons

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pygrad_cli(*args):
    return subprocess.run([sys.executable, "-m", "pygrad", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_make_moons():
    X, y = make_moons(100, noise=0.1, seed=3)
    assert len(X) == len(y) == 100 and all(len(p) == 2 for p in X)
    assert sorted(set(y)) == [-1, 1] and y.count(1) == 50
    assert make_moons(100, noise=0.1, seed=3) == (X, y)
    assert make_moons(100, noise=0.1, seed=4) != (X, y)
    clean, labels = make_moons(10, noise=0.0, seed=0)
    for (a, b), t in zip(clean, labels):  # on the unit circle, or the shifted one
        centre = (0.0, 0.0) if t == -1 else (1.0, 0.5)
        assert abs((a - centre[0]) ** 2 + (b - centre[1]) ** 2 - 1) < 1e-12
    with pytest.raises(ValueError, match="n must be an int of at least 2"):
        make_moons(1)


def test_small_training_run_reaches_high_accuracy():
    lines = []
    model, X, y, acc, per_step = moons_training(steps=60, log=lines.append)
    assert acc >= 0.95
    assert per_step > 0
    assert lines[0].startswith("training MLP(2, [16, 16, 1]) (337 parameters)")
    losses = [float(re.search(r"loss (\S+)", l).group(1)) for l in lines[1:]]
    assert losses[-1] < losses[0] / 5


def test_demo_command(tmp_path):
    r = pygrad_cli("demo", "--steps", "40", "--out", str(tmp_path / "pictures"))
    assert r.returncode == 0, r.stderr
    m = re.search(r"final accuracy (\d+)% after 40 steps; ([\d.]+) ms per step", r.stdout)
    assert m and int(m.group(1)) >= 90
    assert "step    0  loss" in r.stdout and "step   39  loss" in r.stdout
    written = set(os.listdir(tmp_path / "pictures"))
    try:
        import matplotlib  # noqa: F401
        with open(tmp_path / "pictures" / "moons.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert "matplotlib is not installed" in r.stdout
    if shutil.which("dot"):
        with open(tmp_path / "pictures" / "neuron.svg") as f:
            assert "<svg" in f.read()
    else:
        assert "neuron.svg" not in written and "Graphviz's dot is not installed" in r.stdout


def test_the_boundary_in_text_agrees_with_the_model():
    model, X, y, acc, _ = moons_training(steps=40, log=lambda line: None)
    text = boundary_text(model, X, y, cols=30, rows=12, unicode=False)
    lines = text.split("\n")
    assert lines[0] == lines[13] == "+" + "-" * 30 + "+" and len(lines) == 15
    rows = [line[1:-1] for line in reversed(lines[1:13])]  # bottom row first
    assert all(len(line) == 32 and line[0] == line[-1] == "|" for line in lines[1:13])
    # Every cell: shaded exactly where the model, built afresh op by op,
    # scores the cell's centre above 0 (points drawn over their cells).
    xs, ys = _axis(X, 0, 30), _axis(X, 1, 12)
    for j, b in enumerate(ys):
        for i, a in enumerate(xs):
            if rows[j][i] in ".  ":
                assert (rows[j][i] == ".") == (model([Value(a), Value(b)]).data > 0)
    marks = sum(line.count("o") + line.count("x") + line.count("!") for line in rows)
    assert 50 <= marks <= 100  # points sharing a cell share a mark
    wrong = int(re.search(r"! a point it gets wrong \((\d+)\)", lines[14]).group(1))
    assert wrong == round((1 - acc) * len(X))
    fancy = boundary_text(model, X, y, cols=30, rows=12)
    assert "\u2591" in fancy and "\u25cf" in fancy and "\u25cb" in fancy


def test_demo_prints_what_it_learned(tmp_path):
    r = pygrad_cli("demo", "--steps", "40", "--no-plot", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    picture = r.stdout.split("what it learned:\n")[1].split("\n")
    assert picture[0] == picture[23] == "+" + "-" * 64 + "+"
    accuracy = int(re.search(r"final accuracy (\d+)%", r.stdout).group(1))
    wrong = int(re.search(r"a point it gets wrong \((\d+)\)", picture[24]).group(1))
    assert wrong == 100 - accuracy


def test_explain_command_prints_each_step_and_draws(tmp_path):
    out = tmp_path / "we.svg"
    r = pygrad_cli("explain", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for line in ["dL/dd = dL/dL * dL/dd = 1 * -2 = -2    (dL/dd = f)",
                 "dL/da = dL/de * de/da = -2 * -3 = 6    (de/da = b)",
                 "dL/db = dL/de * de/db = -2 * 2 = -4    (de/db = a)",
                 "gradients: dL/da = 6, dL/db = -4, dL/dc = -2, dL/df = 4, dL/de = -2, "
                 "dL/dd = -2"]:
        assert line in r.stdout.split("\n")
    if shutil.which("dot"):
        drawing = out.read_text()
        assert "<svg" in drawing and "grad 6.0000" in drawing and "grad &#45;4.0000" in drawing
    else:
        assert not out.exists() and "Graphviz's dot is not installed" in r.stdout


@pytest.mark.parametrize("out, message", [
    (".", "is a folder: give a file name"),
    ("drawing.txt2", "needs a Graphviz format as its suffix"),
])
def test_explain_refuses_an_out_it_cannot_write(out, message):
    r = pygrad_cli("explain", "--out", out)
    assert r.returncode == 2 and message in r.stderr and r.stdout == ""


def test_demo_no_plot_and_rebuild(tmp_path):
    r = pygrad_cli("demo", "--steps", "3", "--rebuild", "--no-plot", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "rebuilding the graph" in r.stdout and "(rebuilt graph)" in r.stdout
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args,message", [
    (["demo", "--steps", "0"], "--steps: must be at least 1, not 0"),
    (["demo", "--steps", "ten"], "--steps: 'ten' is not a whole number"),
    (["demo", "--lr", "-1"], "--lr: must be a positive finite number"),
    (["demo", "--bogus"], "unrecognized arguments: --bogus"),
    (["fly"], "invalid choice: 'fly'"),
    ([], "the following arguments are required: command"),
])
def test_bad_options_exit_2_with_a_message(args, message):
    r = pygrad_cli(*args)
    assert r.returncode == 2
    assert message in r.stderr


def test_out_that_is_a_file_exits_2(tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    r = pygrad_cli("demo", "--steps", "1", "--out", str(f))
    assert r.returncode == 2 and "is not a folder" in r.stderr


def test_help_lists_the_subcommands():
    r = pygrad_cli("--help")
    assert r.returncode == 0 and "demo" in r.stdout
