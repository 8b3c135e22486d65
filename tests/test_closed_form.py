"""The w-only trainers against the closed-form solution of gradient descent on a quadratic.

With the true gradient, w_{k+1} - w* = (1 - 2·lr·mean(x²)) (w_k - w*), so
w_k = w* + (1 - 2·lr·mean(x²))^k (w0 - w*). The notebook's gradient is N times larger: lr -> N·lr.
"""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.config import build_config
from gdviz.core.history import History
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, train


def closed_form(x: np.ndarray, y: np.ndarray, lr: float, w0: float, epochs: int) -> np.ndarray:
    w_star = float(x @ y / (x @ x))
    ratio = 1.0 - 2.0 * lr * float(np.mean(x * x))
    return w_star + ratio ** np.arange(1, epochs + 1) * (w0 - w_star)


def run_history(**config: object) -> History:
    trainer = make_trainer(build_config(trainer=str(config.pop("trainer")), explicit=config))
    history = new_history(trainer)
    outcome = train(trainer, int(config["epochs"]), history)  # type: ignore[call-overload]
    assert outcome.diverged_at is None
    return history


DATASETS = [
    ((1.0, 2.0, 3.0, 4.0), (2.0, 4.0, 6.0, 8.0)),  # the notebook's, an exact fit
    ((0.5, -1.0, 1.5, 2.0, -0.25), (1.0, -1.5, 2.5, 2.0, 0.5)),  # a residual remains
]
CASES = [(data, fraction) for data in DATASETS for fraction in (0.2, 0.7, 0.95)]


@pytest.mark.parametrize(("data", "fraction"), CASES)
@pytest.mark.parametrize("trainer", ["numpy", "autograd"])
def test_true_gradient_follows_closed_form(trainer: str, data, fraction: float) -> None:
    x, y = (np.array(v) for v in data)
    lr = fraction / float(np.mean(x * x))  # fraction of the critical lr 1/mean(x²)
    extra = {"gradient": "mean"} if trainer == "numpy" else {}
    history = run_history(trainer=trainer, x=data[0], y=data[1], lr=lr, epochs=60, w0=-1.5,
                          **extra)
    expected = closed_form(x, y, lr, -1.5, 60)
    np.testing.assert_allclose(history.column("w"), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(history.trajectory("w")[0], -1.5)


@pytest.mark.parametrize(("data", "fraction"), CASES)
def test_notebook_gradient_follows_closed_form_with_n_lr(data, fraction: float) -> None:
    x, y = (np.array(v) for v in data)
    n = x.size
    lr = fraction / float(np.mean(x * x)) / n
    history = run_history(trainer="numpy", x=data[0], y=data[1], lr=lr, epochs=60, w0=0.75,
                          gradient="notebook")
    np.testing.assert_allclose(history.column("w"), closed_form(x, y, n * lr, 0.75, 60),
                               rtol=1e-5, atol=1e-5)


def test_notebook_default_matches_its_closed_form() -> None:
    # The lecture's numbers: N·lr·2·mean(x²) = 4·0.01·15 = 0.6, so the error shrinks 0.4x an epoch.
    history = run_history(trainer="numpy", epochs=10)
    expected = 2.0 + 0.4 ** np.arange(1, 11) * (0.0 - 2.0)
    np.testing.assert_allclose(history.column("w"), expected, rtol=1e-6)
