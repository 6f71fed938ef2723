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
# pygrad.sum is left out of __all__, so that `from pygrad import *` does not
# hide Python's own sum.
from .nary import dot, logsumexp, sum
from .checks import GradcheckError, gradcheck, gradgradcheck
from .autograd import grad
from .teach import check_manual, explain
from .scopes import scope, scope_of
from . import datasets, func, nn, optim

__all__ = ["Value", "Leaves", "no_grad", "stats", "draw_dot", "graph", "render",
           "dot", "logsumexp", "grad", "gradcheck", "gradgradcheck", "GradcheckError",
           "explain", "check_manual", "scope", "scope_of", "datasets", "func", "nn", "optim"]
__version__ = "0.1.0"
