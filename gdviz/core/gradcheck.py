"""Three independent gradients of the MSE at one point in parameter space, side by side.

The manual formula is the one a trainer uses (so the notebook's N-times-too-large numpy gradient
shows up here as a factor of N); autograd and the central finite difference are the references.
Everything is float64, so disagreement means a wrong formula, not rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from gdviz.core.cells import cell_for


@dataclass(frozen=True)
class GradientCheck:
    param_names: tuple[str, ...]
    params: tuple[float, ...]
    manual: tuple[float, ...]
    autograd: tuple[float, ...]
    finite_difference: tuple[float, ...]
    manual_scale: float  # manual / true MSE gradient: N for the notebook's formula, else 1


def mse(x: np.ndarray, y: np.ndarray, params: tuple[float, ...]) -> float:
    b = params[1] if len(params) > 1 else 0.0
    residual = params[0] * x + b - y
    return float(np.mean(residual * residual))


def manual_gradient(x: np.ndarray, y: np.ndarray, params: tuple[float, ...],
                    scale: float = 1.0) -> tuple[float, ...]:
    """dL/dw = 2/N Σ x (w x + b - y), dL/db = 2/N Σ (w x + b - y), times `scale`."""
    b = params[1] if len(params) > 1 else 0.0
    residual = params[0] * x + b - y
    grad_w = scale * 2.0 * float(np.dot(x, residual)) / x.size
    if len(params) == 1:
        return (grad_w,)
    return (grad_w, scale * 2.0 * float(residual.sum()) / x.size)


def autograd_gradient(x: np.ndarray, y: np.ndarray, params: tuple[float, ...]) -> tuple[float, ...]:
    import torch

    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    xt = torch.from_numpy(x)
    prediction = tensors[0] * xt + (tensors[1] if len(tensors) > 1 else 0.0)
    loss = ((prediction - torch.from_numpy(y)) ** 2).mean()
    loss.backward()
    return tuple(cast(torch.Tensor, t.grad).item() for t in tensors)  # backward() filled them


def finite_difference_gradient(x: np.ndarray, y: np.ndarray, params: tuple[float, ...],
                               eps: float = 1e-6) -> tuple[float, ...]:
    grads = []
    for i in range(len(params)):
        step = eps * max(1.0, abs(params[i]))
        up = list(params)
        down = list(params)
        up[i] += step
        down[i] -= step
        grads.append((mse(x, y, tuple(up)) - mse(x, y, tuple(down))) / (2.0 * step))
    return tuple(grads)


def check_gradient(x: np.ndarray, y: np.ndarray, params: tuple[float, ...],
                   manual_scale: float = 1.0) -> GradientCheck:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    params = tuple(float(p) for p in params)
    names = ("w", "b")[: len(params)]
    return GradientCheck(
        param_names=names,
        params=params,
        manual=manual_gradient(x, y, params, manual_scale),
        autograd=autograd_gradient(x, y, params),
        finite_difference=finite_difference_gradient(x, y, params),
        manual_scale=manual_scale,
    )


@dataclass(frozen=True)
class EpochGradientCheck:
    """The gradient of one epoch three ways, at the parameters that epoch started from.

    `trainer` is the gradient the trainer's own formula gives: the notebook's numpy formula
    evaluated in float64, or for the torch cells the `.grad` the trainer recorded (float32
    autograd: with zero_grad left out, the sum of every epoch so far). Autograd and the central
    finite difference are the float64 references of the true MSE gradient.
    """

    epoch: int
    param_names: tuple[str, ...]
    params: tuple[float, ...]
    trainer_label: str
    trainer: tuple[float, ...]
    autograd: tuple[float, ...] | None  # None while torch is not imported yet
    finite_difference: tuple[float, ...]
    ratios: tuple[float, ...]  # trainer / finite difference, per parameter (NaN where 0)
    explanation: str


def check_epoch(config: Any, history: Any, epoch: int, with_autograd: bool = True
                ) -> EpochGradientCheck:
    """Check epoch `epoch` (1 … len(history)) of a run of `config` (a RunConfig)."""
    names: tuple[str, ...] = tuple(history.param_names)
    params = tuple(float(p) for p in history.params_at(epoch - 1))
    x = np.asarray(config.x, dtype=np.float64)
    y = np.asarray(config.y, dtype=np.float64)
    scale = float(config.gradient_scale())
    if config.spec.needs_torch:
        row = history.row(epoch)
        trainer = tuple(float(row[f"grad_{name}"]) for name in names)
        label = f"trainer ({', '.join(cell_for(config).grad_names)}, float32)"
    else:
        trainer = manual_gradient(x, y, params, scale)
        label = "the cell's formula"
    autograd = autograd_gradient(x, y, params) if with_autograd else None
    reference = finite_difference_gradient(x, y, params)
    ratios = tuple(t / r if r != 0 else math.nan for t, r in zip(trainer, reference, strict=True))
    return EpochGradientCheck(epoch, names, params, label, trainer, autograd, reference, ratios,
                              _explain(config, history, ratios, scale, trainer, reference))


def _explain(config: Any, history: Any, ratios: tuple[float, ...], scale: float,
             trainer: tuple[float, ...], reference: tuple[float, ...]) -> str:
    """One sentence on why the trainer's gradient is (or is not) the MSE gradient."""
    ratio = ratios[0]
    # Near the minimum the gradient is small and float32's rounding of y_pred − y shows in
    # the ratio (1.0005 at a gradient of 0.004): within that rounding, the three agree.
    x = np.abs(np.asarray(config.x, dtype=np.float64))
    y = np.abs(np.asarray(config.y, dtype=np.float64))
    rounding = 1e-6 * 2.0 * float(x.max()) * (float(y.max()) + 1.0)
    agree = all(math.isclose(r, 1.0, rel_tol=1e-4) or abs(t - f) <= rounding
                for r, t, f in zip(ratios, trainer, reference, strict=True)
                if math.isfinite(r))
    if config.gradient == "notebook" and scale != 1.0:
        n = len(config.x)
        x = np.asarray(config.x, dtype=np.float64)
        y = np.asarray(config.y, dtype=np.float64)
        start = tuple(float(p) for p in history.params_at(0))
        true_step = start[0] - config.lr * manual_gradient(x, y, start)[0]
        cell_step = start[0] - config.lr * manual_gradient(x, y, start, scale)[0]
        return (f"Factor N = {n}: `.mean()` of the scalar `np.dot(2*x, y_pred - y)` does "
                f"nothing, so the notebook's gradient is N × the MSE gradient — which is why "
                f"its first step reaches w = {cell_step:.4g} while the autograd cell reaches "
                f"{true_step:.4g}.")
    if config.gradient == "mean":
        return ("Factor 1: dividing np.dot(2*x, y_pred - y) by N, as the docstring meant, "
                "gives the MSE gradient.")
    if getattr(config, "forget_zero_grad", False) and not agree:
        return (f"Ratio {ratio:.4g}: without zero_grad, .grad holds the sum of every epoch's "
                f"gradient so far, not this epoch's.")
    if agree:
        return "All three agree (to float32 rounding): the trainer uses the MSE gradient."
    return f"The trainer's gradient is {ratio:.6g} × the MSE gradient."
