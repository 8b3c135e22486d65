"""The learning-rate sweep panel: final loss and epochs to a tolerance against a log range of lrs.

`gdviz.core.sweep.run_sweep` does the work in a background QThread (one per sweep: the worker is
moved to it, quits its own thread when done, and is stopped through a `threading.Event` checked
between runs and every few hundred epochs within one). The plot marks the measured cliff and
the closed-form critical lr; clicking a point emits `lr_chosen` with that point's lr.

API for the window: `set_config(config)` (marks a result for other settings stale, never runs
by itself), `start()`, `cancel()`, `is_running()`, `result()`, `has_current_result()`,
`teardown()`, `set_font_scale(scale)`, and the signal `lr_chosen(float)`.
"""

from __future__ import annotations

import atexit
import math
import threading
import weakref
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.config import ConfigError, RunConfig
from gdviz.core.sweep import (
    DEFAULT_EPOCHS,
    DEFAULT_POINTS,
    DEFAULT_RTOL,
    LrOutcome,
    SweepCancelled,
    SweepError,
    SweepResult,
    closed_form_critical_lr,
    default_lrs,
    run_sweep,
    sweep_key,
)
from gdviz.ui.plots.common import apply_font_scale, set_data, set_title, style_plot
from gdviz.ui.style import COLORS, key, pen, plot_title

DIVERGED = "#D55E00"  # Okabe-Ito vermillion: the runs past the cliff
CLOSED_FORM = COLORS["optimum"]
NOT_REACHED = "#888888"
CLIP_FACTOR = 1e4  # final losses above this many times the start loss are drawn clipped
CLOSE_WAIT_MS = 2000  # closing waits this long for the sweep thread (a torch import may not)
MAX_SWEEP_EPOCHS = 100_000

_parked: list[_Job] = []  # sweep threads still ending after their panel went away


class SweepWorker(QObject):
    """Runs one sweep in its thread and reports through signals; ends its own thread.

    Every signal carries the sweep's `generation`, so a panel that has started another sweep
    since can ignore what is still queued from this one.
    """

    progressed = Signal(int, int, int)  # generation, runs done, runs in all (estimated)
    outcome_ready = Signal(int, object)  # generation, LrOutcome of each grid run as it ends
    sweep_finished = Signal(int, object)  # generation, SweepResult
    sweep_cancelled = Signal(int, int, int)  # generation, runs done, runs in all
    sweep_failed = Signal(int, str)  # generation, one line for the panel

    def __init__(self, generation: int, config: RunConfig, points: int, epochs: int,
                 stop: threading.Event) -> None:
        super().__init__()
        self.generation = generation
        self._config = config
        self._points = points
        self._epochs = epochs
        self._stop = stop

    @Slot()
    def work(self) -> None:
        try:
            lrs = default_lrs(self._config, self._points)
            result = run_sweep(self._config, lrs, self._epochs, cancelled=self._stop.is_set,
                               progress=self._report_progress,
                               on_outcome=self._report_outcome)
        except SweepCancelled as cancelled:
            self.sweep_cancelled.emit(self.generation, cancelled.done, cancelled.total)
        except (SweepError, ConfigError) as error:
            self.sweep_failed.emit(self.generation, str(error))
        except Exception as error:  # a trainer's own error: said in one line, no traceback
            first = (str(error).strip().splitlines() or [""])[0]
            self.sweep_failed.emit(self.generation,
                                   f"the sweep stopped: {type(error).__name__}: {first}")
        else:
            self.sweep_finished.emit(self.generation, result)
        finally:
            # Back to the GUI thread, so the worker may be freed there; then end this thread
            # (its event loop exits once this slot returns), whether or not a panel still hears.
            app = QCoreApplication.instance()
            if app is not None:
                self.moveToThread(app.thread())
            current = QThread.currentThread()
            if current is not None:
                current.quit()

    def _report_progress(self, done: int, total: int) -> None:
        self.progressed.emit(self.generation, done, total)

    def _report_outcome(self, outcome: LrOutcome) -> None:
        self.outcome_ready.emit(self.generation, outcome)


class _Job:
    """One sweep's thread, worker and stop flag."""

    def __init__(self, worker: SweepWorker, stop: threading.Event) -> None:
        self.stop = stop
        self.generation = worker.generation
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName("gdviz-sweep")
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.work)

    def start(self) -> None:
        self.thread.start()

    def release(self, wait_ms: int = CLOSE_WAIT_MS) -> None:
        """Ask the sweep to stop and wait for its thread; park it if it does not end in time."""
        self.stop.set()
        try:
            if self.thread.isRunning():
                self.thread.quit()  # the worker quits too; this covers a thread not yet working
                if not self.thread.wait(wait_ms):
                    _parked.append(self)
        except RuntimeError:  # the C++ thread is already gone
            pass
        _reap()


class _Jobs:
    """The panel's current job, released whichever way the panel goes (close, delete, GC)."""

    def __init__(self) -> None:
        self.current: _Job | None = None

    def release(self, *_args: object) -> None:
        job, self.current = self.current, None
        if job is not None:
            job.release()


def _reap() -> None:
    _parked[:] = [job for job in _parked if not job.thread.isFinished()]


@atexit.register
def _join_parked() -> None:
    for job in _parked:
        job.thread.wait()


def _shown_losses(outcomes: list[LrOutcome] | tuple[LrOutcome, ...], initial: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Final losses made drawable on a log axis: (values, clipped, zero, floor).

    Losses above CLIP_FACTOR × the start loss, and infinite ones, sit at that ceiling
    (`clipped`); losses of exactly 0 (float32 can fit the notebook's data exactly) sit at the
    floor, a tenth of the smallest positive one (`zero`).
    """
    finals = np.array([o.final_loss for o in outcomes], dtype=np.float64)
    positive = finals[np.isfinite(finals) & (finals > 0)]
    scale = initial if math.isfinite(initial) and initial > 0 else (
        float(positive.max()) if len(positive) else 1.0)
    ceiling = scale * CLIP_FACTOR
    floor = min(float(positive.min()) / 10 if len(positive) else scale * 1e-12, scale * 1e-3)
    clipped = ~np.isfinite(finals) | (finals > ceiling)
    zero = ~clipped & (finals <= 0)
    values = np.where(clipped, ceiling, np.where(zero, floor, finals))
    return values, clipped, zero, floor


def _log10(value: float) -> float:
    return math.log10(value)


class SweepPanel(QWidget):
    """Final loss (and epochs to the tolerance) against lr; the cliff and 2/h marked."""

    lr_chosen = Signal(float)

    def __init__(self, config: RunConfig | None = None, parent: QWidget | None = None,
                 points: int = DEFAULT_POINTS, epochs: int = DEFAULT_EPOCHS) -> None:
        super().__init__(parent)
        self.setObjectName("sweepPanel")
        self._config: RunConfig | None = None
        self._result: SweepResult | None = None
        self._partial: list[LrOutcome] = []
        self._shown_lrs = np.empty(0)
        self._cancelling = False
        self._running_epochs = epochs
        self._titles: tuple[str, str] | None = None
        self._generation = 0
        self._jobs = _Jobs()
        # Stops the thread however the panel goes: closeEvent, deleteLater (destroyed), or GC.
        self._release = weakref.finalize(self, self._jobs.release)
        self.destroyed.connect(self._jobs.release)

        self.run_button = QPushButton("Run sweep")
        self.run_button.setObjectName("sweepRunButton")
        self.run_button.clicked.connect(self._on_run_button_clicked)
        self.points_spin = QSpinBox(minimum=2, maximum=200, value=points)
        self.points_spin.setObjectName("sweepPointsSpin")
        self.points_spin.setToolTip("How many learning rates, evenly spaced in log")
        self.epochs_spin = QSpinBox(minimum=1, maximum=MAX_SWEEP_EPOCHS, value=epochs,
                                    singleStep=100)
        self.epochs_spin.setObjectName("sweepEpochsSpin")
        self.epochs_spin.setToolTip("Epochs each run trains")
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("sweepProgress")
        self.progress_bar.setFormat("")  # "%v / %m runs" once a sweep starts
        self.progress_bar.setValue(0)
        self.result_label = QLabel()
        self.result_label.setObjectName("sweepResultLabel")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setSizePolicy(QSizePolicy.Policy.Preferred,
                                        QSizePolicy.Policy.Minimum)

        # Two rows, so the dock fits beside the others on a 1024 px screen.
        controls = QVBoxLayout()
        first, second = QHBoxLayout(), QHBoxLayout()
        first.addWidget(self.run_button)
        first.addWidget(self.progress_bar, 1)
        second.addWidget(QLabel("lrs"))
        second.addWidget(self.points_spin)
        second.addWidget(QLabel("epochs"))
        second.addWidget(self.epochs_spin)
        second.addStretch(1)
        controls.addLayout(first)
        controls.addLayout(second)

        self.plot_widget = self._make_loss_plot()
        self.epochs_plot = self._make_epochs_plot()
        self.epochs_plot.setXLink(self.plot_widget)

        column = QVBoxLayout(self)
        column.addLayout(controls)
        column.addWidget(self.plot_widget, 3)
        column.addWidget(self.epochs_plot, 2)
        column.addWidget(self.result_label)
        if config is not None:
            self.set_config(config)
        else:
            self._say("No settings to sweep yet.")

    # --- plots -----------------------------------------------------------------------------------

    def _make_loss_plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget(enableMenu=False)
        plot.setObjectName("sweepPlot")
        item = plot.getPlotItem()
        style_plot(item, self._loss_title(DEFAULT_EPOCHS), "learning rate", "final loss")
        item.setLogMode(x=True, y=True)
        self.converged_curve = plot.plot(pen=pen("loss", 2.5), symbol="o", symbolSize=8,
                                         symbolBrush=COLORS["loss"], symbolPen="w",
                                         connect="finite")
        self.zero_points = plot.plot(pen=None, symbol="o", symbolSize=8, symbolBrush="w",
                                     symbolPen=pg.mkPen(COLORS["loss"], width=2))
        self.diverged_points = plot.plot(pen=None, symbol="o", symbolSize=9,
                                         symbolBrush=DIVERGED, symbolPen="w")
        self.clipped_points = plot.plot(pen=None, symbol="t1", symbolSize=13,
                                        symbolBrush=DIVERGED, symbolPen="w")
        self.start_line = pg.InfiniteLine(angle=0, pen=pen("#888888", 1.5, dashed=True),
                                          label="start loss",
                                          labelOpts={"position": 0.02, "color": "#555555",
                                                     "anchors": [(0, 1), (0, 1)]})
        # Both labels left of their lines and above the start loss: no run that converged lies
        # above the start loss, and every run past the cliff lies right of it.
        self.cliff_line = pg.InfiniteLine(angle=90, pen=pen(DIVERGED, 2.5), label="",
                                          labelOpts=self._line_label_opts(DIVERGED, 0.94))
        self.closed_form_line = pg.InfiniteLine(
            angle=90, pen=pen(CLOSED_FORM, 2.5, dashed=True), label="",
            labelOpts=self._line_label_opts(CLOSED_FORM, 0.84))
        self.current_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#555555", width=1.5,
                                                                   style=Qt.PenStyle.DotLine))
        for line in (self.start_line, self.cliff_line, self.closed_form_line, self.current_line):
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        plot.scene().sigMouseClicked.connect(self._on_plot_scene_clicked)
        plot.getViewBox().sigResized.connect(self._on_loss_view_resized)
        return plot

    def _make_epochs_plot(self) -> pg.PlotWidget:
        plot = pg.PlotWidget(enableMenu=False)
        plot.setObjectName("sweepEpochsPlot")
        item = plot.getPlotItem()
        style_plot(item, self._epochs_title(DEFAULT_EPOCHS), "learning rate", "epochs")
        item.setLogMode(x=True, y=False)
        self.epochs_curve = plot.plot(pen=pen("loss", 2), symbol="o", symbolSize=7,
                                      symbolBrush=COLORS["loss"], symbolPen="w")
        self.never_points = plot.plot(pen=None, symbol="x", symbolSize=9,
                                      symbolBrush=NOT_REACHED, symbolPen=NOT_REACHED)
        self.epochs_cliff_line = pg.InfiniteLine(angle=90, pen=pen(DIVERGED, 2))
        self.epochs_closed_line = pg.InfiniteLine(angle=90, pen=pen(CLOSED_FORM, 2, dashed=True))
        self.epochs_current_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(
            "#555555", width=1.5, style=Qt.PenStyle.DotLine))
        for line in (self.epochs_cliff_line, self.epochs_closed_line, self.epochs_current_line):
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
        plot.scene().sigMouseClicked.connect(self._on_plot_scene_clicked)
        return plot

    @staticmethod
    def _line_label_opts(color: str, position: float) -> dict[str, object]:
        """A label just left of a vertical line, `position` of the way up."""
        return {"position": position, "color": color, "movable": False,
                "fill": pg.mkBrush(255, 255, 255, 215), "anchors": [(1, 0.5), (1, 0.5)]}

    @staticmethod
    def _epochs_title(epochs: int) -> str:
        legend = key(("●", "loss", f"epochs until L − L_min ≤ {DEFAULT_RTOL:.0e} × (L₀ − L_min)"),
                     ("×", NOT_REACHED, f"not within {epochs}"))
        return f"<span style='font-size: 10pt'>{legend}</span>"

    def _loss_title(self, epochs: int | None = None, zeros: bool = False) -> str:
        epochs = self.epochs_spin.value() if epochs is None else epochs
        entries = [("●", "loss", "final loss"), ("●", DIVERGED, "diverged"),
                   ("▲", DIVERGED, "clipped")]
        if zeros:
            entries.append(("○", "loss", "exactly 0"))
        entries += [("┃", DIVERGED, "cliff"), ("╏", CLOSED_FORM, "2/h"),
                    ("┊", "#555555", "current lr")]
        return plot_title(f"Learning-rate sweep: the loss after {epochs} epochs", key(*entries))

    # --- API -------------------------------------------------------------------------------------

    def set_config(self, config: RunConfig) -> None:
        """The settings to sweep. A result for other settings is kept but said to be stale; a
        new lr alone changes nothing but the current-lr marker."""
        self._config = config
        self._show_reference_lines()
        self._show_words()

    def start(self) -> None:
        """Sweep the current settings in the background (nothing if a sweep is running)."""
        if self._config is None:
            self._say("No settings to sweep yet.", error=True)
            return
        if self._jobs.current is not None:
            if not self._cancelling:
                return
            self._jobs.release()  # a cancelled sweep still ending: wait for it, then go on
        self._cancelling = False
        self._result = None
        self._partial = []
        points, epochs = self.points_spin.value(), self.epochs_spin.value()
        self._running_epochs = epochs
        stop = threading.Event()
        self._generation += 1
        worker = SweepWorker(self._generation, self._config, points, epochs, stop)
        worker.progressed.connect(self._on_worker_progressed)
        worker.outcome_ready.connect(self._on_worker_outcome_ready)
        worker.sweep_finished.connect(self._on_worker_sweep_finished)
        worker.sweep_cancelled.connect(self._on_worker_sweep_cancelled)
        worker.sweep_failed.connect(self._on_worker_sweep_failed)
        job = _Job(worker, stop)
        self._jobs.current = job
        self.progress_bar.setRange(0, points)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat("%v / %m runs")
        self._draw()
        self._set_running(True)
        needs = " (PyTorch loads first)" if self._config.spec.needs_torch else ""
        self._say(f"Sweeping {points} learning rates × {epochs} epochs{needs}…")
        job.start()

    def cancel(self) -> None:
        """Stop the running sweep after its current run (or within a long run)."""
        job = self._jobs.current
        if job is None or self._cancelling:
            return
        self._cancelling = True
        job.stop.set()
        self.run_button.setText("Cancelling…")
        self.run_button.setEnabled(False)

    def is_running(self) -> bool:
        return self._jobs.current is not None

    def result(self) -> SweepResult | None:
        """The last complete sweep (None before one, or while one runs)."""
        return self._result

    def has_current_result(self) -> bool:
        """A complete sweep of the current settings is shown (a new lr alone keeps it current):
        what an action that shows the panel reads to decide whether to start one."""
        return self._result_is_current()

    def teardown(self) -> None:
        """Stop and join the sweep thread; the panel stays usable."""
        self._jobs.release()
        self._cancelling = False
        self._set_running(False)

    def set_font_scale(self, scale: float) -> None:
        for plot in (self.plot_widget, self.epochs_plot):
            apply_font_scale(plot.getPlotItem(), scale)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.teardown()
        super().closeEvent(event)

    # --- from the worker (queued to this thread) -------------------------------------------------

    def _is_current(self, generation: int) -> bool:
        """Whether a worker's report is about the running sweep (not one replaced or closed)."""
        job = self._jobs.current
        return job is not None and job.generation == generation

    @Slot(int, int, int)
    def _on_worker_progressed(self, generation: int, done: int, total: int) -> None:
        if not self._is_current(generation):
            return
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(done)

    @Slot(int, object)
    def _on_worker_outcome_ready(self, generation: int, outcome: LrOutcome) -> None:
        if not self._is_current(generation):
            return
        self._partial.append(outcome)
        self._draw()

    @Slot(int, object)
    def _on_worker_sweep_finished(self, generation: int, result: SweepResult) -> None:
        if not self._is_current(generation):
            return
        self._end_job()
        self._result = result
        self._partial = []
        self.progress_bar.setValue(self.progress_bar.maximum())
        self._draw()
        self._show_words()

    @Slot(int, int, int)
    def _on_worker_sweep_cancelled(self, generation: int, done: int, total: int) -> None:
        if not self._is_current(generation):
            return
        self._end_job()
        self._say(f"Sweep cancelled after {done} of {total} runs. Press Run to sweep again.")

    @Slot(int, str)
    def _on_worker_sweep_failed(self, generation: int, message: str) -> None:
        if not self._is_current(generation):
            return
        self._end_job()
        self._partial = []
        self._draw()
        self._say(f"The sweep could not run: {message}", error=True)

    def _end_job(self) -> None:
        self._jobs.release()  # the worker has quit its thread: this returns at once
        self._cancelling = False
        self._set_running(False)

    # --- clicks ----------------------------------------------------------------------------------

    @Slot(object)
    def _on_plot_scene_clicked(self, event: Any) -> None:
        """A left click in either plot picks the sweep point nearest in log lr."""
        if event.button() != Qt.MouseButton.LeftButton or not len(self._shown_lrs):
            return
        scene_pos = event.scenePos()
        for plot in (self.plot_widget, self.epochs_plot):
            view = plot.getViewBox()
            if plot.scene() is view.scene() and view.sceneBoundingRect().contains(scene_pos):
                x = view.mapSceneToView(scene_pos).x()  # log10(lr): the x axis is logarithmic
                break
        else:
            return
        index = int(np.argmin(np.abs(np.log10(self._shown_lrs) - x)))
        lr = float(self._shown_lrs[index])
        event.accept()
        self._say(f"Learning rate set to {lr:.4g} (the sweep's point nearest the click).")
        self.lr_chosen.emit(lr)

    # --- drawing ---------------------------------------------------------------------------------

    def _outcomes(self) -> tuple[LrOutcome, ...]:
        return self._result.outcomes if self._result is not None else tuple(self._partial)

    def _draw(self) -> None:
        outcomes = self._outcomes()
        self._shown_lrs = np.array([o.lr for o in outcomes], dtype=np.float64)
        if not outcomes:
            for item in (self.converged_curve, self.zero_points, self.diverged_points,
                         self.clipped_points, self.epochs_curve, self.never_points):
                item.setData([], [])
            self.start_line.setVisible(False)
            self._show_reference_lines()
            return
        initial = outcomes[0].initial_loss
        values, clipped, zero, _floor = _shown_losses(outcomes, initial)
        lrs = self._shown_lrs
        diverged = np.array([o.diverged for o in outcomes], dtype=bool)
        # Zeros break the line (NaN), so it does not run along the floor as if it were a loss;
        # a line of NaN only would make pyqtgraph warn, so it is left empty instead.
        line_y = np.where(zero, np.nan, values)[~diverged]
        if np.isfinite(line_y).any():
            set_data(self.converged_curve, lrs[~diverged], line_y)
        else:
            set_data(self.converged_curve, np.empty(0), np.empty(0))
        set_data(self.zero_points, lrs[zero], values[zero])
        set_data(self.diverged_points, lrs[diverged & ~clipped], values[diverged & ~clipped])
        set_data(self.clipped_points, lrs[clipped], values[clipped])
        if math.isfinite(initial) and initial > 0:
            self.start_line.setPos(_log10(initial))
            self.start_line.setVisible(True)
        epochs = np.array([math.nan if o.epochs_to_tolerance is None
                           else o.epochs_to_tolerance for o in outcomes], dtype=np.float64)
        reached = np.isfinite(epochs)
        set_data(self.epochs_curve, lrs[reached], epochs[reached])
        top = self._result.epochs if self._result is not None else self._running_epochs
        titles = (self._loss_title(top, bool(zero.any())), self._epochs_title(top))
        if titles != self._titles:
            self._titles = titles
            set_title(self.plot_widget.getPlotItem(), titles[0])
            set_title(self.epochs_plot.getPlotItem(), titles[1])
        set_data(self.never_points, lrs[~reached], np.full(int((~reached).sum()), float(top)))
        self._show_reference_lines()
        for plot in (self.plot_widget, self.epochs_plot):
            plot.getViewBox().enableAutoRange()

    def _show_reference_lines(self) -> None:
        """The measured cliff (once a sweep found one), 2/h and the current lr."""
        config = self._config
        cliff = self._result.cliff if self._result is not None else None
        closed = closed_form_critical_lr(config) if config is not None else None
        if self._result is not None and not self._result_is_current():
            closed = self._result.closed_form  # drawn for the settings that were swept
        for line, epochs_line, value, text in (
                (self.cliff_line, self.epochs_cliff_line, cliff, "cliff ≈ {:.3g}"),
                (self.closed_form_line, self.epochs_closed_line, closed, "2/h = {:.3g}")):
            shown = value is not None and math.isfinite(value) and value > 0
            line.setVisible(shown)
            epochs_line.setVisible(shown)
            if shown:
                assert value is not None
                line.setPos(_log10(value))
                epochs_line.setPos(_log10(value))
                line.label.setFormat(text.format(value))
        self._place_line_labels()
        if config is not None:
            for line in (self.current_line, self.epochs_current_line):
                line.setPos(_log10(config.lr))
                line.setVisible(True)
        if not len(self._shown_lrs) and config is not None:
            # Before a sweep: the range it will cover, with 2/h and the current lr in it.
            lrs = default_lrs(config, 2)
            for plot in (self.plot_widget, self.epochs_plot):
                plot.getViewBox().setXRange(_log10(float(lrs[0])), _log10(float(lrs[-1])))

    @Slot(object)
    def _on_loss_view_resized(self, _view: object) -> None:
        self._place_line_labels()

    def _place_line_labels(self) -> None:
        """The cliff's label near the top, 2/h's one label-height and a bit below it: the two
        lines are often a pixel apart, and a fraction of the height alone made them overlap
        in a small panel."""
        height = self.plot_widget.getViewBox().height()
        label = self.cliff_line.label
        text_height = label.boundingRect().height()
        if height <= 0 or text_height <= 0:
            return
        top = 1 - 0.7 * text_height / height
        label.setPosition(max(0.5, top))
        below = top - 1.25 * text_height / height if self.cliff_line.isVisible() else top
        self.closed_form_line.label.setPosition(max(0.3, below))

    def _result_is_current(self) -> bool:
        return (self._result is not None and self._config is not None
                and sweep_key(self._result.config) == sweep_key(self._config))

    def _show_words(self) -> None:
        if self._jobs.current is not None:
            return  # the running sweep's message stays
        if self._result is None:
            if self._config is not None:
                self._say("Press Run sweep to train every learning rate in the range; click a "
                          "point afterwards to use its learning rate.")
            return
        text = self._result.describe() + "."
        if not self._result_is_current():
            text += " (Swept for earlier settings: press Run sweep to sweep these.)"
        self._say(text)

    def _say(self, text: str, error: bool = False) -> None:
        color = DIVERGED if error else COLORS["text"]
        self.result_label.setStyleSheet(f"color: {color}")
        self.result_label.setText(text)

    def _set_running(self, running: bool) -> None:
        self.run_button.setEnabled(True)
        self.run_button.setText("Cancel" if running else "Run sweep")
        self.points_spin.setEnabled(not running)
        self.epochs_spin.setEnabled(not running)

    @Slot()
    def _on_run_button_clicked(self) -> None:
        if self._jobs.current is not None:
            self.cancel()
        else:
            self.start()

