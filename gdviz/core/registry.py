"""One registry of trainers: everything trainer-specific lives in its `TrainerSpec`.

Config, transcript, loss surface, panels and the CLI read a spec; nothing outside this module
compares a trainer's name. The optimizers have their own registry (gdviz.core.optimizers); a
spec says which of them its trainer runs and how (`update_style`). Adding a trainer means one
spec here, its class, and its tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

import numpy as np

from gdviz.core.optimizers import OPTIMIZER_NAMES
from gdviz.core.phases import Phase

NOTEBOOK_X = (1.0, 2.0, 3.0, 4.0)
NOTEBOOK_Y = (2.0, 4.0, 6.0, 8.0)


@dataclass(frozen=True)
class TrainerSpec:
    """What one notebook cell is: its model, its defaults, how it prints and how it explains."""

    name: str  # the CLI's --trainer value and the combo box's item data
    title: str
    factory: str  # "module:Class" of the trainer, imported only when the trainer is built
    param_names: tuple[str, ...]
    # The notebook cell's own settings: epochs, log interval, start values.
    defaults: Mapping[str, Any]
    needs_torch: bool
    gradient_modes: tuple[str, ...] = ()  # empty: the trainer's gradient is not selectable
    seeded_start: bool = False  # start values come from torch.manual_seed(seed) unless given
    # How the cell prints "prediction before training: f(x)…" ("literal": f(5), "float32":
    # f(5.0) from X_test.item()); None when the cell prints no such line.
    before_line: str | None = None
    epoch_line_trailing_space: bool = True
    forward_formula: str = "y_pred = w·x"
    gradient_formulas: Mapping[str | None, str] = field(default_factory=dict)
    note: str = ""  # a caveat the window shows about this cell's numbers
    # The caveat in a few words, for a narrow panel (the full `note` goes in its tooltip).
    note_brief: str = ""
    # The phases of one epoch as the cell writes them (lecture mode's sub-steps).
    phases: tuple[Phase, ...] = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE,
                                 Phase.ZERO_GRAD)
    gradient_word: str = "backward"  # what the cell calls its gradient phase
    # The lessons (what goes wrong without a line of the cell) this trainer can show:
    # "forget_zero_grad", "update_with_grad".
    lessons: tuple[str, ...] = ()
    # How the cell runs an optimizer other than plain SGD (gdviz.core.optimizers): "float"
    # (float64 arithmetic on a Python float), "tensor" (torch.optim's operations written out on
    # a tensor) or "optim" (torch.optim.<Name> itself).
    update_style: str = "float"
    optimizers: tuple[str, ...] = OPTIMIZER_NAMES  # the --optimizer values it supports

    @property
    def has_bias(self) -> bool:
        return "b" in self.param_names

    @property
    def min_points(self) -> int:
        """A model with a bias needs two points to pin its two parameters."""
        return len(self.param_names)

    @property
    def default_gradient(self) -> str | None:
        return self.gradient_modes[0] if self.gradient_modes else None

    def gradient_scale(self, gradient_mode: str | None, n: int) -> float:
        """How many times the MSE gradient the update uses (N for the notebook's numpy cell)."""
        return float(n) if gradient_mode == "notebook" else 1.0

    def gradient_formula(self, gradient_mode: str | None) -> str:
        return self.gradient_formulas.get(gradient_mode, self.gradient_formulas.get(None, ""))

    def build(self, config: Any) -> Any:
        """A fresh trainer for `config` (imports torch for the torch trainers)."""
        module_name, class_name = self.factory.split(":")
        trainer_class = getattr(importlib.import_module(module_name), class_name)
        return trainer_class(config)


_K = TypeVar("_K")
_V = TypeVar("_V")


def _frozen(values: dict[_K, _V]) -> Mapping[_K, _V]:
    return MappingProxyType(values)


SPECS: Mapping[str, TrainerSpec] = _frozen({
    "numpy": TrainerSpec(
        name="numpy",
        title="NumPy, manual gradient",
        factory="gdviz.core.trainers:NumpyTrainer",
        param_names=("w",),
        defaults=_frozen({"lr": 0.01, "epochs": 10, "log_every": 1, "w0": 0.0, "b0": None,
                          "gradient": "notebook"}),
        needs_torch=False,
        gradient_modes=("notebook", "mean"),
        before_line="literal",
        gradient_formulas=_frozen({
            "notebook": "dw = np.dot(2·x, y_pred − y).mean()  (the notebook's: N × dL/dw)",
            "mean": "dw = np.dot(2·x, y_pred − y) / N",
        }),
        phases=(Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE),
        gradient_word="gradient",
    ),
    "autograd": TrainerSpec(
        name="autograd",
        title="PyTorch autograd",
        factory="gdviz.core.trainers:AutogradTrainer",
        param_names=("w",),
        defaults=_frozen({"lr": 0.01, "epochs": 100, "log_every": 10, "w0": 0.0, "b0": None,
                          "gradient": None}),
        needs_torch=True,
        gradient_formulas=_frozen({None: "l.backward()  →  w.grad"}),
        lessons=("forget_zero_grad", "update_with_grad"),
        update_style="tensor",
    ),
    "nn": TrainerSpec(
        name="nn",
        title="torch.nn Linear + SGD",
        factory="gdviz.core.trainers:NNTrainer",
        param_names=("w", "b"),
        defaults=_frozen({"lr": 0.01, "epochs": 100, "log_every": 10, "w0": None, "b0": None,
                          "seed": 0, "gradient": None}),
        needs_torch=True,
        seeded_start=True,
        before_line="float32",
        epoch_line_trailing_space=False,
        forward_formula="y_pred = w·x + b",
        gradient_formulas=_frozen({None: "l.backward()  →  weight.grad, bias.grad"}),
        note=("The notebook's own nn numbers came from a model already trained by earlier runs "
              "of its cell; gdviz starts from torch.manual_seed(seed), so its nn numbers are "
              "those of a fresh run."),
        note_brief="Not the notebook's numbers: its model was already trained; gdviz starts "
                   "fresh.",
        lessons=("forget_zero_grad", "update_with_grad"),
        update_style="optim",
    ),
})

TRAINERS: tuple[str, ...] = tuple(SPECS)
DEFAULT_TRAINER = "numpy"


def spec(name: str) -> TrainerSpec:
    """The spec of trainer `name`; KeyError for an unknown one (config validates names first)."""
    return SPECS[name]


def format_before_x(spec_: TrainerSpec, x: float) -> str:
    """x as the cell's "before training" line prints it."""
    if spec_.before_line == "float32":
        return str(float(np.float32(x)))  # X_test.item() of a float32 tensor: 5.0
    return format_x(x)


def format_x(x: float) -> str:
    """x as the notebook's literal `forward(5)` shows it: 5, or 2.5."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))
