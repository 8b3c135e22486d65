"""The race in the window: SGD, momentum and Adam trained together from the same start,
stepped and played together, drawn in colour with a legend; the sweep dock and its lr."""

from __future__ import annotations

import pytest
from gui_helpers import action, message

from gdviz.core.config import build_config
from gdviz.core.race import lane_specs
from gdviz.core.trainers import make_trainer

TORCH_TIMEOUT = 30_000


def test_a_race_of_three_optimizers_advances_together(qtbot, make_window):
    window = make_window(build_config("nn"), timeout=TORCH_TIMEOUT)
    action(window, "actionRace").trigger()
    assert window.model.config.race == ("sgd", "momentum", "adam")
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=TORCH_TIMEOUT)
    assert "race of SGD (this run), SGD + momentum 0.9, Adam" in message(window)
    for _ in range(5):
        window.model.step()
    qtbot.waitUntil(lambda: window.model.cursor == 5, timeout=10_000)
    window._on_model_updated()
    track = window.model.race_track
    assert [len(h) for h in track.histories] == [5, 5]
    # Each lane's numbers are those of its optimizer trained alone from the same start.
    for lane, history in zip(lane_specs(window.model.config), track.histories, strict=True):
        alone = make_trainer(lane.config)
        for epoch in range(1, 6):
            assert history.params_at(epoch) == alone.step().params_after
    surface = window.surface_plot
    assert surface.lanes.legend_texts() == ["SGD (this run)", "SGD + momentum 0.9", "Adam"]
    title = surface.getPlotItem().titleLabel.text
    assert "SGD + momentum 0.9" in title and "Adam" in title  # named in the key, off the plot
    for (path,), history in zip(surface.lanes.items, track.histories, strict=True):
        xs, ys = path.getData()
        assert list(xs) == list(history.trajectory("w"))
        assert list(ys) == list(history.trajectory("b"))
    # Back one epoch: every lane is drawn up to the cursor.
    window.model.step_back()
    qtbot.waitUntil(lambda: window.model.cursor == 4, timeout=5000)
    window._on_model_updated()
    assert all(len(items[0].getData()[0]) == 5 for items in surface.lanes.items)  # epochs 0..4
    assert all(len(items[0].getData()[0]) == 5 for items in window.loss_plot.lanes.items)


def test_playing_a_race_keeps_the_lanes_in_step_and_ending_it_clears_them(qtbot, make_window):
    window = make_window(build_config("numpy", {"epochs": 40}))
    action(window, "actionRace").trigger()
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=10_000)
    window.model.set_speed(None)
    window.model.play()
    qtbot.waitUntil(lambda: window.model.state == "finished", timeout=20_000)
    window._on_model_updated()
    assert [len(h) for h in window.model.race_track.histories] == [40, 40]
    action(window, "actionRace").trigger()  # "End the race"
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=10_000)
    window._on_model_updated()
    assert window.model.race_track is None
    assert window.surface_plot.lanes.items == ()
    assert window.surface_plot.lanes.legend_texts() == []
    assert not action(window, "actionRace").isChecked()


def test_a_learning_rate_race_from_the_race_entries(qtbot, window):
    comparison = window.comparison
    for entry, entry_action in comparison.race_entry_actions.items():
        entry_action.setChecked(entry in ("lr×0.5", "lr×2"))
    action(window, "actionRace").trigger()
    qtbot.waitUntil(lambda: window.model.race_track is not None, timeout=10_000)
    window._on_model_updated()
    assert window.surface_plot.lanes.legend_texts() == ["lr 0.01 (this run)", "lr 0.005",
                                                         "lr 0.02"]


@pytest.mark.qt_log_ignore("This plugin does not support raise",
                            "This plugin does not support propagateSizeHints")  # offscreen
def test_the_sweep_action_shows_the_dock_runs_and_a_chosen_lr_is_applied(qtbot, window):
    panel = window.sweep_panel
    action(window, "actionSweep").trigger()
    assert window.docks.sweep.isVisible()
    assert window.docks.sweep.isFloating()  # too small beside the graph: a window of its own
    qtbot.waitUntil(lambda: panel.result() is not None and not panel.is_running(),
                    timeout=60_000)
    assert panel.has_current_result()
    panel.lr_chosen.emit(0.02)
    qtbot.waitUntil(lambda: window.model.config.lr == 0.02, timeout=5000)
    assert "learning rate 0.02 chosen on the sweep" in message(window)


def test_a_diverged_lane_does_not_zoom_the_surface_away_from_the_others(qtbot, window):
    comparison = window.comparison
    for entry, entry_action in comparison.race_entry_actions.items():
        entry_action.setChecked(entry == "lr×4")  # lr 0.04 > the critical 1/30: diverges
    window.model.set_config(window.model.config.replace(epochs=200))
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=10_000)
    action(window, "actionRace").trigger()
    qtbot.waitUntil(lambda: window.model.race_track is not None, timeout=10_000)
    window.model.run_to_end()
    qtbot.waitUntil(lambda: window.model.state == "finished", timeout=20_000)
    window._on_model_updated()
    assert window.model.race_track.diverged_at(0) is not None
    (x0, x1), _ = window.surface_plot.getViewBox().viewRange()
    assert x1 - x0 < 10  # framed on the lead (0 → 2), not on the overflowing lane
