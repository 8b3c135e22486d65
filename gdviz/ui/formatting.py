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


def vector(values: np.ndarray, limit: int = 4) -> str:
    shown = ", ".join(number(float(v)) for v in values[:limit])
    more = f", … ({len(values)} values)" if len(values) > limit else ""
    return f"[{shown}{more}]"
