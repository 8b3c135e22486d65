"""The window's model of one run: config, history, the cursor over it, and the run state.

It owns the training thread. Views read from it and redraw on `updated`, which fires at most
~60 times a second however fast records arrive; every record is kept in the History.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from gdviz.core import transcript
from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.surface import LossLandscape, gradient_scale
from gdviz.core.trainers import data_arrays
from gdviz.ui.worker import EpochBatch, RunStarted, RunStopped, TrainingWorker

REDRAW_MS = 16


class RunModel(QObject):
    run_reset = Signal()  # a new run began: views rebuild what depends on config and data
    updated = Signal()  # history or cursor changed (coalesced to ~60 Hz)
    state_changed = Signal(str)
    message = Signal(str)  # for the status bar

    def __init__(self, config: RunConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.history: History | None = None
        self.landscape = self._landscape_for(config)
        self.cursor = 0
        self.state = "loading"
        self.epochs_per_second: float | None = 5.0
        self.before_line: str | None = None
        self.after_line: str | None = None
        self.diverged_at: int | None = None
        self._generation = 0
        self._following = True  # the cursor tracks the newest epoch
        self._worker_playing = False
        # A window sets this and calls frame_painted() once Qt has painted an update; without
        # a window, the model acknowledges each update itself.
        self.view_reports_paint = False

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.timeout.connect(self._redraw)
        self._last_redraw = 0.0
        self._replay_timer = QTimer(self)
        self._replay_timer.timeout.connect(self._on_replay_timer_timeout)

        self._thread = QThread()
        self._thread.setObjectName("gdviz-training")
        self._worker = TrainingWorker()
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.work)
        self._worker.run_started.connect(self._on_worker_run_started)
        self._worker.epochs_finished.connect(self._on_worker_epochs_finished)
        self._worker.run_stopped.connect(self._on_worker_run_stopped)
        self._worker.failed.connect(self._on_worker_failed)
        self._thread.start()
        self.reset()

    # --- reading ---------------------------------------------------------------------------------

    @property
    def epochs_recorded(self) -> int:
        return 0 if self.history is None else len(self.history)

    @property
    def at_limit(self) -> bool:
        return self.epochs_recorded >= self.config.epochs or self.diverged_at is not None

    def iter_log_lines(self, start: int, stop: int | None = None) -> Iterator[str]:
        """The logged epoch lines of epochs start..stop (the prediction lines are separate)."""
        if self.history is None:
            return
        stop = len(self.history) if stop is None else stop
        loss = self.history.column("loss")
        w = self.history.column("w")
        for epoch in range(start, stop + 1):
            if transcript.is_logged(epoch, self.config.log_every):
                yield transcript.format_epoch(self.config.trainer, epoch, float(w[epoch - 1]),
                                              float(loss[epoch - 1]))

    # --- control ---------------------------------------------------------------------------------

    def set_config(self, config: RunConfig) -> None:
        """Apply a change of trainer, data or hyperparameter: a fresh run with the new config."""
        self.config = config
        self.landscape = self._landscape_for(config)
        self.reset()

    def reset(self) -> None:
        self._replay_timer.stop()
        self._worker_playing = False
        self._generation = self._worker.configure(self.config)
        self.history = None
        self.cursor = 0
        self.before_line = self.after_line = None
        self.diverged_at = None
        self._following = True
        if self.config.trainer != "numpy" and "torch" not in sys.modules:
            self.message.emit("Loading PyTorch…")
        self._set_state("loading")
        self.run_reset.emit()
        self._schedule_redraw()

    def toggle_play(self) -> None:
        if self.state == "playing":
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.history is None:
            return
        if self.cursor < len(self.history) and self.epochs_per_second is not None:
            self._set_state("playing")
            self._replay_timer.start(max(REDRAW_MS, round(1000 / self.epochs_per_second)))
            return
        self._train_on(self.epochs_per_second)

    def _train_on(self, epochs_per_second: float | None) -> None:
        """Let the worker train from the newest epoch at this speed (None: unthrottled)."""
        assert self.history is not None
        self.cursor = len(self.history)
        if self.at_limit:
            self._set_state("diverged" if self.diverged_at else "finished")
            self.message.emit(self._limit_message())
            self._schedule_redraw()
            return
        self._following = True
        self._worker_playing = True
        self._worker.play(epochs_per_second)
        self._set_state("playing")

    def pause(self) -> None:
        self._replay_timer.stop()
        if self._worker_playing:
            self._worker.pause()
            self._worker_playing = False
        if self.state == "playing":
            self._set_state(self._resting_state())

    def step(self) -> None:
        if self.history is None:
            return
        self.pause()
        if self.cursor < len(self.history):
            self.cursor += 1  # replay what is recorded before training further
            self._schedule_redraw()
            return
        if self.at_limit:
            self.message.emit(self._limit_message())
            return
        self._following = True
        self._worker.step()

    def step_back(self) -> None:
        self.seek(self.cursor - 1)

    def seek(self, epoch: int) -> None:
        if self.history is None:
            return
        self.pause()
        self.cursor = max(0, min(epoch, len(self.history)))
        self._following = self.cursor == len(self.history)
        self._schedule_redraw()

    def run_to_end(self) -> None:
        if self.history is None:
            return
        self._replay_timer.stop()
        self._train_on(None)
        self._schedule_redraw()

    def set_speed(self, epochs_per_second: float | None) -> None:
        self.epochs_per_second = epochs_per_second
        if self._worker_playing:
            self._worker.set_speed(epochs_per_second)
        if self._replay_timer.isActive():
            self._replay_timer.stop()
            self.play()

    def shutdown(self) -> None:
        """Stop and join the training thread (closeEvent); never terminate() it."""
        self._replay_timer.stop()
        self._redraw_timer.stop()
        if self._thread.isRunning():
            self._worker.stop()
            self._thread.quit()  # before wait(): the loop's own finished->quit needs our event loop
            self._thread.wait()

    # --- from the worker -------------------------------------------------------------------------

    @Slot(object)
    def _on_worker_run_started(self, started: RunStarted) -> None:
        if started.generation != self._generation:
            return
        self.history = History(started.config.param_names, started.initial_params)
        self.before_line = transcript.before_line(started.config.trainer, started.config.x_test,
                                                  started.prediction)
        self._set_state("ready")
        self.message.emit("")
        self._schedule_redraw()

    @Slot(object)
    def _on_worker_epochs_finished(self, batch: EpochBatch) -> None:
        if batch.generation != self._generation or self.history is None:
            return
        self.history.extend(batch.records)
        if self._following:
            self.cursor = len(self.history)
        if self.state == "ready":
            self._set_state("paused")
        self._schedule_redraw()

    @Slot(object)
    def _on_worker_run_stopped(self, stopped: RunStopped) -> None:
        if stopped.generation != self._generation:
            return
        if stopped.reason == "paused":
            return  # the GUI's own state already says paused or playing
        self._worker_playing = False
        self._replay_timer.stop()
        if stopped.reason == "finished":
            self.after_line = transcript.after_line(self.config.x_test, stopped.prediction)
            self._set_state("finished")
            self.message.emit(f"Finished {stopped.epoch} epochs. Home resets the run.")
        else:
            self.diverged_at = stopped.epoch
            self._set_state("diverged")
            self.message.emit(self._limit_message())
        self._schedule_redraw()

    @Slot(str)
    def _on_worker_failed(self, text: str) -> None:
        self._worker_playing = False
        self._set_state("paused")
        self.message.emit(text.strip().splitlines()[-1])

    @Slot()
    def _on_replay_timer_timeout(self) -> None:
        if self.history is None or self.epochs_per_second is None:
            self._replay_timer.stop()
            return
        per_tick = max(1, round(self.epochs_per_second * self._replay_timer.interval() / 1000))
        self.cursor = min(len(self.history), self.cursor + per_tick)
        self._schedule_redraw()
        if self.cursor >= len(self.history):
            self._replay_timer.stop()
            self.play()  # the recorded history is replayed: train further

    # --- helpers ---------------------------------------------------------------------------------

    def _schedule_redraw(self) -> None:
        """Redraw now if the last frame is old enough, else once the frame interval is over."""
        if self._redraw_timer.isActive():
            return
        wait_ms = REDRAW_MS - (time.perf_counter() - self._last_redraw) * 1000
        self._redraw_timer.start(max(0, round(wait_ms)))

    @Slot()
    def _redraw(self) -> None:
        self._last_redraw = time.perf_counter()
        self.updated.emit()
        if not self.view_reports_paint:
            QTimer.singleShot(0, self.frame_painted)

    @Slot()
    def frame_painted(self) -> None:
        """The views have painted the last update: unthrottled training may go on.

        Painting runs Python code (pyqtgraph items) that would otherwise wait for the GIL,
        ~5 ms at a time, behind the training loop; see TrainingWorker.
        """
        self._worker.frame_drawn()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    def _resting_state(self) -> str:
        if self.diverged_at is not None:
            return "diverged"
        if self.history is not None and len(self.history) >= self.config.epochs:
            return "finished"
        return "ready" if self.epochs_recorded == 0 else "paused"

    def _limit_message(self) -> str:
        if self.diverged_at is not None:
            return (f"Diverged at epoch {self.diverged_at}: lr {self.config.lr:g} is above the "
                    f"critical {self.critical_lr():.4g}. Lower it, or Home to reset.")
        return f"Reached the epoch limit ({self.config.epochs}). Raise Epochs or Home to reset."

    def critical_lr(self) -> float:
        scale = gradient_scale(self.config.trainer, self.config.gradient, len(self.config.x))
        return self.landscape.critical_lr(scale)

    @staticmethod
    def _landscape_for(config: RunConfig) -> LossLandscape:
        x, y = data_arrays(config)
        return LossLandscape.from_data(x, y, with_bias=config.has_bias)
