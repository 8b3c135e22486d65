"""The step panel: the epoch under the cursor written out with its numbers."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QTextEdit

from gdviz.ui.formatting import number, signed, vector
from gdviz.ui.run_model import RunModel


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
    title = f"<h3>{config.spec.title}</h3>"
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
    lines.append("  " + config.spec.gradient_formula(config.gradient))
    for name in names:
        lines.append(f"  dL/d{name} = {number(row['grad_' + name])}")
    lines.append("<b>Update</b>  θ ← θ − lr × dL/dθ")
    for index, name in enumerate(names):
        lines.append(f"  {name} ← {number(before[index])} − {config.lr:g} × "
                     f"{signed(row['grad_' + name])} = {number(after[index])}")
    body = "<br>".join(line.replace("  ", "&nbsp;&nbsp;") for line in lines)
    return title + f"<p>{body}</p>"
