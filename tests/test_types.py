"""mypy passes: strict for gdviz/core, normal for the rest ([tool.mypy] in pyproject.toml).

A test rather than a separate CI step, so the README's command (CI's) and a local `pytest` both
type-check. Deselect it with `-m "not mypy"`. Cold it takes tens of seconds (torch's stubs);
with the cache in .mypy_cache a few.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gdviz

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.mypy
def test_mypy_passes() -> None:
    if not (REPO / "pyproject.toml").is_file() or Path(gdviz.__file__).parent != REPO / "gdviz":
        pytest.skip("gdviz is imported from an installed wheel, not this checkout")
    # No arguments: the files and flags are the ones in pyproject.toml.
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"mypy reported errors:\n{done.stdout}{done.stderr}", pytrace=False)
