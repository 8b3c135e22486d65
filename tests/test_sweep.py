"""The learning-rate sweep (gdviz.core.sweep): real runs, the cliff against the closed form."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import subprocess
import sys
import types

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdviz.core import sweep as sweep_module
from gdviz.core.config import build_config
from gdviz.core.session import landscape_for
from gdviz.core.sweep import (
    CLIFF_WIDTH,
    LrOutcome,
    SweepCancelled,
    SweepError,
    SweepResult,
    bisection_steps,
    closed_form_critical_lr,
    default_lrs,
    is_plain_sgd,
    run_lr,
    run_sweep,
    sweep_key,
)
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, train

# Each case: trainer, extra settings, sweep epochs. The torch trainers are 10-25x slower per
# epoch than numpy, so they sweep fewer epochs (still enough to see a 0.1% step past the cliff).
CASES = {
    "numpy-notebook": ("numpy", {"gradient": "notebook"}, 1000),
    "numpy-mean": ("numpy", {"gradient": "mean"}, 1000),
    "autograd": ("autograd", {}, 300),
    "nn": ("nn", {}, 300),
}


def small_grid(config, points: int = 8):
    """From a tenth of the closed form to 3x: fewer points, same cliff."""
    return default_lrs(config, points, low=0.1, high=3.0)


def assert_cliff_matches_closed_form(result: SweepResult) -> None:
    assert result.closed_form is not None and result.cliff is not None
    assert abs(result.cliff / result.closed_form - 1) < 0.01
    low, high = result.cliff_bracket
    assert high / low - 1 < CLIFF_WIDTH
    # Every lr tried on either side of the bracket is on the right side of the cliff.
    for outcome in (*result.outcomes, *result.refinements):
        assert outcome.diverged == (outcome.lr >= high), outcome


# --- the default data ---------------------------------------------------------------------


def test_notebook_numpy_default_sweep_finds_one_thirtieth() -> None:
    config = build_config("numpy")
    result = run_sweep(config)
    assert len(result.outcomes) == 50 and result.epochs == 1000
    assert result.closed_form == pytest.approx(1 / 30)  # 2 / (2 · Σx² / N · N) = 1 / Σx²
    assert_cliff_matches_closed_form(result)
    assert abs(result.cliff / result.closed_form - 1) < CLIFF_WIDTH  # far inside the 1% asked
    low, high = result.cliff_bracket
    assert low < result.closed_form < high
    assert result.lrs[0] == pytest.approx(result.closed_form / 1000)
    assert result.lrs[-1] == pytest.approx(3 * result.closed_form)
    assert result.describe().startswith(
        "runs diverge above lr ≈ 0.0333; the closed form says 0.0333")


@pytest.mark.parametrize("case", CASES)
def test_cliff_within_one_percent_of_closed_form(case: str) -> None:
    trainer, extra, epochs = CASES[case]
    config = build_config(trainer, explicit=extra)
    result = run_sweep(config, small_grid(config), epochs=epochs)
    assert_cliff_matches_closed_form(result)


def test_every_number_is_the_trainers_own() -> None:
    """The final loss is the loss the trainer prints one epoch later; no closed form used."""
    config = build_config("nn")
    outcome = run_lr(config, 0.05, epochs=40)
    model = make_trainer(config.replace(lr=0.05, epochs=41))
    history = new_history(model)
    train(model, 41, history)
    losses = history.column("loss")
    assert outcome.initial_loss == losses[0]
    assert outcome.final_loss == losses[40]
    assert not outcome.diverged


def test_overflow_is_divergence_with_infinite_final_loss() -> None:
    config = build_config("numpy")
    outcome = run_lr(config, 10 / 30, epochs=1000)
    assert outcome.diverged and outcome.final_loss == math.inf
    assert outcome.overflow_epoch is not None and outcome.overflow_epoch < 100
    assert outcome.epochs_to_tolerance is None


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_a_stationary_run_stops_early_with_the_numbers_of_training_on(
        trainer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain SGD on the notebook's data reaches a fixed point (w = 2 exactly in float32):
    from there on every epoch repeats, so the sweep stops training, with the same numbers."""
    built = []

    def spy(config):
        built.append(make_trainer(config))
        return built[-1]

    monkeypatch.setattr(sweep_module, "make_trainer", spy)
    config = build_config(trainer)
    lr = 0.4 * closed_form_critical_lr(config)
    short = run_lr(config, lr, epochs=2000)
    assert built[-1].epoch < 2000  # it did stop early
    full = run_lr(config, lr, epochs=2000, stop_when_stationary=False)
    assert built[-1].epoch == 2001
    assert short == full
    # Not for state beyond the parameters: the lesson's accumulated .grad trains to the end.
    if trainer != "numpy":
        lesson = config.replace(forget_zero_grad=True)
        run_lr(lesson, lr / 50, epochs=300)
        assert built[-1].epoch == 301


# --- random data (hypothesis) -------------------------------------------------------------

coordinate = st.floats(-5.0, 5.0, allow_nan=False, width=32)


@st.composite
def datasets(draw: st.DrawFn, max_size: int = 8) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = draw(st.integers(2, max_size))
    x = draw(arrays(np.float64, n, elements=coordinate))
    y = draw(arrays(np.float64, n, elements=coordinate))
    assume(np.ptp(x) > 0.5 and float(x @ x) > 1.0)
    return tuple(float(v) for v in x), tuple(float(v) for v in y)


def assume_start_error_along_steepest(config) -> None:
    """Divergence shows as growth of the error along the steepest direction: the start must
    have some (a start exactly in the flat valley, or at the optimum, never shows a cliff)."""
    model = make_trainer(config)
    landscape = landscape_for(config)
    error = np.array(model.params()) - np.array(landscape.optimum)
    hessian = landscape.hessian()
    values, vectors = np.linalg.eigh(hessian)
    parts = values * (vectors.T @ error) ** 2  # the excess loss along each direction
    assume(parts[-1] > 1e-4 * (parts.sum() + landscape.min_loss))


@settings(max_examples=10, deadline=None)
@given(data=datasets(), w0=st.floats(-3, 3), mode=st.sampled_from(["notebook", "mean"]))
def test_numpy_cliff_on_random_data(data, w0: float, mode: str) -> None:
    config = build_config("numpy", explicit={"x": data[0], "y": data[1], "w0": w0,
                                             "gradient": mode})
    assume_start_error_along_steepest(config)
    result = run_sweep(config, default_lrs(config, 12))
    assert_cliff_matches_closed_form(result)


@settings(max_examples=3, deadline=None)
@given(data=datasets(), w0=st.floats(-3, 3))
def test_autograd_cliff_on_random_data(data, w0: float) -> None:
    config = build_config("autograd", explicit={"x": data[0], "y": data[1], "w0": w0})
    assume_start_error_along_steepest(config)
    result = run_sweep(config, small_grid(config), epochs=300)
    assert_cliff_matches_closed_form(result)


@settings(max_examples=6, deadline=None)
@given(data=datasets(), trainer=st.sampled_from(["numpy", "autograd", "nn"]),
       fraction=st.floats(0.05, 1.2))
def test_stationary_stops_never_change_a_number(data, trainer: str, fraction: float) -> None:
    config = build_config(trainer, explicit={"x": data[0], "y": data[1]})
    lr = fraction * closed_form_critical_lr(config)
    assert run_lr(config, lr, 300) == run_lr(config, lr, 300, stop_when_stationary=False)


@settings(max_examples=3, deadline=None)
@given(data=datasets(), start=st.none() | st.tuples(st.floats(-3, 3), st.floats(-3, 3)))
def test_nn_cliff_on_random_data(data, start) -> None:
    extra = {} if start is None else {"w0": start[0], "b0": start[1]}
    config = build_config("nn", explicit={"x": data[0], "y": data[1], **extra})
    assume_start_error_along_steepest(config)
    result = run_sweep(config, small_grid(config), epochs=300)
    assert_cliff_matches_closed_form(result)


# --- epochs to the tolerance ------------------------------------------------------------------


def non_increasing(values, slack: int = 1) -> bool:
    return all(b <= a + slack for a, b in itertools.pairwise(values))


@pytest.mark.parametrize("mode", ["notebook", "mean"])
def test_epochs_to_tolerance_fall_then_rise_for_one_weight(mode: str) -> None:
    """|1 − lr·h| shrinks up to lr = 1/h (half the cliff), then grows to 1 at the cliff."""
    config = build_config("numpy", explicit={"gradient": mode})
    result = run_sweep(config)
    half = result.closed_form / 2
    below = [o.epochs_to_tolerance for o in result.outcomes
             if o.lr <= half and o.epochs_to_tolerance is not None]
    above = [o.epochs_to_tolerance for o in result.outcomes
             if half <= o.lr < result.cliff and o.epochs_to_tolerance is not None]
    assert len(below) > 20 and len(above) >= 3
    assert non_increasing(below)
    assert non_increasing(above[::-1])
    # Not reached: only the smallest lrs (too slow), those next to the cliff, and beyond it.
    reached = [o.epochs_to_tolerance is not None for o in result.outcomes]
    first, last = reached.index(True), len(reached) - 1 - reached[::-1].index(True)
    assert all(reached[first:last + 1])
    assert all(o.diverged for o in result.outcomes[last + 1:] if o.lr > result.cliff)
    assert result.fastest is not None and result.fastest.epochs_to_tolerance <= 2
    assert abs(math.log(result.fastest.lr / half)) < 0.2


def test_epochs_to_tolerance_fall_with_lr_for_nn_below_the_best_lr() -> None:
    """Two curvatures: below lr = 2 / (h_min + h_max) the flat direction decides, and its error
    shrinks faster the larger the lr."""
    config = build_config("nn")
    h_min, h_max = np.linalg.eigvalsh(landscape_for(config).hessian())
    best = 2 / (h_min + h_max)
    result = run_sweep(config, np.geomspace(best / 8, best * 0.7, 5), epochs=1000)
    epochs = [o.epochs_to_tolerance for o in result.outcomes if o.epochs_to_tolerance]
    assert len(epochs) >= 4 and non_increasing(epochs)
    assert result.cliff is None  # the grid stops below the cliff
    assert result.describe().startswith("no run diverged up to lr = ")


def test_tolerance_is_measured_from_the_least_squares_minimum() -> None:
    # Noisy data: the loss never reaches 0, but it does reach L_min + 1e-6 of the way.
    config = build_config("numpy", explicit={"y": (2.5, 3.5, 6.5, 7.5), "gradient": "mean"})
    result = run_sweep(config, [0.05])
    assert result.min_loss > 0.1
    outcome = result.outcomes[0]
    assert outcome.epochs_to_tolerance is not None
    assert outcome.final_loss == pytest.approx(result.min_loss, rel=1e-5)


# --- edges, errors, cancellation, progress -----------------------------------------------------


def test_every_run_diverges_below_the_range() -> None:
    config = build_config("numpy")
    result = run_sweep(config, [0.05, 0.1])
    assert result.cliff is None and result.cliff_bracket is None and not result.refinements
    assert result.describe().startswith("every run diverged, down to lr = 0.05")


def test_closed_form_only_for_plain_sgd() -> None:
    assert closed_form_critical_lr(build_config("numpy")) == pytest.approx(1 / 30)
    lesson = build_config("autograd", explicit={"forget_zero_grad": True})
    assert not is_plain_sgd(lesson) and closed_form_critical_lr(lesson) is None
    # Configs with optimizer fields (added by another feature) are read through getattr.
    base = build_config("numpy")
    for fields, plain in (({"optimizer": "sgd"}, True), ({"optimizer": "adam"}, False),
                          ({"optimizer": "sgd", "momentum": 0.9}, False),
                          ({"optimizer": "sgd", "weight_decay": 0.1}, False)):
        fake = types.SimpleNamespace(**{**dataclasses.asdict(base), **fields})
        assert is_plain_sgd(fake) is plain, fields
    result = run_sweep(lesson, small_grid(build_config("autograd"), 4), epochs=50)
    assert result.closed_form is None
    assert "the closed form 2/h holds for plain SGD only" in result.describe()


@pytest.mark.parametrize("lrs, message", [
    ([], "at least one learning rate"),
    ([0.01, 0.0], "greater than 0"),
    ([0.01, math.inf], "finite"),
    (["a"], "must be numbers"),
])
def test_bad_learning_rates_are_one_line_errors(lrs, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        run_sweep(build_config("numpy"), lrs)


def test_bad_settings_are_one_line_errors() -> None:
    config = build_config("numpy")
    with pytest.raises(SweepError, match="at least 1 epoch"):
        run_sweep(config, [0.01], epochs=0)
    with pytest.raises(SweepError, match="at least 2 learning rates"):
        default_lrs(config, 1)
    lesson = build_config("autograd", explicit={"update_with_grad": True})
    with pytest.raises(SweepError, match="update without no_grad"):
        run_sweep(lesson, [0.01])


def test_cancel_between_runs_stops_early() -> None:
    config = build_config("numpy")
    seen: list[tuple[int, int]] = []
    with pytest.raises(SweepCancelled) as info:
        run_sweep(config, cancelled=lambda: len(seen) >= 3, progress=lambda d, t: seen.append(
            (d, t)))
    assert seen == [(1, seen[0][1]), (2, seen[0][1]), (3, seen[0][1])]
    assert info.value.done == 3 and info.value.total == seen[0][1] > 50


def test_cancel_within_a_long_run() -> None:
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 2  # before the run, once within it, then yes

    with pytest.raises(SweepCancelled) as info:
        run_sweep(build_config("numpy"), [1e-6], epochs=10**7, cancelled=cancelled)
    assert info.value.done == 0 and len(asked) == 3


def test_progress_counts_every_run_and_ends_at_total() -> None:
    config = build_config("numpy")
    seen: list[tuple[int, int]] = []
    outcomes: list[LrOutcome] = []
    result = run_sweep(config, default_lrs(config, 20), progress=lambda d, t: seen.append((d, t)),
                       on_outcome=outcomes.append)
    runs = len(result.outcomes) + len(result.refinements)
    assert [d for d, _ in seen] == list(range(1, runs + 1))
    assert seen[-1] == (runs, runs)  # the estimate of bisection steps was exact here
    assert tuple(outcomes) == result.outcomes


def test_bisection_steps_estimate() -> None:
    assert bisection_steps(1.0, 1.0005) == 0
    for ratio in (1.002, 1.18, 3.0, 30.0):
        low, high, steps = 1.0, ratio, 0
        while high / low - 1 >= CLIFF_WIDTH:
            middle = math.sqrt(low * high)
            low, steps = middle, steps + 1
        assert bisection_steps(1.0, ratio) == steps


def test_result_is_immutable() -> None:
    result = run_sweep(build_config("numpy"), [0.01, 0.02, 0.05], epochs=20)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.epochs = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        result.final_losses[0] = 1.0
    assert result.diverged.tolist() == [False, False, True]
    assert np.isnan(result.epochs_to_tolerance[2])


def test_sweep_key_ignores_what_the_sweep_sets_itself() -> None:
    config = build_config("numpy")
    assert sweep_key(config) == sweep_key(config.replace(lr=0.02, epochs=500, log_every=5))
    assert sweep_key(config) != sweep_key(config.replace(gradient="mean"))
    assert sweep_key(config) != sweep_key(config.replace(y=(1.0, 2.0, 3.0, 4.0)))


def test_numpy_sweep_never_imports_torch() -> None:
    script = (
        "import json, sys\n"
        "from gdviz.core.config import build_config\n"
        "from gdviz.core.sweep import run_sweep, default_lrs\n"
        "config = build_config('numpy')\n"
        "result = run_sweep(config, default_lrs(config, 10), epochs=100)\n"
        "print(json.dumps([result.cliff is not None,\n"
        "                  sorted(m for m in sys.modules if m.split('.')[0] == 'torch')]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout) == [True, []]
