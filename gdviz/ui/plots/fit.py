"""The data, the model's line at the cursor's epoch, and the prediction at x_test."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF

from gdviz.core.phases import Phase
from gdviz.core.trainers import data_arrays
from gdviz.ui.plots.common import (
    DASHED,
    LABEL_GAP,
    LINE,
    apply_font_scale,
    cache_static,
    finite_only,
    padded_range,
    set_data,
    style_plot,
)
from gdviz.ui.plots.labels import (
    line_in_view,
    pick_spot,
    place_text,
    rects_around,
    scene_points,
    text_item,
    text_size,
    wrap_to,
)
from gdviz.ui.plots.markers import Markers
from gdviz.ui.plots.phase import PhaseView, phase_view
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, pen, plot_title

RESIDUAL_COLOR = "#D55E00"
FORWARD_PHASES = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD)


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
        cache_static(self.best, self.points)
        self.prediction = Markers(symbol="d", size=22, brush=COLORS["current"],
                                  pen=pg.mkPen("w", width=2))
        self.label = text_item("text", 14)
        # Lecture mode's forward pass: the trainer's predictions on the line and each residual
        # from the data point to its prediction; made once, hidden for a whole epoch.
        self.residuals = pg.PlotDataItem(pen=pen(RESIDUAL_COLOR, 2.5), connect="pairs")
        self.predictions = pg.ScatterPlotItem(size=11, brush=COLORS["fit"],
                                              pen=pg.mkPen("w", width=1.5))
        self.phase_label = text_item("text", 12, backed=True)
        # Short: the longer key wrapped over the data points in a small plot and in presenter
        # mode (the step panel says what the forward pass is).
        self.phase_label.setHtml(key(("●", "fit", "y_pred"), ("┃", RESIDUAL_COLOR, "y_pred − y")))
        for item in (self.residuals, self.points, self.predictions, self.prediction):
            self.addItem(item)
        self.addItem(self.label, ignoreBounds=True)
        self.addItem(self.phase_label, ignoreBounds=True)
        for item in (self.residuals, self.predictions, self.phase_label):
            item.setVisible(False)
        self.getViewBox().sigResized.connect(self._on_view_resized)
        self._x_span = self._y_span = (0.0, 1.0)
        self._data: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        self._predicted: tuple[float, float] | None = None
        self._shown_key: object = None  # what refresh() last drew
        self._forward_key: object = None  # whose forward pass the residuals hold

    def rebuild(self) -> None:
        self._shown_key = self._forward_key = None
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
        phase = phase_view(model)
        # Forward, loss and backward of an epoch draw the same: a sub-step between them
        # changes nothing here, so it costs neither a refresh nor a paint.
        forward = phase.phase in FORWARD_PHASES
        drawn = (id(model.history), len(model.history), model.config, phase.shown, forward,
                 phase.epoch if forward else None)
        if drawn == self._shown_key:
            return
        self._shown_key = drawn
        params = model.history.params_at(phase.shown)  # θ_{k−1} before the update
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
        self._show_forward(phase)
        self._place_label()

    def _show_forward(self, view: PhaseView) -> None:
        """Forward, loss and backward phases: the forward pass the trainer computed."""
        explanation = view.explanation
        forward = explanation.forward if explanation is not None else None
        shown = view.phase in FORWARD_PHASES and forward is not None
        for item in (self.residuals, self.predictions, self.phase_label):
            item.setVisible(shown)
        if not shown or forward is None:
            return
        key = (id(self.model.history), self.model.config, view.epoch)
        if key == self._forward_key:
            return  # back from the update to the same epoch: the items still hold it
        self._forward_key = key
        x, y, y_pred = (np.asarray(a, dtype=np.float64) for a in (forward.x, forward.y,
                                                                  forward.y_pred))
        x, y, y_pred = finite_only(x, y, y_pred)
        set_data(self.predictions, x, y_pred)
        # connect="pairs": point 2i to 2i + 1, one segment (x_i, y_i) → (x_i, y_pred_i) each.
        set_data(self.residuals, np.repeat(x, 2), np.column_stack((y, y_pred)).ravel())

    def residual_segments(self) -> np.ndarray:
        """The residuals drawn, shape (N, 2, 2): ((x_i, y_i), (x_i, y_pred_i)); empty if none."""
        if not self.residuals.isVisible():
            return np.empty((0, 2, 2))
        xs, ys = self.residuals.getData()
        if xs is None or ys is None:
            return np.empty((0, 2, 2))
        return np.column_stack((xs, ys)).reshape(-1, 2, 2)

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: axes, title and labels `scale` times larger."""
        apply_font_scale(self.getPlotItem(), scale)
        self.label.set_scale(scale)
        self.phase_label.set_scale(scale)
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

        spot = pick_spot(candidates, inside, [], hits_points)
        place_text(self.label, view, spot)
        if self.phase_label.isVisible():  # in a corner, clear of the points and that label
            wrap_to(self.phase_label, inside.width() - 16)
            width, height = text_size(self.phase_label)
            corners = [QRectF(inside.left() + 8, inside.top() + 8, width, height),
                       QRectF(inside.right() - width - 8, inside.bottom() - height - 8,
                              width, height),
                       QRectF(inside.right() - width - 8, inside.top() + 8, width, height)]
            place_text(self.phase_label, view, pick_spot(corners, inside, [spot], hits_points))
