"""pygrad.func against hand-derived results, composition, shapes, and bad
arguments; gradgradcheck passing and failing."""
import math

import pytest

import pygrad
from pygrad import Value, func


def poly(x):
    return 3 * x ** 4 - 2 * x ** 3 + x - 7


def rosenbrock(v):
    return (1 - v[0]) ** 2 + 100 * (v[1] - v[0] ** 2) ** 2


def test_derivatives_of_a_polynomial_to_the_fourth():
    x = 1.5
    assert func.grad(poly)(x) == pytest.approx(12 * x ** 3 - 6 * x ** 2 + 1, rel=1e-14)
    assert func.grad(func.grad(poly))(x) == pytest.approx(36 * x ** 2 - 12 * x, rel=1e-14)
    assert func.grad(func.grad(func.grad(poly)))(x) == pytest.approx(72 * x - 12, rel=1e-14)
    assert func.grad(func.grad(func.grad(func.grad(poly))))(x) == pytest.approx(72, rel=1e-14)


def test_exp_of_sin():
    f = lambda x: x.sin().exp()  # noqa: E731
    for x in (0.0, 0.7, -2.0):
        e = math.exp(math.sin(x))
        assert func.grad(f)(x) == pytest.approx(math.cos(x) * e, rel=1e-14)
        want = (math.cos(x) ** 2 - math.sin(x)) * e
        assert func.grad(func.grad(f))(x) == pytest.approx(want, rel=1e-13, abs=1e-15)


def test_rosenbrock_hessian_is_hand_derived_and_equals_jacobian_of_grad():
    for x, y in ((1.0, 1.0), (-1.2, 1.0), (0.5, -0.3)):
        want = [[2 - 400 * (y - x * x) + 800 * x * x, -400 * x], [-400 * x, 200.0]]
        got = func.hessian(rosenbrock)([x, y])
        assert got == [[pytest.approx(v, rel=1e-13) for v in row] for row in want]
        assert func.jacobian(func.grad(rosenbrock))([x, y]) == got


def test_value_and_grad_and_argnums():
    f = lambda a, b, c: a * a * b + c * c  # noqa: E731
    value, g = func.value_and_grad(f)(2.0, 3.0, 0.5)
    assert value == 12.25 and g == 12.0
    assert func.grad(f, argnums=(0, 2))(2.0, 3.0, 0.5) == (12.0, 1.0)
    assert func.grad(f, argnums=-2)(2.0, 3.0, 0.0) == 4.0
    h = func.hessian(f, argnums=(0, 1))(2.0, 3.0, 0.0)
    assert h == ((6.0, 4.0), (4.0, 0.0))
    lists = func.grad(lambda v, k: pygrad.dot(v, v) * k, argnums=(0, 1))([1.0, 2.0], 3.0)
    assert lists == ([6.0, 12.0], 5.0)


def test_jacobian_shapes():
    f = lambda v: [v[0] * v[1], v[0] + 2 * v[1], Value(1.0)]  # noqa: E731
    assert func.jacobian(f)([2.0, 3.0]) == [[3.0, 2.0], [1.0, 2.0], [0.0, 0.0]]
    g = lambda a, b: [a * b, a + b]  # noqa: E731
    assert func.jacobian(g, argnums=(0, 1))(2.0, 5.0) == ([5.0, 1.0], [2.0, 1.0])
    assert func.jacobian(lambda x: (x * x, x * 3))(2.0) == (4.0, 3.0)


def test_unused_arguments_and_constant_results_give_zeros():
    assert func.grad(lambda a, b: a * 2, argnums=1)(1.0, 2.0) == 0.0
    assert func.grad(lambda a: 5.0)(1.0) == 0.0
    assert func.value_and_grad(lambda a: 5)(1.0) == (5.0, 0.0)


def test_transforms_called_with_values_return_values_with_graphs():
    x = Value(1.5)
    g = func.grad(poly)(x)
    assert isinstance(g, Value)
    (h,) = pygrad.grad(g, x)
    assert h.data == pytest.approx(36 * 1.5 ** 2 - 12 * 1.5)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: func.grad(3), TypeError, "needs a callable f, not int"),
    (lambda: func.grad(poly, argnums="0"), TypeError, "argnums must be an int or a tuple"),
    (lambda: func.grad(poly, argnums=()), ValueError, "must not be an empty tuple"),
    (lambda: func.grad(poly, argnums=(0, 0)), ValueError, "repeats an argument"),
    (lambda: func.grad(poly, argnums=1)(1.0), ValueError, "argnums 1 is out of range"),
    (lambda: func.grad(poly)("1"), TypeError, "argument 0 must be a number"),
    (lambda: func.grad(rosenbrock)([1.0, "2"]), TypeError, r"argument 0\[1\] must be a number"),
    (lambda: func.grad(lambda x: "s")(1.0), TypeError, "needs f to return a Value, not str"),
    (lambda: func.grad(lambda x: [x])(1.0), TypeError, "needs f to return a Value, not list"),
    (lambda: func.jacobian(lambda x: [x, "s"])(1.0), TypeError, "return a Value, not str"),
])
def test_bad_arguments(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_gradgradcheck_passes_right_second_derivatives():
    assert pygrad.gradgradcheck(lambda x, y: (x * y).tanh() + x ** 3 * y.sin(), [0.3, 0.7])
    assert pygrad.gradgradcheck(lambda x: pygrad.logsumexp([x, x * x, 2.0]), [0.4])


def test_gradgradcheck_fails_a_function_whose_gradient_is_right_but_not_its_own():
    """sin written as its tangent line at the point: the value and the first
    derivative are right, the second (0 instead of -sin x) is not."""
    def tangent_sin(x):
        x0 = x.detach()
        return x0.sin() + x0.cos() * (x - x0)

    assert pygrad.gradcheck(tangent_sin, [0.5])
    with pytest.raises(pygrad.GradcheckError,
                       match=r"d2 f / d inputs\[0\] d inputs\[0\] at \[0\.5\]: pygrad gives 0\.0, "
                             r"central differences -0\.479"):
        pygrad.gradgradcheck(tangent_sin, [0.5])


def test_gradgradcheck_refuses_bad_arguments():
    with pytest.raises(TypeError, match="f must be callable"):
        pygrad.gradgradcheck(3, [1.0])
    with pytest.raises(ValueError, match="eps must be positive"):
        pygrad.gradgradcheck(poly, [1.0], eps=0)
    with pytest.raises(TypeError, match="f must return a Value"):
        pygrad.gradgradcheck(lambda x: 1.0, [1.0])
