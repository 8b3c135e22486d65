"""The training thread's QObject: a thin adapter from the Qt-free loop's events to signals.

The loop itself (`gdviz.core.loop.run_training_loop`) decides everything; it runs in this
object's thread once `work` starts and reports through the methods below, which emit signals
that Qt queues to the window's thread. Records of unthrottled play arrive in batches, one per
frame; nothing is dropped (see gdviz/core/loop.py).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from gdviz.core.config import RunConfig
from gdviz.core.loop import FRAME_SECONDS, TrainingControl, run_training_loop
from gdviz.core.records import StepRecord


@dataclass(frozen=True)
class EpochBatch:
    """Consecutive epochs of one run (`generation` tells runs apart across resets)."""

    generation: int
    number: int  # acknowledged with TrainingControl.frame_drawn once painted
    records: tuple[StepRecord, ...]


@dataclass(frozen=True)
class RunStarted:
    generation: int
    config: RunConfig
    initial_params: tuple[float, ...]
    prediction: float  # f(x_test) before training, from the trainer itself


@dataclass(frozen=True)
class RunStopped:
    generation: int
    epoch: int
    reason: str  # "paused", "finished" or "diverged"
    prediction: float


@dataclass(frozen=True)
class RunFailed:
    generation: int
    message: str


class TrainingWorker(QObject):
    run_started = Signal(object)  # RunStarted
    epochs_finished = Signal(object)  # EpochBatch
    run_stopped = Signal(object)  # RunStopped
    run_failed = Signal(object)  # RunFailed

    def __init__(self, control: TrainingControl, batch_seconds: float = FRAME_SECONDS) -> None:
        super().__init__()
        self.control = control
        # 0: every epoch its own signal and no waiting for frames (the signal-storm test).
        self.batch_seconds = batch_seconds

    @Slot()
    def work(self) -> None:
        try:
            run_training_loop(self.control, self, batch_seconds=self.batch_seconds)
        except Exception:  # a bug in the loop itself: say so rather than die silently
            self.run_failed.emit(RunFailed(-1, traceback.format_exc(limit=3).strip()
                                       .splitlines()[-1]))

    # --- LoopEvents, called in the worker thread ----------------------------------------------

    def started(self, generation: int, config: RunConfig, initial_params: tuple[float, ...],
                prediction: float) -> None:
        self.run_started.emit(RunStarted(generation, config, initial_params, prediction))

    def recorded(self, generation: int, batch: int, records: tuple[StepRecord, ...]) -> None:
        self.epochs_finished.emit(EpochBatch(generation, batch, records))

    def stopped(self, generation: int, epoch: int, reason: str, prediction: float) -> None:
        self.run_stopped.emit(RunStopped(generation, epoch, reason, prediction))

    def failed(self, generation: int, message: str) -> None:
        self.run_failed.emit(RunFailed(generation, message))
