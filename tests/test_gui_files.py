"""Sessions and settings in the window: save → open reproduces the work exactly; bad files are
refused in words with the work kept; drops; recent sessions; what the window remembers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gui_helpers import action, message
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from gdviz.core.config import build_config
from gdviz.ui import preferences


def steps(qtbot, window, count: int) -> None:
    target = window.model.cursor + count
    for _ in range(count):
        window.model.step()
    qtbot.waitUntil(lambda: window.model.cursor == target, timeout=10_000)


def ready(qtbot, window, timeout: int = 10_000) -> None:
    qtbot.waitUntil(lambda: window.model.state in ("ready", "paused", "finished"),
                    timeout=timeout)


def save_as(monkeypatch, window, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    action(window, "actionSaveSession").trigger()


def opened(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.files.opening, timeout=20_000)
    ready(qtbot, window)


def open_file(monkeypatch, qtbot, window, path: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    action(window, "actionOpenSession").trigger()
    opened(qtbot, window)


def work(window) -> tuple:
    model = window.model
    pins = tuple((p.config, p.epochs, p.color, tuple(map(tuple, p.trajectories)),
                  tuple(p.loss_after)) for p in model.pins)
    history = model.history
    return (model.config, model.cursor, model.phase, len(history),
            tuple(history.column("loss")), tuple(history.trajectory("w")), pins)


def test_save_then_open_reproduces_config_data_cursor_phase_and_pins(qtbot, monkeypatch,
                                                                       tmp_path, window):
    model = window.model
    model.set_config(model.config.replace(lr=0.02, x=(1.0, 2.0, 3.5), y=(2.5, 3.0, 7.0)))
    ready(qtbot, window)
    steps(qtbot, window, 3)
    model.pin_run()
    model.set_config(model.config.replace(lr=0.015))
    ready(qtbot, window)
    steps(qtbot, window, 6)
    model.seek(4)
    model.sub_step()  # epoch 5's forward... the cursor stays at a recorded epoch
    qtbot.waitUntil(lambda: model.phase is not None, timeout=5000)
    window.loss_plot.log_check.setChecked(True)
    saved_work = work(window)
    path = tmp_path / "lecture.gdviz"
    save_as(monkeypatch, window, path)
    assert path.is_file() and "Saved lecture.gdviz" in message(window)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == "gdviz-session" and document["version"] == 1
    # Change everything, then open the file again.
    window.loss_plot.log_check.setChecked(False)
    model.clear_pins()
    model.set_config(build_config("numpy", {"lr": 0.03}))
    ready(qtbot, window)
    steps(qtbot, window, 2)
    open_file(monkeypatch, qtbot, window, path)
    assert work(window) == saved_work
    assert window.loss_plot.log_check.isChecked()
    assert "opened lecture.gdviz" in message(window)
    # The opened run goes on from where it was.
    model.seek(len(model.history))
    steps(qtbot, window, 1)
    assert len(model.history) == saved_work[3] + 1


@pytest.mark.parametrize(("text", "words"), [
    ('{"format": "gdviz-session", "version": 1, "config": {', "corrupt or truncated"),
    ('{"format": "gdviz-session", "version": 99, "config": {}, "data": {}, "cursor": 0}',
     "newer"),
    ('{"format": "gdviz-session", "version": 1, "config": {"lr": NaN}, "data": {}, '
     '"cursor": 0}', "NaN"),
    ("[1, 2, 3]", "not"),
    ("", "empty"),
])
def test_a_bad_file_is_refused_in_words_and_the_work_is_kept(qtbot, monkeypatch, tmp_path,
                                                              window, text, words):
    steps(qtbot, window, 3)
    before = work(window)
    path = tmp_path / "bad.gdviz"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    action(window, "actionOpenSession").trigger()
    assert message(window).startswith("Not opened:")
    assert words in message(window)
    assert "\n" not in message(window)
    assert work(window) == before


def drop(window, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(QPoint(200, 200)), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_a_session_or_a_csv_opens_it(qtbot, monkeypatch, tmp_path, window):
    steps(qtbot, window, 4)
    path = tmp_path / "four.gdviz"
    save_as(monkeypatch, window, path)
    window.model.reset()
    ready(qtbot, window)
    drop(window, path)
    opened(qtbot, window)
    assert window.model.cursor == 4
    csv = tmp_path / "points.csv"
    csv.write_text("x,y\n1,3\n2,5\n3,7\n", encoding="utf-8")
    drop(window, csv)
    qtbot.waitUntil(lambda: window.model.config.x == (1.0, 2.0, 3.0), timeout=5000)
    assert window.model.config.y == (3.0, 5.0, 7.0)


def test_the_window_remembers_geometry_config_speed_and_recent_sessions(
        qtbot, monkeypatch, tmp_path, settings_dir, make_window):
    from gdviz.ui import MainWindow

    first = MainWindow(build_config("autograd", {"lr": 0.02}), remember=True)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.showNormal()
    first.resize(700, 520)  # within the offscreen platform's 800×800 screen
    qtbot.waitUntil(lambda: (first.width(), first.height()) == (700, 520), timeout=2000)
    first.speed_combo.setCurrentIndex(1)
    qtbot.waitUntil(lambda: first.model.state == "ready", timeout=20_000)
    path = tmp_path / "remembered.gdviz"
    save_as(monkeypatch, first, path)
    QApplication.processEvents()
    first.close()
    config, problem = preferences.last_config()
    assert problem == ""
    assert config == build_config("autograd", {"lr": 0.02})
    assert preferences.recent_sessions() == [str(path.resolve())]
    second = MainWindow(config, remember=True)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    try:
        assert (second.width(), second.height()) == (700, 520)
        assert second.speed_combo.currentIndex() == 1
        recent = second.files.recent_menu.actions()
        assert [a.data() for a in recent] == [str(path.resolve())]
    finally:
        second.close()
    assert (settings_dir / "gdviz" / "gdviz.ini").is_file()


def test_a_window_not_asked_to_remember_leaves_no_settings(qtbot, settings_dir, window):
    window.close()
    assert not (settings_dir / "gdviz").exists()


def test_remembered_settings_that_no_longer_read_are_said_and_ignored(settings_dir):
    preferences.settings().setValue("run/config", "{not json")
    config, problem = preferences.last_config()
    assert config is None
    assert "starting from the notebook's cell" in problem


def test_reset_layout_puts_the_docks_back(qtbot, window):
    code = window.docks.code
    where = window.dockWidgetArea(code)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, code)
    assert window.dockWidgetArea(code) != where
    action(window, "actionResetLayout").trigger()
    assert window.dockWidgetArea(code) == where


def test_presenter_type_size_is_chosen_in_the_view_menu(qtbot, window):
    from gui_helpers import find
    from PySide6.QtWidgets import QMenu

    sizes = find(window, QMenu, "presenterSizeMenu").actions()
    sizes[-1].trigger()  # 2×
    window.enter_presenter()
    try:
        assert window.graph_view._font_scale == 2.0
    finally:
        window.leave_presenter()


@pytest.mark.parametrize("name", ["trace.csv", "trace.jsonl", "trace.txt"])
def test_export_trace_equals_gdviz_run(qtbot, monkeypatch, tmp_path, window, name):
    import csv as csv_module
    import subprocess
    import sys

    steps(qtbot, window, 6)
    path = tmp_path / name
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    action(window, "actionExportTrace").trigger()
    assert "Exported" in message(window)
    args = [sys.executable, "-m", "gdviz", "run", "--epochs", "6"]
    if name.endswith(".jsonl"):
        printed = subprocess.run([*args, "--json"], capture_output=True, text=True).stdout
        assert path.read_text(encoding="utf-8") == printed
    elif name.endswith(".csv"):
        printed = subprocess.run([*args, "--json"], capture_output=True, text=True).stdout
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv_module.DictReader(handle))
        epochs = [json.loads(line) for line in printed.splitlines() if '"epoch"' in line]
        assert [float(r["w"]) for r in rows] == [e["w"] for e in epochs]
        assert [float(r["loss"]) for r in rows] == [e["loss"] for e in epochs]
    else:
        window._on_model_updated()  # the log panel as drawn now (the test runs no frames)
        assert path.read_text(encoding="utf-8").splitlines() == window.log_panel.toPlainText(
        ).splitlines()


def long_adam_session(tmp_path: Path) -> Path:
    """A numpy Adam run of 500,000 epochs: several seconds to re-train, every epoch trained.
    (100,000 once finished re-training before the test's Cancel, in the full suite.)"""
    from gdviz.core.session_file import SavedSession, save_session

    config = build_config("numpy", {"optimizer": "adam", "epochs": 500_000})
    path = tmp_path / "long.gdviz"
    save_session(path, SavedSession(config, cursor=500_000, epochs_recorded=500_000))
    return path


def test_opening_trains_in_the_background_and_cancel_keeps_the_work(qtbot, monkeypatch,
                                                                    tmp_path, window):
    steps(qtbot, window, 2)
    before = work(window)
    path = long_adam_session(tmp_path)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    action(window, "actionOpenSession").trigger()
    assert window.files.opening
    steps(qtbot, window, 1)  # the window still answers while the session trains
    before = work(window)
    window.files._on_progress_canceled()  # the progress dialog's Cancel
    qtbot.waitUntil(lambda: not window.files.opening, timeout=20_000)
    assert "cancelled" in message(window)
    assert work(window) == before


def test_closing_the_window_while_a_session_opens_returns_at_once(qtbot, monkeypatch,
                                                                 tmp_path, window):
    import time

    path = long_adam_session(tmp_path)
    window.files.open_from(str(path))
    start = time.perf_counter()
    window.close()
    assert time.perf_counter() - start < 2.0
    assert not window.files.opening
