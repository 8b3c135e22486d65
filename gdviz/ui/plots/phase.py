"""What the plots need to show lecture mode's phase: the position and the trainer's own numbers.

Every plot asks `phase_view(model)` on each refresh; the explanation of an epoch is computed
once per run and epoch (a recorded epoch never changes, a new run has a new History), so a
sub-step costs the plots a dictionary look-up, not a pass over the data.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gdviz.core.config import RunConfig
from gdviz.core.explain import EpochExplanation, ParamStep, explain_epoch
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.ui.formatting import number, signed
from gdviz.ui.run_model import RunModel

CACHED_EPOCHS = 64  # sub-stepping visits a handful of epochs; seeking may visit many


@dataclass(frozen=True)
class PhaseView:
    """The position the views show. `phase` None is the whole epoch (the look before lecture
    mode); `shown` is the history index of the parameters drawn (θ_{k−1} before the update)."""

    phase: Phase | None
    epoch: int
    shown: int
    explanation: EpochExplanation | None  # of `epoch`; None at epoch 0 or before the run

    @property
    def sub_stepping(self) -> bool:
        return self.phase is not None

    def step(self, name: str) -> ParamStep | None:
        if self.explanation is None:
            return None
        return next((s for s in self.explanation.steps if s.name == name), None)


class ExplanationCache:
    """explain_epoch results of one run, the most recently used CACHED_EPOCHS of them."""

    def __init__(self) -> None:
        self._history: History | None = None
        self._config: RunConfig | None = None
        self._entries: OrderedDict[int, EpochExplanation] = OrderedDict()

    def get(self, config: RunConfig, history: History, epoch: int) -> EpochExplanation:
        if history is not self._history or config is not self._config:
            self._history, self._config = history, config
            self._entries.clear()
        found = self._entries.get(epoch)
        if found is None:
            found = explain_epoch(config, history, epoch)
            self._entries[epoch] = found
            if len(self._entries) > CACHED_EPOCHS:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(epoch)
        return found


# One cache per model, shared by its plots (they all explain the same epoch in a frame).
_caches: weakref.WeakKeyDictionary[RunModel, ExplanationCache] = weakref.WeakKeyDictionary()


def explanation_of(model: RunModel, epoch: int) -> EpochExplanation | None:
    history = model.history
    if history is None or not 1 <= epoch <= len(history):
        return None
    try:
        cache = _caches.get(model)
        if cache is None:
            cache = _caches[model] = ExplanationCache()
    except TypeError:  # a stand-in model (tests) that cannot be weakly referenced
        return explain_epoch(model.config, history, epoch)
    return cache.get(model.config, history, epoch)


def explained(model: Any, epoch: int) -> EpochExplanation:
    """Epoch `epoch` (0 … recorded) explained, from the model's shared cache where it can be:
    the plots, the step panel and the code panel explain the same epoch in a frame."""
    found = explanation_of(model, epoch) if epoch >= 1 else None
    return found if found is not None else explain_epoch(model.config, model.history, epoch)


def phase_view(model: RunModel, always_explain: bool = False) -> PhaseView:
    """The position shown. The explanation only while sub-stepping unless `always_explain`:
    playing (phase None) then costs the plots nothing new."""
    if model.history is None:
        return PhaseView(None, 0, 0, None)
    epoch = model.cursor
    phase = model.phase
    shown = model.session.shown_params_epoch if phase is not None else epoch
    explained = phase is not None or always_explain
    return PhaseView(phase, epoch, shown, explanation_of(model, epoch) if explained else None)


def lr_text(lr: float) -> str:
    """The learning rate as the user typed it (0.01, not 0.010)."""
    return f"{lr:g}".replace("-", "−")


def change_text(value: float) -> str:
    """A change with its sign: +1.372, −0.052."""
    text = number(value)
    return text if text.startswith("−") else f"+{text}"


def update_text(step: ParamStep, config: RunConfig | None = None, short: bool = False) -> str:
    """−lr × grad = −0.01 × (−120.000) = 1.200: the change the update makes, with its numbers;
    `short`: −lr × grad = +1.200, for a plot with two parameters' labels to fit (the step and
    code panels write the arithmetic out).

    With another optimizer than plain SGD the step is not −lr × grad: then its name and the
    change it really made (the step panel writes out how)."""
    if config is not None and not config.optimizer_config.is_plain_sgd:
        return f"{config.optimizer_spec.title} step Δ{step.name} = {change_text(step.change)}"
    if short:
        return f"−lr × grad = {change_text(-step.lr * step.grad)}"
    return (f"−lr × grad = −{lr_text(step.lr)} × {signed(step.grad)} "
            f"= {number(-step.lr * step.grad)}")


def update_vector_text(steps: tuple[ParamStep, ...], config: RunConfig | None = None) -> str:
    """−lr × grad = (+1.372, +0.448): the update of (w, b) in one line, for the heatmap, where
    the arithmetic of both parameters took four wrapped lines over the arrow it labels."""
    if config is not None and not config.optimizer_config.is_plain_sgd:
        names = ", ".join(s.name for s in steps)
        changes = ", ".join(change_text(s.change) for s in steps)
        return f"{config.optimizer_spec.title} step Δ({names}) = ({changes})"
    return "−lr × grad = (" + ", ".join(change_text(-s.lr * s.grad) for s in steps) + ")"


def finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)
