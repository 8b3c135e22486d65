"""Fitting the window to the screen it opens on, and widgets to the longest text they show.

A lecture-hall projector is often 1280×720 or 1024×768: a window of fixed size would hide the
step panel, the log and the status bar beyond the screen's edge.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QMargins, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QWidget

# Lecture mode's panels (code, graph, plots, step, gradient check) want a full HD screen: the
# window takes the whole screen unless it is larger than this.
PREFERRED_SIZE = QSize(1900, 1040)
# Before the window is shown its frame is unknown; a window manager's title bar is about this.
ESTIMATED_FRAME = QMargins(4, 32, 4, 4)


def window_geometry(available: QRect, preferred: QSize, minimum: QSize,
                    frame: QMargins) -> QRect:
    """The window's client rectangle: the preferred size where it fits, else the room there is.

    Centred in `available` (a screen's available geometry), with room left for the `frame`
    (title bar and borders). Below `minimum` Qt would not shrink the window anyway.
    """
    room = available.size().shrunkBy(frame)
    size = preferred.boundedTo(room).expandedTo(minimum)
    left = available.x() + frame.left() + max(0, (room.width() - size.width()) // 2)
    top = available.y() + frame.top() + max(0, (room.height() - size.height()) // 2)
    return QRect(QPoint(left, top), size)


def frame_margins(window: QWidget) -> QMargins:
    """The frame around the client area if the window system has told us, else an estimate."""
    frame, inner = window.frameGeometry(), window.geometry()
    known = QMargins(inner.left() - frame.left(), inner.top() - frame.top(),
                     frame.right() - inner.right(), frame.bottom() - inner.bottom())
    if window.isVisible():
        return known
    if QGuiApplication.platformName().startswith("offscreen"):
        return QMargins(2, 2, 2, 2)  # what Qt's offscreen plugin simulates
    return ESTIMATED_FRAME


def fit_to_screen(window: QWidget, preferred: QSize = PREFERRED_SIZE) -> None:
    """Size and place `window` within its screen now, and again once shown (real frame known)."""
    _apply_fit(window, preferred)
    window.installEventFilter(_RefitOnShow(window, preferred))


def _apply_fit(window: QWidget, preferred: QSize) -> None:
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(preferred)
        return
    available = screen.availableGeometry()
    frame = frame_margins(window)
    rect = window_geometry(available, preferred, window.minimumSizeHint(), frame)
    if rect.size() != preferred:
        # Smaller than we would like: take the whole screen. A window manager then fits the
        # frame itself; without one (a kiosk, Xvfb) the geometry already fills the screen.
        rect = window_geometry(available, available.size(), window.minimumSizeHint(),
                               QMargins())
        window.setWindowState(window.windowState() | Qt.WindowState.WindowMaximized)
    window.setGeometry(rect)


class _RefitOnShow(QObject):
    """Fits the window again on its first Show if its frame sticks out of the screen."""

    def __init__(self, window: QWidget, preferred: QSize) -> None:
        super().__init__(window)
        self._preferred = preferred

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
        if event.type() == QEvent.Type.Show and isinstance(watched, QWidget):
            watched.removeEventFilter(self)
            screen = watched.screen()
            if screen is not None and not screen.availableGeometry().contains(
                    watched.frameGeometry()):
                _apply_fit(watched, self._preferred)
            self.deleteLater()
        return False


def fix_size_for(label: QLabel, *texts: str) -> None:
    """A fixed size that fits the widest of `texts`, so the label neither clips nor shifts
    its neighbours as its text grows. Fixed in both directions, a new text does not even ask
    its toolbar or status bar for a new layout (Qt skips that for fixed-size widgets): stepping
    repaints the label alone, not the window around it."""
    margins = label.contentsMargins()
    advance = max(label.fontMetrics().horizontalAdvance(text) for text in texts)
    width = advance + margins.left() + margins.right() + 2 * label.margin() + 12
    height = label.sizeHint().height()
    if label.minimumSize() != label.maximumSize() or label.width() != width \
            or label.minimumHeight() != height:
        label.setFixedSize(width, height)


def epoch_texts(limit: int) -> tuple[str, ...]:
    """The longest texts "Epoch k / limit" can take for this limit, one per digit."""
    digits = len(str(limit))
    return tuple(f"Epoch {digit * digits} / {limit}" for digit in "0123456789")
