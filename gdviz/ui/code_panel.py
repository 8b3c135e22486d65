"""The notebook's training cell, live: the line being run and each executed line's value.

The text is the cell as the notebook has it (gdviz.core.cells), each executed line with its
value appended like a debugger's inline value. The line being run is the panel's text cursor
line, so tests and screen readers find it; it is also marked with a full-width background.
Colours come from Pygments' Python lexer and style, not from hand-written rules.
"""

from __future__ import annotations

from typing import Any

# Pygments ships no type hints (and types-Pygments is not a dependency).
from pygments.lexers import PythonLexer  # type: ignore[import-untyped]
from pygments.styles import get_style_by_name  # type: ignore[import-untyped]
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QSyntaxHighlighter,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextOption,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from gdviz.core.cells import (
    Cell,
    annotated_lines,
    cell_for,
    current_line,
    current_lines,
    inline_values,
)
from gdviz.core.explain import REPLAY_SLICE_S, OptimizerUpdate, explain_update, shows_update
from gdviz.core.history import History
from gdviz.ui.lecture_model import LectureModel
from gdviz.ui.plots.phase import explained
from gdviz.ui.style import BASE_POINT_SIZE

PYGMENTS_STYLE = "default"
VALUE_COLOR = "#0072B2"  # Okabe-Ito blue, as the app's w and loss curves
CURRENT_LINE_COLOR = QColor(240, 228, 66, 110)  # Okabe-Ito yellow, light enough to read through
REPLAY_RETRY_MS = 15  # while an optimizer's state is replayed, the panel asks again this often

# A Pygments token type (pygments.token.Token.Keyword, …); Pygments ships no type hints.
_TokenType = Any
# One line's highlighting: (start column, length, token type).
_Span = tuple[int, int, _TokenType]


class PygmentsHighlighter(QSyntaxHighlighter):
    """Colours the cell from Pygments' tokens (lexed once per cell) and the inline values.

    Each block is one cell line; whatever follows the cell's own text is its value.
    """

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._style = get_style_by_name(PYGMENTS_STYLE)
        self._formats: dict[_TokenType, QTextCharFormat | None] = {}
        self._spans: list[list[_Span]] = []
        self._line_lengths: list[int] = []
        self.current: int | None = None  # the line being run
        self.current_lines: tuple[int, ...] = ()  # the step being run (an update's lines)
        self._value = QTextCharFormat()
        self._value.setForeground(QColor(VALUE_COLOR))
        self._current_value = QTextCharFormat(self._value)
        self._current_value.setFontWeight(QFont.Weight.Bold)

    def set_source(self, lines: tuple[str, ...]) -> None:
        """Lex the cell (without values); the next highlighting pass uses it."""
        self._spans = line_spans("\n".join(lines))
        self._line_lengths = [len(line) for line in lines]

    def highlightBlock(self, text: str) -> None:  # Qt override
        line = self.currentBlock().blockNumber()
        if line >= len(self._spans):
            return
        for start, length, token in self._spans[line]:
            token_format = self._format(token)
            if token_format is not None:
                self.setFormat(start, length, token_format)
        own = self._line_lengths[line]
        if len(text) > own:
            value_format = self._current_value if line in self.current_lines else self._value
            self.setFormat(own, len(text) - own, value_format)

    def _format(self, token: _TokenType) -> QTextCharFormat | None:
        """The Qt format of Pygments' style for `token` (None: plain text)."""
        if token not in self._formats:
            style = self._style.style_for_token(token)
            token_format: QTextCharFormat | None = None
            if style["color"] or style["bold"] or style["italic"]:
                token_format = QTextCharFormat()
                if style["color"]:
                    token_format.setForeground(QColor(f"#{style['color']}"))
                if style["bold"]:
                    token_format.setFontWeight(QFont.Weight.Bold)
                if style["italic"]:
                    token_format.setFontItalic(True)
            self._formats[token] = token_format
        return self._formats[token]


def optimizer_update(model: LectureModel, budget_s: float = REPLAY_SLICE_S
                     ) -> OptimizerUpdate | None:
    """The optimizer's update of the model's epoch once the cell has run it (None for plain
    SGD, before the update phase and at the start)."""
    config, history, epoch = model.config, model.history, model.cursor
    if history is None or not shows_update(config, history, epoch, model.phase):
        return None
    return explain_update(config, history, epoch, budget_s, explained(model, epoch))


def line_spans(source: str) -> list[list[_Span]]:
    """Pygments' Python tokens of `source`, cut into (column, length, type) spans per line."""
    spans: list[list[_Span]] = [[] for _ in source.split("\n")]
    line, column = 0, 0
    for _, token, value in PythonLexer().get_tokens_unprocessed(source):
        for i, piece in enumerate(value.split("\n")):
            if i > 0:
                line, column = line + 1, 0
            if piece and line < len(spans):
                spans[line].append((column, len(piece), token))
            column += len(piece)
    return spans


class CodePanel(QPlainTextEdit):
    """The selected trainer's training cell, following the run's epoch and phase."""

    def __init__(self, model: LectureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codePanel")
        self.setReadOnly(True)
        # Long lines wrap rather than scroll sideways: the value at the end of the line being
        # run must stay in sight in a narrow panel (1280×720) and in presenter mode.
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        # Space and the arrows belong to the run's actions; the mouse may still select text.
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._model = model
        self._highlighter = PygmentsHighlighter(self.document())
        self._cell: Cell | None = None
        self._shown: tuple[Any, ...] | None = None  # what refresh() last showed
        self._history: History | None = None  # kept so its id in _shown is not reused
        self._text = ""
        self.shown_cursor = 0  # the epoch the panel last followed (it holds it while playing)
        self._widest = 0  # px: the widest line shown since the last rebuild
        self._scale = 1.0
        # An optimizer's state still being replayed: look again soon (the timer is the panel's).
        self._retry = QTimer(self, singleShot=True, interval=REPLAY_RETRY_MS)
        self._retry.timeout.connect(self.refresh)
        self._apply_font()
        self.rebuild()

    @property
    def current_line(self) -> int | None:
        """The index of the line being run, or None before the first one."""
        return self._highlighter.current

    @property
    def current_lines(self) -> tuple[int, ...]:
        """Every line of the step being run, marked: an optimizer's update is several."""
        return self._highlighter.current_lines

    def rebuild(self) -> None:
        """A fresh run (new trainer or lesson): the cell's text anew, then its values."""
        self._cell = cell_for(self._model.config)
        self._highlighter.set_source(self._cell.lines)
        self._shown = None
        self._widest = 0
        self.refresh()

    def refresh(self) -> None:
        """Follow the model's position; returns at once when nothing shown has changed."""
        model = self._model
        config, history = model.config, model.history
        epoch, phase, error = model.cursor, model.phase, model.session.lesson_error
        self.shown_cursor = epoch
        update = optimizer_update(model)
        if update is not None and update.pending:
            self._retry.start()
        shown = (config, id(history), epoch, phase, error,
                 update is not None and update.state is not None)
        if shown == self._shown:
            return
        if self._cell is None or cell_for(config) != self._cell:
            self.rebuild()  # the config changed without a rebuild(): never show a stale cell
            return
        self._shown, self._history = shown, history
        values: dict[int, str] = {}
        if history is not None and epoch <= len(history):
            explanation = explained(model, epoch)
            values = inline_values(config, explanation, phase, lesson_error=error, update=update)
        line = current_line(config, epoch, phase, error)
        self._show("\n".join(annotated_lines(self._cell, values)), line,
                   current_lines(config, epoch, phase, error))

    def set_font_scale(self, scale: float) -> None:
        """1.0 normally, about 1.6 in presenter mode."""
        self._scale = scale
        self._apply_font()
        self._widest = 0
        self._measure()
        self._mark(self._highlighter.current, self._highlighter.current_lines)  # stays in view

    def sizeHint(self) -> QSize:  # Qt override
        """Wide enough for the widest line with its value, tall enough for the whole cell."""
        margins = 2 * (self.document().documentMargin() + self.frameWidth())
        metrics = self.fontMetrics()
        width = self._widest + margins + self.verticalScrollBar().sizeHint().width()
        height = (self.blockCount() + 1) * metrics.lineSpacing() + margins
        return QSize(round(width), round(height))

    # --- helpers ---------------------------------------------------------------------------------

    def _show(self, text: str, line: int | None, lines: tuple[int, ...]) -> None:
        previous = self._highlighter.current_lines
        self._highlighter.current = line
        self._highlighter.current_lines = lines
        old_lines, new_lines = self._text.split("\n"), text.split("\n")
        document = self.document()
        if text != self._text and len(old_lines) == len(new_lines) == document.blockCount():
            # A sub-step changes a few values: rewrite those lines only, so only they are laid
            # out and highlighted again (the whole cell costs a few ms a frame).
            edit = QTextCursor(document)
            edit.beginEditBlock()
            for number, (old, new) in enumerate(zip(old_lines, new_lines, strict=True)):
                if old != new:
                    edit.setPosition(document.findBlockByNumber(number).position())
                    edit.movePosition(QTextCursor.MoveOperation.EndOfBlock,
                                      QTextCursor.MoveMode.KeepAnchor)
                    edit.insertText(new)
            edit.endEditBlock()
            self._text = text
            self._measure()
        elif text != self._text:
            self._text = text
            self.setPlainText(text)  # highlights every block anew, with the current line set
            self._measure()
        for changed in {*previous, *lines}:  # the values' weight follows the current lines
            block = document.findBlockByNumber(changed)
            if block.isValid():
                self._highlighter.rehighlightBlock(block)
        self._mark(line, lines)

    def _mark(self, line: int | None, lines: tuple[int, ...] = ()) -> None:
        """The current line: the text cursor's line, scrolled into view, with a background;
        the other `lines` of the same step (an optimizer's update) get the background too."""
        block = self.document().findBlockByNumber(line if line is not None else 0)
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        selections = []
        for number in sorted({*lines, *(() if line is None else (line,))}):
            marked = self.document().findBlockByNumber(number)
            if not marked.isValid():
                continue
            selection = QTextEdit.ExtraSelection()
            selection.format.setBackground(CURRENT_LINE_COLOR)
            selection.format.setProperty(
                QTextFormat.Property.FullWidthSelection, True)
            whole = QTextCursor(marked)  # every wrapped line of it
            whole.movePosition(QTextCursor.MoveOperation.EndOfBlock,
                               QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = whole
            selections.append(selection)
        self.setExtraSelections(selections)
        if line is not None:
            # The end of the line (its value) in the middle of the panel: the line and what
            # comes before and after it stay in sight, however the long lines wrap.
            end = QTextCursor(block)
            end.movePosition(QTextCursor.MoveOperation.EndOfBlock)
            first = min(lines, default=line)
            if first != line and not self._span_in_view(first, line):
                # An optimizer's update: its lines together in the middle, as far as they
                # fit; the line that changes w (the cursor's) stays in sight.
                middle = self.document().findBlockByNumber((first + line) // 2)
                self.setTextCursor(QTextCursor(middle))
                self.centerCursor()
                self.setTextCursor(end)
                self.ensureCursorVisible()
                return
            self.setTextCursor(end)
            if first == line and not self._comfortably_in_view(block):
                self.centerCursor()  # a scroll repaints the whole panel: only when needed
        else:
            self.ensureCursorVisible()

    def _span_in_view(self, first: int, last: int) -> bool:
        """Lines `first` … `last` all lie in the panel."""
        offset = self.contentOffset()
        document = self.document()
        top = self.blockBoundingGeometry(document.findBlockByNumber(first)).translated(offset)
        bottom = self.blockBoundingGeometry(document.findBlockByNumber(last)).translated(offset)
        return top.top() >= 0 and bottom.bottom() <= self.viewport().height()

    def _comfortably_in_view(self, block: QTextBlock) -> bool:
        """The whole line lies in the middle three fifths of the panel."""
        rect = self.blockBoundingGeometry(block).translated(self.contentOffset())
        height = self.viewport().height()
        return rect.top() >= 0.2 * height and rect.bottom() <= 0.8 * height

    def _apply_font(self) -> None:
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(BASE_POINT_SIZE * self._scale)
        self.setFont(font)

    def _measure(self) -> None:
        """Grow the size hint to the widest line shown (values included) since the rebuild."""
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(line) for line in self._text.split("\n")),
                     default=0)
        if widest > self._widest:
            self._widest = widest
            self.updateGeometry()
