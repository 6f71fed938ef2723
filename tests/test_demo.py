"""The demo: a small training run in-process, and `python -m pygrad demo`
run as a user runs it."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from pygrad.cli import moons_training
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
