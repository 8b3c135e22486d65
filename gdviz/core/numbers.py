"""Numbers as lecture mode writes them: 3 decimals while readable, else scientific, with a real
minus sign; vectors in brackets, long ones summarized. Shared by the code panel's inline values
and the autograd graph, which show the same numbers side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence


def number_text(value: float) -> str:
    """`−120.000`, `2.500e−05`, `inf`; zero is `0.000` (never `−0.000`)."""
    if not math.isfinite(value):
        return str(value).replace("-", "−")
    if value == 0:
        return "0.000"
    text = f"{value:.3f}" if 1e-3 <= abs(value) < 1e6 else f"{value:.3e}"
    return text.replace("-", "−")


def values_text(values: Sequence[float], most: int, head: int) -> str:
    """`[1.200, 2.400]`; more than `most` values: the first `head`, "…", the last, and the
    count: `[a, b, c, …, z] (N values)`."""
    shown = [number_text(float(v)) for v in values]
    if len(shown) <= most:
        return f"[{', '.join(shown)}]"
    return f"[{', '.join(shown[:head])}, …, {shown[-1]}] ({len(shown)} values)"
