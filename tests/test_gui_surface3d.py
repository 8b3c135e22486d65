"""The 3-D loss surface on the offscreen platform: it explains itself and never touches OpenGL.

Drawing with OpenGL is tested under Xvfb in tests/test_real_display_gl.py; here the view must
say in words why there is no 3-D picture (offscreen platform, PyOpenGL missing, a w-only
trainer) and take rebuild/refresh calls like the other plots without an exception.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

from gdviz.core.config import build_config
from gdviz.ui.run_model import RunModel
from gdviz.ui.surface3d import (
    HEIGHT,
    Frame,
    Surface3DView,
    needs_frame,
    nice_ticks,
    opengl_problem,
    tick_text,
)

LOAD_TIMEOUT = 60_000  # ms: the nn trainer imports torch (seconds on a busy 2-core machine)


@pytest.fixture
def make_view(qtbot: Any) -> Iterator[Any]:
    """A shown Surface3DView on its own RunModel; the model is shut down after the test."""
    models: list[RunModel] = []

    def make(trainer: str, **settings: Any) -> tuple[Surface3DView, RunModel]:
        model = RunModel(build_config(trainer, settings))
        models.append(model)
        view = Surface3DView(model)
        model.run_reset.connect(view.rebuild)
        model.updated.connect(view.refresh)
        qtbot.addWidget(view)
        view.resize(600, 400)
        view.show()
        qtbot.waitExposed(view)
        return view, model

    yield make
    for model in models:
        model.shutdown()


def message_of(view: Surface3DView) -> QLabel:
    label = view.findChild(QLabel, "surface3dMessage")
    assert label is not None
    return label


def test_nn_offscreen_says_opengl_is_missing_and_never_loads_it(make_view: Any) -> None:
    loaded_before = "pyqtgraph.opengl" in sys.modules
    view, _model = make_view("nn")
    assert view.objectName() == "surface3dView"
    label = message_of(view)
    assert label.isVisible()
    text = label.text()
    assert "needs OpenGL" in text
    assert "'offscreen'" in text
    assert "2-D loss surface" in text
    assert view.gl_view is None
    assert ("pyqtgraph.opengl" in sys.modules) == loaded_before


def test_numpy_says_the_3d_view_is_for_the_nn_cell(make_view: Any) -> None:
    view, _model = make_view("numpy")
    text = message_of(view).text()
    assert "nn cell's L(w, b)" in text
    assert "L(w) is a curve" in text and "2-D" in text
    assert view.gl_view is None


def test_rebuild_and_refresh_with_a_history_raise_nothing(make_view: Any, qtbot: Any) -> None:
    view, model = make_view("nn", epochs=5)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=LOAD_TIMEOUT)
    model.run_to_end()
    qtbot.waitUntil(lambda: model.history is not None and len(model.history) == 5,
                    timeout=LOAD_TIMEOUT)
    view.rebuild()
    view.refresh()
    model.seek(2)
    view.refresh()
    view.hide()  # hidden: both return at once
    view.rebuild()
    view.refresh()
    view.show()
    assert "needs OpenGL" in message_of(view).text()
    # A switch to a w-only trainer changes the message, and back again.
    model.set_config(build_config("autograd"))
    assert "nn cell's L(w, b)" in message_of(view).text()
    model.set_config(build_config("nn"))
    assert "needs OpenGL" in message_of(view).text()


def test_missing_pyopengl_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a real platform without PyOpenGL the view names the package to install."""
    monkeypatch.setitem(sys.modules, "OpenGL.GL", None)  # import halts: as if not installed
    text = opengl_problem(platform="xcb")
    assert text is not None
    assert "PyOpenGL" in text and "pip install PyOpenGL" in text
    assert "2-D loss surface" in text


@pytest.mark.parametrize("platform", ["offscreen", "minimal"])
def test_platforms_without_opengl_are_refused_by_name(platform: str) -> None:
    text = opengl_problem(platform=platform)
    assert text is not None and f"'{platform}'" in text


def test_heights_are_linear_near_the_minimum_and_span_the_box() -> None:
    frame = Frame(-1.0, 3.0, -2.0, 2.0, top_excess=1000.0)
    assert float(frame.z(0.0)) == 0.0
    assert float(frame.z(1000.0)) == pytest.approx(HEIGHT)
    small = frame.z(np.array([1e-4, 2e-4]))
    assert small[1] / small[0] == pytest.approx(2.0, rel=1e-3)  # e ≪ s: proportional to e
    ladder = frame.z(np.logspace(-6, 3, 50))
    assert np.all(np.diff(ladder) > 0)
    assert float(frame.x(-1.0)) == -1.0 and float(frame.x(3.0)) == 1.0
    assert float(frame.y(0.0)) == 0.0
    colours = frame.color_values(np.array([0.0, 1000.0, 1.0]))
    assert colours[0] == 0.0 and colours[1] == pytest.approx(1.0)
    assert colours[2] == pytest.approx(0.5, abs=1e-3)  # 6 decades, from 1e-3 to 1e3


def test_ticks_are_round_and_readable() -> None:
    assert nice_ticks(-0.3, 2.3, 6) == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0])
    assert nice_ticks(1.0, 1.0) == []
    assert nice_ticks(0.0, math.inf) == []
    assert tick_text(0.5, 0.5) == "0.5"
    assert tick_text(-2.0, 1.0) == "−2"
    assert tick_text(-3e8, 1e8) == "−3e8"
    assert tick_text(2e-7, 1e-7) == "2e−7"
    assert tick_text(0.0, 1.0) == "0"


def test_reframing_follows_the_2d_plot() -> None:
    extent = (0.0, 1.0, 0.0, 1.0)
    assert needs_frame(None, extent)
    assert not needs_frame(extent, (0.1, 0.9, 0.2, 0.8))
    assert needs_frame(extent, (-0.1, 0.9, 0.2, 0.8))  # the path left the view
    assert needs_frame(extent, (0.5, 0.55, 0.5, 0.55))  # it needs far less of it


def test_presenter_font_scale_enlarges_the_header_and_message(make_view: Any) -> None:
    view, _model = make_view("numpy")
    size = message_of(view).font().pointSizeF()
    view.set_font_scale(1.6)
    assert message_of(view).font().pointSizeF() == pytest.approx(size * 1.6, rel=0.05)
    assert "font-size: 24pt" in view.header.text()  # the 15 pt title, 1.6 times
    view.set_font_scale(1.0)
    assert "font-size: 15pt" in view.header.text()
