"""Property tests: trainers agree where they should; surfaces, optimum and critical lr are right."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdviz.core.config import build_config
from gdviz.core.registry import spec
from gdviz.core.surface import LossLandscape, SufficientStats
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, train

coordinate = st.floats(-5.0, 5.0, allow_nan=False, width=32)


@st.composite
def datasets(draw: st.DrawFn, min_size: int = 2, max_size: int = 20) -> tuple[np.ndarray, ...]:
    n = draw(st.integers(min_size, max_size))
    x = draw(arrays(np.float64, n, elements=coordinate))
    y = draw(arrays(np.float64, n, elements=coordinate))
    # A spread-out x keeps the normal equations well conditioned; degenerate data is covered
    # separately below.
    assume(np.ptp(x) > 0.5 and float(x @ x) > 1.0)
    return x, y


def columns(trainer: str, x: np.ndarray, y: np.ndarray, epochs: int, **extra: object):
    config = build_config(trainer=trainer, explicit={"x": tuple(x), "y": tuple(y),
                                                     "epochs": epochs, **extra})
    model = make_trainer(config)
    history = new_history(model)
    outcome = train(model, epochs, history)
    return outcome, history


FAST = settings(max_examples=20, deadline=None)


@FAST
@given(data=datasets(), fraction=st.floats(0.05, 0.9), w0=st.floats(-3, 3),
       epochs=st.integers(1, 60))
def test_numpy_mean_agrees_with_autograd(data, fraction: float, w0: float, epochs: int) -> None:
    x, y = data
    lr = fraction / float(np.mean(x * x))
    _, numpy_h = columns("numpy", x, y, epochs, lr=lr, w0=w0, gradient="mean")
    _, torch_h = columns("autograd", x, y, epochs, lr=lr, w0=w0)
    scale = max(1.0, float(np.abs(y).max()), abs(w0))
    for name in ("w", "grad_w"):
        np.testing.assert_allclose(numpy_h.column(name), torch_h.column(name),
                                   rtol=1e-4, atol=1e-4 * scale * max(1.0, float(np.abs(x).max())))
    np.testing.assert_allclose(numpy_h.column("loss"), torch_h.column("loss"),
                               rtol=1e-4, atol=1e-4 * scale**2)


@FAST
@given(data=datasets(), fraction=st.floats(0.05, 0.9), w0=st.floats(-3, 3), b0=st.floats(-3, 3),
       epochs=st.integers(1, 60))
def test_nn_agrees_with_float64_gradient_descent(data, fraction: float, w0: float, b0: float,
                                                 epochs: int) -> None:
    x, y = data
    landscape = LossLandscape.from_data(x, y, with_bias=True)
    lr = fraction * landscape.critical_lr()
    # Reference computed from (float32-rounded) data in float64, as the trainer sees it.
    xf, yf = (np.float32(v).astype(np.float64) for v in (x, y))
    w, b = float(np.float32(w0)), float(np.float32(b0))
    expected = []
    for _ in range(epochs):
        r = w * xf + b - yf
        gw, gb = 2 * np.mean(xf * r), 2 * np.mean(r)
        w, b = w - lr * gw, b - lr * gb
        expected.append((w, b))
    _, history = columns("nn", x, y, epochs, lr=lr, w0=w0, b0=b0)
    got = np.stack([history.column("w"), history.column("b")], axis=1)
    scale = max(1.0, float(np.abs(y).max()), abs(w0), abs(b0))
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-4, atol=2e-4 * scale)


@FAST
@given(data=datasets(min_size=1), with_bias=st.booleans(),
       w=arrays(np.float64, 7, elements=st.floats(-10, 10)),
       b=arrays(np.float64, 5, elements=st.floats(-10, 10)))
def test_surface_equals_brute_force(data, with_bias: bool, w: np.ndarray, b: np.ndarray) -> None:
    x, y = data
    landscape = LossLandscape.from_data(x, y, with_bias=with_bias)
    if with_bias:
        brute = np.array([[np.mean((wi * x + bj - y) ** 2) for wi in w] for bj in b])
        got = landscape.grid(w, b)
    else:
        brute = np.array([np.mean((wi * x - y) ** 2) for wi in w])
        got = landscape.curve(w)
    assert got.shape == brute.shape
    # Cancellation in the minimum can cost digits relative to the data's scale, not more.
    np.testing.assert_allclose(got, brute, rtol=1e-9, atol=1e-12 * (1 + np.mean(y * y)))


@FAST
@given(data=datasets(min_size=1), with_bias=st.booleans())
def test_optimum_equals_lstsq(data, with_bias: bool) -> None:
    x, y = data
    landscape = LossLandscape.from_data(x, y, with_bias=with_bias)
    design = np.stack([x, np.ones_like(x)], axis=1) if with_bias else x[:, None]
    solution, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(landscape.optimum, solution, rtol=1e-7, atol=1e-9)
    residual = design @ solution - y
    np.testing.assert_allclose(landscape.min_loss, np.mean(residual**2), rtol=1e-7,
                               atol=1e-12 * (1 + np.mean(y * y)))
    # The gradient vanishes at the optimum.
    at_optimum = landscape.loss(*landscape.optimum)
    assert at_optimum <= landscape.loss(landscape.optimum[0] + 1e-3,
                                        landscape.optimum[-1] if with_bias else 0.0)


def test_stats_surface_matches_on_degenerate_data() -> None:
    # One x value repeated: every (w, b) on a line fits equally well; the minimum-norm one is
    # reported and the loss there is still the least-squares residual.
    x = np.array([2.0, 2.0, 2.0])
    y = np.array([1.0, 2.0, 4.0])
    landscape = LossLandscape.from_data(x, y, with_bias=True)
    solution = np.linalg.lstsq(np.stack([x, np.ones(3)], axis=1), y, rcond=None)[0]
    np.testing.assert_allclose(landscape.optimum, solution, rtol=1e-9)
    np.testing.assert_allclose(landscape.min_loss, np.var(y), rtol=1e-9)


def test_critical_lr_of_the_notebook() -> None:
    landscape = LossLandscape.from_data(np.array([1.0, 2, 3, 4]), np.array([2.0, 4, 6, 8]), False)
    assert landscape.critical_lr() == 1 / 7.5  # 1/mean(x²)
    scale = spec("numpy").gradient_scale("notebook", 4)
    assert scale == 4.0 and np.isclose(landscape.critical_lr(scale), 1 / 30)
    assert spec("numpy").gradient_scale("mean", 4) == 1.0
    assert spec("autograd").gradient_scale(None, 4) == spec("nn").gradient_scale(None, 4) == 1.0


TRAINER_MODES = [("numpy", "notebook"), ("numpy", "mean"), ("autograd", None), ("nn", None)]


@settings(max_examples=8, deadline=None)
@given(data=datasets(max_size=8), mode=st.sampled_from(TRAINER_MODES))
@example(data=(np.array([4.5, 5.0, 4.75]), np.array([1.0, -2.0, 3.0])), mode=("nn", None))
def test_critical_lr_separates_convergence_from_divergence(data, mode) -> None:
    """The real trainer at 0.95 × critical lr converges and at 1.05 × diverges."""
    x, y = data
    trainer, gradient = mode
    with_bias = spec(trainer).has_bias
    landscape = LossLandscape.from_data(x, y, with_bias=with_bias)
    critical = landscape.critical_lr(spec(trainer).gradient_scale(gradient, x.size))
    extra: dict[str, object] = {"w0": landscape.optimum[0] + 1.0}
    if gradient is not None:
        extra["gradient"] = gradient
    if with_bias:
        extra["b0"] = landscape.optimum[1] + 1.0

    # |1 - lr·λ| = 0.9 along the steepest direction, but a flat direction (ill-conditioned
    # (w, b)) contracts slower: run long enough for the slowest one to shrink the excess 1e4x.
    lr = 0.95 * critical
    scale = spec(trainer).gradient_scale(gradient, x.size)
    rho = float(np.abs(1 - lr * np.linalg.eigvalsh(landscape.hessian(scale))).max())
    epochs = int(np.ceil(np.log(1e-4) / (2 * np.log(rho)))) + 10
    assume(epochs <= 20_000)
    below, history = columns(trainer, x, y, epochs, lr=lr, **extra)
    assert below.diverged_at is None
    start = landscape.loss(*history.params_at(0)) - landscape.min_loss
    end = landscape.loss(*history.params_at(len(history))) - landscape.min_loss
    assert end < 1e-3 * start + 1e-5 * (1 + landscape.min_loss)

    # |1 - lr·λ| = 1.1: float32 overflows within ~1000 epochs.
    above, _ = columns(trainer, x, y, 3000, lr=1.05 * critical, **extra)
    assert above.diverged_at is not None


@FAST
@given(x=arrays(np.float64, st.integers(1, 30), elements=coordinate),
       y=arrays(np.float64, 1, elements=coordinate))
def test_sufficient_stats_are_sums(x: np.ndarray, y: np.ndarray) -> None:
    y = np.resize(y, x.size) + x
    s = SufficientStats.from_data(x, y)
    assert s.n == x.size
    np.testing.assert_allclose([s.sx, s.sy, s.sxx, s.sxy, s.syy],
                               [x.sum(), y.sum(), (x * x).sum(), (x * y).sum(), (y * y).sum()],
                               rtol=1e-12, atol=1e-12)
