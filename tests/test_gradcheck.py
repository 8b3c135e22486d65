"""Manual, autograd and finite-difference gradients side by side."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdviz.core.gradcheck import check_gradient, mse

value = st.floats(-5.0, 5.0, allow_nan=False)


@st.composite
def states(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    n = draw(st.integers(1, 15))
    x = draw(arrays(np.float64, n, elements=value))
    y = draw(arrays(np.float64, n, elements=value))
    params = tuple(draw(st.lists(value, min_size=1, max_size=2)))
    return x, y, params


def _close(a: tuple[float, ...], b: tuple[float, ...], scale: float) -> None:
    # Central differences in float64 with a 1e-6 step: truncation is exact for a quadratic,
    # rounding is about 1e-16 · loss / 1e-6.
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7 * scale)


@settings(max_examples=40, deadline=None)
@given(state=states())
def test_three_gradients_agree_at_mean_scale(state) -> None:
    x, y, params = state
    check = check_gradient(x, y, params)
    assert check.param_names == ("w", "b")[: len(params)]
    assert check.manual_scale == 1.0
    scale = 1.0 + mse(x, y, params) + float(np.abs(x).max()) ** 2
    _close(check.manual, check.autograd, scale)
    _close(check.finite_difference, check.autograd, scale)


@settings(max_examples=25, deadline=None)
@given(state=states())
def test_notebook_scale_manual_is_n_times_the_references(state) -> None:
    x, y, params = state
    n = x.size
    check = check_gradient(x, y, params, manual_scale=n)
    scale = 1.0 + mse(x, y, params) + float(np.abs(x).max()) ** 2
    _close(tuple(g / n for g in check.manual), check.autograd, scale)
    _close(check.finite_difference, check.autograd, scale)


def test_notebook_point_matches_the_trainers_first_gradient() -> None:
    # At w=0 on the notebook's data the numpy trainer's first dw is -120 (= 4 × -30).
    x = np.array([1.0, 2.0, 3.0, 4.0])
    check = check_gradient(x, 2 * x, (0.0,), manual_scale=4)
    assert check.manual == pytest.approx((-120.0,))
    assert check.autograd == pytest.approx((-30.0,))
    assert check.finite_difference == pytest.approx((-30.0,), rel=1e-8)


def test_bias_gradient_is_twice_the_mean_residual() -> None:
    x = np.array([0.0, 1.0])
    y = np.array([1.0, 1.0])
    check = check_gradient(x, y, (0.5, 0.25))
    residual = 0.5 * x + 0.25 - y
    expected = (2 * np.mean(x * residual), 2 * np.mean(residual))
    for grads in (check.manual, check.autograd, check.finite_difference):
        assert grads == pytest.approx(expected, rel=1e-8)


def _checked(trainer: str, epochs: int, epoch: int, **options):
    from gdviz.core.config import build_config
    from gdviz.core.gradcheck import check_epoch
    from gdviz.core.trainers import make_trainer
    from gdviz.core.training import new_history, train

    config = build_config(trainer, dict(options))
    run = make_trainer(config)
    history = new_history(run, len(config.x))
    train(run, epochs, history)
    return check_epoch(config, history, epoch)


def test_epoch_check_flags_the_notebooks_factor_n_and_its_first_step():
    check = _checked("numpy", 2, 1)
    assert check.trainer == (-120.0,) and check.autograd == pytest.approx((-30.0,))
    assert check.ratios[0] == pytest.approx(4.0)
    assert "Factor N = 4" in check.explanation and "w = 1.2" in check.explanation
    assert "reaches 0.3" in check.explanation
    mean = _checked("numpy", 2, 2, gradient="mean")
    assert mean.ratios[0] == pytest.approx(1.0) and "Factor 1" in mean.explanation


def test_epoch_check_explains_a_forgotten_zero_grad():
    check = _checked("autograd", 3, 3, forget_zero_grad=True)
    assert check.ratios[0] > 2 and "without zero_grad" in check.explanation


def test_epoch_check_near_the_minimum_agrees_within_float32_rounding():
    check = _checked("nn", 300, 300, lr=0.02)
    assert "All three agree" in check.explanation
