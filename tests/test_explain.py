"""explain_epoch: one recorded epoch written out from what the trainer produced (no Qt)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdviz.core.config import RunConfig, build_config
from gdviz.core.explain import UPDATE_FORMULA, EpochExplanation, explain_epoch
from gdviz.core.history import MAX_KEPT_PREDICTIONS, History
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train


def trained(config: RunConfig, epochs: int) -> History:
    """`epochs` epochs of `config`, in a history that keeps the forward pass when it can.

    gdviz.core.training.new_history does not pass n_points (so it never keeps predictions);
    the window's Session builds its History the way this does.
    """
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    train(trainer, epochs, history)
    return history


def explained(config: RunConfig, epochs: int, epoch: int) -> EpochExplanation:
    return explain_epoch(config, trained(config, epochs), epoch)


def assert_sums_to_grads(explanation: EpochExplanation, rtol: float = 1e-5) -> None:
    """The per-point terms add up to each recorded gradient, within float32 rounding."""
    for step in explanation.steps:
        terms = step.contributions
        # Relative to the terms' magnitude: near the optimum the gradient cancels to ~0.
        tolerance = rtol * float(np.abs(terms).sum()) + 1e-30
        assert abs(float(terms.sum()) - step.grad) <= tolerance, (step.name, terms, step.grad)


# --- the notebook's numpy cell ------------------------------------------------------------------

def test_numpy_epoch_1_is_the_notebooks() -> None:
    explanation = explained(build_config("numpy"), 3, 1)
    assert explanation.epoch == 1 and explanation.epochs == 10
    assert explanation.param_names == ("w",)
    assert explanation.params_before == (0.0,)
    forward = explanation.forward
    assert forward is not None and not forward.recomputed
    np.testing.assert_array_equal(forward.y_pred, [0, 0, 0, 0])
    np.testing.assert_array_equal(forward.residuals, [-2, -4, -6, -8])
    assert forward.y_pred.dtype == np.float32
    assert explanation.loss == 30.0
    (step,) = explanation.steps
    assert (step.name, step.before, step.grad, step.lr) == ("w", 0.0, -120.0, 0.01)
    # The notebook's gradient is N times the MSE one: its terms are 2·x_i·(y_pred_i − y_i).
    np.testing.assert_array_equal(step.contributions, [-4, -16, -36, -64])
    assert step.after == pytest.approx(1.2) and explanation.params_after == (step.after,)
    assert explanation.gradient_scale == 4.0


def test_numpy_epoch_2() -> None:
    explanation = explained(build_config("numpy"), 3, 2)
    forward = explanation.forward
    assert forward is not None
    np.testing.assert_allclose(forward.y_pred, [1.2, 2.4, 3.6, 4.8], rtol=1e-6)
    assert f"{explanation.loss:.8f}" == "4.79999924"  # the notebook prints it so
    (step,) = explanation.steps
    assert step.before == pytest.approx(1.2)
    assert step.grad == pytest.approx(-48.0, rel=1e-6)
    assert f"{step.after:.3f}" == "1.680"
    assert_sums_to_grads(explanation)


def test_numpy_formulas_come_from_the_spec() -> None:
    config = build_config("numpy")
    formulas = explained(config, 1, 1).formulas
    assert formulas.forward == config.spec.forward_formula == "y_pred = w·x"
    assert formulas.gradient == config.spec.gradient_formula("notebook")
    assert formulas.update == UPDATE_FORMULA == "θ ← θ − lr × dL/dθ"
    mean = build_config("numpy", {"gradient": "mean"})
    assert explained(mean, 1, 1).formulas.gradient == mean.spec.gradient_formula("mean")


def test_numpy_mean_mode_is_the_true_gradient() -> None:
    explanation = explained(build_config("numpy", {"gradient": "mean"}), 1, 1)
    (step,) = explanation.steps
    assert step.grad == -30.0
    np.testing.assert_array_equal(step.contributions, [-1, -4, -9, -16])
    assert step.after == pytest.approx(0.3)
    assert explanation.gradient_scale == 1.0


def test_epoch_0_is_the_start() -> None:
    explanation = explained(build_config("numpy", {"w0": 0.5}), 2, 0)
    assert explanation.is_start
    assert explanation.params_before == explanation.params_after == (0.5,)
    assert explanation.forward is None and explanation.loss is None
    assert explanation.steps == ()


def test_epochs_outside_the_history_raise() -> None:
    config = build_config("numpy")
    history = trained(config, 2)
    with pytest.raises(IndexError):
        explain_epoch(config, history, 3)
    with pytest.raises(IndexError):
        explain_epoch(config, history, -1)


def test_arrays_are_read_only_copies() -> None:
    explanation = explained(build_config("numpy"), 2, 2)
    forward = explanation.forward
    assert forward is not None
    for array in (forward.x, forward.y, forward.y_pred, forward.residuals,
                  explanation.steps[0].contributions):
        assert not array.flags.writeable


# --- the torch cells ----------------------------------------------------------------------------

def test_autograd_epoch_1_gradient() -> None:
    pytest.importorskip("torch")
    explanation = explained(build_config("autograd"), 2, 1)
    assert explanation.loss == 30.0
    (step,) = explanation.steps
    assert step.grad == -30.0
    np.testing.assert_array_equal(step.contributions, [-1, -4, -9, -16])
    assert step.after == pytest.approx(0.3)
    assert explanation.formulas.gradient == build_config("autograd").spec.gradient_formula(None)


def test_nn_contributions_sum_to_both_grads() -> None:
    pytest.importorskip("torch")
    config = build_config("nn")
    history = trained(config, 5)
    for epoch in range(1, 6):
        explanation = explain_epoch(config, history, epoch)
        assert [s.name for s in explanation.steps] == ["w", "b"]
        assert explanation.forward is not None and not explanation.forward.recomputed
        assert_sums_to_grads(explanation)
        for step, before, after in zip(explanation.steps, explanation.params_before,
                                       explanation.params_after, strict=True):
            assert (step.before, step.after) == (before, after)
    assert explanation.note == config.spec.note != ""
    assert explanation.formulas.forward == "y_pred = w·x + b"


# --- properties and large data sets -------------------------------------------------------------

@st.composite
def small_runs(draw: st.DrawFn) -> RunConfig:
    n = draw(st.integers(2, 12))
    numbers = st.floats(-10.0, 10.0, allow_nan=False, width=32)
    x = draw(st.lists(numbers, min_size=n, max_size=n))
    y = draw(st.lists(numbers, min_size=n, max_size=n))
    lr = draw(st.floats(1e-4, 0.05))
    trainer = draw(st.sampled_from(["numpy", "numpy-mean", "nn"]))
    if trainer == "nn":
        return build_config("nn", {"x": x, "y": y, "lr": lr, "epochs": 3})
    gradient = "mean" if trainer == "numpy-mean" else "notebook"
    return build_config("numpy", {"x": x, "y": y, "lr": lr, "epochs": 3, "gradient": gradient})


@settings(max_examples=40, deadline=None)
@given(config=small_runs())
def test_contributions_sum_to_the_recorded_gradient(config: RunConfig) -> None:
    history = trained(config, 3)
    for epoch in range(1, len(history) + 1):
        explanation = explain_epoch(config, history, epoch)
        assert explanation.loss == history.row(epoch)["loss"]
        assert_sums_to_grads(explanation)


@pytest.mark.parametrize("trainer", ["numpy", "nn"])
def test_large_data_set_recomputes_the_forward_pass(trainer: str) -> None:
    if trainer == "nn":
        pytest.importorskip("torch")
    n = MAX_KEPT_PREDICTIONS + 36
    rng = np.random.default_rng(1)
    x = np.round(rng.uniform(-3, 3, n), 3)
    y = np.round(2 * x + 0.5 + rng.normal(0, 0.3, n), 3)
    config = build_config(trainer, {"x": list(x), "y": list(y), "lr": 0.01, "epochs": 4,
                                    **({"gradient": "mean"} if trainer == "numpy" else {})})
    trainer_ = make_trainer(config)
    history = History(trainer_.param_names, trainer_.params(), n_points=n)
    assert not history.keeps_predictions
    produced = []
    for _ in range(4):
        record = trainer_.step()
        history.append(record)
        produced.append(np.array(record.y_pred))
    for epoch in range(1, 5):
        explanation = explain_epoch(config, history, epoch)
        forward = explanation.forward
        assert forward is not None and forward.recomputed
        assert forward.y_pred.dtype == np.float32
        if trainer == "numpy":
            np.testing.assert_array_equal(forward.y_pred, produced[epoch - 1])
        else:  # torch's addmm may fuse w·x + b: the same float32 values up to one rounding
            np.testing.assert_allclose(forward.y_pred, produced[epoch - 1], rtol=1e-6,
                                       atol=1e-6)
        assert_sums_to_grads(explanation, rtol=1e-4)
