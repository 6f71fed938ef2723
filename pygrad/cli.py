"""The `python -m pygrad` subcommands."""
import argparse

from .value import Value


def worked_example():
    """The classic worked example: values and gradients of L = (a*b + c) * f."""
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    d = e + c
    L = d * f
    L.backward()
    print(f"L = {L.data}")
    for v in (a, b, c, f):
        print(f"dL/d{v.label} = {v.grad}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m pygrad", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the worked example")
    args = parser.parse_args(argv)
    if args.command == "demo":
        worked_example()
    return 0
