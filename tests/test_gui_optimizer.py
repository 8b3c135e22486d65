"""The optimizer in the window (pytest-qt): the optimizer box and its hyperparameter fields, the
code panel's update lines with the optimizer's state, the step panel's m and v, the numbers
against bare torch.optim / numpy loops, and keys pressed at impolite moments.

The first section tests, without Qt, what the panels show: the optimizer's state replayed from
the History (gdviz.core.explain) equals the state every record carried, bit for bit, and the
cell with an optimizer's lines (gdviz.core.cells) runs and prints what the trainer records.
"""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import numpy as np
import pytest
import torch
from gui_helpers import find, message
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QPlainTextEdit,
    QScrollArea,
    QTextEdit,
)

from gdviz.core import explain, transcript
from gdviz.core.cells import (
    cell_for,
    current_line,
    current_lines,
    inline_values,
    notebook_cell,
    refused_line,
)
from gdviz.core.config import RunConfig, build_config
from gdviz.core.explain import explain_epoch, explain_update, replay_progress
from gdviz.core.history import History
from gdviz.core.optimizers import OPTIMIZER_NAMES
from gdviz.core.phases import Phase
from gdviz.core.registry import TRAINERS
from gdviz.core.trainers import make_trainer
from gdviz.ui.formatting import number

TORCH_TIMEOUT = 30_000

# One configuration per optimizer, with the settings that change its update's lines.
OPTIMIZER_SETTINGS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1},
    "adam": {},
    "adamw": {"amsgrad": True},
    "rmsprop": {"centered": True, "momentum": 0.5, "weight_decay": 0.1},
    "adagrad": {"lr_decay": 0.1, "weight_decay": 0.01, "initial_accumulator": 0.5},
}
# The fields each optimizer shows (and no other hyperparameter field).
FIELDS = {
    "sgd": {"momentumSpin", "dampeningSpin", "nesterovCheck", "weightDecaySpin"},
    "adam": {"beta1Spin", "beta2Spin", "epsSpin", "weightDecaySpin", "amsgradCheck"},
    "adamw": {"beta1Spin", "beta2Spin", "epsSpin", "weightDecaySpin", "amsgradCheck"},
    "rmsprop": {"alphaSpin", "epsSpin", "weightDecaySpin", "momentumSpin", "centeredCheck"},
    "adagrad": {"lrDecaySpin", "weightDecaySpin", "initialAccumulatorSpin", "epsSpin"},
}
ALL_FIELDS = set().union(*FIELDS.values())


def recorded(config: RunConfig, epochs: int) -> tuple[History, list[Any]]:
    """`epochs` epochs of `config`: the History the window keeps, and every record."""
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    records = []
    for _ in range(epochs):
        record = trainer.step()
        history.append(record)
        records.append(record)
    return history, records


# --- the core under the panels (no Qt) ----------------------------------------------------------

@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_the_replayed_state_is_the_recorded_state_bit_for_bit(trainer, optimizer):
    config = build_config(trainer).replace(optimizer=optimizer, **OPTIMIZER_SETTINGS[optimizer])
    history, records = recorded(config, 300)
    # Forward, back to earlier epochs (from a checkpoint), across checkpoints, to the end.
    for epoch in (1, 2, 3, 150, 64, 65, 129, 300, 299, 1):
        update = explain_update(config, history, epoch, budget_s=math.inf)
        assert update is not None and update.state == records[epoch - 1].optimizer_state, epoch
        assert not update.pending and not update.missing
    assert replay_progress(config, history) == 300


def test_plain_sgd_has_no_update_to_explain():
    config = build_config("numpy")
    history, _ = recorded(config, 2)
    assert explain_update(config, history, 1) is None
    assert explain_epoch(config, history, 1).title == config.spec.title
    # Momentum 0 and no weight decay is plain SGD whatever its other settings say.
    same = config.replace(dampening=0.5)
    assert cell_for(same).lines == notebook_cell("numpy")


def test_a_long_replay_goes_a_slice_at_a_time_and_says_so():
    config = build_config("numpy").replace(optimizer="adam")
    history, records = recorded(config, 5000)
    update = explain_update(config, history, 5000, budget_s=0.0)
    assert update is not None and update.state is None and update.pending
    assert "Replaying the optimizer's state" in update.missing
    done = replay_progress(config, history)
    assert 0 < done < 5000
    while update is not None and update.pending:
        update = explain_update(config, history, 5000, budget_s=0.0)
        assert replay_progress(config, history) > done  # every call gets further
        done = replay_progress(config, history)
    assert update is not None and update.state == records[-1].optimizer_state


def test_a_state_too_far_to_replay_is_said_in_words(monkeypatch):
    config = build_config("numpy").replace(optimizer="adam")
    history, _ = recorded(config, 3000)
    explain_update(config, history, 100, budget_s=math.inf)  # measures the speed
    monkeypatch.setattr(explain, "REPLAY_LIMIT_S", 1e-9)
    update = explain_update(config, history, 3000)
    assert update is not None and update.state is None and not update.pending
    assert "would take too long" in update.missing and "replayed up to epoch 100" in update.missing


def test_a_replay_keeps_no_history_alive():
    """The replays are kept per History, weakly: a dropped run frees its History at once."""
    import weakref

    config = build_config("numpy").replace(optimizer="adam")
    history, _ = recorded(config, 5)
    assert explain_update(config, history, 3) is not None
    dropped = weakref.ref(history)
    del history
    assert dropped() is None  # by reference counting, no garbage collection needed


def run_cell(lines: tuple[str, ...], namespace: dict[str, Any]) -> list[str]:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile("\n".join(lines), "<cell>", "exec"), namespace)
    return printed.getvalue().removesuffix("\n").split("\n")


def namespace_of(config: RunConfig) -> dict[str, Any]:
    """The notebook's earlier cells for `config`'s trainer (see tests/test_cells.py)."""
    if config.trainer == "numpy":
        namespace: dict[str, Any] = {"np": np, "X": np.array(config.x, dtype=np.float32),
                                     "Y": np.array(config.y, dtype=np.float32), "w": 0.0}
        exec("def forward(x):\n    return np.float32(w) * x\n"
             "def loss(y, y_predicted):\n    return((y_predicted-y)**2).mean()\n"
             "def gradient(x,y,y_predicted):\n"
             "    return float(np.dot(2*x, y_predicted-y).mean())\n", namespace)
        return namespace
    if config.trainer == "autograd":
        namespace = {"torch": torch, "X": torch.tensor(config.x, dtype=torch.float32),
                     "Y": torch.tensor(config.y, dtype=torch.float32),
                     "w": torch.tensor(0.0, dtype=torch.float32, requires_grad=True)}
        exec("def forward(x):\n    return w * x\n"
             "def loss(y, y_predicted):\n    return((y_predicted-y)**2).mean()\n", namespace)
        return namespace
    from torch import nn

    torch.manual_seed(config.seed)
    return {"torch": torch, "nn": nn, "model": nn.Linear(1, 1),
            "X": torch.tensor(config.x, dtype=torch.float32).reshape(-1, 1),
            "Y": torch.tensor(config.y, dtype=torch.float32).reshape(-1, 1),
            "X_test": torch.tensor([config.x_test], dtype=torch.float32)}


@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_the_cell_with_the_optimizers_lines_prints_what_the_trainer_records(trainer, optimizer):
    config = build_config(trainer).replace(optimizer=optimizer, **OPTIMIZER_SETTINGS[optimizer])
    printed = run_cell(cell_for(config).lines, namespace_of(config))
    history, _ = recorded(config, config.epochs)
    loss, w = history.column("loss"), history.column("w")
    logged = [transcript.format_epoch(trainer, e, float(w[e - 1]), float(loss[e - 1]))
              for e in range(1, config.epochs + 1) if transcript.is_logged(e, config.log_every)]
    assert printed[:-1] == logged


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
@pytest.mark.parametrize("optimizer", ["adamw", "adam", "sgd"])
def test_without_no_grad_torch_refuses_on_the_line_the_panel_marks(trainer, optimizer):
    """The update_with_grad lesson: the cell written with the optimizer's lines raises torch's
    error on the line the code panel shows it on (AdamW: its decay, before the update)."""
    import traceback

    config = build_config(trainer, explicit={"update_with_grad": True}).replace(
        optimizer=optimizer, **({"momentum": 0.9} if optimizer == "sgd" else {}))
    cell = cell_for(config)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad") as raised:
        run_cell(cell.lines, namespace_of(config))
    frame = [f for f in traceback.extract_tb(raised.value.__traceback__)
             if f.filename == "<cell>"][-1]
    assert frame.lineno is not None
    assert current_line(config, 0, None, "RuntimeError: …") == frame.lineno - 1
    assert refused_line(cell) == frame.lineno - 1


@pytest.mark.parametrize("trainer", TRAINERS)
def test_the_update_phase_is_the_optimizers_lines_with_their_values(trainer):
    config = build_config(trainer).replace(optimizer="adam")
    cell = cell_for(config)
    history, records = recorded(config, 2)
    assert cell.phase_lines[Phase.UPDATE] == cell.update_lines[-1]
    assert current_lines(config, 1, Phase.UPDATE) == cell.update_lines
    assert current_lines(config, 1, Phase.LOSS) == (cell.phase_lines[Phase.LOSS],)
    update = explain_update(config, history, 1)
    values = inline_values(config, explain_epoch(config, history, 1), Phase.UPDATE,
                           update=update)
    state = records[0].optimizer_state
    m = [number(state.value("exp_avg", i)) for i in range(len(state.values))]
    shown = " ".join(values[i] for i in cell.update_lines if i in values)
    for text in m:
        assert text in shown
    # Before the update phase the optimizer's lines have no values yet.
    before = inline_values(config, explain_epoch(config, history, 1), Phase.BACKWARD,
                           update=update)
    assert not set(before) & set(cell.update_lines)


# --- the window ---------------------------------------------------------------------------------

def combo(window) -> QComboBox:
    return find(window, QComboBox, "optimizerCombo")


def choose(qtbot, window, optimizer: str, timeout: int = 15_000) -> None:
    """Pick `optimizer` in the box, as a user does; wait for the new run to be ready."""
    box = combo(window)
    box.setCurrentIndex(box.findData(optimizer))
    qtbot.waitUntil(lambda: window.model.config.optimizer == optimizer
                    and window.model.state == "ready", timeout=timeout)
    window._on_model_updated()


def shown_fields(window) -> set[str]:
    found = {w.objectName() for cls in (QDoubleSpinBox, QCheckBox) for w in window.findChildren(cls)
             if w.objectName() in ALL_FIELDS and w.isVisibleTo(window.controls)}
    return found


def step_to(qtbot, window, epoch: int) -> None:
    """Whole epochs forward (→) up to `epoch`, then let the panels follow."""
    model = window.model
    while model.cursor < epoch:
        target = model.cursor + 1
        model.step()
        qtbot.waitUntil(lambda: model.cursor >= target, timeout=10_000)  # noqa: B023
    qtbot.waitUntil(lambda: model.state in ("paused", "finished"), timeout=10_000)
    settle(qtbot, window)


def settle(qtbot, window) -> None:
    """Let every panel follow (the code panel waits until the run is at rest)."""
    window._on_model_updated()
    qtbot.waitUntil(lambda: _state_shown(window), timeout=10_000)


def _state_shown(window) -> bool:
    window._on_model_updated()
    return "Replaying" not in code_text(window) + step_text(window)


def code_text(window) -> str:
    return find(window, QPlainTextEdit, "codePanel").toPlainText()


def step_text(window) -> str:
    return find(window, QTextEdit, "stepPanel").toPlainText()


def sub_step(qtbot, window, key=Qt.Key.Key_Down) -> None:
    before = (window.model.cursor, window.model.phase)
    qtbot.keyClick(window.plots_area, key)
    qtbot.waitUntil(lambda: (window.model.cursor, window.model.phase) != before, timeout=10_000)
    window._on_model_updated()


def bare_adam_nn(config: RunConfig, epochs: int) -> tuple[Any, Any]:
    """The notebook's nn cell with torch.optim.Adam, nothing of gdviz: its model and optimizer."""
    from torch import nn

    torch.manual_seed(config.seed)
    model = nn.Linear(1, 1)
    x = torch.tensor(config.x, dtype=torch.float32).reshape(-1, 1)
    y = torch.tensor(config.y, dtype=torch.float32).reshape(-1, 1)
    loss = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in range(epochs):
        y_pred = model(x)
        l = loss(y, y_pred)  # noqa: E741  # the notebook's name
        l.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model, optimizer


def test_adam_in_the_box_restarts_nn_with_torch_optims_numbers(qtbot, make_window):
    window = make_window(build_config("nn"), timeout=TORCH_TIMEOUT)
    assert combo(window).currentData() == "sgd"
    assert [combo(window).itemData(i) for i in range(combo(window).count())] == list(
        OPTIMIZER_NAMES)
    action = window.findChild(type(window.action_step), "actionStep")
    action.trigger()
    qtbot.waitUntil(lambda: window.model.cursor == 1, timeout=TORCH_TIMEOUT)
    choose(qtbot, window, "adam", TORCH_TIMEOUT)
    assert window.model.cursor == 0  # a fresh run
    assert "Adam" in message(window)
    step_to(qtbot, window, 5)
    model, optimizer = bare_adam_nn(window.model.config, 5)
    weight, bias = model.weight.item(), model.bias.item()
    assert window.model.history.params_at(5) == (weight, bias)  # bit for bit
    # What the panels show is those numbers: the parameters, torch's own m and v.
    state = [optimizer.state[p] for p in (model.weight, model.bias)]
    m = [s["exp_avg"].item() for s in state]
    v = [s["exp_avg_sq"].item() for s in state]
    code = code_text(window)
    assert "optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)" in code
    assert "torch.optim.SGD" not in code
    step_line = next(line for line in code.split("\n") if "optimizer.step()" in line)
    assert f"w = {number(weight)}, b = {number(bias)}" in step_line
    assert f"exp_avg = ({number(m[0])}, {number(m[1])})" in step_line
    assert f"exp_avg_sq = ({number(v[0])}, {number(v[1])})" in step_line
    assert "step = 5" in step_line
    text = step_text(window)
    assert "Update: Adam" in text and "torch.nn Linear + Adam" in text
    for value in (*m, *v, weight, bias):
        assert number(value) in text, value


def bare_adam_numpy(config: RunConfig, epochs: int) -> tuple[float, float, float]:
    """The notebook's numpy cell with Adam written out in float64 from torch's docs: w, m, v."""
    x = np.array(config.x, dtype=np.float32)
    y = np.array(config.y, dtype=np.float32)
    w, m, v = 0.0, 0.0, 0.0
    beta1, beta2, eps, lr = 0.9, 0.999, 1e-8, config.lr
    for t in range(1, epochs + 1):
        y_pred = np.float32(w) * x
        g = float(np.dot(2 * x, y_pred - y).mean())
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        w -= lr * m_hat / (math.sqrt(v_hat) + eps)
    return w, m, v


def test_adam_on_the_numpy_cell_sub_steps_to_its_update_lines(qtbot, focused):
    window, model = focused, focused.model
    choose(qtbot, window, "adam")
    for _ in range(4):
        sub_step(qtbot, window)
    assert (model.cursor, model.phase) == (1, Phase.UPDATE)
    settle(qtbot, window)
    panel = find(window, QPlainTextEdit, "codePanel")
    cell = cell_for(model.config)
    # Every line of Adam's update is marked; the cursor is on the one that changes w.
    assert panel.current_lines == cell.update_lines
    assert len(panel.extraSelections()) == len(cell.update_lines)
    assert panel.textCursor().blockNumber() == cell.update_lines[-1]
    lines = [panel.document().findBlockByNumber(i).text() for i in cell.update_lines]
    w, m, v = bare_adam_numpy(model.config, 1)
    assert lines[0] == "    step += 1   # step = 1"
    assert lines[1].endswith(f"# exp_avg = {number(m)}") and "−12.000" in lines[1]
    assert lines[2].endswith(f"# exp_avg_sq = {number(v)}") and "14.400" in lines[2]
    assert lines[-1] == ("    w -= learning_rate / bias_correction1 * exp_avg / denom"
                         f"   # w = {number(w)}")
    text = step_text(window)
    assert "▶ Update: Adam (now)" in text
    assert "m ← β₁·m + (1 − β₁)·dw" in text and f"= {number(m)}" in text
    assert "v ← β₂·v + (1 − β₂)·dw²" in text and f"= {number(v)}" in text
    assert "1 − β₁ᵗ = 0.100" in text and "t = 1" in text
    assert "Δw = +0.010 (the effective step)" in text
    # Whole epochs further on: the numbers are the bare loop's (float64, as torch's docs).
    step_to(qtbot, window, 10)
    w, m, v = bare_adam_numpy(model.config, 10)
    assert model.history.params_at(10)[0] == pytest.approx(w, rel=1e-12)
    text = step_text(window)
    assert f"= {number(m)}" in text and f"= {number(v)}" in text
    assert f"# w = {number(w)}" in code_text(window)


def test_back_to_sgd_is_the_notebooks_cell_and_numbers_again(qtbot, focused):
    window, model = focused, focused.model
    choose(qtbot, window, "rmsprop")
    assert "alpha" in code_text(window)
    choose(qtbot, window, "sgd")
    assert code_text(window) == "\n".join(notebook_cell("numpy"))
    for _ in range(4):
        sub_step(qtbot, window)
    assert model.phase is Phase.UPDATE
    line = find(window, QPlainTextEdit, "codePanel").textCursor().block().text()
    assert line == "    w -= learning_rate * dw   # w = 1.200"
    text = step_text(window)
    assert "Update w ← w − lr × dw" in text and "− 0.01 × (−120.000)" in text
    assert "= 1.200" in text and "Adam" not in text and "RMSprop" not in text


@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_each_optimizer_shows_its_own_fields_with_tooltips(qtbot, window, optimizer):
    choose(qtbot, window, optimizer)
    assert shown_fields(window) == FIELDS[optimizer]
    for name in FIELDS[optimizer]:
        field = window.findChild((QDoubleSpinBox, QCheckBox)[name.endswith("Check")], name)
        assert field.toolTip(), name
    spec = window.model.config.optimizer_spec
    assert combo(window).currentText() == spec.title


def test_a_hyperparameter_typed_in_applies_and_hands_the_keys_back(qtbot, focused):
    window, model = focused, focused.model
    spin = find(window, QDoubleSpinBox, "momentumSpin")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "0.9")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: model.config.momentum == 0.9 and model.state == "ready",
                    timeout=5000)
    assert model.config.optimizer == "sgd" and model.cursor == 0
    assert spin.text() == "0.9"
    assert "momentum 0.0 → 0.9" in message(window)
    qtbot.waitUntil(lambda: not spin.hasFocus(), timeout=2000)
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Right)  # the arrows drive the run again
    qtbot.waitUntil(lambda: model.cursor == 1, timeout=5000)
    window._on_model_updated()
    assert "velocity ← dw = −120.000" in step_text(window)
    assert "momentum_buffer = dw if momentum_buffer is None" in code_text(window)


def test_betas_and_eps_apply_as_typed(qtbot, window):
    choose(qtbot, window, "adam")
    model = window.model
    find(window, QDoubleSpinBox, "beta1Spin").setValue(0.8)
    qtbot.waitUntil(lambda: model.config.betas == (0.8, 0.999), timeout=5000)
    eps = find(window, QDoubleSpinBox, "epsSpin")
    assert eps.text() == "1e-08"
    eps.stepBy(1)  # Up multiplies by 10
    qtbot.waitUntil(lambda: model.config.eps == 1e-07, timeout=5000)
    assert eps.text() == "1e-07"


def test_nesterov_without_momentum_is_refused_in_words_and_kept(qtbot, window):
    model = window.model
    check = find(window, QCheckBox, "nesterovCheck")
    check.click()
    qtbot.waitUntil(lambda: "Nesterov needs momentum greater than 0" in message(window),
                    timeout=2000)
    assert "--" not in message(window)  # the window's words, not the CLI's options
    assert check.isChecked()  # what the user ticked stays ticked
    assert model.config.nesterov is False and model.config.momentum == 0.0
    find(window, QDoubleSpinBox, "momentumSpin").setValue(0.9)
    qtbot.waitUntil(lambda: model.config.momentum == 0.9, timeout=5000)
    assert model.config.nesterov is True  # both applied
    qtbot.waitUntil(lambda: model.state == "ready", timeout=5000)
    assert check.isChecked()


def test_betas_of_one_are_refused_in_words(qtbot, window):
    choose(qtbot, window, "adam")
    beta2 = find(window, QDoubleSpinBox, "beta2Spin")
    beta2.setValue(1.0)
    qtbot.waitUntil(lambda: "betas must each be in [0, 1)" in message(window), timeout=2000)
    assert beta2.value() == 1.0 and window.model.config.betas == (0.9, 0.999)


def test_space_in_the_focused_optimizer_box_plays(qtbot, focused):
    window, model = focused, focused.model
    box = combo(window)
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    qtbot.keyClick(box, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: model.state == "playing", timeout=2000)  # the window's Space
    assert not box.view().isVisible() and model.config.optimizer == "sgd"  # not the box's
    # Shortcuts reach only the active window. In the full suite this window sometimes was not
    # by now (twice in CI, never alone): the second Space then went to the box, and the run
    # never paused. A user's key goes to the window they are in, so it is made active again.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    qtbot.keyClick(window.focusWidget(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: model.state in ("paused", "finished"), timeout=5000)


def test_down_in_the_focused_optimizer_box_chooses_not_sub_steps(qtbot, focused):
    window, model = focused, focused.model
    box = combo(window)
    box.setFocus()
    qtbot.waitUntil(box.hasFocus, timeout=2000)
    qtbot.keyClick(box, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: model.config.optimizer == "adam" and model.state == "ready",
                    timeout=5000)
    assert model.phase is None and model.cursor == 0


@pytest.mark.parametrize("optimizer", ["adagrad", "rmsprop", "adam"])
def test_the_settings_fit_a_1024_by_768_screen_with_any_optimizer(qtbot, make_window,
                                                                  optimizer):
    window = make_window()
    window.resize(1024, 740)
    width = window.controls.minimumSizeHint().width()
    choose(qtbot, window, optimizer)
    qtbot.wait(50)
    assert window.controls.minimumSizeHint().width() == width  # the column never widens
    scroll = window.settings_dock.widget()
    assert isinstance(scroll, QScrollArea)
    assert scroll.horizontalScrollBar().maximum() == 0  # nothing hidden sideways


def test_up_in_a_focused_hyperparameter_field_edits_it_not_the_run(qtbot, focused):
    window, model = focused, focused.model
    spin = find(window, QDoubleSpinBox, "momentumSpin")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    qtbot.keyClick(spin, Qt.Key.Key_Up)  # the field's step, not a sub-step back
    qtbot.waitUntil(lambda: model.config.momentum == 0.1 and model.state == "ready",
                    timeout=5000)
    assert model.phase is None and model.cursor == 0
    qtbot.keyClick(spin, Qt.Key.Key_Escape)  # hands the keys back to the run
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: model.phase is Phase.FORWARD, timeout=5000)


def test_with_an_optimizer_the_plots_show_its_real_step_and_the_closed_forms_say_plain_sgd(
        qtbot, make_window):
    from gdviz.core.config import build_config
    from gdviz.core.phases import Phase

    window = make_window(build_config("numpy", {"optimizer": "adam", "lr": 0.1}))
    model = window.model
    model.step()
    qtbot.waitUntil(lambda: model.cursor == 1, timeout=10_000)
    model.seek(0)
    while (model.cursor, model.phase) != (1, Phase.UPDATE):
        model.sub_step()
        qtbot.waitUntil(lambda: model.phase is not None, timeout=5000)
    window._on_model_updated()
    change = model.history.params_at(1)[0] - model.history.params_at(0)[0]
    label = window.surface_plot.step_arrow.label.toPlainText()
    assert label.startswith("Adam step Δw = ")
    assert f"{change:+.3f}".replace("-", "−") in label  # Adam's step, not −lr × grad
    assert "for plain SGD" in window.controls.critical_label.text()
    assert window.controls.contraction_label.text().count("with plain SGD") == 1
    assert window.windowTitle() == "gdviz — NumPy, manual gradient + Adam"
