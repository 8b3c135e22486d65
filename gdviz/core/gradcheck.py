"""Three independent gradients of the MSE at one point in parameter space, side by side.

The manual formula is the one a trainer uses (so the notebook's N-times-too-large numpy gradient
shows up here as a factor of N); autograd and the central finite difference are the references.
Everything is float64, so disagreement means a wrong formula, not rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np


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
