"""Starting the window: the QApplication, the projector-sized style, the main window."""

from __future__ import annotations

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


def run_app(config: RunConfig | None = None) -> int:
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
