"""Why a run converges or diverges: the factor the error is multiplied by each epoch.

Gradient descent on a quadratic loss moves the error e = θ − θ* by e ← (I − lr·H) e, with H
the Hessian of the loss the trainer really descends (N × the MSE for the notebook's numpy
gradient). Along each eigenvector of H (eigenvalue h) the error is multiplied by 1 − lr·h per
epoch: it shrinks where |1 − lr·h| < 1, flips sides where 1 − lr·h < 0, and grows beyond 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdviz.core.surface import LossLandscape


@dataclass(frozen=True)
class Contraction:
    curvatures: tuple[float, ...]  # the Hessian's eigenvalues h, smallest first
    factors: tuple[float, ...]  # 1 − lr·h for each, signed (negative: the error flips sides)

    @property
    def worst(self) -> float:
        """max |1 − lr·h|: the factor that decides convergence."""
        return max(abs(f) for f in self.factors)

    @property
    def worst_index(self) -> int:
        return max(range(len(self.factors)), key=lambda i: abs(self.factors[i]))

    @property
    def diverges(self) -> bool:
        return self.worst > 1.0


def contraction(landscape: LossLandscape, lr: float, gradient_scale: float = 1.0) -> Contraction:
    curvatures = tuple(float(h) for h in np.linalg.eigvalsh(landscape.hessian(gradient_scale)))
    return Contraction(curvatures, tuple(1.0 - lr * h for h in curvatures))


def _times(size: float) -> str:
    """×0.40, but ×0.997 where two decimals would round a slow shrink to ×1.00."""
    text = f"{size:.2f}"
    if text == "1.00" and size != 1.0:
        text = f"{size:.4f}".rstrip("0")
    return "×" + text


def _one(factor: float) -> str:
    size = abs(factor)
    flips = ", flipping sides" if factor < 0 else ""
    if size > 1.0:
        return f"grows {_times(size)} per epoch{flips}"
    if size == 1.0:
        return f"stays ×1.00 per epoch{flips}: never converges"
    return f"shrinks {_times(size)} per epoch{flips}"


def describe(result: Contraction) -> str:
    """In words: "shrinks ×0.40 per epoch", "grows ×1.40 per epoch: diverges", or per
    direction for two parameters."""
    verdict = ": diverges" if result.diverges else ""
    if len(result.factors) == 1:
        return f"error in w {_one(result.factors[0])}{verdict}"
    parts = [f"{_one(f)} (h = {h:.3g})" for h, f in zip(result.curvatures, result.factors,
                                                            strict=True)]
    return "error along the valley " + parts[0] + "; across it " + parts[1] + verdict


def divergence_reason(result: Contraction, lr: float) -> str:
    """Which factor exceeded 1, for the status message of a diverged run."""
    i = result.worst_index
    h, f = result.curvatures[i], result.factors[i]
    where = "" if len(result.factors) == 1 else (
        " along the steepest direction" if i == len(result.factors) - 1 else
        " along the flattest direction")
    return (f"|1 − lr·h| = |1 − {lr:g} × {h:.4g}| = {abs(f):.3g} > 1{where}: the error grows "
            f"{_times(abs(f))} per epoch")
