"""pygrad.optim against the update formulas worked by hand, and against
torch.optim where torch is installed."""
import math

import pytest

from pygrad import Value
from pygrad.optim import SGD, Adam
from helpers import live_now

GRADS = [[0.5, -1.0], [0.25, 2.0], [-1.5, 0.125], [0.75, 0.75]]


def run(opt_class, start, grads, **kw):
    params = [Value(x) for x in start]
    opt = opt_class(params, **kw)
    trace = []
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = gi
        opt.step()
        trace.append([p.data for p in params])
    return trace


def sgd_by_hand(start, grads, lr, momentum=0.0, weight_decay=0.0):
    p, buf, trace = list(start), [None] * len(start), []
    for g in grads:
        for k in range(len(p)):
            d = g[k] + weight_decay * p[k]
            if momentum:
                buf[k] = d if buf[k] is None else momentum * buf[k] + d
                d = buf[k]
            p[k] -= lr * d
        trace.append(list(p))
    return trace


def adam_by_hand(start, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    b1, b2 = betas
    p, m, v, trace = list(start), [0.0] * len(start), [0.0] * len(start), []
    for t, g in enumerate(grads, 1):
        for k in range(len(p)):
            d = g[k] + weight_decay * p[k]
            m[k] = b1 * m[k] + (1 - b1) * d
            v[k] = b2 * v[k] + (1 - b2) * d * d
            m_hat = m[k] / (1 - b1 ** t)
            v_hat = v[k] / (1 - b2 ** t)
            p[k] -= lr * m_hat / (math.sqrt(v_hat) + eps)
        trace.append(list(p))
    return trace


def assert_traces_close(got, want, rel=1e-12):
    for a, b in zip(got, want):
        for x, y in zip(a, b):
            assert math.isclose(x, y, rel_tol=rel, abs_tol=1e-15), (got, want)


@pytest.mark.parametrize("kw", [dict(lr=0.1), dict(lr=0.1, momentum=0.9),
                                dict(lr=0.05, weight_decay=0.01),
                                dict(lr=0.05, momentum=0.5, weight_decay=0.1)])
def test_sgd_matches_the_formula(kw):
    assert_traces_close(run(SGD, [1.0, -2.0], GRADS, **kw), sgd_by_hand([1.0, -2.0], GRADS, **kw))


def test_sgd_first_step_by_hand():
    p = Value(1.0)
    p.grad = 0.5
    SGD([p], lr=0.1).step()
    assert p.data == 1.0 - 0.1 * 0.5


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.1, betas=(0.8, 0.99), eps=1e-6),
                                dict(lr=0.01, weight_decay=0.05)])
def test_adam_matches_the_formula(kw):
    assert_traces_close(run(Adam, [1.0, -2.0], GRADS, **kw),
                        adam_by_hand([1.0, -2.0], GRADS, **kw), rel=1e-11)


def test_adam_first_step_moves_by_lr():
    # After one step m_hat = g and v_hat = g*g, so p moves by lr * g / (|g| + eps).
    p = Value(3.0)
    p.grad = -4.0
    Adam([p], lr=0.01).step()
    assert math.isclose(p.data, 3.0 + 0.01 * 4.0 / (4.0 + 1e-8), rel_tol=1e-14)


def test_defaults_follow_pytorch():
    opt = Adam([Value(1.0)])
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    sgd = SGD([Value(1.0)], lr=0.1)
    assert (sgd.momentum, sgd.weight_decay) == (0.0, 0.0)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_against_torch(name):
    torch = pytest.importorskip("torch")
    kw = (dict(lr=0.1, momentum=0.9, weight_decay=0.01) if name == "SGD"
          else dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01))
    ours = run(SGD if name == "SGD" else Adam, [1.0, -2.0], GRADS, **kw)
    t = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([t], **kw)
    for row, g in zip(ours, GRADS):
        t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        for x, y in zip(row, t.detach().tolist()):
            assert math.isclose(x, y, rel_tol=1e-13, abs_tol=1e-15)


def test_lr_can_change_between_steps():
    p = Value(1.0)
    opt = SGD([p], lr=0.1)
    p.grad = 1.0
    opt.step()
    opt.lr = 0.5
    opt.step()
    assert math.isclose(p.data, 1.0 - 0.1 - 0.5, rel_tol=1e-15)


def test_zero_grad():
    ps = [Value(1.0), Value(2.0)]
    for p in ps:
        p.grad = 3.0
    Adam(ps).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


def test_bad_hyperparameters_are_refused():
    p = Value(1.0)
    with pytest.raises(ValueError, match="lr must be >= 0, not -0.1"):
        SGD([p], lr=-0.1)
    with pytest.raises(TypeError, match="lr must be a real number, not str"):
        SGD([p], lr="0.1")
    with pytest.raises(ValueError, match="momentum must be >= 0"):
        SGD([p], lr=0.1, momentum=-1)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in \[0, 1\), not 1.0"):
        Adam([p], betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam([p], betas=0.9)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        Adam([p], eps=-1e-8)
    with pytest.raises(ValueError, match="lr must be >= 0, not nan"):
        Adam([p], lr=float("nan"))
    opt = SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.lr = -1
    assert opt.lr == 0.1
    assert p.data == 1.0


def test_bad_parameter_lists_are_refused():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="parameters must be Values, not float"):
        SGD([Value(1.0), 2.0], lr=0.1)
    p = Value(1.0)
    with pytest.raises(ValueError, match="appears more than once"):
        Adam([p, p])
    with pytest.raises(ValueError, match="appears more than once"):
        Adam([p, (p * 2).children[0]])  # another handle on the same node


def test_optimizer_keeps_its_parameters_alive(live):
    params = [Value(1.0), Value(2.0)]
    opt = SGD(params, lr=1.0)
    kept = opt.params
    del params
    for p in kept:
        p.grad = 1.0
    opt.step()
    assert [p.data for p in kept] == [0.0, 1.0]
    del kept, opt, p
    assert live_now() == live


def test_the_core_takes_a_parameter_given_twice_one_hold_at_a_time():
    # Each hold is checked as it is taken: two left, three asked for, none taken.
    from pygrad._c import ffi, lib
    w = Value(1.0)
    i = w._i
    for _ in range(65_535 - 2 - int(lib.pg_holds(i))):
        assert lib.pg_retain(i) == 0
    held = int(lib.pg_holds(i))
    assert held == 65_533
    box = ffi.new("pg_optim **")
    assert lib.pg_optim_new([i, i, i], 3, box) == lib.PG_EFULL
    assert lib.pg_holds(i) == held
    assert lib.pg_optim_new([i, i], 2, box) == 0
    assert lib.pg_holds(i) == held + 2
    lib.pg_optim_free(box[0])
    for _ in range(held - 1):
        lib.pg_release(i)
    assert lib.pg_holds(i) == 1
