"""The four live plots. Each builds its items once per run and then only moves data into them.

Every plot reads the RunModel and shows the epoch under its cursor. Non-finite values (a
diverging run) are filtered out before they reach pyqtgraph, so nothing warns or breaks.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QVBoxLayout, QWidget

from gdviz.core.history import History
from gdviz.core.trainers import data_arrays
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, pen

MAX_PATH_POINTS = 4000  # the surface plot draws at most this many visited points
RECENT_DOTS = 50
WHOLE_RUN_EPOCHS = 5000  # epoch axes of runs up to this long span the whole run at once
SURFACE_GRID = 160
CONTOUR_LEVELS = 9


def finite_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keep the positions where every array is finite."""
    keep = np.ones(len(arrays[0]), dtype=bool)
    for array in arrays:
        keep &= np.isfinite(array)
    return tuple(array[keep] for array in arrays)


def without_final_nonfinite(values: np.ndarray) -> np.ndarray:
    """`values`, or a copy whose last entry is NaN if it is not finite.

    A run stops at its first non-finite epoch, so only the last value of a history column can
    be inf or nan: checking that one keeps a million-epoch redraw from scanning every value.
    """
    if len(values) and not np.isfinite(values[-1]):
        values = values.copy()
        values[-1] = np.nan
    return values


def decimated_indices(count: int, limit: int = MAX_PATH_POINTS) -> np.ndarray:
    """All indices below `count` if few; else evenly spread ones plus the latest in full."""
    if count <= limit:
        return np.arange(count)
    recent = limit // 4
    older = np.linspace(0, count - recent, limit - recent, endpoint=False).astype(np.int64)
    return np.concatenate((older, np.arange(count - recent, count)))


def padded_range(values: np.ndarray, fraction: float = 0.12, min_span: float = 0.5
                 ) -> tuple[float, float]:
    low, high = float(np.min(values)), float(np.max(values))
    span = max(high - low, min_span, 1e-9 * max(abs(low), abs(high)))
    centre = (low + high) / 2
    return centre - span * (0.5 + fraction), centre + span * (0.5 + fraction)


def _style_plot(plot: pg.PlotItem, title: str, x_label: str, y_label: str) -> None:
    plot.setTitle(title, size="15pt")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    for side in ("left", "bottom"):
        # Axes repaint on every frame otherwise; the cache is invalidated when the range moves.
        plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Never rescale tick values ("(x0.001)" confuses students). pyqtgraph 0.14's
        # enableAutoSIPrefix(False) hides the prefix but keeps scaling the ticks: wrong numbers.
        plot.getAxis(side).setSIPrefixEnableRanges(())


class SurfacePlot(pg.PlotWidget):
    """L(w) with the visited points (w-only), or a heatmap of L(w, b) with contours (nn)."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName("surfacePlot")
        self.model = model
        self._extent: tuple[float, float, float, float] | None = None  # w0, w1, b0, b1 drawn
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.image.setZValue(-20)
        self.contours: list[pg.IsocurveItem] = []
        self.curve = pg.PlotDataItem(pen=pen("surface", 3))
        # The path is a plain line; dots only on the latest points (thousands of symbols are
        # slow in pyqtgraph, and the recent steps are the ones a lecture talks about).
        self.path = pg.PlotDataItem(pen=pen("path", 2.5))
        self.recent = pg.ScatterPlotItem(size=8, brush=COLORS["path"], pen=None)
        self.optimum = pg.ScatterPlotItem(symbol="star", size=26, brush=COLORS["optimum"],
                                          pen=pg.mkPen("w", width=1.5))
        self.start = pg.ScatterPlotItem(symbol="s", size=14, brush=COLORS["start"], pen=None)
        self.current = pg.ScatterPlotItem(symbol="o", size=22, brush=COLORS["current"],
                                          pen=pg.mkPen("w", width=2.5))
        for item in (self.image, self.curve, self.path, self.recent, self.optimum, self.start,
                     self.current):
            self.addItem(item)
        self.current.setZValue(10)
        self.getPlotItem().addLegend(offset=(-10, 10), labelTextSize="12pt",
                                     brush=(255, 255, 255, 200))

    def rebuild(self) -> None:
        """A new run: new data, maybe another model; the surface is recomputed lazily."""
        config = self.model.config
        plot = self.getPlotItem()
        legend = plot.legend
        legend.clear()
        self._extent = None
        self.image.setVisible(config.has_bias)
        self.curve.setVisible(not config.has_bias)
        for iso in self.contours:
            iso.setParentItem(None)
            self.removeItem(iso)
        self.contours = []
        if config.has_bias:
            # A legend would hide part of the path somewhere on a heatmap; the markers are
            # the same as on the L(w) plot, whose legend names them.
            _style_plot(plot, "Loss surface L(w, b)", "w (weight)", "b (bias)")
            legend.setVisible(False)
        else:
            _style_plot(plot, "Loss surface L(w)", "w", "loss")
            legend.setVisible(True)
            legend.addItem(self.curve, "L(w)")
            legend.addItem(self.path, "path of w")
            legend.addItem(self.current, "current epoch")
            legend.addItem(self.optimum, "optimum")
        self.path.setData([], [])
        self.recent.setData([], [])
        self.current.setData([], [])
        self.start.setData([], [])
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        landscape = model.landscape
        optimum = landscape.optimum
        history = model.history
        if history is None:
            points_w = np.array([optimum[0]])
            points_b = np.array([optimum[1] if landscape.with_bias else 0.0])
            path_w = path_b = np.empty(0)
        else:
            indices = decimated_indices(model.cursor + 1)
            path_w = self._visited(history, "w", indices)
            path_b = (self._visited(history, "b", indices) if landscape.with_bias
                      else np.zeros_like(path_w))
            path_w, path_b = finite_only(path_w, path_b)
            points_w = np.append(path_w, optimum[0])
            points_b = np.append(path_b, optimum[1] if landscape.with_bias else 0.0)
        if landscape.with_bias:
            self._refresh_2d(points_w, points_b, path_w, path_b)
        else:
            self._refresh_1d(points_w, path_w)

    @staticmethod
    def _visited(history: History, name: str, indices: np.ndarray) -> np.ndarray:
        """Parameter values at epochs `indices` (0 = start), without copying the column."""
        values = np.empty(len(indices))
        trained = indices > 0
        values[trained] = history.column(name)[indices[trained] - 1]
        values[~trained] = history.initial_params[history.param_names.index(name)]
        return values

    def _show_path(self, xs: np.ndarray, ys: np.ndarray) -> None:
        self.path.setData(xs, ys)
        self.recent.setData(xs[-RECENT_DOTS:], ys[-RECENT_DOTS:])
        if len(xs):
            self.start.setData(xs[:1], ys[:1])
            self.current.setData(xs[-1:], ys[-1:])

    def _refresh_1d(self, points_w: np.ndarray, path_w: np.ndarray) -> None:
        landscape = self.model.landscape
        w_low, w_high = padded_range(points_w)
        if self._extent is None or w_low < self._extent[0] or w_high > self._extent[1]:
            self._extent = (w_low, w_high, 0.0, 0.0)
            grid = np.linspace(w_low, w_high, 400)
            self.curve.setData(grid, landscape.curve(grid))
            top = float(np.max(landscape.curve(np.array([w_low, w_high]))))
            self.setRange(xRange=(w_low, w_high), yRange=(min(0.0, landscape.min_loss), top),
                          padding=0.04)
        path_loss = landscape.curve(path_w)
        path_w, path_loss = finite_only(path_w, path_loss)
        self._show_path(path_w, path_loss)
        self.optimum.setData([landscape.optimum[0]], [landscape.min_loss])

    def _refresh_2d(self, points_w: np.ndarray, points_b: np.ndarray, path_w: np.ndarray,
                    path_b: np.ndarray) -> None:
        w_low, w_high = padded_range(points_w)
        b_low, b_high = padded_range(points_b)
        extent = self._extent
        if (extent is None or w_low < extent[0] or w_high > extent[1] or b_low < extent[2]
                or b_high > extent[3]):
            self._draw_surface(w_low, w_high, b_low, b_high)
            self.setRange(xRange=(w_low, w_high), yRange=(b_low, b_high), padding=0)
        self._show_path(path_w, path_b)
        optimum = self.model.landscape.optimum
        self.optimum.setData([optimum[0]], [optimum[1]])

    def _draw_surface(self, w_low: float, w_high: float, b_low: float, b_high: float) -> None:
        self._extent = (w_low, w_high, b_low, b_high)
        landscape = self.model.landscape
        w_grid = np.linspace(w_low, w_high, SURFACE_GRID)
        b_grid = np.linspace(b_low, b_high, SURFACE_GRID)
        excess = landscape.grid(w_grid, b_grid) - landscape.min_loss
        floor = max(float(excess.max()) * 1e-6, 1e-300)
        log_excess = np.log10(np.maximum(excess, 0.0) + floor)
        levels = (float(log_excess.min()), float(log_excess.max()))
        self.image.setImage(log_excess, levels=levels, autoLevels=False)
        self.image.setRect(w_low, b_low, w_high - w_low, b_high - b_low)
        for iso in self.contours:
            iso.setParentItem(None)
            self.removeItem(iso)
        self.contours = []
        for level in np.linspace(levels[0], levels[1], CONTOUR_LEVELS + 2)[1:-1]:
            iso = pg.IsocurveItem(data=log_excess.T, level=float(level),
                                  pen=pg.mkPen((255, 255, 255, 130), width=1.2))
            iso.setParentItem(self.image)
            self.contours.append(iso)


class EpochPlot(pg.PlotWidget):
    """A value against the epoch with a cursor line; dragging the line moves the cursor."""

    def __init__(self, model: RunModel, object_name: str) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName(object_name)
        self.model = model
        plot = self.getPlotItem()
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=True, pen=pen("cursor", 2),
                                           hoverPen=pen("cursor", 4))
        self.cursor_line.sigDragged.connect(self._on_cursor_line_dragged)
        self.addItem(self.cursor_line)
        self._epochs = np.arange(0, 1024, dtype=np.float64)
        self.reset_view()

    def reset_view(self) -> None:
        self._seen: list[int] = []
        self._low, self._high = math.inf, -math.inf
        self._view: tuple[float, float, float] | None = None

    def frame_values(self, series: list[np.ndarray], extra: tuple[float, ...] = (),
                     log: bool = False) -> None:
        """Show every epoch and value, moving the view only when the data outgrow it.

        pyqtgraph's auto-range would rescale on every new epoch and repaint every axis twice
        a frame; here the epoch axis grows by doubling (up to the epoch limit), the value axis
        only when a value leaves it, and only the new values are scanned.
        """
        if len(self._seen) != len(series):
            self._seen = [0] * len(series)
        for index, values in enumerate(series):
            new = values[self._seen[index] :]
            self._seen[index] = len(values)
            new = new[np.isfinite(new)]
            if log:
                new = new[new > 0]
            if len(new):
                self._low = min(self._low, float(new.min()))
                self._high = max(self._high, float(new.max()))
        finite_extra = [v for v in extra if math.isfinite(v) and (v > 0 or not log)]
        low = min([self._low, *finite_extra])
        high = max([self._high, *finite_extra])
        if not math.isfinite(low):
            return
        if log:  # whole decades, so the view changes rarely
            low, high = math.floor(math.log10(low)), math.ceil(math.log10(high))
            high = max(high, low + 1)
        elif high - low < 1e-12 * max(1.0, abs(high)):
            low, high = low - 0.5, high + 0.5
        count = self.model.epochs_recorded
        limit = self.model.config.epochs
        if count <= limit <= WHOLE_RUN_EPOCHS:
            x_max = float(max(limit, 1))  # a short run: its whole length from the start
        else:
            x_max = 8.0
            while x_max < count:
                x_max *= 2
            if limit >= count:
                x_max = min(x_max, float(limit))
        view = (x_max, low, high)
        if view != self._view:
            self._view = view
            self.getPlotItem().disableAutoRange()
            self.setRange(xRange=(0, x_max), yRange=(low, high), padding=0.05)

    def epochs(self, count: int, first: int) -> np.ndarray:
        """first, first+1, ... (count values), from a cached buffer that grows by doubling."""
        if first + count > len(self._epochs):
            self._epochs = np.arange(0, 2 * (first + count), dtype=np.float64)
        return self._epochs[first : first + count]

    def _on_cursor_line_dragged(self) -> None:
        self.model.seek(round(self.cursor_line.value()))

    def move_cursor(self) -> None:
        self.cursor_line.blockSignals(True)
        self.cursor_line.setValue(self.model.cursor)
        self.cursor_line.blockSignals(False)


class LossPlot(QWidget):
    """Loss before each update against the epoch, with a log-scale toggle."""

    def __init__(self, model: RunModel) -> None:
        super().__init__()
        self.model = model
        self.plot = EpochPlot(model, "lossPlot")
        _style_plot(self.plot.getPlotItem(), "Loss vs epoch", "epoch", "loss")
        self.curve = self.plot.plot(pen=pen("loss", 3))
        self.marker = pg.ScatterPlotItem(size=16, brush=COLORS["current"], pen=pg.mkPen("w"))
        self.plot.addItem(self.marker)
        self.log_check = QCheckBox("log scale")
        self.log_check.setObjectName("logScaleCheck")
        self.log_check.toggled.connect(self._on_log_check_toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.log_check, alignment=Qt.AlignmentFlag.AlignRight)
        self._drawn_length = -1

    def _on_log_check_toggled(self, checked: bool) -> None:
        self.plot.getPlotItem().setLogMode(False, checked)
        self._drawn_length = -1
        self.plot.reset_view()
        self.refresh()

    def rebuild(self) -> None:
        self._drawn_length = -1
        self.plot.reset_view()
        self.curve.setData([], [])
        self.marker.setData([], [])
        self.refresh()

    def _sane(self, loss: np.ndarray) -> np.ndarray:
        if self.log_check.isChecked():
            bad = ~(loss > 0)  # also catches nan; inf is the last value at most (see below)
            bad[-1:] |= ~np.isfinite(loss[-1:])
            return np.where(bad, np.nan, loss) if bad.any() else loss
        return without_final_nonfinite(loss)

    def refresh(self) -> None:
        history = self.model.history
        self.plot.move_cursor()
        if history is None:
            return
        count = len(history)
        if count != self._drawn_length:  # only new epochs cost a setData
            self._drawn_length = count
            raw = history.column("loss")
            loss = self._sane(raw)
            # Skip pyqtgraph's scan of a million values when we know they are all finite.
            self.curve.setData(self.plot.epochs(count, 1), loss, connect="finite",
                               skipFiniteCheck=loss is raw)
            log = self.log_check.isChecked()
            self.plot.frame_values([raw], extra=() if log else (0.0,), log=log)
        cursor = self.model.cursor
        if cursor >= 1:
            value = self._sane(history.column("loss")[cursor - 1 : cursor])
            self.marker.setData([cursor], value if np.isfinite(value[0]) else [])
        else:
            self.marker.setData([], [])


class WeightsPlot(EpochPlot):
    """w (and b) against the epoch, with the optimum as dashed lines."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(model, "weightsPlot")
        _style_plot(self.getPlotItem(), "Weights vs epoch", "epoch", "value")
        self.getPlotItem().addLegend(offset=(-10, -10), labelTextSize="12pt")
        self.curves = {"w": self.plot(pen=pen("w", 3), name="w"),
                       "b": self.plot(pen=pen("b", 3), name="b")}
        self.optimum_lines = {
            name: pg.InfiniteLine(angle=0, pen=pen(name, 2, dashed=True),
                                  label=f"{name}* = {{value:.3f}}",
                                  labelOpts={"position": 0.25, "color": COLORS[name]})
            for name in ("w", "b")
        }
        for line in self.optimum_lines.values():
            self.addItem(line)
        self._drawn_length = -1

    def rebuild(self) -> None:
        has_bias = self.model.config.has_bias
        legend = self.getPlotItem().legend
        legend.clear()
        for name in self.model.config.param_names:
            legend.addItem(self.curves[name], name)
        self.curves["b"].setVisible(has_bias)
        self.optimum_lines["b"].setVisible(has_bias)
        for name, value in zip(("w", "b"), self.model.landscape.optimum, strict=False):
            self.optimum_lines[name].setValue(value)
        for curve in self.curves.values():
            curve.setData([], [])
        self._drawn_length = -1
        self.reset_view()
        self.refresh()

    def refresh(self) -> None:
        history = self.model.history
        self.move_cursor()
        if history is None or len(history) == self._drawn_length:
            return
        self._drawn_length = len(history)
        series = []
        for name in history.param_names:
            raw = history.trajectory(name)
            series.append(raw)
            values = without_final_nonfinite(raw)
            self.curves[name].setData(self.epochs(len(values), 0), values, connect="finite",
                                      skipFiniteCheck=values is raw)
        self.frame_values(series, extra=self.model.landscape.optimum)


class FitPlot(pg.PlotWidget):
    """The data, the model's line at the cursor's epoch, and the prediction at x_test."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName("fitPlot")
        self.model = model
        _style_plot(self.getPlotItem(), "Data and fit", "x", "y")
        self.getPlotItem().addLegend(offset=(-10, -10), labelTextSize="12pt")
        self.best = self.plot(pen=pen("optimum", 2, dashed=True), name="least squares")
        self.line = self.plot(pen=pen("fit", 3.5), name="model f(x)")
        self.points = pg.ScatterPlotItem(size=14, brush=COLORS["data"], pen=pg.mkPen("w"))
        self.prediction = pg.ScatterPlotItem(symbol="d", size=22, brush=COLORS["current"],
                                             pen=pg.mkPen("w", width=2))
        # Above and left of the point: clear of the line, inside the view.
        self.label = pg.TextItem(anchor=(1.05, 1.2), color=COLORS["text"])
        self.label.setFont(pg.QtGui.QFont("DejaVu Sans", 14))
        for item in (self.points, self.prediction, self.label):
            self.addItem(item)
        self.getPlotItem().legend.addItem(self.points, "data")
        self._x_span = (0.0, 1.0)

    def rebuild(self) -> None:
        config = self.model.config
        x, y = data_arrays(config)
        self.points.setData(x, y)
        low, high = padded_range(np.append(x, [config.x_test, 0.0]), fraction=0.08, min_span=1.0)
        self._x_span = (low, high)
        span = np.array(self._x_span)
        optimum = self.model.landscape.optimum
        b = optimum[1] if len(optimum) > 1 else 0.0
        self.best.setData(span, optimum[0] * span + b)
        y_low, y_high = padded_range(np.concatenate((y, optimum[0] * span + b)), 0.1, 1.0)
        self.setRange(xRange=self._x_span, yRange=(y_low, y_high), padding=0)
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        if model.history is None:
            self.line.setData([], [])
            self.prediction.setData([], [])
            self.label.setText("")
            return
        params = model.history.params_at(model.cursor)
        b = params[1] if len(params) > 1 else 0.0
        span = np.array(self._x_span)
        with np.errstate(all="ignore"):
            line = params[0] * span + b
            x_test = model.config.x_test
            predicted = params[0] * x_test + b
        if np.isfinite(line).all():
            self.line.setData(span, line)
        else:
            self.line.setData([], [])
        if np.isfinite(predicted):
            self.prediction.setData([x_test], [predicted])
            self.label.setText(f"f({x_test:g}) = {predicted:.3f}")
            self.label.setPos(x_test, predicted)
        else:
            self.prediction.setData([], [])
            self.label.setText(f"f({x_test:g}) is not finite")
