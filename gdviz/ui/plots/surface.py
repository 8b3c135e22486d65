"""The loss surface: L(w) with the visited points, or a heatmap of L(w, b) with contours."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem

from gdviz.core.config import ConfigError
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.pins import PinnedRun
from gdviz.core.race import lane_specs, lead_label
from gdviz.ui.formatting import number
from gdviz.ui.plots.common import (
    BLOW_UP,
    CONTOUR_LEVELS,
    LINE,
    RECENT_DOTS,
    SURFACE_GRID,
    SURFACE_SHRINK,
    apply_font_scale,
    cache_static,
    decade_ticks,
    decimated_indices,
    densified,
    finite_only,
    padded_range,
    power_of_ten_text,
    scale_axis,
    set_data,
    set_title,
    style_plot,
)
from gdviz.ui.plots.ghosts import Lines, PinGhosts, RaceLanes
from gdviz.ui.plots.labels import scene_points, thinned_for_screen
from gdviz.ui.plots.markers import Markers
from gdviz.ui.plots.overlays import ArrowOverlay, PointLabel, ScenePoints, TangentOverlay
from gdviz.ui.plots.phase import PhaseView, phase_view, update_text, update_vector_text
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, pen, plot_title

COLOR_BAR_FONT = 9
CURVE_SAMPLES = 400  # of L(w) across what is drawn
FRAME_PADDING = 0.04  # the 1-D view's margin around what it frames
REGRID_MS = 80  # the surface is drawn anew this long after the user's zoom or pan settles
REGRID_MARGIN = 0.25  # drawn beyond the view on each side, so a short pan needs no new grid
TANGENT_COLOR = "#0072B2"
TRAINER_SLOPE_COLOR = "#CC79A7"
GRADIENT_COLOR = "#CC79A7"
STEP_COLOR = "#D55E00"



class StartPickingViewBox(pg.ViewBox):
    """A view box that reports a plain left click (not a drag, which pans) in data
    coordinates: where the user wants the next run to start."""

    # A signal, not a callback attribute: a Python reference from this item back to the plot
    # made a cycle that the garbage collector broke in an order that crashed Qt.
    left_clicked = Signal(float, float)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)

    def mouseClickEvent(self, ev: Any) -> None:  # pyqtgraph's handler name
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            point = self.mapSceneToView(ev.scenePos())
            self.left_clicked.emit(point.x(), point.y())
            return
        super().mouseClickEvent(ev)


class SurfacePlot(pg.PlotWidget):
    """L(w) with the visited points (w-only), or a heatmap of L(w, b) with contours (nn).

    A left click sets the start there (w0, and b0 on the heatmap) and starts a fresh run.
    """

    def __init__(self, model: RunModel) -> None:
        picker = StartPickingViewBox()
        super().__init__(enableMenu=False, viewBox=picker)
        picker.left_clicked.connect(self._on_view_left_clicked)
        self.setObjectName("surfacePlot")
        self.model = model
        # w0, w1, b0, b1 framed (the path, start and optimum); the surface itself is drawn
        # for `_drawn`, which follows the user's zoom and pan.
        self._extent: tuple[float, float, float, float] | None = None
        self._drawn: tuple[float, float, float, float] | None = None
        self._regrid_timer = QTimer(self, singleShot=True, interval=REGRID_MS)
        self._regrid_timer.timeout.connect(self._on_regrid_timer_timeout)
        self._path_key: object = None  # what refresh() last drew the path for
        self._thinned_for: tuple[float, float] | None = None  # the pixel size paths were thinned at
        self._title = ("", "")
        self._zoom_note = ""
        colormap = pg.colormap.get("viridis")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(colormap)
        self.image.setZValue(-20)
        # The heatmap's key: its colours are log10 of the loss above the minimum.
        self.color_bar = pg.ColorBarItem(values=(0, 1), width=10, colorMap=colormap,
                                         interactive=False, colorMapMenu=False)
        small = QFont("DejaVu Sans", COLOR_BAR_FONT)
        self.color_bar.axis.setStyle(tickFont=small, tickTextOffset=3)
        self.color_bar.axis.setLabel("L − L_min (log scale)",
                                     **{"font-size": f"{COLOR_BAR_FONT}pt"})
        self.color_bar.axis.setWidth(None)  # room for the label beside the ticks
        self.contours: list[pg.IsocurveItem] = []
        self.curve = pg.PlotDataItem(pen=pen("surface", 3))
        cache_static(self.image, self.curve)
        # The path is a plain line; dots only on the latest points (thousands of symbols are
        # slow in pyqtgraph, and the recent steps are the ones a lecture talks about).
        self.path = pg.PlotDataItem(pen=pen("path", 2.5))
        self.recent = Markers(size=8, brush=COLORS["path"])
        self.optimum = Markers(symbol="star", size=26, brush=COLORS["optimum"],
                               pen=pg.mkPen("w", width=1.5))
        self.start = Markers(symbol="s", size=14, brush=COLORS["start"])
        self.current = Markers(symbol="o", size=22, brush=COLORS["current"],
                               pen=pg.mkPen("w", width=2.5))
        for item in (self.image, self.curve, self.path, self.recent, self.optimum, self.start,
                     self.current):
            self.addItem(item)
        self.current.setZValue(10)
        # Lecture mode: made once and hidden; a phase change only moves and shows them.
        self.loss_label = PointLabel(self, "text", 13)
        self.tangent = TangentOverlay(self, TANGENT_COLOR, TRAINER_SLOPE_COLOR)
        self.gradient_arrow = ArrowOverlay(self, GRADIENT_COLOR, dashed=True)
        self.step_arrow = ArrowOverlay(self, STEP_COLOR)
        self._overlays = (self.loss_label, self.tangent, self.gradient_arrow, self.step_arrow)
        view = self.getViewBox()
        view.sigRangeChanged.connect(self._layout_overlays)
        view.sigResized.connect(self._layout_overlays)
        view.sigRangeChanged.connect(self._on_view_range_changed)
        # Pins and race lanes are named in the title's key: a legend on this small plot hid
        # the start, the paths and the curve.
        self.ghosts = PinGhosts(self.getPlotItem(), model, self._pin_lines)
        self._pins_named: object = None
        # The race's lanes are named in the title's key (rebuild), not in a legend on the plot.
        self.lanes = RaceLanes(self.getPlotItem(), model, self._lane_lines)

    def _lane_lines(self, history: History, stop: int) -> Lines:
        """A race lane's path up to epoch `stop`, like the lead's."""
        w, b = self._path(history, stop)
        if not self.model.landscape.with_bias:
            with np.errstate(all="ignore"):
                w, b = finite_only(w, self.model.landscape.curve(w))
        return [self._thinned(w, b)]

    def _name_pins(self) -> None:
        """The shown pins in the title's key, in their colours (faded lines)."""
        pins = self.model.shown_pins()
        named = (tuple(id(p) for p in pins), self.model.config, self._title)
        if named == self._pins_named:
            return
        self._pins_named = named
        self._show_title()

    def _show_title(self) -> None:
        title, legend = self._title
        config = self.model.config
        pins = [("╌", pin.color, pin.label(config)) for pin in self.model.shown_pins()]
        if pins:
            legend += "<br>pinned: " + key(*pins)
        set_title(self.getPlotItem(), plot_title(title, legend, self._zoom_note))

    def _pin_lines(self, pin: PinnedRun) -> Lines:
        """A pinned run's path: along L(w) for the w-only cells, in (w, b) on the heatmap."""
        indices = decimated_indices(pin.epochs + 1)
        w = pin.trajectory("w")[indices]
        if self.model.landscape.with_bias:
            xs, ys = finite_only(w, pin.trajectory("b")[indices])
        else:
            with np.errstate(all="ignore"):
                xs, ys = finite_only(w, self.model.landscape.curve(w))
        return [self._thinned(xs, ys)]

    def _thinned(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A path thinned for the view as it is now; a zoom in draws it anew (_rethin)."""
        view = self.getViewBox()
        view.updateMatrix()  # a new framing may not have reached the view's transform yet
        size = view.viewPixelSize()
        # The coarsest pixels any path (lead, lane or ghost) was thinned at since the last
        # rethin: a view with finer pixels than those shows the thinning.
        then = self._thinned_for
        self._thinned_for = size if then is None else (max(then[0], size[0]),
                                                        max(then[1], size[1]))
        return thinned_for_screen(view, xs, ys)

    def _rethin(self) -> None:
        """The view zoomed in past the pixels the paths were thinned at: thin them again, so
        that a zoom never shows the thinning."""
        then = self._thinned_for
        if then is None:
            return
        now = self.getViewBox().viewPixelSize()
        if all(a >= 0.95 * b for a, b in zip(now, then, strict=True)):
            return  # as coarse as then or coarser: the drawn paths are as close as promised
        self._thinned_for = None
        self._path_key = None
        self.lanes.invalidate()
        self.ghosts.invalidate()
        self.refresh()

    @Slot(float, float)
    def _on_view_left_clicked(self, x: float, y: float) -> None:
        """Start the next run at the clicked point, rounded to what the view can resolve."""
        (x0, x1), (y0, y1) = self.getViewBox().viewRange()
        config = self.model.config
        changes = {"w0": _readable(x, x1 - x0)}
        if config.has_bias:
            changes["b0"] = _readable(y, y1 - y0)
        if not all(math.isfinite(v) for v in changes.values()):
            return
        where = ", ".join(f"{name} = {value:g}" for name, value in changes.items())
        try:
            new = config.replace(**changes)
        except ConfigError as error:
            self.model.message.emit(f"Start not moved: {error.ui_text}")
            return
        self.model.set_config(new, f"start moved to {where} (clicked on the surface)")

    def rebuild(self) -> None:
        """A new run: new data, maybe another model; the surface is recomputed lazily."""
        self._path_key = None
        config = self.model.config
        plot = self.getPlotItem()
        self._extent = self._drawn = None
        self.image.setVisible(False)  # until the surface is drawn for this run
        self.curve.setVisible(not config.has_bias)
        self._remove_contours()
        self._show_color_bar(config.has_bias)
        path = "path"
        lanes = lane_specs(config)
        if lanes:  # a race: the lead's path and each lane's, named in the key
            path = lead_label(config).replace(" (this run)", "")
        markers = ((LINE, "path", path),
                   *((LINE, lane.color, lane.label) for lane in lanes),
                   ("●", "current", "now"), ("■", "start", "start"), ("★", "optimum", "min"))
        if config.has_bias:
            self._title = ("Loss surface L(w, b)", key(*markers))
            style_plot(plot, plot_title(*self._title), "w (weight)", "b (bias)")
        else:
            self._title = ("Loss surface L(w)", key((LINE, "surface", "L(w)"), *markers))
            style_plot(plot, plot_title(*self._title), "w", "loss")
        self._zoom_note = ""
        self.curve.setData([], [])
        self._clear_path()
        self.refresh()

    def _show_color_bar(self, shown: bool) -> None:
        layout = self.getPlotItem().layout
        in_layout = self.color_bar.parentItem() is not None
        if shown and not in_layout:
            layout.addItem(self.color_bar, 2, 5)
        elif not shown and in_layout:
            layout.removeItem(self.color_bar)
            self.color_bar.setParentItem(None)
            self.scene().removeItem(self.color_bar)
        self.color_bar.setVisible(False)  # shown with the surface it explains

    def _clear_path(self) -> None:
        for item in (self.path, self.recent, self.current, self.start):
            item.setData([], [])

    def _remove_contours(self) -> None:
        for iso in self.contours:
            iso.setParentItem(None)
            self.removeItem(iso)
        self.contours = []

    def _start_params(self) -> tuple[float, float] | None:
        """The start (w, b): the run's, or the configured one before the run is ready; None
        while a seeded start is still unknown."""
        history = self.model.history
        if history is not None:
            start = history.initial_params
            return start[0], start[1] if len(start) > 1 else 0.0
        config = self.model.config
        if config.w0 is None or (config.has_bias and config.b0 is None):
            return None  # drawn from the seed by the trainer
        b0 = config.b0 if config.has_bias and config.b0 is not None else 0.0
        return config.w0, b0

    def refresh(self) -> None:
        model = self.model
        self.ghosts.sync()
        self._name_pins()
        self.lanes.sync(self.path)
        landscape = model.landscape
        optimum_b = landscape.optimum[1] if landscape.with_bias else 0.0
        start = self._start_params()
        if start is None:
            return  # nothing sensible to frame: the start is chosen by the seed when ready
        history = model.history
        phase = phase_view(model)
        # Sub-steps between the phases of an epoch keep the path where it is: only the
        # overlays change (the path and its framing cost ~1 ms a frame).
        path_key = (id(history), -1 if history is None else len(history), model.cursor,
                    phase.shown, start)
        if path_key == self._path_key:
            self._show_phase(phase)
            return
        self._path_key = path_key
        if history is None:
            path_w, path_b = np.array([start[0]]), np.array([start[1]])
        else:
            path_w, path_b = self._path(history, model.cursor)
        # The view holds the start, the optimum and the path up to the cursor: a diverging
        # path keeps its last zig-zags in view at every epoch, on axes that say how far out.
        # (Up to the cursor also while sub-stepping: a phase change never moves the view.)
        points_w = np.append(path_w, (landscape.optimum[0], start[0]))
        points_b = np.append(path_b, (optimum_b, start[1]))
        if model.race_track is not None:  # a race: every lane's path in view too, but a
            # diverged lane's would zoom the surface out until the others are dots
            track = model.race_track
            for index, lane_history in enumerate(track.histories):
                if track.diverged_at(index) is not None:
                    continue
                lane_w, lane_b = self._path(lane_history, min(model.cursor, len(lane_history)))
                points_w, points_b = np.append(points_w, lane_w), np.append(points_b, lane_b)
        if history is not None and phase.shown != model.cursor:  # before the update: θ_{k−1}
            path_w, path_b = self._path(history, phase.shown)
        extent = self._extent
        if landscape.with_bias:
            self._refresh_2d(points_w, points_b, path_w, path_b)
        else:
            self._refresh_1d(points_w, path_w, phase.shown)
        if self._extent != extent:
            self._note_zoom(start)
        self._show_phase(phase)

    def _path(self, history: History, last: int) -> tuple[np.ndarray, np.ndarray]:
        """The visited (w, b) of epochs 0..last, decimated, finite."""
        indices = decimated_indices(last + 1)
        path_w = self._visited(history, "w", indices)
        path_b = (self._visited(history, "b", indices) if self.model.landscape.with_bias
                  else np.zeros_like(path_w))
        path_w, path_b = finite_only(path_w, path_b)
        return path_w, path_b

    def _note_zoom(self, start: tuple[float, float]) -> None:
        """Say so when the view has zoomed far out to follow a diverging path."""
        assert self._extent is not None
        optimum = self.model.landscape.optimum
        base = padded_range(np.array([start[0], optimum[0]]))
        zoom = (self._extent[1] - self._extent[0]) / (base[1] - base[0])
        note = f"zoomed out {power_of_ten_text(round(math.log10(zoom)))}×" if zoom > BLOW_UP else ""
        if note != self._zoom_note:
            self._zoom_note = note
            self._show_title()

    @staticmethod
    def _visited(history: History, name: str, indices: np.ndarray) -> np.ndarray:
        """Parameter values at epochs `indices` (0 = start), without copying the column."""
        values = np.empty(len(indices))
        trained = indices > 0
        values[trained] = history.column(name)[indices[trained] - 1]
        values[~trained] = history.initial_params[history.param_names.index(name)]
        return values

    def _needs_frame(self, needed: tuple[float, ...]) -> bool:
        """Reframe when the path leaves the view, or needs far less of it than it has."""
        extent = self._extent
        if extent is None:
            return True
        for axis in range(len(needed) // 2):
            low, high = needed[2 * axis], needed[2 * axis + 1]
            e_low, e_high = extent[2 * axis], extent[2 * axis + 1]
            if low < e_low or high > e_high:
                return True
            if (high - low) * SURFACE_SHRINK < e_high - e_low:
                return True
        return False

    def _show_path(self, xs: np.ndarray, ys: np.ndarray) -> None:
        if self.model.history is None:  # before the run is ready: only where it will start
            self._clear_path()
            self.start.setData(xs[:1], ys[:1])
            return
        set_data(self.path, *self._thinned(xs, ys))
        set_data(self.recent, xs[-RECENT_DOTS:], ys[-RECENT_DOTS:])
        if len(xs):
            set_data(self.start, xs[:1], ys[:1])
            set_data(self.current, xs[-1:], ys[-1:])

    def _refresh_1d(self, points_w: np.ndarray, path_w: np.ndarray, shown: int) -> None:
        landscape = self.model.landscape
        w_low, w_high = padded_range(points_w)
        if self._needs_frame((w_low, w_high)):
            self._extent = (w_low, w_high, 0.0, 0.0)
            self._draw_curve(w_low, w_high)
            top = float(np.max(landscape.curve(np.array([w_low, w_high]))))
            self.setRange(xRange=(w_low, w_high), yRange=(min(0.0, landscape.min_loss), top),
                          padding=FRAME_PADDING)
        with np.errstate(all="ignore"):
            path_loss = landscape.curve(path_w)
        path_w, path_loss = finite_only(path_w, path_loss)
        self._show_path(path_w, path_loss)
        if self.model.history is not None:
            # The current point at the loss the loss plot shows for this epoch.
            current = self.model.session.loss_after(shown)
            finite = math.isfinite(current)
            set_data(self.current, path_w[-1:] if finite else [], [current] if finite else [])
        set_data(self.optimum, [landscape.optimum[0]], [landscape.min_loss])

    def _refresh_2d(self, points_w: np.ndarray, points_b: np.ndarray, path_w: np.ndarray,
                    path_b: np.ndarray) -> None:
        w_low, w_high = padded_range(points_w)
        b_low, b_high = padded_range(points_b)
        if self._needs_frame((w_low, w_high, b_low, b_high)):
            self._extent = (w_low, w_high, b_low, b_high)
            self._draw_surface(w_low, w_high, b_low, b_high)
            self.setRange(xRange=(w_low, w_high), yRange=(b_low, b_high), padding=0)
        self._show_path(path_w, path_b)
        optimum = self.model.landscape.optimum
        set_data(self.optimum, [optimum[0]], [optimum[1]])

    def _draw_curve(self, w_low: float, w_high: float) -> None:
        # Drawn a little beyond the frame: the view's padding would otherwise leave its ends
        # bare, and a new grid be drawn after every framing.
        margin = FRAME_PADDING * (w_high - w_low)
        w_low, w_high = w_low - margin, w_high + margin
        self._drawn = (w_low, w_high, 0.0, 0.0)
        grid = np.linspace(w_low, w_high, CURVE_SAMPLES)
        with np.errstate(all="ignore"):
            self.curve.setData(grid, self.model.landscape.curve(grid))
        # Its cached pixmap is made anew: a changed curve was once drawn from the old pixmap,
        # placed at the new bounds (half the parabola and a stray arc on screen).
        self.curve.curve.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        self.curve.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def _on_view_range_changed(self, *_changed: object) -> None:
        if self._drawn is not None:
            self._regrid_timer.start()  # once the zoom or pan settles

    def _on_regrid_timer_timeout(self) -> None:
        """Draw the surface anew for what the view shows when the user zoomed or panned past
        what is drawn: it is exact at any zoom (a grid from the sufficient statistics costs a
        few ms), never a blurred enlargement or an empty margin."""
        self._rethin()
        drawn = self._drawn
        if drawn is None:
            return
        (x0, x1), (y0, y1) = self.getViewBox().viewRange()
        spans = [(x0, x1, drawn[0], drawn[1])]
        if self.model.landscape.with_bias:
            spans.append((y0, y1, drawn[2], drawn[3]))
        if all(_covers(low, high, d_low, d_high) for low, high, d_low, d_high in spans):
            return
        margin_x, margin_y = REGRID_MARGIN * (x1 - x0), REGRID_MARGIN * (y1 - y0)
        if self.model.landscape.with_bias:
            self._draw_surface(x0 - margin_x, x1 + margin_x, y0 - margin_y, y1 + margin_y)
        else:
            self._draw_curve(x0 - margin_x, x1 + margin_x)

    def _draw_surface(self, w_low: float, w_high: float, b_low: float, b_high: float) -> None:
        self._drawn = (w_low, w_high, b_low, b_high)
        landscape = self.model.landscape
        w_grid = np.linspace(w_low, w_high, SURFACE_GRID)
        b_grid = np.linspace(b_low, b_high, SURFACE_GRID)
        with np.errstate(all="ignore"):
            excess = landscape.grid(w_grid, b_grid) - landscape.min_loss
        excess = np.nan_to_num(excess, nan=0.0, posinf=np.finfo(np.float64).max)
        floor = max(float(excess.max()) * 1e-6, 1e-300)
        log_excess = np.log10(np.maximum(excess, 0.0) + floor)
        levels = (float(log_excess.min()), float(log_excess.max()))
        self.image.setImage(log_excess, levels=levels, autoLevels=False)
        self.image.setRect(w_low, b_low, w_high - w_low, b_high - b_low)
        self.image.setVisible(True)
        self.color_bar.setVisible(True)
        self._label_color_bar(levels)
        self._remove_contours()
        for level in np.linspace(levels[0], levels[1], CONTOUR_LEVELS + 2)[1:-1]:
            iso = pg.IsocurveItem(data=log_excess.T, level=float(level),
                                  pen=pg.mkPen((255, 255, 255, 130), width=1.2))
            iso.setParentItem(self.image)
            cache_static(iso)
            self.contours.append(iso)

    def _label_color_bar(self, levels: tuple[float, float]) -> None:
        """The bar spans the image's levels (log10 of L − L_min); its ticks say the loss."""
        self.color_bar.setLevels(levels)
        ticks = [(float(k), power_of_ten_text(k)) for k in decade_ticks(*levels, room=6)]
        self.color_bar.axis.setTicks([ticks])

    # --- lecture mode ----------------------------------------------------------------------------

    def _show_phase(self, view: PhaseView) -> None:
        """The overlays of the phase shown; all hidden for a whole epoch (the usual look)."""
        explanation = view.explanation
        shown: set[object] = set()
        if view.sub_stepping and explanation is not None and explanation.loss is not None:
            before = explanation.params_before
            at = (before[0], before[1] if len(before) > 1 else explanation.loss)
            if view.phase is Phase.LOSS:
                self.loss_label.show(at, f"L = {number(explanation.loss)}")
                shown.add(self.loss_label)
            elif view.phase is Phase.BACKWARD:
                shown.add(self._show_gradient(view, at))
            elif view.phase is Phase.UPDATE:
                self._show_step(view, at)
                shown.add(self.step_arrow)
        for overlay in self._overlays:
            if overlay not in shown:
                overlay.hide()
        self._layout_overlays()

    def _show_gradient(self, view: PhaseView, at: tuple[float, float]) -> object:
        """1-D: the tangent with the true slope dL/dw (and the trainer's, if it differs).
        2-D: an arrow along −grad, lr × grad long: exactly the step the update will take."""
        explanation = view.explanation
        assert explanation is not None
        steps = explanation.steps
        if self.model.landscape.with_bias:
            lr = steps[0].lr
            end = (at[0] - lr * steps[0].grad, at[1] - lr * steps[1].grad)
            grads = ", ".join(number(s.grad) for s in steps)
            # Without zero_grad, .grad holds earlier epochs' gradients too: it is not ∇L.
            name = ".grad (kept + this epoch)" if self.model.config.forget_zero_grad else "∇L"
            # One line: wrapped, the label covered the arrow and the point it starts from.
            self.gradient_arrow.show(at, end, f"−lr × {name.split(' ')[0]}: {name} = ({grads})")
            return self.gradient_arrow
        step = steps[0]
        scale = explanation.gradient_scale
        carried = self.model.config.forget_zero_grad
        # The recorded grad is scale × dL/dw, plus earlier epochs' when zero_grad is left out:
        # the true slope is then the fresh gradient, the sum of this epoch's contributions.
        fresh = float(np.sum(step.contributions)) if carried else step.grad
        slope = fresh / scale
        lines = [f"dL/dw = {number(slope)}"]
        used: float | None = None
        if scale != 1.0:
            lines.append(f"the update uses {scale:g} × dL/dw = {number(step.grad)}")
            used = step.grad
        elif carried:
            lines.append(f"the update uses {number(step.grad)} (no zero_grad)")
            used = step.grad
        self.tangent.show(at, slope, used, "\n".join(lines))
        return self.tangent

    def _show_step(self, view: PhaseView, at: tuple[float, float]) -> None:
        """From θ_{k−1} to θ_k: along w at the old loss (1-D), in (w, b) on the heatmap."""
        explanation = view.explanation
        assert explanation is not None
        after = explanation.params_after
        steps = explanation.steps
        if self.model.landscape.with_bias:
            end = (after[0], after[1])
            text = update_vector_text(steps, self.model.config)
        else:
            end = (after[0], at[1])
            text = update_text(steps[0], self.model.config)
        self.step_arrow.show(at, end, text)

    def _layout_overlays(self, *_changed: object) -> None:
        if not any(overlay.shown for overlay in self._overlays):
            return
        taken: list[QRectF] = []
        drawn = self._drawn_points()
        for overlay in self._overlays:
            overlay.layout(taken, drawn)

    def _drawn_points(self) -> ScenePoints:
        """Scene points along the curve, the path, the markers and the overlays' lines: the
        labels keep clear of them, so they sit beside what they name, not on it."""
        lines = [self.curve, self.path, self.tangent.line, self.tangent.used,
                 self.step_arrow.line, self.gradient_arrow.line]
        xs, ys = [], []
        for item in lines:
            if not item.isVisible():
                continue
            x, y = item.getData()
            if x is not None and y is not None and len(x):
                x, y = densified(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
                xs.append(x)
                ys.append(y)
        for marker in (self.current, self.start, self.optimum):
            x, y = marker.getData()
            xs.append(np.asarray(x, dtype=float))
            ys.append(np.asarray(y, dtype=float))
        sx, sy = scene_points(self.getViewBox(), np.concatenate(xs), np.concatenate(ys))
        keep = np.isfinite(sx) & np.isfinite(sy)
        return sx[keep], sy[keep]

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: axes, title, colour bar and overlay texts `scale` times larger."""
        apply_font_scale(self.getPlotItem(), scale)
        scale_axis(self.color_bar.axis, scale, base_size=COLOR_BAR_FONT)
        for overlay in self._overlays:
            overlay.set_scale(scale)
        self._layout_overlays()


def _covers(low: float, high: float, drawn_low: float, drawn_high: float) -> bool:
    """The drawn span holds the viewed one, at no less than half the view's resolution."""
    return (drawn_low <= low and high <= drawn_high
            and (drawn_high - drawn_low) <= 2.0 * (1.0 + 2 * REGRID_MARGIN) * (high - low))


def _readable(value: float, span: float) -> float:
    """`value` to about a hundredth of the view's span (a few pixels): a click means "about
    here", and w0 = 1.23 reads better in the settings and the status bar than 1.2347826."""
    if not (math.isfinite(span) and span > 0):
        return value
    decimals = max(0, 2 - math.floor(math.log10(span)))
    return round(value, decimals) + 0.0  # + 0.0: never −0.0
