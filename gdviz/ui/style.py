"""Colours, pens and fonts chosen to read from the back of a lecture hall."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QSlider, QWidget

# Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
COLORS = {
    "surface": "#555555",
    "path": "#E69F00",
    "current": "#D55E00",
    "start": "#000000",
    "optimum": "#009E73",
    "loss": "#0072B2",
    "w": "#0072B2",
    "b": "#CC79A7",
    "fit": "#0072B2",
    "data": "#000000",
    "cursor": "#D55E00",
    "text": "#222222",
}

BASE_POINT_SIZE = 12


def pen(color: str, width: float, dashed: bool = False) -> QPen:
    style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
    return pg.mkPen(COLORS.get(color, color), width=width, style=style)


def configure_pyqtgraph() -> None:
    """White background, dark ink: projectors wash out dark themes."""
    pg.setConfigOptions(background="w", foreground="#222222", antialias=True)


def use_projector_font(app: QApplication) -> None:
    """A large application font; a style sheet would do the same but slows every paint."""
    font = app.font()
    font.setPointSize(BASE_POINT_SIZE + 1)
    app.setFont(font)


# Flat scroll bars and timeline: Fusion paints a 14 px scroll bar in ~1 ms and the timeline in
# ~0.7 ms, and the panels' bars repaint at every sub-step (their text changes). A style sheet on
# these few widgets alone paints them in ~0.04 ms; on the application it would slow every paint.
FLAT_SCROLL_BAR = """
QScrollBar:vertical { background: #F0F0F0; width: 14px; margin: 0; border: none; }
QScrollBar:horizontal { background: #F0F0F0; height: 14px; margin: 0; border: none; }
QScrollBar::handle { background: #BDBDBD; border-radius: 4px; }
QScrollBar::handle:hover { background: #8E8E8E; }
QScrollBar::handle:vertical { min-height: 28px; margin: 2px 3px; }
QScrollBar::handle:horizontal { min-width: 28px; margin: 3px 2px; }
QScrollBar::add-line, QScrollBar::sub-line { width: 0; height: 0; border: none; }
QScrollBar::add-page, QScrollBar::sub-page { background: none; }
"""
FLAT_SLIDER = """
QSlider::groove:horizontal { height: 6px; background: #D0D0D0; border-radius: 3px; }
QSlider::sub-page:horizontal { height: 6px; background: #E6A27A; border-radius: 3px; }
QSlider::handle:horizontal { width: 16px; margin: -6px 0; border-radius: 8px;
                             background: #D55E00; border: 2px solid white; }
QSlider::handle:horizontal:hover { background: #B04A00; }
"""


def flatten_scroll_bars(root: QWidget) -> None:
    """Every scroll area's bars under `root` in the flat style (the plots have none shown)."""
    for area in root.findChildren(QAbstractScrollArea):
        for bar in (area.verticalScrollBar(), area.horizontalScrollBar()):
            bar.setStyleSheet(FLAT_SCROLL_BAR)
            # It fills its whole rectangle: nothing behind it (the panel's frame, the dock
            # around it, ~0.4 ms a panel) is painted again when its range moves.
            bar.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)


def flatten_slider(slider: QSlider) -> None:
    slider.setStyleSheet(FLAT_SLIDER)


def key(*entries: tuple[str, str, str]) -> str:
    """A legend as one line of text: (glyph, colour name, text) per entry, e.g. ("━", "w", "w").

    It goes under a plot's title instead of inside the plot, where on a small screen it would
    cover data points or the curve.
    """
    return "&nbsp; ".join(
        f"<span style='color: {COLORS.get(color, color)}'>{glyph}</span>&nbsp;{text}"
        for glyph, color, text in entries)


def plot_title(title: str, legend: str = "", note: str = "") -> str:
    """A plot title; under it, in smaller type, its legend and a note (why an axis is log)."""
    lines = [f"<span style='font-size: 15pt'>{title}</span>"]
    if legend:
        lines.append(f"<span style='font-size: 10pt'>{legend}</span>")
    if note:
        lines.append(f"<span style='font-size: 10pt; color: {COLORS['current']}'>{note}</span>")
    return "<br>".join(lines)


def bold(size: int) -> QFont:
    font = QFont(QApplication.font())
    font.setPointSize(size)
    font.setBold(True)
    return font
