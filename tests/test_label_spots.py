"""Label placement: the vectorized choice among many points equals the plain one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPointF, QRectF

from gdviz.ui.plots.labels import pick_spot, pick_spot_among, rects_around

coordinate = st.floats(-100.0, 700.0, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(point=st.tuples(coordinate, coordinate),
       size=st.tuples(st.floats(5.0, 450.0), st.floats(5.0, 120.0)),
       obstacles=st.lists(st.tuples(coordinate, coordinate, st.floats(1.0, 200.0),
                                    st.floats(1.0, 80.0)), max_size=3),
       points=st.lists(st.tuples(coordinate, coordinate), max_size=40))
def test_pick_spot_among_chooses_what_pick_spot_chooses(point, size, obstacles, points):
    inside = QRectF(0.0, 0.0, 600.0, 400.0)
    candidates = rects_around(QPointF(*point), size, 12.0)
    taken = [QRectF(*o) for o in obstacles]
    xs = np.array([p[0] for p in points], dtype=float)
    ys = np.array([p[1] for p in points], dtype=float)
    margin = 4.0

    def hits(rect: QRectF) -> bool:
        return bool(((xs > rect.left() - margin) & (xs < rect.right() + margin)
                     & (ys > rect.top() - margin) & (ys < rect.bottom() + margin)).any())

    def area(rect: QRectF) -> float:
        return max(rect.width(), 0.0) * max(rect.height(), 0.0)

    def cost(rect: QRectF) -> float:  # pick_spot's, for places that are all taken somewhat
        covered = sum(area(rect.intersected(o)) for o in taken)
        return covered + 1e6 * (area(rect) - area(rect.intersected(inside))) + (
            area(rect) if hits(rect) else 0.0)

    expected = pick_spot(candidates, inside, taken, hits)
    chosen = pick_spot_among(candidates, inside, taken, (xs, ys), margin)
    if cost(expected) == 0.0:  # a free place: the same first one
        assert (chosen.left(), chosen.top(), chosen.width(), chosen.height()) == pytest.approx(
            (expected.left(), expected.top(), expected.width(), expected.height()), abs=1e-6)
    else:  # the least bad: ties may fall either way by a rounding
        assert cost(chosen) == pytest.approx(cost(expected), rel=1e-9, abs=1e-6)
