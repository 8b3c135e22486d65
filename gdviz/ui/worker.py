"""The training thread: one long-lived worker per window, controlled through thread-safe state.

The worker's loop is busy while it trains, so it has no running event loop and queued slot calls
would never reach it (see ../shared/DESIGN.md). The GUI thread therefore controls it only through
the methods below, which change state under a `threading.Condition` and wake the loop.

Records go the other way through signals. Stepping and throttled play emit one signal per epoch;
unthrottled play hands every epoch's record over in batches, one signal per frame, because one
queued signal costs more than a numpy epoch itself (measured: 100,000 epochs take 1.6 s as single
signals, 0.77 s batched, 0.70 s with no GUI at all). No record is ever dropped.

Unthrottled play also waits, after each batch, until the window has drawn it (`frame_drawn`, at
most MAX_FRAME_WAIT). Without that back-pressure the worker's Python loop and the window's
Python paint code fight over the GIL and every frame takes ~100 ms; with it the window stays
responsive and the run still finishes sooner.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from gdviz.core.config import RunConfig
from gdviz.core.records import StepRecord
from gdviz.core.trainers import Trainer, make_trainer
from gdviz.core.training import quiet_overflow

FRAME_SECONDS = 1 / 30  # unthrottled play: train this long between two batches
MAX_FRAME_WAIT = 0.1  # never wait longer for the window, in case it does not draw


@dataclass(frozen=True)
class EpochBatch:
    """Consecutive epochs of one run (`generation` tells runs apart across resets)."""

    generation: int
    records: tuple[StepRecord, ...]


@dataclass(frozen=True)
class RunStarted:
    generation: int
    config: RunConfig
    initial_params: tuple[float, ...]
    prediction: float  # f(x_test) before training, from the trainer itself


@dataclass(frozen=True)
class RunStopped:
    """The worker stopped training by itself or on request."""

    generation: int
    epoch: int
    reason: str  # "paused", "finished" or "diverged"
    prediction: float


class TrainingWorker(QObject):
    run_started = Signal(object)  # RunStarted
    epochs_finished = Signal(object)  # EpochBatch
    run_stopped = Signal(object)  # RunStopped
    failed = Signal(str)

    def __init__(self, batch_seconds: float = FRAME_SECONDS) -> None:
        super().__init__()
        # 0: every epoch its own signal and no waiting for frames (the signal-storm test).
        self.batch_seconds = batch_seconds
        self._awaiting_frame = False
        # Bumped by every command: the unthrottled loop reads it between epochs, without a lock.
        self._control_version = 0
        self._condition = threading.Condition()
        self._pending_config: RunConfig | None = None
        self._generation = 0
        self._playing = False
        self._steps_wanted = 0
        self._epochs_per_second: float | None = None
        self._abort = False
        self._config: RunConfig | None = None
        self._trainer: Trainer | None = None

    # --- control, called from the GUI thread ---------------------------------------------------

    def configure(self, config: RunConfig) -> int:
        """Start a new run with `config`; returns the generation its records will carry."""
        with self._condition:
            self._control_version += 1
            self._generation += 1
            self._pending_config = config
            self._playing = False
            self._steps_wanted = 0
            self._condition.notify()
            return self._generation

    def play(self, epochs_per_second: float | None) -> None:
        """Train until paused or at the limit; `None` means as fast as possible."""
        with self._condition:
            self._control_version += 1
            self._epochs_per_second = epochs_per_second
            self._playing = True
            self._condition.notify()

    def set_speed(self, epochs_per_second: float | None) -> None:
        with self._condition:
            self._control_version += 1
            self._epochs_per_second = epochs_per_second
            self._condition.notify()

    def pause(self) -> None:
        with self._condition:
            self._control_version += 1
            self._playing = False
            self._steps_wanted = 0
            self._condition.notify()

    def step(self, count: int = 1) -> None:
        with self._condition:
            self._control_version += 1
            self._steps_wanted += count
            self._condition.notify()

    def frame_drawn(self) -> None:
        """The window has drawn what it was sent: unthrottled play may go on."""
        with self._condition:
            self._awaiting_frame = False
            self._condition.notify()

    def stop(self) -> None:
        """Ask the loop to end; the owner then quits and waits for the thread."""
        with self._condition:
            self._control_version += 1
            self._abort = True
            self._condition.notify()

    # --- the loop, in the worker thread ----------------------------------------------------------

    @Slot()
    def work(self) -> None:
        try:
            with quiet_overflow():
                self._loop()
        except Exception:  # a bug, not a user error: report it instead of killing the thread
            self.failed.emit(traceback.format_exc(limit=3))

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not (self._abort or self._pending_config is not None
                           or (self._trainer is not None
                               and (self._playing or self._steps_wanted > 0))):
                    self._condition.wait()
                if self._abort:
                    return
                config, self._pending_config = self._pending_config, None
                generation = self._generation
            if config is not None:
                self._start_run(config, generation)
                continue
            self._train(generation)

    def _start_run(self, config: RunConfig, generation: int) -> None:
        self._trainer = None
        try:
            trainer = make_trainer(config)  # the first torch trainer imports torch here
        except Exception as error:  # e.g. torch missing: tell the user, keep the window
            self.failed.emit(f"cannot start the {config.trainer} trainer: {error}")
            return
        with self._condition:
            if generation != self._generation:
                return  # reconfigured meanwhile; the newer config is pending
            self._trainer = trainer
            self._config = config
        self.run_started.emit(RunStarted(generation, config, trainer.params(),
                                         trainer.predict(config.x_test)))

    def _train(self, generation: int) -> None:
        """Train epochs until paused, reconfigured, at the limit or diverged."""
        trainer, config = self._trainer, self._config
        assert trainer is not None and config is not None
        pending: list[StepRecord] = []
        next_epoch_time = time.perf_counter()
        burst_seconds = self.batch_seconds
        reason = "paused"
        while True:
            if trainer.epoch >= config.epochs:
                reason = "finished"
                break
            rate: float | None = None
            burst = False
            with self._condition:
                if self._abort or self._generation != generation:
                    reason = ""
                    break
                if self._steps_wanted > 0:
                    self._steps_wanted -= 1
                    single = True
                elif self._playing and self._epochs_per_second is None:
                    version = self._control_version
                    burst = True
                elif self._playing:
                    single = False
                    rate = self._epochs_per_second
                    if rate is not None:
                        delay = next_epoch_time - time.perf_counter()
                        if delay > 0:
                            self._flush(generation, pending)
                            self._condition.wait(delay)
                            continue
                else:
                    break
            if burst:
                last = self._burst(trainer, config.epochs, pending, version, burst_seconds)
                self._flush(generation, pending)
                if last is not None and not last.is_finite:
                    reason = "diverged"
                    break
                if self.batch_seconds > 0:
                    waited = self._wait_for_frame(generation)
                    # Train at least twice as long as the window takes to draw: it never gets
                    # more than a third of the time, however slow its frames are.
                    burst_seconds = max(self.batch_seconds, 2 * waited)
                continue
            record = trainer.step()
            pending.append(record)
            now = time.perf_counter()
            if rate is not None:
                # Keep the rhythm, but never try to catch up more than a second of lag.
                next_epoch_time = max(next_epoch_time + 1 / rate, now - 1)
            self._flush(generation, pending)
            if not record.is_finite:
                reason = "diverged"
                break
            if single and self._steps_wanted == 0 and not self._playing:
                break
        self._flush(generation, pending)
        with self._condition:
            if reason in ("finished", "diverged"):
                self._playing = False
                self._steps_wanted = 0
                if reason == "diverged":
                    self._trainer = None  # nothing sane to train further
            elif reason == "paused":
                self._playing = False
        if reason:
            self.run_stopped.emit(RunStopped(generation, trainer.epoch, reason,
                                             trainer.predict(config.x_test)))

    def _burst(self, trainer: Trainer, limit: int, pending: list[StepRecord], version: int,
               seconds: float) -> StepRecord | None:
        """Unthrottled epochs for `seconds`, or until a command arrives (no locking)."""
        step, append = trainer.step, pending.append
        check_every = 32 if seconds > 0 else 1
        deadline = time.perf_counter() + seconds
        record = None
        while trainer.epoch < limit and self._control_version == version:
            record = step()
            append(record)
            if not record.is_finite:
                break
            if record.epoch % check_every == 0 and time.perf_counter() >= deadline:
                break
        return record

    def _wait_for_frame(self, generation: int) -> float:
        """Wait until the window has drawn the last batch; returns the seconds waited."""
        start = time.perf_counter()
        with self._condition:
            self._awaiting_frame = True
            self._condition.wait_for(
                lambda: not self._awaiting_frame or self._abort or not self._playing
                or self._generation != generation,
                timeout=MAX_FRAME_WAIT)
        return time.perf_counter() - start

    def _flush(self, generation: int, pending: list[StepRecord]) -> None:
        if pending:
            self.epochs_finished.emit(EpochBatch(generation, tuple(pending)))
            pending.clear()
