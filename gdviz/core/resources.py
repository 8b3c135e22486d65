"""Where the shipped data files (presets, icons) live.

In a source checkout or an editable install they are in the top-level `resources/` folder; an
installed wheel carries the same folder as `gdviz/resources/` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """The folder holding `presets/`, `icons/` and the other shipped files."""
    installed = _PACKAGE_DIR / "resources"
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
