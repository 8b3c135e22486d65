"""Driving a trainer for many epochs: history, divergence, and quiet float overflow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gdviz.core.history import History
from gdviz.core.records import StepRecord
from gdviz.core.trainers import Trainer


class _QuietOverflow:
    """`with quiet_overflow:` silences float overflow warnings inside the block.

    A diverging run overflows float32 on purpose; that is reported as divergence, not as
    warnings. Under NumPy 2 an `np.errstate` object can be entered only once, so a module-level
    instance broke every train() after the first; this makes a fresh one per `with`, kept on a
    per-thread stack so nesting and the worker thread are safe.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self) -> np.errstate:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def __enter__(self) -> _QuietOverflow:
        state = self()
        state.__enter__()
        self._local.__dict__.setdefault("stack", []).append(state)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._local.stack.pop().__exit__(*exc_info)


quiet_overflow = _QuietOverflow()


@dataclass(frozen=True)
class RunOutcome:
    epochs_run: int
    diverged_at: int | None  # the epoch whose loss or parameters stopped being finite


def new_history(trainer: Trainer, n_points: int = 0) -> History:
    """An empty history for `trainer`; with `n_points`, it keeps each epoch's forward pass."""
    return History(trainer.param_names, trainer.params(), n_points=n_points)


def train(
    trainer: Trainer,
    epochs: int,
    history: History | None = None,
    on_record: Callable[[StepRecord], None] | None = None,
) -> RunOutcome:
    """Run `epochs` more epochs, recording each; stop early at the first non-finite epoch."""
    step = trainer.step
    append = history.append if history is not None else None
    done = 0
    with quiet_overflow():
        for _ in range(epochs):
            record = step()
            done += 1
            if append is not None:
                append(record)
            if on_record is not None:
                on_record(record)
            if not record.is_finite:
                return RunOutcome(done, record.epoch)
    return RunOutcome(done, None)
