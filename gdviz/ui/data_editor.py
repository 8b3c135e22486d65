"""The dataset editor: a table of (x, y) points, presets and CSV import.

The table and the run must never disagree: an edit the run would refuse is refused here first,
with the bad cell marked and a message, and an import replaces the data all at once or not at all.
Large imports show only their first rows (read-only); the run still gets every point.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from gdviz.core.config import ConfigError, available_presets, load_preset
from gdviz.core.csv_import import CsvImportError, describe_problem, read_points_csv, value_problem
from gdviz.ui.widgets import named, shrinkable

Points = tuple[tuple[float, ...], tuple[float, ...]]

TABLE_ROW_LIMIT = 1_000  # more rows than this are not made into table items (too slow, too big)
BAD_CELL = QColor("#FFD0C0")
GOOD_CELL = QColor(0, 0, 0, 0)
KEEPS_DATA = "the run keeps the last valid data"



def count_points(n: int) -> str:
    """`one point`, `two points`, `12 points`: as a sentence says it."""
    words = {1: "one", 2: "two", 3: "three"}
    return f"{words.get(n, f'{n:,}')} point{'s' if n != 1 else ''}"


def cell_text(value: float) -> str:
    """Short (`2`, `0.5`) but exact: the table is read back on every edit, so `%g`'s six
    digits would silently round every other point of imported data."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


class DatasetEditor(QGroupBox):
    """A table of (x, y) points to edit, extend and trim; presets; CSV import.

    `invalid` carries refusals (the data did not change); `notice` carries news about data that
    did change, such as an import's warnings. Both are one line, fit for the status bar.
    """

    data_edited = Signal(tuple, tuple)
    preset_chosen = Signal(str)
    invalid = Signal(str)
    notice = Signal(str)

    def __init__(self) -> None:
        super().__init__("Data")
        self._min_points = 1
        self._shown: Points | None = None  # what the table holds, None while a cell is bad
        self._all_points: Points | None = None  # every point, while the table shows only some
        self._import_notes: tuple[str, ...] = ()

        layout = QVBoxLayout(self)
        self.preset_combo = shrinkable(named(QComboBox(), "presetCombo"))
        self.preset_combo.addItem("Presets…", None)
        for name in available_presets():
            self.preset_combo.addItem(name, name)
            try:
                description = load_preset(name).get("description", "")
            except ConfigError:
                description = ""
            self.preset_combo.setItemData(self.preset_combo.count() - 1, description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.activated.connect(self._on_preset_combo_activated)
        layout.addWidget(self.preset_combo)

        self.table = named(QTableWidget(0, 2), "dataTable")
        self.table.setHorizontalHeaderLabels(["x", "y"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self._edit_triggers = self.table.editTriggers()
        self.table.itemChanged.connect(self._on_table_item_changed)
        layout.addWidget(self.table)

        self.note = named(QLabel(), "dataNote")
        self.note.setWordWrap(True)
        self.note.hide()
        layout.addWidget(self.note)

        # Two rows: three buttons side by side made the settings column too wide for 1024 px.
        buttons = QGridLayout()
        self.add_button = named(QPushButton("Add point"), "addPointButton")
        self.delete_button = named(QPushButton("Delete"), "deletePointButton")
        self.import_button = named(QPushButton("Import CSV…"), "importCsvButton")
        buttons.addWidget(self.add_button, 0, 0)
        buttons.addWidget(self.delete_button, 0, 1)
        buttons.addWidget(self.import_button, 1, 0, 1, 2)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self.add_point)
        self.delete_button.clicked.connect(self.delete_selected)
        self.import_button.clicked.connect(self._on_import_button_clicked)

    # --- what the window calls -------------------------------------------------------------------

    @property
    def min_points(self) -> int:
        return self._min_points

    def set_min_points(self, n: int) -> None:
        """The fewest points the current trainer can fit (2 with a bias): deleting stops there."""
        self._min_points = max(1, n)

    @property
    def truncated(self) -> bool:
        """True while the table shows only the first TABLE_ROW_LIMIT points, read-only."""
        return self._all_points is not None

    def set_points(self, x: tuple[float, ...], y: tuple[float, ...]) -> None:
        """Show these points; called on every run reset, so it is cheap when nothing changed."""
        points = (tuple(x), tuple(y))
        if points == self._shown:
            return
        self._import_notes = ()  # they were about the data being replaced
        self._all_points = points if len(x) > TABLE_ROW_LIMIT else None
        self._fill_table(points[0][:TABLE_ROW_LIMIT], points[1][:TABLE_ROW_LIMIT])
        self._shown = points
        editable = not self.truncated
        self.table.setEditTriggers(self._edit_triggers if editable
                                   else QAbstractItemView.EditTrigger.NoEditTriggers)
        self.add_button.setEnabled(editable)
        self.delete_button.setEnabled(editable)
        self._update_note()

    def points(self) -> Points | None:
        """The data, or None (with the bad cells marked and `invalid` sent) if a cell is bad."""
        if self._all_points is not None:
            return self._all_points
        # Colouring cells fires itemChanged: without the blocker this re-enters _emit_points and
        # a nested reset replaces the items this loop is still reading.
        with QSignalBlocker(self.table):
            columns, first_bad = self._read_and_mark_cells()
        if first_bad is not None:
            self.invalid.emit(f"{first_bad}; {KEEPS_DATA}")
            return None
        return tuple(columns[0]), tuple(columns[1])

    def add_point(self) -> None:
        current = self.points()
        if current is None:
            return
        x, y = current
        # Continue the pattern of the last two points, so "Add" makes sense on a line.
        if len(x) >= 2:
            new_x, new_y = 2 * x[-1] - x[-2], 2 * y[-1] - y[-2]
        elif x:
            new_x, new_y = x[-1] + 1, y[-1]
        else:
            new_x, new_y = 1.0, 1.0
        self.set_points((*x, new_x), (*y, new_y))
        self._emit_points()

    def delete_selected(self) -> None:
        """Delete the selected rows (or the last one), never below the trainer's minimum."""
        if self.truncated:
            return
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.rowCount():
            rows = [self.table.rowCount() - 1]
        if self.table.rowCount() - len(rows) < self._min_points:
            self.invalid.emit(f"cannot delete: the run needs at least "
                              f"{count_points(self._min_points)}")
            return
        with QSignalBlocker(self.table):
            for row in rows:
                self.table.removeRow(row)
        self._emit_points()

    def import_csv(self, path: Path | str) -> None:
        """Replace the data with a file's points, all at once; on any problem change nothing."""
        path = Path(path)
        try:
            imported = read_points_csv(path)
        except (CsvImportError, OSError) as error:
            self.invalid.emit(f"cannot import {path.name}: {error}")
            return
        if len(imported) < self._min_points:
            self.invalid.emit(f"cannot import {path.name}: it has {count_points(len(imported))}; "
                              f"the run needs at least {count_points(self._min_points)}")
            return
        self.set_points(imported.x, imported.y)
        self._import_notes = tuple(f"{path.name}: {warning}" for warning in imported.warnings)
        self._update_note()
        self.data_edited.emit(imported.x, imported.y)
        self.notice.emit("; ".join((f"Imported {count_points(len(imported))} from {path.name}",
                                    *imported.warnings)))

    # --- internals -------------------------------------------------------------------------------

    def _read_and_mark_cells(self) -> tuple[list[list[float]], str | None]:
        """Each column's numbers, and where the first bad cell is (None if there is none)."""
        columns: list[list[float]] = [[], []]
        first_bad: str | None = None
        for row in range(self.table.rowCount()):
            for column in (0, 1):
                item = self.table.item(row, column)
                text = item.text() if item is not None else ""
                problem = value_problem(text)
                if item is not None:
                    item.setBackground(GOOD_CELL if problem is None else BAD_CELL)
                if problem is None:
                    columns[column].append(float(text))
                elif first_bad is None:
                    where = f"row {row + 1}, {'xy'[column]}"
                    first_bad = f"{where}: {describe_problem(text, problem)}"
        return columns, first_bad

    def _fill_table(self, x: tuple[float, ...], y: tuple[float, ...]) -> None:
        with QSignalBlocker(self.table):
            self.table.setRowCount(len(x))
            for row, (xv, yv) in enumerate(zip(x, y, strict=True)):
                self.table.setItem(row, 0, QTableWidgetItem(cell_text(xv)))
                self.table.setItem(row, 1, QTableWidgetItem(cell_text(yv)))

    def _update_note(self) -> None:
        lines = list(self._import_notes)
        if self._all_points is not None:
            lines.append(f"The table shows the first {TABLE_ROW_LIMIT:,} of "
                         f"{len(self._all_points[0]):,} points, read-only; the run uses them all. "
                         "Import a smaller file or choose a preset to edit points.")
        self.note.setText("\n".join(lines))
        self.note.setVisible(bool(lines))

    def _on_table_item_changed(self, _item: QTableWidgetItem) -> None:
        self._import_notes = ()
        self._update_note()
        self._emit_points()

    def _emit_points(self) -> None:
        points = self.points()
        self._shown = points
        if points is not None:
            self.data_edited.emit(*points)

    def _on_import_button_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import points", "",
                                              "CSV files (*.csv *.txt *.tsv);;All files (*)")
        if name:
            self.import_csv(Path(name))

    def _on_preset_combo_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        self.preset_combo.setCurrentIndex(0)
        if name:
            self.preset_chosen.emit(name)
