"""The benchmark harness runs and writes what it promises; no timing is
asserted here (speed is measured in benchmarks/, not in tests)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quick_run_writes_its_results(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "run.py"), "--quick",
                        "--rounds", "1", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "results.json") as f:
        data = json.load(f)
    assert data["mode"] == "quick" and data["rounds"] == 1 and data["step_seconds"] > 0
    assert {"cpu", "cores", "python"} <= set(data["machine"])
    assert data["engines"][:2] == ["pygrad", "reference"]
    results = data["results"]
    for workload, metric in [("chain", "build_ns_per_node"), ("chain", "backward_ns_per_node"),
                             ("wide", "build_ns_per_node"), ("wide", "backward_ns_per_node"),
                             ("mlp", "step_ms"), ("replay", "step_ms"), ("memory", "bytes_per_node")]:
        for engine in ("pygrad", "reference"):
            s = results[workload][metric][engine]
            assert s["min"] <= s["median"] <= s["max"] and len(s["runs"]) == 1
            assert s["median"] > 0
        assert data["ratios"][f"{workload}.{metric}"]["pygrad"] == 1.0
    mnist = results["mnist"]["step_ms"]  # replayed, and rebuilt each step
    assert {"pygrad", "pygrad-rebuilt"} <= set(mnist) and mnist["pygrad"]["median"] > 0
    assert data["ratios"]["mnist.step_ms"]["pygrad-rebuilt"] > 0
    assert "x pygrad" in r.stdout and "wrote" in r.stdout


def test_hvp_benchmark_prints_both_graphs():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "hvp.py"), "--rounds", "1"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    rows = [line.split("|")[1:-1] for line in r.stdout.splitlines()[2:]]
    assert [row[0].strip()[:5] for row in rows] == ["chain", "MLP(2"]
    for row in rows:
        assert int(row[1].replace(",", "")) >= 100_000
        assert float(row[3]) > 0 and float(row[4]) > 0 and row[5].strip().endswith("x")
