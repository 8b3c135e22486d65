"""`gdviz run --trainer numpy` never imports torch, checked with -X importtime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def imported(stderr: str) -> list[str]:
    """Module names from `-X importtime` lines: 'import time: self | cumulative | name'."""
    names = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header line
                names.append(name)
    return names


def test_numpy_run_does_not_import_torch(reference, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gdviz", "run", "--trainer", "numpy"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0
    names = imported(done.stderr)
    assert "numpy" in names and "gdviz.cli" in names  # the parse really sees the imports
    assert not [n for n in names if n == "torch" or n.startswith("torch.")]
    assert done.stdout.split("\n") == [*reference["numpy"], ""]


def test_the_parse_would_see_torch(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gdviz", "run", "--trainer",
                           "autograd", "--epochs", "1"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0
    assert "torch" in imported(done.stderr)
