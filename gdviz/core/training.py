"""Driving a trainer for many epochs: history, divergence, and quiet float overflow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gdviz.core.history import History
from gdviz.core.records import StepRecord
from gdviz.core.trainers import Trainer

# A diverging run overflows float32 on purpose; that is reported as divergence, not as warnings.
quiet_overflow = np.errstate(over="ignore", invalid="ignore", divide="ignore")


@dataclass(frozen=True)
class RunOutcome:
    epochs_run: int
    diverged_at: int | None  # the epoch whose loss or parameters stopped being finite


def new_history(trainer: Trainer) -> History:
    return History(trainer.param_names, trainer.params())


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
    with quiet_overflow:
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
