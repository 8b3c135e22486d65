"""Lecture overlays on a real plot: an update arrow's head sits at its end and points along the
line as drawn on the screen, whichever way the step goes."""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsPathItem

from gdviz.ui.plots.overlays import ArrowOverlay


@pytest.mark.parametrize("end", [(3.0, 0.0), (-3.0, 0.0), (0.0, 2.0), (2.0, -1.5), (-1.0, -2.0)])
def test_an_arrow_head_points_from_the_start_to_the_end(plot, qtbot, end):
    plot.setRange(xRange=(-4, 4), yRange=(-3, 3), padding=0)
    arrow = ArrowOverlay(plot, "w")
    start = (0.0, 0.0)
    arrow.show(start, end, "−lr × grad")
    arrow.layout([])
    qtbot.wait(10)
    view = plot.getViewBox()

    def on_screen(point: tuple[float, float]) -> QPointF:
        return plot.mapFromScene(view.mapViewToScene(QPointF(*point))).toPointF()

    a, b = on_screen(start), on_screen(end)
    to_device = arrow.head.deviceTransform(plot.viewportTransform())
    tip = to_device.map(QPointF(0.0, 0.0))
    body = to_device.map(QGraphicsPathItem.path(arrow.head).boundingRect().center())
    assert math.hypot(tip.x() - b.x(), tip.y() - b.y()) < 1.5, "the head's tip is not at the end"
    length = math.hypot(b.x() - a.x(), b.y() - a.y())
    along = ((body.x() - tip.x()) * (b.x() - a.x()) + (body.y() - tip.y()) * (b.y() - a.y()))
    across = ((body.x() - tip.x()) * (b.y() - a.y()) - (body.y() - tip.y()) * (b.x() - a.x()))
    assert along / length < -5, "the head's body should lie back along the line, behind the tip"
    assert abs(across / length) < 1.5, "the head should lie on the line, not beside it"
