"""Traces: JSON Lines byte for byte `gdviz run --json`, CSV with the same numbers, the log as
`gdviz run` prints it, re-trained runs equal to the recorded ones, and files written whole or
not at all."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdviz.cli import config_from_args, main, make_parser
from gdviz.core import traces
from gdviz.core.config import RunConfig, build_config
from gdviz.core.csv_import import read_points_csv
from gdviz.core.history import History
from gdviz.core.records import StepRecord
from gdviz.core.session import Session
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, train

# numpy, autograd and nn; optimizers with state; a diverging run; the lessons.
OPTIONS = [
    pytest.param(["--trainer", "numpy"], id="numpy"),
    pytest.param(["--trainer", "numpy", "--optimizer", "adam", "--epochs", "40"], id="numpy-adam"),
    pytest.param(["--trainer", "numpy", "--momentum", "0.9", "--nesterov", "--lr", "0.002"],
                 id="numpy-nesterov"),
    pytest.param(["--preset", "numpy-diverging"], id="numpy-diverging"),
    pytest.param(["--trainer", "numpy", "--w0", "3e38", "--lr", "1"], id="numpy-overflow-at-once"),
    pytest.param(["--trainer", "autograd"], id="autograd"),
    pytest.param(["--trainer", "autograd", "--optimizer", "adagrad", "--lr-decay", "0.1"],
                 id="autograd-adagrad"),
    pytest.param(["--trainer", "autograd", "--forget-zero-grad", "--epochs", "30"],
                 id="autograd-forget-zero-grad"),
    pytest.param(["--trainer", "autograd", "--update-with-grad"], id="autograd-refused"),
    pytest.param(["--trainer", "nn"], id="nn"),
    pytest.param(["--trainer", "nn", "--optimizer", "adamw", "--amsgrad", "--epochs", "25"],
                 id="nn-adamw-amsgrad"),
    pytest.param(["--trainer", "nn", "--optimizer", "rmsprop", "--centered", "--momentum", "0.5"],
                 id="nn-rmsprop"),
    pytest.param(["--trainer", "nn", "--lr", "0.2", "--epochs", "300"], id="nn-diverging"),
]


def cli_output(*args: str) -> tuple[int, str]:
    """`gdviz run` in process: (exit status, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = main(["run", *args])
    return status, out.getvalue()


def config_of(*args: str) -> RunConfig:
    return config_from_args(make_parser().parse_args(["run", *args]))


def recorded_run(config: RunConfig, epochs: int) -> tuple[History, list[StepRecord]]:
    """Train as the window does, keeping a History and the records themselves."""
    trainer = make_trainer(config)
    history = new_history(trainer, len(config.x))
    records: list[StepRecord] = []
    train(trainer, epochs, history, on_record=records.append)
    return history, records


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- JSON Lines ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", OPTIONS)
def test_jsonl_equals_gdviz_run_json_byte_for_byte(args: list[str], tmp_path: Path) -> None:
    status, expected = cli_output("--json", *args)
    path = tmp_path / "trace.jsonl"
    end = traces.write_jsonl(path, config_of(*args))
    assert path.read_bytes() == expected.encode()
    last = json.loads(expected.splitlines()[-1])
    assert end.finished == (status == 0) and end.finished == ("summary" in last)
    assert (end.diverged_at is not None) == (status == 3)
    assert (end.refused_at is not None) == (status == 4)


@pytest.mark.parametrize("args", [pytest.param(a, id=i) for a, i in (
    (["--trainer", "numpy", "--optimizer", "adam", "--epochs", "50"], "numpy-adam"),
    (["--trainer", "autograd", "--momentum", "0.8", "--epochs", "50"], "autograd-momentum"),
    (["--trainer", "nn", "--optimizer", "adam", "--epochs", "50"], "nn-adam"),
    (["--preset", "numpy-diverging"], "numpy-diverging"),
)])
def test_a_trace_of_a_history_is_the_recorded_run(args: list[str], tmp_path: Path) -> None:
    """Re-training gives back what was recorded, optimizer state included: the trace written
    from the History equals rows built from the original records, and `gdviz run --epochs n`."""
    config = config_of(*args)
    for epochs in (config.epochs, 17):  # the whole run, and a window paused at epoch 17
        history, records = recorded_run(config, epochs)
        path = tmp_path / "trace.jsonl"
        traces.write_jsonl(path, config, history=history)
        lines = path.read_text().splitlines()
        assert lines[:-1] == [json.dumps(traces.epoch_row(r, config.param_names))
                              for r in records]
        _, expected = cli_output("--json", *args, "--epochs", str(len(history)))
        assert path.read_text() == expected


def test_a_refused_run_ends_with_its_line_when_asked_one_epoch_on(tmp_path: Path) -> None:
    config = config_of("--trainer", "nn", "--update-with-grad")
    history, _ = recorded_run(config, 0)  # torch refuses epoch 1: nothing is recorded
    path = tmp_path / "trace.jsonl"
    end = traces.write_jsonl(path, config, epochs=len(history) + 1, history=history)
    assert end.refused_at == 1
    assert path.read_text() == cli_output("--json", "--trainer", "nn", "--update-with-grad")[1]


def test_a_race_traces_its_lead_lane(tmp_path: Path) -> None:
    racing = build_config("numpy", explicit={"race": ("adam", "lr×4"), "epochs": 60})
    alone = racing.replace(race=())
    traces.write_jsonl(tmp_path / "race.jsonl", racing)
    traces.write_jsonl(tmp_path / "alone.jsonl", alone)
    assert (tmp_path / "race.jsonl").read_bytes() == (tmp_path / "alone.jsonl").read_bytes()
    history, records = recorded_run(racing, 60)  # the window trains the race itself
    assert records[0].lanes is not None
    traces.write_jsonl(tmp_path / "history.jsonl", racing, history=history)
    assert (tmp_path / "history.jsonl").read_bytes() == (tmp_path / "alone.jsonl").read_bytes()


def test_a_history_that_the_config_does_not_reproduce_is_refused(tmp_path: Path) -> None:
    config = build_config("numpy", explicit={"epochs": 30})
    history, _ = recorded_run(config.replace(lr=0.011), 30)
    path = tmp_path / "trace.jsonl"
    path.write_text("the old file\n")
    with pytest.raises(traces.ExportError, match=r"re-trained loss differs .* at epoch 2"):
        traces.write_jsonl(path, config, history=history)
    assert path.read_text() == "the old file\n"  # untouched, and no temporary file left
    assert leftovers(tmp_path) == []
    diverging = build_config("numpy", explicit={"lr": 0.04, "epochs": 400})
    calm, _ = recorded_run(build_config("numpy", explicit={"lr": 0.001, "epochs": 400}), 200)
    with pytest.raises(traces.ExportError, match="stopped at epoch 126 but 200 epochs"):
        traces.write_jsonl(path, diverging, history=calm)
    wrong_model, _ = recorded_run(build_config("nn"), 3)
    with pytest.raises(traces.ExportError, match="history holds w, b"):
        traces.write_csv(tmp_path / "t.csv", config, history=wrong_model)


# --- CSV -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", OPTIONS)
def test_csv_holds_the_jsons_numbers_exactly(args: list[str], tmp_path: Path) -> None:
    config = config_of(*args)
    _, expected = cli_output("--json", *args)
    rows = [json.loads(line) for line in expected.splitlines()]
    epochs = [row for row in rows if "epoch" in row]
    path = tmp_path / "trace.csv"
    traces.write_csv(path, config)
    with open(path, newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle))
    header, body = table[0], table[1:]
    assert tuple(header) == traces.csv_columns(config)
    if epochs:
        assert header == list(epochs[0])  # the JSON's keys, in its order
    assert len(body) == len(epochs)
    for cells, row in zip(body, epochs, strict=True):
        assert int(cells[0]) == row["epoch"]
        for name, cell in zip(header[1:], cells[1:], strict=True):
            number = float(cell)
            if row[name] is None:
                assert not math.isfinite(number) and cell in ("nan", "inf", "-inf")
            else:
                assert number == row[name] and cell == json.dumps(row[name])


def test_csv_keeps_inf_and_nan_apart(tmp_path: Path) -> None:
    config = build_config("numpy", explicit={"lr": 0.04, "epochs": 400})
    path = tmp_path / "diverged.csv"
    end = traces.write_csv(path, config)
    last = path.read_text().splitlines()[-1].split(",")
    assert end.diverged_at == int(last[0]) == 126
    _, records = recorded_run(config, 400)
    assert [float(c) for c in last[1:]] == pytest.approx(
        [records[-1].loss, *records[-1].params_after, *records[-1].grads], nan_ok=True)
    assert "inf" in last[1:] or "-inf" in last[1:]


def test_csv_opens_as_a_spreadsheet_would_read_it(tmp_path: Path) -> None:
    """The app's own CSV reader (the spreadsheet dialects) reads epoch and loss back."""
    config = build_config("numpy", explicit={"epochs": 12})
    path = tmp_path / "trace.csv"
    traces.write_csv(path, config)
    points = read_points_csv(path)
    assert points.header == ("epoch", "loss")
    assert points.x == tuple(range(1, 13))
    _, records = recorded_run(config, 12)
    assert points.y == tuple(r.loss for r in records)
    assert path.read_bytes().startswith(b"epoch,loss,w,grad_w\n")  # no BOM, "\n" line ends


# --- the log -------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["--trainer", "numpy"], ["--trainer", "autograd"],
                                  ["--trainer", "nn", "--log-every", "7"],
                                  ["--preset", "numpy-diverging"]])
def test_the_log_is_what_gdviz_run_prints(args: list[str], tmp_path: Path) -> None:
    _, expected = cli_output(*args)
    config = config_of(*args)
    assert list(traces.run_log_lines(config)) == expected.splitlines()
    path = tmp_path / "log.txt"
    assert traces.write_run_log(path, config) == len(expected.splitlines())
    assert path.read_text() == expected


class _Driver:
    generation = 1

    def configure(self, config: RunConfig) -> int:
        return self.generation

    def play(self, epochs_per_second: float | None) -> None: ...

    def pause(self) -> None: ...

    def step(self, count: int = 1) -> None: ...

    def set_speed(self, epochs_per_second: float | None) -> None: ...


def test_the_windows_log_needs_no_training(tmp_path: Path) -> None:
    """The session's lines (as the log panel shows them) are `gdviz run`'s for a finished run."""
    config = build_config("nn", explicit={"epochs": 40, "log_every": 3})
    session = Session(config, _Driver())
    trainer = make_trainer(config)
    session.started(1, config, trainer.params(), trainer.predict(config.x_test))
    records = [trainer.step() for _ in range(40)]
    session.recorded(1, tuple(records))
    session.stopped(1, 40, "finished", trainer.predict(config.x_test))
    expected = cli_output("--trainer", "nn", "--epochs", "40", "--log-every", "3")[1]
    path = tmp_path / "log.txt"
    traces.export_trace(path, config, history=session.history, log=session)
    assert path.read_text() == expected
    partial = list(traces.session_log_lines(session, stop=10))
    assert partial == expected.splitlines()[:1 + 4]  # before, epochs 1, 4, 7, 10
    for epochs in (40, 41):  # the window passes one more after torch refused an update
        traces.export_trace(path, config, epochs, history=session.history, log=session)
        assert path.read_text() == expected
    traces.export_trace(path, config, 10, history=session.history, log=session)
    assert path.read_text().splitlines() == partial


# --- files ---------------------------------------------------------------------------------------


def test_the_file_name_picks_the_format(tmp_path: Path) -> None:
    config = build_config("numpy", explicit={"epochs": 3})
    for name in ("t.jsonl", "t.JSON", "t.ndjson", "t.csv", "t.txt", "t.log"):
        traces.export_trace(tmp_path / name, config)
    assert (tmp_path / "t.JSON").read_text() == (tmp_path / "t.jsonl").read_text()
    assert (tmp_path / "t.csv").read_text().startswith("epoch,")
    assert (tmp_path / "t.log").read_text().startswith("prediction before training")
    for name, shown in (("t.png", "'.png'"), ("trace", "no ending")):
        with pytest.raises(traces.ExportError) as caught:
            traces.export_trace(tmp_path / name, config)
        assert shown in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "t.png").exists()


@pytest.mark.parametrize("where", ["missing folder", "file as folder", "a folder", "read-only"])
def test_an_unwritable_path_is_one_clear_line(where: str, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    (tmp_path / "folder.csv").mkdir()
    locked = tmp_path / "locked"
    locked.mkdir()
    target = {"missing folder": tmp_path / "nope" / "t.csv",
              "file as folder": tmp_path / "plain" / "t.csv",
              "a folder": tmp_path / "folder.csv",
              "read-only": locked / "t.csv"}[where]
    if where == "read-only":
        locked.chmod(0o500)
        if os.access(locked, os.W_OK):  # root writes anywhere
            locked.chmod(0o700)
            pytest.skip("running as root: a read-only folder is still writable")
    config = build_config("numpy")
    try:
        with pytest.raises(traces.ExportError) as caught:
            traces.write_csv(target, config)
    finally:
        locked.chmod(0o700)
    message = str(caught.value)
    assert message.startswith(f"cannot write {target}: ") and "\n" not in message
    assert {"missing folder": "does not exist", "file as folder": "does not exist",
            "a folder": "it is a folder", "read-only": "Permission denied"}[where] in message


def test_a_failure_while_writing_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text("before\n")

    def broken(record: StepRecord, names: tuple[str, ...]) -> dict[str, Any]:
        if record.epoch == 5:
            raise OSError(28, "No space left on device")
        return {"epoch": record.epoch}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(traces, "epoch_row", broken)
        with pytest.raises(traces.ExportError, match=r"No space left on device$"):
            traces.write_jsonl(path, build_config("numpy"))
        patch.setattr(traces, "epoch_row", lambda *_: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            traces.write_jsonl(path, build_config("numpy"))
    assert path.read_text() == "before\n" and leftovers(tmp_path) == []


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    try:
        traces.write_log(tmp_path / "log.txt", ["a", "b"])
    finally:
        os.umask(mask)
    assert (tmp_path / "log.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "log.txt").read_text() == "a\nb\n"


def test_a_numpy_trace_never_imports_torch(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from gdviz.core import traces\n"
        "from gdviz.core.config import build_config\n"
        f"folder = {str(tmp_path)!r}\n"
        "config = build_config('numpy', explicit={'optimizer': 'adam'})\n"
        "for name in ('t.jsonl', 't.csv', 't.txt'):\n"
        "    traces.export_trace(folder + '/' + name, config)\n"
        "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_rows_are_numbers_or_null() -> None:
    record = StepRecord(3, (1.0,), (math.inf,), math.nan, (-math.inf,),
                        np.zeros(1, dtype=np.float32))
    assert traces.epoch_row(record, ("w",)) == {"epoch": 3, "loss": None, "w": None,
                                                 "grad_w": None}
    assert traces.json_line(traces.diverged_row(3)) == '{"diverged_at": 3}\n'
