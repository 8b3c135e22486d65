"""The house rules: gdviz.core never imports Qt or the UI, and torch only when it must."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import gdviz.core

CORE_DIR = Path(gdviz.core.__file__).resolve().parent
FORBIDDEN = ("PySide6", "pyqtgraph", "gdviz.ui", "shiboken6")


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` names, anywhere in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            names.update(arg.value for arg in node.args
                         if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return names


def _is_forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_core_sources_never_import_qt_or_ui() -> None:
    files = sorted(CORE_DIR.rglob("*.py"))
    assert len(files) >= 8  # the scan really sees the package
    offenders = {str(f.relative_to(CORE_DIR)): sorted(filter(_is_forbidden, imported_modules(f)))
                 for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_scan_catches_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from pyqtgraph.Qt import QtCore\n    import gdviz.ui.app\n")
    assert sorted(filter(_is_forbidden, imported_modules(bad))) == [
        "gdviz.ui.app", "pyqtgraph.Qt", "pyqtgraph.Qt.QtCore"]


def test_importing_all_of_core_loads_no_qt_and_no_torch() -> None:
    modules = sorted(f"gdviz.core.{m.name}" for m in pkgutil.iter_modules([str(CORE_DIR)]))
    assert "gdviz.core.trainers" in modules
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import gdviz.cli\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'pyqtgraph', 'torch', 'shiboken6'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout) == []
