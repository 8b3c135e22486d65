"""The notebook's training cells (gdviz.core.cells): verbatim, their lessons, their live values.

No Qt. Histories come from the real trainers; the cells themselves are run with the notebook's
helper definitions to show they are the notebook's code, lessons included.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdviz.core import transcript
from gdviz.core.cells import (
    ANNOTATION_SEPARATOR,
    annotated_lines,
    array_text,
    cell_for,
    current_line,
    find_statement,
    inline_values,
    notebook_cell,
    without_no_grad,
    without_zero_grad,
)
from gdviz.core.config import RunConfig, build_config
from gdviz.core.explain import explain_epoch
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.registry import SPECS, TRAINERS
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_b876043a2516e00d.txt"
NOTEBOOK_CELLS = {"numpy": 10, "autograd": 16, "nn": 34}  # the training cells' In [n]
LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation"


def trained(config: RunConfig, epochs: int) -> History:
    """`epochs` epochs of `config` in a history that keeps the forward pass, as the window's."""
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    train(trainer, epochs, history)
    return history


def values_at(config: RunConfig, history: History, epoch: int,
              phase: Phase | None) -> dict[str, str]:
    """The inline values at (epoch, phase), keyed by the stripped line they annotate."""
    cell = cell_for(config)
    values = inline_values(config, explain_epoch(config, history, epoch), phase)
    return {cell.lines[i].strip(): text for i, text in values.items()}


def configs() -> list[RunConfig]:
    """Every trainer with every combination of the lessons it can show."""
    found = []
    for name in TRAINERS:
        lessons = SPECS[name].lessons
        for forget in (False, True) if "forget_zero_grad" in lessons else (False,):
            for update in (False, True) if "update_with_grad" in lessons else (False,):
                found.append(build_config(name, explicit={"forget_zero_grad": forget,
                                                          "update_with_grad": update}))
    return found


def config_id(config: RunConfig) -> str:
    lessons = [name for name in ("forget_zero_grad", "update_with_grad") if getattr(config, name)]
    return "+".join([config.trainer, *lessons])


# --- the cells are the notebook's ----------------------------------------------------------------

def seed_cell(text: str, number: int) -> str:
    """The code of the seed notebook's cell In [number], without its printed output.

    A cell runs up to the next cell or markdown heading; the training cells print, so their
    last paragraph is the output (lines starting "epoch " or "prediction ").
    """
    start = text.index(f"In [{number}]:\n") + len(f"In [{number}]:\n")
    after = re.compile(r"\nIn \[\d+\]:\n|\n#{1,6} ").search(text, start)
    body = text[start: after.start() if after else len(text)].rstrip("\n")
    *code, output = body.split("\n\n")
    assert all(line.startswith(("epoch ", "prediction ")) for line in output.split("\n"))
    return "\n\n".join(code)


@pytest.mark.skipif(not SEED.is_file(), reason="the seed notebook is not on this machine")
@pytest.mark.parametrize("name", TRAINERS)
def test_shipped_cell_is_the_notebooks_cell_verbatim(name: str) -> None:
    notebook = seed_cell(SEED.read_text(encoding="utf-8"), NOTEBOOK_CELLS[name])
    assert "\n".join(notebook_cell(name)) == notebook


@pytest.mark.parametrize("name", ["autograd", "nn"])
def test_shipped_torch_cells_keep_the_notebooks_stray_whitespace(name: str) -> None:
    """An editor or `ruff --fix` stripping trailing spaces would quietly change the cell."""
    lines = notebook_cell(name)
    assert "    " in lines and "    # zero gradients. " in lines


def run_cell(lines: tuple[str, ...], namespace: dict[str, Any]) -> list[str]:
    """Execute a cell in `namespace` (the notebook's earlier cells); its printed lines."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile("\n".join(lines), "<cell>", "exec"), namespace)
    return printed.getvalue().removesuffix("\n").split("\n")


def numpy_namespace() -> dict[str, Any]:
    """The notebook's In [4]–[8]: data, w = 0.0, forward, loss, gradient.

    The notebook ran on NumPy 1.x, where `w -= learning_rate * dw` made w a float64 and the
    forward pass stayed float32; NumPy 2 (NEP 50) would keep w in float32. The helpers spell
    NumPy 1's dtypes out, as gdviz's NumpyTrainer does; the cell itself runs unchanged.
    """
    namespace: dict[str, Any] = {"np": np, "X": np.array([1, 2, 3, 4], dtype=np.float32),
                                 "Y": np.array([2, 4, 6, 8], dtype=np.float32), "w": 0.0}
    exec("def forward(x):\n    return np.float32(w) * x\n"
         "def loss(y, y_predicted):\n    return((y_predicted-y)**2).mean()\n"
         "def gradient(x,y,y_predicted):\n"
         "    return float(np.dot(2*x, y_predicted-y).mean())\n",
         namespace)
    return namespace


def autograd_namespace() -> dict[str, Any]:
    """The notebook's In [12]–[15]: tensors, w with requires_grad, forward, loss."""
    import torch

    namespace: dict[str, Any] = {
        "torch": torch, "X": torch.tensor([1, 2, 3, 4], dtype=torch.float32),
        "Y": torch.tensor([2, 4, 6, 8], dtype=torch.float32),
        "w": torch.tensor(0.0, dtype=torch.float32, requires_grad=True)}
    exec("def forward(x):\n    return w * x\n"
         "def loss(y, y_predicted):\n    return((y_predicted-y)**2).mean()\n", namespace)
    return namespace


def nn_namespace() -> dict[str, Any]:
    """The notebook's In [17]–[22], with the seed the reference output was made with."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return {"torch": torch, "nn": nn, "model": nn.Linear(1, 1),
            "X": torch.tensor([[1], [2], [3], [4]], dtype=torch.float32),
            "Y": torch.tensor([[2], [4], [6], [8]], dtype=torch.float32),
            "X_test": torch.tensor([5], dtype=torch.float32)}


NAMESPACES = {"numpy": numpy_namespace, "autograd": autograd_namespace, "nn": nn_namespace}


@pytest.mark.parametrize("name", TRAINERS)
def test_shipped_cell_prints_what_the_notebook_printed(
        name: str, reference: dict[str, list[str]]) -> None:
    """Self-contained (no seed file needed): run, the shipped cell prints the notebook's lines."""
    printed = run_cell(notebook_cell(name), NAMESPACES[name]())
    expected = [line for line in reference[name] if not line.startswith("prediction before")]
    assert printed == expected


def test_the_forget_zero_grad_cell_prints_what_the_trainer_records() -> None:
    config = build_config("autograd", explicit={"forget_zero_grad": True})
    printed = run_cell(cell_for(config).lines, autograd_namespace())
    history = trained(config, config.epochs)
    loss, w = history.column("loss"), history.column("w")
    logged = [transcript.format_epoch(config.trainer, e, float(w[e - 1]), float(loss[e - 1]))
              for e in range(1, config.epochs + 1) if transcript.is_logged(e, config.log_every)]
    assert printed[:-1] == logged
    assert logged != run_cell(notebook_cell("autograd"), autograd_namespace())[:-1]


@pytest.mark.parametrize("name", ["autograd", "nn"])
def test_the_update_with_grad_cell_raises_torchs_error(name: str) -> None:
    config = build_config(name, explicit={"update_with_grad": True})
    with pytest.raises(RuntimeError, match=LEAF_ERROR):
        run_cell(cell_for(config).lines, NAMESPACES[name]())
    with pytest.raises(RuntimeError, match=LEAF_ERROR):  # and so does the trainer
        make_trainer(config).step()


# --- phases and lessons ---------------------------------------------------------------------------

STATEMENTS = {Phase.FORWARD: ("y_pred =",), Phase.LOSS: ("l = loss(",),
              Phase.BACKWARD: ("dw = gradient(", "l.backward()"),
              Phase.UPDATE: ("-= learning_rate *", "optimizer.step()"),
              Phase.ZERO_GRAD: ("w.grad.zero_()", "optimizer.zero_grad()")}


@pytest.mark.parametrize("config", configs(), ids=config_id)
def test_each_phase_has_its_line_inside_the_loop_in_order(config: RunConfig) -> None:
    cell = cell_for(config)
    assert cell.lines[cell.epoch_line] == "for epoch in range(n_iters):"
    phases = config.spec.phases
    assert set(cell.phase_lines) == set(phases)
    lines = [cell.phase_lines[phase] for phase in phases]
    assert cell.epoch_line < lines[0] and lines == sorted(set(lines))
    for phase in phases:
        line = cell.lines[cell.phase_lines[phase]]
        assert line.startswith("    "), line  # in the loop's body
        assert any(statement in line for statement in STATEMENTS[phase]), (phase, line)


@pytest.mark.parametrize("config", configs(), ids=config_id)
def test_lessons_change_only_their_own_lines(config: RunConfig) -> None:
    original = notebook_cell(config.trainer)
    changed_from: list[str] = []
    changed_to: list[str] = []
    matcher = difflib.SequenceMatcher(None, original, cell_for(config).lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            changed_from += [line.strip() for line in original[i1:i2]]
            changed_to += cell_for(config).lines[j1:j2]
    removed = set()  # lines a lesson takes out: they stay in view, commented, saying why
    dedented = set()
    if config.forget_zero_grad:
        removed.add(original[find_statement(original, Phase.ZERO_GRAD)].strip())
    if config.update_with_grad:
        update = original[find_statement(original, Phase.UPDATE)].strip()
        if update == "optimizer.step()":
            removed.add(update)
        else:
            removed.add("with torch.no_grad():")
            dedented.add(update)
    assert set(changed_from) == removed | dedented
    for line in removed:
        assert any(new.strip().startswith(f"# {line}   ← ") and new.endswith("(lesson)")
                   for new in changed_to), line
    for line in dedented:
        assert line in {new.strip() for new in changed_to}


def test_forget_zero_grad_comments_the_line_out() -> None:
    assert without_zero_grad(["for epoch in range(3):", "    w.grad.zero_()", "    pass"]) == (
        "for epoch in range(3):", "    # w.grad.zero_()   ← left out (lesson)", "    pass")
    assert without_zero_grad(["    optimizer.zero_grad()"]) == (
        "    # optimizer.zero_grad()   ← left out (lesson)",)


def test_update_with_grad_dedents_the_no_grad_block() -> None:
    lines = ["    #update", "    with torch.no_grad():", "        w -= learning_rate * w.grad",
             "", "    w.grad.zero_()"]
    assert without_no_grad(lines) == (
        "    #update", "    # with torch.no_grad():   ← left out (lesson)",
        "    w -= learning_rate * w.grad", "", "    w.grad.zero_()")


def test_update_with_grad_writes_the_optimizer_step_out() -> None:
    assert without_no_grad(["    optimizer.step()", "    optimizer.zero_grad()"]) == (
        "    # optimizer.step()   ← replaced by the update below (lesson)",
        "    for p in model.parameters():",
        "        p -= learning_rate * p.grad",
        "    optimizer.zero_grad()")


def test_an_update_outside_no_grad_is_not_a_lesson_to_give() -> None:
    with pytest.raises(ValueError, match=r"no torch\.no_grad"):
        without_no_grad(["    w -= learning_rate * dw"])


def test_a_missing_or_doubled_statement_is_an_error() -> None:
    with pytest.raises(ValueError, match="0 lines for the loss"):
        find_statement(["y_pred = forward(X)"], Phase.LOSS)
    with pytest.raises(ValueError, match="2 lines for the forward"):
        find_statement(["y_pred = forward(X)", "  y_pred = 1"], Phase.FORWARD)
    # Comments mentioning a statement are not the statement.
    assert find_statement(["# see l.backward()", "l.backward()"], Phase.BACKWARD) == 1


# --- inline values --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def numpy_run() -> tuple[RunConfig, History]:
    config = build_config("numpy")
    return config, trained(config, 3)


def test_numpy_epoch_1_phase_by_phase(numpy_run: tuple[RunConfig, History]) -> None:
    config, history = numpy_run
    forward = {"for epoch in range(n_iters):": "epoch = 0",
               "y_pred =forward(X)": "[0.000, 0.000, 0.000, 0.000]"}
    loss = {**forward, "l = loss(Y, y_pred)": "l = 30.000"}
    gradient = {**loss, "dw = gradient(X, Y, y_pred)": "dw = −120.000"}
    update = {**gradient, "w -= learning_rate * dw": "w = 1.200"}
    assert values_at(config, history, 1, Phase.FORWARD) == forward
    assert values_at(config, history, 1, Phase.LOSS) == loss
    assert values_at(config, history, 1, Phase.BACKWARD) == gradient
    assert values_at(config, history, 1, Phase.UPDATE) == update
    assert values_at(config, history, 1, None) == update  # the whole epoch


def test_numpy_later_epochs_and_the_start(numpy_run: tuple[RunConfig, History]) -> None:
    config, history = numpy_run
    assert values_at(config, history, 2, Phase.FORWARD) == {
        "for epoch in range(n_iters):": "epoch = 1",
        "y_pred =forward(X)": "[1.200, 2.400, 3.600, 4.800]"}
    assert values_at(config, history, 2, None)["w -= learning_rate * dw"] == "w = 1.680"
    assert values_at(config, history, 0, None) == {}


def test_the_values_are_the_recorded_ones_for_the_gradient_mode() -> None:
    config = build_config("numpy", explicit={"gradient": "mean"})
    values = values_at(config, trained(config, 1), 1, None)
    assert values["dw = gradient(X, Y, y_pred)"] == "dw = −30.000"
    assert values["w -= learning_rate * dw"] == "w = 0.300"


def test_autograd_backward_update_and_zero_grad() -> None:
    config = build_config("autograd")
    history = trained(config, 2)
    values = values_at(config, history, 1, Phase.BACKWARD)
    assert values["l.backward() # dl/dw gradient of loss respect to w"] == "w.grad = −30.000"
    assert "w.grad.zero_()" not in values  # not run yet
    values = values_at(config, history, 1, Phase.ZERO_GRAD)
    assert values["w -= learning_rate * w.grad"] == "w = 0.300"
    assert values["w.grad.zero_()"] == "w.grad = 0.000"


def test_forgotten_zero_grad_keeps_the_sum() -> None:
    config = build_config("autograd", explicit={"forget_zero_grad": True})
    history = trained(config, 2)
    values = values_at(config, history, 2, None)
    # Epoch 2's gradient at w = 0.3 is −25.5; w.grad holds it on top of epoch 1's −30.
    assert values["l.backward() # dl/dw gradient of loss respect to w"] == "w.grad = −55.500"
    assert values["# w.grad.zero_()   ← left out (lesson)"] == "w.grad stays −55.500 (not zeroed)"


def test_nn_names_its_gradients_as_torch_does() -> None:
    config = build_config("nn")
    history = trained(config, 1)
    values = values_at(config, history, 1, None)
    w, b = history.params_at(1)
    grad_w, grad_b = history.row(1)["grad_w"], history.row(1)["grad_b"]
    backward = values["l.backward() # dl/dw gradient of loss respect to w"]
    assert re.fullmatch(r"weight\.grad = −\d+\.\d{3}, bias\.grad = −\d+\.\d{3}", backward)
    assert [float(v.replace("−", "-")) for v in re.findall(r"[−\d.]+\d", backward)] == \
        pytest.approx([grad_w, grad_b], abs=5e-4)
    assert values["optimizer.step()"] == f"w = {w:.3f}, b = {b:.3f}".replace("-", "−")
    # torch's zero_grad() sets the gradients to None (set_to_none, the default since 2.0).
    assert values["optimizer.zero_grad()"] == "weight.grad = None, bias.grad = None"
    forward = values["y_pred =model(X)"]
    assert forward.startswith("[") and forward.count(",") == 3  # (4, 1) shown flat


def test_a_refused_update_shows_torchs_error_on_the_update_line() -> None:
    config = build_config("autograd", explicit={"update_with_grad": True})
    error = f"RuntimeError: {LEAF_ERROR}."
    cell = cell_for(config)
    start = explain_epoch(config, History(("w",), (0.0,), n_points=4), 0)
    update = cell.phase_lines[Phase.UPDATE]
    assert cell.lines[update] == "    w -= learning_rate * w.grad"
    assert inline_values(config, start, None, lesson_error=error) == {update: error}
    assert current_line(config, 0, None, error) == update


def test_the_current_line() -> None:
    config = build_config("autograd")
    cell = cell_for(config)
    assert current_line(config, 0, None) is None  # nothing ran yet
    assert current_line(config, 3, Phase.LOSS) == cell.phase_lines[Phase.LOSS]
    assert current_line(config, 3, None) == cell.phase_lines[Phase.ZERO_GRAD]
    numpy = build_config("numpy")
    assert current_line(numpy, 1, None) == cell_for(numpy).phase_lines[Phase.UPDATE]


def test_annotated_lines_append_values(numpy_run: tuple[RunConfig, History]) -> None:
    config, _ = numpy_run
    cell = cell_for(config)
    forward = cell.phase_lines[Phase.FORWARD]
    lines = annotated_lines(cell, {forward: "[0.000]"})
    assert lines[forward] == "    y_pred =forward(X)" + ANNOTATION_SEPARATOR + "[0.000]"
    assert ANNOTATION_SEPARATOR == "   # "
    assert [line for i, line in enumerate(lines) if i != forward] == \
        [line for i, line in enumerate(cell.lines) if i != forward]


def test_array_text() -> None:
    assert array_text(np.array([-1.5, 0, 2e-5], dtype=np.float32)) == "[−1.500, 0.000, 2.000e−05]"
    assert array_text(np.arange(8.0)) == "[0.000, 1.000, 2.000, 3.000, 4.000, 5.000, 6.000, 7.000]"
    assert array_text(np.arange(10.0)) == "[0.000, 1.000, 2.000, …, 9.000] (10 values)"
    assert array_text(np.array([[np.nan], [-np.inf]])) == "[nan, −inf]"


def test_the_runs_own_settings_are_noted_where_they_differ_from_the_cell() -> None:
    from gdviz.core.cells import cell_for, inline_values

    config = build_config("numpy", {"lr": 0.05, "epochs": 20})
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    values = inline_values(config, explain_epoch(config, history, 0), None)
    lines = cell_for(config).lines
    notes = {lines[i].split("=")[0].strip(): text for i, text in values.items()}
    assert notes == {"learning_rate": "this run: 0.05", "n_iters": "this run: 20"}
    assert inline_values(build_config("numpy"), explain_epoch(
        build_config("numpy"), history, 0), None) == {}
