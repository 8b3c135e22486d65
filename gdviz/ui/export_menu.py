"""File → Export: a figure (PNG or SVG) or an animation (GIF, MP4) of a view, at a scale for
slides; Ctrl+C copies the focused plot; each plot's context menu exports that plot.

The work is done by gdviz.ui.export; this module asks which view and which file (the static
QInputDialog / QFileDialog functions, which tests and automation can patch) and says the outcome
in the status bar. Like the other menus it keeps no Python reference to the window.
"""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMainWindow, QMenu, QWidget

from gdviz.core.traces import ExportError
from gdviz.ui.export import (
    ANIMATION_FORMATS,
    AnimationExport,
    copy_to_clipboard,
    export_figure,
    ffmpeg_path,
    start_animation_export,
    views,
)
from gdviz.ui.run_model import RunModel
from gdviz.ui.widgets import named

VIEW_TITLES = {"surface": "Loss surface", "loss": "Loss vs epoch", "weights": "Weights vs epoch",
               "fit": "Data and fit", "graph": "Autograd graph", "gradcheck": "Gradient check",
               "window": "Whole window"}
FIGURE_SCALES = (1.0, 2.0, 4.0)
DEFAULT_FIGURE_SCALE = 2.0  # crisp on a projector or a 4K slide, placed at the view's size
ANIMATION_FPS = 10.0


class ExportActions(QObject):
    """Owns File → Export figure / animation, the figure scale, Ctrl+C and the plots' menus."""

    def __init__(self, window: QMainWindow, model: RunModel) -> None:
        super().__init__(window)  # the window is the Qt parent, never a Python attribute
        self.model = model
        # The window's views, not the window itself (it is `self.parent()` when exported).
        self.views = {name: view for name, view in views(window).items()  # type: ignore[arg-type]
                      if name != "window"}
        self.scale = DEFAULT_FIGURE_SCALE
        self.animation: AnimationExport | None = None
        self.action_figure = named(QAction("Export figure…", window), "actionExportFigure")
        self.action_figure.setToolTip("A view (or the window) as PNG at the figure scale, or "
                                      "as SVG with real vectors")
        self.action_figure.triggered.connect(self._on_figure_triggered)
        self.action_animation = named(QAction("Export animation…", window),
                                      "actionExportAnimation")
        tip = "A view across the run, every epoch, as an animated GIF"
        tip += " or MP4" if ffmpeg_path() else " (MP4 needs ffmpeg: install it to export MP4)"
        self.action_animation.setToolTip(tip)
        self.action_animation.triggered.connect(self._on_animation_triggered)
        self.action_copy = named(QAction("Copy plot", window), "actionCopyPlot")
        self.action_copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        # Only while a plot has the focus: Ctrl+C in a field or the code panel copies text.
        self.action_copy.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.action_copy.triggered.connect(self._on_copy_triggered)
        self.scale_menu = named(QMenu("Figure scale", window), "figureScaleMenu")
        for scale in FIGURE_SCALES:
            scale_action = self.scale_menu.addAction(f"{scale:g}×")
            scale_action.setCheckable(True)
            scale_action.setChecked(scale == self.scale)
            scale_action.setData(scale)
            scale_action.triggered.connect(self._on_scale_triggered)
        for name, view in self.views.items():
            if name == "gradcheck":
                continue
            target = view.viewport() if hasattr(view, "viewport") else view
            target.addAction(self.action_copy)  # Ctrl+C where this plot has the focus
            if isinstance(view, pg.PlotWidget):
                self._own_context_menu(name, view)

    def add_to(self, menu: QMenu) -> None:
        menu.addAction(self.action_figure)
        menu.addAction(self.action_animation)
        menu.addMenu(self.scale_menu)

    # --- what the actions do ---------------------------------------------------------------------

    def export_figure_to(self, name: str, path: str) -> bool:
        view = self.views.get(name) or self.parent()
        assert isinstance(view, QWidget)
        try:
            export_figure(view, path, scale=self.scale)
        except ExportError as error:
            self.model.message.emit(f"Not exported: {error}")
            return False
        self.model.message.emit(f"Exported {VIEW_TITLES[name].lower()} to {Path(path).name}")
        return True

    def export_animation_to(self, name: str, path: str) -> bool:
        window = self.parent()
        if self.animation is not None:
            self.model.message.emit("An animation is being exported already")
            return False
        try:
            export = start_animation_export(window, name, path,  # type: ignore[arg-type]
                                            fps=ANIMATION_FPS)
        except ExportError as error:
            self.model.message.emit(f"Not exported: {error}")
            return False
        self.animation = export
        export.finished.connect(self._on_animation_finished)
        export.failed.connect(self._on_animation_failed)
        export.cancelled.connect(self._on_animation_cancelled)
        return True

    def _ask_view(self, title: str, with_window: bool) -> str | None:
        names = [n for n in VIEW_TITLES if with_window or n != "window"]
        titles = [VIEW_TITLES[n] for n in names]
        parent = self.parent()
        chosen, ok = QInputDialog.getItem(parent if isinstance(parent, QWidget) else None,
                                          title, "View:", titles, 0, False)
        return names[titles.index(chosen)] if ok and chosen in titles else None

    def _ask_file(self, title: str, suggested: str, filters: str) -> str | None:
        parent = self.parent()
        path, _ = QFileDialog.getSaveFileName(parent if isinstance(parent, QWidget) else None,
                                              title, suggested, filters)
        return path or None

    @Slot()
    def _on_figure_triggered(self) -> None:
        name = self._ask_view("Export figure", with_window=True)
        if name is None:
            return
        filters = ("PNG image (*.png)" if name == "window"  # Qt clips nested widgets in SVG
                   else "PNG image (*.png);;SVG vectors (*.svg)")
        path = self._ask_file("Export figure", f"{name}.png", filters)
        if path:
            self.export_figure_to(name, path)

    @Slot()
    def _on_animation_triggered(self) -> None:
        name = self._ask_view("Export animation", with_window=True)
        if name is None:
            return
        kinds = "Animated GIF (*.gif)" + (";;MP4 video (*.mp4)" if ffmpeg_path() else "")
        path = self._ask_file("Export animation", f"{name}.gif", kinds)
        if path:
            if Path(path).suffix.lower() not in ANIMATION_FORMATS:
                path += ".gif"
            self.export_animation_to(name, path)

    @Slot()
    def _on_copy_triggered(self) -> None:
        focused = next((name for name, view in self.views.items()
                        if view.hasFocus()
                        or (hasattr(view, "viewport") and view.viewport().hasFocus())), None)
        self._copy(focused or "surface")

    def _copy(self, name: str) -> None:
        try:
            copy_to_clipboard(self.views[name], scale=self.scale)
        except ExportError as error:
            self.model.message.emit(f"Not copied: {error}")
            return
        self.model.message.emit(f"Copied {VIEW_TITLES[name].lower()} to the clipboard")

    @Slot()
    def _on_scale_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.scale = float(action.data())
            for scale_action in self.scale_menu.actions():
                scale_action.setChecked(scale_action is action)

    @Slot(str)
    def _on_animation_finished(self, path: str) -> None:
        self.animation = None
        self.model.message.emit(f"Exported the animation to {Path(path).name}")

    @Slot(str)
    def _on_animation_failed(self, message: str) -> None:
        self.animation = None
        self.model.message.emit(f"Not exported: {message}")

    @Slot()
    def _on_animation_cancelled(self) -> None:
        self.animation = None
        self.model.message.emit("Animation export cancelled: no file written")

    # --- the plots' own context menus ------------------------------------------------------------

    def _own_context_menu(self, name: str, plot: pg.PlotWidget) -> None:
        """The plot's right-click menu: export or copy this plot. pyqtgraph's own Export…
        offers its SVG exporter, which crashes on current Qt."""
        plot.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        scene = plot.scene()
        scene.contextMenu = []  # pyqtgraph's "Export…" entry
        plot.getViewBox().setMenuEnabled(False)
        export = QAction(f"Export {VIEW_TITLES[name].lower()}…", plot)
        export.setData(name)
        export.triggered.connect(self._on_plot_export_triggered)
        copy = QAction("Copy", plot)
        copy.setData(name)
        copy.triggered.connect(self._on_plot_copy_triggered)
        plot.addAction(export)
        plot.addAction(copy)

    @Slot()
    def _on_plot_export_triggered(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        name = str(action.data())
        path = self._ask_file("Export figure", f"{name}.png",
                              "PNG image (*.png);;SVG vectors (*.svg)")
        if path:
            self.export_figure_to(name, path)

    @Slot()
    def _on_plot_copy_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self._copy(str(action.data()))
