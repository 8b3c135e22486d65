"""The notebook's lessons as switches: a line of the cell left out, with torch's real behaviour."""

from __future__ import annotations

import json

import pytest
import torch

from gdviz.core.config import ConfigError, build_config
from gdviz.core.trainers import make_trainer


def plain_autograd_loop_without_zero_grad(epochs: int, lr: float = 0.01) -> list[float]:
    """The notebook's autograd cell with `w.grad.zero_()` left out, written out plainly."""
    x = torch.tensor([1, 2, 3, 4], dtype=torch.float32)
    y = torch.tensor([2, 4, 6, 8], dtype=torch.float32)
    w = torch.tensor(0.0, dtype=torch.float32, requires_grad=True)
    grads = []
    for _ in range(epochs):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        assert w.grad is not None
        grads.append(w.grad.item())
        with torch.no_grad():
            w -= lr * w.grad
    return grads


def test_without_zero_grad_the_autograd_gradients_add_up() -> None:
    trainer = make_trainer(build_config("autograd", {"forget_zero_grad": True}))
    recorded = [trainer.step().grads[0] for _ in range(5)]
    assert recorded == plain_autograd_loop_without_zero_grad(5)
    # Epoch 2's w.grad is epoch 1's gradient plus epoch 2's own (at w after epoch 1's update).
    fresh = make_trainer(build_config("autograd", {"w0": 0.3}))  # w after epoch 1
    own_epoch_2 = fresh.step().grads[0]
    assert recorded[1] == pytest.approx(recorded[0] + own_epoch_2, rel=1e-6)
    assert recorded[1] == pytest.approx(-30.0 + -25.5, rel=1e-6)


def test_without_zero_grad_nn_accumulates_both_gradients() -> None:
    normal = make_trainer(build_config("nn"))
    lesson = make_trainer(build_config("nn", {"forget_zero_grad": True}))
    first = normal.step().grads
    assert lesson.step().grads == first  # epoch 1 is the same
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for _ in range(3):
        torch.nn.MSELoss()(y, model(x)).backward()
        optimizer.step()  # no zero_grad: the lesson, in plain torch
    expected = (model.weight.grad.item(), model.bias.grad.item())  # type: ignore[union-attr]
    lesson.step()
    assert lesson.step().grads == expected


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
def test_updating_outside_no_grad_raises_torchs_own_error(trainer: str) -> None:
    lesson = make_trainer(build_config(trainer, {"update_with_grad": True}))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        lesson.step()


def test_lessons_are_for_the_torch_trainers_only() -> None:
    with pytest.raises(ConfigError, match="--forget-zero-grad applies only to the autograd, nn"):
        build_config("numpy", {"forget_zero_grad": True})
    config = build_config("nn", {"forget_zero_grad": True, "update_with_grad": True})
    assert not config.replace(trainer="numpy").forget_zero_grad  # switched off by the switch
    assert config.replace(trainer="autograd").forget_zero_grad


def test_cli_update_with_grad_exits_with_torchs_error_in_one_line(gdviz_run) -> None:
    result = gdviz_run("--trainer", "autograd", "--update-with-grad")
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "RuntimeError: a leaf Variable that requires grad" in lines[0]


def test_cli_forget_zero_grad_prints_the_accumulating_run(gdviz_run) -> None:
    result = gdviz_run("--trainer", "autograd", "--forget-zero-grad", "--json",
                       "--epochs", "2")
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()[:2]]
    assert [row["grad_w"] for row in rows] == pytest.approx(
        plain_autograd_loop_without_zero_grad(2))


def test_cli_lesson_on_numpy_is_a_one_line_error(gdviz_run) -> None:
    result = gdviz_run("--trainer", "numpy", "--forget-zero-grad")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "autograd, nn trainers" in result.stderr


def test_cli_update_with_grad_json_ends_with_the_refusal(gdviz_run) -> None:
    result = gdviz_run("--trainer", "autograd", "--update-with-grad", "--json")
    assert result.returncode == 4
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["refused_at"] == 1 and "leaf Variable" in last["error"]
