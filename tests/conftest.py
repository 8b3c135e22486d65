"""Shared test set-up. Qt must see the offscreen platform before anything imports it."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Benchmarks are run by hand (`python tests/benchmarks/bench_core.py`), never collected.
collect_ignore = ["benchmarks"]

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


def _read_reference() -> dict[str, list[str]]:
    """The expected lines of each trainer, split on the `# [trainer]` section headers."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    text = (TESTS_DIR / "reference_outputs.txt").read_text(encoding="utf-8")
    for line in text.split("\n"):
        if line.startswith("# ["):
            current = sections.setdefault(line[3 : line.index("]")], [])
        elif line.startswith("#") or not line:
            continue
        elif current is not None:
            current.append(line)
    return sections


@pytest.fixture(scope="session")
def reference() -> dict[str, list[str]]:
    """{'numpy': [...], 'autograd': [...], 'nn': [...]}: lines exactly as printed, no newline."""
    return _read_reference()


@pytest.fixture(scope="session")
def gdviz_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run `python -m gdviz run ARGS...` in a subprocess, from outside the repository."""

    outside = tmp_path_factory.mktemp("cwd")  # the installed package, not the checkout's cwd

    def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gdviz", "run", *args],
            capture_output=True, text=True, timeout=120, cwd=cwd or outside,
        )

    return run
