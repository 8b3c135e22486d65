"""Lecture mode in the plots (pytest-qt): each view shows the sub-step with the trainer's numbers.

The window's model is driven directly (step, seek, sub_step); the expected numbers come from
the history and `explain_epoch`, never typed in, except the notebook's own epoch-1 values
(loss 30, grad −120, w 0 → 1.2) that the lecture is about.
"""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.config import build_config
from gdviz.core.explain import explain_epoch
from gdviz.core.phases import Phase
from gdviz.ui.plots import ContributionsPlot, FitPlot, LossPlot, SurfacePlot, WeightsPlot
from gdviz.ui.plots.common import PRESENTER_SCALE

TORCH_TIMEOUT = 60_000


def train_to(qtbot, window, epochs: int) -> None:
    model = window.model
    while len(model.history) < epochs:
        count = len(model.history)
        model.seek(count)
        model.step()
        qtbot.waitUntil(lambda count=count: model.cursor == count + 1, timeout=TORCH_TIMEOUT)


def refresh(window) -> None:
    for plot in (window.surface_plot, window.loss_plot, window.weights_plot, window.fit_plot):
        plot.refresh()


def go_to(qtbot, window, epoch: int, phase: Phase | None) -> None:
    """Epoch `epoch` (trained first if needed) at `phase`, then the plots redrawn."""
    train_to(qtbot, window, epoch)
    model = window.model
    if phase is None:
        model.seek(epoch)
    else:
        model.seek(epoch - 1)
        model.sub_step()  # the next epoch's first phase
        while model.phase is not phase:
            assert model.cursor == epoch, f"{phase} is not a phase of {model.config.trainer}"
            model.sub_step()
    assert (model.cursor, model.phase) == (epoch, phase)
    refresh(window)


def explained(window, epoch: int):
    return explain_epoch(window.model.config, window.model.history, epoch)


def overlays_hidden(window) -> bool:
    surface, weights, fit = window.surface_plot, window.weights_plot, window.fit_plot
    shown = [overlay.shown for overlay in surface._overlays]
    shown += [arrow.shown for arrow in weights.step_arrows.values()]
    shown += [len(marker.getData()[0]) > 0 for marker in weights.markers.values()]
    shown += [fit.residuals.isVisible(), fit.predictions.isVisible()]
    return not any(shown)


# --- forward: predictions and residuals on the fit plot ---------------------------------------

def test_forward_draws_a_residual_per_point_from_the_data_to_the_prediction(qtbot, window):
    go_to(qtbot, window, 2, Phase.FORWARD)
    forward = explained(window, 2).forward
    assert forward is not None
    segments = window.fit_plot.residual_segments()
    n = len(window.model.config.x)
    assert segments.shape == (n, 2, 2)
    np.testing.assert_allclose(segments[:, 0, 0], forward.x)
    np.testing.assert_allclose(segments[:, 0, 1], forward.y)  # from the data point …
    np.testing.assert_allclose(segments[:, 1, 0], forward.x)
    np.testing.assert_allclose(segments[:, 1, 1], forward.y_pred)  # … to the prediction
    xs, ys = window.fit_plot.predictions.getData()
    np.testing.assert_allclose(xs, forward.x)
    np.testing.assert_allclose(ys, forward.y_pred)
    # The line is θ_1's, the parameters the forward pass of epoch 2 used.
    w1 = window.model.history.params_at(1)[0]
    line_x, line_y = window.fit_plot.line.getData()
    np.testing.assert_allclose(line_y, w1 * np.asarray(line_x))
    np.testing.assert_allclose(forward.y_pred, w1 * forward.x, rtol=1e-6)


def test_update_phase_hides_the_residuals_and_shows_the_new_line(qtbot, window):
    go_to(qtbot, window, 2, Phase.UPDATE)
    assert window.fit_plot.residual_segments().shape == (0, 2, 2)
    w2 = window.model.history.params_at(2)[0]
    line_x, line_y = window.fit_plot.line.getData()
    np.testing.assert_allclose(line_y, w2 * np.asarray(line_x))


# --- the current point follows the parameters shown ----------------------------------------

def test_current_point_sits_at_theta_k_minus_1_before_the_update(qtbot, window):
    go_to(qtbot, window, 2, Phase.BACKWARD)
    history = window.model.history
    xs, ys = window.surface_plot.current.getData()
    assert xs[-1] == pytest.approx(history.params_at(1)[0])
    assert ys[-1] == pytest.approx(window.model.session.loss_after(1))
    path_x, _ = window.surface_plot.path.getData()
    assert len(path_x) == 2  # epochs 0 and 1: the update of epoch 2 is not made yet
    marker_x, marker_y = window.weights_plot.markers["w"].getData()
    assert (marker_x[0], marker_y[0]) == (1, pytest.approx(history.params_at(1)[0]))
    loss_x, _ = window.loss_plot.marker.getData()
    assert loss_x[0] == 1
    go_to(qtbot, window, 2, Phase.UPDATE)
    xs, _ = window.surface_plot.current.getData()
    assert xs[-1] == pytest.approx(history.params_at(2)[0])


# --- loss: the value beside the point -------------------------------------------------------

def test_loss_phase_writes_the_loss_beside_the_point(qtbot, window):
    go_to(qtbot, window, 1, Phase.LOSS)
    label = window.surface_plot.loss_label
    assert label.shown
    assert label.label.toPlainText() == "L = 30.000"  # the notebook's first loss
    assert label.point == (0.0, 30.0)
    assert not window.surface_plot.tangent.shown and not window.surface_plot.step_arrow.shown


# --- backward: the tangent, the gradient arrow, the per-sample bars -----------------------------

@pytest.mark.parametrize("gradient", ["notebook", "mean"])
def test_backward_draws_the_tangent_with_the_true_slope(qtbot, make_window, gradient):
    window = make_window(build_config("numpy", {"gradient": gradient}))
    go_to(qtbot, window, 1, Phase.BACKWARD)
    tangent = window.surface_plot.tangent
    assert tangent.shown
    step = explained(window, 1).steps[0]
    scale = window.model.config.gradient_scale()
    slope, used = tangent.slopes
    assert slope == pytest.approx(step.grad / scale)  # dL/dw of the MSE: −30 at w = 0
    assert slope == pytest.approx(-30.0)
    xs, ys = tangent.line.getData()
    assert (ys[1] - ys[0]) / (xs[1] - xs[0]) == pytest.approx(slope)
    text = tangent.label.toPlainText()
    assert "dL/dw = −30.000" in text
    if scale != 1:  # the notebook's update uses N × the gradient: said, and drawn dashed
        assert used == pytest.approx(step.grad)
        assert tangent.used.isVisible()
        assert "4 × dL/dw = −120.000" in text
    else:
        assert used is None and not tangent.used.isVisible()


@pytest.mark.parametrize("gradient", ["notebook", "mean"])
def test_numpy_bars_sum_to_the_recorded_gradient(qtbot, make_window, gradient):
    window = make_window(build_config("numpy", {"gradient": gradient}))
    train_to(qtbot, window, 3)
    plot = ContributionsPlot(window.model)
    qtbot.addWidget(plot)
    for epoch in (1, 2, 3):
        window.model.seek(epoch)
        plot.refresh()
        heights = plot.bar_heights()
        grad = window.model.history.row(epoch)["grad_w"]
        assert set(heights) == {"w"}
        assert len(heights["w"]) == len(window.model.config.x)  # a bar per data point
        assert np.isclose(heights["w"].sum(), grad, rtol=1e-5)
        assert plot.gradients() == {"w": grad}
        assert not plot.dimmed  # the whole epoch: its gradient exists


def test_numpy_epoch_1_bars_are_the_notebooks_terms(qtbot, window):
    go_to(qtbot, window, 1, Phase.BACKWARD)
    plot = ContributionsPlot(window.model)
    qtbot.addWidget(plot)
    x, y = np.array(window.model.config.x), np.array(window.model.config.y)
    # 2·x_i·(0·x_i − y_i) each, N × the MSE term: they add up to the notebook's −120.
    np.testing.assert_allclose(plot.bar_heights()["w"], 2 * x * (0 * x - y))
    assert plot.bar_heights()["w"].sum() == pytest.approx(-120.0)


def test_nn_bars_sum_to_both_gradients_and_the_arrow_is_the_coming_step(qtbot, make_window):
    pytest.importorskip("torch")
    window = make_window(build_config("nn"), timeout=TORCH_TIMEOUT)
    go_to(qtbot, window, 2, Phase.BACKWARD)
    plot = ContributionsPlot(window.model)
    qtbot.addWidget(plot)
    row = window.model.history.row(2)
    heights = plot.bar_heights()
    assert set(heights) == {"w", "b"}
    for name in ("w", "b"):
        assert len(heights[name]) == len(window.model.config.x)
        assert np.isclose(heights[name].sum(), row[f"grad_{name}"], rtol=1e-5)
    # On the heatmap: from θ_1 along −grad, lr × grad long.
    arrow = window.surface_plot.gradient_arrow
    assert arrow.shown and not window.surface_plot.tangent.shown
    w1, b1 = window.model.history.params_at(1)
    lr = window.model.config.lr
    assert arrow.start == (w1, b1)
    assert arrow.end == pytest.approx((w1 - lr * row["grad_w"], b1 - lr * row["grad_b"]))
    assert arrow.label.toPlainText() == "−lr × ∇L: ∇L = ({}, {})".format(
        *(f"{row[f'grad_{n}']:.3f}".replace("-", "−") for n in ("w", "b")))


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
def test_without_zero_grad_the_carried_over_bar_closes_the_sum(qtbot, make_window, trainer):
    pytest.importorskip("torch")
    config = build_config(trainer, {"forget_zero_grad": True})
    window = make_window(config, timeout=TORCH_TIMEOUT)
    train_to(qtbot, window, 3)
    plot = ContributionsPlot(window.model)
    qtbot.addWidget(plot)
    n = len(config.x)
    for epoch in (1, 3):
        window.model.seek(epoch)
        plot.refresh()
        row = window.model.history.row(epoch)
        fresh = {s.name: s.contributions.sum() for s in explained(window, epoch).steps}
        for name, heights in plot.bar_heights().items():
            assert len(heights) == n + 1  # the points, then "carried over"
            assert np.isclose(heights.sum(), row[f"grad_{name}"], rtol=1e-5)
            carried = heights[-1]
            assert carried == pytest.approx(row[f"grad_{name}"] - fresh[name])
            if epoch == 1:  # nothing to carry yet
                assert abs(carried) <= 1e-5 * np.abs(heights).sum()
            else:  # the gradients of epochs 1 and 2 are still in .grad
                assert abs(carried) > 1e-3 * np.abs(heights).sum()


def test_bars_are_dimmed_where_the_gradient_does_not_exist(qtbot, make_window):
    pytest.importorskip("torch")
    window = make_window(build_config("nn"), timeout=TORCH_TIMEOUT)
    plot = ContributionsPlot(window.model)
    qtbot.addWidget(plot)
    plot.refresh()
    assert plot.bar_heights() == {}  # epoch 0: no gradient
    assert plot.note.isVisible()
    expected = {Phase.FORWARD: True, Phase.LOSS: True, Phase.BACKWARD: False,
                Phase.UPDATE: False, Phase.ZERO_GRAD: True}
    for phase, dimmed in expected.items():
        go_to(qtbot, window, 1, phase)
        plot.refresh()
        assert plot.dimmed == dimmed, phase
        assert set(plot.bar_heights()) == {"w", "b"}  # epoch 1's bars throughout


# --- update: the arrow from θ_{k−1} to θ_k ---------------------------------------------------

def test_update_arrow_goes_from_0_to_1_2_at_epoch_1(qtbot, window):
    go_to(qtbot, window, 1, Phase.UPDATE)
    arrow = window.surface_plot.step_arrow
    assert arrow.shown
    assert arrow.start[0] == 0.0 and arrow.end[0] == pytest.approx(1.2)
    assert arrow.start[1] == arrow.end[1] == 30.0  # along w, at the loss it started from
    assert arrow.label.toPlainText() == "−lr × grad = −0.01 × (−120.000) = 1.200"
    w_arrow = window.weights_plot.step_arrows["w"]
    assert w_arrow.shown and not window.weights_plot.step_arrows["b"].shown
    assert w_arrow.start == (0.0, 0.0)
    assert w_arrow.end == (1.0, pytest.approx(1.2))
    assert w_arrow.label.toPlainText() == arrow.label.toPlainText()



def test_nn_update_labels_are_short_and_clear_of_each_other(qtbot, make_window):
    """Two parameters: the heatmap's label is one line, the weights plot's two labels do not
    overlap (the arithmetic of both took four wrapped lines over the arrow, at lr 0.05)."""
    pytest.importorskip("torch")
    window = make_window(build_config("nn", {"lr": 0.05}), timeout=TORCH_TIMEOUT)
    window.resize(1280, 720)
    go_to(qtbot, window, 1, Phase.UPDATE)
    (w0, b0), (w1, b1) = (window.model.history.params_at(k) for k in (0, 1))
    text = window.surface_plot.step_arrow.label.toPlainText()
    assert text == f"−lr × grad = ({w1 - w0:+.3f}, {b1 - b0:+.3f})".replace("-", "−")
    arrows = window.weights_plot.step_arrows
    assert arrows["w"].label.toPlainText().startswith("w: −lr × grad = ")
    assert arrows["b"].label.toPlainText() == f"b: −lr × grad = {b1 - b0:+.3f}".replace("-", "−")
    w_rect, b_rect = (arrows[n].label.sceneBoundingRect() for n in ("w", "b"))
    assert not w_rect.intersects(b_rect)

# --- a whole epoch: the old look ----------------------------------------------------------------

def test_phase_none_leaves_every_overlay_hidden(qtbot, window):
    train_to(qtbot, window, 2)
    refresh(window)
    assert overlays_hidden(window)
    for phase in (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE):
        go_to(qtbot, window, 2, phase)
        assert not overlays_hidden(window), phase
    window.model.step()  # Right in the middle of an epoch finishes it
    assert window.model.phase is None
    refresh(window)
    assert overlays_hidden(window)
    history = window.model.history
    xs, _ = window.surface_plot.current.getData()
    assert xs[-1] == pytest.approx(history.params_at(window.model.cursor)[0])


def test_sub_step_back_and_forth_redraws_without_rebuilding_the_surface(qtbot, window):
    train_to(qtbot, window, 3)
    surface = window.surface_plot
    go_to(qtbot, window, 3, Phase.FORWARD)
    extent = surface._extent
    for _ in range(6):
        window.model.sub_step_back()
        refresh(window)
    for _ in range(6):
        window.model.sub_step()
        refresh(window)
    assert surface._extent is extent  # the surface was framed once, only overlays moved


# --- presenter mode ---------------------------------------------------------------------------

def tick_size(plot_item) -> float:
    font = plot_item.getAxis("left").style["tickFont"]
    return font.pointSizeF() if font is not None else plot_item.getAxis("left").font().pointSizeF()


@pytest.mark.parametrize("cls", [SurfacePlot, LossPlot, WeightsPlot, FitPlot, ContributionsPlot])
def test_font_scale_makes_ticks_titles_and_labels_larger(qtbot, window, cls):
    plot = cls(window.model)
    qtbot.addWidget(plot)
    plot.rebuild()
    item = (plot.plot if isinstance(plot, LossPlot) else plot).getPlotItem()
    normal_tick = tick_size(item)
    normal_title = item.titleLabel.item.toHtml()
    plot.set_font_scale(PRESENTER_SCALE)
    assert tick_size(item) == pytest.approx(normal_tick * PRESENTER_SCALE, rel=0.05)
    assert "font-size" in item.getAxis("bottom").labelString()
    assert item.titleLabel.item.toHtml() != normal_title
    plot.set_font_scale(1.0)
    assert item.getAxis("left").style["tickFont"] is None  # the usual look again
    assert item.titleLabel.item.toHtml() == normal_title


def test_font_scale_reaches_the_overlay_texts(qtbot, window):
    go_to(qtbot, window, 1, Phase.UPDATE)
    label = window.surface_plot.step_arrow.label
    normal = label.textItem.font().pointSizeF()
    window.surface_plot.set_font_scale(PRESENTER_SCALE)
    assert label.textItem.font().pointSizeF() == pytest.approx(normal * PRESENTER_SCALE)
    window.surface_plot.set_font_scale(1.0)
    assert label.textItem.font().pointSizeF() == pytest.approx(normal)
