"""The notebook's training cells as text, and the live value of each line at a run's position.

The code panel shows a cell exactly as the notebook has it (`resources/cells/<trainer>.py`,
copied verbatim from the lecture notebook). The lessons change it by a small transformation of
that text, so every other line stays the notebook's. Each phase's line is found by its
statement, never by a line number, and everything cell-specific (what the cell calls a
gradient) is read from the cell's own text, not from the trainer's name.

An optimizer other than plain SGD replaces the cell's update statement by its own update lines
(`gdviz.core.optimizers.optimizer_code`, as the trainer runs it), and puts its settings and
state variables before the epoch loop (the nn cell: its `torch.optim.<Name>(…)` line in place of
the notebook's SGD). Plain SGD is the notebook's cell, unchanged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.explain import EpochExplanation, OptimizerUpdate
from gdviz.core.numbers import number_text, values_text
from gdviz.core.optimizers import OptimizerConfig, optimizer_code
from gdviz.core.phases import Phase
from gdviz.core.registry import spec
from gdviz.core.resources import resource_path

ANNOTATION_SEPARATOR = "   # "
MAX_SHOWN_VALUES = 8  # longer arrays are summarized: first values, …, the last one

# The statement of each phase, matched at the start of a stripped line. A zero_grad line may
# be commented out (the forget_zero_grad lesson keeps it in view); nothing else may.
_EPOCH_STATEMENT = re.compile(r"for epoch in range\(")
_STATEMENTS: Mapping[Phase, re.Pattern[str]] = MappingProxyType({
    Phase.FORWARD: re.compile(r"y_pred\s*="),
    Phase.LOSS: re.compile(r"l\s*=\s*loss\("),
    Phase.BACKWARD: re.compile(r"\w+\s*=\s*gradient\(|l\.backward\(\)"),
    Phase.UPDATE: re.compile(r"\w+\s*-=\s*learning_rate\s*\*|optimizer\.step\(\)"),
    Phase.ZERO_GRAD: re.compile(r"(# )?(\w+\.grad\.zero_\(\)|optimizer\.zero_grad\(\))"),
})
_GRADIENT_CALL = re.compile(r"(\w+)\s*=\s*gradient\(")
_NO_GRAD = re.compile(r"with torch\.no_grad\(\):")
_BY_HAND_LOOP = "for p in model.parameters():"
# What an optimizer's update line sets: `name = …`, `name += …`, `name[p].op_(…)`, or the
# `out=` of torch.maximum. Its value is shown on the line.
_ASSIGNED = re.compile(r"(\w+)(?:\[p\])?\s*(?:=|\+=|-=|\*=)(?!=)|(\w+)(?:\[p\])?\.\w+_\(")
_MAXIMUM_OUT = re.compile(r"torch\.maximum\(.*out=(\w+)(?:\[p\])?\)")
# The cell's names of state variables that are not torch's state keys.
_STATE_VARIABLES = MappingProxyType({"state_sum": "sum"})
_SHARED = ("step", "bias_correction1", "bias_correction2", "clr")  # one value for all parameters
# torch.nn.Linear's own names for the parameters gdviz calls w and b.
_LINEAR_NAMES = MappingProxyType({"w": "weight", "b": "bias"})


@dataclass(frozen=True)
class Cell:
    """A training cell as the panel shows it, with the line of each of its statements."""

    name: str
    lines: tuple[str, ...]
    epoch_line: int  # `for epoch in range(n_iters):`
    phase_lines: Mapping[Phase, int]
    grad_names: tuple[str, ...]  # what the cell calls each parameter's gradient: dw, w.grad
    zeroed_value: str  # what the gradients hold after the zero_grad line
    # Every line of the update phase: the optimizer's lines, or the notebook's one statement
    # (its last line is phase_lines[Phase.UPDATE], where the parameters change).
    update_lines: tuple[int, ...]
    # The optimizer's update lines that set a variable: line -> (variable, when), when "" or,
    # inside `if … is None:` / `else:`, "first" (the first update) or "later".
    assigns: Mapping[int, tuple[str, str]]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def notebook_cell(name: str) -> tuple[str, ...]:
    """The lines of the notebook's training cell for trainer `name`, verbatim."""
    text = resource_path("cells", f"{name}.py").read_text(encoding="utf-8")
    return tuple(text.removesuffix("\n").split("\n"))


def without_zero_grad(lines: Sequence[str]) -> tuple[str, ...]:
    """The forget_zero_grad lesson: the zero_grad line commented out, still in view."""
    index = find_statement(lines, Phase.ZERO_GRAD)
    changed = list(lines)
    changed[index] = _commented(lines[index], "left out")
    return tuple(changed)


def without_no_grad(lines: Sequence[str]) -> tuple[str, ...]:
    """The update_with_grad lesson: the update runs where autograd records it.

    A cell updating inside `with torch.no_grad():` loses that line (commented out) and its body
    is dedented; a cell calling `optimizer.step()` (which uses no_grad itself) gets the update
    written out by hand, as the trainer runs it for this lesson.
    """
    index = find_statement(lines, Phase.UPDATE)
    changed = list(lines)
    above = _previous_code_line(lines, index)
    if above is not None and _NO_GRAD.fullmatch(lines[above].strip()):
        depth = _indent(lines[index]) - _indent(lines[above])
        changed[above] = _commented(lines[above], "left out")
        end = above + 1
        while end < len(lines) and (not lines[end].strip() or
                                     _indent(lines[end]) > _indent(lines[above])):
            end += 1
        for i in range(above + 1, end):
            if lines[i].strip():
                changed[i] = lines[i][depth:]
        return tuple(changed)
    if lines[index].strip() == "optimizer.step()":
        indent = lines[index][: _indent(lines[index])]
        changed[index: index + 1] = [
            _commented(lines[index], "replaced by the update below"),
            f"{indent}for p in model.parameters():",
            f"{indent}    p -= learning_rate * p.grad",
        ]
        return tuple(changed)
    raise ValueError(f"no torch.no_grad() update to take apart in {lines[index].strip()!r}")


def find_statement(lines: Sequence[str], phase: Phase) -> int:
    """The index of the one line holding `phase`'s statement."""
    return _only(lines, _STATEMENTS[phase], phase.value)


def with_optimizer(lines: Sequence[str], optimizer: OptimizerConfig, trainer: str,
                   by_hand: bool = False) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The cell with `optimizer`'s update in place of its update statement; also the indices
    of the update's lines. `by_hand`: the update_with_grad lesson's cell, whose update is
    written out over `model.parameters()` (see `without_no_grad`)."""
    code = optimizer_code(optimizer, trainer, by_hand=by_hand)
    constructor = optimizer_code(optimizer, trainer) if by_hand else code
    index = find_statement(lines, Phase.UPDATE)
    start = index - 1 if by_hand and lines[index - 1].strip() == _BY_HAND_LOOP else index
    indent = lines[start][: _indent(lines[start])]
    changed = [*lines[:start], *(indent + line for line in code.update), *lines[index + 1:]]
    span = range(start, start + len(code.update))
    if constructor.replaces is not None:
        at = _only(changed, re.compile(re.escape(constructor.replaces)), "optimizer")
        changed[at] = changed[at][: _indent(changed[at])] + constructor.setup[0]
    if code.replaces is None and code.setup:
        loop = _only(changed, _EPOCH_STATEMENT, "epoch loop")
        loop_indent = changed[loop][: _indent(changed[loop])]
        changed[loop:loop] = [loop_indent + line for line in code.setup]
        span = range(span.start + len(code.setup), span.stop + len(code.setup))
    return tuple(changed), tuple(span)


def cell_for(config: RunConfig) -> Cell:
    """The cell of `config`'s trainer, with its lessons and its optimizer applied."""
    return _cell(config.trainer, config.param_names, config.spec.phases,
                 config.forget_zero_grad, config.update_with_grad, config.optimizer_config)


@functools.lru_cache(maxsize=16)
def _cell(name: str, param_names: tuple[str, ...], phases: tuple[Phase, ...],
          forget_zero_grad: bool, update_with_grad: bool,
          optimizer: OptimizerConfig) -> Cell:
    lines = notebook_cell(name)
    if forget_zero_grad:
        lines = without_zero_grad(lines)
    if update_with_grad:
        lines = without_no_grad(lines)
    grad_names = _grad_names(lines, find_statement(lines, Phase.BACKWARD), param_names)
    update: tuple[int, ...]
    if optimizer.is_plain_sgd:
        update = (find_statement(lines, Phase.UPDATE),)
        assigns: dict[int, tuple[str, str]] = {}
    else:
        by_hand = update_with_grad and spec(name).update_style == "optim"
        lines, update = with_optimizer(lines, optimizer, name, by_hand)
        assigns = _assignments(lines, update)
    phase_lines = {phase: update[-1] if phase is Phase.UPDATE else find_statement(lines, phase)
                   for phase in phases}
    # torch's optimizer.zero_grad() sets the gradients to None (set_to_none, torch ≥ 2.0).
    zeroed = ("None" if Phase.ZERO_GRAD in phase_lines
              and "optimizer" in lines[phase_lines[Phase.ZERO_GRAD]] else number_text(0.0))
    return Cell(name, lines, _only(lines, _EPOCH_STATEMENT, "epoch loop"),
                MappingProxyType(phase_lines), grad_names, zeroed, update,
                MappingProxyType(assigns))


def _assignments(lines: Sequence[str], span: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Which variable each update line sets, and in which branch of `if … is None:`."""
    found: dict[int, tuple[str, str]] = {}
    branch, branch_indent = "", -1
    for index in span:
        text, indent = lines[index].strip(), _indent(lines[index])
        if branch and indent <= branch_indent:
            if text == "else:" and branch == "first":
                branch = "later"
                continue
            branch = ""
        if text.startswith("if ") and text.endswith(" is None:"):
            branch, branch_indent = "first", indent
            continue
        out = _MAXIMUM_OUT.match(text)
        match = out or _ASSIGNED.match(text)
        if match:
            found[index] = (next(group for group in match.groups() if group), branch)
    return found


def refused_line(cell: Cell) -> int:
    """Where torch refuses the update outside no_grad: its first in-place change of a
    parameter (AdamW's decay comes before the update proper)."""
    changes = [i for i, (variable, _) in cell.assigns.items() if variable in ("w", "p")]
    return min(changes, default=cell.phase_lines[Phase.UPDATE])


def current_lines(config: RunConfig, epoch: int, phase: Phase | None,
                  lesson_error: str | None = None) -> tuple[int, ...]:
    """Every line of the step being run: the update's lines when that is the update (an
    optimizer writes it in several), else the current line alone (none at the start)."""
    line = current_line(config, epoch, phase, lesson_error)
    if line is None:
        return ()
    cell = cell_for(config)
    if lesson_error is None and line == cell.phase_lines.get(Phase.UPDATE):
        return cell.update_lines
    return (line,)


def current_line(config: RunConfig, epoch: int, phase: Phase | None,
                 lesson_error: str | None = None) -> int | None:
    """The line being executed at (epoch, phase): None at the start, before any line ran.

    A whole epoch (phase None) ends on its last phase's line; after torch refused the update
    (the no_grad lesson) the update line is where the run stands.
    """
    cell = cell_for(config)
    if lesson_error is not None:
        return refused_line(cell)
    if epoch == 0:
        return None
    return cell.phase_lines[config.spec.phases[-1] if phase is None else phase]


def inline_values(config: RunConfig, explanation: EpochExplanation, phase: Phase | None,
                  lesson_error: str | None = None,
                  update: OptimizerUpdate | None = None) -> dict[int, str]:
    """Line index → the value that line produced, for every line run so far in the epoch.

    `phase` None means the whole epoch. The values are those the trainer recorded (from
    `explanation`), never recomputed; a refused update shows torch's error on its line. An
    optimizer's lines show its state from `update` (`gdviz.core.explain.explain_update`,
    the state the trainer's optimizer held), and the few values the update computes from it
    (denom, avg) in float64; without `update` only the parameters' line has its value.
    """
    cell = cell_for(config)
    values: dict[int, str] = _run_settings(cell, config)
    if not explanation.is_start:
        values[cell.epoch_line] = f"epoch = {explanation.epoch - 1}"  # the code's 0-based epoch
        phases = config.spec.phases
        done = phases if phase is None else phases[: phases.index(phase) + 1]
        for step in done:
            values[cell.phase_lines[step]] = _phase_value(config, cell, explanation, step)
        if Phase.UPDATE in done and not config.optimizer_config.is_plain_sgd:
            values.update(_optimizer_values(cell, explanation, update, values))
    if lesson_error is not None:
        values[refused_line(cell)] = lesson_error
    return values


_SETTING = re.compile(r"^\s*(learning_rate|n_iters)\s*=\s*([0-9.eE+-]+)\s*$")


def _run_settings(cell: Cell, config: RunConfig) -> dict[int, str]:
    """The cell's `learning_rate = 0.01` and `n_iters = 10` lines, when this run uses other
    values: the code stays the notebook's, the annotation says what the run really uses."""
    used = {"learning_rate": config.lr, "n_iters": config.epochs}
    notes: dict[int, str] = {}
    for index, line in enumerate(cell.lines):
        match = _SETTING.match(line)
        if match and float(match.group(2)) != used[match.group(1)]:
            notes[index] = f"this run: {used[match.group(1)]:g}"
    return notes


def annotated_lines(cell: Cell, values: Mapping[int, str]) -> tuple[str, ...]:
    """The cell's lines, each with its value appended like a debugger's inline value."""
    return tuple(line + ANNOTATION_SEPARATOR + values[i] if i in values else line
                 for i, line in enumerate(cell.lines))


def array_text(values: np.ndarray) -> str:
    """`[0.000, 1.200]`; more than MAX_SHOWN_VALUES: `[a, b, c, …, z] (N values)`."""
    return values_text(np.ravel(values).tolist(), MAX_SHOWN_VALUES, 3)


def _phase_value(config: RunConfig, cell: Cell, explanation: EpochExplanation,
                 phase: Phase) -> str:
    steps = explanation.steps
    if phase is Phase.FORWARD:
        assert explanation.forward is not None  # every recorded epoch has its forward pass
        return array_text(explanation.forward.y_pred)
    if phase is Phase.LOSS:
        assert explanation.loss is not None
        return f"l = {number_text(explanation.loss)}"
    if phase is Phase.BACKWARD:
        return _listed(cell.grad_names, [s.grad for s in steps])
    if phase is Phase.UPDATE:
        return _listed(explanation.param_names, explanation.params_after)
    if config.forget_zero_grad:  # the gradients stay for the next backward to add to
        kept = ", ".join(f"{name} stays {number_text(s.grad)}"
                         for name, s in zip(cell.grad_names, steps, strict=True))
        return f"{kept} (not zeroed)"
    return ", ".join(f"{name} = {cell.zeroed_value}" for name in cell.grad_names)


def _optimizer_values(cell: Cell, explanation: EpochExplanation, update: OptimizerUpdate | None,
                      shown: Mapping[int, str]) -> dict[int, str]:
    """The values of the optimizer's update lines (see `inline_values`)."""
    last = cell.phase_lines[Phase.UPDATE]
    if update is None or update.state is None:
        return {}
    count = len(explanation.param_names)
    values = [update.values(i) for i in range(count)]
    if not cell.assigns:  # optimizer.step(): torch.optim's state after it, per parameter
        state = update.state
        entries = [f"{key} = {_per_parameter(key, [v[key] for v in values])}"
                   for key in state.keys if key not in _SHARED or key == "step"]
        return {last: f"{shown[last]}; {', '.join(entries)}"}
    names = [_LINEAR_NAMES.get(n, n) for n in explanation.param_names] if count > 1 else []
    found: dict[int, str] = {}
    for index, (variable, when) in cell.assigns.items():
        if when and (when == "first") != (update.epoch == 1):
            continue  # the branch not taken this epoch
        if variable in ("w", "p"):
            if index == last:
                continue  # the parameters' own value, already there
            key = "decayed"
        else:
            key = _STATE_VARIABLES.get(variable, variable)
        numbers = [v.get(key) for v in values]
        if any(n is None for n in numbers):
            continue
        found[index] = _variable_text(variable, key, [float(n) for n in numbers if n is not None],
                                      names)
    return found


def _variable_text(variable: str, key: str, numbers: Sequence[float],
                   names: Sequence[str]) -> str:
    """`exp_avg = −3.000`; per parameter `exp_avg[weight] = …, exp_avg[bias] = …`."""
    if len(numbers) == 1 or key in _SHARED or len(set(numbers)) == 1:
        return f"{variable} = {_value_text(key, numbers[0])}"
    if variable == "p":
        return ", ".join(f"{name} = {_value_text(key, n)}" for name, n in zip(names, numbers,
                                                                               strict=True))
    return ", ".join(f"{variable}[{name}] = {_value_text(key, n)}"
                     for name, n in zip(names, numbers, strict=True))


def _per_parameter(key: str, numbers: Sequence[float]) -> str:
    if key in _SHARED or len(numbers) == 1:
        return _value_text(key, numbers[0])
    return f"({', '.join(_value_text(key, n) for n in numbers)})"


def _value_text(key: str, value: float) -> str:
    """The step count as the whole number it is, everything else as lecture mode writes it."""
    if key == "step" and value == int(value):
        return str(int(value))
    return number_text(value)


def _listed(names: Sequence[str], numbers: Sequence[float]) -> str:
    pairs = zip(names, numbers, strict=True)
    return ", ".join(f"{name} = {number_text(value)}" for name, value in pairs)


def _grad_names(lines: Sequence[str], backward: int, param_names: Sequence[str]) -> tuple[str, ...]:
    """What the cell calls the gradients: its own variable (`dw = gradient(…)`), else torch's
    `.grad` of each parameter, under nn.Linear's names when the cell trains a `model`."""
    called = _GRADIENT_CALL.match(lines[backward].strip())
    if called:
        return (called.group(1),)
    module = any("model.parameters()" in line for line in lines)
    return tuple(f"{_LINEAR_NAMES.get(n, n) if module else n}.grad" for n in param_names)


def _only(lines: Sequence[str], pattern: re.Pattern[str], what: str) -> int:
    found = [i for i, line in enumerate(lines) if pattern.match(line.strip())]
    if len(found) != 1:
        raise ValueError(f"the cell has {len(found)} lines for the {what} statement, not 1")
    return found[0]


def _commented(line: str, why: str) -> str:
    """`    w.grad.zero_()` → `    # w.grad.zero_()   ← left out (lesson)`."""
    return f"{line[: _indent(line)]}# {line.strip()}   ← {why} (lesson)"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _previous_code_line(lines: Sequence[str], index: int) -> int | None:
    for i in range(index - 1, -1, -1):
        if lines[i].strip() and not lines[i].strip().startswith("#"):
            return i
    return None
