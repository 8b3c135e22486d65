"""Markers: symbols at data points, a fixed size in pixels, framed like pyqtgraph's items."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF

from gdviz.ui.plots.markers import Markers


def dots(markers: Markers) -> list:
    return [item for item in markers.childItems() if item.isVisible()]


def test_markers_sit_at_their_points_and_keep_their_size_in_pixels(plot, qtbot):
    markers = Markers(symbol="o", size=20, brush="r", pen=pg.mkPen("w", width=2))
    plot.addItem(markers)
    markers.setData([1.0, 2.0], [3.0, 5.0])
    xs, ys = markers.getData()
    assert list(xs) == [1.0, 2.0] and list(ys) == [3.0, 5.0]
    view = plot.getViewBox()

    def on_screen(dot):
        return dot.deviceTransform(plot.viewportTransform()).mapRect(dot.boundingRect())

    def placed() -> bool:
        for dot, x, y in zip(dots(markers), xs, ys, strict=True):
            expected = plot.mapFromScene(view.mapViewToScene(QPointF(x, y)))
            center = on_screen(dot).center()
            if abs(center.x() - expected.x()) > 1.5 or abs(center.y() - expected.y()) > 1.5:
                return False
        return True

    for zoom in (1.0, 100.0):
        plot.setRange(xRange=(1.5 - 2 / zoom, 1.5 + 2 / zoom), yRange=(0.0, 8.0), padding=0)
        qtbot.waitUntil(placed, timeout=2000)  # once the plot has laid out its new axes
        for dot in dots(markers):
            # 20 px and the pen, at any zoom: the symbol ignores the view's scaling
            assert on_screen(dot).width() == pytest.approx(22, abs=1.5)


def test_fewer_points_hide_the_rest_and_non_finite_points_are_not_drawn(plot):
    markers = Markers(size=10, brush="k")
    plot.addItem(markers)
    markers.setData([0.0, 1.0, 2.0], [0.0, 1.0, 2.0])
    assert len(dots(markers)) == 3
    markers.setData([5.0], [5.0])
    assert len(dots(markers)) == 1
    markers.setData([1.0, np.nan], [1.0, 2.0])
    assert len(dots(markers)) == 1
    markers.setData([], [])
    assert dots(markers) == [] and len(markers.getData()[0]) == 0
    markers.setData([1.0, 2.0], [1.0])  # a point needs both coordinates
    assert len(dots(markers)) == 1 and list(markers.getData()[0]) == [1.0]


def test_on_a_log_axis_the_points_go_to_log10_of_their_values(plot):
    markers = Markers(size=10, brush="k")
    plot.addItem(markers)
    markers.setData([1.0, 2.0, 3.0], [1e3, 1e-2, 0.0])
    plot.getPlotItem().setLogMode(False, True)
    positions = [(dot.pos().x(), dot.pos().y()) for dot in dots(markers)]
    assert positions == [(1.0, pytest.approx(3.0)), (2.0, pytest.approx(-2.0))]  # 0: none
    assert markers.getData()[1][0] == 1e3  # the values themselves, as given
    assert markers.dataBounds(1) == (pytest.approx(-2.0), pytest.approx(3.0))
    plot.getPlotItem().setLogMode(False, False)
    assert [dot.pos().y() for dot in dots(markers)] == [1e3, 1e-2, 0.0]


def test_the_view_frames_markers_by_their_data(plot, qtbot):
    markers = Markers(size=10, brush="k")
    plot.addItem(markers)
    plot.enableAutoRange()
    markers.setData([10.0, 20.0], [-5.0, 7.0])
    assert markers.dataBounds(0) == (10.0, 20.0) and markers.dataBounds(1) == (-5.0, 7.0)
    qtbot.waitUntil(lambda: plot.getViewBox().viewRange()[0][0] <= 10.0
                    and plot.getViewBox().viewRange()[0][1] >= 20.0, timeout=2000)
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert x1 - x0 < 20 and y0 <= -5.0 and y1 >= 7.0  # framed around them, not the origin
