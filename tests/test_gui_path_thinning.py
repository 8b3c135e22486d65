"""Long paths are thinned for the screen: what is drawn stays within a pixel of every point."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.config import build_config
from gdviz.ui.plots.labels import THIN_FROM, scene_points, thinned_for_screen


def distances_to_polyline(px: np.ndarray, py: np.ndarray, lx: np.ndarray,
                          ly: np.ndarray) -> np.ndarray:
    """Each point's distance to the nearest segment of the polyline (lx, ly)."""
    ax, ay, bx, by = lx[:-1], ly[:-1], lx[1:], ly[1:]
    dx, dy = bx - ax, by - ay
    length2 = np.where(dx * dx + dy * dy == 0, 1.0, dx * dx + dy * dy)
    t = np.clip(((px[:, None] - ax) * dx + (py[:, None] - ay) * dy) / length2, 0.0, 1.0)
    nearest_x, nearest_y = ax + t * dx, ay + t * dy
    return np.hypot(px[:, None] - nearest_x, py[:, None] - nearest_y).min(axis=1)


@pytest.fixture
def view(plot):
    plot.setRange(xRange=(-1.0, 1.0), yRange=(-1.0, 1.0), padding=0)
    return plot.getViewBox()


def test_a_converging_spiral_is_drawn_with_far_fewer_points_within_a_pixel(view):
    t = np.arange(4000, dtype=float)
    xs, ys = np.exp(-t / 100) * np.cos(t / 7), np.exp(-t / 100) * np.sin(t / 7)
    thin_x, thin_y = thinned_for_screen(view, xs, ys)
    assert len(thin_x) < len(xs) / 3
    assert (thin_x[0], thin_y[0]) == (xs[0], ys[0])
    assert (thin_x[-1], thin_y[-1]) == (xs[-1], ys[-1])  # the current point is where it is
    px, py = scene_points(view, xs, ys)
    lx, ly = scene_points(view, thin_x, thin_y)
    assert distances_to_polyline(px, py, lx, ly).max() <= 0.75  # px: half a cell's diagonal


def test_big_steps_and_short_paths_are_kept_whole(view):
    zigzag = np.resize([-0.9, 0.9], 500)
    xs, ys = np.linspace(-0.9, 0.9, 500), zigzag
    thin_x, thin_y = thinned_for_screen(view, xs, ys)
    assert np.array_equal(thin_x, xs) and np.array_equal(thin_y, ys)
    short = np.zeros(THIN_FROM - 1)
    assert thinned_for_screen(view, short, short)[0] is short


def test_the_surface_path_of_a_long_run_is_thinned_and_drawn_anew_when_zoomed(qtbot,
                                                                             make_window):
    window = make_window(build_config("nn", {"epochs": 3000, "learning_rate": 0.05}),
                         timeout=30_000)
    model = window.model
    model.run_to_end()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=60_000)
    window._on_model_updated()
    surface = window.surface_plot
    drawn_x, _drawn_y = surface.path.getData()
    visited = len(model.history) + 1
    assert len(drawn_x) < visited / 3  # the converged tail piles into a pixel
    assert surface.current.getData()[0][-1] == drawn_x[-1]
    # Zoomed 200x around the end: after the zoom settles, the path is thinned for the new
    # pixels, so it has more points there, and still keeps within a pixel of each.
    w_end, b_end = model.history.params_at(len(model.history))
    (x0, x1), (y0, y1) = surface.getViewBox().viewRange()
    half_w, half_b = (x1 - x0) / 400, (y1 - y0) / 400
    surface.setRange(xRange=(w_end - half_w, w_end + half_w),
                     yRange=(b_end - half_b, b_end + half_b), padding=0)
    qtbot.waitUntil(lambda: len(surface.path.getData()[0]) > len(drawn_x), timeout=5000)
    zoomed_x, zoomed_y = surface.path.getData()
    view = surface.getViewBox()
    all_w = np.append(model.history.initial_params[0], model.history.column("w"))
    all_b = np.append(model.history.initial_params[1], model.history.column("b"))
    px, py = scene_points(view, all_w, all_b)
    lx, ly = scene_points(view, zoomed_x, zoomed_y)
    inside = (np.abs(all_w - w_end) < half_w) & (np.abs(all_b - b_end) < half_b)
    assert inside.sum() > 10
    assert distances_to_polyline(px[inside], py[inside], lx, ly).max() <= 0.75


def test_a_pinned_path_is_thinned_again_when_the_view_zooms_in(qtbot, make_window):
    window = make_window(build_config("numpy", {"epochs": 3000}))
    model = window.model
    model.run_to_end()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=30_000)
    model.pin_run()
    pin = model.pins[0]
    model.set_config(model.config.replace(lr=0.02))
    qtbot.waitUntil(lambda: model.state == "ready", timeout=10_000)
    window._on_model_updated()
    surface = window.surface_plot
    (ghost,) = surface.ghosts.items
    before = len(ghost.getData()[0])
    assert before < (pin.epochs + 1) / 3
    w_end = float(pin.trajectory("w")[-1])
    (x0, x1), (y0, y1) = surface.getViewBox().viewRange()
    surface.setRange(xRange=(w_end - (x1 - x0) / 400, w_end + (x1 - x0) / 400),
                     yRange=(y0, y0 + (y1 - y0) / 400), padding=0)
    qtbot.waitUntil(lambda: len(surface.ghosts.items) == 1
                    and len(surface.ghosts.items[0].getData()[0]) > before, timeout=5000)
