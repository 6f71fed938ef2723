"""The installed package: one version everywhere, type information shipped,
metadata that says what CI checks."""
import importlib.metadata
import os
import re
import subprocess
import sys

import pygrad

HERE = os.path.dirname(os.path.abspath(__file__))


def test_one_version_everywhere():
    assert re.fullmatch(r"\d+\.\d+\.\d+", pygrad.__version__)
    assert importlib.metadata.version("pygrad") == pygrad.__version__
    out = subprocess.run([sys.executable, "-m", "pygrad", "--version"], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == f"pygrad {pygrad.__version__}"


def test_type_information_is_shipped():
    assert os.path.isfile(os.path.join(os.path.dirname(pygrad.__file__), "py.typed"))


def test_metadata_names_licence_versions_and_keywords():
    meta = importlib.metadata.metadata("pygrad")
    assert meta["License-Expression"] == "MIT"
    classifiers = meta.get_all("Classifier")
    for minor in range(9, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers
    assert "Typing :: Typed" in classifiers
    assert "autograd" in meta["Keywords"]
    assert meta["Requires-Python"] == ">=3.9"


def test_licence_is_the_mit_text():
    with open(os.path.join(HERE, os.pardir, "LICENSE")) as f:
        text = f.read()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
