"""Read (x, y) points from a CSV file as spreadsheets export it. No Qt: the window calls this.

Spreadsheets write CSV in several dialects: commas, semicolons or tabs between fields; decimal
commas (`1,5;3,0`) where the locale uses them; a UTF-8 byte-order mark (Excel's "CSV UTF-8"),
UTF-16 ("Unicode text") or the Windows code page. `read_points_csv` detects all of these, parses
and validates the whole file first, and raises `CsvImportError` with one line a user can act on,
so a caller can replace its data all at once or not at all.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The window blocks ~1.2 s on 200,000 points (parse 0.3 s, the rest validating and plotting
# them); a million would freeze it ~9 s. Teaching data sets are far smaller.
MAX_IMPORT_ROWS = 200_000
MAX_IMPORT_BYTES = 64 * 1024 * 1024  # room for the rows above with long numbers, not for 2 GB
FLOAT32_MAX = float(np.finfo(np.float32).max)  # the trainers hold the data in float32
SAMPLE_LINES = 20  # lines read to detect the separator
SAMPLE_CHARS = 1000
# Tried in this order: a comma can be a decimal comma inside the other two, not the reverse.
DELIMITERS = ("\t", ";", ",")
COLUMN_NAMES = ("x", "y")


class CsvImportError(ValueError):
    """The file cannot be imported; the message is one line, fit to show as it is."""


@dataclass(frozen=True)
class ImportedPoints:
    """The points of a file, the dialect they were read in, and what the user should know."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    warnings: tuple[str, ...] = ()
    delimiter: str = ","
    decimal_comma: bool = False
    header: tuple[str, ...] | None = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class _Rows:
    """The raw text of the first two columns, with each row's line in the file."""

    x: list[str]
    y: list[str]
    lines: list[int]
    columns: int  # the widest row with something in it


def read_points_csv(path: Path | str, max_rows: int | None = None) -> ImportedPoints:
    """Read two numeric columns x, y (more are ignored, with a warning); an optional header.

    At most `max_rows` points (default MAX_IMPORT_ROWS); a CsvImportError says what is wrong.
    The file is read as a stream: a huge file is refused at the limit, not loaded whole.
    """
    path = Path(path)
    try:
        encoding = _encoding(path)
        try:
            with open(path, encoding=encoding, newline="") as handle:
                return _parse_lines(handle, max_rows)
        except UnicodeDecodeError:
            if encoding == "utf-16":
                raise CsvImportError("the file starts like UTF-16 text but is not") from None
        # Excel's plain "CSV" is in the Windows code page; numbers are ASCII in it anyway.
        with open(path, encoding="cp1252", errors="replace", newline="") as handle:
            return _parse_lines(handle, max_rows)
    except OSError as error:
        raise CsvImportError(error.strerror or str(error)) from None


def parse_points_csv(text: str, max_rows: int | None = None) -> ImportedPoints:
    """As `read_points_csv`, on the file's text (a leading byte-order mark is dropped)."""
    return _parse_lines(io.StringIO(text.removeprefix("\ufeff"), newline=""), max_rows)


def _parse_lines(lines: Iterator[str], max_rows: int | None) -> ImportedPoints:
    max_rows = MAX_IMPORT_ROWS if max_rows is None else max_rows
    head = list(itertools.islice(lines, SAMPLE_LINES))
    # Excel writes "sep=;" as a first line to name its separator: take it at its word.
    named = head[0].strip() if head else ""
    if len(named) == 5 and named.lower().startswith("sep="):
        delimiter = named[4]
        head = head[1:]
    else:
        # Cut short: enough to see the separator, cheap on any line.
        delimiter = detect_delimiter([line[:SAMPLE_CHARS] for line in head])
    rows = _collect_rows(itertools.chain(head, lines), delimiter, max_rows)
    if not rows.x:
        raise CsvImportError("the file is empty")
    header = _header(rows.x[0], rows.y[0])
    if header is not None:
        for column in (rows.x, rows.y, rows.lines):
            del column[0]
        if not rows.x:
            raise CsvImportError("no numeric rows after the header")
    # A comma inside a field is a decimal comma, unless the file also writes decimal points
    # (then "1,234" may be a thousands separator: better refused than read as 1.234). With a
    # comma separator a field holds a comma only when quoted: LibreOffice's "1,5","3,0".
    decimal_comma = not _any_contains(rows, ".") and _any_contains(rows, ",")
    x, y = _convert(rows, _decimal_comma_float if decimal_comma else float)
    warnings = []
    if rows.columns > 2:
        warnings.append(f"{rows.columns} columns: used the first two (x, y)")
    return ImportedPoints(x, y, tuple(warnings), delimiter, decimal_comma, header)


def detect_delimiter(sample: Sequence[str]) -> str:
    """The separator under which most sample rows hold two numbers (ties: tab, ';', ',')."""

    def score(delimiter: str) -> tuple[int, int]:
        numeric = wide = 0
        try:
            for row in csv.reader(sample, delimiter=delimiter):
                if len(row) >= 2:
                    wide += 1
                    numeric += _looks_numeric(row[0]) and _looks_numeric(row[1])
        except csv.Error:
            pass  # a broken sample: the full read reports it with its line number
        return numeric, wide

    scores = {delimiter: score(delimiter) for delimiter in DELIMITERS}
    # max() keeps the first of equal scores, so the order of DELIMITERS breaks ties.
    return max(DELIMITERS, key=lambda delimiter: scores[delimiter])


def _encoding(path: Path) -> str:
    """UTF-16 if the file starts with its byte-order mark, else UTF-8 (BOM or not)."""
    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise CsvImportError(f"the file is {size / 2**20:.0f} MB; the import limit is "
                             f"{MAX_IMPORT_BYTES / 2**20:.0f} MB")
    with open(path, "rb") as handle:
        start = handle.read(2)
    return "utf-16" if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"


def _collect_rows(text_lines: Iterable[str], delimiter: str, max_rows: int) -> _Rows:
    """The first two fields of each non-blank row; as little work per row as possible."""
    xs: list[str] = []
    ys: list[str] = []
    lines: list[int] = []
    columns = 2
    reader = csv.reader(text_lines, delimiter=delimiter)
    try:
        for row in reader:
            if not "".join(row).strip():
                continue  # blank, or only separators (spreadsheets export empty rows so)
            if len(row) != 2:
                if len(row) < 2:
                    raise CsvImportError(f"line {reader.line_num} has 1 column; expected two "
                                         "(x, y) separated by commas, semicolons or tabs")
                columns = max(columns, _used_columns(row))
            if len(xs) == max_rows + 1:  # one more than allowed, so a header still fits
                raise _too_many_rows(max_rows)
            xs.append(row[0])
            ys.append(row[1])
            lines.append(reader.line_num)
    except csv.Error as error:
        raise CsvImportError(_csv_error_text(error, reader.line_num)) from None
    if len(xs) == max_rows + 1 and _header(xs[0], ys[0]) is None:
        raise _too_many_rows(max_rows)
    return _Rows(xs, ys, lines, columns)


def _too_many_rows(max_rows: int) -> CsvImportError:
    return CsvImportError(f"more than {max_rows:,} rows; the import limit is {max_rows:,} points")


def _used_columns(row: list[str]) -> int:
    """How many columns the row really uses: trailing empty fields do not count."""
    used = len(row)
    while used > 2 and not row[used - 1].strip():
        used -= 1
    return used


def _csv_error_text(error: csv.Error, line: int) -> str:
    text = str(error)
    if "field larger than field limit" in text:
        return (f"line {line}: a field is longer than {csv.field_size_limit():,} characters; "
                "expected numbers x, y")
    return f"line {line}: {text}"


def _header(x_text: str, y_text: str) -> tuple[str, str] | None:
    """The row as a header if it looks like one: words, no numbers (`x,y`, `time (s);dist`)."""
    fields = (x_text.strip(), y_text.strip())
    if any(_looks_numeric(field) for field in fields):
        return None
    if not any(char.isalpha() for field in fields for char in field):
        return None
    return fields


def _looks_numeric(text: str) -> bool:
    try:
        _decimal_comma_float(text)
    except ValueError:
        return False
    return True


def _decimal_comma_float(text: str) -> float:
    return float(text.replace(",", "."))


def _any_contains(rows: _Rows, char: str) -> bool:
    return char in "".join(rows.x) or char in "".join(rows.y)  # joined: fast on a million rows


def _convert(rows: _Rows, convert: Callable[[str], float]
             ) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Both columns as floats; the first bad cell (by line) is a CsvImportError."""
    try:
        x = tuple(map(convert, rows.x))
        y = tuple(map(convert, rows.y))
    except ValueError:
        x = y = ()
    if len(x) == len(rows.x) and _all_usable(x) and _all_usable(y):
        return x, y
    # The slow path runs only to find and name the first bad cell.
    problems = []
    for column, texts in enumerate((rows.x, rows.y)):
        found = _first_problem(texts, convert)
        if found is not None:
            problems.append((found[0], column, found[1]))
    index, column, reason = min(problems)  # the earliest line; x before y on the same line
    raise CsvImportError(f"line {rows.lines[index]}, {COLUMN_NAMES[column]}: {reason}")


def _all_usable(values: tuple[float, ...]) -> bool:
    array = np.fromiter(values, dtype=np.float64, count=len(values))
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.abs(array) <= FLOAT32_MAX))  # False for nan and inf too


def _first_problem(texts: Iterable[str], convert: Callable[[str], float]
                   ) -> tuple[int, str] | None:
    for index, text in enumerate(texts):
        reason = value_problem(text, convert)
        if reason is not None:
            return index, describe_problem(text, reason)
    return None


def value_problem(text: str, convert: Callable[[str], float] = float) -> str | None:
    """Why this cell cannot be a data value, or None if it can. Shared with the table editor."""
    if not text.strip():
        return "the cell is empty"
    try:
        value = convert(text)
    except ValueError:
        return "is not a number"
    if not math.isfinite(value):
        return "is not a finite number"
    if abs(value) > FLOAT32_MAX:
        return "is too large for float32 (limit 3.4e38)"
    return None


def describe_problem(text: str, reason: str) -> str:
    """`'2x' is not a number`; an empty cell has no text to quote."""
    return f"{text.strip()!r} {reason}" if text.strip() else reason
