"""The data, the model's line at the cursor's epoch, and the prediction at x_test."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF

from gdviz.core.trainers import data_arrays
from gdviz.ui.plots.common import DASHED, LABEL_GAP, LINE, padded_range, style_plot
from gdviz.ui.plots.labels import (
    line_in_view,
    pick_spot,
    place_text,
    rects_around,
    scene_points,
    text_item,
    text_size,
)
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, pen, plot_title


class FitPlot(pg.PlotWidget):
    """The data, the model's line at the cursor's epoch, and the prediction at x_test."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName("fitPlot")
        self.model = model
        legend = key(("●", "data", "data"), (LINE, "fit", "f(x)"),
                     (DASHED, "optimum", "best fit"))
        style_plot(self.getPlotItem(), plot_title("Data and fit", legend), "x", "y")
        self.best = self.plot(pen=pen("optimum", 2, dashed=True))
        self.line = self.plot(pen=pen("fit", 3.5))
        self.points = pg.ScatterPlotItem(size=14, brush=COLORS["data"], pen=pg.mkPen("w"))
        self.prediction = pg.ScatterPlotItem(symbol="d", size=22, brush=COLORS["current"],
                                             pen=pg.mkPen("w", width=2))
        self.label = text_item("text", 14)
        for item in (self.points, self.prediction):
            self.addItem(item)
        self.addItem(self.label, ignoreBounds=True)
        self.getViewBox().sigResized.connect(self._on_view_resized)
        self._x_span = self._y_span = (0.0, 1.0)
        self._data: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        self._predicted: tuple[float, float] | None = None

    def rebuild(self) -> None:
        config = self.model.config
        x, y = data_arrays(config)
        self._data = (np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        self.points.setData(x, y)
        low, high = padded_range(np.append(x, [config.x_test, 0.0]), fraction=0.08, min_span=1.0)
        self._x_span = (low, high)
        span = np.array(self._x_span)
        optimum = self.model.landscape.optimum
        b = optimum[1] if len(optimum) > 1 else 0.0
        self.best.setData(span, optimum[0] * span + b)
        y_low, y_high = padded_range(np.concatenate((y, optimum[0] * span + b)), 0.1, 1.0)
        self._y_span = (y_low, y_high)
        self.setRange(xRange=self._x_span, yRange=self._y_span, padding=0)
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
        x_test = model.config.x_test
        with np.errstate(all="ignore"):
            predicted = params[0] * x_test + b
        segment = line_in_view(params[0], b, self._x_span, self._y_span)
        if segment is not None:
            self.line.setData(*segment)  # clipped: huge coordinates draw a wrong line
        else:
            self.line.setData([], [])
        self._predicted = (x_test, float(predicted)) if np.isfinite(predicted) else None
        if np.isfinite(predicted):
            self.prediction.setData([x_test], [predicted])
            # Far off the view only the magnitude matters; all its digits would not fit.
            shown = f"{predicted:.3f}" if abs(predicted) < 1e6 else f"{predicted:.1e}"
            off_view = "↓" if predicted < self._y_span[0] else "↑" * (predicted > self._y_span[1])
            self.label.setText(f"f({x_test:g}) = {shown} {off_view}".rstrip())
        else:
            self.prediction.setData([], [])
            self.label.setText(f"f({x_test:g}) is not finite")
        self._place_label()

    def _on_view_resized(self) -> None:
        self._place_label()

    def _place_label(self) -> None:
        """Beside the prediction, clear of every data point, inside the view."""
        view = self.getViewBox()
        inside = view.sceneBoundingRect()
        if inside.width() < 10 or inside.height() < 10 or not self.label.toPlainText():
            return
        size = text_size(self.label)
        if self._predicted is not None:
            x_test, predicted = self._predicted
            # Beside the point, or at the view's edge nearest to it when it is off the view.
            point = view.mapViewToScene(QPointF(x_test, min(max(predicted, self._y_span[0]),
                                                            self._y_span[1])))
            candidates = rects_around(point, size, LABEL_GAP + 11)  # the diamond is 22 px
        else:  # not finite: say so in the top-right corner
            candidates = [QRectF(inside.right() - size[0] - 8, inside.top() + 8, *size)]
        xs, ys = scene_points(view, *self._data)
        radius = 8.0  # data dots are 14 px wide, with a white rim

        def hits_points(rect: QRectF) -> bool:
            grown = rect.adjusted(-radius, -radius, radius, radius)
            return bool(np.any((xs > grown.left()) & (xs < grown.right())
                               & (ys > grown.top()) & (ys < grown.bottom())))

        place_text(self.label, view, pick_spot(candidates, inside, [], hits_points))
