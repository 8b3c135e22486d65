"""The loss surface follows the user's zoom and pan: drawn anew, exact, for what is shown."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.config import build_config


def test_zooming_into_the_heatmap_draws_it_anew_for_the_view(qtbot, make_window):
    window = make_window(build_config("nn"), timeout=30_000)
    window._on_model_updated()
    surface = window.surface_plot
    w_star, b_star = window.model.landscape.optimum
    before = surface.image.mapRectToParent(surface.image.boundingRect())
    # Zoom far in around the optimum: 1/50 of the framed width.
    span = before.width() / 50
    surface.setRange(xRange=(w_star - span, w_star + span), yRange=(b_star - span, b_star + span),
                     padding=0)
    qtbot.waitUntil(lambda: surface.image.mapRectToParent(surface.image.boundingRect()).width()
                    < before.width() / 5, timeout=3000)
    rect = surface.image.mapRectToParent(surface.image.boundingRect())
    assert rect.left() <= w_star - span and rect.right() >= w_star + span
    assert rect.width() <= 2 * span * 2  # drawn for the view (with a margin), not the frame
    # The image is exact there: its pixels are log10 of the closed-form loss excess.
    image = surface.image.image
    rows, cols = image.shape
    landscape = window.model.landscape
    w_grid = np.linspace(rect.left(), rect.right(), cols)
    b_grid = np.linspace(rect.top(), rect.bottom(), rows)
    excess = landscape.grid(w_grid, b_grid) - landscape.min_loss
    floor = max(float(excess.max()) * 1e-6, 1e-300)
    assert image == pytest.approx(np.log10(np.maximum(excess, 0.0) + floor))


def test_panning_the_loss_curve_away_draws_l_of_w_where_the_view_is(qtbot, window):
    surface = window.surface_plot
    window._on_model_updated()
    surface.setRange(xRange=(10.0, 12.0), yRange=(0.0, 1000.0), padding=0)
    qtbot.waitUntil(lambda: surface.curve.getData()[0] is not None
                    and surface.curve.getData()[0][-1] >= 12.0, timeout=3000)
    xs, ys = surface.curve.getData()
    assert xs[0] <= 10.0
    assert ys == pytest.approx(window.model.landscape.curve(xs))
