"""`gdviz run` prints the notebook's lines digit for digit, trailing spaces included."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

TRAINERS = ("numpy", "autograd", "nn")


@pytest.mark.parametrize("trainer", TRAINERS)
def test_python_m_gdviz_run_prints_reference(trainer: str, gdviz_run, reference) -> None:
    done = gdviz_run("--trainer", trainer)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # split("\n") rather than splitlines() so a lost trailing space or newline shows.
    assert done.stdout.split("\n") == [*reference[trainer], ""]


def _console_script() -> Path:
    """The `gdviz` entry point installed beside this interpreter."""
    script = Path(sys.executable).parent / "gdviz"
    if not script.exists():
        found = shutil.which("gdviz")
        assert found, "the gdviz console script is not installed"
        script = Path(found)
    return script


@pytest.mark.parametrize("trainer", TRAINERS)
def test_console_script_prints_reference(trainer: str, reference, tmp_path: Path) -> None:
    done = subprocess.run([str(_console_script()), "run", "--trainer", trainer],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [*reference[trainer], ""]


@pytest.mark.parametrize("trainer", TRAINERS)
def test_presets_reproduce_reference(trainer: str, gdviz_run, reference) -> None:
    done = gdviz_run("--preset", f"notebook-{trainer}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [*reference[trainer], ""]


def test_reference_lines_have_the_notebooks_trailing_spaces(reference) -> None:
    # Guards the copy in tests/ against an editor stripping whitespace.
    for trainer in ("numpy", "autograd"):
        epoch_lines = [line for line in reference[trainer] if line.startswith("epoch")]
        assert epoch_lines and all(line.endswith(" ") for line in epoch_lines)
    assert not any(line.endswith(" ") for line in reference["nn"])


def test_nep50_epoch_two(gdviz_run) -> None:
    """NumPy 1's float64 w gives 4.79999924 at epoch 2; a naive float32 w under NEP 50 gives
    4.80000067. The trainer must keep the lecture's number on NumPy 2."""
    done = gdviz_run("--trainer", "numpy", "--epochs", "2")
    assert done.stdout.split("\n")[2] == "epoch 2: w = 1.680, loss = 4.79999924 "
    # The pitfall is real on this NumPy: the literal notebook code with a float32 w differs.
    x = np.array([1, 2, 3, 4], dtype=np.float32)
    y = np.array([2, 4, 6, 8], dtype=np.float32)
    w = np.float32(0.0)
    for _ in range(2):
        y_pred = w * x
        loss = ((y_pred - y) ** 2).mean()
        w -= 0.01 * np.dot(2 * x, y_pred - y).mean()
    if np.__version__.startswith("1."):
        pytest.skip("NumPy 1 promotes w to float64 itself")
    assert f"{loss:.8f}" == "4.80000067"


def test_log_every_and_epochs_pick_the_printed_lines(gdviz_run, reference) -> None:
    done = gdviz_run("--trainer", "autograd", "--log-every", "20", "--epochs", "60")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split("\n")
    expected = [line for line in reference["autograd"] if line.startswith(("epoch 1:", "epoch 21:",
                                                                             "epoch 41:"))]
    assert lines[:3] == expected
    assert lines[3].startswith("prediction after training: f(5)")
