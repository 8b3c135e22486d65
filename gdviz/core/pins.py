"""Runs kept for comparison: a pinned run's numbers, frozen, and what tells it apart.

A pin copies what the comparison draws (the path of the parameters, the loss after each epoch)
out of the run's History at the moment it is pinned, so the run can be reset, retrained or
switched to another trainer while the pin stays exactly as it was. Qt-free: the window draws
pins, this module decides what they hold, what they are called and when they are comparable.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.optimizers import HYPERPARAMETERS
from gdviz.core.surface import LossLandscape

MAX_PINS = 8
# Colours for pins, distinct from the live run's (Okabe-Ito blue/orange/vermillion) and from
# each other when faded: a muted qualitative set.
PIN_COLORS = ("#882255", "#117733", "#332288", "#AA4499", "#44AA99", "#999933", "#DDAA33",
              "#6699CC")
# The settings a legend names, in the order it names them, with how it names them.
_NAMED_SETTINGS = (("trainer", ""), ("optimizer", ""), ("lr", "lr"), ("gradient", "gradient"),
                   ("momentum", "momentum"), ("dampening", "dampening"),
                   ("nesterov", "Nesterov"), ("weight_decay", "weight decay"),
                   ("betas", "betas"), ("eps", "eps"), ("alpha", "alpha"),
                   ("centered", "centered"), ("amsgrad", "amsgrad"), ("lr_decay", "lr decay"),
                   ("initial_accumulator", "initial accumulator"), ("w0", "w0"),
                   ("b0", "b0"), ("seed", "seed"), ("forget_zero_grad", "no zero_grad"),
                   ("update_with_grad", "no no_grad"), ("epochs", "epochs"))

# How a switched-off flag reads when the current run has it on.
_OFF_WORDS = {"forget_zero_grad": "with zero_grad", "update_with_grad": "with no_grad"}


class PinError(ValueError):
    """A pin that cannot be made (no run yet, or all places taken); one line for the user."""


@dataclass(frozen=True, eq=False)
class PinnedRun:
    """One run's numbers at the moment it was pinned (read-only arrays)."""

    config: RunConfig
    color: str
    param_names: tuple[str, ...]
    trajectories: tuple[np.ndarray, ...]  # per parameter: its value at epochs 0..n
    loss_after: np.ndarray  # L(θ_k) for k = 0..n: the loss plot's values
    epochs: int  # n, the epochs recorded when pinned

    @classmethod
    def from_history(cls, config: RunConfig, history: History, landscape: LossLandscape,
                     color: str) -> PinnedRun:
        """Copy the run's numbers: the history goes on changing, the pin does not."""
        count = len(history)
        trajectories = tuple(_frozen(history.trajectory(name, count))
                             for name in history.param_names)
        # The record of epoch k + 1 holds the loss before its update: L(θ_k). The newest
        # one has no record yet and comes from the closed form, as in the loss plot.
        newest = landscape.loss(*(t[-1] for t in trajectories))
        loss_after = _frozen(np.append(history.column("loss", count), float(newest)))
        return cls(config, color, tuple(history.param_names), trajectories, loss_after, count)

    def trajectory(self, name: str) -> np.ndarray:
        return self.trajectories[self.param_names.index(name)]

    def comparable_with(self, config: RunConfig) -> bool:
        """Drawn on the current run's views only over the same parameters and data: a pin of
        the w-only cells means nothing on L(w, b), nor on another data set's surface."""
        return (self.param_names == config.param_names and self.config.x == config.x
                and self.config.y == config.y)

    def label(self, current: RunConfig) -> str:
        """What tells this run apart from the current one ("lr 0.03", "autograd", "Adam")."""
        return describe_difference(self.config, current) or "same settings"


def describe_difference(pinned: RunConfig, current: RunConfig) -> str:
    """The pinned run's settings where they differ from `current`, most telling first."""
    known = {f.name for f in fields(RunConfig)}
    parts = []
    for name, word in _NAMED_SETTINGS:
        if name not in known:
            continue  # a setting this version of RunConfig does not have
        value, other = getattr(pinned, name), getattr(current, name)
        if value == other:
            continue
        if name in HYPERPARAMETERS and pinned.optimizer != current.optimizer and (
                value == pinned.optimizer_spec.defaults.get(name)):
            continue  # another optimizer at its defaults: its name says it
        if value is None and name in HYPERPARAMETERS:
            continue  # a setting the pinned run's optimizer does not have
        parts.append(_named(name, word, value, pinned))
    return ", ".join(part for part in parts if part)


def _named(name: str, word: str, value: object, config: RunConfig) -> str:
    if name == "trainer":
        return str(value)
    if name == "optimizer":
        return {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop",
                "adagrad": "Adagrad"}.get(str(value), str(value))
    if isinstance(value, bool):
        return word if value else _OFF_WORDS.get(name, f"without {word}")
    if value is None:
        return f"{word} from seed" if name in ("w0", "b0") and config.spec.seeded_start \
            else f"{word} default"
    if isinstance(value, tuple):
        return f"{word} " + ",".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{word} {value:g}"
    return f"{word} {value}"


class PinBoard:
    """Up to MAX_PINS pinned runs, each with its own colour."""

    def __init__(self) -> None:
        self._pins: list[PinnedRun] = []

    def __len__(self) -> int:
        return len(self._pins)

    def __iter__(self) -> Iterator[PinnedRun]:
        return iter(tuple(self._pins))

    @property
    def pins(self) -> tuple[PinnedRun, ...]:
        return tuple(self._pins)

    def pin(self, config: RunConfig, history: History | None,
            landscape: LossLandscape) -> PinnedRun:
        if history is None:
            raise PinError("nothing to pin yet: the run is still starting")
        if len(self._pins) >= MAX_PINS:
            raise PinError(f"{MAX_PINS} runs are pinned already: unpin one first")
        if len(history) == 0:
            raise PinError("nothing to pin yet: step or play the run first")
        if any(p.config == config and p.epochs == len(history) for p in self._pins):
            raise PinError("this run is pinned already: change a setting, then pin again")
        used = {p.color for p in self._pins}
        color = next(c for c in PIN_COLORS if c not in used)
        pinned = PinnedRun.from_history(config, history, landscape, color)
        self._pins.append(pinned)
        return pinned

    def replace_all(self, pins: tuple[PinnedRun, ...]) -> None:
        """An opened session's pins in place of these (at most MAX_PINS are kept)."""
        self._pins = list(pins[:MAX_PINS])

    def unpin(self, index: int) -> PinnedRun:
        return self._pins.pop(index)

    def clear(self) -> None:
        self._pins.clear()

    def comparable(self, config: RunConfig) -> tuple[PinnedRun, ...]:
        return tuple(p for p in self._pins if p.comparable_with(config))


def _frozen(values: np.ndarray) -> np.ndarray:
    copy = np.array(values, dtype=np.float64)
    copy.flags.writeable = False
    return copy
