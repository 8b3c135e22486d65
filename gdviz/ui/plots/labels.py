"""Text on the plots that stays clear of what it annotates, and the line of a fit in view."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont

from gdviz.ui.style import COLORS


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
