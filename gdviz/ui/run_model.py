"""The window's model: a Qt shell around the Qt-free `Session` and training loop.

It owns the training thread, turns the loop's signals into session calls, drives the replay
timer, and coalesces redraws: views redraw on `updated`, at most ~60 times a second however
fast records arrive. All the decisions live in `gdviz.core.session` and `gdviz.core.loop`.

The thread belongs to the model whatever happens to the window: closing, dropping the last
reference to an open window, or garbage collection all stop it. A trainer that is still being
built (torch importing) cannot be interrupted, so closing never waits for it: the thread is
parked until it ends by itself (see `_release_thread`).
"""

from __future__ import annotations

import atexit
import time
import weakref
from collections.abc import Iterator

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from gdviz.core import torch_preload
from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.loop import FRAME_SECONDS, TrainingControl
from gdviz.core.phases import Phase
from gdviz.core.pins import PinBoard, PinError, PinnedRun
from gdviz.core.race import RaceTrack
from gdviz.core.session import RunState, Session
from gdviz.core.session_file import RestoredSession
from gdviz.core.surface import LossLandscape
from gdviz.ui.worker import EpochBatch, RunFailed, RunStarted, RunStopped, TrainingWorker

REDRAW_MS = 16
CLOSE_WAIT_MS = 300  # closing waits this long for the thread, never for a torch import
PRELOAD_IDLE_S = 0.5  # torch is imported in the background after this long without commands

_parked: list[tuple[QThread, QObject]] = []  # threads still building a trainer after a close


class RunModel(QObject):
    run_reset = Signal()  # a new run began: views rebuild what depends on config and data
    updated = Signal()  # history or cursor changed (coalesced to ~60 Hz)
    state_changed = Signal(str)
    message = Signal(str)  # for the status bar
    pins_changed = Signal()  # a run was pinned or unpinned

    def __init__(self, config: RunConfig, parent: QObject | None = None,
                 batch_seconds: float = FRAME_SECONDS) -> None:
        super().__init__(parent)
        # A window sets this and calls frame_painted() once Qt has painted an update; without
        # a window, the model acknowledges each update itself.
        self.view_reports_paint = False
        self._closed = False
        self._last_batch = 0

        self._redraw_timer = QTimer(self, singleShot=True)
        self._redraw_timer.timeout.connect(self._redraw)
        self._last_redraw = 0.0
        self._replay_timer = QTimer(self)
        self._replay_timer.timeout.connect(self._on_replay_timer_timeout)
        self._preload_timer = QTimer(self, singleShot=True, interval=300)
        self._preload_timer.timeout.connect(self._on_preload_timer_timeout)

        self.control = TrainingControl()
        self._thread = QThread()
        self._thread.setObjectName("gdviz-training")
        self._worker = TrainingWorker(self.control, batch_seconds)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.work)
        self._worker.run_started.connect(self._on_worker_run_started)
        self._worker.epochs_finished.connect(self._on_worker_epochs_finished)
        self._worker.run_stopped.connect(self._on_worker_run_stopped)
        self._worker.run_failed.connect(self._on_worker_run_failed)
        # Stops the thread when this model goes away by any route, closeEvent or not.
        self._release = weakref.finalize(self, _release_thread, self.control, self._thread,
                                         self._worker)
        self._thread.start()
        self.session = Session(config, self.control, on_state=self._on_session_state,
                               on_message=self._on_session_message)
        self.pin_board = PinBoard()

    # --- reading (views use these) ---------------------------------------------------------------

    @property
    def config(self) -> RunConfig:
        return self.session.config

    @property
    def history(self) -> History | None:
        return self.session.history

    @property
    def cursor(self) -> int:
        return self.session.cursor

    @property
    def phase(self) -> Phase | None:
        """Lecture mode: the phase of epoch `cursor` shown; None shows the whole epoch."""
        return self.session.phase

    @property
    def state(self) -> RunState:
        return self.session.state

    @property
    def landscape(self) -> LossLandscape:
        return self.session.landscape

    @property
    def epochs_recorded(self) -> int:
        return self.session.epochs_recorded

    @property
    def at_limit(self) -> bool:
        return self.session.at_limit

    @property
    def before_line(self) -> str | None:
        return self.session.before_line

    @property
    def after_line(self) -> str | None:
        return self.session.after_line

    @property
    def diverged_at(self) -> int | None:
        return self.session.diverged_at

    def critical_lr(self) -> float:
        return self.session.critical_lr()

    def iter_log_lines(self, start: int, stop: int | None = None) -> Iterator[str]:
        return self.session.iter_log_lines(start, stop)

    @property
    def race_track(self) -> RaceTrack | None:
        """The race's other lanes (their specs and histories), or None outside a race."""
        return self.session.race_track

    @property
    def pins(self) -> tuple[PinnedRun, ...]:
        return self.pin_board.pins

    def shown_pins(self) -> tuple[PinnedRun, ...]:
        """The pins drawn with the current run: those over the same parameters and data."""
        return self.pin_board.comparable(self.config)

    # --- pins ------------------------------------------------------------------------------------

    def pin_run(self) -> None:
        """Keep the current run, as recorded so far, drawn faded for comparison."""
        try:
            pinned = self.pin_board.pin(self.config, self.history, self.landscape)
        except PinError as error:
            self.message.emit(f"Not pinned: {error}")
            return
        self.message.emit(f"Pinned: {pinned.config.spec.title}, lr {pinned.config.lr:g}, "
                          f"{pinned.epochs} epochs ({len(self.pin_board)} pinned); change a "
                          "setting to compare")
        self.pins_changed.emit()
        self._schedule_redraw()

    def unpin(self, index: int) -> None:
        if 0 <= index < len(self.pin_board):
            self.pin_board.unpin(index)
            self.pins_changed.emit()
            self._schedule_redraw()

    def clear_pins(self) -> None:
        count = len(self.pin_board)
        if count:
            self.pin_board.clear()
            self.pins_changed.emit()
            self._schedule_redraw()
        self.message.emit(f"Cleared {count} pinned run{'s' if count != 1 else ''}" if count
                          else "No pinned runs to clear")

    # --- commands: each goes to the session, then the views are told ---------------------------

    def set_config(self, config: RunConfig, what: str = "settings changed") -> None:
        self.session.set_config(config, what)
        self._after_reset()

    def reset(self) -> None:
        self.session.reset()
        self._after_reset()

    def adopt(self, restored: RestoredSession, what: str) -> None:
        """Show an opened session where it was saved, its pins with it, and go on from there."""
        self.pin_board.replace_all(restored.pins)
        self.session.adopt(restored, what)
        self._after_reset()
        self.pins_changed.emit()

    def toggle_play(self) -> None:
        self.session.toggle_play()
        self._after_command()

    def play(self) -> None:
        self.session.play()
        self._after_command()

    def pause(self) -> None:
        self.session.pause()
        self._after_command()

    def step(self) -> None:
        self.session.step()
        self._after_command()

    def step_back(self) -> None:
        self.session.step_back()
        self._after_command()

    def sub_step(self) -> None:
        self.session.sub_step()
        self._after_command()

    def sub_step_back(self) -> None:
        self.session.sub_step_back()
        self._after_command()

    def seek(self, epoch: int) -> None:
        self.session.seek(epoch)
        self._after_command()

    def run_to_end(self) -> None:
        self.session.run_to_end()
        self._after_command()

    def set_speed(self, epochs_per_second: float | None) -> None:
        self.session.set_speed(epochs_per_second)
        self._after_command()

    def shutdown(self) -> None:
        """Stop the training thread (closeEvent); returns within CLOSE_WAIT_MS, never hangs."""
        if self._closed:
            return
        self._closed = True
        self._replay_timer.stop()
        self._redraw_timer.stop()
        self._preload_timer.stop()
        for signal in (self._worker.run_started, self._worker.epochs_finished,
                       self._worker.run_stopped, self._worker.run_failed):
            signal.disconnect()  # a closed window hears nothing more, late or not
        self._release()

    def start_preload_watch(self) -> None:
        """Import torch in the background once the window is idle (call after the first paint)."""
        if not self._closed and not torch_preload.is_loaded():
            self._preload_timer.start()

    # --- from the worker -------------------------------------------------------------------------

    @Slot(object)
    def _on_worker_run_started(self, started: RunStarted) -> None:
        if self._closed:
            return
        self.session.started(started.generation, started.config, started.initial_params,
                             started.prediction)
        self._after_command()

    @Slot(object)
    def _on_worker_epochs_finished(self, batch: EpochBatch) -> None:
        if self._closed:
            return
        self.session.recorded(batch.generation, batch.records)
        self._last_batch = batch.number
        self._schedule_redraw()

    @Slot(object)
    def _on_worker_run_stopped(self, stopped: RunStopped) -> None:
        if self._closed:
            return
        self.session.stopped(stopped.generation, stopped.epoch, stopped.reason,
                             stopped.prediction)
        self._after_command()

    @Slot(object)
    def _on_worker_run_failed(self, failure: RunFailed) -> None:
        if self._closed:
            return
        self.session.failed(failure.generation, failure.message)
        self._after_command()

    @Slot()
    def _on_replay_timer_timeout(self) -> None:
        self.session.replay_tick(self._replay_timer.interval())
        self._after_command()

    @Slot()
    def _on_preload_timer_timeout(self) -> None:
        """Import torch once nothing has happened for a while and nothing plays."""
        if self._closed or torch_preload.is_loaded():
            return
        idle = time.monotonic() - self.session.last_command_time
        if self.session.is_playing or idle < PRELOAD_IDLE_S:
            self._preload_timer.start()
            return
        torch_preload.start()

    # --- helpers ---------------------------------------------------------------------------------

    def _after_reset(self) -> None:
        self._sync_replay_timer()
        self.run_reset.emit()
        self._schedule_redraw()

    def _after_command(self) -> None:
        self._sync_replay_timer()
        self._schedule_redraw()

    def _sync_replay_timer(self) -> None:
        if not self.session.replaying:
            self._replay_timer.stop()
            return
        interval = self.session.replay_interval_ms
        if not self._replay_timer.isActive() or self._replay_timer.interval() != interval:
            self._replay_timer.start(interval)

    def _on_session_state(self, state: RunState) -> None:
        if not self._closed:
            self.state_changed.emit(str(state))

    def _on_session_message(self, text: str) -> None:
        if not self._closed:
            self.message.emit(text)

    def _schedule_redraw(self) -> None:
        """Redraw now if the last frame is old enough, else once the frame interval is over."""
        if self._closed or self._redraw_timer.isActive():
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
        ~5 ms at a time, behind the training loop; see gdviz/core/loop.py.
        """
        self.control.frame_drawn(self._last_batch)


def _release_thread(control: TrainingControl, thread: QThread, worker: QObject) -> None:
    """Stop a model's training thread; park it if a trainer is still being built."""
    control.stop()
    try:
        if thread.isRunning():
            thread.quit()  # before wait(): the loop's own finished->quit needs an event loop
            if not thread.wait(CLOSE_WAIT_MS):
                _parked.append((thread, worker))  # alive until the import ends: see _reap
    except RuntimeError:  # the C++ thread is already gone
        pass
    _reap()


def _reap() -> None:
    _parked[:] = [(thread, worker) for thread, worker in _parked if not thread.isFinished()]


@atexit.register
def _join_parked() -> None:
    """At exit, let parked threads finish their import: a running QThread may not be freed.

    They stay referenced to the end: freeing a just-finished thread and its worker during
    interpreter shutdown crashed torch's module teardown (3 runs in 5 here), so the process
    exit reclaims them instead.
    """
    for thread, _worker in _parked:
        thread.wait()
