"""Starting the window: the QApplication, the projector-sized style, the main window."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

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
    return app.exec()
