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


def run_app(config: RunConfig | None = None) -> int:
    reason = missing_display()
    if reason is not None:
        print(f"gdviz: {reason}", file=sys.stderr)
        return 2
    app = make_application()
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(config)
    window.show()
    quit_on_interrupt(app, window)
    return app.exec()


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
