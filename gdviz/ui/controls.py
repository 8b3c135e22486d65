"""The run controls: trainer, learning rate, optimizer and its hyperparameters, epochs, start
values, seed, gradient mode."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSlider,
    QSpinBox,
    QWidget,
)

from gdviz.core import convergence
from gdviz.core.config import MAX_SEED, ConfigError, RunConfig
from gdviz.core.convergence import Contraction
from gdviz.core.history import history_bytes, window_epoch_limit
from gdviz.core.optimizers import HYPERPARAMETERS, OPTIMIZERS
from gdviz.core.registry import SPECS, TRAINERS
from gdviz.ui.widgets import named, shrinkable

LR_MIN, LR_MAX = 1e-5, 10.0
LR_SLIDER_STEPS = 600
SPEEDS: list[tuple[str, float | None]] = [
    ("1 epoch/s", 1.0), ("2 epochs/s", 2.0), ("5 epochs/s", 5.0), ("10 epochs/s", 10.0),
    ("30 epochs/s", 30.0), ("100 epochs/s", 100.0), ("1000 epochs/s", 1000.0),
    ("unthrottled", None),
]
DEFAULT_SPEED_INDEX = 2
FIELD_MIN_WIDTH = 80
SLIDER_SETTLE_MS = 300  # a slider moved by keys or wheel applies once it has been still this long
SPIN_DECIMALS = 323  # QDoubleSpinBox rounds to its decimals: this many keep any float's value
SPIN_MAXIMUM = 1e6  # a hyperparameter without an upper bound (momentum 1.5 diverges: a lesson)


@dataclass(frozen=True)
class Field:
    """An optimizer setting's field: its objectName, row label, step and what it does."""

    name: str
    label: str
    step: float  # Up/Down add this; 0: multiply or divide by 10 (eps)
    tip: str


# Each hyperparameter's fields (betas: two), in the order of gdviz.core.optimizers.HYPERPARAMETERS.
FIELDS: dict[str, tuple[Field, ...]] = {
    "momentum": (Field("momentumSpin", "Momentum", 0.1,
                       "Momentum μ: each step carries μ times the previous one along\n"
                       "(velocity ← μ·velocity + g). 0 is plain SGD; 0.9 is usual."),),
    "dampening": (Field("dampeningSpin", "Dampening", 0.1,
                        "Dampening τ: the new gradient enters the velocity as (1 − τ)·g.\n"
                        "Nesterov needs 0."),),
    "nesterov": (Field("nesterovCheck", "Nesterov", 0.0,
                       "Nesterov momentum: step along g + μ·velocity, a look ahead.\n"
                       "Needs momentum greater than 0 and dampening 0."),),
    "weight_decay": (Field("weightDecaySpin", "Weight decay", 0.01,
                           "Weight decay λ: adds λ·w to the gradient, pulling the weights\n"
                           "toward 0 (an L2 penalty)."),),
    "betas": (Field("beta1Spin", "β₁ (beta1)", 0.01,
                    "β₁: how slowly m, the running average of the gradient, forgets\n"
                    "(0.9: about the last 10 steps)."),
              Field("beta2Spin", "β₂ (beta2)", 0.001,
                    "β₂: how slowly v, the running average of the squared gradient,\n"
                    "forgets (0.999: about the last 1000 steps). Both must be below 1.")),
    "eps": (Field("epsSpin", "ε (eps)", 0.0,
                  "ε: added to the denominator so that it is never 0\n"
                  "(torch's default: 1e-8, Adagrad 1e-10). Up/Down multiply or divide by 10."),),
    "alpha": (Field("alphaSpin", "α (alpha)", 0.01,
                    "α: how slowly v, the running average of the squared gradient,\n"
                    "forgets (0.99: about the last 100 steps)."),),
    "centered": (Field("centeredCheck", "centered", 0.0,
                       "Centered RMSprop: divide by the gradient's estimated standard\n"
                       "deviation √(v − g_avg²) instead of √v."),),
    "amsgrad": (Field("amsgradCheck", "AMSGrad", 0.0,
                      "AMSGrad: divide by the largest v so far, so that a step never\n"
                      "grows back when the gradients shrink."),),
    "lr_decay": (Field("lrDecaySpin", "lr decay", 0.01,
                       "Learning-rate decay η: the t-th step uses lr / (1 + (t − 1)·η)."),),
    "initial_accumulator": (Field("initialAccumulatorSpin", "Initial sum", 0.1,
                                  "The starting value G₀ of the sum of squared gradients\n"
                                  "(0: the first step moves each weight by lr, whatever g)."),),
}
ADAMW_DECAY_TIP = ("Decoupled weight decay λ (AdamW): the weights themselves shrink by\n"
                   "w ← w·(1 − lr·λ) before the update, outside the running averages.")


class HyperparameterSpinBox(QDoubleSpinBox):
    """A hyperparameter field: its value written as short as it reads (0.9, 0.999, 1e-08)."""

    def __init__(self, field: Field, minimum: float, maximum: float) -> None:
        super().__init__(decimals=SPIN_DECIMALS, minimum=minimum, maximum=maximum)
        self.setObjectName(field.name)
        self.setKeyboardTracking(False)
        self.setToolTip(field.tip)
        self._multiply = field.step == 0
        self.setSingleStep(field.step or 1.0)

    def textFromValue(self, value: float) -> str:  # Qt override
        return f"{value:.12g}"

    def valueFromText(self, text: str) -> float:  # Qt override
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:  # Qt override
        stripped = text.strip()
        try:
            value = float(stripped)
        except ValueError:
            partial = re.fullmatch(r"\d*\.?\d*(?:[eE][-+]?\d*)?", stripped) is not None
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos
        if not math.isfinite(value):
            return QValidator.State.Invalid, text, pos
        inside = self.minimum() <= value <= self.maximum()
        return (QValidator.State.Acceptable if inside else QValidator.State.Intermediate,
                text, pos)

    def stepBy(self, steps: int) -> None:  # Qt override
        value = self.value()
        if self._multiply:
            value = value * 10.0**steps if value > 0 else 10.0 ** (-8 + steps)
        else:
            value = value + steps * self.singleStep()
        # Round away the binary noise of repeated steps (0.999 + 0.001 is 0.9999999999999999).
        self.setValue(min(max(float(f"{value:.12g}"), self.minimum()), self.maximum()))


class SeedSpinBox(QAbstractSpinBox):
    """A spin box for whole numbers up to 2**63 − 1 (QSpinBox stops at 2**31 − 1)."""

    valueChanged = Signal(object)  # a Python int: Signal(int) would overflow

    def __init__(self, maximum: int = MAX_SEED, objectName: str = "") -> None:
        super().__init__()
        self.setObjectName(objectName)
        self._maximum = maximum
        self._value = 0
        self.lineEdit().setText("0")
        self.editingFinished.connect(self._on_editing_finished)

    def value(self) -> int:
        return self._value

    def maximum(self) -> int:
        return self._maximum

    def setValue(self, value: int) -> None:
        value = min(max(int(value), 0), self._maximum)
        self.lineEdit().setText(str(value))
        if value != self._value:
            self._value = value
            self.valueChanged.emit(value)

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:  # Qt override
        if not text:
            return QValidator.State.Intermediate, text, pos
        if not text.isdigit():
            return QValidator.State.Invalid, text, pos
        state = (QValidator.State.Acceptable if int(text) <= self._maximum
                 else QValidator.State.Invalid)
        return state, text, pos

    def fixup(self, text: str) -> str:  # Qt override
        return str(self._value)

    def stepBy(self, steps: int) -> None:
        self.setValue(self._value + steps)

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self._value > 0:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        if self._value < self._maximum:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        return flags

    def _on_editing_finished(self) -> None:
        text = self.lineEdit().text()
        self.setValue(int(text) if text.isdigit() else self._value)


class ControlsPanel(QGroupBox):
    """Trainer and hyperparameters. Emits `config_edited` with a validated RunConfig."""

    config_edited = Signal(object)
    invalid = Signal(str)

    def __init__(self, config: RunConfig) -> None:
        super().__init__("Run")
        self._config = config
        form = QFormLayout(self)

        self.trainer_combo = shrinkable(named(QComboBox(), "trainerCombo"))
        for trainer in TRAINERS:
            self.trainer_combo.addItem(SPECS[trainer].title, trainer)
        form.addRow("Trainer", self.trainer_combo)

        self.lr_spin = named(QDoubleSpinBox(decimals=5, minimum=LR_MIN, maximum=LR_MAX,
                                            singleStep=0.001), "lrSpin")
        self.lr_spin.setKeyboardTracking(False)
        self.lr_slider = named(QSlider(Qt.Orientation.Horizontal), "lrSlider")
        self.lr_slider.setRange(0, LR_SLIDER_STEPS)
        self.lr_slider.setToolTip("learning rate, logarithmic from 1e-5 to 10")
        # A drag applies once, on release; keys and the wheel once the slider is still.
        self._slider_timer = QTimer(self, singleShot=True, interval=SLIDER_SETTLE_MS)
        self._slider_timer.timeout.connect(self._apply_slider_lr)
        self.lr_slider.sliderReleased.connect(self._apply_slider_lr)
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("", self.lr_slider)
        self.critical_label = named(QLabel(), "criticalLabel")
        self.critical_label.setWordWrap(True)
        form.addRow("", self.critical_label)
        # Beside the critical lr, why: the factor the error is multiplied by each epoch.
        self.contraction_label = named(QLabel(), "contractionLabel")
        self.contraction_label.setWordWrap(True)
        self.contraction_label.setToolTip(
            "Per epoch the error in the weights is multiplied by |1 − lr·h|, h the curvature "
            "of the loss the trainer descends (for nn: both eigenvalues of its Hessian).")
        form.addRow("", self.contraction_label)

        self.optimizer_combo = shrinkable(named(QComboBox(), "optimizerCombo"))
        for name, optimizer in OPTIMIZERS.items():
            self.optimizer_combo.addItem(optimizer.title, name)
        self.optimizer_combo.setToolTip(
            "torch.optim's update rule. SGD without momentum or weight decay is the\n"
            "notebook's own update; the others keep a state (velocity, m, v) the code\n"
            "and step panels show.")
        form.addRow("Optimizer", self.optimizer_combo)
        self._form = form
        # Every hyperparameter's field, made once; set_config shows the chosen optimizer's.
        self.hyperparameter_fields: dict[str, tuple[QWidget, ...]] = {}
        for key, fields in FIELDS.items():
            hyperparameter = HYPERPARAMETERS[key]
            made: list[QWidget] = []
            for entry in fields:
                if hyperparameter.kind == "flag":
                    check = named(QCheckBox(entry.label), entry.name)
                    check.setToolTip(entry.tip)
                    check.toggled.connect(self._on_hyperparameter_edited)
                    form.addRow("", check)
                    made.append(check)
                    continue
                maximum = (SPIN_MAXIMUM if math.isinf(hyperparameter.maximum)
                           else hyperparameter.maximum)
                spin = HyperparameterSpinBox(entry, hyperparameter.minimum, maximum)
                spin.valueChanged.connect(self._on_hyperparameter_edited)
                label = QLabel(entry.label)
                label.setToolTip(entry.tip)
                form.addRow(label, spin)
                made.append(spin)
            self.hyperparameter_fields[key] = tuple(made)

        self.epochs_spin = named(QSpinBox(minimum=0), "epochsSpin")
        self.epochs_spin.setMaximum(window_epoch_limit(len(config.param_names), len(config.x)))
        self.epochs_spin.setKeyboardTracking(False)
        form.addRow("Epochs", self.epochs_spin)
        self.memory_label = named(QLabel(), "memoryLabel")
        self.memory_label.setWordWrap(True)
        form.addRow("", self.memory_label)

        self.seeded_check = named(QCheckBox("w, b from the seed"), "seededCheck")
        form.addRow("", self.seeded_check)
        self.w0_spin = self._param_spin("w0Spin")
        form.addRow("w0", self.w0_spin)
        self.b0_spin = self._param_spin("b0Spin")
        form.addRow("b0", self.b0_spin)
        self.seed_spin = SeedSpinBox(objectName="seedSpin")
        form.addRow("Seed", self.seed_spin)

        self.gradient_combo = shrinkable(named(QComboBox(), "gradientCombo"))
        self.gradient_combo.addItem("notebook: N × MSE gradient", "notebook")
        self.gradient_combo.addItem("mean: true MSE gradient", "mean")
        self.gradient_combo.setToolTip(
            "The notebook's np.dot(2*x, y_pred - y).mean(): .mean() of a scalar does nothing,\n"
            "so its gradient is N times the true one and its steps N times larger.")
        form.addRow("Gradient", self.gradient_combo)

        self.x_test_spin = self._param_spin("xTestSpin")
        form.addRow("Predict at x", self.x_test_spin)

        # Spin boxes ask for the width of their largest value (−1000000.000); letting them be
        # narrower keeps the settings column within a 1024-pixel screen.
        for field in self.findChildren(QAbstractSpinBox):
            field.setMinimumWidth(FIELD_MIN_WIDTH)
        # As wide as the widest optimizer's rows need, whichever is shown: the window sizes
        # its settings column once, from this.
        self._widest = super().minimumSizeHint().width()
        self.set_config(config)
        self.trainer_combo.currentIndexChanged.connect(self._on_trainer_combo_changed)
        self.optimizer_combo.currentIndexChanged.connect(self._on_optimizer_combo_changed)
        self.lr_spin.valueChanged.connect(self._on_lr_spin_changed)
        self.lr_slider.valueChanged.connect(self._on_lr_slider_changed)
        self.epochs_spin.valueChanged.connect(lambda v: self._edit(epochs=v))
        self.w0_spin.valueChanged.connect(lambda v: self._edit(w0=v))
        self.b0_spin.valueChanged.connect(lambda v: self._edit(b0=v))
        self.seed_spin.valueChanged.connect(lambda v: self._edit(seed=v))
        self.seeded_check.toggled.connect(self._on_seeded_check_toggled)
        self.gradient_combo.currentIndexChanged.connect(
            lambda _: self._edit(gradient=self.gradient_combo.currentData()))
        self.x_test_spin.valueChanged.connect(lambda v: self._edit(x_test=v))

    @staticmethod
    def _param_spin(name: str) -> QDoubleSpinBox:
        spin = named(QDoubleSpinBox(decimals=3, minimum=-1e6, maximum=1e6, singleStep=0.1),
                     name)
        spin.setKeyboardTracking(False)
        return spin

    def set_config(self, config: RunConfig, critical_lr: float | None = None,
                   contraction: Contraction | None = None) -> None:
        """Show `config` without echoing the changes back as edits."""
        self._config = config
        widgets = [self.trainer_combo, self.lr_spin, self.lr_slider, self.epochs_spin,
                   self.w0_spin, self.b0_spin, self.seed_spin, self.seeded_check,
                   self.gradient_combo, self.x_test_spin, self.optimizer_combo,
                   *(f for fields in self.hyperparameter_fields.values() for f in fields)]
        for widget in widgets:
            widget.blockSignals(True)
        self.trainer_combo.setCurrentIndex(TRAINERS.index(config.trainer))
        self._show_optimizer(config)
        self.lr_spin.setValue(config.lr)
        self.lr_slider.setValue(self._slider_for(config.lr))
        self.epochs_spin.setValue(config.epochs)
        trainer_spec = config.spec
        seeded = config.seeded
        self.seeded_check.setChecked(seeded)
        self.seeded_check.setVisible(trainer_spec.seeded_start)
        self.w0_spin.setValue(config.w0 or 0.0)
        self.w0_spin.setEnabled(not seeded)
        self.b0_spin.setValue(config.b0 or 0.0)
        self.b0_spin.setEnabled(trainer_spec.has_bias and not seeded)
        self.seed_spin.setValue(config.seed)
        self.seed_spin.setEnabled(trainer_spec.seeded_start)
        index = self.gradient_combo.findData(config.gradient or trainer_spec.default_gradient)
        self.gradient_combo.setCurrentIndex(max(index, 0))
        self.gradient_combo.setEnabled(bool(trainer_spec.gradient_modes))
        self.epochs_spin.setMaximum(window_epoch_limit(len(config.param_names), len(config.x)))
        self._show_memory_cost(config)
        self.x_test_spin.setValue(config.x_test)
        for widget in widgets:
            widget.blockSignals(False)
        plain = config.optimizer_config.is_plain_sgd
        if critical_lr is not None:
            self.show_critical_lr(config.lr, critical_lr, plain)
        if contraction is not None:
            color = "#D55E00" if contraction.diverges and plain else "#444444"
            words = convergence.describe(contraction)
            if not plain:  # the factor |1 − lr·h| is plain gradient descent's
                words = f"with plain SGD: {words}"
            self.contraction_label.setText(f"<span style='color:{color}'>{words}</span>")

    def _show_optimizer(self, config: RunConfig) -> None:
        """The optimizer box and, below it, the fields of its hyperparameters only."""
        combo = self.optimizer_combo
        combo.setCurrentIndex(max(combo.findData(config.optimizer), 0))
        runs = config.spec.optimizers
        for index in range(combo.count()):  # an optimizer the trainer cannot run is greyed
            item = combo.model().item(index)  # type: ignore[attr-defined]
            item.setEnabled(combo.itemData(index) in runs)
        own = config.optimizer_spec.hyperparameters
        for key, fields in self.hyperparameter_fields.items():
            value = getattr(config, key)
            for index, field in enumerate(fields):
                self._form.setRowVisible(field, key in own)
                if value is None:
                    continue
                if isinstance(field, QCheckBox):
                    field.setChecked(bool(value))
                elif isinstance(field, QDoubleSpinBox):
                    field.setValue(value[index] if key == "betas" else value)
        decay = self.hyperparameter_fields["weight_decay"][0]
        decay.setToolTip(ADAMW_DECAY_TIP if config.optimizer_spec.decoupled_weight_decay
                         else FIELDS["weight_decay"][0].tip)

    def hyperparameter_values(self) -> dict[str, object]:
        """What the shown optimizer's fields hold now, typed or not yet applied."""
        values: dict[str, object] = {}
        for key in self._config.optimizer_spec.hyperparameters:
            fields = self.hyperparameter_fields[key]
            read = [f.isChecked() if isinstance(f, QCheckBox) else
                    f.value() if isinstance(f, QDoubleSpinBox) else None for f in fields]
            values[key] = tuple(read) if key == "betas" else read[0]
        return values

    def minimumSizeHint(self) -> QSize:  # Qt override
        hint = super().minimumSizeHint()
        return QSize(max(hint.width(), self._widest), hint.height())

    def _show_memory_cost(self, config: RunConfig) -> None:
        """Say what a long run will hold in memory, and the most the window accepts."""
        cost = history_bytes(len(config.param_names), len(config.x), config.epochs)
        limit = self.epochs_spin.maximum()
        if cost >= 100e6 or config.epochs >= limit:
            self.memory_label.setText(f"history ≈ {cost / 1e6:,.0f} MB at the end "
                                      f"(at most {limit:,} epochs here)")
        else:
            self.memory_label.setText("")

    def show_critical_lr(self, lr: float, critical: float, plain_sgd: bool = True) -> None:
        if not plain_sgd:  # 2/h is plain gradient descent's limit, not this optimizer's
            self.critical_label.setText(f"critical lr {critical:.4g} for plain SGD (this "
                                        "optimizer has no such closed form)")
            return
        if lr >= critical:
            text = f"<b style='color:#D55E00'>above the critical lr {critical:.4g}: diverges</b>"
        else:
            text = f"critical lr {critical:.4g} (lr/critical = {lr / critical:.2f})"
        self.critical_label.setText(text)

    @staticmethod
    def _slider_for(lr: float) -> int:
        fraction = (math.log10(lr) - math.log10(LR_MIN)) / (math.log10(LR_MAX) - math.log10(LR_MIN))
        return round(min(1.0, max(0.0, fraction)) * LR_SLIDER_STEPS)

    @staticmethod
    def _lr_for(position: int) -> float:
        exponent = math.log10(LR_MIN) + position / LR_SLIDER_STEPS * (
            math.log10(LR_MAX) - math.log10(LR_MIN))
        return float(f"{10**exponent:.2g}")  # round numbers a lecturer can say out loud

    def _on_trainer_combo_changed(self, _index: int) -> None:
        self._edit(trainer=self.trainer_combo.currentData())

    def _on_optimizer_combo_changed(self, _index: int) -> None:
        self._edit(optimizer=self.optimizer_combo.currentData())

    def _on_hyperparameter_edited(self, _value: object) -> None:
        # Every field of the optimizer at once: after "Nesterov needs momentum", setting the
        # momentum applies the Nesterov box the user ticked too, nothing they entered is lost.
        self._edit(**self.hyperparameter_values())

    def _on_lr_spin_changed(self, value: float) -> None:
        self.lr_slider.blockSignals(True)
        self.lr_slider.setValue(self._slider_for(value))
        self.lr_slider.blockSignals(False)
        self._edit(lr=value)

    def _on_lr_slider_changed(self, position: int) -> None:
        # Show the value at once, apply it once: every tick of a drag restarting the run made
        # sixty restarts in two seconds.
        self.lr_spin.blockSignals(True)
        self.lr_spin.setValue(self._lr_for(position))
        self.lr_spin.blockSignals(False)
        if not self.lr_slider.isSliderDown():
            self._slider_timer.start()

    def _apply_slider_lr(self) -> None:
        self._slider_timer.stop()
        if self.lr_spin.value() != self._config.lr:
            self._edit(lr=self.lr_spin.value())

    def _on_seeded_check_toggled(self, seeded: bool) -> None:
        if seeded:
            self._edit(w0=None, b0=None)  # None: back to torch.manual_seed(seed) + nn.Linear
        else:
            self._edit(w0=self.w0_spin.value(), b0=self.b0_spin.value())

    def _edit(self, **changes: object) -> None:
        config = self._config
        if config.spec.seeded_start and changes.get("w0", changes.get("b0")) is not None:
            # Leaving the seed fixes both start values at what the spin boxes show.
            changes.setdefault("w0", self.w0_spin.value())
            changes.setdefault("b0", self.b0_spin.value())
        try:
            new = config.replace(**changes)
        except ConfigError as error:
            self.invalid.emit(error.ui_text)
            return
        self.config_edited.emit(new)
