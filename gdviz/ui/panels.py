"""Side panels: run controls, the dataset editor, the step-by-step panel and the log."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
)

from gdviz.core.config import (
    MAX_EPOCHS,
    TRAINER_TITLES,
    TRAINERS,
    ConfigError,
    RunConfig,
    available_presets,
    load_preset,
)
from gdviz.ui.run_model import RunModel

LR_MIN, LR_MAX = 1e-5, 10.0
LR_SLIDER_STEPS = 600
SPEEDS: list[tuple[str, float | None]] = [
    ("1 epoch/s", 1.0), ("2 epochs/s", 2.0), ("5 epochs/s", 5.0), ("10 epochs/s", 10.0),
    ("30 epochs/s", 30.0), ("100 epochs/s", 100.0), ("1000 epochs/s", 1000.0),
    ("unthrottled", None),
]
DEFAULT_SPEED_INDEX = 2


def number(value: float) -> str:
    """A value for the step panel: 3 decimals when that is readable, else scientific."""
    if value != value or value in (math.inf, -math.inf):
        return str(value)
    scientific = value != 0 and not 1e-3 <= abs(value) < 1e6
    text = f"{value:.3e}" if scientific else f"{value:.3f}"
    return text.replace("-", "−")


def signed(value: float) -> str:
    """Negative numbers in brackets, as in `0.01 × (−48.000)`."""
    text = number(value)
    return f"({text})" if text.startswith("−") else text


def vector(values: np.ndarray, limit: int = 4) -> str:
    shown = ", ".join(number(float(v)) for v in values[:limit])
    more = f", … ({len(values)} values)" if len(values) > limit else ""
    return f"[{shown}{more}]"


class ControlsPanel(QGroupBox):
    """Trainer and hyperparameters. Emits `config_edited` with a validated RunConfig."""

    config_edited = Signal(object)
    invalid = Signal(str)

    def __init__(self, config: RunConfig) -> None:
        super().__init__("Run")
        self._config = config
        form = QFormLayout(self)

        self.trainer_combo = QComboBox(objectName="trainerCombo")
        for trainer in TRAINERS:
            self.trainer_combo.addItem(TRAINER_TITLES[trainer], trainer)
        form.addRow("Trainer", self.trainer_combo)

        self.lr_spin = QDoubleSpinBox(objectName="lrSpin", decimals=5, minimum=LR_MIN,
                                      maximum=LR_MAX, singleStep=0.001)
        self.lr_spin.setKeyboardTracking(False)
        self.lr_slider = QSlider(Qt.Orientation.Horizontal, objectName="lrSlider")
        self.lr_slider.setRange(0, LR_SLIDER_STEPS)
        self.lr_slider.setToolTip("learning rate, logarithmic from 1e-5 to 10")
        form.addRow("Learning rate", self.lr_spin)
        form.addRow("", self.lr_slider)
        self.critical_label = QLabel(objectName="criticalLabel")
        self.critical_label.setWordWrap(True)
        form.addRow("", self.critical_label)

        self.epochs_spin = QSpinBox(objectName="epochsSpin", minimum=0, maximum=MAX_EPOCHS)
        self.epochs_spin.setKeyboardTracking(False)
        form.addRow("Epochs", self.epochs_spin)

        self.seeded_check = QCheckBox("initial w, b from the seed", objectName="seededCheck")
        form.addRow("", self.seeded_check)
        self.w0_spin = self._param_spin("w0Spin")
        form.addRow("w0", self.w0_spin)
        self.b0_spin = self._param_spin("b0Spin")
        form.addRow("b0", self.b0_spin)
        self.seed_spin = QSpinBox(objectName="seedSpin", minimum=0, maximum=2**31 - 1)
        self.seed_spin.setKeyboardTracking(False)
        form.addRow("Seed", self.seed_spin)

        self.gradient_combo = QComboBox(objectName="gradientCombo")
        self.gradient_combo.addItem("notebook: N × MSE gradient", "notebook")
        self.gradient_combo.addItem("mean: true MSE gradient", "mean")
        self.gradient_combo.setToolTip(
            "The notebook's np.dot(2*x, y_pred - y).mean(): .mean() of a scalar does nothing,\n"
            "so its gradient is N times the true one and its steps N times larger.")
        form.addRow("Gradient", self.gradient_combo)

        self.x_test_spin = self._param_spin("xTestSpin")
        form.addRow("Predict at x", self.x_test_spin)

        self.set_config(config)
        self.trainer_combo.currentIndexChanged.connect(self._on_trainer_combo_changed)
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
        spin = QDoubleSpinBox(objectName=name, decimals=3, minimum=-1e6, maximum=1e6,
                              singleStep=0.1)
        spin.setKeyboardTracking(False)
        return spin

    def set_config(self, config: RunConfig, critical_lr: float | None = None) -> None:
        """Show `config` without echoing the changes back as edits."""
        self._config = config
        widgets = [self.trainer_combo, self.lr_spin, self.lr_slider, self.epochs_spin,
                   self.w0_spin, self.b0_spin, self.seed_spin, self.seeded_check,
                   self.gradient_combo, self.x_test_spin]
        for widget in widgets:
            widget.blockSignals(True)
        self.trainer_combo.setCurrentIndex(TRAINERS.index(config.trainer))
        self.lr_spin.setValue(config.lr)
        self.lr_slider.setValue(self._slider_for(config.lr))
        self.epochs_spin.setValue(config.epochs)
        nn = config.trainer == "nn"
        seeded = nn and config.w0 is None and config.b0 is None
        self.seeded_check.setChecked(seeded)
        self.seeded_check.setVisible(nn)
        self.w0_spin.setValue(config.w0 or 0.0)
        self.w0_spin.setEnabled(not seeded)
        self.b0_spin.setValue(config.b0 or 0.0)
        self.b0_spin.setEnabled(nn and not seeded)
        self.seed_spin.setValue(config.seed)
        self.seed_spin.setEnabled(nn)
        self.gradient_combo.setCurrentIndex(0 if config.gradient != "mean" else 1)
        self.gradient_combo.setEnabled(config.trainer == "numpy")
        self.x_test_spin.setValue(config.x_test)
        for widget in widgets:
            widget.blockSignals(False)
        if critical_lr is not None:
            self.show_critical_lr(config.lr, critical_lr)

    def show_critical_lr(self, lr: float, critical: float) -> None:
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

    def _on_lr_spin_changed(self, value: float) -> None:
        self.lr_slider.blockSignals(True)
        self.lr_slider.setValue(self._slider_for(value))
        self.lr_slider.blockSignals(False)
        self._edit(lr=value)

    def _on_lr_slider_changed(self, position: int) -> None:
        self.lr_spin.setValue(self._lr_for(position))  # the spin box applies it

    def _on_seeded_check_toggled(self, seeded: bool) -> None:
        if seeded:
            self._edit(w0=None, b0=None)  # None: back to torch.manual_seed(seed) + nn.Linear
        else:
            self._edit(w0=self.w0_spin.value(), b0=self.b0_spin.value())

    def _edit(self, **changes: object) -> None:
        config = self._config
        if config.trainer == "nn" and changes.get("w0", changes.get("b0")) is not None:
            # Leaving the seed fixes both start values at what the spin boxes show.
            changes.setdefault("w0", self.w0_spin.value())
            changes.setdefault("b0", self.b0_spin.value())
        try:
            new = config.replace(**changes)
        except ConfigError as error:
            self.invalid.emit(str(error))
            return
        self.config_edited.emit(new)


class DatasetEditor(QGroupBox):
    """A table of (x, y) points to edit, extend and trim; presets; CSV import."""

    data_edited = Signal(tuple, tuple)
    preset_chosen = Signal(str)
    invalid = Signal(str)

    def __init__(self) -> None:
        super().__init__("Data")
        layout = QVBoxLayout(self)
        self.preset_combo = QComboBox(objectName="presetCombo")
        self.preset_combo.addItem("Presets…", None)
        for name in available_presets():
            self.preset_combo.addItem(name, name)
            try:
                description = load_preset(name).get("description", "")
            except ConfigError:
                description = ""
            self.preset_combo.setItemData(self.preset_combo.count() - 1, description,
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.activated.connect(self._on_preset_combo_activated)
        layout.addWidget(self.preset_combo)

        self.table = QTableWidget(0, 2, objectName="dataTable")
        self.table.setHorizontalHeaderLabels(["x", "y"])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.itemChanged.connect(self._on_table_item_changed)
        layout.addWidget(self.table)

        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add point", objectName="addPointButton")
        self.delete_button = QPushButton("Delete", objectName="deletePointButton")
        self.import_button = QPushButton("Import CSV…", objectName="importCsvButton")
        for button in (self.add_button, self.delete_button, self.import_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self.add_point)
        self.delete_button.clicked.connect(self.delete_selected)
        self.import_button.clicked.connect(self._on_import_button_clicked)

    def set_points(self, x: tuple[float, ...], y: tuple[float, ...]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(len(x))
        for row, (xv, yv) in enumerate(zip(x, y, strict=True)):
            self.table.setItem(row, 0, QTableWidgetItem(f"{xv:g}"))
            self.table.setItem(row, 1, QTableWidgetItem(f"{yv:g}"))
        self.table.blockSignals(False)

    def points(self) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
        """The table's numbers, or None (with the bad cells marked) if any cell is not one."""
        # Colouring cells fires itemChanged: without the blocker this re-enters _emit_points and
        # a nested reset replaces the items this loop is still reading.
        blocker = QSignalBlocker(self.table)  # noqa: F841 (unblocks when it goes out of scope)
        columns: list[list[float]] = [[], []]
        bad = []
        for row in range(self.table.rowCount()):
            for column in (0, 1):
                item = self.table.item(row, column)
                text = item.text().strip() if item is not None else ""
                try:
                    value = float(text)
                    if not math.isfinite(value):
                        raise ValueError
                except ValueError:
                    bad.append((row, column, text))
                    if item is not None:
                        item.setBackground(QColor("#FFD0C0"))
                    continue
                if item is not None:
                    item.setBackground(QColor(0, 0, 0, 0))
                columns[column].append(value)
        if bad:
            row, column, text = bad[0]
            name = "xy"[column]
            self.invalid.emit(f"row {row + 1}, {name}: {text!r} is not a finite number; "
                              "the run keeps the last valid data")
            return None
        return tuple(columns[0]), tuple(columns[1])

    def add_point(self) -> None:
        current = self.points()
        if current is None:
            return
        x, y = current
        # Continue the pattern of the last two points, so "Add" makes sense on a line.
        if len(x) >= 2:
            new_x, new_y = 2 * x[-1] - x[-2], 2 * y[-1] - y[-2]
        elif x:
            new_x, new_y = x[-1] + 1, y[-1]
        else:
            new_x, new_y = 1.0, 1.0
        self.set_points((*x, new_x), (*y, new_y))
        self._emit_points()

    def delete_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.rowCount():
            rows = [self.table.rowCount() - 1]
        self.table.blockSignals(True)
        for row in rows:
            self.table.removeRow(row)
        self.table.blockSignals(False)
        self._emit_points()

    def import_csv(self, path: Path) -> None:
        try:
            x, y = read_points_csv(path)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            self.invalid.emit(f"cannot import {path.name}: {error}")
            return
        self.set_points(x, y)
        self._emit_points()

    def _on_table_item_changed(self, _item: QTableWidgetItem) -> None:
        self._emit_points()

    def _emit_points(self) -> None:
        points = self.points()
        if points is not None:
            self.data_edited.emit(*points)

    def _on_import_button_clicked(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Import points", "",
                                              "CSV files (*.csv);;All files (*)")
        if name:
            self.import_csv(Path(name))

    def _on_preset_combo_activated(self, index: int) -> None:
        name = self.preset_combo.itemData(index)
        self.preset_combo.setCurrentIndex(0)
        if name:
            self.preset_chosen.emit(name)


def read_points_csv(path: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Two numeric columns x, y; an optional header row; a clear ValueError otherwise."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise ValueError("the file is empty")
    x: list[float] = []
    y: list[float] = []
    for number_, row in enumerate(rows, start=1):
        if len(row) < 2:
            raise ValueError(f"line {number_} has {len(row)} column(s); expected x,y")
        try:
            xv, yv = float(row[0]), float(row[1])
        except ValueError:
            if number_ == 1:
                continue  # a header such as "x,y"
            raise ValueError(f"line {number_}: {row[0]!r}, {row[1]!r} are not numbers") from None
        if not (math.isfinite(xv) and math.isfinite(yv)):
            raise ValueError(f"line {number_}: values must be finite")
        x.append(xv)
        y.append(yv)
    if not x:
        raise ValueError("no numeric rows found")
    return tuple(x), tuple(y)


class StepPanel(QTextEdit):
    """The epoch under the cursor written out: forward pass, loss, gradient, update."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(objectName="stepPanel", readOnly=True)
        self.model = model
        self.setFont(QFont("DejaVu Sans Mono", 12))

    def refresh(self) -> None:
        self.setHtml(step_html(self.model))


def step_html(model: RunModel) -> str:
    config, history, epoch = model.config, model.history, model.cursor
    title = f"<h3>{TRAINER_TITLES[config.trainer]}</h3>"
    if history is None:
        return title + "<p>Preparing the run…</p>"
    x = np.array(config.x, dtype=np.float32)
    names = config.param_names
    if epoch == 0:
        start = ", ".join(f"{n} = {number(v)}" for n, v in zip(names, history.initial_params,
                                                                 strict=True))
        return title + f"<p>Epoch 0: start at {start}.<br>Step (→) runs epoch 1.</p>"
    before = history.params_at(epoch - 1)
    after = history.params_at(epoch)
    row = history.row(epoch)
    w = before[0]
    with np.errstate(all="ignore"):
        y_pred = np.float32(w) * x + (np.float32(before[1]) if config.has_bias else np.float32(0))
    if config.has_bias:
        forward = f"y_pred = w·x + b = {number(w)}·x + {signed(before[1])}"
    else:
        forward = f"y_pred = w·x = {number(w)} × x"
    lines = [f"<b>Epoch {epoch} of {config.epochs}</b>",
             "<b>Forward</b>",
             f"  {forward}",
             f"  = {vector(y_pred)}",
             "<b>Loss</b>",
             "  L = mean((y_pred − y)²)",
             f"    = {row['loss']:.8f}",
             "<b>Gradient</b>"]
    if config.trainer == "numpy" and config.gradient != "mean":
        lines.append("  dot(2x, y_pred − y)")
        lines.append("  (the notebook's: N × the MSE gradient)")
    elif config.trainer == "numpy":
        lines.append("  dot(2x, y_pred − y) / N")
    elif config.trainer == "autograd":
        lines.append("  l.backward() → w.grad")
    else:
        lines.append("  l.backward() → weight.grad, bias.grad")
    for name in names:
        lines.append(f"  dL/d{name} = {number(row['grad_' + name])}")
    lines.append("<b>Update</b>  θ ← θ − lr × dL/dθ")
    for index, name in enumerate(names):
        lines.append(f"  {name} ← {number(before[index])} − {config.lr:g} × "
                     f"{signed(row['grad_' + name])} = {number(after[index])}")
    body = "<br>".join(line.replace("  ", "&nbsp;&nbsp;") for line in lines)
    return title + f"<p>{body}</p>"


class LogPanel(QPlainTextEdit):
    """The notebook's printed lines for this run, up to the epoch under the cursor."""

    MAX_LINES = 5000  # scrollback kept while stepping
    JUMP_LINES = 40  # more than the panel shows; more would only cost time while playing

    def __init__(self, model: RunModel) -> None:
        super().__init__(objectName="logPanel", readOnly=True)
        self.model = model
        self.setFont(QFont("DejaVu Sans Mono", 11))
        self.setMaximumBlockCount(self.MAX_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._shown_until = -1
        self._shown_after = False

    def rebuild(self) -> None:
        self.clear()
        self._shown_until = -1
        self._shown_after = False
        self.refresh()

    def refresh(self) -> None:
        model = self.model
        if model.history is None:
            return
        cursor = model.cursor
        if cursor < self._shown_until or self._shown_after:
            self.clear()  # the cursor went back: rewrite up to it
            self._shown_until = -1
            self._shown_after = False
        # A jump (seek, fast play) writes only about a screenful: formatting and appending
        # thousands of lines per frame would stall the window.
        start = max(self._shown_until + 1, 1, cursor - self.JUMP_LINES * model.config.log_every)
        lines = list(model.iter_log_lines(start, cursor)) if cursor >= start else []
        if self._shown_until < 0 and model.before_line:
            lines.insert(0, model.before_line)  # the notebook prints it before epoch 1
        if lines:
            self.appendPlainText("\n".join(lines))
        self._shown_until = max(self._shown_until, cursor)
        if model.after_line and cursor == model.epochs_recorded and model.state == "finished":
            self.appendPlainText(model.after_line)
            self._shown_after = True
