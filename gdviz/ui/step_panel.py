"""The step panel: the epoch under the cursor written out with its numbers.

What it shows comes from `gdviz.core.explain.explain_epoch` (the forward pass, loss, gradients
and update the trainer produced); this module only lays it out. An expression is never broken:
each row is a few parts (an expression, its value, a vector) and a row breaks only between parts,
continuation lines indented. Each physical line is its own block with `white-space: pre`, so Qt
cannot wrap it either. The font size is the largest (up to the projector size) at which every
part fits the panel's width, and vectors keep as many values as fit.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QFontDatabase, QFontMetricsF, QResizeEvent
from PySide6.QtWidgets import QStyle, QTextEdit

from gdviz.core.cells import cell_for, refused_line
from gdviz.core.explain import (
    REPLAY_SLICE_S,
    EpochExplanation,
    OptimizerUpdate,
    UpdateTerm,
    explain_update,
    run_title,
    shows_update,
)
from gdviz.core.phases import Phase, phase_title
from gdviz.core.registry import SPECS
from gdviz.ui.formatting import loss_text, number, signed, vector_variants
from gdviz.ui.plots.phase import explained
from gdviz.ui.run_model import RunModel

MAX_POINT_SIZE = 13.0  # the projector font's size (gdviz.ui.style)
MIN_POINT_SIZE = 10.0  # smaller is hard to read from the back of a lecture hall
_SIZE_STEP = 0.5
WHOLE_ROW_DISCOUNT_PT = 2.0  # how much smaller the font may get to keep an update row whole
NOTE_SCALE = 0.85  # notes are small print, in the proportional font (narrower)
INDENT = "  "  # continuation lines of a row
HEADING_GAP_PX = 6
NOTE_COLOR = "#555555"
NOW_COLOR = "#0072B2"  # the phase being shown while sub-stepping
MEASURED_TEXTS_KEPT = 20_000  # text widths remembered per font size
REPLAY_RETRY_MS = 15  # while an optimizer's state is replayed, the panel asks again this often


@dataclass(frozen=True)
class Vector:
    """A vector part: written in full when it fits, else its first values then "…"."""

    prefix: str
    variants: tuple[str, ...]  # longest first


Part = str | Vector


@dataclass(frozen=True)
class Row:
    """One logical line. It breaks only between parts; continuation lines are indented."""

    parts: tuple[Part, ...]
    kind: str = "text"  # "title", "heading", "text" or "note"
    prose: bool = False  # parts are words: continue without indentation, joined by one space
    whole: bool = False  # worth a smaller font to stay on one line (the update)
    tooltip: str = ""


def _note(explanation: EpochExplanation) -> list[Row]:
    """The spec's caveat in a few words, the whole of it in the tooltip."""
    if not explanation.note_brief:
        return []
    return [Row(tuple(explanation.note_brief.split()), "note", prose=True,
                tooltip=explanation.note)]


def _words(text: str, kind: str) -> Row:
    return Row(tuple(text.split()), kind, prose=True)


def _heading(text: str) -> Row:
    return Row((text,), "heading")


def _formula(text: str) -> Row:
    """A spec formula; its own wide gaps before "(" or "→" are where it may break."""
    parts: list[str] = []
    for piece in text.split("  "):
        piece = " ".join(piece.split())
        if parts and piece and piece[0] not in "(→":
            parts[-1] = f"{parts[-1]} {piece}"
        elif piece:
            parts.append(piece)
    return Row(tuple(parts))


def _vector(prefix: str, values: np.ndarray) -> Vector:
    return Vector(prefix, tuple(vector_variants(values)))


# --- what the panel says ---------------------------------------------------------------------


def loading_rows(title: str) -> list[Row]:
    return [_words(title, "title"), Row(("Preparing the run…",))]


def start_rows(explanation: EpochExplanation) -> list[Row]:
    values = [f"{n} = {number(v)}" for n, v in zip(explanation.param_names,
                                                  explanation.params_before, strict=True)]
    rows = [_words(explanation.title, "title"),
            _heading(f"Epoch 0 of {explanation.epochs}"),
            Row(("Start at", *_comma_separated(values)), "heading"),
            _words("Step (→) runs epoch 1.", "text")]
    return rows + _note(explanation)


@dataclass(frozen=True)
class Lecture:
    """What lecture mode adds: the phase shown and the cell's switches."""

    phase: Phase | None = None
    phases: tuple[Phase, ...] = ()
    gradient_word: str = "backward"
    grad_names: tuple[str, ...] = ()  # how the cell names each gradient: "w.grad", "dw" …
    forget_zero_grad: bool = False
    zeroed_value: str = "0"  # what zero_grad leaves in them: optimizer.zero_grad() sets None


def lecture_of(model: RunModel) -> Lecture:
    config = model.config
    spec = config.spec
    cell = cell_for(config)
    # What the cell calls each gradient (dw, w.grad, weight.grad), read from the cell itself.
    return Lecture(model.phase, spec.phases, spec.gradient_word, cell.grad_names,
                   config.forget_zero_grad, cell.zeroed_value)


def epoch_rows(explanation: EpochExplanation, lecture: Lecture | None = None,
               update: OptimizerUpdate | None = None) -> list[Row]:
    """The epoch written out; while sub-stepping, up to the phase shown, which is marked.

    `update`: the epoch's update by an optimizer other than plain SGD, written out with its
    state instead of `w ← w − lr × grad`."""
    e = explanation
    lecture = lecture or Lecture()
    forward, loss = e.forward, e.loss
    assert forward is not None and loss is not None  # epoch >= 1
    at = [f"{n} = {number(v)}" for n, v in zip(e.param_names, e.params_before, strict=True)]
    rows = [_words(e.title, "title"), _heading(f"Epoch {e.epoch} of {e.epochs}")]
    rows += _note(e)
    sections: list[tuple[Phase, list[Row]]] = []
    forward_rows = [Row(("Forward", "at", *_comma_separated(at)), "heading"),
                    Row((e.formulas.forward, _vector("= ", forward.y_pred)))]
    if forward.recomputed:
        forward_rows.append(_words(f"(recomputed in float32: {forward.x.size} points are too "
                                   "many to keep every epoch's forward pass)", "note"))
    forward_rows.append(Row(("y_pred − y", _vector("= ", forward.residuals))))
    sections.append((Phase.FORWARD, forward_rows))
    sections.append((Phase.LOSS, [_heading("Loss"),
                                  Row(("L = mean((y_pred − y)²)", f"= {loss_text(loss)}"))]))
    gradient_title = "Gradient" if lecture.gradient_word == "gradient" else "Backward"
    gradient_rows = [_heading(gradient_title), _formula(e.formulas.gradient)]
    # The cell's own name for what it computed (dw, w.grad, weight.grad): the numpy cell's
    # dw is N × dL/dw, and without zero_grad .grad holds earlier epochs' gradients too.
    grad_names = [*lecture.grad_names] or [f"dL/d{s.name}" for s in e.steps]
    for name, s in zip(grad_names, e.steps, strict=True):
        # Σ of the per-point terms: which data points pull the parameter, and how hard.
        fresh = float(np.sum(s.contributions, dtype=np.float64))
        carried = s.grad - fresh
        if lecture.forget_zero_grad and abs(carried) > 1e-6 * max(1.0, abs(s.grad)):
            gradient_rows.append(Row((f"{name} = {number(s.grad)}", f"= {number(carried)} kept",
                                      _vector("+ Σ ", s.contributions))))
            continue
        true_name = f"dL/d{s.name}"
        if e.gradient_scale == 1.0 and name != true_name:
            name = f"{name} = {true_name}"  # the cell's gradient is the MSE gradient
        gradient_rows.append(Row((f"{name} = {number(s.grad)}", _vector("= Σ ", s.contributions))))
    if e.gradient_scale != 1.0:
        gradient_rows.append(_words(f"= {e.gradient_scale:g} × dL/d{e.steps[0].name}: the "
                                    "notebook's formula, N × the MSE gradient", "note"))
    sections.append((Phase.BACKWARD, gradient_rows))
    if update is not None:
        sections.append((Phase.UPDATE, optimizer_rows(update, grad_names)))
    else:
        rules = [f"{s.name} ← {s.name} − lr × {name}"
                 for name, s in zip(grad_names, e.steps, strict=True)]
        # Huge numbers (a diverging run) may break before "−" too, as typeset equations do.
        sections.append((Phase.UPDATE, [Row(("Update", *_comma_separated(rules)), "heading")] + [
            Row((f"{s.name} ← {number(s.before)}", f"− {s.lr:g} × {signed(s.grad)}",
                 f"= {number(s.after)}"), whole=True) for s in e.steps]))
    if Phase.ZERO_GRAD in lecture.phases:
        sections.append((Phase.ZERO_GRAD, _zero_grad_rows(e, lecture)))
    shown = lecture.phase
    for phase, section in sections:
        if shown is not None and phase is shown:
            heading = section[0]
            section = [Row(("▶", *heading.parts, "(now)"), "now"), *section[1:]]
        rows += section
        if shown is not None and phase is shown:
            following = lecture.phases[lecture.phases.index(phase) + 1:]
            if following:
                title = phase_title(following[0], lecture.gradient_word)
                rows.append(_words(f"next: {title} (↓ or PageDown)", "note"))
            break
    return rows


def optimizer_rows(update: OptimizerUpdate, grad_names: list[str]) -> list[Row]:
    """The update by an optimizer: its state (velocity, m, v, bias corrections) with numbers,
    each parameter's step, and the step it made (the effective step)."""
    settings = [item for item in update.settings_text().split(", ") if item]
    rows = [Row(("Update:", update.title), "heading")]
    if settings:
        rows.append(Row(tuple(_comma_separated(settings)), "note"))
    if update.state is None and update.missing:
        rows.append(_words(update.missing, "note"))
    shared = update.shared_terms()
    if shared:
        rows.append(Row(tuple(_comma_separated([f"{t.formula} = {_term_number(t)}"
                                                for t in shared]))))
    several = len(update.steps) > 1
    for index, name in enumerate(grad_names):
        step = update.steps[index]
        if several:
            rows.append(Row((f"{step.name}:",), "heading"))
        change = step.after - step.before
        effective = Row((f"Δ{step.name} = {'+' if change > 0 else ''}{number(change)}",
                         "(the effective step)"))
        if update.state is None:
            rows += [Row((f"{step.name} ← {number(step.before)}", f"= {number(step.after)}"),
                         whole=True), effective]
            continue
        terms, final = update.terms(index, name)
        rows += [Row((term.formula, f"= {_term_number(term)}")) for term in terms]
        middle = f"− {final.factor:.4g} × {signed(final.numerator)}"
        if final.denominator is not None:
            middle += f" / {number(final.denominator)}"
        rows += [Row((final.formula,)),
                 Row((f"{step.name} ← {number(final.before)}", middle,
                      f"= {number(final.after)}"), whole=True),
                 effective]
    return rows


def _term_number(term: UpdateTerm) -> str:
    """The step count as the whole number it is; everything else as the panel writes it."""
    value = term.value
    if term.formula == "t" and value == value and value == int(value):
        return str(int(value))
    return number(value)


def _zero_grad_rows(e: EpochExplanation, lecture: Lecture) -> list[Row]:
    names = [*lecture.grad_names] or [s.name for s in e.steps]
    if lecture.forget_zero_grad:
        kept = [f"{name} keeps {number(s.grad)}" for name, s in zip(names, e.steps, strict=True)]
        return [_heading("zero_grad — left out (lesson)"), Row(tuple(_comma_separated(kept))),
                _words("The next backward adds its gradient to these.", "note")]
    return [_heading("zero_grad"), Row((f"{', '.join(names)} ← {lecture.zeroed_value}",))]


def lesson_rows(title: str, error: str, has_bias: bool, optimizer_line: str | None = None
                ) -> list[Row]:
    """The no_grad lesson: torch's own error, and why. `optimizer_line`: the line of an
    optimizer's update (other than plain SGD's) that changes the parameters."""
    if optimizer_line is not None:
        each = " for each of the model's parameters" if has_bias else ""
        update = f"The optimizer's {optimizer_line.strip()}{each}"
        cell = ("The notebook's cell lets optimizer.step() do it, which runs under "
                "torch.no_grad() itself." if has_bias else
                "The notebook runs its update inside `with torch.no_grad():`.")
        leaf = "each parameter is a leaf" if has_bias else "w is a leaf"
    elif has_bias:
        update = "p -= learning_rate * p.grad (for each of the model's parameters)"
        cell = ("The notebook's cell lets optimizer.step() do it, which runs under "
                "torch.no_grad() itself.")
        leaf = "each parameter is a leaf"
    else:
        update = "w -= learning_rate * w.grad"
        cell = "The notebook runs it inside `with torch.no_grad():`."
        leaf = "w is a leaf"
    return [_words(title, "title"),
            Row(("▶", "Lesson:", "update", "without", "torch.no_grad()"), "now"),
            _words(error, "text"),
            _words(f"{update} changes the tensor in place, and {leaf} that requires grad: "
                   "autograd would have to record the update in the graph of the next epoch, "
                   f"so torch refuses at epoch 1's update. {cell}", "text"),
            _words("Switch the lesson off in the Lessons menu, or press Home.", "note")]


def _comma_separated(items: list[str]) -> list[str]:
    return [item + ("," if i < len(items) - 1 else "") for i, item in enumerate(items)]


# --- layout ----------------------------------------------------------------------------------

Measure = Callable[[str, str], float]  # (kind, text) -> width in pixels


def _fit(part: Part, before: str, kind: str, measure: Measure, width: float,
         shorten: bool) -> str | None:
    """`part` as written after `before` if it fits the width (shortened only if allowed)."""
    candidates = [part] if isinstance(part, str) else [
        part.prefix + v for v in (part.variants if shorten else part.variants[:1])]
    for text in candidates:
        if measure(kind, before + text) <= width:
            return text
    return None


def _shortest(part: Part) -> str:
    return part if isinstance(part, str) else part.prefix + part.variants[-1]


def layout_row(row: Row, measure: Measure, width: float) -> list[str]:
    """The physical lines of `row`: parts joined while they fit, else a new line."""
    lead = ""
    next_lead = "" if row.prose else INDENT
    lines: list[str] = []
    line = ""
    for part in row.parts:
        if line:
            text = _fit(part, f"{lead}{line} ", row.kind, measure, width, shorten=False)
            if text is not None:
                line = f"{line} {text}"
                continue
            lines.append(lead + line)
            lead = next_lead
        line = _fit(part, lead, row.kind, measure, width, shorten=True) or _shortest(part)
    lines.append(lead + line)
    return lines


def _fixed_parts(rows: Iterable[Row]) -> Iterable[tuple[str, str]]:
    """(kind, text) of every part that cannot shrink, as it would sit on a line of its own."""
    for row in rows:
        for index, part in enumerate(row.parts):
            if isinstance(part, str):
                lead = INDENT if index and not row.prose else ""
                yield row.kind, lead + part


def _whole_rows(rows: Iterable[Row], keep: int) -> Iterable[tuple[str, str]]:
    """(kind, text) of the first `keep` parts of each row that should stay whole."""
    for row in rows:
        if row.whole:
            yield row.kind, " ".join(_shortest(p) for p in row.parts[:keep])


@functools.cache
def _fonts(size: float) -> _Fonts:
    return _Fonts(size)


class _Fonts:
    """The panel's fonts at one base size: monospaced so columns of numbers line up."""

    def __init__(self, size: float) -> None:
        self.size = size
        self.base = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.base.setPointSizeF(size)
        bold = QFont(self.base)
        bold.setBold(True)
        note = QFontDatabase.systemFont(QFontDatabase.SystemFont.GeneralFont)
        note.setItalic(True)
        note.setPointSizeF(self.note_size)
        self.note_family = note.family()
        self._measured: dict[tuple[str, str], float] = {}
        self._metrics = {"text": QFontMetricsF(self.base), "heading": QFontMetricsF(bold),
                         "title": QFontMetricsF(bold), "now": QFontMetricsF(bold),
                         "note": QFontMetricsF(note)}

    @property
    def note_size(self) -> float:
        return round(self.size * NOTE_SCALE, 1)

    def measure(self, kind: str, text: str) -> float:
        # Remembered: sub-steps within an epoch measure the same texts again and again.
        key = (kind, text)
        width = self._measured.get(key)
        if width is None:
            if len(self._measured) > MEASURED_TEXTS_KEPT:
                self._measured.clear()
            width = self._measured[key] = self._metrics[kind].horizontalAdvance(text)
        return width


def _sizes(scale: float = 1.0) -> list[float]:
    """Candidate sizes, largest first; presenter mode scales the whole range."""
    count = round((MAX_POINT_SIZE - MIN_POINT_SIZE) * scale / _SIZE_STEP)
    return [MAX_POINT_SIZE * scale - i * _SIZE_STEP for i in range(count + 1)]


def choose_fonts(rows: list[Row], width: float, scale: float = 1.0) -> _Fonts:
    """The largest size at which every fixed part fits, or a little smaller to keep each
    update row whole (or at least its result apart): those are the lines a lecture reads."""

    def largest(texts: list[tuple[str, str]]) -> _Fonts | None:
        for size in _sizes(scale):
            fonts = _fonts(size)
            if all(fonts.measure(kind, text) <= width for kind, text in texts):
                return fonts
        return None

    fixed = list(_fixed_parts(rows))
    best = largest(fixed)
    if best is None:
        # Too narrow even so: a scrollbar, no broken expression.
        return _fonts(MIN_POINT_SIZE * scale)
    for keep in (3, 2):  # the whole update row, then all but its result
        fonts = largest(fixed + list(_whole_rows(rows, keep)))
        if fonts is not None and fonts.size >= best.size - WHOLE_ROW_DISCOUNT_PT:
            return fonts
    return best


def rows_html(rows: list[Row], fonts: _Fonts, width: float) -> str:
    """One block per physical line, each `white-space: pre` so that Qt never wraps it."""
    styles = {"title": "font-weight:bold;", "heading": "font-weight:bold;", "text": "",
              "now": f"font-weight:bold; color:{NOW_COLOR};",
              "note": (f"font-family:'{fonts.note_family}'; font-style:italic; "
                       f"font-size:{fonts.note_size}pt; color:{NOTE_COLOR};")}
    blocks: list[str] = []
    for row in rows:
        style = styles[row.kind]
        for index, line in enumerate(layout_row(row, fonts.measure, width)):
            gap = HEADING_GAP_PX if row.kind in ("heading", "now") and index == 0 else 0
            text = html.escape(line).replace(" ", "\xa0")
            if row.tooltip:
                text = f'<span title="{html.escape(row.tooltip)}">{text}</span>'
            blocks.append(f'<p style="margin:0; margin-top:{gap}px; white-space:pre; {style}">'
                          f"{text}</p>")
    return "".join(blocks)


def minimum_text_width() -> float:
    """Room for the widest formula of any trainer at the smallest font size."""
    fonts = _fonts(MIN_POINT_SIZE)
    rows = [_formula(text) for spec in SPECS.values()
            for text in (spec.forward_formula, *spec.gradient_formulas.values())]
    return max(fonts.measure(kind, text) for kind, text in _fixed_parts(rows))


# --- the widget ------------------------------------------------------------------------------


class StepPanel(QTextEdit):
    """The epoch under the cursor written out: forward pass, loss, gradient, update."""

    def __init__(self, model: RunModel) -> None:
        super().__init__(readOnly=True)
        self.setObjectName("stepPanel")
        self.model = model
        self._key: tuple[object, ...] | None = None
        self._fonts: _Fonts | None = None
        self._font_scale = 1.0
        # An optimizer's state still being replayed (gdviz.core.explain): look again soon.
        self._retry = QTimer(self, singleShot=True, interval=REPLAY_RETRY_MS)
        self._retry.timeout.connect(self.refresh)
        # Always there: a scrollbar that came and went with the phase's length resized the
        # viewport and laid the text out twice at every sub-step.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setMinimumWidth(round(minimum_text_width() + self._chrome_width()) + 1)

    def _scrollbar_extent(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)

    def _chrome_width(self) -> float:
        """Frame, document margins and a vertical scrollbar around the text."""
        frame = 2 * self.frameWidth()
        return frame + 2 * self.document().documentMargin() + self._scrollbar_extent() + 2

    def text_width(self) -> float:
        """The width a line may take; room for the scrollbar is kept even while it is hidden,
        so the bar appearing never changes the layout (and the layout never toggles it)."""
        width = self.viewport().width() - 2 * self.document().documentMargin() - 2
        if not self.verticalScrollBar().isVisible():
            width -= self._scrollbar_extent()
        return max(width, 1.0)

    def refresh(self) -> None:
        """Rebuild only when what is shown changed: this runs on every redraw."""
        model = self.model
        history, cursor = model.history, model.cursor
        recorded = history is not None and cursor <= len(history)
        update = self._update()
        key = (model.config, history, cursor, recorded, round(self.text_width()), model.phase,
               model.session.lesson_error, self._font_scale,
               update is not None and update.state is not None)
        if key == self._key:
            return
        self._key = key
        self._render(self._rows(update))

    def _update(self) -> OptimizerUpdate | None:
        """The optimizer's update shown, if any. Its state is replayed a slice at a time: at
        rest the panel asks again until it has it; playing, a smaller slice at each refresh
        (a few a second), so the window's share of the GIL stays small."""
        model = self.model
        history, epoch = model.history, model.cursor
        if history is None or not shows_update(model.config, history, epoch, model.phase):
            return None
        playing = getattr(model, "state", None) == "playing"
        update = explain_update(model.config, history, epoch,
                                REPLAY_SLICE_S / 4 if playing else REPLAY_SLICE_S,
                                explained(model, epoch))
        if update is not None and update.pending and not playing:
            self._retry.start()
        return update

    def _rows(self, update: OptimizerUpdate | None = None) -> list[Row]:
        model = self.model
        history, config = model.history, model.config
        if history is None or model.cursor > len(history):
            return loading_rows(run_title(config))
        if model.session.lesson_error is not None:
            cell = cell_for(config)
            line = None if config.optimizer_config.is_plain_sgd else cell.lines[
                refused_line(cell)]
            return lesson_rows(run_title(config), model.session.lesson_error,
                               config.spec.has_bias, line)
        explanation = explained(model, model.cursor)
        if explanation.is_start:
            return start_rows(explanation)
        return epoch_rows(explanation, lecture_of(model), update)

    def _render(self, rows: list[Row]) -> None:
        width = self.text_width()
        fonts = choose_fonts(rows, width, self._font_scale)
        if self._fonts is None or fonts.size != self._fonts.size:
            self.setFont(fonts.base)
        self._fonts = fonts
        bar = self.verticalScrollBar()
        position = bar.value()  # keep the lecturer's scroll position while stepping
        self.setHtml(rows_html(rows, fonts, width))
        bar.setValue(position)
        if any(row.kind == "now" for row in rows):
            self._show_now()

    def _show_now(self) -> None:
        """Sub-stepping: the phase shown is the last section; keep it, heading first, in view."""
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())
        heading = self.document().find("▶")
        if not heading.isNull() and self.cursorRect(heading).top() < 0:
            bar.setValue(bar.value() + self.cursorRect(heading).top() - 4)

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: every candidate size times `scale` (readable from the back)."""
        self._font_scale = scale
        self.refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt override
        super().resizeEvent(event)
        self.refresh()  # the key holds the width: a new width lays the text out again
