"""Text on the plots that stays clear of what it annotates, and the line of a fit in view."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont

from gdviz.ui.style import COLORS


class Label(pg.TextItem):
    """A text item that remembers its normal size, so presenter mode can scale it."""

    def __init__(self, color: str, size: float, backed: bool = False) -> None:
        # `backed`: on a light box, for labels that may have to sit over a curve or heatmap.
        super().__init__(color=COLORS.get(color, color),
                         fill=pg.mkBrush(255, 255, 255, 215) if backed else None)
        self.base_size = size
        self.set_scale(1.0)

    def set_scale(self, scale: float) -> None:
        font = QFont("DejaVu Sans")
        font.setPointSizeF(self.base_size * scale)
        self.setFont(font)


def text_item(color: str, size: int = 13, backed: bool = False) -> Label:
    return Label(color, size, backed)


def text_size(item: pg.TextItem) -> tuple[float, float]:
    """The text's size in pixels (a TextItem ignores the view's scaling)."""
    rect = item.textItem.boundingRect()
    return rect.width(), rect.height()


def wrap_to(item: pg.TextItem, width: float) -> None:
    """Let `item` wrap at spaces when its one line is wider than `width` pixels (a long label
    in presenter mode, a small plot), and unwrap it again when there is room."""
    # The same text, font and room as last time: the wrap chosen then holds (a text width
    # survives a new text), and each layout costs ~0.1 ms.
    key = (item.textItem.toPlainText(), item.textItem.font().pointSizeF(), round(width))
    if getattr(item, "_wrapped_for", None) == key:
        return
    item.setTextWidth(-1)
    if text_size(item)[0] > width > 40:
        item.setTextWidth(width)
    item._wrapped_for = key


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

    # Each place, then the same shifted into the view (for a point near the view's edge); the
    # shifted ones are made only as far as needed (the first places are mostly free).
    tried = []
    for rect in candidates:
        for spot in (rect, _shifted_into(rect, inside)):
            if (inside.contains(spot) and not any(spot.intersects(o) for o in obstacles)
                    and not (hits and hits(spot))):
                return spot
            tried.append(spot)
    return min(tried, key=cost)


def pick_spot_among(candidates: Sequence[QRectF], inside: QRectF, obstacles: Sequence[QRectF],
                    points: tuple[np.ndarray, np.ndarray], margin: float = 4.0) -> QRectF:
    """pick_spot for labels that must stay clear of many scene points (a curve's samples):
    the same choice, with every candidate tested against every point at once (a per-rect
    test cost a sub-step ~3 ms on the loss surface), and the candidates shifted into the view
    in numpy too (per QRectF it was ~0.4 ms a label)."""
    given = np.array([(r.left(), r.top(), r.width(), r.height()) for r in candidates])
    widths, heights = given[:, 2], given[:, 3]
    # Each place, then the same shifted into the view: rows r0, s0, r1, s1, … as pick_spot.
    shifted = given.copy()
    shifted[:, 0] = np.minimum(np.maximum(given[:, 0], inside.left() + 1),
                               inside.right() - widths - 1)
    shifted[:, 1] = np.minimum(np.maximum(given[:, 1], inside.top() + 1),
                               inside.bottom() - heights - 1)
    rects = np.empty((2 * len(given), 4))
    rects[0::2], rects[1::2] = given, shifted
    left, top = rects[:, 0], rects[:, 1]
    right, bottom = left + rects[:, 2], top + rects[:, 3]
    xs, ys = points
    hit = (((xs[None, :] > (left - margin)[:, None]) & (xs[None, :] < (right + margin)[:, None])
            & (ys[None, :] > (top - margin)[:, None]) & (ys[None, :] < (bottom + margin)[:, None]))
           .any(axis=1) if len(xs) else np.zeros(len(rects), dtype=bool))

    def overlap(o: QRectF) -> np.ndarray:
        w = np.clip(np.minimum(right, o.right()) - np.maximum(left, o.left()), 0.0, None)
        h = np.clip(np.minimum(bottom, o.bottom()) - np.maximum(top, o.top()), 0.0, None)
        return w * h

    area = (right - left) * (bottom - top)
    covered = sum((overlap(o) for o in obstacles), np.zeros(len(rects)))
    outside = area - overlap(inside)
    clean = (outside <= 0.0) & (covered <= 0.0) & ~hit
    best = int(np.argmax(clean)) if clean.any() else int(
        np.argmin(covered + 1e6 * outside + area * hit))
    return QRectF(*(float(v) for v in rects[best]))


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


THIN_PIXELS = 0.5  # a thinned path keeps a point every this many pixels of its length
THIN_FROM = 64  # shorter paths are drawn as they are


def thinned_for_screen(view: pg.ViewBox, xs: np.ndarray, ys: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
    """A path as the view draws it: a point is kept each time the path has gone another
    THIN_PIXELS on the screen (and the last point), so the drawn line is never further than
    that from the path. A converging path piles thousands of points into its
    last pixels, and a thick antialiased pen costs per point (a 10,000-epoch race frame:
    ~7 ms on the surface)."""
    if len(xs) < THIN_FROM or view.width() < 1 or view.height() < 1:
        return xs, ys
    sx, sy = scene_points(view, np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    if not (np.isfinite(sx).all() and np.isfinite(sy).all()):
        return xs, ys  # finite_only ran before: only a degenerate transform lands here
    keep = _far_apart(sx, sy, THIN_PIXELS)
    return xs[keep], ys[keep]


def _far_apart(sx: np.ndarray, sy: np.ndarray, gap: float) -> np.ndarray:
    """Indices of the points kept: the first, each point where the path's length so far
    passes another multiple of `gap`, and the last. Every point left out lies within `gap` of
    the point kept before it (the path between them is shorter than that), so the drawn line
    is never further than `gap` from the path; and it is all numpy, one pass."""
    length = np.concatenate(([0.0], np.cumsum(np.hypot(np.diff(sx), np.diff(sy)))))
    stretch = np.floor(length / gap)
    keep = np.empty(len(sx), dtype=bool)
    keep[0] = keep[-1] = True
    keep[1:-1] = stretch[1:-1] != stretch[:-2]
    return np.flatnonzero(keep)


def scene_points(view: pg.ViewBox, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, ...]:
    """View coordinates to scene pixels, for many points at once."""
    view.updateMatrix()  # the range may have changed since the last paint
    t = view.childGroup.sceneTransform()
    return (t.m11() * xs + t.m21() * ys + t.dx(), t.m12() * xs + t.m22() * ys + t.dy())
