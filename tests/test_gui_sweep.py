"""The sweep panel: a background sweep, its plot, clicks, cancel and teardown."""

from __future__ import annotations

import gc
import math

import numpy as np
import pyqtgraph as pg
import pytest
from gui_helpers import find
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QLabel, QPushButton

from gdviz.core.config import build_config
from gdviz.ui.style import configure_pyqtgraph
from gdviz.ui.sweep_panel import SweepPanel

# Adam trains every epoch (a plain-SGD run stops once its parameters no longer change, which
# made a "long" sweep end before the test could cancel it).
LONG_RUNS = build_config("numpy", {"optimizer": "adam"})


@pytest.fixture
def make_panel(qtbot):
    """A shown SweepPanel; kept alive here until pytest-qt closes it (addWidget is weak)."""
    configure_pyqtgraph()
    panels: list[SweepPanel] = []

    def make(config=None, points: int = 12, epochs: int = 200) -> SweepPanel:
        panel = SweepPanel(config or build_config("numpy"), points=points, epochs=epochs)
        panels.append(panel)
        qtbot.addWidget(panel)
        panel.resize(900, 700)
        panel.show()
        qtbot.waitExposed(panel)
        return panel

    yield make
    panels.clear()


def run_to_end(qtbot, panel: SweepPanel, timeout: int = 30_000) -> None:
    panel.start()
    assert panel.is_running()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=timeout)


def plotted_lrs(panel: SweepPanel) -> list[float]:
    """The lrs of every drawn point (the line's NaN gaps stand for losses of exactly 0)."""
    xs: list[float] = []
    for item in (panel.converged_curve, panel.zero_points, panel.diverged_points,
                 panel.clipped_points):
        x, y = item.getOriginalDataset()
        if x is not None:
            xs.extend(x[np.isfinite(y)].tolist())
    return sorted(xs)


def test_small_sweep_runs_to_completion(qtbot, make_panel) -> None:
    panel = make_panel()
    assert panel.objectName() == "sweepPanel"
    plot = find(panel, pg.PlotWidget, "sweepPlot")
    assert panel.result() is None
    run_to_end(qtbot, panel)
    result = panel.result()
    assert result is not None and len(result.outcomes) == 12 and result.epochs == 200
    assert plotted_lrs(panel) == pytest.approx(result.lrs.tolist())
    assert plot.getPlotItem().ctrl.logXCheck.isChecked()  # log x (lr) and log y (loss)
    assert plot.getPlotItem().ctrl.logYCheck.isChecked()
    # The cliff line and 2/h, at log10 of their lrs (the axes are logarithmic), labelled.
    assert panel.cliff_line.isVisible() and panel.closed_form_line.isVisible()
    assert panel.cliff_line.value() == pytest.approx(math.log10(result.cliff))
    assert panel.closed_form_line.value() == pytest.approx(math.log10(1 / 30))
    assert panel.cliff_line.label.format == "cliff ≈ 0.0333"
    assert panel.closed_form_line.label.format == "2/h = 0.0333"
    # Diverged runs are drawn apart from the converged ones.
    diverged, _ = panel.clipped_points.getOriginalDataset()
    assert len(diverged) == int(result.diverged.sum()) > 0
    text = find(panel, QLabel, "sweepResultLabel").text()
    assert text.startswith("runs diverge above lr ≈ 0.0333; the closed form says 0.0333")
    progress = panel.progress_bar
    assert progress.value() == progress.maximum() == 12 + len(result.refinements)
    assert find(panel, QPushButton, "sweepRunButton").text() == "Run sweep"


def scene_point(plot: pg.PlotWidget, lr: float, y_value: float) -> QPointF:
    view = plot.getViewBox()
    return view.mapViewToScene(QPointF(math.log10(lr), y_value))


@pytest.mark.parametrize("which", ["loss", "epochs"])
def test_clicking_a_point_chooses_its_lr(qtbot, make_panel, which: str) -> None:
    panel = make_panel()
    run_to_end(qtbot, panel)
    result = panel.result()
    index = 4
    lr = float(result.lrs[index])
    if which == "loss":
        plot = panel.plot_widget
        y = math.log10(result.final_losses[index])
    else:
        plot = panel.epochs_plot
        y = float(result.epochs_to_tolerance[index])
        assert math.isfinite(y)
    # A little off the point, still nearer to it than to its neighbours in log lr.
    step = math.log10(result.lrs[index + 1] / lr)
    target = scene_point(plot, lr * 10 ** (0.3 * step), y)
    position = plot.mapFromScene(target)
    assert plot.viewport().rect().contains(position)
    with qtbot.waitSignal(panel.lr_chosen, timeout=2000) as blocker:
        qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=position)
    assert blocker.args == [lr]
    assert "Learning rate set to" in panel.result_label.text()


def test_right_click_and_clicks_outside_the_view_choose_nothing(qtbot, make_panel) -> None:
    panel = make_panel()
    run_to_end(qtbot, panel)
    chosen: list[float] = []
    panel.lr_chosen.connect(chosen.append)
    plot = panel.plot_widget
    view = plot.getViewBox().sceneBoundingRect()
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.RightButton,
                     pos=plot.mapFromScene(view.center()))
    on_axis = QPointF(view.left() - 20, view.center().y())  # on the tick labels
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(on_axis))
    assert chosen == []


def test_cancel_mid_run(qtbot, make_panel) -> None:
    panel = make_panel(LONG_RUNS, points=50, epochs=100_000)  # seconds per run
    panel.start()
    qtbot.waitUntil(lambda: panel.progress_bar.value() >= 1, timeout=20_000)
    panel.cancel()
    assert panel.run_button.text() == "Cancelling…"
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=10_000)
    assert panel.result() is None
    assert panel.result_label.text().startswith("Sweep cancelled after ")
    assert panel.progress_bar.value() < panel.progress_bar.maximum()
    assert panel.run_button.text() == "Run sweep" and panel.run_button.isEnabled()


def test_run_button_starts_and_cancels(qtbot, make_panel) -> None:
    panel = make_panel(LONG_RUNS, points=50, epochs=100_000)
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    assert panel.is_running() and panel.run_button.text() == "Cancel"
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=10_000)
    assert "cancelled" in panel.result_label.text()


def test_start_right_after_cancel_is_not_ended_by_the_old_sweep(qtbot, make_panel) -> None:
    panel = make_panel(LONG_RUNS, points=50, epochs=100_000)
    panel.start()
    qtbot.waitUntil(panel._jobs.current.thread.isRunning, timeout=5000)
    panel.cancel()
    panel.points_spin.setValue(8)
    panel.epochs_spin.setValue(100)
    panel.start()  # waits for the cancelled sweep, whose report is still queued
    assert panel.is_running()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=20_000)
    assert panel.result() is not None and len(panel.result().outcomes) == 8
    text = panel.result_label.text()  # the new sweep's words (Adam's: no closed form)
    assert "cancelled" not in text and "lr ≈" in text


def test_closing_while_running_stops_the_thread(qtbot, make_panel) -> None:
    panel = make_panel(LONG_RUNS, points=50, epochs=100_000)
    panel.start()
    thread = panel._jobs.current.thread
    qtbot.waitUntil(thread.isRunning, timeout=5000)
    panel.close()
    assert thread.isFinished() and not panel.is_running()


def test_deleting_the_panel_while_running_leaves_no_thread(qtbot) -> None:
    # Not given to qtbot.addWidget: the panel goes by deleteLater, never closed.
    panel = SweepPanel(build_config("numpy"), points=50, epochs=100_000)
    panel.start()
    thread = panel._jobs.current.thread
    qtbot.waitUntil(thread.isRunning, timeout=5000)
    gone: list[bool] = []
    panel.destroyed.connect(lambda *_: gone.append(True))
    panel.deleteLater()
    qtbot.waitUntil(lambda: bool(gone), timeout=5000)
    assert thread.isFinished()
    del panel
    gc.collect()


def test_dropping_the_last_reference_while_running_leaves_no_thread(qtbot) -> None:
    panel = SweepPanel(build_config("numpy"), points=50, epochs=100_000)
    panel.start()
    thread = panel._jobs.current.thread
    qtbot.waitUntil(thread.isRunning, timeout=5000)
    del panel
    gc.collect()
    assert thread.isFinished()


def test_a_lesson_that_cannot_sweep_is_a_message(qtbot, make_panel) -> None:
    panel = make_panel(build_config("autograd", explicit={"update_with_grad": True}))
    run_to_end(qtbot, panel)
    text = panel.result_label.text()
    assert text.startswith("The sweep could not run: ")
    assert "update without no_grad" in text and "Traceback" not in text
    assert panel.result() is None


def test_new_settings_mark_the_result_stale_without_running(qtbot, make_panel) -> None:
    config = build_config("numpy")
    panel = make_panel(config)
    run_to_end(qtbot, panel)
    swept = panel.result()
    assert panel.has_current_result()
    panel.set_config(config.replace(lr=0.02))  # what a click on the plot leads to
    assert "earlier settings" not in panel.result_label.text() and panel.has_current_result()
    assert panel.current_line.value() == pytest.approx(math.log10(0.02))
    panel.set_config(config.replace(gradient="mean"))
    assert not panel.is_running() and panel.result() is swept
    assert "earlier settings" in panel.result_label.text() and not panel.has_current_result()
    run_to_end(qtbot, panel)
    assert panel.result().closed_form == pytest.approx(4 / 30)
    assert "earlier settings" not in panel.result_label.text()


def test_torch_trainer_sweeps_in_the_background(qtbot, make_panel) -> None:
    panel = make_panel(build_config("autograd"), points=6, epochs=100)
    run_to_end(qtbot, panel, timeout=60_000)
    result = panel.result()
    assert result is not None and result.cliff is not None
    assert abs(result.cliff / result.closed_form - 1) < 0.01


def test_presenter_font_scale(qtbot, make_panel) -> None:
    panel = make_panel()
    panel.set_font_scale(1.6)
    panel.set_font_scale(1.0)
