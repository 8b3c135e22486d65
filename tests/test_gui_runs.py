"""pytest-qt tests of runs under stress: trainer switch mid-play, divergence, the log scale,
closing while training, and 200,000 cross-thread signals through the real worker.

No warning may escape (filterwarnings = error) and no Qt warning may be logged
(qt_log_level_fail = WARNING): a plot that chokes on inf/nan fails the test that drew it.
"""

from __future__ import annotations

import time

import pytest
from gui_helpers import action, find, log_text, message
from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QSlider,
    QSpinBox,
)

from gdviz.core.config import build_config

TORCH_TIMEOUT = 15_000  # the first torch trainer imports torch in the worker (~2 s, more if busy)


def settle(qtbot, window):
    """Let the coalesced redraw (~16 ms) happen, so every plot draws the current state."""
    qtbot.wait(60)
    window.repaint()


# --- 6. switching trainer mid-play ---------------------------------------------------------------

def test_switch_trainer_while_playing(qtbot, window):
    model = window.model
    speed = find(window, QComboBox, "speedCombo")
    speed.setCurrentIndex(speed.findData(5.0))
    play = action(window, "actionPlay")
    play.trigger()
    qtbot.waitUntil(lambda: len(model.history) >= 2, timeout=5000)
    assert model.state == "playing"

    trainers = find(window, QComboBox, "trainerCombo")
    trainers.setCurrentIndex(trainers.findData("nn"))
    assert model.config.trainer == "nn"
    assert model.cursor == 0
    # A setting change keeps playing (it used to silently stop): the new run plays once ready.
    assert play.isChecked() and "restarted from epoch 0; still playing" in message(window)
    qtbot.waitUntil(lambda: model.history is not None and len(model.history) >= 2,
                    timeout=TORCH_TIMEOUT)
    assert model.state == "playing"
    assert model.history.param_names == ("w", "b")
    assert "torch.nn" in window.windowTitle()
    play.trigger()
    assert model.state == "paused" and not play.isChecked()
    qtbot.waitUntil(lambda: "epoch 1:" in log_text(window), timeout=2000)
    lines = log_text(window).split("\n")
    assert lines[:2] == ["prediction before training: f(5.0)0.499",
                         "epoch 1: w = 0.267, loss = 25.12827873"]  # no numpy epoch in it

    play.trigger()
    assert play.isChecked() and model.state == "playing"
    qtbot.waitUntil(lambda: len(model.history) >= 4, timeout=5000)
    play.trigger()
    assert model.state == "paused"
    assert len(model.history.trajectory("b")) == len(model.history) + 1


# --- 8. divergence -------------------------------------------------------------------------------

@pytest.mark.parametrize(("trainer", "epochs", "diverged_at"), [("numpy", 100, 12),
                                                                ("nn", 100, 17)])
def test_divergence_is_reported_and_drawn_sanely(qtbot, make_window, trainer, epochs,
                                                 diverged_at):
    window = make_window(build_config(trainer), timeout=TORCH_TIMEOUT)
    model = window.model
    # numpy: 10 epochs at lr 1 end finite (w ~ -1e18); with 100 it overflows at epoch 12
    find(window, QSpinBox, "epochsSpin").setValue(epochs)
    find(window, QDoubleSpinBox, "lrSpin").setValue(1.0)
    assert model.config.lr == 1.0 and model.config.epochs == epochs
    qtbot.waitUntil(lambda: model.state == "ready", timeout=TORCH_TIMEOUT)

    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "diverged", timeout=TORCH_TIMEOUT)
    assert model.diverged_at == diverged_at
    assert len(model.history) == diverged_at and model.cursor == diverged_at
    assert "Diverged" in message(window)
    assert find(window, QLabel, "statusStateLabel").text() == "diverged"
    settle(qtbot, window)

    play = action(window, "actionPlay")
    play.trigger()  # nothing to train: it says so, and stays diverged
    assert model.state == "diverged" and not play.isChecked()
    assert "Diverged" in message(window)
    action(window, "actionStep").trigger()
    qtbot.wait(200)
    assert len(model.history) == diverged_at
    assert model.state == "diverged"

    slider = find(window, QSlider, "timelineSlider")  # every epoch redrawn, the bad one too
    for epoch in (0, diverged_at // 2, diverged_at - 1, diverged_at):
        slider.setValue(epoch)
        assert model.cursor == epoch
        settle(qtbot, window)
    find(window, QCheckBox, "logScaleCheck").setChecked(True)
    settle(qtbot, window)

    action(window, "actionReset").trigger()
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert len(model.history) == 0


# --- 14. the log-scale toggle --------------------------------------------------------------------

def test_log_scale_toggle(qtbot, window):
    model = window.model
    check = find(window, QCheckBox, "logScaleCheck")
    menu_action = window.findChild(QAction, "actionLogScale")
    plot_item = window.loss_plot.plot.getPlotItem()

    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    settle(qtbot, window)
    check.setChecked(True)
    settle(qtbot, window)
    if menu_action is not None:
        assert menu_action.isChecked()
    # the y axis now shows log10(loss): 30 ... 2e-6, i.e. about 1.5 ... -5.7
    low, high = plot_item.viewRange()[1]
    assert -9 < low < -5 and 1 < high < 4
    find(window, QSlider, "timelineSlider").setValue(4)
    settle(qtbot, window)
    check.setChecked(False)
    settle(qtbot, window)
    low, high = plot_item.viewRange()[1]
    assert high > 25  # linear again: the first loss is 30


def test_log_scale_with_zero_loss(qtbot, make_window):
    """y = 0 everywhere and w0 = 0: every loss is exactly 0, which has no logarithm."""
    window = make_window(build_config("numpy", {"y": (0.0, 0.0, 0.0, 0.0)}))
    model = window.model
    check = find(window, QCheckBox, "logScaleCheck")
    check.setChecked(True)
    settle(qtbot, window)
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert model.history.column("loss").tolist() == [0.0] * 10
    settle(qtbot, window)
    check.setChecked(False)
    settle(qtbot, window)
    check.setChecked(True)
    settle(qtbot, window)


def test_log_scale_with_a_diverged_run(qtbot, window):
    model = window.model
    check = find(window, QCheckBox, "logScaleCheck")
    check.setChecked(True)
    find(window, QSpinBox, "epochsSpin").setValue(100)
    find(window, QDoubleSpinBox, "lrSpin").setValue(1.0)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "diverged", timeout=5000)
    settle(qtbot, window)
    check.setChecked(False)
    settle(qtbot, window)
    check.setChecked(True)
    settle(qtbot, window)


# --- 10. closing mid-play ------------------------------------------------------------------------

def test_close_while_playing_unthrottled_joins_the_thread(qtbot, make_window):
    window = make_window(build_config("numpy", {"epochs": 10**7}))
    model = window.model
    speed = find(window, QComboBox, "speedCombo")
    speed.setCurrentIndex(speed.findData(None))
    action(window, "actionPlay").trigger()
    qtbot.waitUntil(lambda: len(model.history) > 20_000, timeout=10_000)
    assert model.state == "playing"
    thread = model._thread
    assert thread.isRunning()

    start = time.perf_counter()
    window.close()
    elapsed = time.perf_counter() - start
    assert not window.isVisible()
    assert thread.isFinished()
    assert elapsed < 1.0, f"closing took {elapsed:.2f} s"


# --- 11. 200,000 signals through the real worker -------------------------------------------------

class SignalCounter(QObject):
    """Counts the worker's batches in the GUI thread (a bound @Slot: a queued connection)."""

    def __init__(self) -> None:
        super().__init__()
        self.signals = 0
        self.records = 0

    @Slot(object)
    def on_epochs_finished(self, batch) -> None:
        self.signals += 1
        self.records += len(batch.records)


@pytest.mark.slow
def test_200k_single_epoch_signals(qtbot):
    """One signal per epoch, 200,000 times: PySide6 6.12 on Python < 3.12 aborts here."""
    from gdviz.ui.run_model import RunModel

    epochs = 200_000
    # batch_seconds=0: no batching, every epoch is its own signal. (Set on the worker after
    # the thread started, it raced the loop's start and batched now and then.)
    model = RunModel(build_config("numpy", {"epochs": epochs, "log_every": 1000}),
                     batch_seconds=0)
    counter = SignalCounter()
    try:
        model._worker.epochs_finished.connect(counter.on_epochs_finished)
        qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
        model.set_speed(None)
        model.play()
        qtbot.waitUntil(lambda: model.epochs_recorded == epochs, timeout=180_000)
        qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
        assert counter.records == epochs
        assert counter.signals == epochs
        assert model.history.column("w")[-1] == pytest.approx(2.0, abs=1e-6)
    finally:
        model.shutdown()
