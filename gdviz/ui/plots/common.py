"""Helpers every plot shares: numbers made safe for pyqtgraph, ticks, titles and axis styling.

Every plot reads the RunModel and shows the epoch under its cursor, all with one convention:
epoch k is the state after k updates (epoch 0 the start), so the loss plot and the surface show
the same loss L(θ_k) for the same epoch. Non-finite values (a diverging run) are filtered out
before they reach pyqtgraph, so nothing warns or breaks; a run whose values grow by many orders
of magnitude switches the loss to a log axis and the weights to a symmetric log axis, and says so.
"""

from __future__ import annotations

import functools
import math
import re
import types

import numpy as np
import pyqtgraph as pg
from numpy.typing import ArrayLike
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextOption
from PySide6.QtWidgets import QApplication, QGraphicsItem

from gdviz.ui.style import plot_title

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
DENSE_SEGMENTS = 300  # lines with fewer points get samples along each segment for label tests
LABEL_SAMPLES = 2000  # at most this many points of a long curve are kept clear of labels
PRESENTER_SCALE = 1.6  # set_font_scale's factor in presenter mode
# Long curves keep one min/max pair per pixel column: pyqtgraph's default keeps 5, which looks
# the same but costs 5x the stroking (a 3 px antialiased 10,000-epoch curve: 15 ms, now 3 ms).
SAMPLES_PER_PIXEL = 1.0
_FONT_SIZE = re.compile(r"font-size:\s*([0-9.]+)pt")


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


def densified(xs: np.ndarray, ys: np.ndarray, per_segment: int = 12
              ) -> tuple[np.ndarray, np.ndarray]:
    """Points along a polyline: its vertices, plus `per_segment` between each two when short
    (a label test on the vertices alone would miss a long straight step)."""
    if len(xs) < 2 or len(xs) > DENSE_SEGMENTS:
        return xs, ys
    t = np.linspace(0.0, 1.0, per_segment, endpoint=False)
    dense_x = (xs[:-1, None] + (xs[1:] - xs[:-1])[:, None] * t).ravel()
    dense_y = (ys[:-1, None] + (ys[1:] - ys[:-1])[:, None] * t).ravel()
    return np.append(dense_x, xs[-1]), np.append(dense_y, ys[-1])


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
    label._gdviz_html = html  # kept, so a new font scale can write it again
    html = scaled_html(html, getattr(plot, "_gdviz_font_scale", 1.0))
    plot.setTitle(f"<div align='center'>{html}</div>")
    _fit_title(plot)


def scaled_html(html: str, scale: float) -> str:
    """`html` with every `font-size: N pt` multiplied by `scale` (the titles' sizes are in pt)."""
    if scale == 1.0:
        return html
    return _FONT_SIZE.sub(lambda m: f"font-size: {float(m.group(1)) * scale:.3g}pt", html)


def scale_axis(axis: pg.AxisItem, scale: float, base_size: float | None = None) -> None:
    """Tick and label fonts of `axis` at `scale` times `base_size` (the app's font by default).

    At scale 1 without a base size pyqtgraph's own default is restored: the old look exactly.
    """
    if scale == 1.0 and base_size is None:
        axis.setTickFont(None)
        axis.labelStyle.pop("font-size", None)
    else:
        font = QFont(QApplication.font())
        size = (base_size or font.pointSizeF()) * scale
        font.setPointSizeF(size)
        axis.setTickFont(font)
        axis.labelStyle["font-size"] = f"{size:.3g}pt"
    axis._updateLabel()  # pyqtgraph's own refresh of the label's HTML and the axis size


def apply_font_scale(plot: pg.PlotItem, scale: float) -> None:
    """Presenter mode for one plot: its axes' ticks and labels and its title, `scale` times."""
    plot._gdviz_font_scale = scale
    for side in ("left", "bottom"):
        scale_axis(plot.getAxis(side), scale)
    html = getattr(plot.titleLabel, "_gdviz_html", None)
    if html is not None:
        set_title(plot, html)


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


def style_plot(plot: pg.PlotItem, title: str, x_label: str, y_label: str) -> None:
    set_title(plot, title)
    set_axis_label(plot, "bottom", x_label)
    set_axis_label(plot, "left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    for side in ("left", "bottom"):
        axis = plot.getAxis(side)
        # Axes repaint on every frame otherwise; the cache is invalidated when the range moves.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # Room for the widest tick labels seen, never less: a range that moves at each epoch
        # ("-100" then "-50") resized the axis a frame later, and the whole plot with it.
        axis.setStyle(autoReduceTextSpace=False)


def set_data(item: pg.PlotDataItem | pg.PlotCurveItem | pg.ScatterPlotItem, xs: ArrayLike,
             ys: ArrayLike) -> None:
    """item.setData(xs, ys) unless it shows exactly that already: pyqtgraph rebuilds its points
    and bounds on every setData, and a sub-step leaves most items where they were."""
    old = item.getOriginalDataset() if isinstance(item, pg.PlotDataItem) else item.getData()
    if (old[0] is not None and old[1] is not None and np.array_equal(old[0], xs)
            and np.array_equal(old[1], ys)):
        return
    item.setData(xs, ys)


class PixelBinnedPlotItem(pg.PlotItem):
    """A PlotItem whose curves, when the plot downsamples them, keep SAMPLES_PER_PIXEL min/max
    pairs per pixel column (set on every curve added: the loss, weights, pins and race lanes)."""

    def addItem(self, item: QGraphicsItem, *args: object, **kwargs: object) -> None:
        if isinstance(item, pg.PlotDataItem):
            item.opts["autoDownsampleFactor"] = SAMPLES_PER_PIXEL
        super().addItem(item, *args, **kwargs)


def cache_static(*items: pg.GraphicsObject) -> None:
    """Paint these from a pixmap until they or the view change: they stay put while lecture
    mode moves everything else (the surface's curve and heatmap cost ~1–2 ms a paint)."""
    for item in items:
        target = item.curve if isinstance(item, pg.PlotDataItem) else item
        target.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
