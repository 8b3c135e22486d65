"""`gdviz run --json` against an independent float64 re-implementation of the three loops."""

from __future__ import annotations

import contextlib
import io
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdviz.cli import main

RTOL = 1e-4  # the trainers compute in float32, the reference in float64


def run_json(*args: str) -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
    """The real CLI, in process: (exit status, epoch rows, other rows)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["run", "--json", *args])
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    return status, [r for r in rows if "epoch" in r], [r for r in rows if "epoch" not in r]


def reference_run(trainer: str, x: np.ndarray, y: np.ndarray, lr: float, epochs: int,
                  w0: float, b0: float = 0.0, gradient: str = "notebook") -> list[dict[str, float]]:
    """Plain float64 gradient descent on mean((w x + b - y)^2), written from the spec."""
    w, b = float(w0), float(b0)
    rows = []
    for epoch in range(1, epochs + 1):
        residual = w * x + b - y
        loss = float(np.mean(residual**2))
        grad_w = 2.0 * float(np.mean(x * residual))
        grad_b = 2.0 * float(np.mean(residual))
        if trainer == "numpy" and gradient == "notebook":
            grad_w *= x.size  # np.dot(2*x, y_pred - y).mean() is a sum, not a mean
        w -= lr * grad_w
        row = {"epoch": epoch, "loss": loss, "w": w, "grad_w": grad_w}
        if trainer == "nn":
            b -= lr * grad_b
            row.update(b=b, grad_b=grad_b)
        rows.append(row)
    return rows


def stable_lr(trainer: str, x: np.ndarray, fraction: float, gradient: str = "notebook") -> float:
    """`fraction` of the largest stable learning rate, derived here from the Hessian."""
    if trainer == "nn":
        hessian = 2.0 / x.size * np.array([[x @ x, x.sum()], [x.sum(), x.size]])
    else:
        scale = x.size if trainer == "numpy" and gradient == "notebook" else 1
        hessian = np.array([[2.0 * scale * np.mean(x * x)]])
    return fraction * 2.0 / float(np.linalg.eigvalsh(hessian)[-1])


def assert_rows_match(got: list[dict[str, Any]], expected: list[dict[str, float]],
                      scale: float) -> None:
    assert [r["epoch"] for r in got] == [r["epoch"] for r in expected]
    for g, e in zip(got, expected, strict=True):
        assert set(g) == set(e), (g, e)
        for key, value in e.items():
            assert g[key] is not None
            assert math.isclose(g[key], value, rel_tol=RTOL, abs_tol=RTOL * scale), (key, g, e)


def numbers(values: np.ndarray) -> str:
    return ",".join(f"{v:.3f}" for v in values)


def make_data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.round(rng.uniform(-2.0, 2.0, n), 3)
    if np.ptp(x) < 0.5:  # keep the problem well conditioned so float32 stays within RTOL
        x[0] = x[1] + 1.0
    y = np.round(rng.uniform(-1.5, 1.5) * x + rng.uniform(-1, 1) + rng.normal(0, 0.3, n), 3)
    return x, y


cases = st.fixed_dictionaries({
    "seed": st.integers(0, 2**32 - 1),
    "n": st.integers(2, 12),
    "fraction": st.floats(0.05, 0.6),
    "epochs": st.integers(1, 40),
    "w0": st.floats(-2.0, 2.0).map(lambda v: round(v, 3)),
    "b0": st.floats(-2.0, 2.0).map(lambda v: round(v, 3)),
    "log_every": st.integers(1, 50),
})


def _scale(x: np.ndarray, y: np.ndarray, w0: float, b0: float) -> float:
    return max(1.0, float(np.mean((w0 * x + b0 - y) ** 2)), float(np.abs(y).max()))


@settings(max_examples=25, deadline=None)
@given(case=cases, gradient=st.sampled_from(["notebook", "mean"]))
def test_numpy_json_matches_float64_reference(case: dict[str, Any], gradient: str) -> None:
    x, y = make_data(case["seed"], case["n"])
    lr = stable_lr("numpy", x, case["fraction"], gradient)
    status, rows, tail = run_json(
        "--trainer", "numpy", "--x", numbers(x), "--y", numbers(y), "--lr", repr(lr),
        "--epochs", str(case["epochs"]), "--w0", repr(case["w0"]), "--gradient", gradient,
        "--log-every", str(case["log_every"]))
    assert status == 0
    expected = reference_run("numpy", x, y, lr, case["epochs"], case["w0"], gradient=gradient)
    assert_rows_match(rows, expected, _scale(x, y, case["w0"], 0.0))
    assert tail[-1]["epochs_run"] == case["epochs"]


@settings(max_examples=15, deadline=None)
@given(case=cases)
def test_autograd_json_matches_float64_reference(case: dict[str, Any]) -> None:
    x, y = make_data(case["seed"], case["n"])
    lr = stable_lr("autograd", x, case["fraction"])
    status, rows, _ = run_json(
        "--trainer", "autograd", "--x", numbers(x), "--y", numbers(y), "--lr", repr(lr),
        "--epochs", str(case["epochs"]), "--w0", repr(case["w0"]),
        "--log-every", str(case["log_every"]))
    assert status == 0
    expected = reference_run("autograd", x, y, lr, case["epochs"], case["w0"])
    assert_rows_match(rows, expected, _scale(x, y, case["w0"], 0.0))


@settings(max_examples=15, deadline=None)
@given(case=cases)
def test_nn_json_with_w0_b0_matches_float64_reference(case: dict[str, Any]) -> None:
    x, y = make_data(case["seed"], case["n"])
    lr = stable_lr("nn", x, case["fraction"])
    status, rows, _ = run_json(
        "--trainer", "nn", "--x", numbers(x), "--y", numbers(y), "--lr", repr(lr),
        "--epochs", str(case["epochs"]), "--w0", repr(case["w0"]), "--b0", repr(case["b0"]),
        "--log-every", str(case["log_every"]))
    assert status == 0
    expected = reference_run("nn", x, y, lr, case["epochs"], case["w0"], case["b0"])
    assert_rows_match(rows, expected, _scale(x, y, case["w0"], case["b0"]))


@pytest.mark.parametrize("seed", [0, 1, 12345])
def test_nn_json_with_seed_starts_from_torch_init(seed: int) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(seed)
    layer = torch.nn.Linear(1, 1)  # the spec: manual_seed(seed), then nn.Linear
    w0, b0 = layer.weight.item(), layer.bias.item()
    x, y = make_data(seed, 6)
    lr = stable_lr("nn", x, 0.3)
    status, rows, _ = run_json("--trainer", "nn", "--seed", str(seed), "--x", numbers(x),
                               "--y", numbers(y), "--lr", repr(lr), "--epochs", "30")
    assert status == 0
    assert_rows_match(rows, reference_run("nn", x, y, lr, 30, w0, b0), _scale(x, y, w0, b0))


def test_nn_seed_does_not_disturb_global_torch_state() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    run_json("--trainer", "nn", "--seed", "3", "--epochs", "1")
    assert torch.equal(torch.rand(3), expected)


def test_notebook_gradient_is_n_times_mean_gradient() -> None:
    x, y = make_data(3, 5)
    args = ("--trainer", "numpy", "--x", numbers(x), "--y", numbers(y), "--epochs", "1",
            "--w0", "0.5", "--lr", "0.001")
    _, notebook, _ = run_json(*args, "--gradient", "notebook")
    _, mean, _ = run_json(*args, "--gradient", "mean")
    assert notebook[0]["loss"] == mean[0]["loss"]
    assert notebook[0]["grad_w"] == pytest.approx(x.size * mean[0]["grad_w"], rel=1e-6)
    # and each moved w by lr times its own gradient
    for row in (notebook[0], mean[0]):
        assert row["w"] == pytest.approx(0.5 - 0.001 * row["grad_w"], rel=1e-9)


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_every_epoch_is_present_whatever_log_every(trainer: str) -> None:
    status, rows, tail = run_json("--trainer", trainer, "--epochs", "23", "--log-every", "10")
    assert status == 0
    assert [r["epoch"] for r in rows] == list(range(1, 24))
    keys = {"epoch", "loss", "w", "grad_w"} | ({"b", "grad_b"} if trainer == "nn" else set())
    assert all(set(r) == keys for r in rows)
    assert len(tail) == 1 and tail[0]["epochs_run"] == 23


def test_json_loss_is_before_and_w_after_the_update() -> None:
    # The notebook's data from w=0: loss 30 at w=0, then w = 1.2 (reference lines, epoch 1).
    _, rows, tail = run_json("--trainer", "numpy", "--epochs", "10")
    assert rows[0]["loss"] == pytest.approx(30.0)
    assert rows[0]["w"] == pytest.approx(1.2)
    assert rows[0]["grad_w"] == pytest.approx(-120.0)
    assert tail[0]["prediction"] == pytest.approx(5 * rows[-1]["w"])


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_json_lines_through_a_subprocess(trainer: str, gdviz_run) -> None:
    done = gdviz_run("--trainer", trainer, "--json", "--epochs", "5", "--log-every", "3")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["epoch"] for r in rows if "epoch" in r] == [1, 2, 3, 4, 5]
    assert len(rows) == 6
