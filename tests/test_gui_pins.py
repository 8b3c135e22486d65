"""Pinned runs in the window: P keeps a run drawn faded with a legend naming what differs;
unpin one, clear all; pins hide on another surface and come back."""

from __future__ import annotations

import pytest
from gui_helpers import action, find, message
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

from gdviz.core.pins import MAX_PINS


def step(qtbot, window, epochs: int) -> None:
    target = window.model.cursor + epochs
    for _ in range(epochs):
        window.model.step()
    qtbot.waitUntil(lambda: window.model.cursor == target, timeout=10_000)
    window._on_model_updated()


def change_lr(qtbot, window, lr: float) -> None:
    window.model.set_config(window.model.config.replace(lr=lr))
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=10_000)
    window._on_model_updated()


def test_p_pins_the_run_and_the_ghosts_name_what_differs(qtbot, focused):
    window = focused
    step(qtbot, window, 4)
    qtbot.keyClick(window.plots_area, Qt.Key.Key_P)
    qtbot.waitUntil(lambda: len(window.model.pins) == 1, timeout=2000)
    assert "Pinned" in message(window)
    change_lr(qtbot, window, 0.03)
    surface, loss, weights = window.surface_plot, window.loss_plot, window.weights_plot
    assert surface.ghosts.legend_texts() == ["lr 0.01"]
    assert "pinned:" in surface.getPlotItem().titleLabel.text  # named in the title's key
    assert "lr 0.01" in surface.getPlotItem().titleLabel.text
    assert loss.ghosts.legend_texts() == ["lr 0.01"]
    pin = window.model.pins[0]
    # The surface ghost is the pinned path on L(w); the loss ghost its L(θ_k), 0..4.
    (path,) = surface.ghosts.items
    xs, _ys = path.getData()
    assert list(xs) == list(pin.trajectory("w"))
    (loss_ghost,) = loss.ghosts.items
    assert list(loss_ghost.getData()[1]) == list(pin.loss_after)
    (w_ghost,) = weights.ghosts.items
    assert list(w_ghost.getData()[1]) == list(pin.trajectory("w"))
    assert pin.color in path.opts["pen"].color().name().upper()


def test_unpin_one_and_clear_all_from_the_compare_menu(qtbot, window):
    step(qtbot, window, 2)
    window.model.pin_run()
    change_lr(qtbot, window, 0.02)
    step(qtbot, window, 2)
    window.model.pin_run()
    change_lr(qtbot, window, 0.005)
    assert window.surface_plot.ghosts.legend_texts() == ["lr 0.01", "lr 0.02"]
    unpin_menu = find(window, QMenu, "unpinMenu")
    unpin_actions = unpin_menu.actions()
    assert len(unpin_actions) == 2
    unpin_actions[0].trigger()
    window._on_model_updated()
    assert window.surface_plot.ghosts.legend_texts() == ["lr 0.02"]
    assert len(window.surface_plot.ghosts.items) == 1
    action(window, "actionClearPins").trigger()
    window._on_model_updated()
    assert window.model.pins == ()
    assert window.surface_plot.ghosts.items == ()
    assert window.surface_plot.ghosts.legend_texts() == []
    assert not action(window, "actionClearPins").isEnabled()


def test_pins_hide_on_another_surface_and_return(qtbot, window):
    step(qtbot, window, 3)
    window.model.pin_run()
    window.model.set_config(window.model.config.replace(trainer="nn"))
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=20_000)
    window._on_model_updated()
    assert window.surface_plot.ghosts.items == ()  # L(w) means nothing on L(w, b)
    assert "hidden" in find(window, QMenu, "unpinMenu").actions()[0].text()
    window.model.set_config(window.model.config.replace(trainer="autograd"))
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=20_000)
    window._on_model_updated()
    assert window.surface_plot.ghosts.legend_texts()[0].startswith("numpy")


def test_a_ninth_pin_is_refused_in_words(qtbot, window):
    for k in range(MAX_PINS + 1):
        window.model.set_config(window.model.config.replace(lr=0.001 * (k + 1)))
        qtbot.waitUntil(lambda: window.model.state == "ready", timeout=10_000)
        step(qtbot, window, 1)
        window.model.pin_run()
    assert len(window.model.pins) == MAX_PINS
    assert "unpin one first" in message(window)
    action(window, "actionClearPins").trigger()
    assert message(window) == f"Cleared {MAX_PINS} pinned runs"


def test_nothing_to_pin_at_epoch_0_and_the_same_run_is_pinned_once(qtbot, window):
    window.model.pin_run()
    assert window.model.pins == ()
    assert "step or play the run first" in message(window)
    step(qtbot, window, 2)
    window.model.pin_run()
    window.model.pin_run()
    assert len(window.model.pins) == 1
    assert "pinned already" in message(window)


def click_at(qtbot, plot, x: float, y: float) -> None:
    """A real left click on the plot at data coordinates (x, y)."""
    from PySide6.QtCore import QPointF

    view = plot.getViewBox()
    scene_point = view.mapViewToScene(QPointF(x, y))
    widget_point = plot.mapFromScene(scene_point)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_point)


def test_a_click_on_the_loss_curve_starts_a_fresh_run_there(qtbot, window):
    step(qtbot, window, 3)
    surface = window.surface_plot
    (x0, x1), _ = surface.getViewBox().viewRange()
    pixel = (x1 - x0) / surface.getViewBox().width()
    click_at(qtbot, surface, 1.5, 5.0)
    qtbot.waitUntil(lambda: window.model.config.w0 != 0.0, timeout=5000)
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=10_000)
    w0 = window.model.config.w0
    assert w0 == pytest.approx(1.5, abs=2 * pixel)  # where the click was, to a pixel or two
    assert w0 == round(w0, 2)  # rounded to a hundredth of the view: "about here"
    assert window.model.cursor == 0
    assert window.model.history.initial_params == (w0,)
    assert f"start moved to w0 = {w0:g}" in message(window)
    assert window.controls.w0_spin.value() == w0


def test_a_click_on_the_heatmap_sets_w0_and_b0(qtbot, make_window):
    from gdviz.core.config import build_config

    window = make_window(build_config("nn"), timeout=30_000)
    window._on_model_updated()
    view = window.surface_plot.getViewBox()
    (x0, x1), (y0, y1) = view.viewRange()
    w, b = x0 + 0.3 * (x1 - x0), y0 + 0.6 * (y1 - y0)
    click_at(qtbot, window.surface_plot, w, b)
    qtbot.waitUntil(lambda: window.model.config.b0 is not None, timeout=5000)
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=20_000)
    config = window.model.config
    assert config.w0 == pytest.approx(w, abs=2 * (x1 - x0) / view.width())
    assert config.b0 == pytest.approx(b, abs=2 * (y1 - y0) / view.height())
    assert not config.seeded  # the click replaced the seed's start
    start = window.model.history.initial_params
    assert start == pytest.approx((config.w0, config.b0), abs=1e-6)  # float32 of the click
