"""pygrad.grad, as torch.autograd.grad: gradients of outputs with respect to
chosen inputs, leaving every .grad alone, as plain leaves or (create_graph)
as graphs that can be differentiated again. One pass object of the core does
the work (pygrad.h); this module runs it, stopping only to call hooks.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

from ._c import check, ffi, lib, raise_status
from .hooks import call, sweep
from .interrupts import atomic
from .value import Value, hooked, own, _real

__all__ = ["grad", "backward_with_hooks"]

Values = Union[Value, Sequence[Value]]
# The core's "no node" (PG_NIL): a pass done, an input unused.
_NIL = 0xFFFFFFFF


class _Pass:
    """A pass object of the core, freed by close() or, failing that, when
    collected (so that an interrupt cannot strand its holds)."""

    __slots__ = ("_p", "_nin")

    @atomic
    def __init__(self, outs: List[int], seeds: List[float], ins: List[int], mode: int) -> None:
        self._p = ffi.NULL
        box = ffi.new("pg_pass **")
        check(lib.pg_pass_new(outs, seeds, len(outs), ins, len(ins), mode, box))
        self._p = box[0]
        self._nin = len(ins)

    @atomic
    def close(self) -> None:
        p, self._p = self._p, ffi.NULL
        if p != ffi.NULL:
            lib.pg_pass_free(p)

    __del__ = close

    def run(self) -> None:
        """Runs the pass to its end, calling the hooks of each hooked node."""
        p = self._p
        while True:
            i = lib.pg_pass_run(p)
            if i == _NIL:
                return
            if i < 0:
                raise_status(i)
            replacement = call(i, lib.pg_pass_grad(p))
            if replacement is not None:
                check(lib.pg_pass_set_grad(p, replacement))

    @atomic
    def results(self) -> List[Optional[Value]]:
        """A Value per input, None where the outputs do not depend on it."""
        out = ffi.new("uint32_t[]", max(self._nin, 1))
        check(lib.pg_pass_results(self._p, out))
        got = [j for j in range(self._nin) if out[j] != _NIL]
        values: List[Optional[Value]] = [None] * self._nin
        for j, v in zip(got, own([out[j] for j in got], len(got))):
            values[j] = v
        return values


def backward_with_hooks(root: Value, seed: float) -> None:
    """Value.backward() while any hook exists: the same pass, stopping at
    hooked nodes."""
    sweep()  # so that backward() goes back to pg_backward once hooks are gone
    if not hooked:
        check(lib.pg_backward(root._i, seed))
        return
    p = _Pass([root._i], [seed], [], lib.PG_PASS_BACKWARD)
    try:
        p.run()
    finally:
        p.close()


def _values(x: Any, what: str) -> List[Value]:
    """A Value or a non-empty sequence of them, as a list."""
    if isinstance(x, Value):
        return [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
        raise TypeError(f"grad() {what} must be a Value or a sequence of Values, "
                        f"not {type(x).__name__}")
    items = list(x)
    if not items:
        raise ValueError(f"grad() {what} must not be empty")
    for k, v in enumerate(items):
        if not isinstance(v, Value):
            raise TypeError(f"grad() {what}[{k}] must be a Value, not {type(v).__name__}")
    return items


def _seeds(grad_outputs: Any, n: int) -> List[float]:
    """The weight of each output: 1.0 each by default; a number or a Value
    (its data) for one output, or a sequence of them, one per output."""
    if grad_outputs is None:
        return [1.0] * n
    if isinstance(grad_outputs, (Value, int, float)) or not isinstance(grad_outputs, Sequence):
        grad_outputs = [grad_outputs]
    if isinstance(grad_outputs, (str, bytes)):
        raise TypeError("grad() grad_outputs must be numbers, not str")
    if len(grad_outputs) != n:
        raise ValueError(f"grad() has {n} output(s) but {len(grad_outputs)} grad_outputs")
    return [g.item() if isinstance(g, Value) else _real(g, f"grad() grad_outputs[{k}]")
            for k, g in enumerate(grad_outputs)]


def grad(outputs: Values, inputs: Values, grad_outputs: Any = None,
         create_graph: bool = False, allow_unused: bool = False) -> Tuple[Optional[Value], ...]:
    """The gradient of sum(grad_outputs[k] * outputs[k]) with respect to each
    input, as a tuple with one Value per input. No .grad changes. With
    create_graph the results are nodes of a graph built from the backward
    rules, to differentiate again (to any order); without, new leaves. An
    input the outputs do not depend on raises ValueError, or gives None with
    allow_unused. Hooks on the nodes passed through are called."""
    outs = _values(outputs, "outputs")
    ins = _values(inputs, "inputs")
    seeds = _seeds(grad_outputs, len(outs))
    for flag, name in ((create_graph, "create_graph"), (allow_unused, "allow_unused")):
        if not isinstance(flag, (bool, int)):
            raise TypeError(f"grad() {name} must be a bool, not {type(flag).__name__}")
    mode = lib.PG_PASS_CREATE if create_graph else lib.PG_PASS_GRAD
    p = _Pass([v._i for v in outs], seeds, [v._i for v in ins], mode)
    try:
        p.run()
        results = p.results()
    finally:
        p.close()
    if not allow_unused:
        for k, r in enumerate(results):
            if r is None:
                name = f" ({ins[k].label!r})" if ins[k].label else ""
                raise ValueError(f"grad() inputs[{k}]{name} is not used by the outputs: "
                                 f"pass allow_unused=True to get None for it")
    return tuple(results)
