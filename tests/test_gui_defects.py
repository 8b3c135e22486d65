"""The defects found by trying the window as a new user would, each replayed impolitely:
keys while the trainer loads, a focused text field, a failing trainer, setting changes while
playing, dropped and closed windows while torch loads.

A slow trainer build stands in for torch's import (`slow_builds`), so these tests do not depend
on whether an earlier test already imported torch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest
from gui_helpers import action, find, message
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLabel, QSlider, QSpinBox

from gdviz.core import trainers
from gdviz.core.config import build_config

TORCH_TIMEOUT = 20_000
BUILD_SECONDS = 1.0


@pytest.fixture
def slow_builds(monkeypatch):
    """Every trainer takes BUILD_SECONDS to build, like the first torch trainer."""
    for cls in (trainers.NumpyTrainer, trainers.AutogradTrainer, trainers.NNTrainer):
        original = cls.__init__

        def slow_init(self, config, _original=original):
            time.sleep(BUILD_SECONDS)
            _original(self, config)

        monkeypatch.setattr(cls, "__init__", slow_init)


def switch_trainer(window, name):
    combo = find(window, QComboBox, "trainerCombo")
    combo.setCurrentIndex(combo.findData(name))


# --- 1. commands while a trainer loads -----------------------------------------------------------

@pytest.mark.parametrize("trainer", ["numpy", "nn"])
def test_end_while_loading_runs_to_the_end(qtbot, focused, slow_builds, trainer):
    window, model = focused, focused.model
    switch_trainer(window, trainer if trainer != "numpy" else "autograd")
    if trainer == "numpy":
        switch_trainer(window, "numpy")
    assert model.state == "loading"
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Space)
    qtbot.keyClick(window.plots_area, Qt.Key.Key_End)  # the latest intent wins
    assert model.state == "loading" and "run to the end once it is ready" in message(window)
    assert action(window, "actionPlay").isChecked()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=TORCH_TIMEOUT)
    assert len(model.history) == model.config.epochs


def test_steps_while_loading_add_up(qtbot, focused, slow_builds):
    window, model = focused, focused.model
    action(window, "actionReset").trigger()
    for _ in range(3):
        qtbot.keyClick(window.plots_area, Qt.Key.Key_Right)
    assert "3 steps once it is ready" in message(window)
    qtbot.waitUntil(lambda: model.history is not None and len(model.history) == 3,
                    timeout=TORCH_TIMEOUT)
    qtbot.wait(100)
    assert model.cursor == 3 and len(model.history) == 3


def test_space_after_a_setting_change_while_loading_plays(qtbot, focused, slow_builds):
    window, model = focused, focused.model
    find(window, QSpinBox, "epochsSpin").setValue(30)
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: model.history is not None and len(model.history) >= 2,
                    timeout=TORCH_TIMEOUT)
    assert model.state in ("playing", "finished")


# --- 4. an exception in a trainer ----------------------------------------------------------------

def test_a_failing_step_is_reported_and_reset_trains_again(qtbot, window, monkeypatch):
    model = window.model
    original = trainers.NumpyTrainer.step

    def failing_step(self):
        if self.epoch == 2:
            raise FloatingPointError("broken on purpose")
        return original(self)

    monkeypatch.setattr(trainers.NumpyTrainer, "step", failing_step)
    action(window, "actionPlay").trigger()
    qtbot.waitUntil(lambda: model.state == "failed", timeout=5000)
    assert "training failed at epoch 3" in message(window)
    assert "FloatingPointError" in message(window)
    assert "failed" in find(window, QLabel, "statusStateLabel").text()
    assert not action(window, "actionPlay").isChecked()

    monkeypatch.setattr(trainers.NumpyTrainer, "step", original)
    action(window, "actionReset").trigger()
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    assert len(model.history) == 10


# --- 5. the first "Loading PyTorch…" message -----------------------------------------------------

def test_the_first_loading_message_is_shown(qtbot, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)  # as on a fresh start
    monkeypatch.setattr(trainers.NNTrainer, "__init__", _never_ready)
    from gdviz.ui import MainWindow

    window = MainWindow(build_config("nn"))
    qtbot.addWidget(window)
    try:
        assert message(window) == "Loading PyTorch…"
        assert window.model.state == "loading"
    finally:
        window.close()


def _never_ready(self, config):
    raise ImportError("torch is not installed in this test")


# --- 7. keys trapped by a focused field ----------------------------------------------------------

@pytest.mark.parametrize("name", ["lrSpin", "epochsSpin", "w0Spin", "xTestSpin"])
def test_enter_in_a_field_gives_the_keys_back(qtbot, focused, name):
    window, model = focused, focused.model
    spin = find(window, QDoubleSpinBox if name != "epochsSpin" else QSpinBox, name)
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    spin.lineEdit().selectAll()
    text = {"lrSpin": "0.02", "epochsSpin": "40", "w0Spin": "0.5", "xTestSpin": "6"}[name]
    qtbot.keyClicks(spin.lineEdit(), text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not spin.hasFocus(), timeout=2000)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert spin.text().strip() != ""
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: model.cursor == 1, timeout=5000)
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Space)
    assert model.state == "playing"
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Space)


def test_escape_in_a_field_drops_the_typing_and_gives_the_keys_back(qtbot, focused):
    window, model = focused, focused.model
    spin = find(window, QDoubleSpinBox, "lrSpin")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "0.5")
    qtbot.keyClick(spin, Qt.Key.Key_Escape)
    assert not spin.hasFocus()
    assert model.config.lr == 0.01 and spin.value() == pytest.approx(0.01)
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: model.cursor == 1, timeout=5000)


# --- 8. a setting change while playing -----------------------------------------------------------

def test_setting_change_while_playing_keeps_playing_and_says_why(qtbot, make_window):
    window = make_window(build_config("numpy", explicit={"epochs": 1000}))
    model = window.model
    action(window, "actionPlay").trigger()
    qtbot.waitUntil(lambda: model.cursor >= 2, timeout=5000)
    find(window, QDoubleSpinBox, "lrSpin").setValue(0.02)
    assert message(window) == ("learning rate 0.01 → 0.02: the run restarted from epoch 0; "
                               "still playing")
    qtbot.waitUntil(lambda: model.history is not None and len(model.history) >= 2,
                    timeout=5000)
    assert model.state == "playing" and model.config.lr == 0.02


def test_an_lr_slider_drag_restarts_once_on_release(qtbot, window):
    model = window.model
    slider = find(window, QSlider, "lrSlider")
    restarts = []
    model.run_reset.connect(lambda: restarts.append(model.config.lr))
    slider.setSliderDown(True)
    for position in range(slider.value(), slider.value() + 60):
        slider.setSliderPosition(position)  # what a mouse drag does, tick by tick
    assert restarts == []
    slider.setSliderDown(False)
    slider.sliderReleased.emit()
    assert len(restarts) == 1
    assert model.config.lr == find(window, QDoubleSpinBox, "lrSpin").value()


# --- 13. seeds as large as the CLI's -------------------------------------------------------------

def test_the_seed_box_takes_seeds_up_to_2_63(qtbot, make_window):
    window = make_window(build_config("numpy"))
    seed = window.controls.seed_spin
    assert seed.objectName() == "seedSpin" and seed.maximum() == 2**63 - 1
    switch_trainer(window, "nn")
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=TORCH_TIMEOUT)
    seed.setValue(2**63 - 1)
    assert window.model.config.seed == 2**63 - 1
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=TORCH_TIMEOUT)
    seed.setValue(2**64)
    assert seed.value() == 2**63 - 1


# --- 18. the epoch limit costs memory ------------------------------------------------------------

def test_epochs_are_capped_at_what_the_machine_holds_and_the_cost_is_said(qtbot, window):
    from gdviz.core.history import history_bytes, window_epoch_limit

    spin = find(window, QSpinBox, "epochsSpin")
    assert spin.maximum() == window_epoch_limit(1, 4) <= 10**8
    spin.setValue(spin.maximum())
    cost = history_bytes(1, 4, spin.maximum())
    assert cost <= _memory() // 4
    assert "MB" in find(window, QLabel, "memoryLabel").text()


def _memory() -> int:
    from gdviz.core.history import physical_memory

    return physical_memory()


# --- 14, 15. dropped and closed windows ----------------------------------------------------------

DROP_SCRIPT = textwrap.dedent("""
    import gc, os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from gdviz.core import trainers
    from gdviz.core.config import build_config
    from gdviz.ui.app import make_application
    from gdviz.ui import MainWindow
    app = make_application()
    if "{slow}" == "yes":  # a slow disk: torch's first import takes 2 s more
        from gdviz.core import torch_preload
        original = torch_preload._import
        def slow():
            time.sleep(2.0)
            original()
        torch_preload._import = slow

    def spin(seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    MainWindow(build_config("{trainer}")).show()  # no reference kept
    spin(0.3)
    w = MainWindow(build_config("{trainer}"))
    w.show()
    spin(0.3)
    w = MainWindow(build_config("{trainer}"))  # re-running a notebook cell
    w.show()
    spin(0.3)
    start = time.perf_counter()
    w.close()
    closed = time.perf_counter() - start
    del w
    gc.collect()
    spin(0.5)
    print("closed in", round(closed, 3))
""")


@pytest.mark.parametrize(("trainer", "slow"), [("numpy", "no"), ("nn", "yes")])
def test_dropping_open_windows_does_not_abort_python(trainer, slow):
    result = subprocess.run([sys.executable, "-c", DROP_SCRIPT.format(trainer=trainer,
                                                                       slow=slow)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Destroyed while thread" not in result.stderr
    closed = float(result.stdout.split("closed in")[1])
    assert closed < 1.0


FREED_SCRIPT = textwrap.dedent("""
    import gc, os, time, weakref
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from gdviz.core.config import build_config
    from gdviz.ui.app import make_application
    from gdviz.ui import MainWindow
    app = make_application()
    gc.disable()  # only reference counting may free the window
    window = MainWindow(build_config("{trainer}"))
    window.show()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
    alive = weakref.ref(window)
    del window
    print("freed" if alive() is None else "kept alive by a reference cycle")
""")


@pytest.mark.parametrize("trainer", ["numpy", "nn"])
def test_a_dropped_window_is_freed_at_once_not_by_the_garbage_collector(trainer):
    """A reference cycle through the window (a child keeping a Python reference to it, a
    callback attribute) leaves it to the garbage collector, which may run in the training or
    torch-import thread and crash Qt there; the crash itself shows only sometimes, the cycle
    always."""
    result = subprocess.run([sys.executable, "-c", FREED_SCRIPT.format(trainer=trainer)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "freed"


def test_closing_while_torch_loads_returns_at_once_and_hears_nothing_later(qtbot, slow_builds):
    from gdviz.ui import MainWindow

    window = MainWindow(build_config("nn"))
    qtbot.addWidget(window)
    window.show()
    model = window.model
    redraws = []
    model.updated.connect(lambda: redraws.append(1))
    start = time.perf_counter()
    window.close()
    assert time.perf_counter() - start < 1.0
    qtbot.wait(int(BUILD_SECONDS * 1000) + 500)
    assert model.history is None and redraws == []  # the late run_started was not heard


# --- found by trying it as a newcomer ------------------------------------------------------------

@pytest.mark.parametrize("trainer", ["numpy", "nn"])
def test_the_window_fits_a_1024_pixel_screen(qtbot, make_window, trainer):
    window = make_window(build_config(trainer), timeout=TORCH_TIMEOUT)
    assert window.minimumSizeHint().width() <= 1024
    assert window.minimumSizeHint().height() <= 768 - 40  # a task bar


def test_ctrl_c_in_the_terminal_quits_the_window() -> None:
    import os
    import signal

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen([sys.executable, "-m", "gdviz", "gui"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3.0)  # the window is up
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_step_panel_shows_the_last_epoch_once_play_ends(qtbot, window):
    """While playing it is written a few times a second; the end of a run writes it at once."""
    model = window.model
    action(window, "actionRunToEnd").trigger()
    qtbot.waitUntil(lambda: model.state == "finished", timeout=5000)
    qtbot.wait(100)
    text = " ".join(window.step_panel.toPlainText().split())
    assert "Epoch 10 of 10" in text
