"""CSV import without Qt: spreadsheet dialects, headers, extra columns, limits, clear errors."""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pytest

from gdviz.core import csv_import
from gdviz.core.csv_import import (
    CsvImportError,
    ImportedPoints,
    detect_delimiter,
    parse_points_csv,
    read_points_csv,
)


def write(tmp_path: Path, content: str | bytes, name: str = "points.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def read(tmp_path: Path, content: str | bytes) -> ImportedPoints:
    return read_points_csv(write(tmp_path, content))


def error_of(tmp_path: Path, content: str | bytes) -> str:
    with pytest.raises(CsvImportError) as caught:
        read(tmp_path, content)
    text = str(caught.value)
    assert "\n" not in text and "Traceback" not in text
    return text


# --- dialects ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "delimiter", "decimal_comma"), [
    ("1,2\n3,4.5\n", ",", False),
    ("1;2\n3;4.5\n", ";", False),
    ("1\t2\n3\t4.5\n", "\t", False),
    ("1;2\n3;4,5\n", ";", True),  # a European spreadsheet export
    ("1\t2\n3\t4,5\n", "\t", True),
    ("1;2\r\n3;4,5\r\n", ";", True),  # Windows line ends
    ('"1","2"\n"3","4.5"\n', ",", False),  # quoted fields
])
def test_dialects(tmp_path, content, delimiter, decimal_comma):
    points = read(tmp_path, content)
    assert (points.x, points.y) == ((1.0, 3.0), (2.0, 4.5))
    assert points.delimiter == delimiter
    assert points.decimal_comma is decimal_comma
    assert points.warnings == ()


def test_decimal_commas_with_a_header(tmp_path):
    points = read(tmp_path, "Zeit (s);Weg (m)\n1,5;3,0\n2,5;-4,25\n")
    assert (points.x, points.y) == ((1.5, 2.5), (3.0, -4.25))
    assert points.header == ("Zeit (s)", "Weg (m)")


def test_decimal_points_and_commas_mixed_is_an_error_not_a_guess(tmp_path):
    # "1,234" could be a thousands separator here: refuse rather than read 1.234.
    assert error_of(tmp_path, "1.5;2\n1,234;3\n") == "line 2, x: '1,234' is not a number"


def test_utf8_bom_without_a_header_keeps_the_first_point(tmp_path):
    points = read(tmp_path, codecs.BOM_UTF8 + b"1,2\n3,4\n")
    assert (points.x, points.y) == ((1.0, 3.0), (2.0, 4.0))
    assert points.header is None


def test_utf8_bom_with_a_semicolon_header(tmp_path):
    points = read(tmp_path, codecs.BOM_UTF8 + b"x;y\n1,5;2\n")
    assert (points.x, points.y, points.header) == ((1.5,), (2.0,), ("x", "y"))


def test_utf16_tab_export(tmp_path):
    # Excel's "Unicode text": UTF-16 with a BOM, tab-separated.
    points = read(tmp_path, "x\ty\r\n1\t2\r\n3\t4\r\n".encode("utf-16"))
    assert (points.x, points.y) == ((1.0, 3.0), (2.0, 4.0))


def test_windows_code_page_header(tmp_path):
    # Excel's plain "CSV" on Windows is cp1252, not UTF-8: the numbers still import.
    points = read(tmp_path, "Größe;Höhe\n1,5;2\n".encode("cp1252"))
    assert (points.x, points.y, points.header) == ((1.5,), (2.0,), ("Größe", "Höhe"))


def test_detect_delimiter_prefers_the_one_that_gives_numbers():
    assert detect_delimiter(["1,5;3,0", "2,5;4,0"]) == ";"
    assert detect_delimiter(["1,2", "3,4"]) == ","
    assert detect_delimiter(["x\ty", "1,5\t2"]) == "\t"


# --- headers and rows ----------------------------------------------------------------------------

def test_header_words_are_skipped(tmp_path):
    points = read(tmp_path, "x,y\n0.5,1.5\n-1,2\n\n4,-8\n")
    assert (points.x, points.y, points.header) == ((0.5, -1.0, 4.0), (1.5, 2.0, -8.0), ("x", "y"))


def test_a_typo_in_the_first_row_is_an_error_not_a_header(tmp_path):
    assert error_of(tmp_path, "1,2x\n3,4\n") == "line 1, y: '2x' is not a number"
    assert error_of(tmp_path, "x,2\n3,4\n") == "line 1, x: 'x' is not a number"


def test_blank_and_separator_only_rows_are_skipped(tmp_path):
    points = read(tmp_path, "1;2\n;\n\n  \n3;4\n;;\n")
    assert (points.x, points.y) == ((1.0, 3.0), (2.0, 4.0))


def test_line_numbers_count_skipped_lines(tmp_path):
    assert error_of(tmp_path, "x,y\n\n1,2\n3,\n") == "line 4, y: the cell is empty"


def test_the_earliest_bad_cell_is_named(tmp_path):
    assert error_of(tmp_path, "1,2\n3,abc\nxyz,4\n") == "line 2, y: 'abc' is not a number"


@pytest.mark.parametrize(("content", "expected"), [
    ("", "the file is empty"),
    ("\n \n", "the file is empty"),
    ("x,y\n", "no numeric rows after the header"),
    ("1\n2\n", "line 1 has 1 column"),
    ("1,2\n3\n", "line 2 has 1 column"),
    ("1,2\n2,nan\n", "line 2, y: 'nan' is not a finite number"),
    ("1,2\n-inf,3\n", "line 2, x: '-inf' is not a finite number"),
])
def test_bad_files(tmp_path, content, expected):
    assert expected in error_of(tmp_path, content)


# --- extra columns -------------------------------------------------------------------------------

def test_a_third_column_is_reported_not_dropped_silently(tmp_path):
    points = read(tmp_path, "x,y,label\n1,2,a\n3,4,b\n")
    assert (points.x, points.y) == ((1.0, 3.0), (2.0, 4.0))
    assert points.warnings == ("3 columns: used the first two (x, y)",)


def test_the_widest_row_counts(tmp_path):
    points = read(tmp_path, "1;2;3\n4;5;6;7\n")
    assert points.warnings == ("4 columns: used the first two (x, y)",)


def test_trailing_empty_fields_are_not_columns(tmp_path):
    assert read(tmp_path, "1;2;\n3;4;;\n").warnings == ()


# --- float32 -------------------------------------------------------------------------------------

def test_values_beyond_float32_are_refused(tmp_path):
    # Finite in float64, infinite in the trainers' float32.
    assert error_of(tmp_path, "1,2\n3.4e39,4\n") == (
        "line 2, x: '3.4e39' is too large for float32 (limit 3.4e38)")
    points = read(tmp_path, "3.4e38,-3.4e38\n")
    assert points.x == (3.4e38,)


# --- limits and broken files ---------------------------------------------------------------------

def test_a_field_over_the_csv_limit_is_one_clear_line(tmp_path):
    text = error_of(tmp_path, "1,2\n" + "9" * (csv.field_size_limit() + 10) + ",3\n")
    assert text.startswith("line 2: a field is longer than 131,072 characters")


def test_a_nul_byte_is_one_clear_line(tmp_path):
    assert error_of(tmp_path, b"1,2\n3,\x004\n").startswith("line 2")


def test_a_missing_file(tmp_path):
    with pytest.raises(CsvImportError, match="No such file"):
        read_points_csv(tmp_path / "missing.csv")


def test_a_folder(tmp_path):
    with pytest.raises(CsvImportError):
        read_points_csv(tmp_path)


def test_the_row_limit_is_named():
    rows = "".join(f"{i},{i}\n" for i in range(11))
    with pytest.raises(CsvImportError, match="more than 10 rows; the import limit is 10 points"):
        parse_points_csv(rows, max_rows=10)
    assert len(parse_points_csv("x,y\n" + rows[: rows.index("10,")], max_rows=10)) == 10
    assert len(parse_points_csv("\n\n" + rows[: rows.index("10,")], max_rows=10)) == 10


def test_the_default_row_limit_is_read_when_called(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_IMPORT_ROWS", 3)
    with pytest.raises(CsvImportError, match="the import limit is 3 points"):
        read(tmp_path, "1,1\n2,2\n3,3\n4,4\n")


def test_a_file_over_the_byte_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_IMPORT_BYTES", 2**20)
    with pytest.raises(CsvImportError, match="the file is 2 MB; the import limit is 1 MB"):
        read(tmp_path, "1,2\n" * (2**20 // 2))


def test_a_large_file_is_read_exactly(tmp_path):
    n = 50_000
    lines = [f"{i},5;{-i},25" for i in range(n)]
    points = read(tmp_path, "x;y\n" + "\n".join(lines) + "\n")
    assert len(points) == n
    assert points.x[-1] == n - 1 + 0.5 and points.y[-1] == -(n - 1) - 0.25
    assert all(isinstance(value, float) for value in points.x[:10])


def test_excel_sep_line_names_the_separator() -> None:
    points = parse_points_csv("sep=;\nx;y\n1,5;3\n2;4,5\n")
    assert points.delimiter == ";" and points.x == (1.5, 2.0) and points.y == (3.0, 4.5)


def test_quoted_decimal_commas_with_a_comma_separator() -> None:
    """LibreOffice in a decimal-comma locale with "," as the separator quotes each number."""
    points = parse_points_csv('"x","y"\n"1,5","3,0"\n"2","4,25"\n')
    assert points.x == (1.5, 2.0) and points.y == (3.0, 4.25)
