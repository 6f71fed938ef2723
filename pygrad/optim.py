"""Optimizers with PyTorch's update rules. Their state lives in C, and step()
updates every parameter in one call into C."""
from __future__ import annotations

import numbers
from typing import Any, Iterable, List, Optional, Sequence

from ._c import ffi, lib, raise_status
from .interrupts import atomic
from .value import Number, Value

__all__ = ["Optimizer", "SGD", "Adam"]


def _hyper(name: str, x: object, low: float = 0.0, high: Optional[float] = None) -> float:
    """A hyperparameter as a float within [low, high), or ValueError naming it."""
    if not isinstance(x, numbers.Real) or isinstance(x, bool):
        raise TypeError(f"{name} must be a real number, not {type(x).__name__}")
    value = float(x)
    if not (value >= low and (high is None or value < high)):
        bound = f"in [{low:g}, {high:g})" if high is not None else f">= {low:g}"
        raise ValueError(f"{name} must be {bound}, not {value!r}")
    return value


@atomic
def _new_state(indices: List[int]) -> Any:
    """The core's optimizer over the nodes indices, freed with its owner. No
    Python function runs between making it and handing it to ffi.gc."""
    out = ffi.new("pg_optim **")
    s = lib.pg_optim_new(indices, len(indices), out)
    if s < 0:
        raise_status(s)
    return ffi.gc(out[0], lib.pg_optim_free)


class Optimizer:
    """What SGD and Adam share: the parameters, held in C, and zero_grad()."""

    params: List[Value]

    def __init__(self, params: Iterable[Value]) -> None:
        params = list(params)
        for p in params:
            if not isinstance(p, Value):
                raise TypeError(f"parameters must be Values, not {type(p).__name__}")
        if not params:
            raise ValueError("the optimizer got an empty parameter list")
        if len({p._i for p in params}) != len(params):
            raise ValueError("a parameter appears more than once in the list")
        self._state = _new_state([p._i for p in params])
        self.params = params

    @property
    def lr(self) -> float:
        """The learning rate, which may be changed between steps."""
        return self._lr

    @lr.setter
    def lr(self, lr: Number) -> None:
        self._lr = _hyper("lr", lr)

    def zero_grad(self) -> None:
        """Sets every parameter's grad to 0."""
        lib.pg_optim_zero_grad(self._state)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and L2 weight decay."""

    def __init__(self, params: Iterable[Value], lr: Number, momentum: Number = 0.0,
                 weight_decay: Number = 0.0) -> None:
        self.lr = lr
        self.momentum = _hyper("momentum", momentum)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        super().__init__(params)

    def step(self) -> None:
        lib.pg_sgd_step(self._state, self._lr, self.momentum, self.weight_decay)


class Adam(Optimizer):
    """Adam with bias correction and L2 weight decay, as torch.optim.Adam."""

    def __init__(self, params: Iterable[Value], lr: Number = 1e-3,
                 betas: Sequence[Number] = (0.9, 0.999), eps: Number = 1e-8,
                 weight_decay: Number = 0.0) -> None:
        self.lr = lr
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"betas must be a pair of numbers, not {betas!r}")
        self.betas = (_hyper("betas[0]", betas[0], 0.0, 1.0), _hyper("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _hyper("eps", eps)
        self.weight_decay = _hyper("weight_decay", weight_decay)
        super().__init__(params)

    def step(self) -> None:
        beta1, beta2 = self.betas
        lib.pg_adam_step(self._state, self._lr, beta1, beta2, self.eps, self.weight_decay)
