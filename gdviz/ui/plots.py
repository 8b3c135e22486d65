"""The four live plots. Each builds its items once per run and then only moves data into them.

Every plot reads the RunModel and shows the epoch under its cursor, all with one convention:
epoch k is the state after k updates (epoch 0 the start), so the loss plot and the surface show
the same loss L(θ_k) for the same epoch. Non-finite values (a diverging run) are filtered out
before they reach pyqtgraph, so nothing warns or breaks; a run whose values grow by many orders
of magnitude switches the loss to a log axis and the weights to a symmetric log axis, and says so.
"""

from __future__ import annotations

import functools
import math
import types
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QTextOption
from PySide6.QtWidgets import QCheckBox, QGraphicsItem, QVBoxLayout, QWidget

from gdviz.core.history import History
from gdviz.core.trainers import data_arrays
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, pen, plot_title

MAX_PATH_POINTS = 4000  # the surface plot draws at most this many visited points
RECENT_DOTS = 50
WHOLE_RUN_EPOCHS = 5000  # epoch axes of runs up to this long span the whole run at once
SURFACE_GRID = 160
TITLE_MARGIN = 50  # about a value axis's width: titles wrap within the plot, not over it
CONTOUR_LEVELS = 9
BLOW_UP = 1e3  # values this many times their start (or scale) switch to a log axis
SURFACE_SHRINK = 8  # the surface zooms back in once the path needs 1/8 of its view
LABEL_GAP = 6  # pixels between a label and the point it names
LINE, DASHED = "━━", "╍╍"  # legend glyphs


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


def symlog(values: np.ndarray | float) -> np.ndarray:
    """sign(v)·log10(1 + |v|): linear near 0, a decade per unit far out, sign kept."""
    with np.errstate(all="ignore"):
        return np.sign(values) * np.log10(1.0 + np.abs(values))


def power_of_ten_text(exponent: int, sign: str = "") -> str:
    """10^k written as students read it: 0.01, 1, 1000, then 1e4, 1e-5."""
    if -2 <= exponent <= 3:
        return sign + f"{10.0 ** exponent:g}"
    return f"{sign}1e{exponent}"


def decade_ticks(low: float, high: float, room: int) -> list[int]:
    """Whole decades within low..high, every n-th so that at most `room` of them show."""
    first, last = math.ceil(low), math.floor(high)
    if last < first:
        return []
    step = max(1, math.ceil((last - first + 1) / max(room, 1)))
    start = math.ceil(first / step) * step
    return list(range(start, last + 1, step))


def curve_range(values: np.ndarray, x0: float, x1: float) -> tuple[float, float] | None:
    """The lowest and highest finite value the line through (i, values[i]) takes for
    x0 <= x <= x1: over the samples inside and the line's values at both ends (a piecewise-
    linear curve is extreme there). None if there is none.

    A label may span a hundred thousand epochs of a long run: min and max of a view, without
    copying it, keep placing labels cheap (a filtered copy cost ~3 ms per look at 1M epochs).
    """
    last = len(values) - 1
    x0, x1 = max(x0, 0.0), min(x1, float(last))
    if last < 0 or x1 < x0:
        return None
    inside = values[math.ceil(x0) : math.floor(x1) + 1]
    ends = []
    for x in (x0, x1):
        i = math.floor(x)
        t = x - i
        with np.errstate(all="ignore"):
            ends.append(float(values[i] * (1 - t) + values[min(i + 1, last)] * t))
    low = min([float(inside.min())] if len(inside) else [], default=math.inf)
    high = max([float(inside.max())] if len(inside) else [], default=-math.inf)
    if not (math.isfinite(low) and math.isfinite(high)):  # only a diverged run's last value
        kept = inside[np.isfinite(inside)]
        low = float(kept.min()) if len(kept) else math.inf
        high = float(kept.max()) if len(kept) else -math.inf
    finite_ends = [v for v in ends if math.isfinite(v)]
    low, high = min([low, *finite_ends]), max([high, *finite_ends])
    return (low, high) if low <= high else None


def set_title(plot: pg.PlotItem, title: str) -> None:
    """A title of one or more centred lines (HTML) that wrap to the plot's width.

    pyqtgraph fixes the title row at 30 px and makes the plot at least as wide as the title:
    a second line would cover the plot, and a long one push the axes and the colour bar out of
    a small widget. Here the title wraps instead, and its row is as high as its lines.
    """
    label = plot.titleLabel
    if not getattr(label, "_gdviz_flexible", False):
        label._gdviz_flexible = True
        label.updateMin = types.MethodType(_title_update_min, label)
        option = label.item.document().defaultTextOption()
        option.setWrapMode(QTextOption.WrapMode.WordWrap)  # never inside a word
        label.item.document().setDefaultTextOption(option)
        plot.vb.sigResized.connect(functools.partial(_fit_title, plot))
    html = title if title.startswith("<") else plot_title(title)
    plot.setTitle(f"<div align='center'>{html}</div>")
    _fit_title(plot)


def _fit_title(plot: pg.PlotItem, *_resized: object) -> None:
    label = plot.titleLabel
    # The whole plot's width, not the view box's: the view box narrows when the axis needs
    # room for long tick labels (1e38), and a title that re-wrapped with it changed the view's
    # height, hence the ticks, hence the width again: an endless relayout (found by the
    # stateful test with y = -3.4e38). The plot's own width depends on its widget only.
    width = plot.width() - TITLE_MARGIN
    label.item.setTextWidth(width if width > 60 else -1)
    label.resizeEvent(None)  # centre the re-wrapped text again
    height = math.ceil(label.itemRect().height())
    if height != label.maximumHeight():
        label.setMaximumHeight(height)
        plot.layout.setRowFixedHeight(0, height)


def _title_update_min(label: pg.LabelItem) -> None:
    """LabelItem.updateMin without the minimum width (see set_title)."""
    height = label.itemRect().height()
    label.setMinimumWidth(0)
    label.setMinimumHeight(height)
    label._sizeHint = {Qt.SizeHint.MinimumSize: (0, height),
                       Qt.SizeHint.PreferredSize: (0, height),
                       Qt.SizeHint.MaximumSize: (-1, -1), Qt.SizeHint.MinimumDescent: (0, 0)}
    label.updateGeometry()


def set_axis_label(plot: pg.PlotItem, side: str, text: str) -> None:
    plot.setLabel(side, text)
    # Never rescale tick values ("(x0.001)" confuses students). pyqtgraph 0.14's
    # enableAutoSIPrefix(False) hides the prefix but keeps scaling the ticks: wrong numbers.
    # setLabel resets these ranges, so they are set after every label.
    plot.getAxis(side).setSIPrefixEnableRanges(())


def _style_plot(plot: pg.PlotItem, title: str, x_label: str, y_label: str) -> None:
    set_title(plot, title)
    set_axis_label(plot, "bottom", x_label)
    set_axis_label(plot, "left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    for side in ("left", "bottom"):
        # Axes repaint on every frame otherwise; the cache is invalidated when the range moves.
        plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


# --- labels that stay clear of what they annotate ------------------------------------------------

def text_item(color: str, size: int = 13) -> pg.TextItem:
    item = pg.TextItem(color=COLORS.get(color, color))
    item.setFont(QFont("DejaVu Sans", size))
    return item


def text_size(item: pg.TextItem) -> tuple[float, float]:
    """The text's size in pixels (a TextItem ignores the view's scaling)."""
    rect = item.textItem.boundingRect()
    return rect.width(), rect.height()


def place_text(item: pg.TextItem, view: pg.ViewBox, rect: QRectF) -> None:
    """Put `item` so that its text fills the scene rectangle `rect`."""
    anchor_scene = rect.center()
    item.setPos(view.mapSceneToView(anchor_scene))
    item.setAnchor((0.5, 0.5))


def pick_spot(candidates: Sequence[QRectF], inside: QRectF, obstacles: Sequence[QRectF],
              hits: Callable[[QRectF], bool] | None = None) -> QRectF:
    """The first candidate inside `inside` that touches no obstacle (nor `hits`), else the one
    overlapping least."""
    def cost(rect: QRectF) -> float:  # a clipped label is worse than one over a point
        covered = sum(_area(rect.intersected(o)) for o in obstacles if rect.intersects(o))
        outside = _area(rect) - _area(rect.intersected(inside))
        return covered + 1e6 * outside + (_area(rect) if hits and hits(rect) else 0.0)

    # Each place, then the same shifted into the view (for a point near the view's edge).
    candidates = [spot for rect in candidates for spot in (rect, _shifted_into(rect, inside))]
    for rect in candidates:
        if (inside.contains(rect) and not any(rect.intersects(o) for o in obstacles)
                and not (hits and hits(rect))):
            return rect
    return min(candidates, key=cost)


def _shifted_into(rect: QRectF, inside: QRectF) -> QRectF:
    left = min(max(rect.left(), inside.left() + 1), inside.right() - rect.width() - 1)
    top = min(max(rect.top(), inside.top() + 1), inside.bottom() - rect.height() - 1)
    return QRectF(left, top, rect.width(), rect.height())


def _area(rect: QRectF) -> float:
    return max(rect.width(), 0.0) * max(rect.height(), 0.0)


def rects_around(point: QPointF, size: tuple[float, float], gap: float) -> list[QRectF]:
    """Places for a w×h text near `point`: above-left first, then the other sides."""
    w, h = size
    x, y = point.x(), point.y()
    spots = []
    for far in (gap, 2.5 * gap, 5 * gap):
        spots += [(x - far - w, y - far - h), (x - far - w, y + far), (x + far, y - far - h),
                  (x + far, y + far), (x - far - w, y - h / 2), (x - w / 2, y - far - h),
                  (x - w / 2, y + far), (x + far, y - h / 2)]
    return [QRectF(left, top, w, h) for left, top in spots]


def line_in_view(w: float, b: float, x_span: tuple[float, float],
                 y_span: tuple[float, float]) -> tuple[list[float], list[float]] | None:
    """The part of y = w·x + b inside the view, or None if it misses the view."""
    (x0, x1), (y0, y1) = x_span, y_span
    if not (math.isfinite(w) and math.isfinite(b)):
        return None
    if w != 0:
        with np.errstate(all="ignore"):
            xa, xb = sorted(((y0 - b) / w, (y1 - b) / w))
        x0, x1 = max(x0, xa), min(x1, xb)
    elif not y0 <= b <= y1:
        return None
    if not x0 < x1:
        return None
    return [x0, x1], [w * x0 + b, w * x1 + b]


def scene_points(view: pg.ViewBox, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """View coordinates to scene pixels, for many points at once."""
    view.updateMatrix()  # the range may have changed since the last paint
    t = view.childGroup.sceneTransform()
    return (t.m11() * xs + t.m21() * ys + t.dx(), t.m12() * xs + t.m22() * ys + t.dy())


# --- the loss surface ----------------------------------------------------------------------------

class SurfacePlot(pg.PlotWidget):
    """L(w) with the visited points (w-only), or a heatmap of L(w, b) with contours (nn)."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName("surfacePlot")
        self.model = model
        self._extent: tuple[float, float, float, float] | None = None  # w0, w1, b0, b1 drawn
        self._title = ("", "")
        self._zoom_note = ""
        colormap = pg.colormap.get("viridis")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(colormap)
        self.image.setZValue(-20)
        # The heatmap's key: its colours are log10 of the loss above the minimum.
        self.color_bar = pg.ColorBarItem(values=(0, 1), width=10, colorMap=colormap,
                                         interactive=False, colorMapMenu=False)
        small = QFont("DejaVu Sans", 9)
        self.color_bar.axis.setStyle(tickFont=small, tickTextOffset=3)
        self.color_bar.axis.setLabel("L − L_min (log scale)", **{"font-size": "9pt"})
        self.color_bar.axis.setWidth(None)  # room for the label beside the ticks
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

    def rebuild(self) -> None:
        """A new run: new data, maybe another model; the surface is recomputed lazily."""
        config = self.model.config
        plot = self.getPlotItem()
        self._extent = None
        self.image.setVisible(False)  # until the surface is drawn for this run
        self.curve.setVisible(not config.has_bias)
        self._remove_contours()
        self._show_color_bar(config.has_bias)
        markers = ((LINE, "path", "path"), ("●", "current", "now"), ("■", "start", "start"),
                   ("★", "optimum", "min"))
        if config.has_bias:
            self._title = ("Loss surface L(w, b)", key(*markers))
            _style_plot(plot, plot_title(*self._title), "w (weight)", "b (bias)")
        else:
            self._title = ("Loss surface L(w)", key((LINE, "surface", "L(w)"), *markers))
            _style_plot(plot, plot_title(*self._title), "w", "loss")
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
        landscape = model.landscape
        optimum_b = landscape.optimum[1] if landscape.with_bias else 0.0
        start = self._start_params()
        if start is None:
            return  # nothing sensible to frame: the start is chosen by the seed when ready
        history = model.history
        if history is None:
            path_w, path_b = np.array([start[0]]), np.array([start[1]])
        else:
            indices = decimated_indices(model.cursor + 1)
            path_w = self._visited(history, "w", indices)
            path_b = (self._visited(history, "b", indices) if landscape.with_bias
                      else np.zeros_like(path_w))
            path_w, path_b = finite_only(path_w, path_b)
        # The view holds the start, the optimum and the path up to the cursor: a diverging
        # path keeps its last zig-zags in view at every epoch, on axes that say how far out.
        points_w = np.append(path_w, (landscape.optimum[0], start[0]))
        points_b = np.append(path_b, (optimum_b, start[1]))
        extent = self._extent
        if landscape.with_bias:
            self._refresh_2d(points_w, points_b, path_w, path_b)
        else:
            self._refresh_1d(points_w, path_w)
        if self._extent != extent:
            self._note_zoom(start)

    def _note_zoom(self, start: tuple[float, float]) -> None:
        """Say so when the view has zoomed far out to follow a diverging path."""
        assert self._extent is not None
        optimum = self.model.landscape.optimum
        base = padded_range(np.array([start[0], optimum[0]]))
        zoom = (self._extent[1] - self._extent[0]) / (base[1] - base[0])
        note = f"zoomed out {power_of_ten_text(round(math.log10(zoom)))}×" if zoom > BLOW_UP else ""
        if note != self._zoom_note:
            self._zoom_note = note
            set_title(self.getPlotItem(), plot_title(*self._title, note))

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
        self.path.setData(xs, ys)
        self.recent.setData(xs[-RECENT_DOTS:], ys[-RECENT_DOTS:])
        if len(xs):
            self.start.setData(xs[:1], ys[:1])
            self.current.setData(xs[-1:], ys[-1:])

    def _refresh_1d(self, points_w: np.ndarray, path_w: np.ndarray) -> None:
        landscape = self.model.landscape
        w_low, w_high = padded_range(points_w)
        if self._needs_frame((w_low, w_high)):
            self._extent = (w_low, w_high, 0.0, 0.0)
            grid = np.linspace(w_low, w_high, 400)
            self.curve.setData(grid, landscape.curve(grid))
            top = float(np.max(landscape.curve(np.array([w_low, w_high]))))
            self.setRange(xRange=(w_low, w_high), yRange=(min(0.0, landscape.min_loss), top),
                          padding=0.04)
        with np.errstate(all="ignore"):
            path_loss = landscape.curve(path_w)
        path_w, path_loss = finite_only(path_w, path_loss)
        self._show_path(path_w, path_loss)
        if self.model.history is not None:
            # The current point at the loss the loss plot shows for this epoch.
            current = self.model.session.loss_after(self.model.cursor)
            self.current.setData(path_w[-1:], [current] if math.isfinite(current) else [])
        self.optimum.setData([landscape.optimum[0]], [landscape.min_loss])

    def _refresh_2d(self, points_w: np.ndarray, points_b: np.ndarray, path_w: np.ndarray,
                    path_b: np.ndarray) -> None:
        w_low, w_high = padded_range(points_w)
        b_low, b_high = padded_range(points_b)
        if self._needs_frame((w_low, w_high, b_low, b_high)):
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
            self.contours.append(iso)

    def _label_color_bar(self, levels: tuple[float, float]) -> None:
        """The bar spans the image's levels (log10 of L − L_min); its ticks say the loss."""
        self.color_bar.setLevels(levels)
        ticks = [(float(k), power_of_ten_text(k)) for k in decade_ticks(*levels, room=6)]
        self.color_bar.axis.setTicks([ticks])


# --- value against epoch -------------------------------------------------------------------------

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
        super().__init__(enableMenu=False, axisItems=axis_items)
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
            self.setRange(xRange=(-0.02 * x_max, 1.02 * x_max), yRange=(y_low, high + pad),
                          padding=0)
            self.view_framed()

    def view_framed(self) -> None:
        """Called after the view moved: labels placed in it may need to move too."""

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
        _style_plot(self.plot.getPlotItem(), self.TITLE, "epoch", "")
        self.curve = self.plot.plot(pen=pen("loss", 3))
        self.tail = self.plot.plot(pen=pen("loss", 3))
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

    def refresh(self) -> None:
        model = self.model
        history = model.history
        self.plot.move_cursor()
        log = self.log_check.isChecked()
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
        value = model.session.loss_after(model.cursor)
        if self._shown(value):
            self.marker.setData([model.cursor], [value])
        else:
            self.marker.setData([], [])

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
        _style_plot(self.getPlotItem(), self.TITLE, "epoch", "value")
        self.curves = {"w": self.plot(pen=pen("w", 3)), "b": self.plot(pen=pen("b", 3))}
        self.optimum_lines = {name: pg.InfiniteLine(angle=0, pen=pen(name, 2, dashed=True))
                              for name in ("w", "b")}
        self.optimum_labels = {name: text_item(name) for name in ("w", "b")}
        for name in ("w", "b"):
            self.addItem(self.optimum_lines[name])
            self.addItem(self.optimum_labels[name], ignoreBounds=True)
        self.getViewBox().sigResized.connect(self._on_view_resized)
        self._label_spots: dict[str, QRectF] = {}  # where each label was put, in the scene
        self._labels_checked = 0  # epochs known to pass clear of the labels' spots
        self._drawn_length = -1
        self._symlog = False

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


class FitPlot(pg.PlotWidget):
    """The data, the model's line at the cursor's epoch, and the prediction at x_test."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName("fitPlot")
        self.model = model
        legend = key(("●", "data", "data"), (LINE, "fit", "f(x)"),
                     (DASHED, "optimum", "best fit"))
        _style_plot(self.getPlotItem(), plot_title("Data and fit", legend), "x", "y")
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
