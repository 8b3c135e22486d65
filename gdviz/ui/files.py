"""The File menu's sessions: save and open `.gdviz` files, recent ones, files dropped on the
window; and the window's memory between sessions (see preferences.py).

A refused file (corrupt, truncated, from a newer gdviz, not a session at all) is said in the
status bar and the current work stays as it was: nothing is evaluated or unpickled, every
field is checked by gdviz.core.session_file before anything changes.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Qt, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QCheckBox, QFileDialog, QMainWindow, QMenu, QWidget

from gdviz.core.session_file import (
    SUFFIX,
    SessionError,
    from_session,
    open_session,
    restore,
    save_session,
)
from gdviz.core.traces import ExportError, export_trace
from gdviz.ui import preferences
from gdviz.ui.data_editor import DatasetEditor
from gdviz.ui.run_model import RunModel
from gdviz.ui.widgets import named

FILTER = f"gdviz sessions (*{SUFFIX});;All files (*)"
TRACE_FILTER = "CSV (*.csv);;JSON Lines (*.jsonl *.json);;Log as text (*.txt *.log)"
CSV_SUFFIXES = (".csv", ".tsv", ".txt")


class SessionFiles(QObject):
    """Owns the session actions and the Recent sessions menu."""

    def __init__(self, window: QMainWindow, model: RunModel, remember: bool,
                 log_check: QCheckBox, data_editor: DatasetEditor) -> None:
        # No Python reference to the window (nor to its methods): see gdviz/ui/compare.py.
        super().__init__(window)
        self.model = model
        self.remember = remember
        self.log_check = log_check  # the view options a session keeps
        self.data_editor = data_editor  # where a dropped CSV goes
        self.action_save = named(QAction("Save session…", window), "actionSaveSession")
        self.action_save.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.action_save.setToolTip("Save the run, its cursor, the pins and the view as a "
                                    f"{SUFFIX} file (Ctrl+S)")
        self.action_save.triggered.connect(self._on_save_triggered)
        self.action_open = named(QAction("Open session…", window), "actionOpenSession")
        self.action_open.setShortcut(QKeySequence(QKeySequence.StandardKey.Open))
        self.action_open.setToolTip(f"Open a {SUFFIX} file: the run re-trained to where it "
                                    "was saved (Ctrl+O)")
        self.action_open.triggered.connect(self._on_open_triggered)
        self.action_export_trace = named(QAction("Export trace…", window), "actionExportTrace")
        self.action_export_trace.setToolTip("The recorded epochs as CSV or JSON Lines (the "
                                            "fields of gdviz run --json), or the log as text")
        self.action_export_trace.triggered.connect(self._on_export_trace_triggered)
        for action in (self.action_save, self.action_open):
            window.addAction(action)
        self.recent_menu = named(QMenu("Recent sessions", window), "recentSessionsMenu")
        self._fill_recent(preferences.recent_sessions() if remember else [])

    # --- the window's File menu calls these ------------------------------------------------------

    def save_to(self, path: str) -> bool:
        target = Path(path)
        if target.suffix != SUFFIX:
            target = target.with_name(target.name + SUFFIX)
        view = {"log_scale": self.log_check.isChecked()}
        try:
            save_session(target, from_session(self.model.session, self.model.pins, view))
        except SessionError as error:
            self.model.message.emit(f"Not saved: {error}")
            return False
        self.model.message.emit(f"Saved {target.name}: epoch {self.model.cursor}, "
                                f"{len(self.model.pins)} pinned")
        self._remember(target)
        return True

    def open_from(self, path: str) -> bool:
        """Open a session file; on any problem say so and keep the current work."""
        name = Path(path).name
        self.model.message.emit(f"Opening {name}…")
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            saved = open_session(path)
            restored = restore(saved)
        except SessionError as error:
            self.model.message.emit(f"Not opened: {error}; your work is unchanged")
            return False
        finally:
            QGuiApplication.restoreOverrideCursor()
        notes = f" ({'; '.join(restored.notes)})" if restored.notes else ""
        self.model.adopt(restored, f"opened {name} at epoch {restored.cursor}{notes}")
        log_scale = restored.view.get("log_scale")
        if isinstance(log_scale, bool):
            self.log_check.setChecked(log_scale)
        self._remember(Path(path))
        return True

    def export_trace_to(self, path: str) -> bool:
        """The run's epochs up to the last recorded as CSV / JSON Lines, or the log."""
        model = self.model
        history = model.history
        if history is None:
            model.message.emit("No trace yet: the run is still starting")
            return False
        epochs = len(history)
        if model.session.lesson_error is not None:
            epochs += 1  # torch refused the next update: the trace ends with its line
        try:
            export_trace(path, model.config, epochs, history=history, log=model.session)
        except ExportError as error:
            model.message.emit(f"Not exported: {error}")
            return False
        model.message.emit(f"Exported {Path(path).name}: {len(history)} epochs")
        return True

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if self._dropped_path(event.mimeData()) is not None:
            event.acceptProposedAction()

    def drop(self, event: QDropEvent) -> None:
        path = self._dropped_path(event.mimeData())
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() in CSV_SUFFIXES:
            self.data_editor.import_csv(path)
        else:
            self.open_from(str(path))

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _dropped_path(mime: QMimeData) -> Path | None:
        urls = mime.urls()
        if len(urls) != 1 or not urls[0].isLocalFile():
            return None
        path = Path(urls[0].toLocalFile())
        return path if path.suffix.lower() in (SUFFIX, *CSV_SUFFIXES) else None

    def _parent_widget(self) -> QWidget | None:
        parent = self.parent()
        return parent if isinstance(parent, QWidget) else None

    @Slot()
    def _on_save_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent_widget(), "Save session",
                                              f"run{SUFFIX}", FILTER)
        if path:
            self.save_to(path)

    @Slot()
    def _on_open_triggered(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._parent_widget(), "Open session", "",
                                              FILTER)
        if path:
            self.open_from(path)

    @Slot()
    def _on_export_trace_triggered(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self._parent_widget(), "Export trace",
                                              "trace.csv", TRACE_FILTER)
        if path:
            self.export_trace_to(path)

    @Slot()
    def _on_recent_triggered(self) -> None:
        action = self.sender()
        if not isinstance(action, QAction):
            return
        path = str(action.data())
        if not Path(path).is_file():
            self.model.message.emit(f"Not opened: {Path(path).name} is gone; removed from "
                                    "Recent sessions")
            self._fill_recent(preferences.forget_recent_session(path))
            return
        self.open_from(path)

    def _remember(self, path: Path) -> None:
        if self.remember:
            self._fill_recent(preferences.add_recent_session(path))

    def _fill_recent(self, paths: list[str]) -> None:
        self.recent_menu.clear()
        for index, path in enumerate(paths, start=1):
            action = self.recent_menu.addAction(f"&{index} {Path(path).name}")
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(self._on_recent_triggered)
        self.recent_menu.setEnabled(bool(paths))
