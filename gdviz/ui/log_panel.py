"""The log panel: the notebook's printed lines for this run, up to the cursor."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextOption
from PySide6.QtWidgets import QPlainTextEdit

from gdviz.ui.run_model import RunModel


class LogPanel(QPlainTextEdit):
    """The notebook's printed lines for this run, up to the epoch under the cursor."""

    MAX_LINES = 5000  # scrollback kept while stepping
    JUMP_LINES = 40  # more than the panel shows; more would only cost time while playing

    def __init__(self, model: RunModel) -> None:
        super().__init__()
        self.setObjectName("logPanel")
        self.setReadOnly(True)
        self.model = model
        self.setFont(QFont("DejaVu Sans Mono", 11))
        self.setMaximumBlockCount(self.MAX_LINES)
        # Wrapped, not scrolled sideways: a diverging run's numbers (w = 960554586199432960.000)
        # would otherwise push the loss out of sight, and narrow screens clip every line.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self._shown_until = -1
        self._shown_after = False

    def rebuild(self) -> None:
        self.clear()
        self._shown_until = -1
        self._shown_after = False
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        if model.history is None:
            return
        cursor = model.cursor
        phase = model.phase
        if phase is not None and phase is not model.config.spec.phases[-1]:
            cursor -= 1  # sub-stepping: epoch k prints its line at the end of its loop body
        if cursor < self._shown_until or self._shown_after:
            self.clear()  # the cursor went back: rewrite up to it
            self._shown_until = -1
            self._shown_after = False
        # A jump (seek, fast play) writes only about a screenful: formatting and appending
        # thousands of lines per frame would stall the window.
        start = max(self._shown_until + 1, 1, cursor - self.JUMP_LINES * model.config.log_every)
        lines = list(model.iter_log_lines(start, cursor)) if cursor >= start else []
        if self._shown_until < 0 and model.before_line:
            lines.insert(0, model.before_line)  # the notebook prints it before epoch 1
        if lines:
            self.appendPlainText("\n".join(lines))
        self._shown_until = max(self._shown_until, cursor)
        if model.after_line and cursor == model.epochs_recorded and model.state == "finished":
            self.appendPlainText(model.after_line)
            self._shown_after = True
