"""Function transforms, as in torch.func and JAX: grad, value_and_grad,
jacobian and hessian of a function of numbers.

`f` takes numbers (an argument may be a number or a list of numbers) and
returns a Value (or, for jacobian, a list of Values). A transform returns
plain floats shaped like the arguments it differentiates by. Called with
Values instead of numbers, as another transform calls it, it returns Values
whose graphs lead back to those arguments: that is how transforms compose,
so that grad(grad(f))(x) is f''(x) and hessian(f) is jacobian(grad(f)).
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union, cast

from .autograd import grad as _grad
from .value import Value

__all__ = ["grad", "value_and_grad", "jacobian", "hessian"]

Argnums = Union[int, Tuple[int, ...]]


def _check(f: Any, argnums: Any, name: str) -> None:
    if not callable(f):
        raise TypeError(f"{name}() needs a callable f, not {type(f).__name__}")
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    if not nums:
        raise ValueError(f"{name}() argnums must not be an empty tuple")
    for k in nums:
        if isinstance(k, bool) or not isinstance(k, int):
            raise TypeError(f"{name}() argnums must be an int or a tuple of ints, "
                            f"not {type(argnums).__name__}")
    if len(set(nums)) != len(nums):
        raise ValueError(f"{name}() argnums {argnums!r} repeats an argument")


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, Value)


class _Args:
    """The arguments of one call, those differentiated by made into Values:
    `flat` is every input Value in order, `shapes` what each argument was
    (None for one number, n for a list of n), `plain` whether they were all
    numbers, so that results are floats."""

    def __init__(self, args: Tuple[Any, ...], argnums: Argnums, name: str) -> None:
        nums = argnums if isinstance(argnums, tuple) else (argnums,)
        self.call = list(args)
        self.flat: List[Value] = []
        self.shapes: List[Optional[int]] = []
        self.plain = True
        for k in nums:
            if not -len(args) <= k < len(args):
                raise ValueError(f"{name}() argnums {k} is out of range for "
                                 f"{len(args)} argument(s)")
            arg = args[k]
            if isinstance(arg, (list, tuple)):
                items = [self._input(x, f"{name}() argument {k}[{j}]") for j, x in enumerate(arg)]
                self.shapes.append(len(items))
                self.flat.extend(items)
                self.call[k] = items
            else:
                v = self._input(arg, f"{name}() argument {k}")
                self.shapes.append(None)
                self.flat.append(v)
                self.call[k] = v
        self.single = not isinstance(argnums, tuple)

    def _input(self, x: object, what: str) -> Value:
        if isinstance(x, Value):
            self.plain = False
            return x
        if _is_number(x):
            return Value(cast(float, x))
        raise TypeError(f"{what} must be a number, a list of numbers or a Value, "
                        f"not {type(x).__name__}")

    def shaped(self, grads: Sequence[Any]) -> Any:
        """Per-input results, shaped like the arguments differentiated by."""
        out, at = [], 0
        for shape in self.shapes:
            if shape is None:
                out.append(grads[at])
                at += 1
            else:
                out.append(list(grads[at:at + shape]))
                at += shape
        return out[0] if self.single else tuple(out)


def _output(y: object, name: str) -> Optional[Value]:
    """f's result as a Value, or None for a number (a constant)."""
    if isinstance(y, Value):
        return y
    if _is_number(y):
        return None
    raise TypeError(f"{name}() needs f to return a Value, not {type(y).__name__}")


def _derivatives(y: Optional[Value], a: _Args) -> List[Any]:
    """dy/d(each input): floats for plain arguments, else Values with graphs."""
    if y is None:
        zeros: List[Any] = [0.0 if a.plain else Value(0.0) for _ in a.flat]
        return zeros
    found = _grad(y, a.flat, create_graph=not a.plain, allow_unused=True)
    if a.plain:
        return [0.0 if g is None else g.item() for g in found]
    return [Value(0.0) if g is None else g for g in found]


def value_and_grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Tuple[Any, Any]]:
    """A function returning (f(*args), the gradient of f by the arguments
    argnums names)."""
    _check(f, argnums, "value_and_grad")

    def transformed(*args: Any) -> Tuple[Any, Any]:
        a = _Args(args, argnums, "value_and_grad")
        raw = f(*a.call)
        y = _output(raw, "value_and_grad")
        value: Any = y if y is not None else raw
        if a.plain:
            value = float(value)
        return value, a.shaped(_derivatives(y, a))

    return transformed


def grad(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """A function returning the gradient of f by the arguments argnums names:
    a float for a number, a list of floats for a list."""
    _check(f, argnums, "grad")

    def transformed(*args: Any) -> Any:
        a = _Args(args, argnums, "grad")
        return a.shaped(_derivatives(_output(f(*a.call), "grad"), a))

    return transformed


def jacobian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """A function returning f's Jacobian: for a Value out, its gradient; for a
    list of Values out, a list with each one's gradient (outputs outermost, as
    torch.func.jacrev; with several argnums, a tuple by argument of those
    lists); for a tuple out, a tuple of the Jacobians of its entries."""
    _check(f, argnums, "jacobian")

    def of(out: Any, a: _Args) -> Any:
        if isinstance(out, tuple):  # several results: one Jacobian each
            return tuple(of(y, a) for y in out)
        if not isinstance(out, list):
            return a.shaped(_derivatives(_output(out, "jacobian"), a))
        rows = [a.shaped(_derivatives(_output(y, "jacobian"), a)) for y in out]
        if a.single:
            return rows
        # by argument first, then output entry, then input entry, as torch
        return tuple([row[j] for row in rows] for j in range(len(a.shapes)))

    def transformed(*args: Any) -> Any:
        a = _Args(args, argnums, "jacobian")
        return of(f(*a.call), a)

    return transformed


def hessian(f: Callable[..., Any], argnums: Argnums = 0) -> Callable[..., Any]:
    """A function returning f's Hessian: jacobian(grad(f)), so for a list of
    n numbers an n-by-n list of lists."""
    _check(f, argnums, "hessian")
    return jacobian(grad(f, argnums), argnums)
