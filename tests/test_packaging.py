"""The README's test command is CI's, and resources/ ships inside the wheel as gdviz/resources/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import gdviz
from gdviz.core.config import available_presets
from gdviz.core.resources import resources_dir

REPO = Path(__file__).resolve().parent.parent
PRESET_IN_WHEEL = "gdviz/resources/presets/notebook-numpy.json"


def test_readme_test_command_is_in_ci_verbatim() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"Install and run the tests:\s*\n+```[a-z]*\n(.+?)\n```", readme)
    assert match, "README has no fenced command after 'Install and run the tests:'"
    command = match.group(1)
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in ci_lines


def test_editable_install_finds_the_repos_resources() -> None:
    if not (REPO / "pyproject.toml").is_file() or Path(gdviz.__file__).parent != REPO / "gdviz":
        pytest.skip("gdviz is imported from an installed wheel, not this checkout")
    assert resources_dir() == REPO / "resources"
    assert "notebook-numpy" in available_presets()
    presets = {p.stem for p in (REPO / "resources" / "presets").glob("*.json")}
    assert set(available_presets()) == presets


def _copy_source(target: Path) -> Path:
    """The checkout without build litter, so the build neither sees nor leaves any."""
    skip = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                                  ".pytest_cache", ".ruff_cache", ".mypy_cache", ".hypothesis",
                                  "shots")
    return Path(shutil.copytree(REPO, target, ignore=skip))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = _copy_source(work / "src")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(work / "dist"), str(source)],
                   check=True, capture_output=True, text=True, timeout=600)
    (built,) = (work / "dist").glob("gdviz-*.whl")
    return built


@pytest.mark.slow
def test_wheel_carries_the_resources(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert PRESET_IN_WHEEL in names
    for preset in (REPO / "resources" / "presets").glob("*.json"):
        assert f"gdviz/resources/presets/{preset.name}" in names
    assert not any(name.startswith(("resources/", "tests/")) for name in names)


@pytest.mark.slow
def test_installed_wheel_runs_from_anywhere(wheel: Path, tmp_path: Path, reference) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps",
                    str(wheel), "numpy"], check=True, timeout=600, env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    done = subprocess.run([str(bin_dir / "gdviz"), "run", "--preset", "notebook-numpy"],
                          capture_output=True, text=True, timeout=120, cwd=elsewhere, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [*reference["numpy"], ""]

    script = ("import gdviz, gdviz.core.resources as r\n"
              "print(gdviz.__file__)\nprint(r.resources_dir())")
    where = subprocess.run([str(bin_dir / "python"), "-c", script], capture_output=True,
                           text=True, timeout=60, cwd=elsewhere, env=env, check=True)
    module_file, resources = (Path(line) for line in where.stdout.splitlines())
    assert module_file.resolve().is_relative_to(venv.resolve())
    assert resources.resolve().is_relative_to(venv.resolve())
    assert (resources / "presets" / "notebook-numpy.json").is_file()
