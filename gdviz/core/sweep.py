"""The learning-rate sweep: final loss and epochs to a tolerance over a log range of lrs.

Every point is a real run of the configured trainer (`make_trainer(config.replace(lr=...))`
and `train`), so the sweep follows whatever the config carries (trainer, data, start, gradient
mode, optimizer settings) and every number is one the window would show for that lr.

Definitions (each run trains `epochs` epochs from the config's start):

- final loss: L(θ_epochs), the loss after the last update (the trainer records the loss before
  each update, so one more epoch is trained to read it); `inf` once a value overflowed.
- diverged: a value stopped being finite, or the final loss is above the start loss by more
  than float32 noise (`GROWTH_MARGIN`). On a quadratic loss plain gradient descent shrinks every
  component of the error when lr < 2/h_max, so the final loss is below the start exactly then.
- epochs to tolerance: the first epoch k with L(θ_k) − L_min ≤ rtol·(L(θ_0) − L_min) (rtol 1e-6
  by default: a millionth of the way from the start to the least-squares minimum L_min), never
  closer to L_min than `FLOAT32_FLOOR`·L_min, which float32 cannot resolve; None if never.
- the cliff: the grid brackets it between the last lr that does not diverge and the first that
  does; bisection (in log lr) on the same criterion narrows the bracket to a relative width
  below `CLIFF_WIDTH`. For plain SGD it is the closed form 2 / h_max of the Hessian of the loss
  the trainer descends (N × the MSE for the notebook's numpy gradient).

Cancellation and progress are plain callables checked between runs (and every few hundred
epochs within one), so a Qt worker adapts them to a `threading.Event` and a signal.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.records import StepRecord
from gdviz.core.session import landscape_for
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train

DEFAULT_POINTS = 50
DEFAULT_EPOCHS = 1000
DEFAULT_LOW = 1e-3  # the default range runs from the critical lr / 1000 ...
DEFAULT_HIGH = 3.0  # ... to 3 × the critical lr
DEFAULT_RTOL = 1e-6
CLIFF_WIDTH = 1e-3  # bisection stops once hi / lo − 1 is below this
GROWTH_MARGIN = 1e-5  # a final loss this much (relative) above the start counts as growth
FLOAT32_FLOOR = 1e-6  # the tolerance never asks the float32 loss to be closer than this to L_min
CANCEL_CHECK_EPOCHS = 256  # within a run, `cancelled` is asked this often
MAX_POINTS = 1000


class SweepError(ValueError):
    """A sweep that cannot be run as asked; the message is one line, fit to show as it is."""


class SweepCancelled(Exception):
    """`cancelled()` said so: the sweep stopped after `done` of `total` runs."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"sweep cancelled after {done} of {total} runs")
        self.done = done
        self.total = total


class _StopRun(Exception):
    """Raised from inside a run when `cancelled()` turns true."""


class _Stationary(Exception):
    """Raised from inside a plain-SGD run whose update left the parameters unchanged."""


@dataclass(frozen=True)
class LrOutcome:
    """One run of the sweep."""

    lr: float
    initial_loss: float  # L(θ_0)
    final_loss: float  # L(θ_epochs); inf if a value overflowed
    epochs_to_tolerance: int | None  # first epoch within the tolerance; None if never
    diverged: bool
    overflow_epoch: int | None  # the epoch whose loss or parameters stopped being finite


@dataclass(frozen=True)
class SweepResult:
    config: RunConfig  # the swept config (its own lr and epochs play no part)
    epochs: int
    rtol: float
    min_loss: float  # the least-squares minimum L_min the tolerance is measured from
    outcomes: tuple[LrOutcome, ...]  # the grid, lr ascending
    refinements: tuple[LrOutcome, ...]  # the bisection's runs, in the order they ran
    cliff_bracket: tuple[float, float] | None  # (last lr that converges, first that diverges)
    closed_form: float | None  # 2 / h_max, for plain SGD only

    @property
    def lrs(self) -> np.ndarray:
        return _frozen_array([o.lr for o in self.outcomes])

    @property
    def final_losses(self) -> np.ndarray:
        return _frozen_array([o.final_loss for o in self.outcomes])

    @property
    def epochs_to_tolerance(self) -> np.ndarray:
        """Per lr, as floats: NaN where the tolerance was never reached."""
        return _frozen_array([math.nan if o.epochs_to_tolerance is None
                              else float(o.epochs_to_tolerance) for o in self.outcomes])

    @property
    def diverged(self) -> np.ndarray:
        return _frozen_array([o.diverged for o in self.outcomes], dtype=bool)

    @property
    def initial_loss(self) -> float:
        return self.outcomes[0].initial_loss if self.outcomes else math.nan

    @property
    def cliff(self) -> float | None:
        """The measured critical lr: the bracket's geometric middle (within CLIFF_WIDTH / 2)."""
        if self.cliff_bracket is None:
            return None
        low, high = self.cliff_bracket
        return math.sqrt(low * high)

    @property
    def fastest(self) -> LrOutcome | None:
        """The run that reached the tolerance in the fewest epochs (the smallest lr on a tie)."""
        reached = [o for o in self.outcomes
                   if o.epochs_to_tolerance is not None and not o.diverged]
        return min(reached, key=lambda o: o.epochs_to_tolerance or 0, default=None)

    def describe(self) -> str:
        """The result in words, e.g. "runs diverge above lr ≈ 0.0333; the closed form says
        0.0333"."""
        if not self.outcomes:
            return "no learning rate was tried"
        if self.cliff is not None:
            text = f"runs diverge above lr ≈ {self.cliff:.3g}"
        elif self.outcomes[0].diverged:
            text = f"every run diverged, down to lr = {self.outcomes[0].lr:.3g} (the lowest tried)"
        else:
            text = f"no run diverged up to lr = {self.outcomes[-1].lr:.3g} (the highest tried)"
        if self.closed_form is not None:
            text += f"; the closed form says {self.closed_form:.3g}"
        else:
            text += "; the closed form 2/h holds for plain SGD only"
        fastest = self.fastest
        if fastest is not None:
            n = fastest.epochs_to_tolerance
            text += (f". Fastest to {self.rtol:.0e} of the start's excess loss: lr ≈ "
                     f"{fastest.lr:.3g} ({n} epoch{'' if n == 1 else 's'})")
        else:
            text += f". No run came within {self.rtol:.0e} of the minimum in {self.epochs} epochs"
        return text


def _frozen_array(values: Sequence[Any], dtype: Any = np.float64) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


# --- what the sweep depends on --------------------------------------------------------------


def is_plain_sgd(config: RunConfig) -> bool:
    """Plain gradient descent: no optimizer but SGD, no momentum or weight decay, every line of
    the cell present. Read with getattr so configs with or without optimizer fields work."""
    return (getattr(config, "optimizer", "sgd") in ("sgd", None)
            and not getattr(config, "momentum", 0.0)
            and not getattr(config, "weight_decay", 0.0)
            and not config.forget_zero_grad and not config.update_with_grad)


def sgd_critical_lr(config: RunConfig) -> float:
    """2 / h_max of the loss the trainer descends, whatever its optimizer (inf if flat)."""
    return landscape_for(config).critical_lr(config.gradient_scale())


def closed_form_critical_lr(config: RunConfig) -> float | None:
    """The closed-form critical lr, for plain SGD only (None otherwise, or if nothing curves)."""
    if not is_plain_sgd(config):
        return None
    critical = sgd_critical_lr(config)
    return critical if math.isfinite(critical) else None


def sweep_key(config: RunConfig) -> RunConfig:
    """The part of a config a sweep depends on: the config with lr, epochs, log interval and
    prediction point set to fixed values. Two configs with equal keys give the same sweep."""
    return replace(config, lr=1.0, epochs=0, log_every=1, x_test=0.0)


def default_lrs(config: RunConfig, points: int = DEFAULT_POINTS, low: float = DEFAULT_LOW,
                high: float = DEFAULT_HIGH) -> np.ndarray:
    """`points` lrs, evenly spaced in log, from low × to high × the plain-SGD critical lr.

    The plain-SGD value sets the scale for every optimizer (it is the curvature's scale); where
    nothing curves (all x zero without a bias) the range is low .. high itself.
    """
    if points < 2:
        raise SweepError(f"a sweep needs at least 2 learning rates, got {points}")
    if points > MAX_POINTS:
        raise SweepError(f"a sweep tries at most {MAX_POINTS} learning rates, got {points}")
    critical = sgd_critical_lr(config)
    scale = critical if math.isfinite(critical) and critical > 0 else 1.0
    return np.geomspace(low * scale, high * scale, points)


# --- the runs --------------------------------------------------------------------------------


def run_lr(config: RunConfig, lr: float, epochs: int = DEFAULT_EPOCHS,
           rtol: float = DEFAULT_RTOL, min_loss: float | None = None,
           cancelled: Callable[[], bool] | None = None,
           stop_when_stationary: bool = True) -> LrOutcome:
    """Train a fresh trainer of `config` with learning rate `lr` for `epochs` epochs.

    With plain SGD a trainer's next epoch depends on its parameters alone, so once an update
    leaves them exactly as they were, every later epoch repeats it: the run stops there and the
    remaining losses are that epoch's (the numbers are the same as training on; tested). Other
    optimizers and the lessons keep state besides the parameters and always train to the end.
    """
    if min_loss is None:
        min_loss = landscape_for(config).min_loss
    trainer = make_trainer(config.replace(lr=float(lr), epochs=epochs + 1))
    losses: list[float] = []
    append = losses.append
    stationary_stops = stop_when_stationary and is_plain_sgd(config)
    check = cancelled

    def on_record(record: StepRecord) -> None:
        append(record.loss)
        if stationary_stops and record.params_after == record.params_before:
            raise _Stationary
        if check is not None and record.epoch % CANCEL_CHECK_EPOCHS == 0 and check():
            raise _StopRun

    # One epoch more than asked: record k holds L(θ_{k-1}), so epoch epochs + 1 reads L(θ_epochs).
    stopped_at: int | None = None
    try:
        stopped_at = train(trainer, epochs + 1, on_record=on_record).diverged_at
    except _Stationary:
        losses.extend([losses[-1]] * (epochs + 1 - len(losses)))
    return _outcome(float(lr), losses, epochs, stopped_at, rtol, min_loss)


def _outcome(lr: float, losses: list[float], epochs: int, stopped_at: int | None, rtol: float,
             min_loss: float) -> LrOutcome:
    with np.errstate(all="ignore"):
        values = np.array(losses[: epochs + 1], dtype=np.float64)
    finite = len(values) == epochs + 1 and bool(np.isfinite(values).all())
    overflow_epoch: int | None = None
    if not finite:
        bad = np.flatnonzero(~np.isfinite(values))
        overflow_epoch = int(bad[0]) if len(bad) else stopped_at
    initial = float(values[0]) if len(values) and math.isfinite(values[0]) else math.inf
    final = float(values[-1]) if finite else math.inf
    diverged = not finite or final > initial * (1.0 + GROWTH_MARGIN)
    excess = max(initial - min_loss, 0.0)
    threshold = min_loss + max(rtol * excess, FLOAT32_FLOOR * min_loss)
    reached = np.flatnonzero(values <= threshold)
    return LrOutcome(lr, initial, final, int(reached[0]) if len(reached) else None, diverged,
                     overflow_epoch)


def bisection_steps(low: float, high: float, width: float = CLIFF_WIDTH) -> int:
    """How many halvings (in log) take the bracket low..high below a relative width `width`."""
    if high / low - 1.0 < width:
        return 0
    # The smallest k with log(high / low) / 2**k < log(1 + width).
    return math.floor(math.log2(math.log(high / low) / math.log1p(width))) + 1


def run_sweep(
    config: RunConfig,
    lrs: Sequence[float] | np.ndarray | None = None,
    epochs: int = DEFAULT_EPOCHS,
    rtol: float = DEFAULT_RTOL,
    cliff_width: float = CLIFF_WIDTH,
    cancelled: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_outcome: Callable[[LrOutcome], None] | None = None,
) -> SweepResult:
    """Train `config` at each lr (default: `default_lrs(config)`), then bisect the cliff.

    `progress(done, total)` is called after each run (total counts the bisection's runs as
    estimated from the grid's widest step); `on_outcome` receives each grid run as it ends;
    `cancelled()` is asked between runs and every CANCEL_CHECK_EPOCHS epochs within one, and a
    True answer raises SweepCancelled. Torch is imported only if the trainer needs it.
    """
    grid = _checked_lrs(default_lrs(config) if lrs is None else lrs)
    if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
        raise SweepError(f"a sweep trains at least 1 epoch per learning rate, got {epochs!r}")
    if not (0 < rtol < 1):
        raise SweepError(f"the tolerance must be between 0 and 1, got {rtol:g}")
    if not (0 < cliff_width < 1):
        raise SweepError(f"the cliff's relative width must be between 0 and 1, got "
                         f"{cliff_width:g}")
    if config.update_with_grad:
        raise SweepError("the lesson \"update without no_grad\" stops every run at its first "
                         "update: switch it off to sweep")
    epochs = int(epochs)
    min_loss = landscape_for(config).min_loss
    ratios = [b / a for a, b in itertools.pairwise(grid)]
    total = len(grid) + bisection_steps(1.0, max(ratios, default=1.0), cliff_width)
    done = 0

    def one(lr: float) -> LrOutcome:
        nonlocal done
        if cancelled is not None and cancelled():
            raise SweepCancelled(done, total)
        try:
            result = run_lr(config, lr, epochs, rtol, min_loss, cancelled)
        except _StopRun:
            raise SweepCancelled(done, total) from None
        done += 1
        if progress is not None:
            progress(done, max(done, total))
        return result

    outcomes = []
    for lr in grid:
        outcome = one(lr)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    bracket: tuple[float, float] | None = None
    refinements: list[LrOutcome] = []
    first = next((i for i, o in enumerate(outcomes) if o.diverged), None)
    if first is not None and first > 0:
        low, high = outcomes[first - 1].lr, outcomes[first].lr
        while high / low - 1.0 >= cliff_width:
            middle = math.sqrt(low * high)
            outcome = one(middle)
            refinements.append(outcome)
            if outcome.diverged:
                high = middle
            else:
                low = middle
        bracket = (low, high)
    if progress is not None and done < total:
        progress(total, total)
    return SweepResult(config, epochs, rtol, min_loss, tuple(outcomes), tuple(refinements),
                       bracket, closed_form_critical_lr(config))


def _checked_lrs(lrs: Sequence[float] | np.ndarray) -> list[float]:
    try:
        values = [float(lr) for lr in lrs]
    except (TypeError, ValueError):
        raise SweepError("the learning rates must be numbers") from None
    if len(values) < 1:
        raise SweepError("a sweep needs at least one learning rate")
    if len(values) > MAX_POINTS:
        raise SweepError(f"a sweep tries at most {MAX_POINTS} learning rates, got {len(values)}")
    bad = [lr for lr in values if not (math.isfinite(lr) and lr > 0)]
    if bad:
        raise SweepError(f"learning rates must be finite and greater than 0, got {bad[0]:g}")
    return sorted(set(values))
