"""Lecture mode's overlays: arrows and labelled lines made once, then only moved or hidden.

A phase change must redraw within a frame, so nothing here is created or removed per step:
each overlay owns its pyqtgraph items from the start and `show`/`hide`s them. Their lines are
bare PlotCurveItems: a PlotDataItem's setData of two points cost ~0.4 ms in a plot that
downsamples and clips its curves.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF

from gdviz.ui.plots.common import LABEL_GAP, set_data
from gdviz.ui.plots.labels import (
    Label,
    pick_spot,
    pick_spot_among,
    place_text,
    rects_around,
    text_item,
    text_size,
    wrap_to,
)
from gdviz.ui.style import COLORS, pen

OVERLAY_Z = 20  # above the path and the current point
Hits = Callable[[QRectF], bool]  # whether a scene rectangle covers something drawn
ScenePoints = tuple[np.ndarray, np.ndarray]  # x and y in scene pixels


class ArrowOverlay:
    """A line from `start` to `end` in view coordinates, a head at `end`, a label beside it.

    The head is drawn in pixels (pyqtgraph's ArrowItem), so its angle follows the line on the
    screen: `layout` recomputes it and moves the label whenever the view changes.
    """

    def __init__(self, plot: pg.PlotWidget, color: str, width: float = 3.0,
                 dashed: bool = False, label_size: int = 12) -> None:
        self.view = plot.getViewBox()
        self.line = pg.PlotCurveItem(pen=pen(color, width, dashed=dashed))
        self.head = pg.ArrowItem(headLen=18, tipAngle=32, tailLen=None, pen=None,
                                 brush=COLORS.get(color, color))
        self.label = text_item(color, label_size, backed=True)
        for item in (self.line, self.head, self.label):
            plot.addItem(item, ignoreBounds=True)
            item.setZValue(OVERLAY_Z)
            item.setVisible(False)
        self.start = self.end = (0.0, 0.0)

    @property
    def shown(self) -> bool:
        return bool(self.line.isVisible())

    def show(self, start: tuple[float, float], end: tuple[float, float], text: str) -> None:
        if not all(math.isfinite(v) for v in (*start, *end)):
            self.hide()
            return
        self.start, self.end = start, end
        set_data(self.line, [start[0], end[0]], [start[1], end[1]])
        self.head.setPos(*end)
        self.label.setText(text)
        for item in (self.line, self.head, self.label):
            item.setVisible(True)

    def hide(self) -> None:
        for item in (self.line, self.head, self.label):
            item.setVisible(False)

    def layout(self, taken: list[QRectF], hits: Hits | ScenePoints | None = None) -> None:
        """Point the head along the line as drawn now; put the label clear of `taken` (and add
        its place to it) and of what `hits`."""
        if not self.shown:
            return
        a = self.view.mapViewToScene(QPointF(*self.start))
        b = self.view.mapViewToScene(QPointF(*self.end))
        dx, dy = b.x() - a.x(), b.y() - a.y()
        # A step too small to see has no direction on the screen: no head then.
        self.head.setVisible(math.hypot(dx, dy) >= 2.0)
        # ArrowItem's angle 0 points left; scene y grows downwards, as atan2's does here.
        self.head.setStyle(angle=math.degrees(math.atan2(dy, dx)) + 180.0)
        middle = QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)
        taken.append(place_beside(self.label, self.view, middle, taken, hits=hits))

    def set_scale(self, scale: float) -> None:
        self.label.set_scale(scale)
        self.head.setStyle(headLen=18 * scale)


def place_beside(label: Label, view: pg.ViewBox, point: QPointF, taken: list[QRectF],
                 gap: float = LABEL_GAP + 8, hits: Hits | ScenePoints | None = None) -> QRectF:
    """Put `label` near the scene point `point`, inside the view, clear of `taken` and of what
    `hits` says is drawn (a test, or scene points to keep clear of)."""
    inside = view.sceneBoundingRect()
    wrap_to(label, inside.width() - 12)
    size = text_size(label)
    # Beside the point first; a wide label finds no room there on a busy plot: then a corner.
    corners = [QRectF(left, top, *size)
               for top in (inside.top() + 6, inside.bottom() - size[1] - 6)
               for left in (inside.right() - size[0] - 6, inside.left() + 6)]
    candidates = rects_around(point, size, gap) + corners
    if isinstance(hits, tuple):
        rect = pick_spot_among(candidates, inside, taken, hits)
    else:
        rect = pick_spot(candidates, inside, taken, hits)
    place_text(label, view, rect)
    return rect


class TangentOverlay:
    """A line through a point with a given slope (the gradient), a dashed one for the slope
    the update uses when that differs, and a label."""

    def __init__(self, plot: pg.PlotWidget, color: str, used_color: str) -> None:
        self.view = plot.getViewBox()
        self.line = pg.PlotCurveItem(pen=pen(color, 3))
        self.used = pg.PlotCurveItem(pen=pen(used_color, 2.5, dashed=True))
        self.label = text_item(color, 12, backed=True)
        for item in (self.line, self.used, self.label):
            plot.addItem(item, ignoreBounds=True)
            item.setZValue(OVERLAY_Z)
            item.setVisible(False)
        self.point = (0.0, 0.0)
        self.slopes: tuple[float, float | None] = (0.0, None)

    @property
    def shown(self) -> bool:
        return bool(self.line.isVisible())

    def show(self, point: tuple[float, float], slope: float, used_slope: float | None,
             text: str) -> None:
        """`used_slope`: the trainer's slope when it is not the true one (None otherwise)."""
        values = (*point, slope) + ((used_slope,) if used_slope is not None else ())
        if not all(math.isfinite(v) for v in values):
            self.hide()
            return
        self.point, self.slopes = point, (slope, used_slope)
        self.label.setText(text)
        for item in (self.line, self.label):
            item.setVisible(True)
        self.used.setVisible(used_slope is not None)
        self._draw()

    def hide(self) -> None:
        for item in (self.line, self.used, self.label):
            item.setVisible(False)

    def _draw(self) -> None:
        """Segments sized to the view: about a third of its width, less when steep, so the
        line stays a readable tangent rather than a wall."""
        (x0, x1), (y0, y1) = self.view.viewRange()
        w, loss = self.point
        for item, slope in ((self.line, self.slopes[0]), (self.used, self.slopes[1])):
            if slope is None:
                continue
            half = 0.18 * (x1 - x0)
            if slope != 0:
                half = min(half, 0.4 * (y1 - y0) / abs(slope))
            set_data(item, [w - half, w + half], [loss - slope * half, loss + slope * half])

    def layout(self, taken: list[QRectF], hits: Hits | ScenePoints | None = None) -> None:
        if not self.shown:
            return
        self._draw()
        point = self.view.mapViewToScene(QPointF(*self.point))
        taken.append(place_beside(self.label, self.view, point, taken, LABEL_GAP + 14, hits))

    def set_scale(self, scale: float) -> None:
        self.label.set_scale(scale)


class PointLabel:
    """A label beside a point of the view (the loss value at the current point)."""

    def __init__(self, plot: pg.PlotWidget, color: str, size: int = 13) -> None:
        self.view = plot.getViewBox()
        self.label = text_item(color, size, backed=True)
        plot.addItem(self.label, ignoreBounds=True)
        self.label.setZValue(OVERLAY_Z)
        self.label.setVisible(False)
        self.point = (0.0, 0.0)

    @property
    def shown(self) -> bool:
        return bool(self.label.isVisible())

    def show(self, point: tuple[float, float], text: str) -> None:
        if not all(math.isfinite(v) for v in point):
            self.hide()
            return
        self.point = point
        self.label.setText(text)
        self.label.setVisible(True)

    def hide(self) -> None:
        self.label.setVisible(False)

    def layout(self, taken: list[QRectF], hits: Hits | ScenePoints | None = None) -> None:
        if self.shown:
            point = self.view.mapViewToScene(QPointF(*self.point))
            taken.append(place_beside(self.label, self.view, point, taken, LABEL_GAP + 12,
                                      hits))

    def set_scale(self, scale: float) -> None:
        self.label.set_scale(scale)
