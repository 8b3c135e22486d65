"""The immutable record of one training epoch, the unit that flows from trainer to views."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class StepRecord(NamedTuple):
    """One epoch: what the parameters were, the loss and gradients computed there, the update.

    A NamedTuple rather than a frozen dataclass: it is as immutable, and cheap enough to build on
    every epoch of a loop that otherwise costs a few microseconds. `y_pred` is a fresh read-only
    array, safe to hand to another thread.
    """

    epoch: int  # 1-based, as the notebook prints it
    params_before: tuple[float, ...]  # (w,) or (w, b)
    params_after: tuple[float, ...]
    loss: float  # loss at params_before, i.e. before the update
    grads: tuple[float, ...]  # the gradient the update used, same order as params
    y_pred: np.ndarray  # the forward pass at params_before

    @property
    def is_finite(self) -> bool:
        values = (self.loss, *self.params_after)
        return all(v - v == 0.0 for v in values)  # False for nan and +-inf, cheaper than isfinite
