"""Pinned runs drawn as ghosts: faded curves in each pin's colour, with a legend naming them.

Each plot says how a pin looks on it (`lines`: the pin's curves as x, y arrays); `PinGhosts`
keeps one PlotDataItem per curve and rebuilds them only when the pins, their labels or the
plot's transform change, never per frame: a pin's numbers are frozen.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from gdviz.core.pins import PinnedRun
from gdviz.ui.run_model import RunModel

GHOST_ALPHA = 150  # of 255: clearly there, clearly not the live run
GHOST_WIDTH = 2.5
GHOST_Z = -5  # under the live run's path and markers, over the heatmap

Lines = list[tuple[np.ndarray, np.ndarray]]


def ghost_pen(color: str) -> object:
    faded = QColor(color)
    faded.setAlpha(GHOST_ALPHA)
    return pg.mkPen(faded, width=GHOST_WIDTH)


class PinGhosts:
    """The pinned runs comparable with the current run, drawn on one plot."""

    def __init__(self, plot: pg.PlotItem, model: RunModel,
                 lines: Callable[[PinnedRun], Lines], with_legend: bool = False) -> None:
        self.plot = plot
        self.model = model
        # Weakly: the plot holds this object, and a cycle back to it would leave the plot's
        # wrapper to the garbage collector (see gdviz/ui/compare.py).
        self._lines = weakref.WeakMethod(lines)
        self._items: list[pg.PlotDataItem] = []
        self._drawn_for: object = None
        self.legend: pg.LegendItem | None = None
        if with_legend:
            self.legend = pg.LegendItem(offset=(-8, 8), labelTextSize="9pt",
                                        brush=pg.mkBrush(255, 255, 255, 200),
                                        pen=pg.mkPen("#BBBBBB"))
            self.legend.setParentItem(plot.getViewBox())
            self.legend.setVisible(False)

    def sync(self, transform_key: object = None) -> None:
        """Draw the shown pins; `transform_key` changes when the plot's axes do (log, symlog),
        so that the ghosts are redrawn on them."""
        model = self.model
        pins = model.shown_pins()
        config = model.config
        # The labels name what differs from the current config: a new config may rename them.
        key = (tuple(id(p) for p in pins), config, transform_key)
        if key == self._drawn_for:
            return
        self._drawn_for = key
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        if self.legend is not None:
            self.legend.clear()
        lines = self._lines()
        if lines is None:  # the plot is going away
            return
        for pin in pins:
            first = True
            for xs, ys in lines(pin):
                item = pg.PlotDataItem(xs, ys, pen=ghost_pen(pin.color), connect="finite")
                item.setZValue(GHOST_Z)
                self.plot.addItem(item, ignoreBounds=True)
                self._items.append(item)
                if first and self.legend is not None:
                    self.legend.addItem(item, pin.label(config))
                first = False
        if self.legend is not None:
            self.legend.setVisible(bool(pins))

    def invalidate(self) -> None:
        """Redraw at the next sync (the run or the axes changed)."""
        self._drawn_for = None

    def legend_texts(self) -> list[str]:
        """The legend's entries as shown (for tests and screen readers)."""
        if self.legend is None or not self.legend.isVisible():
            return []
        return [label.text for _sample, label in self.legend.items]

    @property
    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return tuple(self._items)
