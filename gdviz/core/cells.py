"""The notebook's training cells as text, and the live value of each line at a run's position.

The code panel shows a cell exactly as the notebook has it (`resources/cells/<trainer>.py`,
copied verbatim from the lecture notebook). The lessons change it by a small transformation of
that text, so every other line stays the notebook's. Each phase's line is found by its
statement, never by a line number, and everything cell-specific (what the cell calls a
gradient) is read from the cell's own text, not from the trainer's name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.explain import EpochExplanation
from gdviz.core.numbers import number_text, values_text
from gdviz.core.phases import Phase
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


def cell_for(config: RunConfig) -> Cell:
    """The cell of `config`'s trainer, with its lessons applied."""
    return _cell(config.trainer, config.param_names, config.spec.phases,
                 config.forget_zero_grad, config.update_with_grad)


@functools.lru_cache(maxsize=16)
def _cell(name: str, param_names: tuple[str, ...], phases: tuple[Phase, ...],
          forget_zero_grad: bool, update_with_grad: bool) -> Cell:
    lines = notebook_cell(name)
    if forget_zero_grad:
        lines = without_zero_grad(lines)
    if update_with_grad:
        lines = without_no_grad(lines)
    phase_lines = {phase: find_statement(lines, phase) for phase in phases}
    # torch's optimizer.zero_grad() sets the gradients to None (set_to_none, torch ≥ 2.0).
    zeroed = ("None" if Phase.ZERO_GRAD in phase_lines
              and "optimizer" in lines[phase_lines[Phase.ZERO_GRAD]] else number_text(0.0))
    return Cell(name, lines, _only(lines, _EPOCH_STATEMENT, "epoch loop"),
                MappingProxyType(phase_lines),
                _grad_names(lines, phase_lines[Phase.BACKWARD], param_names), zeroed)


def current_line(config: RunConfig, epoch: int, phase: Phase | None,
                 lesson_error: str | None = None) -> int | None:
    """The line being executed at (epoch, phase): None at the start, before any line ran.

    A whole epoch (phase None) ends on its last phase's line; after torch refused the update
    (the no_grad lesson) the update line is where the run stands.
    """
    cell = cell_for(config)
    if lesson_error is not None:
        return cell.phase_lines[Phase.UPDATE]
    if epoch == 0:
        return None
    return cell.phase_lines[config.spec.phases[-1] if phase is None else phase]


def inline_values(config: RunConfig, explanation: EpochExplanation, phase: Phase | None,
                  lesson_error: str | None = None) -> dict[int, str]:
    """Line index → the value that line produced, for every line run so far in the epoch.

    `phase` None means the whole epoch. The values are those the trainer recorded (from
    `explanation`), never recomputed; a refused update shows torch's error on its line.
    """
    cell = cell_for(config)
    values: dict[int, str] = _run_settings(cell, config)
    if not explanation.is_start:
        values[cell.epoch_line] = f"epoch = {explanation.epoch - 1}"  # the code's 0-based epoch
        phases = config.spec.phases
        done = phases if phase is None else phases[: phases.index(phase) + 1]
        for step in done:
            values[cell.phase_lines[step]] = _phase_value(config, cell, explanation, step)
    if lesson_error is not None:
        values[cell.phase_lines[Phase.UPDATE]] = lesson_error
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
