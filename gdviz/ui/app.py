"""Starting the window: the QApplication, the projector-sized style, the main window."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget

from gdviz.core.config import RunConfig
from gdviz.ui.style import use_projector_font


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)  # instance() is typed as the QCoreApplication base
    app.setApplicationName("gdviz")
    use_projector_font(app)
    return app


def missing_display() -> str | None:
    """Why no window can open here, in one line; None when a display (or a chosen Qt
    platform) is there. Qt itself would abort the interpreter with a misleading hint."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display: DISPLAY and WAYLAND_DISPLAY are not set (run it in a desktop session, "
            "under xvfb-run, or use `gdviz run` for the numbers)")


def run_app(config: RunConfig | None = None, session: str | None = None) -> int:
    """The window, remembering what the user left: `config` None starts from the last
    configuration (or the notebook's first cell); `session` opens a `.gdviz` file."""
    reason = missing_display()
    if reason is not None:
        print(f"gdviz: {reason}", file=sys.stderr)
        return 2
    app = make_application()
    # Ctrl+C while the window is still being built quits at once (and cleanly).
    signal.signal(signal.SIGINT, _quit_before_the_window)
    from gdviz.ui import preferences
    from gdviz.ui.main_window import MainWindow

    problem = ""
    if config is None and session is None:
        config, problem = preferences.last_config()
    window = MainWindow(config, remember=True)
    window.show()
    if problem:
        window.model.message.emit(problem)
    if session is not None:
        window.files.open_from(session)
    quit_on_interrupt(app, window)
    return app.exec()


def _quit_before_the_window(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def quit_on_interrupt(app: QApplication, window: QWidget) -> QTimer:
    """Ctrl+C in the terminal closes the window like Ctrl+Q.

    Python runs its signal handlers only between bytecodes, and Qt's event loop is C++: a
    timer that wakes the interpreter a few times a second lets the handler run.
    """
    signal.signal(signal.SIGINT, lambda _signum, _frame: window.close())
    wake = QTimer(app, interval=200)
    wake.timeout.connect(lambda: None)
    wake.start()
    return wake
