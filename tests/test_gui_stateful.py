"""Hypothesis drives the main window through user actions only and checks it after every one.

A `RuleBasedStateMachine` builds a `MainWindow` and then presses transport actions, switches
trainers (the torch ones import torch in the worker the first time, ~2 s: the window must keep
taking commands meanwhile), moves the learning rate above and below the critical value, changes
the epochs, picks presets, types numbers and garbage into the data table, drags the timeline,
changes the speed (unthrottled included) and waits a little. After every rule it checks what a
user can see and what the model promises (see `Machine.check`); closing the window must return
in under a second, however busy it is.

Every rule body runs inside `qtbot.captureExceptions()`: an exception raised in a slot fails the
rule that triggered it, so hypothesis can shrink to the shortest sequence of steps. Qt warnings
fail the test through pytest-qt (`qt_log_level_fail = "WARNING"` in pyproject.toml).

Beyond the brief's actions the machine also presses transport keys in bursts (keys pressed while
the window was busy arrive together), fills a whole column, adds and deletes points, sets w0/b0,
toggles the log scale and the seeded start, and switches the gradient mode. At rest (after a wait
of SETTLE_MS with nothing playing) the epoch label and the timeline must show the cursor.

A step that hangs (a paint that never returns) cannot be interrupted: a watchdog ends the process
after RULE_HANG_S with a traceback, and the example's steps are in STEP_LOG
(.hypothesis/gdviz-stateful-steps.txt).

CI runs 50 examples; `GDVIZ_STATEFUL_EXAMPLES=500` (and `GDVIZ_STATEFUL_STEPS=40`) runs longer
locally; `pytest --hypothesis-seed=N` replays one seed.
"""

from __future__ import annotations

import faulthandler
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from gui_helpers import find
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
)

EXAMPLES = int(os.environ.get("GDVIZ_STATEFUL_EXAMPLES", "50"))
STEPS = int(os.environ.get("GDVIZ_STATEFUL_STEPS", "20"))

STATES = {"loading", "ready", "playing", "paused", "finished", "diverged", "failed"}
TRANSPORT = ("actionPlay", "actionStep", "actionStepBack", "actionReset", "actionRunToEnd")
# numpy twice: the torch trainers are in the mix, but not in every other step.
TRAINERS = ("numpy", "numpy", "autograd", "nn")
# Multiples of the critical learning rate: well below, just below, just above, far above (the
# far ones overflow float64 within a few hundred epochs, float32 within a few dozen).
LR_FACTORS = (0.05, 0.5, 0.9, 0.99, 1.01, 1.1, 2.0, 10.0, 1e3, 1e6)
CELL_TEXTS = (
    # numbers a user types, degenerate ones included (all x equal to 0 has no curvature)
    "0", "1", "-1", "2.5", "4", "-3", "1e6", "1e-30", "3e38", "-3.4e38", " 7 ", "1_000",
    # garbage the table must refuse (and keep the last valid data)
    "abc", "", "1e39", "nan", "inf", "-inf", "1,5", "0x10", "--1",
)
LABEL = re.compile(r"Epoch (\d+) / (\d+)")
CLOSE_LIMIT_S = 1.0
RULE_HANG_S = 60  # one user action (a 200 ms wait, a 300-epoch run) takes well under a second
STEP_LOG = Path(__file__).resolve().parent.parent / ".hypothesis" / "gdviz-stateful-steps.txt"
SETTLE_MS = 60  # a wait this long lets the coalesced redraws (~16 ms apart) catch up
FINITE_ROWS = 5  # the history's last rows checked for finiteness after each step


class Machine(RuleBasedStateMachine):
    """One window per example; rules are user actions, `check` the invariants."""

    def __init__(self, qtbot, hang_timeout: float = 0.0, stderr_fd: int = 2) -> None:
        super().__init__()
        self.qtbot = qtbot
        self.hang_timeout = hang_timeout
        self.stderr_fd = stderr_fd  # the real stderr: pytest captures fd 2
        self.window = None

    # --- set-up and tear-down --------------------------------------------------------------------

    @initialize()
    def open_window(self) -> None:
        from gdviz.ui import MainWindow

        _steps.clear()
        _log_step("open_window()")
        with self.qtbot.captureExceptions() as exceptions:
            window = MainWindow()
            _windows.append(window)  # alive until the test ends, even if a thread is parked
            self.window = window
            window.show()
            self.qtbot.waitExposed(window)
        self._rearm_hang_timeout()
        assert not exceptions, _describe(exceptions)

    def teardown(self) -> None:
        window = self.window
        if window is None:
            return
        _log_step("teardown: window.close()")
        faulthandler.dump_traceback_later(RULE_HANG_S, exit=True, file=self.stderr_fd)
        with self.qtbot.captureExceptions() as exceptions:
            start = time.perf_counter()
            window.close()
            elapsed = time.perf_counter() - start
            window.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        self._rearm_hang_timeout()
        assert not exceptions, _describe(exceptions)
        assert elapsed < CLOSE_LIMIT_S, f"closing the window took {elapsed:.2f} s"

    # --- rules: what a user does -----------------------------------------------------------------

    @rule(name=st.sampled_from(TRANSPORT))
    def transport(self, name: str) -> None:
        self._do(lambda: find(self.window, QAction, name).trigger())

    @rule(names=st.lists(st.sampled_from(TRANSPORT), min_size=2, max_size=4))
    def key_burst(self, names: list[str]) -> None:
        """Keys pressed while the window was busy drawing arrive together: no worker report is
        handled between them."""
        actions = [find(self.window, QAction, name) for name in names]

        def press_all() -> None:
            for action in actions:
                action.trigger()

        self._do(press_all)

    @rule(trainer=st.sampled_from(TRAINERS))
    def switch_trainer(self, trainer: str) -> None:
        combo = find(self.window, QComboBox, "trainerCombo")
        index = combo.findData(trainer)
        assert index >= 0, f"trainerCombo has no item {trainer!r}"
        self._do(lambda: combo.setCurrentIndex(index))

    @rule(factor=st.sampled_from(LR_FACTORS))
    def set_lr(self, factor: float) -> None:
        spin = find(self.window, QDoubleSpinBox, "lrSpin")
        critical = self.window.model.critical_lr()
        target = critical * factor if math.isfinite(critical) else factor
        target = min(max(target, spin.minimum()), spin.maximum())
        self._do(lambda: spin.setValue(target),
                 f"set_lr(factor={factor!r})  # lr {target:g}, critical {critical:.4g}")

    @rule(epochs=st.integers(0, 300))
    def set_epochs(self, epochs: int) -> None:
        spin = find(self.window, QSpinBox, "epochsSpin")
        self._do(lambda: spin.setValue(epochs))

    @rule(data=st.data())
    def choose_preset(self, data: st.DataObject) -> None:
        combo = find(self.window, QComboBox, "presetCombo")
        index = data.draw(st.integers(0, combo.count() - 1), label="preset index")
        self._do(lambda: combo.activated.emit(index),
                 f"choose_preset(index={index})  # {combo.itemText(index)}")

    @rule(row=st.integers(0, 7), column=st.integers(0, 1), text=st.sampled_from(CELL_TEXTS))
    def edit_cell(self, row: int, column: int, text: str) -> None:
        table = find(self.window, QTableWidget, "dataTable")

        def edit() -> None:
            if table.rowCount() == 0:
                return
            if not table.editTriggers():
                return  # read-only (a large import): a user cannot type here
            item = table.item(row % table.rowCount(), column)
            if item is None:
                table.setItem(row % table.rowCount(), column, QTableWidgetItem(text))
            else:
                item.setText(text)

        self._do(edit)

    @rule(column=st.integers(0, 1), text=st.sampled_from(CELL_TEXTS))
    def fill_column(self, column: int, text: str) -> None:
        """Type the same value into every row of a column (all x = 0 has no curvature)."""
        table = find(self.window, QTableWidget, "dataTable")

        def fill() -> None:
            if not table.editTriggers():
                return
            for row in range(table.rowCount()):
                item = table.item(row, column)
                if item is None:
                    table.setItem(row, column, QTableWidgetItem(text))
                else:
                    item.setText(text)
                QApplication.processEvents()

        self._do(fill)

    @rule(button=st.sampled_from(("addPointButton", "deletePointButton")))
    def add_or_delete_point(self, button: str) -> None:
        self._do(lambda: find(self.window, QPushButton, button).click())

    @rule(name=st.sampled_from(("w0Spin", "b0Spin")),
          value=st.sampled_from((-1e6, -5.0, 0.0, 2.0, 1e6)))
    def set_start_value(self, name: str, value: float) -> None:
        spin = find(self.window, QDoubleSpinBox, name)
        if spin.isEnabled():  # b0 exists only with a bias, neither while seeded
            self._do(lambda: spin.setValue(value))

    @rule(name=st.sampled_from(("logScaleCheck", "seededCheck")))
    def toggle_check(self, name: str) -> None:
        check = find(self.window, QCheckBox, name)
        if check.isEnabled() and check.isVisibleTo(self.window):
            self._do(check.toggle)

    @rule(index=st.integers(0, 1))
    def set_gradient(self, index: int) -> None:
        combo = find(self.window, QComboBox, "gradientCombo")
        if combo.isEnabled():
            self._do(lambda: combo.setCurrentIndex(index))

    @rule(fraction=st.floats(0, 1))
    def move_timeline(self, fraction: float) -> None:
        slider = find(self.window, QSlider, "timelineSlider")
        value = slider.minimum() + round(fraction * (slider.maximum() - slider.minimum()))
        self._do(lambda: slider.setValue(value))

    @rule(data=st.data())
    def set_speed(self, data: st.DataObject) -> None:
        combo = find(self.window, QComboBox, "speedCombo")
        index = data.draw(st.integers(0, combo.count() - 1), label="speed index")
        self._do(lambda: combo.setCurrentIndex(index),
                 f"set_speed(index={index})  # {combo.itemText(index)}")

    @rule(ms=st.integers(0, 200))
    def wait(self, ms: int) -> None:
        self._do(lambda: self.qtbot.wait(ms))
        model = self.window.model
        if ms >= SETTLE_MS and not model.session.is_playing and str(model.state) != "loading":
            # At rest, redraws (coalesced to ~60 Hz) have caught up: what is shown is the run.
            text = find(self.window, QLabel, "epochLabel").text()
            match = LABEL.search(text)
            assert match and int(match.group(1)) == model.cursor, (
                f"at rest ({model.state}) epochLabel shows {text!r}, the cursor is {model.cursor}")
            slider = find(self.window, QSlider, "timelineSlider")
            assert slider.value() == model.cursor, (
                f"at rest ({model.state}) timelineSlider is at {slider.value()}, "
                f"the cursor is {model.cursor}")

    # --- invariants ------------------------------------------------------------------------------

    @invariant()
    def check(self) -> None:
        window = self.window
        if window is None:
            return
        model = window.model
        config = model.config
        state = str(model.state)
        assert state in STATES, f"unknown state {state!r}"

        text = find(window, QLabel, "epochLabel").text()
        match = LABEL.search(text)
        assert match, f"epochLabel shows no epoch: {text!r}"
        shown = int(match.group(1))
        assert 0 <= shown <= config.epochs, f"epochLabel {text!r} but epochs = {config.epochs}"

        history = model.history
        if state == "loading":
            assert history is None, "loading, yet a history is there"
        elif state != "failed":
            assert history is not None, f"{state}, yet no history"
        recorded = 0 if history is None else len(history)
        assert 0 <= model.cursor <= recorded, (
            f"cursor {model.cursor} outside 0..{recorded} "
            f"(history is None: {history is None}, state {state})")

        play = find(window, QAction, "actionPlay")
        assert play.isChecked() == model.session.is_playing, (
            f"actionPlay checked={play.isChecked()} but the run is_playing="
            f"{model.session.is_playing} (state {state}, pending {model.session.pending})")

        if history is not None and recorded and model.diverged_at is None:
            start = max(0, recorded - FINITE_ROWS)
            for name in history.column_names:
                values = history.column(name)[start:]
                assert np.isfinite(values).all(), (
                    f"history column {name!r} has non-finite values {values.tolist()} at epochs "
                    f"{start + 1}..{recorded}, but the run has not diverged (state {state}, "
                    f"lr {config.lr:g}, critical {model.critical_lr():.4g}, data x={config.x} "
                    f"y={config.y})")

    # --- helpers ---------------------------------------------------------------------------------

    def _do(self, action, step: str = "") -> None:
        """Run one user action, then let the event loop turn once, as it does between inputs.

        A watchdog kills the run if one action takes longer than RULE_HANG_S: a paint that never
        returns cannot be interrupted, and a hung CI job says less than a dead one. The steps of
        the example that hung are in STEP_LOG.
        """
        _log_step(step or _caller_step())
        # A traceback ending here: a step hung; its example's steps are in STEP_LOG.
        faulthandler.dump_traceback_later(RULE_HANG_S, exit=True, file=self.stderr_fd)
        with self.qtbot.captureExceptions() as exceptions:
            action()
            QApplication.processEvents()
        self._rearm_hang_timeout()
        assert not exceptions, _describe(exceptions)

    def _rearm_hang_timeout(self) -> None:
        if self.hang_timeout > 0:
            # pytest's faulthandler_timeout is per test; a long local run would trip it though
            # nothing hangs. Re-armed per step, it still catches a step that hangs.
            faulthandler.dump_traceback_later(self.hang_timeout, exit=False, file=self.stderr_fd)
        else:
            faulthandler.cancel_dump_traceback_later()


_windows: list = []
_steps: list[str] = []


def _real_stderr(config: pytest.Config) -> int:
    """The stderr pytest's own faulthandler writes to (fd 2 is captured during a test)."""
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key

        return config.stash[fault_handler_stderr_fd_key]
    except (ImportError, KeyError):
        return sys.__stderr__.fileno()


def _caller_step() -> str:
    """`rule_name(arg=value, ...)` of the rule that called _do, for the step log."""
    frame = sys._getframe(2)
    names = frame.f_code.co_varnames[1 : frame.f_code.co_argcount]
    args = ", ".join(f"{name}={frame.f_locals[name]!r}" for name in names)
    return f"{frame.f_code.co_name}({args})"


def _log_step(step: str) -> None:
    """Keep the current example's steps on disk: if a step hangs, they say how it got there."""
    _steps.append(step)
    STEP_LOG.parent.mkdir(exist_ok=True)
    STEP_LOG.write_text("\n".join(_steps) + "\n", encoding="utf-8")


def _describe(exceptions) -> str:
    import traceback

    return "exception(s) in slots:\n" + "\n".join(
        "".join(traceback.format_exception(kind, value, tb)) for kind, value, tb in exceptions)


def test_main_window_survives_random_user_sessions(qtbot, pytestconfig) -> None:
    hang_timeout = float(pytestconfig.getini("faulthandler_timeout") or 0)
    test_settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    try:
        run_state_machine_as_test(lambda: Machine(qtbot, hang_timeout, _real_stderr(pytestconfig)),
                                  settings=test_settings)
    finally:
        _windows.clear()



# --- found by the machine ------------------------------------------------------------------------

HANG_SCRIPT = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtWidgets import QApplication
app = QApplication([])
from gdviz.core.config import build_config
from gdviz.ui import MainWindow
window = MainWindow(build_config("numpy", {"y": (1.0, 2.0, -3.4e38, 4.0)}))
window.show()
for _ in range(50):
    app.processEvents()
window.close()
print("painted")
"""


# Found by the machine (fill/edit_cell): with y = (1, 2, -3.4e38, 4) the plots' titles, wrapped
# to the view box's width, and the value axis's tick labels resized each other forever; the
# window never finished painting. Titles now wrap to the plot's own width.
def test_window_paints_data_near_the_float32_limit() -> None:
    """The shrunk case of the machine's hang, in a subprocess: a paint cannot be interrupted."""
    try:
        result = subprocess.run([sys.executable, "-c", HANG_SCRIPT], capture_output=True,
                                text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("the window did not finish painting within 15 s")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "painted" in result.stdout
