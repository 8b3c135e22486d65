"""Traces of a run: its epochs as JSON Lines or CSV, and the notebook's log as text.

The rows: `epoch_row` builds the object `gdviz run --json` prints for one epoch, and
`finished_row` / `diverged_row` / `refused_row` the line that ends the stream. The command line
and the exporters here call the same functions, so a trace file and `gdviz run --json` agree
byte for byte.

Where the numbers come from: a trace re-trains the configuration. The window's History keeps
loss, parameters and gradients but not the optimizer's state, and the trainers are
deterministic, so training a fresh trainer of the same configuration for the same number of
epochs gives every record again, state included. Given the History, the writers check that
the re-trained loss, parameters and gradients equal the recorded ones and refuse to write a
trace that differs (`ExportError`). A trace of n epochs is exactly what
`gdviz run --json --epochs n` (with the run's other options) prints; pass `epochs=n + 1` for a
run that torch refused at epoch n + 1 (the update_with_grad lesson), to end with its line.

In a race only the lead lane is traced (what `gdviz run` prints; the lanes do not change its
numbers).

CSV: a header row (`csv_columns`), then one row per epoch with the JSON's numbers, each written
with `repr` (as `json.dumps` writes floats), so reading a cell with `float()` gives the number
back exactly. A non-finite number, null in the JSON, is written `nan`, `inf` or `-inf`, which
`float()` reads back too (a spreadsheet shows it as text). Comma-separated, `.` decimals, "\\n"
line ends, UTF-8 without a byte-order mark: the dialect `gdviz.core.csv_import` reads first.

Every writer writes into a temporary file beside the target and renames it over the target
(`os.replace`) only once everything is written, so an error never leaves half a file behind.
"""

from __future__ import annotations

import csv
import json
import math
import os
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from gdviz.core import transcript
from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.records import StepRecord
from gdviz.core.training import quiet_overflow, train

__all__ = [
    "TRACE_FORMATS",
    "ExportError",
    "LogSource",
    "TraceEnd",
    "atomic_text_file",
    "csv_columns",
    "diverged_row",
    "end_row",
    "epoch_row",
    "export_trace",
    "finished_row",
    "json_line",
    "json_number",
    "refused_row",
    "replay",
    "run_log_lines",
    "session_log_lines",
    "trace_format",
    "write_csv",
    "write_jsonl",
    "write_log",
    "write_run_log",
]

# File name endings and the trace each writes.
TRACE_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv",
                 ".txt": "log", ".log": "log"}

Row = dict[str, Any]


class ExportError(ValueError):
    """A trace cannot be written; the message is one line, fit to show as it is."""


# --- the rows of `gdviz run --json` -------------------------------------------------------------


def json_number(value: float) -> float | None:
    """JSON has no inf or nan: a non-finite number is null."""
    return value if math.isfinite(value) else None


def epoch_row(record: StepRecord, param_names: tuple[str, ...]) -> Row:
    """One epoch as `gdviz run --json` prints it: epoch, loss, each parameter after the
    update, each gradient, then the optimizer's state (`OptimizerState.flat`) if it keeps one."""
    row: Row = {"epoch": record.epoch, "loss": json_number(record.loss)}
    for name, value in zip(param_names, record.params_after, strict=True):
        row[name] = json_number(value)
    for name, value in zip(param_names, record.grads, strict=True):
        row[f"grad_{name}"] = json_number(value)
    if record.optimizer_state is not None:
        for key, value in record.optimizer_state.flat(param_names).items():
            row[key] = json_number(value)
    return row


def finished_row(epochs_run: int, x_test: float, prediction: float) -> Row:
    return {"summary": "finished", "epochs_run": epochs_run, "x_test": x_test,
            "prediction": json_number(prediction)}


def diverged_row(epoch: int) -> Row:
    return {"diverged_at": epoch}


def refused_row(epoch: int, error: RuntimeError) -> Row:
    """torch refused the update outside torch.no_grad() (the lesson) at `epoch`."""
    return {"refused_at": epoch, "error": f"RuntimeError: {error}"}


def json_line(row: Row) -> str:
    return json.dumps(row) + "\n"


# --- re-training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceEnd:
    """How a re-trained run ended; `end_row` turns it into the stream's last line."""

    epochs_run: int
    diverged_at: int | None = None  # the first epoch whose numbers were not finite
    refused_at: int | None = None  # the epoch torch refused (the update_with_grad lesson)
    error: RuntimeError | None = None  # torch's error then
    prediction: float | None = None  # f(x_test) after training, when it finished

    @property
    def finished(self) -> bool:
        return self.diverged_at is None and self.refused_at is None


def end_row(end: TraceEnd, x_test: float) -> Row:
    if end.refused_at is not None:
        assert end.error is not None
        return refused_row(end.refused_at, end.error)
    if end.diverged_at is not None:
        return diverged_row(end.diverged_at)
    assert end.prediction is not None
    return finished_row(end.epochs_run, x_test, end.prediction)


def _lead(config: RunConfig) -> RunConfig:
    """The configuration whose numbers a trace holds: a race's lead lane alone (RaceTrainer
    builds its lead from this very configuration)."""
    return config.replace(race=()) if config.race else config


def replay(config: RunConfig, epochs: int | None = None,
           on_record: Callable[[StepRecord], None] | None = None,
           before: Callable[[float], None] | None = None) -> TraceEnd:
    """Train a fresh trainer of `config` for `epochs` epochs (`config.epochs` by default), as
    `gdviz run` does: stop at the first non-finite epoch; torch's refusal of the
    update_with_grad lesson ends the run too. `before` gets f(x_test) before training."""
    from gdviz.core.trainers import make_trainer

    count = config.epochs if epochs is None else epochs
    if count < 0:
        raise ValueError(f"epochs must be 0 or more, got {count}")
    with quiet_overflow():  # a start far out may overflow float32 at once: that is divergence
        trainer = make_trainer(_lead(config))
        if before is not None:
            before(trainer.predict(config.x_test))
    try:
        outcome = train(trainer, count, on_record=on_record)
    except RuntimeError as error:
        if not config.update_with_grad:
            raise
        return TraceEnd(trainer.epoch, refused_at=trainer.epoch + 1, error=error)
    if outcome.diverged_at is not None:
        return TraceEnd(outcome.epochs_run, diverged_at=outcome.diverged_at)
    with quiet_overflow():
        prediction = trainer.predict(config.x_test)
    return TraceEnd(outcome.epochs_run, prediction=prediction)


class _Check:
    """Keeps the re-trained columns to compare them with the window's History at the end."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.recorded = len(history)
        self.rows: list[tuple[float, ...]] = []

    def add(self, record: StepRecord) -> None:
        if record.epoch <= self.recorded:
            self.rows.append((record.loss, *record.params_after, *record.grads))

    def verify(self, end: TraceEnd) -> None:
        history = self.history
        if len(self.rows) < self.recorded:
            raise ExportError(f"the re-trained run stopped at epoch {end.epochs_run} but "
                              f"{self.recorded} epochs are recorded: the trace is not written")
        if not self.rows:
            return
        columns = np.array(self.rows, dtype=np.float64).T
        for name, column in zip(history.column_names, columns, strict=True):
            recorded = history.column(name, self.recorded)
            if not np.array_equal(column, recorded, equal_nan=True):
                epoch = 1 + int(np.flatnonzero(~((column == recorded) |
                                                 (np.isnan(column) & np.isnan(recorded))))[0])
                raise ExportError(f"the re-trained {name} differs from the recorded one at "
                                  f"epoch {epoch}: the trace is not written")


def _replay_checked(config: RunConfig, epochs: int | None, history: History | None,
                    emit: Callable[[StepRecord], None]) -> TraceEnd:
    if history is None:
        return replay(config, epochs, on_record=emit)
    if history.param_names != config.param_names:
        raise ExportError(f"the history holds {', '.join(history.param_names)} but the "
                          f"{config.trainer} trainer fits {', '.join(config.param_names)}")
    check = _Check(history)

    def on_record(record: StepRecord) -> None:
        check.add(record)
        emit(record)

    end = replay(config, len(history) if epochs is None else epochs, on_record=on_record)
    check.verify(end)
    return end


# --- the writers ---------------------------------------------------------------------------------


def _shown(path: Path) -> str:
    return " ".join(str(path).splitlines())  # a message stays one line whatever the name


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


@contextmanager
def atomic_text_file(path: str | os.PathLike[str],
                     error: type[Exception] = ExportError) -> Iterator[TextIO]:
    """A UTF-8 text file (with "\\n" line ends) that appears at `path` only when the block
    ends without an exception: it is written beside the target and renamed over it.

    Any OSError (an unwritable folder, a full disk) becomes `error` with a one-line message;
    the temporary file is removed whatever happened.
    """
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise error(f"cannot write {_shown(target)}: it is a folder")
    if not folder.is_dir():
        raise error(f"cannot write {_shown(target)}: the folder {_shown(folder)} does not exist")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temporary = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            # Mode 0o666 as open() uses, so the umask applies as to any new file (mkstemp's
            # 0o600 would leave an exported file unreadable to others).
            descriptor = os.open(temporary, flags, 0o666)
            break
        except FileExistsError:
            continue
        except OSError as failure:
            raise error(f"cannot write {_shown(target)}: {_reason(failure)}") from None
    try:
        with open(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException as failure:
        with suppress(OSError):
            os.unlink(temporary)
        if isinstance(failure, OSError):
            raise error(f"cannot write {_shown(target)}: {_reason(failure)}") from None
        raise


def write_jsonl(path: str | os.PathLike[str], config: RunConfig, epochs: int | None = None,
                history: History | None = None) -> TraceEnd:
    """The run as JSON Lines, byte for byte `gdviz run --json --epochs N` with its options.

    N is `epochs`, else the History's length, else `config.epochs`; with a History, the
    re-trained numbers must equal the recorded ones."""
    names = config.param_names
    with atomic_text_file(path) as handle:
        write = handle.write

        def emit(record: StepRecord) -> None:
            write(json_line(epoch_row(record, names)))

        end = _replay_checked(config, epochs, history, emit)
        write(json_line(end_row(end, config.x_test)))
    return end


def csv_columns(config: RunConfig) -> tuple[str, ...]:
    """The CSV header: the keys of `epoch_row` for this configuration, in the same order."""
    names = config.param_names
    keys = config.optimizer_config.state_keys()
    return ("epoch", "loss", *names, *(f"grad_{name}" for name in names),
            *(f"{key}_{name}" for name in names for key in keys))


def write_csv(path: str | os.PathLike[str], config: RunConfig, epochs: int | None = None,
              history: History | None = None) -> TraceEnd:
    """The epochs as CSV: `csv_columns` as the header, then the same numbers as the JSON Lines
    (repr-exact; non-finite ones as nan, inf, -inf). How the run ended is not a row: it is
    returned."""
    names = config.param_names
    columns = csv_columns(config)
    state_columns = columns[2 + 2 * len(names):]  # what follows the gradients

    with atomic_text_file(path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writerow = writer.writerow

        def emit(record: StepRecord) -> None:
            state = record.optimizer_state
            flat = {} if state is None else state.flat(names)
            if len(flat) != len(state_columns) or (record.epoch == 1 and
                                                   tuple(flat) != state_columns):
                raise ExportError(f"epoch {record.epoch} has the optimizer state "
                                  f"{', '.join(flat) or 'none'} but the header has "
                                  f"{', '.join(state_columns) or 'none'}")
            cells = (record.loss, *record.params_after, *record.grads, *flat.values())
            writerow((record.epoch, *(repr(float(v)) for v in cells)))

        return _replay_checked(config, epochs, history, emit)


class LogSource(Protocol):
    """What the log needs of the window's run (gdviz.core.session.Session has it)."""

    before_line: str | None
    after_line: str | None

    def iter_log_lines(self, start: int, stop: int | None = None) -> Iterator[str]: ...


def session_log_lines(source: LogSource, stop: int | None = None) -> Iterator[str]:
    """The log as the window prints it, from its History (nothing re-trained): the prediction
    before training, the logged epochs up to `stop` (all by default), and the prediction after
    training once the run has finished (only when the log goes to the end)."""
    if source.before_line is not None:
        yield source.before_line
    yield from source.iter_log_lines(1, stop)
    if stop is None and source.after_line is not None:
        yield source.after_line


def run_log_lines(config: RunConfig, epochs: int | None = None) -> Iterator[str]:
    """The lines `gdviz run` prints for `config` (re-trained for `epochs` epochs): the prediction
    before training where the cell prints one, every logged epoch, the prediction after."""
    lines: list[str] = []
    log_every = config.log_every

    def before(prediction: float) -> None:
        line = transcript.before_line(config.trainer, config.x_test, prediction)
        if line is not None:
            lines.append(line)

    def emit(record: StepRecord) -> None:
        if transcript.is_logged(record.epoch, log_every):
            lines.append(transcript.epoch_line(config.trainer, record))

    end = replay(config, epochs, on_record=emit, before=before)
    if end.finished:
        assert end.prediction is not None
        lines.append(transcript.after_line(config.x_test, end.prediction))
    return iter(lines)


def write_log(path: str | os.PathLike[str], lines: Iterable[str]) -> int:
    """Write `lines` (no line ends of their own) as a text file; returns how many."""
    count = 0
    with atomic_text_file(path) as handle:
        for line in lines:
            handle.write(line + "\n")
            count += 1
    return count


def write_run_log(path: str | os.PathLike[str], config: RunConfig,
                  epochs: int | None = None) -> int:
    """The text `gdviz run` prints for `config` (`run_log_lines`), as a file."""
    return write_log(path, run_log_lines(config, epochs))


def trace_format(path: str | os.PathLike[str]) -> str:
    """"jsonl", "csv" or "log", from the file name's ending (`TRACE_FORMATS`)."""
    suffix = Path(path).suffix.lower()
    if suffix not in TRACE_FORMATS:
        known = ", ".join(TRACE_FORMATS)
        shown = f"{suffix!r}" if suffix else "no ending"
        raise ExportError(f"cannot write a trace to {_shown(Path(path))}: {shown} is not one of "
                          f"{known}")
    return TRACE_FORMATS[suffix]


def export_trace(path: str | os.PathLike[str], config: RunConfig, epochs: int | None = None,
                 history: History | None = None, log: LogSource | None = None) -> None:
    """Write the trace the file name asks for: JSON Lines, CSV or the log.

    The log comes from `log` (the window's session, as shown) if given, else re-trained; from
    the session it goes to `epochs`, and to the end (the after-training line included) when
    `epochs` reaches the History's length or is None."""
    kind = trace_format(path)
    if kind == "jsonl":
        write_jsonl(path, config, epochs, history)
    elif kind == "csv":
        write_csv(path, config, epochs, history)
    elif log is not None:
        whole = epochs is None or (history is not None and epochs >= len(history))
        write_log(path, session_log_lines(log, None if whole else epochs))
    else:
        write_run_log(path, config, len(history) if history is not None and epochs is None
                      else epochs)
