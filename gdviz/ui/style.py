"""Colours, pens and fonts chosen to read from the back of a lecture hall."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QPen
from PySide6.QtWidgets import QApplication

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
