"""pytest-qt tests of the main window: construction, every control, stepping, playing, the log.

Widgets are found by objectName (the test contract), never through private attributes. Waits are
on RunModel state set by GUI-thread slots (`qtbot.waitUntil`), never `waitSignal` on the worker.
"""

from __future__ import annotations

import pytest
from gui_helpers import action, find, log_text, message
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTextEdit,
)

from gdviz.core.config import build_config
from gdviz.ui import MainWindow

CONTRACT = {
    "actionPlay": QAction,
    "actionStep": QAction,
    "actionStepBack": QAction,
    "actionReset": QAction,
    "actionRunToEnd": QAction,
    "actionQuit": QAction,
    "trainerCombo": QComboBox,
    "lrSpin": QDoubleSpinBox,
    "lrSlider": QSlider,
    "epochsSpin": QSpinBox,
    "timelineSlider": QSlider,
    "epochLabel": QLabel,
    "dataTable": QTableWidget,
    "addPointButton": QPushButton,
    "deletePointButton": QPushButton,
    "speedCombo": QComboBox,
    "presetCombo": QComboBox,
    "logScaleCheck": QCheckBox,
    "stepPanel": QTextEdit,
    "logPanel": QPlainTextEdit,
    "statusStateLabel": QLabel,
    "statusEpochLabel": QLabel,
}


def step_text(window) -> str:
    """The step panel as plain text, its non-breaking spaces made ordinary."""
    return find(window, QTextEdit, "stepPanel").toPlainText().replace("\xa0", " ")


def epoch_label(window) -> str:
    return find(window, QLabel, "epochLabel").text()


def step(qtbot, window, times=1):
    """Trigger actionStep `times` times, waiting for each new epoch to be recorded."""
    model = window.model
    for _ in range(times):
        expected = len(model.history) + 1
        action(window, "actionStep").trigger()
        qtbot.waitUntil(lambda e=expected: len(model.history) == e and model.cursor == e,
                        timeout=15_000)


def wait_label(qtbot, window, epoch):
    """The label is redrawn on the coalesced `updated` (~16 ms later)."""
    total = window.model.config.epochs
    qtbot.waitUntil(lambda: epoch_label(window) == f"Epoch {epoch} / {total}", timeout=2000)


# --- 1. construction -----------------------------------------------------------------------------

def test_title_contract_objects_and_defaults(qtbot, window):
    assert isinstance(window, MainWindow)
    assert window.windowTitle().startswith("gdviz")
    for name, cls in CONTRACT.items():
        find(window, cls, name)

    assert action(window, "actionPlay").isCheckable()
    assert not action(window, "actionPlay").isChecked()
    trainers = find(window, QComboBox, "trainerCombo")
    assert [trainers.itemData(i) for i in range(trainers.count())] == ["numpy", "autograd", "nn"]
    assert trainers.currentData() == "numpy"
    speeds = find(window, QComboBox, "speedCombo")
    data = [speeds.itemData(i) for i in range(speeds.count())]
    assert None in data  # unthrottled
    assert all(d is None or d > 0 for d in data)

    config = window.model.config
    assert config == build_config("numpy")
    assert (config.trainer, config.lr, config.epochs, config.w0) == ("numpy", 0.01, 10, 0.0)
    assert config.x == (1, 2, 3, 4) and config.y == (2, 4, 6, 8)
    assert find(window, QDoubleSpinBox, "lrSpin").value() == pytest.approx(0.01)
    assert find(window, QSpinBox, "epochsSpin").value() == 10

    table = find(window, QTableWidget, "dataTable")
    assert table.columnCount() == 2
    assert [table.horizontalHeaderItem(c).text() for c in (0, 1)] == ["x", "y"]
    cells = [(float(table.item(r, 0).text()), float(table.item(r, 1).text()))
             for r in range(table.rowCount())]
    assert cells == [(1, 2), (2, 4), (3, 6), (4, 8)]

    model = window.model
    assert model.state == "ready"
    assert model.cursor == 0 and len(model.history) == 0
    assert model.history.initial_params == (0.0,)
    assert "0" in epoch_label(window)
    assert find(window, QLabel, "statusStateLabel").text() == "ready"
    assert "0" in find(window, QLabel, "statusEpochLabel").text()


def test_log_shows_the_before_line_at_epoch_0(qtbot, window):
    """The notebook prints its `prediction before training` line before epoch 1 runs."""
    before = "prediction before training: f(5)0.000"
    qtbot.waitUntil(lambda: log_text(window) == before, timeout=2000)
    step(qtbot, window)
    qtbot.waitUntil(lambda: "epoch 1:" in log_text(window), timeout=2000)
    action(window, "actionStepBack").trigger()  # back at epoch 0: the line is still printed
    qtbot.waitUntil(lambda: "epoch 1:" not in log_text(window), timeout=2000)
    assert log_text(window) == before


# --- 2. every control ----------------------------------------------------------------------------

def test_every_action(qtbot, window):
    model = window.model
    play = action(window, "actionPlay")

    step(qtbot, window, 2)
    assert model.cursor == 2

    action(window, "actionStepBack").trigger()
    assert model.cursor == 1
    assert len(model.history) == 2

    play.trigger()
    assert play.isChecked()
    assert model.state == "playing"
    play.trigger()
    assert not play.isChecked()
    assert model.state != "playing"

    action(window, "actionReset").trigger()
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert model.cursor == 0 and len(model.history) == 0

    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert len(model.history) == 10 and model.cursor == 10
    assert not play.isChecked()

    action(window, "actionQuit").trigger()
    assert not window.isVisible()
    assert model._thread.isFinished()


def test_shortcuts(qtbot, focused):
    window, model = focused, focused.model
    target = window.plots_area
    play = action(window, "actionPlay")

    qtbot.keyClick(target, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: len(model.history) == 1 and model.cursor == 1, timeout=5000)
    qtbot.keyClick(target, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: len(model.history) == 2 and model.cursor == 2, timeout=5000)

    qtbot.keyClick(target, Qt.Key.Key_Left)
    assert model.cursor == 1

    qtbot.keyClick(target, Qt.Key.Key_Space)
    assert model.state == "playing" and play.isChecked()
    qtbot.keyClick(target, Qt.Key.Key_Space)
    assert model.state != "playing" and not play.isChecked()

    qtbot.keyClick(target, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert model.cursor == 0 and len(model.history) == 0

    qtbot.keyClick(target, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert len(model.history) == 10

    qtbot.keyClick(target, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible()
    assert model._thread.isFinished()


# --- 3. three steps on the notebook's numpy cell -------------------------------------------------

def test_three_steps_match_the_notebook(qtbot, window):
    step(qtbot, window, 3)
    model = window.model
    assert model.history.trajectory("w").tolist() == pytest.approx([0, 1.2, 1.68, 1.872],
                                                                   abs=1e-6)
    wait_label(qtbot, window, 3)
    assert "3" in epoch_label(window)
    qtbot.waitUntil(lambda: "Epoch 3 of 10" in step_text(window), timeout=2000)
    text = step_text(window)
    # The result may stand on its own line when the panel is narrow (never a broken expression).
    assert " ".join(text.split()).count("w ← 1.680 − 0.01 × (−19.200) = 1.872") == 1
    assert "dw = −19.200" in text and "4 × dL/dw" in " ".join(text.split())  # the cell's dw
    assert "= 0.76800019" in text  # the loss before the update, as the notebook prints it


# --- 4. play, then pause -------------------------------------------------------------------------

def test_play_then_pause(qtbot, make_window):
    window = make_window(build_config("numpy", {"epochs": 1000}))
    model = window.model
    speed = find(window, QComboBox, "speedCombo")
    speed.setCurrentIndex(speed.findData(10.0))
    play = action(window, "actionPlay")

    play.trigger()
    assert play.isChecked() and model.state == "playing"
    qtbot.waitUntil(lambda: len(model.history) >= 3, timeout=5000)
    play.trigger()
    assert not play.isChecked()
    assert model.state == "paused"
    qtbot.wait(200)  # an epoch already on its way may still land
    count = len(model.history)
    assert count < 1000
    qtbot.wait(500)  # at 10 epochs/s, five more would have arrived
    assert len(model.history) == count
    assert model.state == "paused"
    assert model.cursor == count


# --- 5. run to end -------------------------------------------------------------------------------

def test_run_to_end_prints_the_notebook_lines(qtbot, window, reference):
    model = window.model
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert len(model.history) == 10 and model.cursor == 10
    qtbot.waitUntil(lambda: "prediction after training" in log_text(window), timeout=2000)
    assert log_text(window).split("\n") == reference["numpy"]
    assert find(window, QLabel, "statusStateLabel").text() == "finished"
    assert "Finished 10 epochs" in message(window)


# --- 7. step back, replay, seek ------------------------------------------------------------------

def test_step_back_replays_before_training(qtbot, make_window):
    window = make_window(build_config("numpy", {"epochs": 20}))
    model = window.model
    slider = find(window, QSlider, "timelineSlider")
    step(qtbot, window, 5)
    w5 = model.history.trajectory("w").tolist()

    action(window, "actionStepBack").trigger()
    action(window, "actionStepBack").trigger()
    assert model.cursor == 3
    wait_label(qtbot, window, 3)
    assert slider.value() == 3
    assert slider.maximum() == 20  # the whole run: 3 of 20 must not look complete
    qtbot.waitUntil(lambda: "Epoch 3 of 20" in step_text(window), timeout=2000)
    assert "w ← 1.680 − 0.01 × (−19.200) = 1.872" in " ".join(step_text(window).split())
    # the log shows the notebook's lines up to the cursor only
    qtbot.waitUntil(lambda: "epoch 4:" not in log_text(window), timeout=2000)
    assert "epoch 3: w = 1.872" in log_text(window)

    action(window, "actionStep").trigger()  # a replay: nothing new is trained
    assert model.cursor == 4 and len(model.history) == 5
    action(window, "actionStep").trigger()
    assert model.cursor == 5 and len(model.history) == 5
    qtbot.wait(100)
    assert len(model.history) == 5

    step(qtbot, window)  # now epoch 6 is trained
    assert len(model.history) == 6 and model.cursor == 6
    assert model.history.trajectory("w").tolist()[:6] == w5  # the replayed epochs are unchanged
    wait_label(qtbot, window, 6)

    slider.setValue(2)
    assert model.cursor == 2
    wait_label(qtbot, window, 2)
    assert len(model.history) == 6
    slider.setValue(6)
    assert model.cursor == 6


# --- 12. speed -----------------------------------------------------------------------------------

def test_speed_change_while_playing_takes_effect(qtbot, make_window):
    window = make_window(build_config("numpy", {"epochs": 10_000}))
    model = window.model
    speed = find(window, QComboBox, "speedCombo")
    speed.setCurrentIndex(speed.findData(1.0))
    action(window, "actionPlay").trigger()
    qtbot.waitUntil(lambda: len(model.history) >= 1, timeout=3000)
    assert len(model.history) <= 3  # 1 epoch/s

    speed.setCurrentIndex(speed.findData(1000.0))
    assert model.state == "playing"
    qtbot.waitUntil(lambda: len(model.history) >= 300, timeout=5000)  # 5 minutes at 1/s
    assert model.state == "playing"
    speed.setCurrentIndex(speed.findData(1.0))
    qtbot.wait(300)
    slow = len(model.history)
    qtbot.wait(1300)  # at 1 epoch/s, at most about one more epoch
    assert len(model.history) - slow <= 2
    action(window, "actionPlay").trigger()
    assert model.state == "paused"


def test_unthrottled_play_reaches_finished(qtbot, window):
    model = window.model
    speed = find(window, QComboBox, "speedCombo")
    speed.setCurrentIndex(speed.findData(None))
    assert speed.currentData() is None
    action(window, "actionPlay").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert len(model.history) == 10 and model.cursor == 10
    assert not action(window, "actionPlay").isChecked()


# --- 13. lr slider, epochs spin ------------------------------------------------------------------

def test_lr_slider_moves_the_spin_and_resets(qtbot, window):
    model = window.model
    step(qtbot, window, 2)
    slider = find(window, QSlider, "lrSlider")
    spin = find(window, QDoubleSpinBox, "lrSpin")
    position = slider.maximum() * 2 // 3  # 1e-5 .. 10 on a log scale: 2/3 of the way is 0.1
    slider.setValue(position)
    assert spin.value() == pytest.approx(0.1)
    # Applied once the slider is still (keys and wheel), not on every tick.
    qtbot.waitUntil(lambda: model.config.lr == pytest.approx(0.1), timeout=2000)
    assert model.cursor == 0
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert len(model.history) == 0
    step(qtbot, window)
    # w1 = 0 - lr * dot(2x, 0 - y) = 0.1 * 120 (at lr 0.01 it is the notebook's 1.2)
    assert model.history.trajectory("w")[1] == pytest.approx(12.0, rel=1e-6)

    spin.setValue(0.02)
    assert slider.value() < position
    assert model.config.lr == pytest.approx(0.02)


def test_epochs_spin_resets_with_the_new_limit(qtbot, window):
    model = window.model
    step(qtbot, window, 2)
    find(window, QSpinBox, "epochsSpin").setValue(4)
    assert model.config.epochs == 4
    assert model.cursor == 0
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert len(model.history) == 0
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert len(model.history) == 4
    wait_label(qtbot, window, 4)
    action(window, "actionStep").trigger()  # at the limit: a message, no fifth epoch
    assert "limit" in message(window)
    qtbot.wait(100)
    assert len(model.history) == 4
