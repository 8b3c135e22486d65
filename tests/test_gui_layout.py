"""The window at common screen sizes: nothing clipped, no label over a legend, a data point or a
curve, the window within its screen, and plots that show the same numbers for the same epoch.

Windows are resized offscreen to 1280×720 and 1920×1080; the screen-fitting test runs a child
process whose offscreen screen has the size under test (Qt's offscreen plugin reads it from a
JSON file: `-platform offscreen:configfile=...`).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import action, find
from PySide6.QtCore import QMargins, QRect, QRectF, QSize, Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSlider

from gdviz.core.config import build_config
from gdviz.ui.plots import scene_points, symlog
from gdviz.ui.screen import PREFERRED_SIZE, epoch_texts, window_geometry

SIZES = [(1280, 720), (1920, 1080)]
TORCH_TIMEOUT = 60_000


# --- helpers -------------------------------------------------------------------------------------

def sized(qtbot, make_window, config, size: tuple[int, int], timeout: int = 15_000):
    window = make_window(config, timeout=timeout)
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size() == QSize(*size), timeout=2000)
    settle(qtbot, window)
    return window


def settle(qtbot, window) -> None:
    """Let the coalesced redraw happen and paint (TextItems place themselves when painted)."""
    qtbot.wait(60)
    window.grab()


def run_to_end(qtbot, window, timeout: int = 15_000) -> None:
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: window.model.state in ("finished", "diverged"), timeout=timeout)
    settle(qtbot, window)


def seek(qtbot, window, epoch: int) -> None:
    window.model.seek(epoch)
    qtbot.waitUntil(lambda: window.model.cursor == epoch, timeout=2000)
    settle(qtbot, window)


def text_rect(item) -> QRectF:
    item.updateTransform(force=True)
    return item.mapRectToScene(item.boundingRect())


def point_rects(plot, xs, ys, radius: float = 7.0) -> list[QRectF]:
    sx, sy = scene_points(plot.getViewBox(), np.asarray(xs, float), np.asarray(ys, float))
    return [QRectF(x - radius, y - radius, 2 * radius, 2 * radius) for x, y in zip(sx, sy,
                                                                                  strict=True)]


def curve_hits(plot, xs: np.ndarray, ys: np.ndarray, rect: QRectF) -> bool:
    """Whether the polyline through (xs, ys) (view coordinates) passes through `rect`."""
    keep = np.isfinite(xs) & np.isfinite(ys)
    sx, sy = scene_points(plot.getViewBox(), xs[keep], ys[keep])
    t = np.linspace(0, 1, 25)[:, None]
    px = (sx[:-1] * (1 - t) + sx[1:] * t).ravel() if len(sx) > 1 else sx
    py = (sy[:-1] * (1 - t) + sy[1:] * t).ravel() if len(sy) > 1 else sy
    inside = ((px > rect.left()) & (px < rect.right()) & (py > rect.top())
              & (py < rect.bottom()))
    return bool(inside.any())


def assert_fit_label_clear(window) -> None:
    fit = window.fit_plot
    label = text_rect(fit.label)
    assert fit.label.toPlainText()
    view = fit.getViewBox().sceneBoundingRect()
    assert view.contains(label), (label, view)
    legend = fit.getPlotItem().legend
    if legend is not None and legend.isVisible():
        assert not label.intersects(legend.sceneBoundingRect())
    x, y = fit.points.getData()
    for rect in point_rects(fit, x, y):
        assert not label.intersects(rect), (fit.label.toPlainText(), label, rect)


def assert_optimum_labels_clear(window) -> None:
    weights = window.weights_plot
    history = window.model.history
    names = window.model.config.param_names
    view = weights.getViewBox().sceneBoundingRect()
    for name in names:
        label = text_rect(weights.optimum_labels[name])
        assert view.contains(label), (name, label, view)
        for other in names:
            values = np.asarray(history.trajectory(other), dtype=float)
            shown = symlog(values) if weights.value_axis.symlog else values
            epochs = np.arange(len(values), dtype=float)
            assert not curve_hits(weights, epochs, shown, label), (name, other, label)


# --- A. readable at 1280×720 and 1920×1080 -------------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
def test_epoch_label_fits_and_keeps_its_width(qtbot, make_window, size):
    window = sized(qtbot, make_window, build_config("numpy", {"epochs": 300}), size)
    label = find(window, QLabel, "epochLabel")
    width = label.width()
    metrics = label.fontMetrics()
    for text in ("Epoch 300 / 300", "Epoch 0 / 300", *epoch_texts(300)):
        assert metrics.horizontalAdvance(text) <= label.contentsRect().width(), text
    run_to_end(qtbot, window)
    assert label.text() == "Epoch 300 / 300"
    assert label.width() == width  # a fixed width: the slider beside it does not jump
    assert label.isVisible()  # not pushed into the toolbar's overflow menu
    top_left = label.mapTo(window, label.rect().topLeft())
    assert window.rect().contains(QRect(top_left, label.size()))

    find(window, QSlider, "timelineSlider")  # the label grows with a longer run
    window.model.set_config(window.model.config.replace(epochs=100_000))
    qtbot.waitUntil(lambda: label.text() == "Epoch 0 / 100000", timeout=5000)
    for text in ("Epoch 100000 / 100000", *epoch_texts(100_000)):
        assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("preset", ["notebook-numpy", "numpy-diverging"])
def test_log_lines_fit_the_panel(qtbot, make_window, size, preset):
    window = sized(qtbot, make_window, build_config(preset_name=preset), size)
    run_to_end(qtbot, window)
    panel = find(window, QPlainTextEdit, "logPanel")
    assert panel.toPlainText().startswith("prediction before training: f(5)0.000")
    assert panel.horizontalScrollBar().maximum() == 0  # nothing to scroll sideways to
    room = panel.viewport().width()
    layout = panel.document().documentLayout()
    block = panel.document().begin()
    while block.isValid():
        layout.blockBoundingRect(block)  # lays the block out
        lines = block.layout()
        for index in range(lines.lineCount()):
            assert lines.lineAt(index).naturalTextWidth() <= room, block.text()
        block = block.next()


@pytest.mark.parametrize("size", SIZES)
def test_fit_label_clear_of_legend_and_points_nn(qtbot, make_window, size):
    window = sized(qtbot, make_window, build_config(preset_name="nn-noisy-line"), size,
                   timeout=TORCH_TIMEOUT)
    assert_fit_label_clear(window)  # epoch 0: the prediction sits low, by the data
    run_to_end(qtbot, window, timeout=TORCH_TIMEOUT)
    for epoch in (1, 3, 10, 300):
        seek(qtbot, window, epoch)
        assert_fit_label_clear(window)
        assert_optimum_labels_clear(window)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("preset", ["notebook-numpy", "numpy-oscillating", "numpy-diverging"])
def test_labels_clear_numpy(qtbot, make_window, size, preset):
    window = sized(qtbot, make_window, build_config(preset_name=preset), size)
    run_to_end(qtbot, window)
    last = window.model.cursor
    for epoch in sorted({0, 1, 2, 5, last // 2, last}):
        seek(qtbot, window, epoch)
        assert_fit_label_clear(window)
        assert_optimum_labels_clear(window)


# --- B. the window within its screen -------------------------------------------------------------

def test_window_geometry_is_a_function_of_the_available_rect():
    minimum = QSize(900, 600)
    frame = QMargins(4, 30, 4, 4)
    big = window_geometry(QRect(0, 0, 2560, 1400), PREFERRED_SIZE, minimum, frame)
    assert big.size() == PREFERRED_SIZE
    assert big.center().x() in range(1278, 1283)  # centred
    full_hd = window_geometry(QRect(0, 0, 1920, 1050), PREFERRED_SIZE, minimum, frame)
    assert full_hd.size() == QSize(1900, 1016)  # as much of a full HD screen as fits
    small = window_geometry(QRect(0, 0, 1280, 720), PREFERRED_SIZE, minimum, frame)
    assert small == QRect(4, 30, 1272, 686)  # the frame fits too
    second = window_geometry(QRect(1920, 40, 1024, 728), PREFERRED_SIZE, minimum, QMargins())
    assert second == QRect(1920, 40, 1024, 728)  # a second screen, a panel at the top
    tiny = window_geometry(QRect(0, 0, 800, 600), PREFERRED_SIZE, minimum, QMargins())
    assert tiny.size() == QSize(900, 600)  # never below what the widgets need


SHOW_WINDOW = textwrap.dedent("""
    import json, sys, time
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from gdviz.ui import MainWindow
    from gdviz.core.config import build_config
    window = MainWindow(build_config(preset_name="numpy-oscillating"))
    window.show()
    deadline = time.monotonic() + 15
    while window.model.state != "ready" and time.monotonic() < deadline:
        app.processEvents()
    for _ in range(20):
        app.processEvents()
    def rect(r):
        return [r.x(), r.y(), r.width(), r.height()]
    def size(s):
        return [s.width(), s.height()]
    labels = [window.epoch_label, window.statusBar()]
    print(json.dumps({
        "available": rect(window.screen().availableGeometry()),
        "frame": rect(window.frameGeometry()),
        "minimum": size(window.minimumSizeHint()),
        "central_minimum": size(window.centralWidget().minimumSizeHint()),
        "dock_minimum": size(window.settings_dock.minimumSizeHint()),
        "visible": [w.isVisible() and window.rect().contains(
            w.geometry().translated(w.mapTo(window, w.rect().topLeft()) - w.pos()))
            for w in labels + [window.step_panel, window.code_panel]],
        "log_reachable": window.docks.log.toggleViewAction().isChecked(),
    }))
    window.close()
""")


@pytest.mark.parametrize("screen", [(1280, 720), (1024, 768), (1920, 1080)])
def test_window_opens_within_the_screen(tmp_path: Path, screen):
    width, height = screen
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "projector", "x": 0, "y": 0,
                                               "width": width, "height": height,
                                               "logicalDpi": 96}]}))
    env = dict(os.environ, QT_QPA_PLATFORM=f"offscreen:configfile={config}")
    done = subprocess.run([sys.executable, "-c", SHOW_WINDOW], capture_output=True, text=True,
                          timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    available = QRect(*shown["available"])
    assert available.contains(QRect(*shown["frame"])), shown
    # Epoch label, status bar, step panel and code panel in sight; the log may share a tab.
    assert all(shown["visible"]) and shown["log_reachable"], shown
    # QMainWindow never shrinks below its minimum size hint: that must fit a 1024×768 screen.
    assert shown["minimum"][0] <= 1024 and shown["minimum"][1] <= 740, shown


# --- C. plots that tell the truth ----------------------------------------------------------------

def test_surface_and_loss_plot_show_the_same_loss(qtbot, make_window):
    window = make_window(build_config(preset_name="numpy-oscillating"))
    run_to_end(qtbot, window)
    for epoch in (0, 1, 2, 5, 39, 40):
        seek(qtbot, window, epoch)
        _, surface_y = window.surface_plot.current.getData()
        _, loss_y = window.loss_plot.marker.getData()
        assert len(surface_y) == len(loss_y) == 1, epoch
        assert surface_y[0] == pytest.approx(loss_y[0], rel=1e-6), epoch
    seek(qtbot, window, 2)
    _, loss_y = window.loss_plot.marker.getData()
    assert loss_y[0] == pytest.approx(window.model.landscape.loss(0.72), rel=1e-5)  # 12.3
    assert "after the update" in window.loss_plot.plot.getPlotItem().getAxis("left").labelText


def test_epoch_axes_at_epoch_0(qtbot, window):
    loss_view = window.loss_plot.plot.getPlotItem().viewRange()
    weights_view = window.weights_plot.getPlotItem().viewRange()
    for (x_low, x_high), _ in (loss_view, weights_view):
        assert -1 < x_low <= 0 and 10 <= x_high < 11  # the whole 10-epoch run
    y_low, y_high = loss_view[1]
    assert y_high >= 30  # L(w0) = 30, shown at epoch 0
    assert y_low > -0.05 * y_high  # no negative losses on the axis
    _, loss_y = window.loss_plot.marker.getData()
    assert loss_y.tolist() == [pytest.approx(30.0)]


def test_surface_frames_the_configured_start_before_the_run_is_ready(qtbot):
    from gdviz.ui import MainWindow

    window = MainWindow(build_config("nn", {"w0": -3.0, "b0": 4.0}))
    qtbot.addWidget(window)
    try:
        assert window.model.state == "loading"
        (w_low, w_high), (b_low, b_high) = window.surface_plot.getPlotItem().viewRange()
        assert w_low < -3.0 < w_high and b_low < 4.0 < b_high
        qtbot.waitUntil(lambda: window.model.state == "ready", timeout=TORCH_TIMEOUT)
    finally:
        window.close()


def test_diverging_run_switches_scales_and_says_so(qtbot, make_window):
    window = make_window(build_config("numpy", {"lr": 0.1, "epochs": 100}))
    loss_plot, weights = window.loss_plot, window.weights_plot
    assert not loss_plot.log_check.isChecked() and not weights.value_axis.symlog
    run_to_end(qtbot, window)
    assert loss_plot.log_check.isChecked()
    assert "log scale" in loss_plot.plot.getPlotItem().titleLabel.text
    assert weights.value_axis.symlog
    assert "symmetric log" in weights.getPlotItem().titleLabel.text
    low, high = weights.getPlotItem().viewRange()[1]
    assert -60 < low < 0 < high < 60  # decades, not 1e37
    assert "zoomed out" in window.surface_plot.getPlotItem().titleLabel.text
    w_low, w_high = window.surface_plot.getPlotItem().viewRange()[0]
    w_now = window.model.history.params_at(window.model.cursor)[0]
    assert w_low < w_now < w_high  # the view follows the path

    seek(qtbot, window, 3)  # back at the start the surface zooms in again
    w_low, w_high = window.surface_plot.getPlotItem().viewRange()[0]
    assert w_high - w_low < 1000

    loss_plot.log_check.setChecked(False)  # the lecturer's choice stands
    settle(qtbot, window)
    seek(qtbot, window, window.model.epochs_recorded)
    assert not loss_plot.log_check.isChecked()
    action(window, "actionReset").trigger()  # a new run starts on linear axes
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=5000)
    settle(qtbot, window)
    assert not weights.value_axis.symlog


def test_heatmap_has_a_truthful_colour_bar(qtbot, make_window):
    window = make_window(build_config(preset_name="nn-noisy-line"), timeout=TORCH_TIMEOUT)
    settle(qtbot, window)
    surface = window.surface_plot
    bar = surface.color_bar
    assert bar.isVisible() and bar.parentItem() is not None
    assert bar.levels() == pytest.approx(surface.image.getLevels())
    assert "L − L_min" in bar.axis.labelText and "log" in bar.axis.labelText
    image = surface.image.image  # log10 of the loss above the minimum, as the bar says
    landscape = window.model.landscape
    rect = surface.image.mapRectToParent(surface.image.boundingRect())
    w, b = rect.left(), rect.top()  # the image's first cell
    excess = float(landscape.loss(w, b)) - landscape.min_loss
    assert image[0, 0] == pytest.approx(math.log10(excess), abs=1e-3)

    window.model.set_config(build_config("numpy"))  # L(w) has no colours: no bar
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=5000)
    assert not bar.isVisible() and bar.parentItem() is None


def test_timeline_slider_spans_the_run(qtbot, window):
    slider = find(window, QSlider, "timelineSlider")
    assert slider.maximum() == 10
    for _ in range(3):
        action(window, "actionStep").trigger()
        qtbot.wait(30)
    qtbot.waitUntil(lambda: window.model.cursor == 3, timeout=5000)
    settle(qtbot, window)
    assert (slider.value(), slider.maximum()) == (3, 10)
    slider.setValue(8)  # not trained yet: stays at the newest epoch
    settle(qtbot, window)
    assert window.model.cursor == 3 and slider.value() == 3


def test_the_3d_view_opens_in_a_window_of_its_own_and_no_opengl_is_made_before(window):
    """An OpenGL widget in the main window has Qt composite the whole window through OpenGL
    (under software rendering every redraw got ~3x slower): the 3-D dock floats, closed."""
    dock = window.docks.surface3d
    assert dock.isFloating() and not dock.isVisible()
    assert window.surface3d_view.gl_view is None
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert dock.toggleViewAction() in view_menu.actions()
