"""The trainer registry: one spec per trainer, and no trainer-name checks anywhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gdviz.core import transcript
from gdviz.core.config import build_config
from gdviz.core.registry import SPECS, TRAINERS, spec
from gdviz.core.trainers import make_trainer

PACKAGE = Path(__file__).resolve().parent.parent / "gdviz"


def _trainer_name_comparisons(path: Path) -> list[str]:
    """`x == "nn"`, `x != "numpy"`, `x in ("autograd", "nn")`: code that knows trainer names."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Compare):
            continue
        for operand in (node.left, *node.comparators):
            names = [operand] if isinstance(operand, ast.Constant) else (
                list(operand.elts) if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [])
            if any(isinstance(n, ast.Constant) and n.value in TRAINERS for n in names):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_trainer_name_comparisons_outside_the_registry() -> None:
    offenders = [hit for path in sorted(PACKAGE.rglob("*.py")) if path.name != "registry.py"
                 for hit in _trainer_name_comparisons(path)]
    assert offenders == []


def test_the_check_finds_a_comparison(tmp_path: Path) -> None:
    sample = tmp_path / "gdviz" / "sample.py"
    sample.parent.mkdir()
    sample.write_text('if config.trainer == "nn" or kind in ("numpy", "x"):\n    pass\n')
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "gdviz"
    try:
        assert len(_trainer_name_comparisons(sample)) == 2
    finally:
        PACKAGE = saved


@pytest.mark.parametrize("name", TRAINERS)
def test_each_spec_builds_its_trainer_with_its_parameters(name: str) -> None:
    trainer_spec = spec(name)
    config = build_config(name)
    trainer = make_trainer(config)
    assert trainer.param_names == trainer_spec.param_names == config.param_names
    assert config.epochs == trainer_spec.defaults["epochs"]
    assert config.log_every == trainer_spec.defaults["log_every"]
    assert trainer_spec.needs_torch == (name != "numpy")
    assert trainer_spec.gradient_formula(config.gradient)


def test_print_formats_come_from_the_specs() -> None:
    assert transcript.before_line("numpy", 5.0, 0.0) == "prediction before training: f(5)0.000"
    assert transcript.before_line("nn", 5.0, 0.5) == "prediction before training: f(5.0)0.500"
    assert transcript.before_line("autograd", 5.0, 0.0) is None
    assert transcript.format_epoch("nn", 1, 0.5, 1.0).endswith("1.00000000")
    assert transcript.format_epoch("numpy", 1, 0.5, 1.0).endswith("1.00000000 ")


def test_only_the_notebook_gradient_is_scaled() -> None:
    assert SPECS["numpy"].gradient_scale("notebook", 4) == 4.0
    assert SPECS["numpy"].gradient_scale("mean", 4) == 1.0
    assert SPECS["nn"].gradient_scale(None, 4) == 1.0
    assert SPECS["nn"].min_points == 2 and SPECS["autograd"].min_points == 1


def test_readme_and_the_nn_spec_say_why_nn_numbers_differ() -> None:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    assert "For the torch.nn cell it cannot" in readme
    assert "manual_seed" in SPECS["nn"].note and SPECS["nn"].note_brief
    assert not SPECS["numpy"].note and not SPECS["autograd"].note
