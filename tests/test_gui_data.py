"""pytest-qt tests of the dataset editor: editing cells, adding and deleting points, CSV import.

A bad value never raises: the status bar says what is wrong and the run keeps its last valid data.
"""

from __future__ import annotations

import csv

import pytest
from gui_helpers import find, message
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QLabel,
    QPushButton,
    QTableWidget,
)

from gdviz.core import csv_import
from gdviz.core.config import build_config
from gdviz.ui.data_editor import BAD_CELL, TABLE_ROW_LIMIT, DatasetEditor

TORCH_TIMEOUT = 15_000


def table_points(window) -> list[tuple[float, float]]:
    table = find(window, QTableWidget, "dataTable")
    return [(float(table.item(r, 0).text()), float(table.item(r, 1).text()))
            for r in range(table.rowCount())]


def step(qtbot, window, times=1):
    model = window.model
    for _ in range(times):
        expected = len(model.history) + 1
        find(window, QAction, "actionStep").trigger()
        qtbot.waitUntil(lambda e=expected: len(model.history) == e, timeout=TORCH_TIMEOUT)


def click(qtbot, window, name):
    qtbot.mouseClick(find(window, QPushButton, name), Qt.MouseButton.LeftButton)


def background(table, row, column) -> QColor:
    return table.item(row, column).background().color()


def assert_table_matches_run(window):
    config = window.model.config
    assert table_points(window) == list(zip(config.x, config.y, strict=True))


def make_editor(qtbot, x=(1.0, 2.0, 3.0), y=(2.0, 4.0, 6.0)):
    """A DatasetEditor on its own, with every signal it sends recorded."""
    editor = DatasetEditor()
    qtbot.addWidget(editor)
    editor.set_points(x, y)
    editor.sent = []
    editor.data_edited.connect(lambda x, y: editor.sent.append(("data_edited", x, y)))
    editor.invalid.connect(lambda text: editor.sent.append(("invalid", text)))
    editor.notice.connect(lambda text: editor.sent.append(("notice", text)))
    return editor


# --- 9. editing the table ------------------------------------------------------------------------

def test_edit_a_cell_resets_the_run_with_the_new_data(qtbot, window):
    model = window.model
    step(qtbot, window, 2)
    table = find(window, QTableWidget, "dataTable")
    table.item(0, 1).setText("3")
    assert model.config.y == (3.0, 4.0, 6.0, 8.0)
    assert model.config.x == (1.0, 2.0, 3.0, 4.0)
    assert model.cursor == 0
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert len(model.history) == 0
    step(qtbot, window)
    # w1 = lr * dot(2x, y) = 0.01 * 2 * (3 + 8 + 18 + 32)
    assert model.history.trajectory("w")[1] == pytest.approx(1.22, abs=1e-6)
    assert table_points(window) == [(1, 3), (2, 4), (3, 6), (4, 8)]


def test_a_non_number_keeps_the_config(qtbot, window):
    model = window.model
    step(qtbot, window)
    config = model.config
    table = find(window, QTableWidget, "dataTable")
    table.item(1, 0).setText("abc")
    assert model.config == config
    assert message(window) == "row 2, x: 'abc' is not a number; the run keeps the last valid data"
    assert len(model.history) == 1 and model.cursor == 1  # the run was not reset
    table.item(1, 0).setText("2")  # valid again: the same data, a fresh run
    assert model.config == config
    table.item(2, 1).setText("inf")
    assert model.config == config
    assert "'inf'" in message(window) and "row 3, y" in message(window)
    table.item(2, 1).setText("7")
    assert model.config.y == (2.0, 4.0, 7.0, 8.0)
    assert model.cursor == 0


def test_add_and_delete_points(qtbot, window):
    model = window.model
    click(qtbot, window, "addPointButton")  # continues the line: (5, 10)
    assert model.config.x == (1.0, 2.0, 3.0, 4.0, 5.0)
    assert model.config.y == (2.0, 4.0, 6.0, 8.0, 10.0)
    assert table_points(window)[-1] == (5, 10)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)

    click(qtbot, window, "deletePointButton")  # nothing selected: the last row goes
    assert model.config.x == (1.0, 2.0, 3.0, 4.0)
    assert model.config.y == (2.0, 4.0, 6.0, 8.0)

    table = find(window, QTableWidget, "dataTable")
    table.selectRow(0)
    click(qtbot, window, "deletePointButton")
    assert model.config.x == (2.0, 3.0, 4.0)
    assert table_points(window) == [(2, 4), (3, 6), (4, 8)]
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    step(qtbot, window)  # the run trains on the edited data
    assert model.history.trajectory("w")[1] == pytest.approx(0.01 * 2 * (8 + 18 + 32))


# The window passes the trainer's minimum in: the editor refuses the deletion itself, so the
# table never shows one point while the run keeps two.
def test_nn_keeps_two_points(qtbot, make_window):
    window = make_window(build_config("nn"), timeout=TORCH_TIMEOUT)
    model = window.model
    click(qtbot, window, "deletePointButton")
    click(qtbot, window, "deletePointButton")
    assert model.config.x == (1.0, 2.0) and model.config.y == (2.0, 4.0)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=TORCH_TIMEOUT)
    config = model.config
    click(qtbot, window, "deletePointButton")
    assert model.config == config
    assert message(window) == "cannot delete: the run needs at least two points"
    assert_table_matches_run(window)  # the table and the run never disagree
    assert model.state == "ready"
    step(qtbot, window)  # the run still works on the last valid data
    assert model.history.param_names == ("w", "b")


def test_a_value_beyond_float32_is_marked_and_explained(qtbot, window):
    # 3.4e39 is finite in float64 but infinite in the trainers' float32.
    model = window.model
    config = model.config
    table = find(window, QTableWidget, "dataTable")
    table.item(0, 0).setText("3.4e39")
    assert model.config == config
    assert message(window) == ("row 1, x: '3.4e39' is too large for float32 (limit 3.4e38); "
                               "the run keeps the last valid data")
    assert background(table, 0, 0) == BAD_CELL
    assert background(table, 0, 1) != BAD_CELL
    table.item(0, 0).setText("-3.4e38")  # just inside the limit
    assert model.config.x[0] == -3.4e38
    assert background(table, 0, 0) != BAD_CELL


def test_an_empty_cell_is_named_in_window_words(qtbot, window):
    table = find(window, QTableWidget, "dataTable")
    table.item(3, 1).setText("  ")
    assert message(window) == "row 4, y: the cell is empty; the run keeps the last valid data"
    assert background(table, 3, 1) == BAD_CELL


def test_deleting_every_row_is_refused_and_the_table_keeps_the_run_data(qtbot, window):
    model = window.model
    config = model.config
    table = find(window, QTableWidget, "dataTable")
    table.selectAll()
    click(qtbot, window, "deletePointButton")
    assert message(window) == "cannot delete: the run needs at least one point"
    assert "--" not in message(window)  # window words, not the CLI's flags
    assert model.config == config
    assert_table_matches_run(window)
    for _ in range(3):
        table.clearSelection()
        click(qtbot, window, "deletePointButton")
    assert model.config.x == (1.0,) and table_points(window) == [(1, 2)]
    click(qtbot, window, "deletePointButton")  # the last point stays
    assert "at least one point" in message(window)
    assert model.config.x == (1.0,)
    assert_table_matches_run(window)
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    step(qtbot, window)  # one point trains: w1 = 0.01 * 2 * 1 * 2
    assert model.history.trajectory("w")[1] == pytest.approx(0.04)


def test_the_minimum_the_window_sets_stops_deleting(qtbot):
    editor = make_editor(qtbot)
    editor.set_min_points(2)
    assert editor.min_points == 2
    editor.delete_selected()
    assert editor.sent == [("data_edited", (1.0, 2.0), (2.0, 4.0))]
    editor.delete_selected()
    assert editor.sent[-1] == ("invalid", "cannot delete: the run needs at least two points")
    assert editor.table.rowCount() == 2
    editor.table.selectAll()
    editor.delete_selected()
    assert editor.table.rowCount() == 2 and len(editor.sent) == 3
    editor.set_min_points(0)  # nonsense: the run always needs one
    assert editor.min_points == 1


def test_editing_one_cell_does_not_round_the_others(qtbot, window, tmp_path):
    # The table is read back on every edit: "%g" cells turned 0.123456789 into 0.123457.
    path = tmp_path / "precise.csv"
    path.write_text("0.123456789,2.000000001\n1e-07,1e+20\n3,4\n", encoding="utf-8")
    window.data_editor.import_csv(path)
    find(window, QTableWidget, "dataTable").item(2, 1).setText("5")
    assert window.model.config.x == (0.123456789, 1e-07, 3.0)
    assert window.model.config.y == (2.000000001, 1e20, 5.0)
    assert find(window, QTableWidget, "dataTable").item(2, 0).text() == "3"  # still short


# --- 9. CSV import -------------------------------------------------------------------------------

def test_import_good_csv(qtbot, window, tmp_path):
    model = window.model
    path = tmp_path / "good.csv"
    path.write_text("1,3\n2,5\n3,7\n", encoding="utf-8")
    window.data_editor.import_csv(path)
    assert model.config.x == (1.0, 2.0, 3.0)
    assert model.config.y == (3.0, 5.0, 7.0)
    assert table_points(window) == [(1, 3), (2, 5), (3, 7)]
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)


def test_import_csv_with_a_header(qtbot, window, tmp_path):
    model = window.model
    path = tmp_path / "header.csv"
    path.write_text("x,y\n0.5,1.5\n-1,2\n\n4,-8\n", encoding="utf-8")
    window.data_editor.import_csv(path)
    assert model.config.x == (0.5, -1.0, 4.0)
    assert model.config.y == (1.5, 2.0, -8.0)
    assert table_points(window) == [(0.5, 1.5), (-1, 2), (4, -8)]


@pytest.mark.parametrize(("content", "expected"), [
    ("1,2\nfoo,bar\n3,4\n", "line 2, x: 'foo' is not a number"),
    ("1\n2\n3\n", "column"),
    ("", "empty"),
    ("x,y\n", "no numeric rows"),
    ("1,2\n2,nan\n", "finite"),
    (b"1,2\n\xff\xfe,3\n", "cannot import"),  # not UTF-8
])
def test_import_bad_csv_keeps_the_data(qtbot, window, tmp_path, content, expected):
    model = window.model
    step(qtbot, window)
    config = model.config
    path = tmp_path / "bad.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    window.data_editor.import_csv(path)
    text = message(window)
    assert text.startswith("cannot import bad.csv: ")
    assert expected in text
    assert "Traceback" not in text
    assert model.config == config
    assert len(model.history) == 1 and model.cursor == 1
    assert table_points(window) == [(1, 2), (2, 4), (3, 6), (4, 8)]


def test_import_missing_file(qtbot, window, tmp_path):
    config = window.model.config
    window.data_editor.import_csv(tmp_path / "missing.csv")
    assert message(window).startswith("cannot import missing.csv: ")
    assert window.model.config == config


@pytest.mark.parametrize(("content", "x", "y"), [
    (b"\xef\xbb\xbf1,3\n2,5\n", (1.0, 2.0), (3.0, 5.0)),  # Excel "CSV UTF-8", no header
    (b"\xef\xbb\xbfx;y\n1,5;3\n2;5,25\n", (1.5, 2.0), (3.0, 5.25)),  # European export
    (b"x\ty\n1\t3\n2\t5\n", (1.0, 2.0), (3.0, 5.0)),
    ("x;y\n1,5;3\n".encode("cp1252"), (1.5,), (3.0,)),
])
def test_import_spreadsheet_dialects(qtbot, window, tmp_path, content, x, y):
    path = tmp_path / "sheet.csv"
    path.write_bytes(content)
    window.data_editor.import_csv(path)
    assert window.model.config.x == x and window.model.config.y == y
    assert_table_matches_run(window)


def test_a_typo_in_the_first_row_is_not_a_header(qtbot, window, tmp_path):
    path = tmp_path / "typo.csv"
    path.write_text("1,2x\n3,4\n5,6\n", encoding="utf-8")
    config = window.model.config
    window.data_editor.import_csv(path)
    assert message(window) == "cannot import typo.csv: line 1, y: '2x' is not a number"
    assert window.model.config == config
    assert_table_matches_run(window)


def test_a_third_column_is_imported_with_a_notice(qtbot, window, tmp_path):
    editor = window.data_editor
    path = tmp_path / "three.csv"
    path.write_text("x,y,label\n1,3,a\n2,5,b\n", encoding="utf-8")
    with qtbot.waitSignal(editor.notice, timeout=1000) as notice:
        editor.import_csv(path)
    assert notice.args == ["Imported two points from three.csv; "
                           "3 columns: used the first two (x, y)"]
    assert window.model.config.x == (1.0, 2.0) and window.model.config.y == (3.0, 5.0)
    note = find(window, QLabel, "dataNote")
    assert note.isVisible() and "3 columns: used the first two (x, y)" in note.text()
    find(window, QTableWidget, "dataTable").item(0, 1).setText("4")  # an edit: old news
    assert not note.isVisible()


@pytest.mark.parametrize(("content", "expected"), [
    ("1,2\n3,3.4e39\n", "line 2, y: '3.4e39' is too large for float32 (limit 3.4e38)"),
    ("1,2\n3,4\n5,inf\n", "line 3, y: 'inf' is not a finite number"),
    ("1,2\n3,4\n5,\n", "line 3, y: the cell is empty"),
])
def test_refused_values_leave_table_and_run_alone(qtbot, window, tmp_path, content, expected):
    config = window.model.config
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    window.data_editor.import_csv(path)
    assert message(window) == f"cannot import bad.csv: {expected}"
    assert window.model.config == config
    assert_table_matches_run(window)
    assert all(background(find(window, QTableWidget, "dataTable"), r, c) != BAD_CELL
               for r in range(4) for c in range(2))


def test_a_field_over_the_csv_limit_is_one_line(qtbot, window, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text("1,2\n" + "7" * (csv.field_size_limit() + 1) + ",3\n", encoding="utf-8")
    config = window.model.config
    window.data_editor.import_csv(path)  # raised _csv.Error out of the slot before
    assert message(window).startswith(
        "cannot import huge.csv: line 2: a field is longer than 131,072 characters")
    assert window.model.config == config


def test_a_file_over_the_row_limit_is_refused_naming_the_limit(qtbot, window, tmp_path,
                                                              monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_IMPORT_ROWS", 20)
    path = tmp_path / "long.csv"
    path.write_text("".join(f"{i},{2 * i}\n" for i in range(21)), encoding="utf-8")
    config = window.model.config
    window.data_editor.import_csv(path)
    assert message(window) == ("cannot import long.csv: more than 20 rows; "
                               "the import limit is 20 points")
    assert window.model.config == config
    path.write_text("x,y\n" + "".join(f"{i},{2 * i}\n" for i in range(20)), encoding="utf-8")
    window.data_editor.import_csv(path)  # exactly the limit, and a header
    assert len(window.model.config.x) == 20


def test_too_few_points_for_the_trainer_are_refused(qtbot, window, tmp_path):
    editor = window.data_editor
    editor.set_min_points(2)  # what the window does for a model with a bias
    path = tmp_path / "one.csv"
    path.write_text("x,y\n1,2\n", encoding="utf-8")
    config = window.model.config
    editor.import_csv(path)
    assert message(window) == ("cannot import one.csv: it has one point; "
                               "the run needs at least two points")
    assert window.model.config == config


def test_a_large_import_shows_the_first_rows_read_only(qtbot, window, tmp_path):
    n = TABLE_ROW_LIMIT * 5
    path = tmp_path / "large.csv"
    path.write_text("".join(f"{i},{0.5 * i}\n" for i in range(n)), encoding="utf-8")
    window.data_editor.import_csv(path)
    model = window.model
    assert len(model.config.x) == n and model.config.y[-1] == 0.5 * (n - 1)  # the run: all
    table = find(window, QTableWidget, "dataTable")
    assert table.rowCount() == TABLE_ROW_LIMIT  # the table: the first rows only
    assert table_points(window)[-1] == (TABLE_ROW_LIMIT - 1, 0.5 * (TABLE_ROW_LIMIT - 1))
    assert table.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    assert not find(window, QPushButton, "addPointButton").isEnabled()
    assert not find(window, QPushButton, "deletePointButton").isEnabled()
    note = find(window, QLabel, "dataNote")
    assert note.isVisible() and "first 1,000 of 5,000 points" in note.text()
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    step(qtbot, window)  # trains on every point
    sxy = sum(i * 0.5 * i for i in range(n))
    assert model.history.trajectory("w")[1] == pytest.approx(0.01 * 2 * sxy, rel=1e-5)

    window.apply_preset("notebook-numpy")  # small data again: editable
    assert table.rowCount() == 4 and not note.isVisible()
    assert table.editTriggers() != QAbstractItemView.EditTrigger.NoEditTriggers
    assert find(window, QPushButton, "deletePointButton").isEnabled()


def test_import_button_asks_for_a_file(qtbot, window, tmp_path, monkeypatch):
    path = tmp_path / "picked.csv"
    path.write_text("1,1\n2,2\n", encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *args, **kwargs: (str(path), "")))
    click(qtbot, window, "importCsvButton")
    assert window.model.config.x == (1.0, 2.0)


# --- presets -------------------------------------------------------------------------------------

def test_preset_combo_applies_a_preset(qtbot, window):
    model = window.model
    combo = find(window, QComboBox, "presetCombo")
    index = combo.findData("numpy-diverging")
    assert index > 0
    combo.activated.emit(index)  # what a user's choice in the popup emits
    assert model.config == build_config(preset_name="numpy-diverging")
    assert "numpy-diverging" in message(window)
    assert combo.currentIndex() == 0
    qtbot.waitUntil(lambda: model.state == "ready", timeout=TORCH_TIMEOUT)
