"""A note over a lecture view while a run plays: which epoch the view still shows, and why.

The lecture views (code values, graph, per-sample bars, gradient check) explain one epoch at
rest and are not redrawn while a run plays (that would cost playing its speed). Without a word
they looked wrong: at epoch 62 of a playing run the graph still said "step to epoch 1".
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget

MARGIN = 6  # px from the view's top-right corner
STYLE = ("QLabel { background: rgba(255, 248, 200, 235); color: #222222;"
         " border: 1px solid #C8B85A; border-radius: 4px; padding: 2px 6px; }")


def held_text(epoch: int) -> str:
    return f"as at epoch {epoch} · updates when paused"


class LectureView(Protocol):
    shown_cursor: int  # the cursor the view last followed


class HeldNote(QLabel):
    """Shown in the top-right corner of its view while a run plays past the epoch the view
    shows. It keeps no Python reference to the view (its Qt parent): a reference each way
    would make the window a reference cycle, freed only by the garbage collector."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self.setObjectName("heldNote")
        self.setStyleSheet(STYLE)
        self.setFont(QApplication.font())  # not the code panel's fixed-width font
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.hide()
        view.installEventFilter(self)  # follows the view's size

    def follow(self, playing: bool, cursor: int) -> None:
        """Called at each redraw: shown while playing leaves the view behind, else hidden."""
        view: LectureView = self.parentWidget()  # type: ignore[assignment]
        shown = view.shown_cursor
        if playing and shown != cursor:
            self.hold(shown)
        else:
            self.release()

    def hold(self, epoch: int) -> None:
        """Say that the view shows `epoch`; nothing to do when it says so already."""
        text = held_text(epoch)
        if not self.isHidden() and self.text() == text:  # (its view may be in a hidden tab)
            return
        self.setText(text)
        self._place()
        self.show()
        self.raise_()

    def release(self) -> None:
        if not self.isHidden():
            self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        resized = event.type() == QEvent.Type.Resize
        if resized and watched is self.parentWidget() and not self.isHidden():
            self._place()
        return super().eventFilter(watched, event)

    def _place(self) -> None:
        """One line in the top-right corner; wrapped to the view's width when it is narrow."""
        view = self.parentWidget()
        if view is None:
            return
        room = max(view.width() - 2 * MARGIN, 40)
        self.setWordWrap(False)
        self.setMinimumWidth(0)
        self.setMaximumWidth(16_777_215)
        self.adjustSize()
        if self.width() > room:
            self.setWordWrap(True)
            self.setFixedWidth(room)
            self.adjustSize()
        self.move(max(view.width() - self.width() - MARGIN, 0), MARGIN)
