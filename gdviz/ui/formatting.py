"""How numbers are written in the panels: readable at a glance, never misleading."""

from __future__ import annotations

import math

import numpy as np


def number(value: float) -> str:
    """A value for the step panel: 3 decimals when that is readable, else scientific."""
    if value != value or value in (math.inf, -math.inf):
        return str(value)
    scientific = value != 0 and not 1e-3 <= abs(value) < 1e6
    text = f"{value:.3e}" if scientific else f"{value:.3f}"
    return text.replace("-", "−")


def signed(value: float) -> str:
    """Negative numbers in brackets, as in `0.01 × (−48.000)`."""
    text = number(value)
    return f"({text})" if text.startswith("−") else text


def loss_text(value: float) -> str:
    """A loss as the notebook prints it (8 decimals) while that stays short, else scientific."""
    if value != value or value in (math.inf, -math.inf):
        return str(value)
    text = f"{value:.8f}" if abs(value) < 1e4 else f"{value:.4e}"
    return text.replace("-", "−")


def vector_variants(values: np.ndarray, most: int = 8) -> list[str]:
    """`values` written out in full, then shorter and shorter: first values, then "…".

    The step panel keeps the longest one that fits its width; at most `most` values are shown.
    """
    count = len(values)
    shown = [number(float(v)) for v in values[:most]]
    variants = [f"[{', '.join(shown)}]"] if count <= most else []
    for keep in range(min(count - 1, most), 0, -1):
        variants.append(f"[{', '.join(shown[:keep])}, …]")
    return variants or ["[]"]
