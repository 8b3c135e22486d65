"""The File menu's sessions: save and open `.gdviz` files, recent ones, files dropped on the
window; and the window's memory between sessions (see preferences.py).

A refused file (corrupt, truncated, from a newer gdviz, not a session at all) is said in the
status bar and the current work stays as it was: nothing is evaluated or unpickled, every
field is checked by gdviz.core.session_file before anything changes.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QMainWindow,
    QMenu,
    QProgressDialog,
    QWidget,
)

from gdviz.core.session_file import (
    SUFFIX,
    RestoredSession,
    SavedSession,
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


POLL_MS = 40  # how often the window looks at a session being opened
PROGRESS_AFTER_MS = 400  # a quick opening shows no dialog
CLOSE_WAIT_S = 0.3


class _Opening:
    """A session re-trained in a plain thread. The window polls it (no signals cross
    threads); Cancel sets `cancel`, which restore() checks every few thousand epochs."""

    def __init__(self, path: Path, saved: SavedSession) -> None:
        self.path = path
        self.name = path.name
        self.saved = saved
        self.cancel = threading.Event()
        self.progress = (0, 0)
        self.result: RestoredSession | None = None
        self.error = ""
        # A daemon: a torch import cannot be interrupted, and quitting must not wait for it.
        self.thread = threading.Thread(target=self._run, name="gdviz-open-session",
                                       daemon=True)

    def _run(self) -> None:
        try:
            self.result = restore(self.saved, cancelled=self.cancel.is_set,
                                  progress=self._report)
        except SessionError as error:
            self.error = str(error)
        except Exception as error:  # a trainer failing while re-training: said, not raised
            self.error = f"re-training failed: {type(error).__name__}: {error}"

    def _report(self, done: int, total: int) -> None:
        self.progress = (done, total)


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
        self._opening: _Opening | None = None
        self._progress: QProgressDialog | None = None
        self._poll_timer = QTimer(self, interval=POLL_MS)
        self._poll_timer.timeout.connect(self._on_poll_timer_timeout)
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
        """Open a session file: checked at once, then re-trained in the background (a long
        or torch session must not freeze the window), with a progress dialog and Cancel.
        On any problem say so and keep the current work. False if refused at once."""
        name = Path(path).name
        if self._opening is not None:
            self.model.message.emit(f"Not opened: still opening {self._opening.name}")
            return False
        try:
            saved = open_session(path)
        except SessionError as error:
            self.model.message.emit(f"Not opened: {error}; your work is unchanged")
            return False
        self.model.message.emit(f"Opening {name}: training it to epoch "
                                f"{saved.epochs_recorded}…")
        self._opening = _Opening(Path(path), saved)
        self._progress = QProgressDialog(f"Opening {name}…", "Cancel", 0, 0,
                                         self._parent_widget())
        self._progress.setObjectName("openSessionProgress")
        self._progress.setWindowModality(Qt.WindowModality.WindowModal)
        self._progress.setMinimumDuration(PROGRESS_AFTER_MS)
        self._progress.canceled.connect(self._on_progress_canceled)
        self._opening.thread.start()
        self._poll_timer.start()
        return True

    @property
    def opening(self) -> bool:
        """A session is being re-trained in the background."""
        return self._opening is not None

    def teardown(self) -> None:
        """The window closes: stop opening (the thread ends at its next check)."""
        opening = self._opening
        if opening is not None:
            opening.cancel.set()
            opening.thread.join(CLOSE_WAIT_S)
        self._finish_opening()

    @Slot()
    def _on_progress_canceled(self) -> None:
        if self._opening is not None:
            self._opening.cancel.set()

    @Slot()
    def _on_poll_timer_timeout(self) -> None:
        opening = self._opening
        if opening is None:
            self._poll_timer.stop()
            return
        done, total = opening.progress
        if self._progress is not None and total:
            self._progress.setMaximum(total)
            self._progress.setValue(min(done, total))
        if opening.thread.is_alive():
            return
        self._finish_opening()
        if opening.cancel.is_set() and opening.result is None:
            self.model.message.emit(f"Opening {opening.name} cancelled; your work is unchanged")
            return
        restored = opening.result
        if restored is None:
            self.model.message.emit(f"Not opened: {opening.error}; your work is unchanged")
            return
        notes = f" ({'; '.join(restored.notes)})" if restored.notes else ""
        self.model.adopt(restored, f"opened {opening.name} at epoch {restored.cursor}{notes}")
        log_scale = restored.view.get("log_scale")
        if isinstance(log_scale, bool):
            self.log_check.setChecked(log_scale)
        self._remember(opening.path)

    def _finish_opening(self) -> None:
        self._poll_timer.stop()
        self._opening = None
        if self._progress is not None:
            self._progress.canceled.disconnect(self._on_progress_canceled)
            self._progress.close()
            self._progress.deleteLater()
            self._progress = None

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
