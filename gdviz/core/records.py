"""The immutable record of one training epoch, the unit that flows from trainer to views."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class OptimizerState(NamedTuple):
    """An optimizer's state after one epoch's update, per parameter, as plain floats.

    `keys` are torch.optim's state names ("momentum_buffer", "exp_avg", "exp_avg_sq", "step",
    ...) plus values torch derives from them on the way ("bias_correction1", "clr"); `labels`
    are their short names for a panel ("velocity", "m", "v"). Both tuples are shared by every
    epoch of a run; only `values` is new: values[i][j] is parameter i's (in the trainer's
    `param_names` order) entry keys[j].
    """

    keys: tuple[str, ...]
    labels: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]

    def value(self, key: str, param: int = 0) -> float:
        """Entry `key` of parameter number `param`; KeyError if this optimizer has no such entry."""
        if key not in self.keys:
            raise KeyError(key)
        return self.values[param][self.keys.index(key)]

    def entries(self, param: int = 0) -> tuple[tuple[str, str, float], ...]:
        """(key, label, value) of each entry of parameter number `param`, in order."""
        return tuple(zip(self.keys, self.labels, self.values[param], strict=True))

    def flat(self, param_names: tuple[str, ...]) -> dict[str, float]:
        """{"<key>_<param>": value}, e.g. {"exp_avg_w": ..., "exp_avg_b": ...}: `--json`'s keys."""
        return {f"{key}_{name}": value
                for name, values in zip(param_names, self.values, strict=True)
                for key, value in zip(self.keys, values, strict=True)}


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
    # The optimizer's state after the update; None for plain SGD, which keeps none.
    optimizer_state: OptimizerState | None = None
    # A race (gdviz.core.race): the other lanes' records of the same epoch, None for a lane
    # that has diverged; None outside a race.
    lanes: tuple[StepRecord | None, ...] | None = None

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
