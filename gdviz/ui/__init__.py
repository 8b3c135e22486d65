"""Everything Qt: the main window, its panels and plots, and the training thread."""

from gdviz.ui.main_window import MainWindow

__all__ = ["MainWindow"]
