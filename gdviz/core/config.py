"""Run configurations: per-trainer defaults (the notebook's cells), presets, and validation.

A configuration is built in three layers, later ones winning: the trainer's defaults, a preset
from `resources/presets/`, then whatever the user gave explicitly. Every value a user can get
wrong is checked here, so the CLI and the window report the same one-line messages.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from gdviz.core.optimizers import (
    DEFAULT_OPTIMIZER,
    HYPERPARAMETERS,
    OPTIMIZER_NAMES,
    OPTIMIZERS,
    Hyperparameter,
    OptimizerConfig,
    OptimizerSpec,
    conflict,
    optimizer_spec,
    optimizers_having,
)
from gdviz.core.registry import (
    DEFAULT_TRAINER,
    NOTEBOOK_X,
    NOTEBOOK_Y,
    SPECS,
    TRAINERS,
    TrainerSpec,
    spec,
)
from gdviz.core.resources import resource_path

GRADIENT_MODES = tuple(dict.fromkeys(m for s in SPECS.values() for m in s.gradient_modes))
MAX_EPOCHS = 10**8
MAX_SEED = 2**63 - 1

_COMMON_DEFAULTS: dict[str, Any] = {"x": NOTEBOOK_X, "y": NOTEBOOK_Y, "x_test": 5.0, "seed": 0,
                                    "forget_zero_grad": False, "update_with_grad": False}

# What each CLI option is called in the window, for messages shown there.
_WINDOW_NAMES = {"--lr": "learning rate", "--epochs": "epochs", "--log-every": "log interval",
                 "--x-test": "predict at x", "--w0": "w0", "--b0": "b0", "--seed": "seed",
                 "--gradient": "gradient", "--x": "x column", "--y": "y column",
                 "--forget-zero-grad": "the lesson \"forget zero_grad\"",
                 "--update-with-grad": "the lesson \"update without no_grad\"",
                 "--optimizer": "optimizer",
                 **{h.option: h.label for h in HYPERPARAMETERS.values()}}

# The lessons: a line of the cell left out, to show what goes wrong without it.
LESSONS = {"forget_zero_grad": "--forget-zero-grad", "update_with_grad": "--update-with-grad"}

_PRESET_KEYS = {"description", "trainer", "lr", "epochs", "log_every", "x", "y", "x_test", "w0",
                "b0", "seed", "gradient", "forget_zero_grad", "update_with_grad", "optimizer",
                "race", *HYPERPARAMETERS}


class ConfigError(ValueError):
    """A value the user gave is unusable; the message is one line, fit to show as it is."""

    @property
    def ui_text(self) -> str:
        """The message in the window's words: 'learning rate' instead of '--lr'."""
        text = str(self)
        for option in sorted(_WINDOW_NAMES, key=len, reverse=True):
            text = text.replace(option, _WINDOW_NAMES[option])
        return text


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs. Build it with `build_config` so it is validated."""

    trainer: str = DEFAULT_TRAINER
    lr: float = 0.01
    epochs: int = 10
    log_every: int = 1
    x: tuple[float, ...] = NOTEBOOK_X
    y: tuple[float, ...] = NOTEBOOK_Y
    x_test: float = 5.0
    w0: float | None = 0.0
    b0: float | None = None
    seed: int = 0
    gradient: str | None = "notebook"
    forget_zero_grad: bool = False  # lesson: the cell without w.grad.zero_() / zero_grad()
    update_with_grad: bool = False  # lesson: the update without torch.no_grad()
    optimizer: str = DEFAULT_OPTIMIZER
    # The optimizer's hyperparameters, flat so that asdict, replace and presets see them like any
    # other setting: torch's default unless given, None where the optimizer has no such setting.
    momentum: float | None = 0.0
    dampening: float | None = 0.0
    nesterov: bool | None = False
    weight_decay: float | None = 0.0
    betas: tuple[float, float] | None = None
    eps: float | None = None
    alpha: float | None = None
    centered: bool | None = None
    amsgrad: bool | None = None
    lr_decay: float | None = None
    initial_accumulator: float | None = None
    # A race (gdviz.core.race): the entries trained beside this run, e.g. ("sgd", "momentum",
    # "adam") or ("lr×0.5", "lr×2"); empty for a single run.
    race: tuple[str, ...] = ()
    preset: str | None = field(default=None, compare=False)

    @property
    def spec(self) -> TrainerSpec:
        return spec(self.trainer)

    @property
    def has_bias(self) -> bool:
        return self.spec.has_bias

    @property
    def optimizer_spec(self) -> OptimizerSpec:
        return optimizer_spec(self.optimizer)

    @property
    def optimizer_config(self) -> OptimizerConfig:
        """The optimizer and its hyperparameters, as the trainers and the code panel take them."""
        return OptimizerConfig(self.optimizer, tuple(
            (key, getattr(self, key)) for key in self.optimizer_spec.hyperparameters))

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.spec.param_names

    @property
    def seeded(self) -> bool:
        """The start values come from torch.manual_seed(seed), not from w0 and b0."""
        return self.spec.seeded_start and self.w0 is None and self.b0 is None

    def gradient_scale(self) -> float:
        """How many times the MSE gradient this run's update uses."""
        return self.spec.gradient_scale(self.gradient, len(self.x))

    def replace(self, **changes: Any) -> RunConfig:
        """A new validated configuration with `changes` applied on top of this one."""
        values = asdict(self)
        values.update(changes)
        trainer = values.pop("trainer")
        preset = values.pop("preset")
        if trainer != self.trainer:
            # The new trainer starts as its notebook cell does (its epochs, log interval and
            # start values); the data and the learning rate stay.
            for key in ("gradient", "b0", "w0", "epochs", "log_every"):
                if key not in changes:
                    values.pop(key)
            for lesson in LESSONS:  # a lesson the new trainer cannot show is switched off
                if lesson not in spec(trainer).lessons and lesson not in changes:
                    values.pop(lesson)
        if values["optimizer"] != self.optimizer:
            # The new optimizer starts from torch's defaults, but keeps what the user changed of
            # a setting both have (SGD's momentum 0.9 stays 0.9 in RMSprop).
            old = self.optimizer_spec.defaults
            new = OPTIMIZERS[values["optimizer"]].defaults if values["optimizer"] in OPTIMIZERS \
                else {}
            for key in HYPERPARAMETERS:
                if key not in changes and not (key in new and key in old and
                                               getattr(self, key) != old[key]):
                    values.pop(key)
        return build_config(trainer=trainer, explicit=values, preset_name=None, keep_preset=preset)


def describe_change(old: RunConfig, new: RunConfig) -> str:
    """A short phrase for the status bar saying what a new config changed."""
    if new.trainer != old.trainer:
        return f"trainer changed to {new.spec.title}"
    if new.optimizer != old.optimizer:
        return f"optimizer changed to {new.optimizer_spec.title}"
    if (new.x, new.y) != (old.x, old.y):
        return f"data changed ({len(new.x)} points)"
    names = {"lr": "learning rate", "epochs": "epochs", "w0": "w0", "b0": "b0", "seed": "seed",
             "gradient": "gradient", "x_test": "predict at x", "log_every": "log interval",
             "forget_zero_grad": "forget zero_grad", "update_with_grad": "update without no_grad",
             **{key: h.label for key, h in HYPERPARAMETERS.items()}}
    if new.race != old.race:
        return f"race of {', '.join(new.race)}" if new.race else "race ended"
    changed = [f"{label} {_shown(getattr(old, key))} → {_shown(getattr(new, key))}"
               for key, label in names.items() if getattr(old, key) != getattr(new, key)]
    return ", ".join(changed) if changed else "settings applied"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def parse_numbers(text: str, option: str) -> tuple[float, ...]:
    """Parse a comma-separated list such as "1,2,3,4"; any bad entry is a ConfigError."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip() or all(not part for part in parts):
        raise ConfigError(f"{option} is empty: give comma-separated numbers such as 1,2,3,4")
    values = []
    for part in parts:
        if not part:
            raise ConfigError(f"{option} has an empty entry in {text!r}")
        try:
            values.append(float(part))
        except ValueError:
            raise ConfigError(f"{option}: {part!r} is not a number") from None
    return tuple(values)


def available_presets() -> list[str]:
    return sorted(path.stem for path in resource_path("presets").glob("*.json"))


def load_preset(name: str) -> dict[str, Any]:
    """The values stored in preset `name` (a file in resources/presets/)."""
    path = resource_path("presets", f"{name}.json")
    if not path.is_file():
        known = ", ".join(available_presets()) or "none"
        raise ConfigError(f"unknown preset {name!r} (known presets: {known})")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"preset {name!r} cannot be read: {error}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"preset {name!r} is not a JSON object")
    unknown = sorted(set(values) - _PRESET_KEYS)
    if unknown:
        raise ConfigError(f"preset {name!r} has unknown keys: {', '.join(unknown)}")
    return values


def build_config(
    trainer: str | None = None,
    explicit: dict[str, Any] | None = None,
    preset_name: str | None = None,
    keep_preset: str | None = None,
) -> RunConfig:
    """Layer trainer defaults, a preset and explicit values, then validate the result.

    `explicit` holds only what the user really gave (no None placeholders for absent options).
    """
    explicit = {key: value for key, value in (explicit or {}).items() if value is not None}
    preset: dict[str, Any] = {}
    if preset_name is not None:
        preset = load_preset(preset_name)
        preset.pop("description", None)
    chosen = trainer or preset.get("trainer") or DEFAULT_TRAINER
    if chosen not in TRAINERS:
        raise ConfigError(f"unknown trainer {chosen!r} (choose from {', '.join(TRAINERS)})")
    chosen_spec = spec(chosen)

    if "gradient" in explicit and not chosen_spec.gradient_modes:
        having = ", ".join(name for name, s in SPECS.items() if s.gradient_modes)
        raise ConfigError(f"--gradient applies only to the {having} trainer, not to {chosen!r}")
    for lesson, option in LESSONS.items():
        if explicit.get(lesson) and lesson not in chosen_spec.lessons:
            having = ", ".join(name for name, s in SPECS.items() if lesson in s.lessons)
            raise ConfigError(f"{option} applies only to the {having} trainers, not to "
                              f"{chosen!r}")
    if "b0" in explicit and not chosen_spec.has_bias:
        raise ConfigError(f"--b0 applies only to a model with a bias; {chosen!r} fits f = w*x")
    optimizer = explicit.get("optimizer") or preset.get("optimizer") or DEFAULT_OPTIMIZER
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {optimizer!r} (choose from "
                          f"{', '.join(OPTIMIZER_NAMES)})")
    if optimizer not in chosen_spec.optimizers:
        raise ConfigError(f"the {chosen} trainer cannot run --optimizer {optimizer} (it runs "
                          f"{', '.join(chosen_spec.optimizers)})")
    hyperparameters = optimizer_spec(optimizer).defaults
    for key, hyperparameter in HYPERPARAMETERS.items():
        if key in explicit and key not in hyperparameters:
            owners = optimizers_having(key)
            raise ConfigError(f"{hyperparameter.option} applies only to the {', '.join(owners)} "
                              f"optimizer{'s' if len(owners) > 1 else ''}, not to {optimizer!r}")

    values: dict[str, Any] = {**_COMMON_DEFAULTS, **chosen_spec.defaults, **hyperparameters}
    for key, value in preset.items():
        if key == "trainer":
            continue
        if key in HYPERPARAMETERS and key not in hyperparameters:
            continue  # the preset's optimizer was overridden: its own settings do not apply
        if key == "gradient" and not chosen_spec.gradient_modes:
            continue  # a numpy preset run with a torch trainer keeps its data, not its mode
        if key == "b0" and not chosen_spec.has_bias:
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    values.update(explicit)
    if not chosen_spec.gradient_modes:
        values["gradient"] = None
    if not chosen_spec.has_bias:
        values["b0"] = None
    for lesson in LESSONS:
        if lesson not in chosen_spec.lessons:
            values[lesson] = False  # a lesson the new trainer cannot show is switched off
    for key in HYPERPARAMETERS:
        if key not in hyperparameters:
            values[key] = None
    values["optimizer"] = optimizer
    values["trainer"] = chosen
    values["preset"] = preset_name or keep_preset
    return _validated(values)


def _validated(values: dict[str, Any]) -> RunConfig:
    x = _number_tuple(values["x"], "--x")
    y = _number_tuple(values["y"], "--y")
    if len(x) != len(y):
        raise ConfigError(f"--x has {len(x)} values but --y has {len(y)}: they must pair up")
    trainer_spec = spec(values["trainer"])
    if len(x) < trainer_spec.min_points:
        raise ConfigError(f"the {trainer_spec.name} trainer fits {len(trainer_spec.param_names)} "
                          f"parameters: it needs at least {trainer_spec.min_points} points")

    lr = _finite(values["lr"], "--lr")
    if lr <= 0:
        raise ConfigError(f"--lr must be greater than 0, got {lr:g}")
    epochs = _integer(values["epochs"], "--epochs")
    if not 0 <= epochs <= MAX_EPOCHS:
        raise ConfigError(f"--epochs must be between 0 and {MAX_EPOCHS:.0e}, got {epochs}")
    log_every = _integer(values["log_every"], "--log-every")
    if log_every <= 0:
        raise ConfigError(f"--log-every must be at least 1, got {log_every}")
    seed = _integer(values["seed"], "--seed")
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed must be between 0 and 2**63-1, got {seed}")
    gradient = values.get("gradient")
    if gradient is not None and gradient not in trainer_spec.gradient_modes:
        choices = ", ".join(trainer_spec.gradient_modes)
        raise ConfigError(f"--gradient must be one of {choices}, got {gradient!r}")

    w0 = values.get("w0")
    b0 = values.get("b0")
    optimizer = OptimizerConfig(values["optimizer"], tuple(
        (key, _hyperparameter(values[key], HYPERPARAMETERS[key]))
        for key in optimizer_spec(values["optimizer"]).hyperparameters))
    message = conflict(optimizer)
    if message is not None:
        raise ConfigError(message)
    return RunConfig(
        trainer=values["trainer"],
        lr=lr,
        epochs=epochs,
        log_every=log_every,
        x=x,
        y=y,
        x_test=_float32_finite(values["x_test"], "--x-test"),
        w0=None if w0 is None else _float32_finite(w0, "--w0"),
        b0=None if b0 is None else _float32_finite(b0, "--b0"),
        seed=seed,
        gradient=gradient,
        forget_zero_grad=_flag(values.get("forget_zero_grad", False), "--forget-zero-grad"),
        update_with_grad=_flag(values.get("update_with_grad", False), "--update-with-grad"),
        optimizer=optimizer.name,
        **{key: None for key in HYPERPARAMETERS} | dict(optimizer.values),
        race=_race(values.get("race", ())),
        preset=values.get("preset"),
    )


def _race(entries: Any) -> tuple[str, ...]:
    from gdviz.core.race import ENTRIES, MAX_LANES  # the race module builds on this one

    if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
        raise ConfigError(f"race must be a list of entries such as [\"sgd\", \"adam\"], got "
                          f"{entries!r}")
    unknown = [e for e in entries if e not in ENTRIES]
    if unknown:
        raise ConfigError(f"unknown race entry {unknown[0]!r} (choose from "
                          f"{', '.join(ENTRIES)})")
    if len(entries) > MAX_LANES:
        raise ConfigError(f"a race has at most {MAX_LANES} lanes, got {len(entries)}")
    return tuple(dict.fromkeys(entries))


def _hyperparameter(value: Any, hyperparameter: Hyperparameter) -> Any:
    """A validated optimizer setting: a bool, a float, or (betas) a pair of floats."""
    option = hyperparameter.option
    if hyperparameter.kind == "flag":
        return _flag(value, option)
    if hyperparameter.kind == "pair":
        if isinstance(value, str):
            value = parse_numbers(value, option)
        if isinstance(value, (int, float)) or not hasattr(value, "__len__") or len(value) != 2:
            raise ConfigError(f"{option} takes two numbers such as 0.9,0.999, got {value!r}")
        pair = tuple(_optimizer_number(v, option) for v in value)
        low, high = hyperparameter.minimum, hyperparameter.maximum
        if not all(low <= v < high for v in pair):
            raise ConfigError(f"{option} must each be in [{low:g}, {high:g}), got "
                              f"{pair[0]:g},{pair[1]:g}")
        return pair
    number = _optimizer_number(value, option)
    if number < hyperparameter.minimum:
        raise ConfigError(f"{option} must be {hyperparameter.minimum:g} or greater, "
                          f"got {number:g}")
    if number > hyperparameter.maximum:
        raise ConfigError(f"{option} must be between {hyperparameter.minimum:g} and "
                          f"{hyperparameter.maximum:g}, got {number:g}")
    return number


def _optimizer_number(value: Any, option: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{option}: {value!r} is not a number")
    return _finite(value, option)


def _flag(value: Any, option: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{option} must be true or false, got {value!r}")
    return value


def _finite(value: Any, option: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{option}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ConfigError(f"{option} must be a finite number, got {value!r}")
    return number


def _float32_finite(value: Any, option: str) -> float:
    """Values the trainers hold in float32 must stay finite there too."""
    number = _finite(value, option)
    if abs(number) > float(np.finfo(np.float32).max):
        raise ConfigError(f"{option}: {number:g} is too large for float32 (limit 3.4e38)")
    return number


def _integer(value: Any, option: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{option}: {value!r} is not a whole number")
    try:
        number = int(value) if not isinstance(value, float) else None
    except ValueError:
        raise ConfigError(f"{option}: {value!r} is not a whole number") from None
    if number is None:
        assert isinstance(value, float)
        if not value.is_integer():
            raise ConfigError(f"{option}: {value!r} is not a whole number")
        number = int(value)
    return number


def _number_tuple(values: Any, option: str) -> tuple[float, ...]:
    if isinstance(values, str):
        return tuple(_float32_finite(v, option) for v in parse_numbers(values, option))
    try:
        items = list(values)
    except TypeError:
        raise ConfigError(f"{option} must be a list of numbers") from None
    if not items:
        raise ConfigError(f"{option} is empty: give at least one number")
    return tuple(_float32_finite(v, option) for v in items)
