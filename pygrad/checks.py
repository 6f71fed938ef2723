"""gradcheck: a function's gradients from pygrad against central differences,
as torch.autograd.gradcheck checks them, for users checking their own ops
and models."""
from __future__ import annotations

import math
import numbers
from typing import Callable, List, Sequence

from .value import Number, Value, _real

__all__ = ["gradcheck", "GradcheckError"]


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
    leaves = [Value(x) for x in xs]
    _evaluate(f, leaves).backward()
    for k, (x, leaf) in enumerate(zip(xs, leaves)):
        up, down = list(xs), list(xs)
        up[k] += step
        down[k] -= step
        numeric = (_evaluate(f, [Value(v) for v in up]).data
                   - _evaluate(f, [Value(v) for v in down]).data) / (2 * step)
        analytic = leaf.grad
        if not (math.isfinite(numeric) and math.isfinite(analytic)
                and abs(analytic - numeric) <= tol_abs + tol_rel * abs(numeric)):
            raise GradcheckError(
                f"d f / d inputs[{k}] at {x!r}: pygrad gives {analytic!r}, "
                f"central differences {numeric!r} (eps={step!r}, atol={tol_abs!r}, "
                f"rtol={tol_rel!r})")
    return True
