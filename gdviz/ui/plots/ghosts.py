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

from gdviz.core.history import History
from gdviz.core.pins import PinnedRun
from gdviz.core.race import RaceTrack, lead_label
from gdviz.ui.run_model import RunModel

GHOST_ALPHA = 150  # of 255: clearly there, clearly not the live run
GHOST_WIDTH = 1.5  # thin: 24 antialiased curves of 100,000 points cost a frame otherwise
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
        """What names the pins drawn: the legend's entries, or (a plot that names them in its
        title) their labels (for tests and screen readers)."""
        if self.legend is None:
            return [p.label(self.model.config) for p in self.model.shown_pins()] \
                if self._items else []
        if not self.legend.isVisible():
            return []
        return [label.text for _sample, label in self.legend.items]

    @property
    def items(self) -> tuple[pg.PlotDataItem, ...]:
        return tuple(self._items)


LANE_WIDTH = 1.5  # 2.5 px antialiased lanes cost a race frame ~23 ms more
LANE_Z = 5  # over the heatmap and the ghosts, under the current-point marker

# A lane's curves on a plot, from its history up to an epoch.
LaneLines = Callable[[History, int], Lines]


class RaceLanes:
    """The race's other lanes, drawn live in full colour up to the cursor, with a legend that
    names every lane, the lead (this run) first."""

    def __init__(self, plot: pg.PlotItem, model: RunModel, lines: LaneLines,
                 with_legend: bool = False) -> None:
        self.plot = plot
        self.model = model
        self._lines = weakref.WeakMethod(lines)  # weakly, as PinGhosts
        self._track: object = None
        self._transform: object = None
        self._items: list[list[pg.PlotDataItem]] = []
        self._drawn: object = None
        self.legend: pg.LegendItem | None = None
        if with_legend:
            # Bottom left: the start (top left on the nn heatmap) and the pins' legend (top
            # right) stay clear; the user may drag it elsewhere.
            self.legend = pg.LegendItem(offset=(8, -8), labelTextSize="9pt",
                                        brush=pg.mkBrush(255, 255, 255, 170),
                                        pen=pg.mkPen("#BBBBBB"))
            self.legend.setParentItem(plot.getViewBox())
            self.legend.setVisible(False)

    def sync(self, lead_sample: pg.PlotDataItem | None = None,
             transform_key: object = None) -> None:
        """Follow the race: new items for a new race, new data when the cursor moves."""
        track = self.model.race_track
        lines = self._lines()
        if lines is None:
            return
        if track is not self._track or transform_key != self._transform:
            self._track = track
            self._transform = transform_key
            self._drawn = None
            self._make_items(track, lead_sample)
        if track is None:
            return
        cursor = self.model.cursor
        key = (cursor, tuple(len(h) for h in track.histories))
        if key == self._drawn:
            return
        self._drawn = key
        for items, history in zip(self._items, track.histories, strict=True):
            for item, (xs, ys) in zip(items, lines(history, min(cursor, len(history))),
                                      strict=True):
                item.setData(xs, ys, connect="finite")

    def _make_items(self, track: RaceTrack | None, lead_sample: pg.PlotDataItem | None) -> None:
        for items in self._items:
            for item in items:
                self.plot.removeItem(item)
        self._items = []
        if self.legend is not None:
            self.legend.clear()
            self.legend.setVisible(track is not None)
        lines = self._lines()
        if track is None or lines is None:
            return
        if self.legend is not None and lead_sample is not None:
            self.legend.addItem(lead_sample, lead_label(self.model.config))
        for lane, history in zip(track.lanes, track.histories, strict=True):
            count = len(lines(history, 0))
            items = []
            for _ in range(count):
                item = pg.PlotDataItem(pen=pg.mkPen(lane.color, width=LANE_WIDTH))
                item.setZValue(LANE_Z)
                self.plot.addItem(item, ignoreBounds=True)
                items.append(item)
            self._items.append(items)
            if self.legend is not None and items:
                self.legend.addItem(items[0], lane.label)

    def invalidate(self) -> None:
        """New data at the next sync (the plot's view changed)."""
        self._drawn = None

    def legend_texts(self) -> list[str]:
        """The lanes' names, the lead (this run) first; empty outside a race."""
        track = self.model.race_track
        if track is None or track is not self._track:
            return []
        return [lead_label(self.model.config), *(lane.label for lane in track.lanes)]

    @property
    def items(self) -> tuple[tuple[pg.PlotDataItem, ...], ...]:
        return tuple(tuple(items) for items in self._items)
