"""The immutable record of one training epoch, the unit that flows from trainer to views."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class StepRecord(NamedTuple):
    """One epoch: what the parameters were, the loss and gradients computed there, the update.

    A NamedTuple rather than a frozen dataclass: it is as immutable, and cheap enough to build on
    every epoch of a loop that otherwise costs a few microseconds. The forward pass is kept as
    the trainer produced it (a read-only numpy array, or a detached torch tensor that nothing
    writes to again) and becomes a numpy array only when `y_pred` is read: converting on every
    epoch cost the autograd loop 10% of its speed, and most records are never asked.
    """

    epoch: int  # 1-based, as the notebook prints it
    params_before: tuple[float, ...]  # (w,) or (w, b)
    params_after: tuple[float, ...]
    loss: float  # loss at params_before, i.e. before the update
    grads: tuple[float, ...]  # the gradient the update used, same order as params
    predictions: Any  # the forward pass at params_before: ndarray or detached torch tensor

    @property
    def y_pred(self) -> np.ndarray:
        """The forward pass at params_before, as a fresh read-only 1-D numpy view."""
        values = self.predictions
        if not isinstance(values, np.ndarray):
            values = values.numpy()  # a detached CPU tensor: shares memory, no copy
        view: np.ndarray = values.reshape(-1)
        view.flags.writeable = False
        return view

    @property
    def is_finite(self) -> bool:
        values = (self.loss, *self.params_after)
        return all(v - v == 0.0 for v in values)  # False for nan and +-inf, cheaper than isfinite
