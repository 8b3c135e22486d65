"""pytest-qt tests of the dataset editor: editing cells, adding and deleting points, CSV import.

A bad value never raises: the status bar says what is wrong and the run keeps its last valid data.
"""

from __future__ import annotations

import pytest
from gui_helpers import find, message
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QPushButton, QTableWidget

from gdviz.core.config import build_config

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
    assert "'abc'" in message(window) and "not a finite number" in message(window)
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
    assert "at least two points" in message(window)
    assert model.state == "ready"
    step(qtbot, window)  # the run still works on the last valid data
    assert model.history.param_names == ("w", "b")


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
    ("1,2\nfoo,bar\n3,4\n", "not numbers"),
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
