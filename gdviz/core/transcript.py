"""The lines the notebook prints, formatted exactly as its cells format them.

The three cells differ in small ways that the reference output keeps: the numpy and autograd
epoch lines end in a space, the nn lines do not; only numpy and nn print a prediction before
training, and nn prints its x as `X_test.item()` ("5.0") before training but as "5" after.
"""

from __future__ import annotations

from gdviz.core.records import StepRecord
from gdviz.core.registry import format_before_x, format_x, spec

__all__ = ["after_line", "before_line", "epoch_line", "format_epoch", "format_x", "is_logged"]


def before_line(trainer: str, x_test: float, prediction: float) -> str | None:
    trainer_spec = spec(trainer)
    if trainer_spec.before_line is None:
        return None
    return (f"prediction before training: f({format_before_x(trainer_spec, x_test)})"
            f"{prediction:.3f}")


def epoch_line(trainer: str, record: StepRecord) -> str:
    return format_epoch(trainer, record.epoch, record.params_after[0], record.loss)


def format_epoch(trainer: str, epoch: int, w_after: float, loss: float) -> str:
    """The epoch line from its numbers (the window rebuilds it from the History)."""
    trailing = " " if spec(trainer).epoch_line_trailing_space else ""
    return f"epoch {epoch}: w = {w_after:.3f}, loss = {loss:.8f}{trailing}"


def after_line(x_test: float, prediction: float) -> str:
    return f"prediction after training: f({format_x(x_test)}){prediction:.3f}"


def is_logged(epoch: int, log_every: int) -> bool:
    """The notebook's `if epoch % log_every == 0` on its 0-based loop counter."""
    return (epoch - 1) % log_every == 0
