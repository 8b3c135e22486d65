"""Shared test set-up. Qt must see the offscreen platform before anything imports it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import tempfile

# What gdviz remembers between sessions (QSettings) goes to a folder of this test session,
# for this process and every gdviz it starts: never the user's, never a previous run's.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gdviz-test-config-")

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Benchmarks are run by hand (`python tests/benchmarks/bench_core.py`), never collected.
collect_ignore = ["benchmarks"]

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


def _read_reference() -> dict[str, list[str]]:
    """The expected lines of each trainer, split on the `# [trainer]` section headers."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    text = (TESTS_DIR / "reference_outputs.txt").read_text(encoding="utf-8")
    for line in text.split("\n"):
        if line.startswith("# ["):
            current = sections.setdefault(line[3 : line.index("]")], [])
        elif line.startswith("#") or not line:
            continue
        elif current is not None:
            current.append(line)
    return sections


@pytest.fixture(scope="session")
def reference() -> dict[str, list[str]]:
    """{'numpy': [...], 'autograd': [...], 'nn': [...]}: lines exactly as printed, no newline."""
    return _read_reference()


@pytest.fixture(scope="session")
def gdviz_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m gdviz run ARGS...` in a subprocess, from outside the repository."""

    outside = tmp_path_factory.mktemp("cwd")  # the installed package, not the checkout's cwd

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gdviz", "run", *args],
            capture_output=True, text=True, timeout=120, cwd=cwd or outside,
        )

    return run


# --- Qt (pytest-qt) ---------------------------------------------------------------------------
# Only tests that use `qtbot` import Qt: the core tests must run without it.

# The offscreen platform plugin (QT_QPA_PLATFORM=offscreen) warns when a QMainWindow is shown;
# that is the test platform talking, not gdviz, and qt_log_level_fail=WARNING would fail on it.
OFFSCREEN_NOISE = r"^This plugin does not support propagateSizeHints\(\)$"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


@pytest.fixture(autouse=True)
def _no_dangling_training_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a Qt test that leaves a training QThread (or any new Python thread) running.

    A QThread still running when its last reference goes away aborts the whole process, so a
    leak is stopped here (worker asked to stop, thread quit and joined) and then reported.
    Like napari's conftest, QThread.start is wrapped to know every thread the test started.
    pytest-qt closes the widgets given to `qtbot.addWidget` before this teardown runs.
    """
    if "qtbot" not in request.fixturenames:
        yield
        return
    qtbot = request.getfixturevalue("qtbot")  # set up first, so torn down after this check
    from PySide6.QtCore import QThread

    from gdviz.ui.run_model import RunModel

    started: list[QThread] = []
    models: list[RunModel] = []
    base_start = QThread.start
    base_init = RunModel.__init__

    def start(self: QThread, *args: object) -> None:
        started.append(self)
        base_start(self, *args)

    def init(self: RunModel, *args: object, **kwargs: object) -> None:
        models.append(self)
        base_init(self, *args, **kwargs)

    python_threads = set(threading.enumerate())
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(QThread, "start", start)
    monkeypatch.setattr(RunModel, "__init__", init)
    try:
        yield
    finally:
        monkeypatch.undo()

    def running() -> list[QThread]:
        alive = []
        for thread in started:
            try:
                if thread.isRunning():
                    alive.append(thread)
            except RuntimeError:  # the C++ object is already gone, so is its thread
                pass
        return alive

    # A window closed while torch was importing parks its thread until the import ends (it
    # cannot be interrupted); so does the background torch import. Both end by themselves.
    from gdviz.core import torch_preload
    from gdviz.ui import run_model

    torch_preload.wait(60)
    deadline = time.monotonic() + 60
    while run_model._parked and time.monotonic() < deadline:
        qtbot.wait(20)
        run_model._reap()
    deadline = time.monotonic() + 1.0  # a short grace period for threads that are ending
    while running() and time.monotonic() < deadline:
        qtbot.wait(20)
    leaked = running()
    names = [thread.objectName() or repr(thread) for thread in leaked]
    if leaked:
        for model in models:  # stop them properly, or the process aborts later
            with contextlib.suppress(RuntimeError):
                model.shutdown()
        for thread in leaked:
            with contextlib.suppress(RuntimeError):
                thread.quit()
                thread.wait(5000)
    new_python = [t for t in threading.enumerate()
                  if t not in python_threads and t.is_alive() and not t.daemon
                  and not isinstance(t, threading._DummyThread)]
    assert not names, f"the test left QThread(s) running: {names}"
    assert not new_python, f"the test left Python thread(s) running: {new_python}"


@pytest.fixture
def make_window(qtbot: Any) -> Iterator[Callable[..., Any]]:
    """Build a shown MainWindow (closed and joined by pytest-qt at teardown), run ready.

    qtbot.addWidget keeps only a weak reference: a window whose last reference was the test's
    local variable would be garbage-collected unclosed, its training thread still running,
    which aborts the process. The list below keeps every window alive until pytest-qt closes it.
    """
    windows: list[Any] = []

    def make(config: Any = None, timeout: int = 15_000) -> Any:
        from gdviz.ui import MainWindow

        window = MainWindow() if config is None else MainWindow(config)
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        qtbot.waitUntil(lambda: window.model.state == "ready", timeout=timeout)
        return window

    yield make
    windows.clear()


@pytest.fixture
def window(make_window: Callable[..., Any]) -> Any:
    """MainWindow() with the notebook's numpy cell, shown, its run ready at epoch 0."""
    return make_window()


@pytest.fixture
def focused(qtbot: Any, window: Any) -> Any:
    """The window, active, the plots area focused: where the shortcuts are meant to work."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    window.plots_area.setFocus()
    return window


@pytest.fixture
def plot(qtbot: Any) -> Iterator[Any]:
    """A shown 400x300 pyqtgraph PlotWidget, referenced until the test ends (qtbot keeps only
    a weak reference, and closes it)."""
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget


@pytest.fixture
def settings_dir(tmp_path: Path) -> Iterator[Path]:
    """QSettings of this test in a folder of its own (gdviz.ui.preferences writes INI files)."""
    from PySide6.QtCore import QSettings

    folder = tmp_path / "settings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield folder
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      os.environ["XDG_CONFIG_HOME"])
