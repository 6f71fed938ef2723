"""gradcheck and gradgradcheck: a function's first and second derivatives
from pygrad against central differences, as torch.autograd's checks do, for
users checking their own ops and models."""
from __future__ import annotations

import math
import numbers
from typing import Callable, List, Optional, Sequence, Tuple

from .autograd import grad
from .value import Number, Value, _real

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """A gradient that central differences do not confirm."""


def _checked(inputs: object, eps: object, atol: object, rtol: object) -> List[float]:
    """inputs as floats, after checking every argument; the errors name them."""
    if isinstance(inputs, (str, bytes, Value)) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a list of numbers, not {type(inputs).__name__}")
    if not inputs:
        raise ValueError("inputs must hold at least one number")
    xs = [_real(x, f"inputs[{k}]") for k, x in enumerate(inputs)]
    for name, value, low in (("eps", eps, 0.0), ("atol", atol, 0.0), ("rtol", rtol, 0.0)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, not {type(value).__name__}")
        if not (float(value) > low if name == "eps" else float(value) >= low):
            raise ValueError(f"{name} must be {'positive' if name == 'eps' else '>= 0'}, "
                             f"not {value!r}")
    return xs


def _evaluate(f: Callable[..., Value], values: Sequence[Value]) -> Value:
    """f(*values); TypeError unless f gives a Value."""
    out = f(*values)
    if not isinstance(out, Value):
        raise TypeError(f"f must return a Value, not {type(out).__name__}")
    return out


def _first(f: Callable[..., Value], xs: Sequence[float], create_graph: bool = False
           ) -> Tuple[List[Value], List[Optional[Value]]]:
    """Leaves holding xs, and f's gradient by each (None where unused)."""
    leaves = [Value(x) for x in xs]
    found = grad(_evaluate(f, leaves), leaves, create_graph=create_graph, allow_unused=True)
    return leaves, list(found)


def _confirm(what: str, analytic: float, numeric: float, step: float, tol_abs: float,
             tol_rel: float) -> None:
    """Raises GradcheckError unless analytic is within atol + rtol * |numeric|."""
    if not (math.isfinite(numeric) and math.isfinite(analytic)
            and abs(analytic - numeric) <= tol_abs + tol_rel * abs(numeric)):
        raise GradcheckError(
            f"{what}: pygrad gives {analytic!r}, central differences {numeric!r} "
            f"(eps={step!r}, atol={tol_abs!r}, rtol={tol_rel!r})")


def _nudged(xs: Sequence[float], k: int, by: float) -> List[float]:
    out = list(xs)
    out[k] += by
    return out


def gradcheck(f: Callable[..., Value], inputs: Sequence[Number], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Checks the gradient of f (called as f(*values) on leaves holding
    inputs, returning a Value) against central differences of f with step
    eps: each derivative a must be within atol + rtol * |n| of its estimate n,
    as in torch.autograd.gradcheck. Returns True, or raises GradcheckError
    naming the input and both numbers. Changes nothing but what f does."""
    if not callable(f):
        raise TypeError(f"f must be callable, not {type(f).__name__}")
    xs = _checked(inputs, eps, atol, rtol)
    step, tol_abs, tol_rel = float(eps), float(atol), float(rtol)
    _, found = _first(f, xs)
    for k, x in enumerate(xs):
        numeric = (_evaluate(f, [Value(v) for v in _nudged(xs, k, step)]).data
                   - _evaluate(f, [Value(v) for v in _nudged(xs, k, -step)]).data) / (2 * step)
        g = found[k]
        _confirm(f"d f / d inputs[{k}] at {x!r}", 0.0 if g is None else g.data, numeric,
                 step, tol_abs, tol_rel)
    return True


def gradgradcheck(f: Callable[..., Value], inputs: Sequence[Number], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3) -> bool:
    """Checks f's second derivatives, from pygrad.grad(create_graph=True),
    against central differences of its first derivatives (pygrad's), with the
    tolerances of gradcheck. Returns True, or raises GradcheckError naming the
    two inputs and both numbers."""
    if not callable(f):
        raise TypeError(f"f must be callable, not {type(f).__name__}")
    xs = _checked(inputs, eps, atol, rtol)
    step, tol_abs, tol_rel = float(eps), float(atol), float(rtol)
    leaves, first = _first(f, xs, create_graph=True)
    for j, gj in enumerate(first):
        second = (grad(gj, leaves, allow_unused=True) if gj is not None
                  else (None,) * len(xs))
        for k, x in enumerate(xs):
            up = _first(f, _nudged(xs, k, step))[1][j]
            down = _first(f, _nudged(xs, k, -step))[1][j]
            numeric = ((0.0 if up is None else up.data)
                       - (0.0 if down is None else down.data)) / (2 * step)
            h = second[k]
            _confirm(f"d2 f / d inputs[{j}] d inputs[{k}] at {xs!r}",
                     0.0 if h is None else h.data, numeric, step, tol_abs, tol_rel)
    return True
