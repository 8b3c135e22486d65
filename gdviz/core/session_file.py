"""`.gdviz` session files: a run's settings, data, cursor, pinned runs and view options, as JSON.

A session file holds what it takes to show the work again, not the numbers themselves: the
trainers are deterministic, so opening one re-trains the configuration to the saved epoch and
each pin to its epochs, and every array comes back exactly as it was (`restore`).

Version 1, one top-level key a line:

    {"format": "gdviz-session",
     "version": 1,
     "config": {every RunConfig field but x and y: "trainer", "lr", ..., "race", "preset"},
     "data": {"x": [...], "y": [...]},
     "cursor": 12,                 the epoch the views showed
     "epochs_recorded": 40,        optional (default: the cursor): the epochs trained, >= cursor
     "phase": "backward" | null,   optional: lecture mode's phase of the cursor's epoch
     "pins": [{"config": {...}, "data": {...}, "epochs": 30, "color": "#117733"}],  optional;
                                   a pin's "data" is left out when it is the session's
     "view": {"log_scale": true}}  optional: the window's options, JSON scalars only

Writing uses `json.dumps(..., allow_nan=False)` and a temporary file renamed over the target;
whatever is written is read back first, so a file this module writes always opens.

Reading never evaluates or unpickles anything: the file is refused (`SessionError`, one line
that names the problem) when it is over `MAX_SESSION_BYTES`, not UTF-8, not JSON (truncated or
corrupt: with the line and column), holds NaN or Infinity or a number too large for a float,
repeats a key, is not an object, has no or another "format", a version newer than
`CURRENT_VERSION`, an unknown or missing key, or a value of the wrong type or out of range
(the configurations are rebuilt with `build_config`, so they are validated like the CLI's).

Versions: `MIGRATIONS[n]` turns a version n - 1 document into version n; a document is
upgraded one version at a time until it is current. Version 1 is the first, so there is no
migration yet. When the shape changes: raise CURRENT_VERSION, add MIGRATIONS[CURRENT_VERSION],
and keep reading the old files.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from gdviz.core import transcript
from gdviz.core.config import MAX_EPOCHS, ConfigError, RunConfig, build_config
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.pins import MAX_PINS, PinnedRun
from gdviz.core.race import RaceTrack
from gdviz.core.records import StepRecord
from gdviz.core.session import Session, landscape_for
from gdviz.core.sweep import is_plain_sgd
from gdviz.core.traces import atomic_text_file
from gdviz.core.trainers import Trainer, make_trainer
from gdviz.core.training import quiet_overflow, train

__all__ = [
    "CURRENT_VERSION",
    "FORMAT",
    "MAX_SESSION_BYTES",
    "MIGRATIONS",
    "SUFFIX",
    "PinSpec",
    "RestoredSession",
    "SavedSession",
    "SessionError",
    "dumps_session",
    "from_session",
    "loads_session",
    "open_session",
    "restore",
    "save_session",
    "upgrade",
]

FORMAT = "gdviz-session"
CURRENT_VERSION = 1
SUFFIX = ".gdviz"
# The CSV import takes up to 200,000 points (about 8 MB as JSON); a session is refused beyond
# this, before it is parsed.
MAX_SESSION_BYTES = 32 * 2**20

ViewValue = str | int | float | bool | None
Migration = Callable[[dict[str, Any]], dict[str, Any]]
MIGRATIONS: dict[int, Migration] = {}  # version n: upgrades a version n - 1 document to n

# Each RunConfig field a version-1 file holds under "config" (x and y are under "data"), with
# its JSON type: "number", "int", "bool", "str", "pair" (two numbers), "strings" (a list of
# text); a trailing "?" allows null. tests/test_session_file.py checks this covers RunConfig.
CONFIG_KINDS: Mapping[str, str] = MappingProxyType({
    "trainer": "str", "lr": "number", "epochs": "int", "log_every": "int",
    "x_test": "number", "w0": "number?", "b0": "number?", "seed": "int", "gradient": "str?",
    "forget_zero_grad": "bool", "update_with_grad": "bool", "optimizer": "str",
    "momentum": "number?", "dampening": "number?", "nesterov": "bool?",
    "weight_decay": "number?", "betas": "pair?", "eps": "number?", "alpha": "number?",
    "centered": "bool?", "amsgrad": "bool?", "lr_decay": "number?",
    "initial_accumulator": "number?", "race": "strings", "preset": "str?",
})
DATA_FIELDS = ("x", "y")
_REQUIRED = ("format", "version", "config", "data", "cursor")
_OPTIONAL = ("epochs_recorded", "phase", "pins", "view")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
_CHUNK = 4096  # records handed to the History at once; a cancel check between chunks
_LONGEST_CYCLE = 8  # the longest period of a repeating plain-SGD run that is looked for


class SessionError(ValueError):
    """A session cannot be saved, read or restored; the message is one line, fit to show."""


# --- what a file holds ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PinSpec:
    """A pinned run as a file keeps it: the configuration and how many epochs were pinned.
    Its numbers are re-trained on opening (`restore`)."""

    config: RunConfig
    epochs: int
    color: str

    @classmethod
    def of(cls, pin: PinnedRun) -> PinSpec:
        return cls(pin.config, pin.epochs, pin.color)


@dataclass(frozen=True)
class SavedSession:
    """What a session file holds, checked. `view` is read-only."""

    config: RunConfig  # the data are config.x and config.y
    cursor: int = 0
    epochs_recorded: int = 0  # the epochs trained when saved (>= cursor)
    phase: Phase | None = None
    pins: tuple[PinSpec, ...] = ()
    view: Mapping[str, ViewValue] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "view", MappingProxyType(dict(self.view)))
        object.__setattr__(self, "pins", tuple(self.pins))
        object.__setattr__(self, "epochs_recorded", max(self.epochs_recorded, self.cursor))

    @property
    def data(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        return self.config.x, self.config.y


def from_session(session: Session, pins: Iterable[PinnedRun | PinSpec] = (),
                 view: Mapping[str, ViewValue] | None = None) -> SavedSession:
    """The window's work as a file keeps it: its session's run, the pins, its view options."""
    return SavedSession(
        config=session.config,
        cursor=session.cursor,
        epochs_recorded=session.epochs_recorded,
        phase=session.phase,
        pins=tuple(p if isinstance(p, PinSpec) else PinSpec.of(p) for p in pins),
        view=dict(view or {}),
    )


# --- writing -------------------------------------------------------------------------------------


def _json_value(value: Any, where: str) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise SessionError(f"cannot save the session: {where} is {value!r}, not a finite number")
    if isinstance(value, tuple):
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _config_object(config: RunConfig, where: str, with_data: bool) -> dict[str, Any]:
    document = {key: _json_value(getattr(config, key), f"{where}.{key}") for key in CONFIG_KINDS}
    if with_data:
        document["data"] = _data_object(config, f"{where}.data")
    return document


def _data_object(config: RunConfig, where: str) -> dict[str, Any]:
    return {name: _json_value(getattr(config, name), f"{where}.{name}") for name in DATA_FIELDS}


def session_document(saved: SavedSession) -> dict[str, Any]:
    """The JSON object a file holds (before `json.dumps`)."""
    pins = []
    for index, pin in enumerate(saved.pins):
        entry: dict[str, Any] = {"config": _config_object(pin.config, f"pins[{index}].config",
                                                          with_data=False)}
        if (pin.config.x, pin.config.y) != saved.data:
            entry["data"] = _data_object(pin.config, f"pins[{index}].data")
        entry.update(epochs=pin.epochs, color=pin.color)
        pins.append(entry)
    view = {}
    for key, value in saved.view.items():
        if not isinstance(key, str):
            raise SessionError(f"cannot save the session: view key {key!r} is not text")
        view[key] = _json_value(value, f"view.{_shown_key(key)}")
    return {
        "format": FORMAT,
        "version": CURRENT_VERSION,
        "config": _config_object(saved.config, "config", with_data=False),
        "data": _data_object(saved.config, "data"),
        "cursor": saved.cursor,
        "epochs_recorded": saved.epochs_recorded,
        "phase": None if saved.phase is None else saved.phase.value,
        "pins": pins,
        "view": view,
    }


def dumps_session(saved: SavedSession) -> str:
    """The file's text: one top-level key a line. It is read back before it is returned, so
    anything that would not open again is refused here, with the same message."""
    document = session_document(saved)
    try:
        lines = [f"{json.dumps(key)}: {json.dumps(value, allow_nan=False)}"
                 for key, value in document.items()]
    except (TypeError, ValueError) as error:
        raise SessionError(f"cannot save the session: {error}") from None
    text = "{" + ",\n ".join(lines) + "}\n"
    if len(text.encode("utf-8")) > MAX_SESSION_BYTES:
        raise SessionError(f"cannot save the session: it would be larger than "
                           f"{MAX_SESSION_BYTES // 2**20} MB")
    again = loads_session(text)
    if again != saved or again.config.preset != saved.config.preset:
        raise SessionError("cannot save the session: it does not read back as it was")
    return text


def save_session(path: str | os.PathLike[str], saved: SavedSession) -> None:
    """Write `saved` to `path` (conventionally ending in `SUFFIX`), whole or not at all."""
    text = dumps_session(saved)
    with atomic_text_file(path, SessionError) as handle:
        handle.write(text)


# --- reading -------------------------------------------------------------------------------------


def open_session(path: str | os.PathLike[str]) -> SavedSession:
    """Read and check a session file; SessionError says why one is refused."""
    target = Path(path)
    name = _one_line(target.name or str(target))
    try:
        with open(target, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_SESSION_BYTES:
                raise SessionError(f"{name} is {size / 2**20:.1f} MB: a session file is at most "
                                   f"{MAX_SESSION_BYTES // 2**20} MB")
            raw = handle.read(MAX_SESSION_BYTES + 1)  # a growing or special file stops here
    except FileNotFoundError:
        raise SessionError(f"{name} does not exist") from None
    except IsADirectoryError:
        raise SessionError(f"{name} is a folder, not a session file") from None
    except OSError as error:
        raise SessionError(f"cannot read {name}: {error.strerror or error}") from None
    return loads_session(raw, name)


def loads_session(text: str | bytes, source: str = "the session") -> SavedSession:
    """Check and read a session file's contents (`source` names it in messages)."""
    if len(text) > MAX_SESSION_BYTES:
        raise SessionError(f"{source} is larger than {MAX_SESSION_BYTES // 2**20} MB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SessionError(f"{source} is not a gdviz session: not UTF-8 text (byte "
                               f"{error.start})") from None
    if not text.strip():
        raise SessionError(f"{source} is empty")
    try:
        document = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                              object_pairs_hook=_no_repeated_keys)
    except json.JSONDecodeError as error:
        raise SessionError(f"{source} is corrupt or truncated (line {error.lineno}, column "
                           f"{error.colno}: {error.msg})") from None
    except SessionError as error:
        raise SessionError(f"{source} {error}") from None
    except RecursionError:
        raise SessionError(f"{source} is corrupt: its JSON is nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise SessionError(f"{source} is corrupt: {_one_line(str(error))}") from None
    document = upgrade(_checked_header(document, source), source)
    try:
        return _saved_session(document)
    except SessionError as error:
        raise SessionError(f"{source}: {error}") from None


def _refuse_constant(name: str) -> Any:
    raise SessionError(f"holds {name}, which is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise SessionError(f"holds the number {text[:40]}, too large for a float")
    return number


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise SessionError(f"repeats the key {key!r}")
            seen.add(key)
    return document


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shown_key(key: str) -> str:
    """A key as a message names it: as it is when short and plain, else quoted and cut."""
    if key.isidentifier() and len(key) <= 40:
        return key
    shown = repr(key)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _checked_header(document: Any, source: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise SessionError(f"{source} is not a gdviz session: it holds a JSON "
                           f"{_json_type(document)}, not an object")
    if "format" not in document:
        raise SessionError(f"{source} is not a gdviz session: it has no "
                           f"\"format\": \"{FORMAT}\"")
    if document["format"] != FORMAT:
        shown = repr(document["format"])
        raise SessionError(f"{source} is not a gdviz session: its format is "
                           f"{shown if len(shown) <= 40 else shown[:37] + '...'}")
    version = document.get("version")
    if version is None:
        raise SessionError(f"{source} has no session version")
    if not _is_int(version):
        raise _wrong(f"{source}: version", "a whole number", version)
    if version > CURRENT_VERSION:
        raise SessionError(f"{source} was made by a newer gdviz (session version {version}); "
                           f"this gdviz reads versions up to {CURRENT_VERSION}")
    return document


def upgrade(document: dict[str, Any], source: str = "the session") -> dict[str, Any]:
    """Bring a document of an older version to CURRENT_VERSION, one migration at a time."""
    version: int = document["version"]
    while version < CURRENT_VERSION:
        migration = MIGRATIONS.get(version + 1)
        if migration is None:
            raise SessionError(f"{source} has an unknown session version {version}")
        document = migration(dict(document))
        version += 1
        document["version"] = version
    return document


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "array"
    return "object"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _wrong(where: str, wanted: str, value: Any) -> SessionError:
    shown = repr(value) if not isinstance(value, (list, dict)) else f"a JSON {_json_type(value)}"
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return SessionError(f"{where} must be {wanted}, got {shown}")


def _object(value: Any, where: str, required: Iterable[str],
            optional: Iterable[str] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    required = tuple(required)
    allowed = set(required) | set(optional)
    unknown = [key for key in value if key not in allowed]
    if unknown:
        shown = repr(unknown[0]) if len(unknown[0]) <= 40 else repr(unknown[0][:37]) + "..."
        raise SessionError(f"{where or 'the session'} has an unknown key {shown}")
    missing = [key for key in required if key not in value]
    if missing:
        raise SessionError(f"{where}.{missing[0]} is missing" if where else
                           f"{missing[0]} is missing")
    return value


def _number(value: Any, where: str) -> float:
    if not _is_number(value):
        raise _wrong(where, "a number", value)
    try:
        return float(value)
    except OverflowError:
        raise SessionError(f"{where} is too large for a float") from None


def _integer(value: Any, where: str, low: int = 0, high: int = MAX_EPOCHS) -> int:
    if not _is_int(value):
        raise _wrong(where, "a whole number", value)
    if not low <= value <= high:
        raise SessionError(f"{where} must be between {low} and {high}, got {value}")
    result: int = value
    return result


def _typed(value: Any, kind: str, where: str) -> Any:
    """`value` checked against a CONFIG_KINDS kind; lists become tuples, as RunConfig holds."""
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "number":
        _number(value, where)
        return value
    if kind == "int":
        if not _is_int(value):
            raise _wrong(where, "a whole number", value)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _wrong(where, "true or false", value)
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise _wrong(where, "text", value)
        return value
    if kind == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise _wrong(where, "a list of two numbers", value)
        return tuple(_typed(v, "number", f"{where}[{i}]") for i, v in enumerate(value))
    assert kind == "strings", kind
    if not isinstance(value, list):
        raise _wrong(where, "a list of text", value)
    return tuple(_typed(v, "str", f"{where}[{i}]") for i, v in enumerate(value))


def _data(value: Any, where: str) -> dict[str, tuple[float, ...]]:
    data = _object(value, where, DATA_FIELDS)
    columns = {}
    for name in DATA_FIELDS:
        column = data[name]
        if not isinstance(column, list):
            raise _wrong(f"{where}.{name}", "a list of numbers", column)
        for index, number in enumerate(column):
            _number(number, f"{where}.{name}[{index}]")
        columns[name] = tuple(column)
    return columns


# "--x-test" in a ConfigError is the file's "x_test"; "--x" and "--y" are under "data".
_OPTION = re.compile(r"--([a-z][a-z0-9-]*)")


def _field_words(message: str, data_where: str) -> str:
    def name(match: re.Match[str]) -> str:
        key = match.group(1).replace("-", "_")
        return f"{data_where}.{key}" if key in DATA_FIELDS else key

    return _OPTION.sub(name, message)


def _config(value: Any, where: str, data: Mapping[str, tuple[float, ...]],
            data_where: str) -> RunConfig:
    document = _object(value, where, CONFIG_KINDS)
    explicit = {key: _typed(document[key], kind, f"{where}.{key}")
                for key, kind in CONFIG_KINDS.items()}
    trainer = explicit.pop("trainer")
    preset = explicit.pop("preset")
    explicit.update(data)
    try:
        return build_config(trainer=trainer, explicit=explicit, keep_preset=preset)
    except ConfigError as error:
        raise SessionError(f"{where}: {_field_words(str(error), data_where)}") from None
    except (OverflowError, TypeError, ValueError) as error:  # build_config's own float()s
        raise SessionError(f"{where}: {_one_line(str(error))}") from None


def _phase(value: Any, config: RunConfig, cursor: int) -> Phase | None:
    if value is None:
        return None
    phases = config.spec.phases
    names = ", ".join(p.value for p in phases)
    if not isinstance(value, str) or value not in {p.value for p in phases}:
        raise _wrong("phase", f"null or one of the {config.trainer} cell's phases ({names})",
                     value)
    if cursor == 0:
        raise SessionError(f"phase {value!r} needs a cursor of 1 or more")
    return Phase(value)


def _view(value: Any) -> dict[str, ViewValue]:
    if not isinstance(value, dict):
        raise _wrong("view", "an object", value)
    for key, item in value.items():
        if not (item is None or isinstance(item, (str, int, float, bool))):
            raise _wrong(f"view.{_shown_key(key)}", "a number, text, true/false or null", item)
    return dict(value)


def _pins(value: Any, data: Mapping[str, tuple[float, ...]]) -> tuple[PinSpec, ...]:
    if not isinstance(value, list):
        raise _wrong("pins", "a list", value)
    if len(value) > MAX_PINS:
        raise SessionError(f"pins holds {len(value)} runs; at most {MAX_PINS} can be pinned")
    specs = []
    for index, item in enumerate(value):
        where = f"pins[{index}]"
        pin = _object(item, where, ("config", "epochs", "color"), ("data",))
        pin_data = _data(pin["data"], f"{where}.data") if "data" in pin else data
        data_where = f"{where}.data" if "data" in pin else "data"
        config = _config(pin["config"], f"{where}.config", pin_data, data_where)
        epochs = _integer(pin["epochs"], f"{where}.epochs", high=config.epochs)
        color = pin["color"]
        if not isinstance(color, str) or not _COLOR.fullmatch(color):
            raise _wrong(f"{where}.color", "a colour such as \"#117733\"", color)
        specs.append(PinSpec(config, epochs, color))
    return tuple(specs)


def _saved_session(document: dict[str, Any]) -> SavedSession:
    document = _object(document, "", _REQUIRED, _OPTIONAL)
    data = _data(document["data"], "data")
    config = _config(document["config"], "config", data, "data")
    cursor = _integer(document["cursor"], "cursor", high=config.epochs)
    recorded = document.get("epochs_recorded", cursor)
    recorded = _integer(recorded, "epochs_recorded", low=cursor, high=config.epochs)
    return SavedSession(
        config=config,
        cursor=cursor,
        epochs_recorded=recorded,
        phase=_phase(document.get("phase"), config, cursor),
        pins=_pins(document.get("pins", []), data),
        view=_view(document.get("view", {})),
    )


# --- opening: re-training ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class RestoredSession:
    """A session re-trained to where it was saved: what the window shows, and a trainer to go
    on from. `notes` says where the re-trained run does not reach the saved epochs."""

    saved: SavedSession
    trainer: Trainer  # at epoch len(history): training it further continues the run
    history: History
    race_track: RaceTrack | None  # the race's other lanes, None outside a race
    pins: tuple[PinnedRun, ...]
    cursor: int
    phase: Phase | None
    before_line: str | None  # the notebook's prediction before training, as the log shows it
    after_line: str | None  # ... after training, once the run reached config.epochs
    diverged_at: int | None
    refused: str | None  # torch's error, if it refused an update (the update_with_grad lesson)
    notes: tuple[str, ...] = ()

    @property
    def config(self) -> RunConfig:
        return self.saved.config

    @property
    def view(self) -> Mapping[str, ViewValue]:
        return self.saved.view


class _Repeats(Exception):
    """A plain-SGD run came back to the parameters it had `period` epochs ago."""

    def __init__(self, cycle: list[StepRecord]) -> None:
        super().__init__()
        self.cycle = cycle


def _same(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Equal to the bit: 0.0 and -0.0 are different parameters to a trainer."""
    return a == b and all(math.copysign(1.0, x) == math.copysign(1.0, y)
                          for x, y in zip(a, b, strict=True))


@dataclass
class _Trained:
    trainer: Trainer
    history: History
    race_track: RaceTrack | None
    diverged_at: int | None
    refused: str | None
    before: float


def _train_to(config: RunConfig, epochs: int, keep_predictions: bool,
              report: Callable[[int], None] | None = None) -> _Trained:
    """A fresh trainer of `config` trained `epochs` epochs, into a History (and a RaceTrack).

    With plain SGD a trainer's next epoch depends on its parameters alone, so once they come
    back to where they were 1..8 epochs before, the run repeats that cycle for ever: the
    repeats are copied into the History instead of trained (tests show the numbers and the
    trainer equal those of training on). Only whole cycles are copied, so the trainer, whose
    epoch counter is moved on, is where training would have left it.

    `report` gets the number of epochs added, every few thousand; it may raise to stop.
    """
    with quiet_overflow():  # a start far out may overflow float32 at once: that is divergence
        trainer = make_trainer(config)
        before = trainer.predict(config.x_test)
    initial = trainer.params()
    history = History(config.param_names, initial,
                      n_points=len(config.x) if keep_predictions else 0)
    race_track = RaceTrack(config, initial) if config.race else None
    looks_for_cycles = is_plain_sgd(config) and not config.race
    buffer: list[StepRecord] = []

    def flush() -> None:
        history.extend(buffer)
        if race_track is not None:
            race_track.extend(tuple(buffer))
        added = len(buffer)
        buffer.clear()
        if report is not None:
            report(added)

    recent: deque[StepRecord] = deque(maxlen=_LONGEST_CYCLE)

    def on_record(record: StepRecord) -> None:
        buffer.append(record)
        if looks_for_cycles and record.is_finite:
            recent.append(record)
            after = record.params_after
            for period in range(1, len(recent) + 1):
                start = recent[-period].params_before
                if start == after and _same(start, after):
                    raise _Repeats(list(recent)[-period:])
        if len(buffer) >= _CHUNK:
            flush()

    remaining = epochs
    diverged_at: int | None = None
    refused: str | None = None
    try:
        while remaining > 0:
            start = trainer.epoch
            try:
                outcome = train(trainer, remaining, on_record=on_record)
            except _Repeats as repeats:
                remaining -= trainer.epoch - start
                period = len(repeats.cycle)
                copies = remaining // period
                flush()
                looks_for_cycles = False  # what is left is shorter than one cycle
                chunk = repeats.cycle * max(1, _CHUNK // period)
                for done in range(0, copies * period, len(chunk)):
                    buffer.extend(chunk[: copies * period - done])
                    flush()
                trainer.epoch += copies * period
                remaining -= copies * period
                continue
            remaining -= outcome.epochs_run
            diverged_at = outcome.diverged_at
            break
    except RuntimeError as error:
        if not config.update_with_grad:
            raise
        refused = f"RuntimeError: {error}"
    flush()
    return _Trained(trainer, history, race_track, diverged_at, refused, before)


def _pin_key(pin: PinSpec) -> tuple[Any, ...]:
    """What a pin's numbers depend on: not its config's epochs, log interval, x_test or race
    (its lead lane is the pin), but the epochs pinned."""
    return (pin.epochs, *(getattr(pin.config, f.name) for f in fields(RunConfig)
                          if f.name not in ("epochs", "log_every", "x_test", "race", "preset")))


def restore(saved: SavedSession, cancelled: Callable[[], bool] | None = None,
            progress: Callable[[int, int], None] | None = None) -> RestoredSession:
    """Re-train the saved run to its recorded epochs and each pin to its epochs.

    The run's trainer keeps going from there (`RestoredSession.trainer`). torch is imported
    only for a torch trainer, the run's or a pin's. Every few thousand epochs `progress` gets
    (epochs done, epochs in all) and `cancelled` is asked: True ends opening with a
    SessionError. Pins of the same training and epochs are trained once.
    """
    config = saved.config
    notes: list[str] = []
    pin_runs = {_pin_key(spec): spec for spec in saved.pins}
    total = saved.epochs_recorded + sum(spec.epochs for spec in pin_runs.values())
    done = 0

    def report(added: int) -> None:
        nonlocal done
        done += added
        if progress is not None:
            progress(done, total)
        if cancelled is not None and cancelled():
            raise SessionError("opening the session was cancelled")

    run = _train_to(config, saved.epochs_recorded, keep_predictions=True, report=report)
    recorded = len(run.history)
    done += saved.epochs_recorded - recorded  # a run that stopped early
    if recorded < saved.epochs_recorded:
        why = (f"diverged at epoch {run.diverged_at}" if run.diverged_at is not None else
               f"was refused by torch at epoch {recorded + 1}")
        notes.append(f"the run {why}, before the saved epoch {saved.epochs_recorded}")
    cursor, phase = saved.cursor, saved.phase
    if cursor > recorded:
        cursor, phase = recorded, None
    after_line = None
    if run.diverged_at is None and run.refused is None and recorded >= config.epochs:
        with quiet_overflow():
            after_line = transcript.after_line(config.x_test, run.trainer.predict(config.x_test))

    trained: dict[tuple[Any, ...], History] = {}
    pins = []
    for index, spec in enumerate(saved.pins):
        key = _pin_key(spec)
        if key not in trained:
            lead = spec.config.replace(race=()) if spec.config.race else spec.config
            pin_run = _train_to(lead, spec.epochs, keep_predictions=False, report=report)
            done += spec.epochs - len(pin_run.history)  # a run that stopped early
            trained[key] = pin_run.history
        history = trained[key]
        if len(history) < spec.epochs:
            notes.append(f"pin {index + 1} stops at epoch {len(history)}, before its saved "
                         f"{spec.epochs}")
        pins.append(PinnedRun.from_history(spec.config, history, landscape_for(spec.config),
                                           spec.color))
    return RestoredSession(
        saved=saved,
        trainer=run.trainer,
        history=run.history,
        race_track=run.race_track,
        pins=tuple(pins),
        cursor=cursor,
        phase=phase,
        before_line=transcript.before_line(config.trainer, config.x_test, run.before),
        after_line=after_line,
        diverged_at=run.diverged_at,
        refused=run.refused,
        notes=tuple(notes),
    )
