"""Values against the epoch: the loss and the weights, with a draggable cursor line."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QCheckBox, QVBoxLayout, QWidget

from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.pins import PinnedRun
from gdviz.ui.plots.common import (
    BLOW_UP,
    DASHED,
    LABEL_SAMPLES,
    LINE,
    WHOLE_RUN_EPOCHS,
    PixelBinnedPlotItem,
    apply_font_scale,
    curve_range,
    decimated_indices,
    densified,
    finite_only,
    power_of_ten_text,
    set_axis_label,
    set_data,
    set_title,
    style_plot,
    symlog,
    without_final_nonfinite,
)
from gdviz.ui.plots.ghosts import Lines, PinGhosts, RaceLanes
from gdviz.ui.plots.labels import pick_spot, place_text, scene_points, text_item, text_size
from gdviz.ui.plots.markers import Markers
from gdviz.ui.plots.overlays import OVERLAY_Z, ArrowOverlay, ScenePoints
from gdviz.ui.plots.phase import PhaseView, phase_view, update_text
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, pen, plot_title


class SymLogAxis(pg.AxisItem):
    """A value axis that can label a symmetric-log view: ticks at 0, ±1, ±10, ±100, …"""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.symlog = False

    def set_symlog(self, on: bool) -> None:
        self.symlog = on
        self.picture = None  # pyqtgraph's cached drawing of the ticks
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list:
        if not self.symlog:
            return super().tickValues(minVal, maxVal, size)
        # symlog(10^k) is about k: the view spans about as many decades as units.
        top = math.floor(min(max(abs(minVal), abs(maxVal)), 300.0))
        per_side = max(2, int(size / 45) // 2)
        step = next((n for n in (1, 2, 3, 5, 10, 15, 20, 25, 50, 100) if n * per_side >= top),
                    150)
        values = [0.0]
        for k in range(0 if step == 1 else step, top + 1, step):
            position = float(symlog(10.0**k))
            values += [position, -position]
        return [(float(step), sorted(v for v in values if minVal <= v <= maxVal))]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.symlog:
            return super().tickStrings(values, scale, spacing)
        texts = []
        for value in values:
            if value == 0:
                texts.append("0")
                continue
            exponent = round(math.log10(10 ** min(abs(value), 300) - 1))
            texts.append(power_of_ten_text(exponent, "-" if value < 0 else ""))
        return texts


class EpochPlot(pg.PlotWidget):
    """A value against the epoch with a cursor line; dragging the line moves the cursor."""

    def __init__(self, model: RunModel, object_name: str,
                 axis_items: dict[str, pg.AxisItem] | None = None) -> None:
        super().__init__(plotItem=PixelBinnedPlotItem(enableMenu=False, axisItems=axis_items))
        self.setObjectName(object_name)
        self.model = model
        plot = self.getPlotItem()
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        self.cursor_line = pg.InfiniteLine(angle=90, movable=True, pen=pen("cursor", 2),
                                           hoverPen=pen("cursor", 4))
        self.cursor_line.sigDragged.connect(self._on_cursor_line_dragged)
        self.addItem(self.cursor_line)
        # Whole numbers: pyqtgraph then knows them finite and skips scanning a million epochs
        # for NaN on every setData (~2 ms a curve at 1M epochs).
        self._epochs = np.arange(0, 1024, dtype=np.int64)
        self.reset_view()

    def reset_view(self) -> None:
        self._seen: list[int] = []
        self.low, self.high = math.inf, -math.inf  # of every value framed so far
        self._view: tuple[float, float, float, float] | None = None

    def frame_values(self, series: Sequence[np.ndarray], extra: tuple[float, ...] = (),
                     log: bool = False, floor: float | None = None, pad: float = 0.05) -> None:
        """Show every epoch and value, moving the view only when the data outgrow it.

        pyqtgraph's auto-range would rescale on every new epoch and repaint every axis twice
        a frame; here the epoch axis grows by doubling (up to the epoch limit), the value axis
        only when a value leaves it, and only the new values are scanned. The value axis
        starts at `floor` when no value is below it (a loss axis has no negative part); `pad`
        is the margin above and below the values, as a fraction of their span.
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
                self.low = min(self.low, float(new.min()))
                self.high = max(self.high, float(new.max()))
        finite_extra = [v for v in extra if math.isfinite(v) and (v > 0 or not log)]
        low = min([self.low, *finite_extra])
        high = max([self.high, *finite_extra])
        if not math.isfinite(low):  # nothing to show yet
            low, high = (0.1, 10.0) if log else (floor or 0.0, (floor or 0.0) + 1.0)
        if log:  # whole decades, so the view changes rarely
            low, high = math.floor(math.log10(low)), math.ceil(math.log10(high))
            high = max(high, low + 1)
        elif high - low < 1e-12 * max(1.0, abs(high)):
            low, high = low - 0.5, high + 0.5
        pad *= high - low
        # At the floor a sliver below it, so the floor's tick shows but no negative one.
        y_low = (floor - 0.02 * (high - floor) if floor is not None and not log and low >= floor
                 else low - pad)
        x_max = self._epoch_span()
        view = (x_max, y_low, high + pad, 0.0)
        if view != self._view:
            self._view = view
            self.getPlotItem().disableAutoRange()
            # 5 % each side: the last epoch's marker and tick label ("10" of the notebook's
            # 10 epochs) fit inside; with 2 % the marker was cut in half and the label dropped.
            self.setRange(xRange=(-0.05 * x_max, 1.05 * x_max), yRange=(y_low, high + pad),
                          padding=0)
            self.view_framed()

    def view_framed(self) -> None:
        """Called after the view moved: labels placed in it may need to move too."""

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: axes and title `scale` times larger."""
        apply_font_scale(self.getPlotItem(), scale)

    def _epoch_span(self) -> float:
        count = self.model.epochs_recorded
        limit = self.model.config.epochs
        if count <= limit <= WHOLE_RUN_EPOCHS:
            return float(max(limit, 1))  # a short run: its whole length from the start
        x_max = 8.0
        while x_max < count:
            x_max *= 2
        if limit >= count:
            x_max = min(x_max, float(limit))
        return x_max

    def epochs(self, count: int, first: int) -> np.ndarray:
        """first, first+1, ... (count values), from a cached buffer that grows by doubling."""
        if first + count > len(self._epochs):
            self._epochs = np.arange(0, 2 * (first + count), dtype=np.int64)
        return self._epochs[first : first + count]

    def _on_cursor_line_dragged(self) -> None:
        self.model.seek(round(self.cursor_line.value()))

    def move_cursor(self) -> None:
        self.cursor_line.blockSignals(True)
        self.cursor_line.setValue(self.model.cursor)
        self.cursor_line.blockSignals(False)


class LossPlot(QWidget):
    """L(θ_k), the loss after each epoch's update, with a log-scale toggle.

    The curve is drawn from the trainer's own numbers: the record of epoch k + 1 holds the loss
    before its update, which is the loss after epoch k. The newest epoch's comes from the
    closed-form landscape and is drawn as a separate two-point tail (no copy of the column).
    """

    TITLE = "Loss vs epoch"

    def __init__(self, model: RunModel) -> None:
        super().__init__()
        self.model = model
        self.plot = EpochPlot(model, "lossPlot")
        style_plot(self.plot.getPlotItem(), self.TITLE, "epoch", "")
        self.curve = self.plot.plot(pen=pen("loss", 3))
        self.tail = self.plot.plot(pen=pen("loss", 3))
        self.marker = Markers(size=16, brush=COLORS["current"], pen=pg.mkPen("w"))
        self.plot.addItem(self.marker)
        self.log_check = QCheckBox("log scale")
        self.log_check.setObjectName("logScaleCheck")
        self.log_check.toggled.connect(self._on_log_check_toggled)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        layout.addWidget(self.log_check, alignment=Qt.AlignmentFlag.AlignRight)
        self.ghosts = PinGhosts(self.plot.getPlotItem(), model, self._pin_lines,
                                with_legend=True)
        self.lanes = RaceLanes(self.plot.getPlotItem(), model, self._lane_lines)
        self._drawn_length = -1
        self._auto_log = False  # the log scale was switched on for this run, not by the user
        self._user_chose = False  # the user toggled the scale during this run: leave it be
        self._switching = False

    def _on_log_check_toggled(self, checked: bool) -> None:
        if not self._switching:
            self._user_chose = True
            self._auto_log = False
        self.plot.getPlotItem().setLogMode(False, checked)
        self._show_title()
        self._drawn_length = -1
        self.plot.reset_view()
        self.refresh()

    def _set_log(self, on: bool, auto: bool) -> None:
        self._switching = True
        self._auto_log = auto and on
        self.log_check.setChecked(on)
        self._switching = False
        self._show_title()

    def _show_title(self) -> None:
        note = "log scale: diverges" if self._auto_log else ""
        set_title(self.plot.getPlotItem(), plot_title(self.TITLE, note=note))

    def rebuild(self) -> None:
        if self._auto_log:  # the log scale was for the last run's divergence
            self._set_log(False, auto=False)
        self._auto_log = self._user_chose = False
        self._show_title()
        names = "w, b" if self.model.config.has_bias else "w"
        set_axis_label(self.plot.getPlotItem(), "left", f"L({names}) after the update")
        self._drawn_length = -1
        self.plot.reset_view()
        for item in (self.curve, self.tail, self.marker):
            item.setData([], [])
        self.refresh()

    def _sane(self, loss: np.ndarray) -> np.ndarray:
        if self.log_check.isChecked():
            bad = ~(loss > 0)  # also catches nan; inf is the last value at most (see below)
            bad[-1:] |= ~np.isfinite(loss[-1:])
            return np.where(bad, np.nan, loss) if bad.any() else loss
        return without_final_nonfinite(loss)

    def _shown(self, value: float) -> bool:
        return math.isfinite(value) and (value > 0 or not self.log_check.isChecked())

    def _pin_lines(self, pin: PinnedRun) -> Lines:
        loss = pin.loss_after
        if self.log_check.isChecked():
            loss = np.where(loss > 0, loss, np.nan)  # the log axis has no place for 0
        return [(np.arange(len(loss), dtype=np.float64), loss)]

    def _lane_lines(self, history: History, stop: int) -> Lines:
        """A race lane's L(θ_k), k = 0..stop: its records' losses, the newest from the
        closed form (as the lead's curve)."""
        loss = history.column("loss", stop)
        params = history.params_at(stop)
        with np.errstate(all="ignore"):
            newest = float(self.model.landscape.loss(*params))
        values = np.append(loss, newest)
        if self.log_check.isChecked():
            values = np.where(values > 0, values, np.nan)
        return [(np.arange(len(values), dtype=np.float64), values)]

    def refresh(self) -> None:
        model = self.model
        history = model.history
        self.plot.move_cursor()
        log = self.log_check.isChecked()
        self.ghosts.sync(log)
        self.lanes.sync(transform_key=log)
        if history is None:
            self.plot.frame_values([], log=log, floor=None if log else 0.0)
            return
        count = len(history)
        if count != self._drawn_length:  # only new epochs cost a setData
            self._drawn_length = count
            raw = history.column("loss")
            loss = self._sane(raw)
            # Skip pyqtgraph's scan of a million values when we know they are all finite.
            self.curve.setData(self.plot.epochs(count, 0), loss, connect="finite",
                               skipFiniteCheck=loss is raw)
            newest = model.session.loss_after(count)
            tail = [float(loss[-1])] if count else []
            tail_x = [count - 1.0] if count else []
            if self._shown(newest):
                tail, tail_x = [*tail, newest], [*tail_x, float(count)]
            self.tail.setData(tail_x, tail, connect="finite")
            self.plot.frame_values([raw], extra=(newest,) if log else (newest, 0.0), log=log,
                                   floor=None if log else 0.0)
            if not log and self._blows_up(raw, newest):
                self._set_log(True, auto=True)  # redraws everything on the log axis
                return
        # While sub-stepping, at the parameters shown: L(θ_{k−1}) until the update is made.
        epoch = phase_view(model).shown
        value = model.session.loss_after(epoch)
        # set_data: the same marker again (most sub-steps) is no new paint.
        if self._shown(value):
            set_data(self.marker, [float(epoch)], [value])
        else:
            set_data(self.marker, [], [])

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: axes and title `scale` times larger (and the log-scale box)."""
        self.plot.set_font_scale(scale)
        font = QFont(QApplication.font())
        font.setPointSizeF(font.pointSizeF() * scale)
        self.log_check.setFont(font)

    def _blows_up(self, raw: np.ndarray, newest: float) -> bool:
        """The run diverges, or the loss grew far beyond its start: only a log axis shows the
        early epochs then. (A loss that falls many decades stays linear: the classic view.)"""
        if self._user_chose:
            return False
        if self.model.state == "diverged":
            return True
        start = float(raw[0]) if len(raw) else newest
        peak = max(self.plot.high, newest if math.isfinite(newest) else -math.inf)
        return math.isfinite(start) and peak > BLOW_UP * max(start, 1e-12)


class WeightsPlot(EpochPlot):
    """w (and b) against the epoch, with the optimum as dashed lines.

    A diverging run switches to a symmetric log axis (sign kept, a decade per step far out):
    the growing zig-zag is then a widening wedge, and its first epochs stay readable.
    """

    TITLE = "Weights vs epoch"

    def __init__(self, model: RunModel) -> None:
        value_axis = SymLogAxis("left")
        super().__init__(model, "weightsPlot", {"left": value_axis})
        self.value_axis = value_axis
        style_plot(self.getPlotItem(), self.TITLE, "epoch", "value")
        self.curves = {"w": self.plot(pen=pen("w", 3)), "b": self.plot(pen=pen("b", 3))}
        self.optimum_lines = {name: pg.InfiniteLine(angle=0, pen=pen(name, 2, dashed=True))
                              for name in ("w", "b")}
        self.optimum_labels = {name: text_item(name) for name in ("w", "b")}
        for name in ("w", "b"):
            self.addItem(self.optimum_lines[name])
            self.addItem(self.optimum_labels[name], ignoreBounds=True)
        # Lecture mode: the parameters shown while sub-stepping, the update as an arrow.
        self.markers = {name: Markers(size=13, brush=COLORS[name], pen=pg.mkPen("w", width=2))
                        for name in ("w", "b")}
        self.step_arrows = {name: ArrowOverlay(self, name) for name in ("w", "b")}
        for marker in self.markers.values():
            self.addItem(marker, ignoreBounds=True)
            marker.setZValue(OVERLAY_Z)
        self.getViewBox().sigRangeChanged.connect(self._layout_overlays)
        self.getViewBox().sigResized.connect(self._on_view_resized)
        self._label_spots: dict[str, QRectF] = {}  # where each label was put, in the scene
        self._labels_checked = 0  # epochs known to pass clear of the labels' spots
        self._drawn_length = -1
        self._symlog = False
        self.ghosts = PinGhosts(self.getPlotItem(), model, self._pin_lines)
        self.lanes = RaceLanes(self.getPlotItem(), model, self._lane_lines)

    def _lane_lines(self, history: History, stop: int) -> Lines:
        """A race lane's parameters against the epoch, up to `stop`, in its colour."""
        lines = []
        for name in history.param_names:
            values = history.trajectory(name, stop)
            shown = symlog(values) if self._symlog else values
            lines.append((np.arange(len(values), dtype=np.float64), np.asarray(shown)))
        return lines

    def _pin_lines(self, pin: PinnedRun) -> Lines:
        """One faded curve per parameter, in the pin's colour (the legend is the loss plot's)."""
        lines = []
        for values in pin.trajectories:
            shown = symlog(values) if self._symlog else values
            lines.append((np.arange(len(values), dtype=np.float64), np.asarray(shown)))
        return lines

    def rebuild(self) -> None:
        has_bias = self.model.config.has_bias
        for name in ("w", "b"):
            shown = name == "w" or has_bias
            self.curves[name].setVisible(shown)
            self.optimum_lines[name].setVisible(shown)
            self.optimum_labels[name].setVisible(shown)
        for name, value in zip(("w", "b"), self.model.landscape.optimum, strict=False):
            self.optimum_labels[name].setText(f"{name}* = {value:.3f}")
        for curve in self.curves.values():
            curve.setData([], [])
        self._set_symlog(False)
        self.refresh()

    def _set_symlog(self, on: bool) -> None:
        self._symlog = on
        self._label_spots = {}  # placed afresh for this run or scale
        self.value_axis.set_symlog(on)
        note = "symmetric log: diverges" if on else ""
        names = self.model.config.param_names
        legend = key(*((LINE, name, name) for name in names),
                     *((DASHED, name, f"{name}*") for name in names))
        set_title(self.getPlotItem(), plot_title(self.TITLE, legend, note))
        for name, value in zip(("w", "b"), self.model.landscape.optimum, strict=False):
            self.optimum_lines[name].setValue(float(symlog(value)) if on else value)
        self._drawn_length = -1
        self.reset_view()

    def _shown_optimum(self) -> tuple[float, ...]:
        optimum = self.model.landscape.optimum
        return tuple(float(symlog(v)) for v in optimum) if self._symlog else optimum

    def refresh(self) -> None:
        history = self.model.history
        self.move_cursor()
        self.ghosts.sync(self._symlog)
        self.lanes.sync(transform_key=self._symlog)
        self._show_phase(phase_view(self.model))
        if history is None:
            self.frame_values([], extra=self._shown_optimum(), pad=self._label_room())
            self._place_optimum_labels()
            return
        if len(history) == self._drawn_length:
            return
        self._drawn_length = len(history)
        series = []
        for name in history.param_names:
            raw = history.trajectory(name)
            values = without_final_nonfinite(raw)
            if self._symlog:
                values = symlog(values)
            series.append(values)
            self.curves[name].setData(self.epochs(len(values), 0), values, connect="finite",
                                      skipFiniteCheck=values is raw)
        self.frame_values(series, extra=self._shown_optimum(), pad=self._label_room())
        if not self._symlog and self._blows_up(history):
            self._set_symlog(True)
            self.refresh()
            return
        if not self._labels_still_clear():
            self._place_optimum_labels()

    def _show_phase(self, view: PhaseView) -> None:
        """Sub-stepping: a dot at each parameter shown; in the update phase an arrow from
        epoch k − 1 to k saying −lr × grad. Nothing of it for a whole epoch (the usual look)."""
        explanation = view.explanation
        history = self.model.history
        for name in ("w", "b"):
            marker, arrow = self.markers[name], self.step_arrows[name]
            step = view.step(name)
            if not view.sub_stepping or history is None or name not in history.param_names:
                set_data(marker, [], [])
                arrow.hide()
                continue
            value = history.params_at(view.shown)[history.param_names.index(name)]
            set_data(marker, *finite_only(np.array([float(view.shown)]),
                                        np.array([self._on_axis(value)])))
            if view.phase is Phase.UPDATE and step is not None and explanation is not None:
                both = len(explanation.steps) > 1  # two labels: short ones
                prefix = f"{name}: " if both else ""
                arrow.show((view.epoch - 1.0, self._on_axis(step.before)),
                           (float(view.epoch), self._on_axis(step.after)),
                           prefix + update_text(step, self.model.config, short=both))
            else:
                arrow.hide()
        self._layout_overlays()

    def _on_axis(self, value: float) -> float:
        return float(symlog(value)) if self._symlog else value

    def _layout_overlays(self, *_changed: object) -> None:
        arrows = [arrow for arrow in self.step_arrows.values() if arrow.shown]
        if not arrows:
            return
        taken = list(self._label_spots.values())  # clear of the w* = … labels
        drawn = self._curve_points([arrow.line for arrow in arrows])
        for arrow in arrows:
            arrow.layout(taken, drawn)

    def _curve_points(self, lines: list[pg.PlotCurveItem]) -> ScenePoints:
        """Scene points along the weight curves (at most LABEL_SAMPLES of a long run) and
        `lines`: the arrows' labels keep clear of them."""
        history = self.model.history
        curves = ([history.trajectory(name) for name in history.param_names]
                  if history is not None else [])
        xs, ys = [], []
        for values in curves:
            epochs = decimated_indices(len(values), LABEL_SAMPLES)
            xs.append(epochs.astype(float))
            ys.append(symlog(values[epochs]) if self._symlog else values[epochs].astype(float))
        for line in lines:
            x, y = line.getData()
            if x is not None and y is not None:
                xs.append(np.asarray(x, dtype=float))
                ys.append(np.asarray(y, dtype=float))
        dense = [densified(x, y) for x, y in zip(xs, ys, strict=True)]  # the lines: never empty
        sx, sy = scene_points(self.getViewBox(), np.concatenate([x for x, _ in dense]),
                              np.concatenate([y for _, y in dense]))
        keep = np.isfinite(sx) & np.isfinite(sy)
        return sx[keep], sy[keep]

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: axes, title and every label `scale` times larger."""
        super().set_font_scale(scale)
        for label in self.optimum_labels.values():
            label.set_scale(scale)
        for arrow in self.step_arrows.values():
            arrow.set_scale(scale)
        self._on_view_resized()  # the labels' room and places change with their size

    def _label_room(self) -> float:
        """The margin above and below the values (a fraction of their span) that a w* = …
        label needs beside a line at the edge of the data."""
        height = self.getViewBox().height()
        share = min(0.3, (text_size(self.optimum_labels["w"])[1] + 8) / height) if height > 50 \
            else 0.16
        return share / (1 - 2 * share)

    def _blows_up(self, history: History) -> bool:
        scale = max(1.0, *(abs(v) for v in history.initial_params),
                    *(abs(v) for v in self.model.landscape.optimum))
        return max(abs(self.low), abs(self.high)) > BLOW_UP * scale

    def view_framed(self) -> None:
        self._place_optimum_labels()

    def _on_view_resized(self) -> None:
        self._drawn_length = -1  # the labels' room changed with the height: frame again
        self._label_spots = {}
        self.refresh()

    def _labels_still_clear(self) -> bool:
        """Whether the epochs added since the labels were placed keep clear of them: a million
        -epoch run is then not scanned again every frame."""
        history = self.model.history
        if history is None or not self._label_spots:
            return False
        first = max(0, self._labels_checked - 1)
        if any(self._hits_curves(rect, first) for rect in self._label_spots.values()):
            return False
        self._labels_checked = len(history)
        return True

    def _place_optimum_labels(self) -> None:
        """Each w* = … label beside its dashed line, where no curve is."""
        history = self.model.history
        self._labels_checked = 0 if history is None else len(history)
        view = self.getViewBox()
        inside = view.sceneBoundingRect()
        if inside.width() < 10 or inside.height() < 10:
            return  # not laid out yet; placed again once resized
        taken: list[QRectF] = []
        for name, value in zip(self.model.config.param_names, self._shown_optimum(),
                               strict=False):
            label = self.optimum_labels[name]
            size = text_size(label)
            line_y = view.mapViewToScene(QPointF(0, value)).y()
            candidates = []
            for fraction in (0.0, 0.5, 1.0, 0.25, 0.75):  # left edge … right edge
                left = inside.left() + 4 + fraction * (inside.width() - size[0] - 8)
                candidates += [QRectF(left, line_y - 2 - size[1], *size),
                               QRectF(left, line_y + 2, *size)]
            last = self._label_spots.get(name)
            if last is not None and (abs(last.bottom() + 2 - line_y) < 0.5
                                     or abs(last.top() - 2 - line_y) < 0.5):
                candidates.insert(0, last)  # it stays put while it is still clear
            rect = pick_spot(candidates, inside, taken, self._hits_curves)
            place_text(label, view, rect)
            self._label_spots[name] = rect
            taken.append(rect)
        self._layout_overlays()

    def _hits_curves(self, rect: QRectF, first: int = 0) -> bool:
        """Whether a curve passes through the scene rectangle `rect` (from epoch `first` on)."""
        history = self.model.history
        if history is None:
            return False
        area = self.getViewBox().mapSceneToView(rect).boundingRect()  # top() is the lower y
        for name in history.param_names:
            found = curve_range(history.trajectory(name)[first:], area.left() - first,
                                area.right() - first)
            if found is None:
                continue
            low, high = found
            if self._symlog:
                low, high = float(symlog(low)), float(symlog(high))
            if high >= area.top() and low <= area.bottom():
                return True
        return False
