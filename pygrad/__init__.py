"""pygrad: scalar reverse-mode autograd with a compiled C core.

    from pygrad import Value
    a, b = Value(2.0), Value(-3.0)
    y = (a * b + 10).tanh()
    y.backward()
    a.grad, b.grad
"""
from .value import Value, Leaves, no_grad, stats
from . import interrupts
from .export import draw_dot, graph, render
from . import datasets, nn, optim

__all__ = ["Value", "Leaves", "no_grad", "stats", "draw_dot", "graph", "render",
           "datasets", "nn", "optim"]
__version__ = "0.1.0"
