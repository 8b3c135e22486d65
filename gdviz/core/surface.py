"""Loss landscapes of the MSE fit, evaluated from the data's sufficient statistics.

L(w, b) = mean((w*x + b - y)^2) is a quadratic whose coefficients are N, Σx, Σy, Σx², Σxy, Σy²;
evaluating a grid therefore costs the same for four samples or a million. The surface is written
around its minimum, L = L_min + (quadratic form of the offset), so values near the optimum keep
their precision instead of cancelling large terms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SufficientStats:
    n: int
    sx: float
    sy: float
    sxx: float
    sxy: float
    syy: float

    @classmethod
    def from_data(cls, x: np.ndarray, y: np.ndarray) -> SufficientStats:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return cls(int(x.size), float(x.sum()), float(y.sum()), float(x @ x), float(x @ y),
                   float(y @ y))


@dataclass(frozen=True)
class LossLandscape:
    """The loss of f = w*x (with_bias False) or f = w*x + b (with_bias True) over (w[, b])."""

    stats: SufficientStats
    with_bias: bool
    optimum: tuple[float, ...]  # the least-squares fit (minimum-norm when it is not unique)
    min_loss: float

    @classmethod
    def from_data(cls, x: np.ndarray, y: np.ndarray, with_bias: bool) -> LossLandscape:
        return cls.from_stats(SufficientStats.from_data(x, y), with_bias)

    @classmethod
    def from_stats(cls, s: SufficientStats, with_bias: bool) -> LossLandscape:
        if with_bias:
            normal = np.array([[s.sxx, s.sx], [s.sx, s.n]])
            rhs = np.array([s.sxy, s.sy])
            solution = np.linalg.lstsq(normal, rhs, rcond=None)[0]
            optimum: tuple[float, ...] = (float(solution[0]), float(solution[1]))
            explained = float(solution @ rhs)
        else:
            w_star = s.sxy / s.sxx if s.sxx > 0 else 0.0
            optimum = (w_star,)
            explained = w_star * s.sxy
        min_loss = max(0.0, (s.syy - explained) / s.n)
        return cls(s, with_bias, optimum, min_loss)

    def loss(self, w: np.ndarray | float, b: np.ndarray | float = 0.0) -> np.ndarray:
        """Vectorized L at (w, b); arrays broadcast against each other."""
        s = self.stats
        dw = np.asarray(w, dtype=np.float64) - self.optimum[0]
        if not self.with_bias:
            return self.min_loss + (s.sxx / s.n) * dw * dw
        db = np.asarray(b, dtype=np.float64) - self.optimum[1]
        return self.min_loss + (s.sxx * dw * dw + 2.0 * s.sx * dw * db + s.n * db * db) / s.n

    def curve(self, w_grid: np.ndarray) -> np.ndarray:
        """L(w) on a 1-D grid (the w-only model)."""
        return self.loss(w_grid)

    def grid(self, w_grid: np.ndarray, b_grid: np.ndarray) -> np.ndarray:
        """L(w, b) with rows along b and columns along w (row-major, like a meshgrid)."""
        return self.loss(np.asarray(w_grid)[None, :], np.asarray(b_grid)[:, None])

    def hessian(self, gradient_scale: float = 1.0) -> np.ndarray:
        """Hessian of the loss that is actually descended: the MSE times `gradient_scale`.

        The notebook's numpy gradient is N times the MSE gradient, so it descends N*MSE.
        """
        s = self.stats
        if not self.with_bias:
            return np.array([[2.0 * s.sxx / s.n * gradient_scale]])
        return 2.0 / s.n * gradient_scale * np.array([[s.sxx, s.sx], [s.sx, s.n]])

    def contraction_factor(self, lr: float, gradient_scale: float = 1.0) -> float:
        """max |1 − lr·λ| over the Hessian's eigenvalues: how much the error is multiplied by
        per epoch along its slowest-shrinking (or fastest-growing) direction."""
        eigenvalues = np.linalg.eigvalsh(self.hessian(gradient_scale))
        return float(np.max(np.abs(1.0 - lr * eigenvalues)))

    def critical_lr(self, gradient_scale: float = 1.0) -> float:
        """The learning rate above which plain gradient descent diverges: 2 / λ_max."""
        largest = float(np.linalg.eigvalsh(self.hessian(gradient_scale))[-1])
        return 2.0 / largest if largest > 0 else math.inf

