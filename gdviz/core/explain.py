"""One recorded epoch explained from what the trainer produced: forward, loss, gradient, update.

Everything comes from the history (the forward pass as the trainer computed it, the loss and
gradients as recorded, the parameters before and after) and everything trainer-specific from
the config's `TrainerSpec`: nothing here compares a trainer's name. Only a data set too large
for the history to keep its forward pass has it recomputed, in float32 as the trainers do, and
the explanation says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.history import History

UPDATE_FORMULA = "θ ← θ − lr × dL/dθ"


@dataclass(frozen=True)
class ForwardPass:
    """The forward pass of one epoch, float32 like the trainers' (read-only arrays)."""

    x: np.ndarray
    y: np.ndarray
    y_pred: np.ndarray
    residuals: np.ndarray  # y_pred − y
    recomputed: bool  # True: not kept by the history, recomputed from the parameters


@dataclass(frozen=True)
class ParamStep:
    """One parameter's share of the epoch: its gradient, where it came from, its update."""

    name: str
    before: float
    grad: float  # as recorded
    # Per data point, the terms whose sum is `grad` (up to float32 rounding): the bars of a
    # "which points pull the parameter" chart.
    contributions: np.ndarray
    lr: float
    after: float  # as recorded

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Formulas:
    forward: str
    gradient: str  # for the config's gradient mode
    update: str = UPDATE_FORMULA


@dataclass(frozen=True)
class EpochExplanation:
    """Epoch `epoch` (1-based) of a run; epoch 0 is the start: no forward pass, no steps."""

    epoch: int
    epochs: int  # the run's planned number of epochs
    title: str
    param_names: tuple[str, ...]
    params_before: tuple[float, ...]
    params_after: tuple[float, ...]
    forward: ForwardPass | None
    loss: float | None  # as recorded: the loss at params_before
    steps: tuple[ParamStep, ...]
    formulas: Formulas
    gradient_scale: float  # how many times the MSE gradient the update uses
    note: str  # the spec's caveat about this trainer's numbers ("" when none)
    note_brief: str  # the same in a few words (the note itself when the spec has no brief)

    @property
    def is_start(self) -> bool:
        return self.epoch == 0


def explain_epoch(config: RunConfig, history: History, epoch: int) -> EpochExplanation:
    """Explain epoch `epoch` of `history` (0..len(history)), a run of `config`."""
    if not 0 <= epoch <= len(history):
        raise IndexError(f"epoch {epoch} is outside 0..{len(history)}")
    spec = config.spec
    formulas = Formulas(spec.forward_formula, spec.gradient_formula(config.gradient))
    before = history.params_at(max(epoch - 1, 0))
    after = history.params_at(epoch)
    forward: ForwardPass | None = None
    loss: float | None = None
    steps: tuple[ParamStep, ...] = ()
    if epoch > 0:
        row = history.row(epoch)
        forward = _forward_pass(config, history, epoch, before)
        loss = row["loss"]
        scale = config.gradient_scale()
        steps = tuple(
            ParamStep(name, before[i], row[f"grad_{name}"],
                      _contributions(name, forward, scale), config.lr, after[i])
            for i, name in enumerate(history.param_names))
    return EpochExplanation(epoch, config.epochs, spec.title, history.param_names, before, after,
                            forward, loss, steps, formulas, config.gradient_scale(), spec.note,
                            spec.note_brief or spec.note)


def recompute_forward(config: RunConfig, params: tuple[float, ...]) -> np.ndarray:
    """y_pred = w·x (+ b) in float32, as the trainers compute it from the float32 data."""
    x = np.asarray(config.x, dtype=np.float32)
    with np.errstate(all="ignore"):
        y_pred = np.float32(params[0]) * x
        if len(params) > 1:
            y_pred = y_pred + np.float32(params[1])
    return _read_only(y_pred)


def _forward_pass(config: RunConfig, history: History, epoch: int,
                  before: tuple[float, ...]) -> ForwardPass:
    kept = history.predictions(epoch)
    recomputed = kept is None
    y_pred = recompute_forward(config, before) if kept is None else _read_only(kept.copy())
    x = np.asarray(config.x, dtype=np.float32)
    y = np.asarray(config.y, dtype=np.float32)
    with np.errstate(all="ignore"):
        residuals = y_pred - y
    return ForwardPass(_read_only(x), _read_only(y), y_pred, _read_only(residuals), recomputed)


def _contributions(name: str, forward: ForwardPass, scale: float) -> np.ndarray:
    """Per-point terms of dL/d`name` times `scale`: 2·∂y_pred_i/∂θ·(y_pred_i − y_i)/N · scale.

    ∂y_pred_i/∂θ is x_i for the weight and 1 for the bias of the linear model f = w·x + b.
    """
    residuals = forward.residuals.astype(np.float64)
    slope = forward.x.astype(np.float64) if name == "w" else np.ones_like(residuals)
    with np.errstate(all="ignore"):
        terms = 2.0 * slope * residuals * (scale / residuals.size)
    return _read_only(terms)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array
