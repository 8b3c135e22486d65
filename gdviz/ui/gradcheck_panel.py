"""The gradient check panel: the displayed epoch's gradient three ways, side by side.

The trainer's own formula, float64 autograd and a central finite difference, with their ratio
and one sentence on why they differ (the notebook's numpy gradient is N × the MSE gradient).
Computed on demand for the epoch shown, only while the panel is visible.
"""

from __future__ import annotations

import html
import math
from typing import Any

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QTextEdit

from gdviz.core import torch_preload
from gdviz.core.gradcheck import EpochGradientCheck, check_epoch
from gdviz.ui.formatting import number

TORCH_POLL_MS = 250


def checked_epoch(cursor: int, recorded: int) -> int | None:
    """The epoch whose gradient is checked: the one shown (sub-stepping shows epoch `cursor`'s
    phases); at the start, the first epoch once it is recorded."""
    if cursor >= 1:
        return cursor
    return 1 if recorded >= 1 else None


def _value(value: float) -> str:
    return number(value) if abs(value) < 1e6 else f"{value:.6e}".replace("-", "−")


def check_html(check: EpochGradientCheck, font_px: int) -> str:
    """The check as a small table: one row per parameter, one column per method."""
    heads = ["", html.escape(check.trainer_label), "autograd (float64)",
             "finite difference (float64)", "ratio trainer ÷ f.d."]
    rows = []
    for i, name in enumerate(check.param_names):
        autograd = "PyTorch loading…" if check.autograd is None else _value(check.autograd[i])
        ratio = check.ratios[i]
        ratio_text = "—" if not math.isfinite(ratio) else f"{ratio:.6g}"
        cells = [f"<b>dL/d{name}</b>", _value(check.trainer[i]), autograd,
                 _value(check.finite_difference[i]), f"<b>{ratio_text}</b>"]
        rows.append("".join(f"<td style='padding:2px 8px'>{c}</td>" for c in cells))
    head = "".join(f"<th style='padding:2px 8px' align='left'>{h}</th>" for h in heads)
    at = ", ".join(f"{n} = {number(p)}" for n, p in zip(check.param_names, check.params,
                                                          strict=True))
    table = "".join(f"<tr>{row}</tr>" for row in rows)
    return (f"<div style='font-size:{font_px}px'>"
            f"<b>Gradient check, epoch {check.epoch}</b> (at {at})"
            f"<table cellspacing='0'><tr>{head}</tr>{table}</table>"
            f"<p>{html.escape(check.explanation)}</p></div>")


class GradCheckPanel(QTextEdit):
    BASE_FONT_PX = 13

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.setObjectName("gradCheckPanel")
        self.setReadOnly(True)
        self.model = model
        self._font_scale = 1.0
        self._shown_key: object = None
        self.shown_cursor = 0  # the epoch the panel last followed (it holds it while playing)
        self._torch_timer = QTimer(self, singleShot=True, interval=TORCH_POLL_MS)
        self._torch_timer.timeout.connect(self._on_torch_timer_timeout)

    def set_font_scale(self, scale: float) -> None:
        self._font_scale = scale
        self._shown_key = None
        self.refresh()

    def rebuild(self) -> None:
        self._shown_key = None
        self.refresh()

    def refresh(self) -> None:
        if not self.isVisible():
            return  # computed when shown (showEvent)
        model = self.model
        self.shown_cursor = model.cursor
        history = model.history
        if history is None:
            self._show_text("loading the trainer…", key=("loading", model.config))
            return
        epoch = checked_epoch(model.cursor, len(history))
        if epoch is None:
            self._show_text("Step to epoch 1 to check its gradient.", key=("start", model.config))
            return
        with_autograd = torch_preload.is_loaded()
        key = (model.config, id(history), epoch, with_autograd, self._font_scale)
        if key == self._shown_key:
            return
        if not with_autograd:
            torch_preload.start()  # the float64 autograd column needs torch: fill it in later
            self._torch_timer.start()
        try:
            check = check_epoch(model.config, history, epoch, with_autograd)
        except (ValueError, OverflowError, FloatingPointError) as error:
            self._show_text(f"No gradient check for epoch {epoch}: {error}", key=key)
            return
        self._shown_key = key
        self.setHtml(check_html(check, round(self.BASE_FONT_PX * self._font_scale)))

    def _show_text(self, text: str, key: object) -> None:
        if key != self._shown_key:
            self._shown_key = key
            size = round(self.BASE_FONT_PX * self._font_scale)
            self.setHtml(f"<div style='font-size:{size}px'>{html.escape(text)}</div>")

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        super().showEvent(event)
        self.refresh()

    @Slot()
    def _on_torch_timer_timeout(self) -> None:
        if torch_preload.is_loaded():
            self.refresh()
        else:
            self._torch_timer.start()
