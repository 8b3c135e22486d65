"""Where the window's panels go: docks the user can rearrange, arranged for the screen.

A lecture needs the code, the graph, the surface, the fit, the step and the gradient check at
once. On a 1920×1080 screen every panel has its own place; on a small one (a 1280×720
projector) the side panels share tabs so the plots keep room. Presenter mode hides settings
and log, enlarges every font and shows the rest full screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar, QWidget

from gdviz.ui.widgets import named

COMPACT_BELOW = QSize(1600, 900)  # smaller screens get tabbed side panels

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


def make_dock(window: QMainWindow, title: str, object_name: str, widget: QWidget) -> QDockWidget:
    """A dock the user may move, float and close (View menu brings it back)."""
    dock = named(QDockWidget(title, window), object_name)
    dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                     | QDockWidget.DockWidgetFeature.DockWidgetClosable
                     | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
    dock.setWidget(widget)
    return dock


@dataclass
class Docks:
    settings: QDockWidget
    code: QDockWidget
    step: QDockWidget
    gradcheck: QDockWidget
    log: QDockWidget
    graph: QDockWidget
    contributions: QDockWidget
    surface3d: QDockWidget
    sweep: QDockWidget

    def all(self) -> tuple[QDockWidget, ...]:
        return (self.settings, self.code, self.step, self.gradcheck, self.log, self.graph,
                self.contributions, self.surface3d, self.sweep)


def is_compact(size: QSize) -> bool:
    return size.width() < COMPACT_BELOW.width() or size.height() < COMPACT_BELOW.height()


def arrange(window: QMainWindow, docks: Docks, compact: bool) -> None:
    """Put every dock in its place for a large or a small screen."""
    _take_docks(window, docks)
    if compact:
        # One column beside the plots: the code (the settings in a tab behind it) above a
        # stack of tabs led by the step panel. The plots keep the rest of the width.
        window.addDockWidget(LEFT, docks.code)
        window.splitDockWidget(docks.code, docks.step, Qt.Orientation.Vertical)
        for dock in (docks.graph, docks.gradcheck, docks.contributions, docks.sweep,
                     docks.log):
            window.tabifyDockWidget(docks.step, dock)
        window.tabifyDockWidget(docks.code, docks.settings)
        width, height = window.width(), window.height()
        window.resizeDocks([docks.code], [round(width * 0.4)], Qt.Orientation.Horizontal)
        window.resizeDocks([docks.code, docks.step], [round(height * 0.45), round(height * 0.55)],
                           Qt.Orientation.Vertical)
    else:
        window.addDockWidget(LEFT, docks.settings)
        window.addDockWidget(RIGHT, docks.code)
        window.splitDockWidget(docks.code, docks.step, Qt.Orientation.Vertical)
        window.splitDockWidget(docks.step, docks.gradcheck, Qt.Orientation.Vertical)
        window.tabifyDockWidget(docks.gradcheck, docks.log)
        docks.gradcheck.raise_()
        window.addDockWidget(BOTTOM, docks.graph)
        window.splitDockWidget(docks.graph, docks.contributions, Qt.Orientation.Horizontal)
        # Comparing runs: behind the graph, a click away (the Compare menu raises them).
        window.tabifyDockWidget(docks.graph, docks.sweep)
        width, height = window.width(), window.height()
        # The code needs ~80 columns; the step panel and the gradient check share its column.
        window.resizeDocks([docks.settings, docks.code],
                           [round(width * 0.13), round(width * 0.37)], Qt.Orientation.Horizontal)
        window.resizeDocks([docks.code, docks.step, docks.gradcheck],
                           [round(height * 0.31), round(height * 0.43), round(height * 0.23)],
                           Qt.Orientation.Vertical)
        window.resizeDocks([docks.graph], [round(height * 0.38)], Qt.Orientation.Vertical)
        window.resizeDocks([docks.graph, docks.contributions],
                           [round(width * 0.34), round(width * 0.18)], Qt.Orientation.Horizontal)
    for dock in docks.all():
        if dock is not docks.surface3d:
            dock.show()
    docks.code.raise_()  # in front of the settings where they share tabs
    docks.step.raise_()
    docks.graph.raise_()
    _own_window(window, docks.surface3d)
    whole_tab_titles(window)


def _take_docks(window: QMainWindow, docks: Docks) -> None:
    """Every dock out, to be placed anew; the side columns run the window's full height, the
    bottom area sits under the plots."""
    window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)
    window.setCorner(Qt.Corner.BottomRightCorner, RIGHT)
    for dock in docks.all():
        dock.setFloating(False)
        window.removeDockWidget(dock)


def arrange_presenter(window: QMainWindow, docks: Docks, compact: bool) -> None:
    """Presenter mode: the code on the left; the step panel on the right above the per-sample
    bars (the gradient check in a tab behind them); the graph under the plots; settings and
    log hidden. On a small projector the surface has the middle to itself: the graph is under
    the step panel, the bars and the check tabs behind it."""
    _take_docks(window, docks)
    window.addDockWidget(LEFT, docks.code)
    window.addDockWidget(RIGHT, docks.step)
    if compact:
        # The graph under the step panel: under the surface it left the surface ~100 px of
        # heatmap at 1280×720, its labels over the whole of it.
        window.splitDockWidget(docks.step, docks.graph, Qt.Orientation.Vertical)
        window.tabifyDockWidget(docks.step, docks.contributions)
    else:
        window.splitDockWidget(docks.step, docks.contributions, Qt.Orientation.Vertical)
        window.addDockWidget(BOTTOM, docks.graph)
    window.tabifyDockWidget(docks.contributions, docks.gradcheck)
    window.tabifyDockWidget(docks.graph, docks.sweep)
    for dock in (docks.code, docks.step, docks.gradcheck, docks.graph, docks.contributions,
                 docks.sweep):
        dock.show()
    docks.graph.raise_()
    _own_window(window, docks.surface3d)
    docks.contributions.raise_()
    docks.step.raise_()
    docks.settings.hide()
    docks.log.hide()
    width, height = window.width(), window.height()
    window.resizeDocks([docks.code, docks.step], [round(width * 0.32), round(width * 0.30)],
                       Qt.Orientation.Horizontal)
    if compact:
        window.resizeDocks([docks.step, docks.graph],
                           [round(height * 0.45), round(height * 0.55)], Qt.Orientation.Vertical)
    else:
        window.resizeDocks([docks.step, docks.contributions],
                           [round(height * 0.55), round(height * 0.45)], Qt.Orientation.Vertical)
        window.resizeDocks([docks.graph], [round(height * 0.42)], Qt.Orientation.Vertical)
    whole_tab_titles(window)


def _own_window(window: QMainWindow, dock: QDockWidget) -> None:
    """The 3-D view floats in a window of its own, closed until View → 3-D surface opens it.
    An OpenGL widget inside the main window would have Qt composite the whole window through
    OpenGL from then on, which on software rendering (Mesa llvmpipe) made every sub-step's
    redraw three times slower."""
    window.addDockWidget(BOTTOM, dock)
    dock.setFloating(True)
    dock.resize(720, 560)
    dock.hide()


def whole_tab_titles(window: QMainWindow) -> None:
    """Dock tabs keep their whole titles ("S…" says nothing) and scroll when they do not fit."""
    for bar in window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)


@dataclass
class SavedLayout:
    """What presenter mode changes, to put back when it ends."""

    state: QByteArray
    window_state: Qt.WindowState
