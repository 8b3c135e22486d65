"""The Qt-free core: datasets, run configurations, trainers, history, loss surfaces, references.

Nothing in this package imports PySide6 or pyqtgraph (a test enforces it), and torch is imported
only when a torch trainer or the autograd gradient check is first used.
"""
