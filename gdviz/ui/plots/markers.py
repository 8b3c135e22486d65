"""A few symbols at data points (the current point, the start, the optimum), drawn by Qt alone.

pyqtgraph's ScatterPlotItem works out its bounds and paints in Python at every repaint of any
part of its plot: with ten of them in the window that was 1-3 ms of every lecture-mode frame
and of every GIF frame. A marker here is one QGraphicsPathItem per point that ignores the
view's scaling (its symbol keeps its size in pixels) and is only moved when its point moves.
For many points (the data) pyqtgraph's ScatterPlotItem stays the better choice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from numpy.typing import ArrayLike
from pyqtgraph.graphicsItems.ScatterPlotItem import Symbols
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget


class Markers(pg.GraphicsObject):
    """`symbol` (a pyqtgraph symbol name) of `size` px at each (x, y) of setData."""

    def __init__(self, symbol: str = "o", size: float = 10.0, brush: Any = None,
                 pen: Any = None) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self._symbol = QTransform.fromScale(size, size).map(Symbols[symbol])
        self._pen = QPen(Qt.PenStyle.NoPen) if pen is None else pg.mkPen(pen)
        self._brush = pg.mkBrush(brush)
        self._size = size
        self._xs = self._ys = np.empty(0)
        self._log = (False, False)  # the plot's log axes: points placed at log10 there
        self._dots: list[QGraphicsPathItem] = []

    # --- the ScatterPlotItem calls gdviz uses ----------------------------------------------------

    # camelCase: the names pyqtgraph's items and ViewBox use.
    def setData(self, xs: ArrayLike = (), ys: ArrayLike = ()) -> None:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        count = min(len(xs), len(ys))  # a point needs both (as pyqtgraph draws it)
        xs, ys = xs[:count], ys[:count]
        self._xs, self._ys = xs, ys
        xs, ys = self._placed()
        while len(self._dots) < len(xs):
            dot = QGraphicsPathItem(self._symbol, self)
            dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            dot.setPen(self._pen)
            dot.setBrush(self._brush)
            self._dots.append(dot)
        finite = (np.isfinite(xs) & np.isfinite(ys)).tolist()
        for index, (dot, x, y) in enumerate(zip(self._dots, xs.tolist(), ys.tolist(),
                                                strict=False)):
            if finite[index]:
                dot.setPos(x, y)
            if dot.isVisible() != finite[index]:
                dot.setVisible(finite[index])
        for dot in self._dots[len(xs):]:
            if dot.isVisible():
                dot.setVisible(False)
        self.informViewBoundsChanged()  # as ScatterPlotItem: the view may frame them anew

    def getData(self) -> tuple[np.ndarray, np.ndarray]:
        return self._xs, self._ys

    def setLogMode(self, x: bool, y: bool) -> None:
        """PlotItem.setLogMode calls this: the points move to log10 of their values (a point
        at a value <= 0 is not drawn), as the plot's curves do."""
        if (x, y) != self._log:
            self._log = (bool(x), bool(y))
            self.setData(self._xs, self._ys)
            self.informViewBoundsChanged()

    def _placed(self) -> tuple[np.ndarray, np.ndarray]:
        """Where the points go in the view: their values, or log10 of them on a log axis."""
        with np.errstate(divide="ignore", invalid="ignore"):
            xs = np.log10(np.where(self._xs > 0, self._xs, np.nan)) if self._log[0] else self._xs
            ys = np.log10(np.where(self._ys > 0, self._ys, np.nan)) if self._log[1] else self._ys
        return xs, ys

    def dataBounds(self, ax: int, frac: float = 1.0,
                   orthoRange: object = None) -> tuple[float | None, float | None]:
        """What the ViewBox asks when it frames its items (`frac`, `orthoRange`: unused)."""
        values = self._placed()[ax]
        values = values[np.isfinite(values)]
        if not len(values):
            return None, None
        return float(values.min()), float(values.max())

    def pixelPadding(self) -> float:
        return self._size / 2 + self._pen.widthF()

    # --- a container draws nothing itself --------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return QRectF()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        pass
