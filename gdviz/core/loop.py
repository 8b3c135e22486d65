"""The training loop, Qt-free: a plain function driven by a thread-safe control object.

`run_training_loop(control, events)` runs in a worker thread for a window's whole life. It
builds trainers, trains while playing (at a rate, or unthrottled in bursts), steps, pauses and
stops, and reports through `events`. The GUI thread only calls `TrainingControl` methods, which
change state under one `threading.Condition` and wake the loop: a busy loop has no event loop,
so queued calls would never reach it (the shape of Orange3's `run_mds(..., state)`).

Three rules keep every command alive (each was a lost-command bug once):
- the loop decides and records a decision in the same locked section, so a command that arrives
  after it is never overwritten by a stale decision;
- a batch of records carries a number, written before the batch is announced, and the window
  acknowledges that number: an early acknowledgement is not lost;
- an exception in a trainer ends that run, not the loop: it is reported and the next
  configuration trains again.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gdviz.core import torch_preload
from gdviz.core.config import RunConfig
from gdviz.core.records import StepRecord
from gdviz.core.trainers import Trainer, make_trainer
from gdviz.core.training import quiet_overflow

FRAME_SECONDS = 1 / 30  # unthrottled play: train this long between two batches
MAX_FRAME_WAIT = 0.1  # never wait longer for the window, in case it does not draw
MAX_BURST_SECONDS = 0.045  # a burst never holds the window off longer than this
UNTHROTTLED: float | None = None  # the speed that means "as fast as possible"
TORCH_POLL_SECONDS = 0.05  # how often a wait for torch's import looks for a stop


class LoopEvents(Protocol):
    """What the loop reports; called in the loop's thread."""

    def started(self, generation: int, config: RunConfig, initial_params: tuple[float, ...],
                prediction: float) -> None: ...

    def recorded(self, generation: int, batch: int, records: tuple[StepRecord, ...]) -> None: ...

    def stopped(self, generation: int, epoch: int, reason: str, prediction: float) -> None: ...

    def failed(self, generation: int, message: str) -> None: ...


@dataclass
class _Commands:
    """The control state; read and written only under TrainingControl's condition."""

    generation: int = 0
    pending_config: RunConfig | None = None
    pending_trainer: Trainer | None = None  # a trainer to go on with (an opened session)
    playing: bool = False
    steps_wanted: int = 0
    epochs_per_second: float | None = 5.0
    abort: bool = False
    batches_sent: int = 0
    batches_drawn: int = 0


class TrainingControl:
    """Thread-safe commands for the loop. Every method may be called from any thread."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._state = _Commands()
        # Bumped by every command: an unthrottled burst reads it between epochs, lock-free.
        self.version = 0

    def configure(self, config: RunConfig, trainer: Trainer | None = None) -> int:
        """Start a new run with `config`; returns the generation its events will carry.

        `trainer`: one already trained some epochs (an opened session) to go on with instead
        of a fresh one; the loop takes it over and nothing else may use it any more.
        """
        with self._condition:
            state = self._state
            state.generation += 1
            state.pending_config = config
            state.pending_trainer = trainer
            state.playing = False
            state.steps_wanted = 0
            self._changed()
            return state.generation

    def play(self, epochs_per_second: float | None) -> None:
        """Train until paused or at the limit; `None` means as fast as possible."""
        with self._condition:
            self._state.epochs_per_second = epochs_per_second
            self._state.playing = True
            self._changed()

    def set_speed(self, epochs_per_second: float | None) -> None:
        with self._condition:
            self._state.epochs_per_second = epochs_per_second
            self._changed()

    def pause(self) -> None:
        with self._condition:
            self._state.playing = False
            self._state.steps_wanted = 0
            self._changed()

    def step(self, count: int = 1) -> None:
        with self._condition:
            self._state.steps_wanted += count
            self._changed()

    def frame_drawn(self, batch: int) -> None:
        """The window has drawn every batch up to number `batch`."""
        with self._condition:
            self._state.batches_drawn = max(self._state.batches_drawn, batch)
            self._condition.notify_all()

    def stop(self) -> None:
        """Ask the loop to return (at the latest when a trainer that is being built is ready)."""
        with self._condition:
            self._state.abort = True
            self._changed()

    @property
    def stopping(self) -> bool:
        return self._state.abort

    def _changed(self) -> None:
        self.version += 1
        self._condition.notify_all()


def run_training_loop(
    control: TrainingControl,
    events: LoopEvents,
    build: Callable[[RunConfig], Trainer] = make_trainer,
    batch_seconds: float = FRAME_SECONDS,
) -> None:
    """Serve `control` until it is stopped. `batch_seconds` 0: one event per epoch, no waits."""
    _Loop(control, events, build, batch_seconds).serve()


class _Loop:
    def __init__(self, control: TrainingControl, events: LoopEvents,
                 build: Callable[[RunConfig], Trainer], batch_seconds: float) -> None:
        self.control = control
        self.condition = control._condition
        self.state = control._state
        self.events = events
        self.build = build
        self.batch_seconds = batch_seconds
        self.trainer: Trainer | None = None
        self.config: RunConfig | None = None
        self.generation = 0

    def serve(self) -> None:
        with quiet_overflow():
            while self._next_task():
                pass

    def _next_task(self) -> bool:
        """Wait for something to do, do one piece of it; False once stopped."""
        state = self.state
        with self.condition:
            while not (state.abort or state.pending_config is not None
                       or (self.trainer is not None and self.generation == state.generation
                           and (state.playing or state.steps_wanted > 0))):
                self.condition.wait()
            if state.abort:
                return False
            config, state.pending_config = state.pending_config, None
            given, state.pending_trainer = state.pending_trainer, None
            self.generation = state.generation
        if config is not None:
            self._start_run(config, self.generation, given)
        else:
            self._train_guarded()
        return True

    def _start_run(self, config: RunConfig, generation: int,
                   given: Trainer | None = None) -> None:
        self.trainer = None
        if config.spec.needs_torch and not self._torch_imported(generation):
            return  # stopped or reconfigured while torch was importing
        try:
            with quiet_overflow():  # a start far out may overflow float32 at once: not a warning
                trainer = given if given is not None else self.build(config)
                prediction = trainer.predict(config.x_test)
        except Exception as error:  # e.g. torch missing: tell the user, keep the loop
            self.events.failed(generation, f"cannot start the {config.trainer} trainer: "
                                           f"{type(error).__name__}: {error}")
            return
        with self.condition:
            if self.state.abort or generation != self.state.generation:
                return  # stopped or reconfigured meanwhile
            self.trainer, self.config = trainer, config
        self.events.started(generation, config, trainer.params(), prediction)

    def _torch_imported(self, generation: int) -> bool:
        """Wait for torch's import, which runs in its own thread: an import cannot be
        interrupted, but this wait can, so a window closing meanwhile is never held up."""
        torch_preload.start()
        while not torch_preload.wait(TORCH_POLL_SECONDS):
            with self.condition:
                if self.state.abort or generation != self.state.generation:
                    return False
        return True

    def _train_guarded(self) -> None:
        trainer = self.trainer
        try:
            self._train()
        except Exception as error:  # a failing step ends this run only
            self.trainer = None
            with self.condition:
                if self.generation == self.state.generation:
                    self.state.playing = False
                    self.state.steps_wanted = 0
            epoch = trainer.epoch + 1 if trainer is not None else 0
            where = traceback.extract_tb(error.__traceback__)[-1]
            self.events.failed(self.generation,
                               f"training failed at epoch {epoch}: {type(error).__name__}: "
                               f"{error} ({where.name}, line {where.lineno})")

    def _train(self) -> None:
        """Train until paused, reconfigured, stopped, at the limit or diverged."""
        trainer, config, state = self.trainer, self.config, self.state
        assert trainer is not None and config is not None
        generation = self.generation
        pending: list[StepRecord] = []
        next_epoch_time = time.perf_counter()
        burst_seconds = self.batch_seconds
        while True:
            with self.condition:
                if state.abort or state.generation != generation:
                    return  # the run was replaced or the loop stopped: nothing to report
                if trainer.epoch >= config.epochs:
                    state.playing = False  # decided and recorded under the same lock
                    state.steps_wanted = 0
                    reason = "finished"
                    break
                if state.steps_wanted > 0:
                    state.steps_wanted -= 1
                    mode = "step"
                elif state.playing and state.epochs_per_second is UNTHROTTLED:
                    mode = "burst"
                    version = self.control.version
                elif state.playing:
                    mode = "rate"
                    rate = state.epochs_per_second
                    assert rate is not None
                    delay = next_epoch_time - time.perf_counter()
                    if delay > 0:  # nothing is pending here: every epoch is flushed at once
                        self.condition.wait(delay)
                        continue  # re-check: a command may have come meanwhile
                else:
                    reason = "paused"
                    break
            if mode == "burst":
                last = self._burst(trainer, config.epochs, pending, version, burst_seconds)
                self._flush(pending)
                if last is not None and not last.is_finite:
                    reason = "diverged"
                    break
                if self.batch_seconds > 0:
                    waited = self._wait_for_frame(generation)
                    # Train at least twice as long as the window takes to draw: it never gets
                    # more than a third of the time, however slow its frames are. But never
                    # much longer than a frame: the window waits for the GIL all that time.
                    burst_seconds = min(max(self.batch_seconds, 2 * waited), MAX_BURST_SECONDS)
                continue
            record = trainer.step()
            pending.append(record)
            if mode == "rate":
                assert rate is not None  # set with mode, in the same pass under the lock
                # Keep the rhythm, but never try to catch up more than a second of lag.
                now = time.perf_counter()
                next_epoch_time = max(next_epoch_time + 1 / rate, now - 1)
            self._flush(pending)
            if not record.is_finite:
                reason = "diverged"
                break
        self._flush(pending)
        if reason == "diverged":
            with self.condition:
                if state.generation == generation:
                    state.playing = False
                    state.steps_wanted = 0
            self.trainer = None  # nothing sane to train further
        self.events.stopped(generation, trainer.epoch, reason, _prediction(trainer, config))

    def _burst(self, trainer: Trainer, limit: int, pending: list[StepRecord], version: int,
               seconds: float) -> StepRecord | None:
        """Unthrottled epochs for `seconds`, or until a command arrives (no locking)."""
        step, append = trainer.step, pending.append
        check_every = 32 if seconds > 0 else 1
        deadline = time.perf_counter() + seconds
        record = None
        control = self.control
        while trainer.epoch < limit and control.version == version:
            record = step()
            append(record)
            if not record.is_finite:
                break
            if record.epoch % check_every == 0 and time.perf_counter() >= deadline:
                break
        return record

    def _wait_for_frame(self, generation: int) -> float:
        """Wait until the window has drawn the last batch sent; returns the seconds waited."""
        start = time.perf_counter()
        state = self.state
        with self.condition:
            self.condition.wait_for(
                lambda: state.batches_drawn >= state.batches_sent or state.abort
                or not state.playing or state.generation != generation,
                timeout=MAX_FRAME_WAIT)
        return time.perf_counter() - start

    def _flush(self, pending: list[StepRecord]) -> None:
        if not pending:
            return
        with self.condition:
            self.state.batches_sent += 1  # numbered before it is announced: see frame_drawn
            batch = self.state.batches_sent
        self.events.recorded(self.generation, batch, tuple(pending))
        pending.clear()


def _prediction(trainer: Trainer, config: RunConfig) -> float:
    with quiet_overflow():
        return trainer.predict(config.x_test)
