"""`.gdviz` session files: save → open gives back the config, data, cursor, pins and view exactly;
opening re-trains every array exactly (the run, its trainer, the pins); anything corrupt,
truncated, too new, too large or mistyped is refused with one line naming the problem."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gdviz.core import session_file as sf
from gdviz.core.config import ConfigError, RunConfig, build_config
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.pins import PIN_COLORS, PinBoard, PinnedRun
from gdviz.core.records import StepRecord
from gdviz.core.session import Session, landscape_for
from gdviz.core.trainers import Trainer, make_trainer
from gdviz.core.training import new_history, quiet_overflow, train


def straight_run(config: RunConfig, epochs: int) -> tuple[Trainer, History]:
    """What the window records: a fresh trainer trained epoch by epoch, nothing skipped."""
    trainer = make_trainer(config)
    history = new_history(trainer, len(config.x))
    train(trainer, epochs, history)
    return trainer, history


def assert_same_history(restored: History, expected: History) -> None:
    assert len(restored) == len(expected)
    assert restored.initial_params == expected.initial_params
    for name in expected.column_names:
        assert np.array_equal(restored.column(name), expected.column(name), equal_nan=True), name
    for name in expected.param_names:
        assert np.array_equal(restored.trajectory(name), expected.trajectory(name),
                              equal_nan=True)
    assert restored.keeps_predictions == expected.keeps_predictions
    for epoch in range(1, len(expected) + 1):
        kept = expected.predictions(epoch)
        if kept is not None:
            assert np.array_equal(restored.predictions(epoch), kept, equal_nan=True), epoch


def numbers(record: StepRecord) -> np.ndarray:
    state = record.optimizer_state
    return np.array([record.epoch, record.loss, *record.params_after, *record.grads,
                     *(() if state is None else (v for row in state.values for v in row))])


def assert_trains_on_alike(restored: Trainer, expected: Trainer, epochs: int = 5) -> None:
    """The restored trainer is where training would have left it: the next epochs agree."""
    assert restored.epoch == expected.epoch and restored.params() == expected.params()
    with quiet_overflow():
        for _ in range(epochs):
            assert np.array_equal(numbers(restored.step()), numbers(expected.step()),
                                  equal_nan=True)


def assert_same_pin(restored: PinnedRun, original: PinnedRun) -> None:
    assert restored.config == original.config and restored.color == original.color
    assert restored.epochs == original.epochs and restored.param_names == original.param_names
    for a, b in zip(restored.trajectories, original.trajectories, strict=True):
        assert a.tobytes() == b.tobytes()
    assert restored.loss_after.tobytes() == original.loss_after.tobytes()


def pin_of(config: RunConfig, epochs: int, board: PinBoard) -> PinnedRun:
    _, history = straight_run(config, epochs)
    return board.pin(config, history, landscape_for(config))


def round_trip(saved: sf.SavedSession, tmp_path: Path) -> sf.SavedSession:
    path = tmp_path / f"work{sf.SUFFIX}"
    sf.save_session(path, saved)
    return sf.open_session(path)


def document_of(saved: sf.SavedSession) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(sf.dumps_session(saved))
    return loaded


def refusal(document: Any) -> str:
    """The message a document is refused with (it must be refused, on one line)."""
    text = document if isinstance(document, (str, bytes)) else json.dumps(document)
    with pytest.raises(sf.SessionError) as caught:
        sf.loads_session(text, "work.gdviz")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("work.gdviz")
    return message


BASE = sf.SavedSession(build_config("nn", explicit={"epochs": 60, "optimizer": "adam"}),
                       cursor=20, epochs_recorded=30, phase=Phase.BACKWARD,
                       view={"log_scale": True, "presenter": 1.5, "panel": "surface",
                             "speed": None, "epochs_per_second": 5})


# --- round trips ---------------------------------------------------------------------------------


def test_a_session_reads_back_exactly(tmp_path: Path) -> None:
    board = PinBoard()
    config = build_config("numpy", explicit={"x": (0.5, 1.5, -2.0), "y": (1.0, 3.25, -4.0),
                                             "epochs": 500}, preset_name="notebook-numpy")
    pins = (pin_of(config.replace(lr=0.02), 40, board),
            pin_of(config.replace(x=(1.0, 2.0), y=(2.0, 4.5)), 25, board))
    saved = sf.SavedSession(config, cursor=7, epochs_recorded=9, phase=Phase.UPDATE,
                            pins=tuple(sf.PinSpec.of(p) for p in pins),
                            view={"log_scale": False, "zoom": 0.1, "name": "ü"})
    again = round_trip(saved, tmp_path)
    assert again == saved
    assert again.config.preset == "notebook-numpy" and again.data == ((0.5, 1.5, -2.0),
                                                                       (1.0, 3.25, -4.0))
    assert dict(again.view) == {"log_scale": False, "zoom": 0.1, "name": "ü"}
    document = json.loads((tmp_path / "work.gdviz").read_text(encoding="utf-8"))
    assert document["format"] == "gdviz-session" and document["version"] == 1
    assert "data" not in document["pins"][0] and document["pins"][1]["data"]["x"] == [1.0, 2.0]
    assert set(document["config"]) == set(sf.CONFIG_KINDS)


def test_the_file_names_every_runconfig_field() -> None:
    """A new RunConfig field must be added to CONFIG_KINDS (and maybe a new version)."""
    assert set(sf.CONFIG_KINDS) | set(sf.DATA_FIELDS) == {f.name for f in
                                                           dataclasses.fields(RunConfig)}


@pytest.mark.parametrize("config", [
    build_config("autograd", explicit={"optimizer": "rmsprop", "centered": True,
                                       "momentum": 0.3, "forget_zero_grad": True}),
    build_config("nn", explicit={"optimizer": "adamw", "betas": (0.5, 0.75), "amsgrad": True,
                                 "w0": -1.25, "b0": 3.0, "seed": 2**63 - 1}),
    build_config("nn", explicit={"update_with_grad": True, "optimizer": "adagrad",
                                 "lr_decay": 0.5, "initial_accumulator": 0.1}),
    build_config("numpy", explicit={"race": ("adam", "lr×0.5", "nesterov"), "gradient": "mean",
                                    "momentum": 0.9, "nesterov": True}),
    build_config("numpy", preset_name="numpy-diverging"),
], ids=["autograd-rmsprop", "nn-adamw", "nn-lesson-adagrad", "numpy-race", "preset"])
def test_torch_optimizer_and_race_configs_read_back(config: RunConfig, tmp_path: Path) -> None:
    saved = sf.SavedSession(config, cursor=3, pins=(sf.PinSpec(config, 2, PIN_COLORS[3]),))
    again = round_trip(saved, tmp_path)
    assert again == saved and again.config.preset == config.preset
    assert again.pins[0].config == config


finite32 = st.floats(-3.4e38, 3.4e38, allow_nan=False, allow_subnormal=True)
small = st.floats(-1e3, 1e3, allow_nan=False)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))


@st.composite
def numpy_configs(draw: st.DrawFn, with_race: bool = True) -> RunConfig:
    n = draw(st.integers(1, 12))
    explicit: dict[str, Any] = {
        "x": tuple(draw(st.lists(finite32, min_size=n, max_size=n))),
        "y": tuple(draw(st.lists(finite32, min_size=n, max_size=n))),
        "lr": draw(st.floats(1e-12, 1e6, allow_nan=False)),
        "epochs": draw(st.integers(0, 10**8)),
        "log_every": draw(st.integers(1, 1000)),
        "x_test": draw(finite32),
        "w0": draw(finite32),
        "gradient": draw(st.sampled_from(("notebook", "mean"))),
        "optimizer": draw(st.sampled_from(("sgd", "adam", "adamw", "rmsprop", "adagrad"))),
    }
    if explicit["optimizer"] == "sgd":
        explicit["momentum"] = draw(st.sampled_from((0.0, 0.5, 0.9, 1e-300)))
        explicit["nesterov"] = explicit["momentum"] > 0 and draw(st.booleans())
    elif explicit["optimizer"] in ("adam", "adamw"):
        explicit["betas"] = (draw(st.floats(0, 0.999)), draw(st.floats(0, 0.999)))
        explicit["amsgrad"] = draw(st.booleans())
    if with_race:
        explicit["race"] = tuple(draw(st.lists(st.sampled_from(("sgd", "adam", "lr×2")),
                                               max_size=3, unique=True)))
    try:
        return build_config("numpy", explicit=explicit)
    except ConfigError:
        assume(False)
        raise


@given(config=numpy_configs(), data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_numpy_sessions_read_back_exactly(config: RunConfig, data: st.DataObject) -> None:
    recorded = data.draw(st.integers(0, config.epochs))
    cursor = data.draw(st.integers(0, recorded))
    phase = data.draw(st.sampled_from(config.spec.phases)) if cursor else None
    pin_configs = [data.draw(numpy_configs(with_race=False))
                   for _ in range(data.draw(st.integers(0, 3)))]
    pins = tuple(sf.PinSpec(pin, data.draw(st.integers(0, pin.epochs)), color)
                 for pin, color in zip(pin_configs, PIN_COLORS, strict=False))
    view = data.draw(st.dictionaries(st.text(max_size=10), scalars, max_size=5))
    saved = sf.SavedSession(config, cursor, recorded, phase, pins, view)
    again = sf.loads_session(sf.dumps_session(saved))
    assert again == saved
    assert again.config.x == config.x and again.config.y == config.y  # to the bit
    assert [math.copysign(1, v) for v in again.config.x] == [math.copysign(1, v)
                                                             for v in config.x]


# --- opening re-trains exactly -------------------------------------------------------------------


@given(lr=st.floats(1e-4, 0.04), epochs=st.integers(0, 3000),
       x=st.lists(st.floats(-10, 10, allow_nan=False), min_size=1, max_size=6),
       w0=st.floats(-5, 5), gradient=st.sampled_from(("notebook", "mean")),
       optimizer=st.sampled_from(("sgd", "adam", "momentum")))
@settings(max_examples=40, deadline=None)
def test_random_numpy_runs_restore_exactly(lr: float, epochs: int, x: list[float], w0: float,
                                           gradient: str, optimizer: str) -> None:
    """Converging, cycling, diverging and optimizer runs: the restored History, the trainer
    and the lines are those of training straight through."""
    explicit: dict[str, Any] = {"lr": lr, "epochs": epochs, "x": tuple(x), "w0": w0,
                                "y": tuple(3 * v - 1 for v in x), "gradient": gradient}
    explicit.update({"sgd": {}, "adam": {"optimizer": "adam"},
                     "momentum": {"momentum": 0.9}}[optimizer])
    config = build_config("numpy", explicit=explicit)
    restored = sf.restore(sf.SavedSession(config, cursor=epochs // 2, epochs_recorded=epochs))
    trainer, history = straight_run(config, epochs)
    assert_same_history(restored.history, history)
    assert_trains_on_alike(restored.trainer, trainer)
    assert restored.cursor == min(epochs // 2, len(history))


@pytest.mark.parametrize(("config", "epochs"), [
    (build_config("numpy", explicit={"lr": 0.0333, "epochs": 20001}), 20001),  # a 2-cycle
    (build_config("numpy", explicit={"lr": 0.0333, "epochs": 20001}), 20000),
    (build_config("numpy", explicit={"lr": 0.01, "epochs": 10**5}), 10**5),  # a fixed point
    (build_config("autograd", explicit={"lr": 0.01, "epochs": 3000}), 3000),
    (build_config("nn", explicit={"lr": 0.1, "epochs": 1000}), 1000),  # still at epoch 544
], ids=["numpy-cycle-odd", "numpy-cycle-even", "numpy-fixed", "autograd-fixed", "nn-fixed"])
def test_repeating_runs_are_copied_exactly(config: RunConfig, epochs: int) -> None:
    restored = sf.restore(sf.SavedSession(config, cursor=epochs, epochs_recorded=epochs))
    trainer, history = straight_run(config, epochs)
    assert_same_history(restored.history, history)
    assert_trains_on_alike(restored.trainer, trainer, epochs=3)
    assert (restored.after_line is not None) == (epochs == config.epochs)
    assert restored.diverged_at is None


@pytest.mark.parametrize("config", [
    build_config("autograd", explicit={"epochs": 50}),
    build_config("autograd", explicit={"epochs": 50, "optimizer": "adam",
                                       "forget_zero_grad": True}),
    build_config("nn", explicit={"epochs": 80, "optimizer": "rmsprop", "momentum": 0.5}),
    build_config("nn", explicit={"epochs": 300, "lr": 0.2}),  # diverges at 51
    build_config("numpy", explicit={"epochs": 100, "race": ("adam", "lr×4", "momentum")}),
], ids=["autograd", "autograd-adam-no-zero-grad", "nn-rmsprop", "nn-diverging", "numpy-race"])
def test_torch_and_race_runs_restore_exactly(config: RunConfig, tmp_path: Path) -> None:
    board = PinBoard()
    pins = (pin_of(config, 30, board),
            pin_of(config.replace(lr=config.lr / 2, race=()), config.epochs, board))
    saved = sf.SavedSession(config, cursor=config.epochs - 1, epochs_recorded=config.epochs,
                            pins=tuple(sf.PinSpec.of(p) for p in pins))
    restored = sf.restore(round_trip(saved, tmp_path))
    trainer, history = straight_run(config, config.epochs)
    assert_same_history(restored.history, history)
    for pin, original in zip(restored.pins, pins, strict=True):
        assert_same_pin(pin, original)
    assert restored.diverged_at == (51 if config.lr == 0.2 else None)
    if config.race:
        assert restored.race_track is not None
        window = make_trainer(config)  # the window's session: a RaceTrack fed by the records
        from gdviz.core.race import RaceTrack

        track = RaceTrack(config, window.params())
        records: list[StepRecord] = []
        train(window, config.epochs, on_record=records.append)
        track.extend(tuple(records))
        for got, want in zip(restored.race_track.histories, track.histories, strict=True):
            assert_same_history(got, want)
    else:
        assert restored.race_track is None
        assert_trains_on_alike(restored.trainer, trainer)


def test_a_session_opens_as_the_window_had_it(tmp_path: Path) -> None:
    """from_session → save → open → restore: the run, cursor, phase, lines and pins."""

    class Driver:
        def configure(self, config: RunConfig) -> int:
            return 1

        def play(self, epochs_per_second: float | None) -> None: ...

        def pause(self) -> None: ...

        def step(self, count: int = 1) -> None: ...

        def set_speed(self, epochs_per_second: float | None) -> None: ...

    config = build_config("numpy", explicit={"epochs": 30, "log_every": 4})
    session = Session(config, Driver())
    trainer = make_trainer(config)
    session.started(1, config, trainer.params(), trainer.predict(config.x_test))
    session.recorded(1, tuple(trainer.step() for _ in range(30)))
    session.stopped(1, 30, "finished", trainer.predict(config.x_test))
    session.seek(12)
    session.sub_step()
    session.sub_step()  # epoch 13, its loss phase
    board = PinBoard()
    assert session.history is not None
    board.pin(config, session.history, session.landscape)
    pin_of(config.replace(lr=0.02), 30, board)
    path = tmp_path / "lecture.gdviz"
    sf.save_session(path, sf.from_session(session, board.pins, {"log_scale": True}))
    restored = sf.restore(sf.open_session(path))
    assert (restored.cursor, restored.phase) == (13, Phase.LOSS)
    assert_same_history(restored.history, session.history)
    assert restored.before_line == session.before_line
    assert restored.after_line == session.after_line
    for pin, original in zip(restored.pins, board.pins, strict=True):
        assert_same_pin(pin, original)
    assert dict(restored.view) == {"log_scale": True}
    assert restored.notes == ()


def test_a_file_the_numbers_do_not_reach_is_opened_as_far_as_they_go() -> None:
    diverging = build_config("numpy", explicit={"lr": 0.04, "epochs": 400})
    restored = sf.restore(sf.SavedSession(
        diverging, cursor=300, epochs_recorded=300, phase=Phase.LOSS,
        pins=(sf.PinSpec(diverging, 200, PIN_COLORS[0]),)))
    assert (len(restored.history), restored.cursor, restored.phase) == (126, 126, None)
    assert restored.diverged_at == 126 and restored.after_line is None
    assert restored.notes == ("the run diverged at epoch 126, before the saved epoch 300",
                              "pin 1 stops at epoch 126, before its saved 200")
    lesson = build_config("autograd", explicit={"update_with_grad": True})
    refused = sf.restore(sf.SavedSession(lesson, cursor=3, epochs_recorded=3))
    assert refused.refused is not None and refused.refused.startswith("RuntimeError: ")
    assert len(refused.history) == 0 and refused.cursor == 0
    assert refused.notes == ("the run was refused by torch at epoch 1, before the saved "
                             "epoch 3",)


def test_opening_reports_progress() -> None:
    config = build_config("numpy", explicit={"optimizer": "adam", "epochs": 10_000})
    same = sf.PinSpec(config.replace(lr=0.02), 5000, PIN_COLORS[0])
    saved = sf.SavedSession(config, cursor=10_000,
                            pins=(same, dataclasses.replace(same, color=PIN_COLORS[1])))
    reports: list[tuple[int, int]] = []
    restored = sf.restore(saved, progress=lambda done, total: reports.append((done, total)))
    assert reports[-1] == (15_000, 15_000)  # the two pins of the same run trained once
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert restored.pins[0].loss_after is not restored.pins[1].loss_after
    assert_same_pin(restored.pins[0], dataclasses.replace(restored.pins[1], color=PIN_COLORS[0]))


def test_opening_can_be_cancelled() -> None:
    config = build_config("numpy", explicit={"optimizer": "adam", "epochs": 100_000})
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(sf.SessionError, match="cancelled"):
        sf.restore(sf.SavedSession(config, cursor=100_000), cancelled=cancelled)
    assert len(asked) == 3


def test_a_numpy_session_never_imports_torch(tmp_path: Path) -> None:
    path = tmp_path / "numpy.gdviz"
    config = build_config("numpy", explicit={"race": ("adam",), "epochs": 100})
    sf.save_session(path, sf.SavedSession(config, cursor=100,
                                          pins=(sf.PinSpec(config, 50, PIN_COLORS[0]),)))
    script = ("import sys\n"
              "from gdviz.core import session_file as sf\n"
              f"restored = sf.restore(sf.open_session({str(path)!r}))\n"
              "print(len(restored.history), 'torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["100", "False"]


# --- refusals: reading ---------------------------------------------------------------------------


def test_corrupt_and_truncated_files_are_refused_with_the_place() -> None:
    text = sf.dumps_session(BASE)
    assert refusal("PK\x03\x04 not json") == ("work.gdviz is corrupt or truncated (line 1, "
                                             "column 1: Expecting value)")
    assert refusal("") == "work.gdviz is empty"
    for cut in (1, 10, len(text) // 3, len(text) // 2, len(text) - 3):
        message = refusal(text[:cut])
        assert "is corrupt or truncated" in message and ", column " in message


def test_every_truncation_is_refused() -> None:
    """Not one prefix of a real file opens (each is corrupt JSON, or misses a key)."""
    text = sf.dumps_session(BASE)
    for cut in range(0, len(text.rstrip())):
        refusal(text[:cut] if text[:cut].strip() else " ")


@pytest.mark.parametrize(("document", "expected"), [
    ([1, 2], "is not a gdviz session: it holds a JSON array, not an object"),
    ("\"gdviz\"", "it holds a JSON text"),
    ("null", "it holds a JSON null"),
    ("3", "it holds a JSON number"),
    ({"version": 1}, "no \"format\": \"gdviz-session\""),
    ({"format": "gdviz-sweep", "version": 1}, "its format is 'gdviz-sweep'"),
    ({"format": "gdviz-session"}, "has no session version"),
    ({"format": "gdviz-session", "version": "1"}, "version must be a whole number, got '1'"),
    ({"format": "gdviz-session", "version": True}, "version must be a whole number"),
    ({"format": "gdviz-session", "version": 2},
     "was made by a newer gdviz (session version 2); this gdviz reads versions up to 1"),
    ({"format": "gdviz-session", "version": 0}, "has an unknown session version 0"),
    ({"format": "gdviz-session", "version": -5}, "has an unknown session version -5"),
])
def test_what_is_not_a_session_is_refused(document: Any, expected: str) -> None:
    assert expected in refusal(document)


@pytest.mark.parametrize(("text", "expected"), [
    ('{"format": "gdviz-session", "version": 1, "cursor": NaN}', "holds NaN"),
    ('{"format": "gdviz-session", "version": 1, "cursor": -Infinity}', "holds -Infinity"),
    ('{"format": "gdviz-session", "version": 1, "cursor": 1e999}', "holds the number 1e999"),
    ('{"format": "gdviz-session", "format": "x", "version": 1}', "repeats the key 'format'"),
    ('{"format": "gdviz-session", "version": 1, "cursor": ' + "9" * 5000 + "}", "is corrupt"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (b'{"format": "gdviz-session\xff"}', "not UTF-8 text (byte 25)"),
])
def test_numbers_json_does_not_have_and_odd_bytes_are_refused(text: str | bytes,
                                                               expected: str) -> None:
    assert expected in refusal(text)


def test_a_byte_order_mark_is_fine() -> None:
    assert sf.loads_session(b"\xef\xbb\xbf" + sf.dumps_session(BASE).encode()) == BASE


def edited(change: Any, *path: str | int) -> dict[str, Any]:
    """BASE's document with the value at `path` replaced (or removed, for `...`)."""
    document = document_of(BASE)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    if change is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = change
    return document


WRONG = {"number": "fast", "int": 2.5, "bool": 1, "str": 3, "pair": [0.9], "strings": "adam"}


@pytest.mark.parametrize("key", sorted(sf.CONFIG_KINDS))
def test_each_config_field_is_type_checked_by_name(key: str) -> None:
    kind = sf.CONFIG_KINDS[key].rstrip("?")
    message = refusal(edited(WRONG[kind], "config", key))
    assert f"config.{key} must be " in message
    assert f"config.{key} is missing" in refusal(edited(..., "config", key))


@pytest.mark.parametrize(("change", "path", "expected"), [
    ({"a": 1}, ("surprise",), "the session has an unknown key 'surprise'"),
    (..., ("cursor",), "work.gdviz: cursor is missing"),
    (..., ("data",), "data is missing"),
    (-1, ("cursor",), "cursor must be between 0 and 60, got -1"),
    (True, ("cursor",), "cursor must be a whole number, got True"),
    (10, ("epochs_recorded",), "epochs_recorded must be between 20 and"),
    ("sideways", ("phase",), "phase must be null or one of the nn cell's phases (forward, loss"),
    (3, ("phase",), "phase must be null or one of"),
    ([1], ("view",), "view must be an object, got a JSON array"),
    ([1], ("view", "log_scale"), "view.log_scale must be a number, text, true/false or null"),
    ({"x": 1}, ("view", "panel"), "view.panel must be a number, text"),
    ({"x": 1}, ("view", "two\nlines"), "view.'two\\nlines' must be a number"),
    ("x", ("data",), "data must be an object, got 'x'"),
    ([1, 2, "3", 4], ("data", "x"), "data.x[2] must be a number, got '3'"),
    ([1, 2, 3], ("data", "x"), "config: data.x has 3 values but data.y has 4: they must pair up"),
    ([], ("data", "x"), "config: data.x is empty"),
    ([1e39, 2, 3, 4], ("data", "x"), "config: data.x: 1e+39 is too large for float32"),
    ([10**400, 2, 3, 4], ("data", "x"), "data.x[0] is too large for a float"),
    (-0.5, ("config", "lr"), "config: lr must be greater than 0, got -0.5"),
    (25, ("config", "epochs"), "epochs_recorded must be between 20 and 25, got 30"),
    (10**9, ("config", "epochs"), "config: epochs must be between 0 and"),
    ("numpy-ish", ("config", "trainer"), "config: unknown trainer 'numpy-ish'"),
    ("sgd", ("config", "optimizer"), "config: betas applies only to the adam, adamw"),
    (0.5, ("config", "momentum"), "config: momentum applies only to the"),
    ([0.9, 1.5], ("config", "betas"), "config: betas must each be in [0, 1)"),
    (["adam", "warp"], ("config", "race"), "config: unknown race entry 'warp'"),
    ("notebook", ("config", "gradient"), "config: gradient applies only to the numpy trainer"),
    ({"x": 1}, ("config",), "config has an unknown key 'x'"),
    ("sgd", ("pins",), "pins must be a list, got 'sgd'"),
    ([{}] * 9, ("pins",), "pins holds 9 runs; at most 8 can be pinned"),
    ([{"epochs": 3}], ("pins",), "pins[0].config is missing"),
])
def test_a_wrong_value_is_refused_by_name(change: Any, path: tuple[str | int, ...],
                                          expected: str) -> None:
    message = refusal(edited(change, *path))
    assert expected in message, message


def test_a_wrong_pin_is_refused_by_name() -> None:
    pin = sf.PinSpec(build_config("nn", explicit={"lr": 0.02}), 12, PIN_COLORS[1])
    good = document_of(dataclasses.replace(BASE, pins=(pin,)))
    assert sf.loads_session(json.dumps(good)).pins == (pin,)
    for change, expected in (
            ({"color": "red"}, "pins[0].color must be a colour such as \"#117733\", got 'red'"),
            ({"epochs": -3}, "pins[0].epochs must be between 0 and 100, got -3"),
            ({"epochs": "12"}, "pins[0].epochs must be a whole number"),
            ({"data": {"x": [1.0], "y": [2.0]}},
             "pins[0].config: the nn trainer fits 2 parameters: it needs at least 2 points"),
            ({"data": {"x": [1.0, 2.0]}}, "pins[0].data.y is missing"),
            ({"spare": 1}, "pins[0] has an unknown key 'spare'")):
        document = json.loads(json.dumps(good))
        document["pins"][0].update(change)
        assert expected in refusal(document)
    document = json.loads(json.dumps(good))
    document["pins"][0]["config"]["lr"] = 0
    assert "pins[0].config: lr must be greater than 0" in refusal(document)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.gdviz"
    with open(path, "wb") as handle:
        handle.truncate(sf.MAX_SESSION_BYTES + 1)  # sparse: no time, no disk
    with pytest.raises(sf.SessionError) as caught:
        sf.open_session(path)
    assert str(caught.value) == "huge.gdviz is 32.0 MB: a session file is at most 32 MB"
    with pytest.raises(sf.SessionError, match="larger than 32 MB"):
        sf.loads_session(" " * (sf.MAX_SESSION_BYTES + 1))


def test_missing_files_and_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(sf.SessionError, match=r"^gone\.gdviz does not exist$"):
        sf.open_session(tmp_path / "gone.gdviz")
    (tmp_path / "dir.gdviz").mkdir()
    with pytest.raises(sf.SessionError, match="is a folder"):
        sf.open_session(tmp_path / "dir.gdviz")


def test_a_migration_upgrades_an_older_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism, with a made-up version 0 that kept the data inside "config" and called
    the cursor "epoch"; version 1 has no real predecessor."""
    current = document_of(BASE)
    old = {key: value for key, value in current.items() if key not in ("data", "cursor")}
    old["version"] = 0
    old["config"] = {**current["config"], **current["data"]}
    old["epoch"] = current["cursor"]
    assert "unknown session version 0" in refusal(old)

    def from_version_0(document: dict[str, Any]) -> dict[str, Any]:
        config = dict(document["config"])
        document["data"] = {"x": config.pop("x"), "y": config.pop("y")}
        document["config"] = config
        document["cursor"] = document.pop("epoch")
        return document

    monkeypatch.setitem(sf.MIGRATIONS, 1, from_version_0)
    assert sf.loads_session(json.dumps(old)) == BASE
    assert sf.upgrade(dict(old))["version"] == 1


# --- refusals: writing ---------------------------------------------------------------------------


def test_what_cannot_be_saved_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "work.gdviz"
    nan_lr = dataclasses.replace(BASE.config, lr=math.nan)  # RunConfig without validation
    for saved, expected in (
            (dataclasses.replace(BASE, config=nan_lr), "config.lr is nan, not a finite number"),
            (dataclasses.replace(BASE, pins=(sf.PinSpec(dataclasses.replace(
                BASE.config, x=(1.0, math.inf)), 3, PIN_COLORS[0]),)),
             "pins[0].data.x[1] is inf"),
            (dataclasses.replace(BASE, view={"zoom": -math.inf}), "view.zoom is -inf"),
            (dataclasses.replace(BASE, view={"ranges": [1, 2]}), "view.ranges must be a number"),
            (dataclasses.replace(BASE, view={"z": {1, 2}}), "is not JSON serializable"),
            (dataclasses.replace(BASE, config=dataclasses.replace(BASE.config, lr=-1.0)),
             "config: lr must be greater than 0"),
    ):
        with pytest.raises(sf.SessionError) as caught:
            sf.save_session(path, saved)
        assert expected in str(caught.value) and "\n" not in str(caught.value)
        assert not path.exists() and list(tmp_path.iterdir()) == []


def test_an_unwritable_place_is_one_line_and_the_old_file_stays(tmp_path: Path) -> None:
    with pytest.raises(sf.SessionError) as caught:
        sf.save_session(tmp_path / "no" / "such" / "work.gdviz", BASE)
    assert str(caught.value) == (f"cannot write {tmp_path}/no/such/work.gdviz: the folder "
                                 f"{tmp_path}/no/such does not exist")
    path = tmp_path / "work.gdviz"
    sf.save_session(path, BASE)
    before = path.read_bytes()
    with pytest.MonkeyPatch.context() as patch:
        def full_disk(fd: int) -> None:
            raise OSError(28, "No space left on device")

        patch.setattr(os, "fsync", full_disk)
        with pytest.raises(sf.SessionError, match=r"work\.gdviz: No space left on device$"):
            sf.save_session(path, dataclasses.replace(BASE, cursor=1))
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["work.gdviz"]
