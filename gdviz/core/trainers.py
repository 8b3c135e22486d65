"""The notebook's three training loops, one epoch per `step()` call.

Each trainer keeps the notebook's arithmetic exactly (dtypes included), so its numbers print
digit for digit like the lecture's. torch is imported inside the torch trainers only, so the
numpy trainer (and the window's start-up) never pays for it.

With plain SGD (the default) each trainer runs its cell's own update line, unchanged. Any other
optimizer (gdviz.core.optimizers) replaces that line: float64 arithmetic in the numpy cell,
torch.optim's operations written out in the autograd cell, torch.optim.<Name> in the nn cell;
the records then carry the optimizer's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.optimizers import (
    FloatOptimizer,
    TensorOptimizer,
    torch_optimizer,
    torch_state_reader,
)
from gdviz.core.records import OptimizerState, StepRecord


class Trainer(Protocol):
    kind: str
    param_names: tuple[str, ...]
    epoch: int

    def params(self) -> tuple[float, ...]: ...

    def step(self) -> StepRecord: ...

    def predict(self, x: float) -> float: ...


def make_trainer(config: RunConfig) -> Trainer:
    if config.race:  # the lead and the race's other lanes, stepped together
        from gdviz.core.race import RaceTrainer

        return RaceTrainer(config)
    trainer: Trainer = config.spec.build(config)
    return trainer


def data_arrays(config: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    """X and Y as the notebook builds them: float32."""
    return np.array(config.x, dtype=np.float32), np.array(config.y, dtype=np.float32)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class NumpyTrainer:
    """f = w*x with the hand-derived gradient of the notebook's first cell.

    The notebook ran on NumPy 1.x: `w -= learning_rate * dw` made `w` a float64 there, while the
    forward pass and the loss stayed float32. Under NumPy 2 (NEP 50) the same literal code keeps
    `w` in float32 and prints 4.80000067 at epoch 2 instead of the lecture's 4.79999924, so the
    dtypes are spelled out here: w lives as a Python float, the forward pass casts it to float32.
    """

    kind = "numpy"
    param_names = ("w",)

    def __init__(self, config: RunConfig) -> None:
        self.lr = config.lr
        self.gradient_mode = config.gradient or "notebook"
        self.epoch = 0
        self._x, self._y = data_arrays(config)
        self._two_x = 2 * self._x  # the notebook's `2*x`, computed once
        self._n = np.float32(self._x.size)
        self._count = np.intp(self._x.size)
        self._w = float(config.w0 or 0.0)
        optimizer = config.optimizer_config
        # None: plain SGD, the notebook's `w -= learning_rate * dw`.
        self._optimizer = None if optimizer.is_plain_sgd else FloatOptimizer(optimizer, config.lr)

    def params(self) -> tuple[float, ...]:
        return (self._w,)


    def step(self) -> StepRecord:
        w = self._w
        y_pred = np.float32(w) * self._x
        error = y_pred - self._y
        # `(error**2).mean()`, as numpy computes it (the float32 sum over the float64 division
        # by the count, rounded to float32) without ndarray.mean's ~8 us of bookkeeping.
        loss = np.float32(np.add.reduce(error**2) / self._count)
        # The notebook's np.dot(2*x, y_pred - y).mean(): .mean() of a scalar changes nothing, so
        # this is N times the true MSE gradient. "mean" mode divides by N, as the docstring meant.
        dw = np.dot(self._two_x, error)
        if self.gradient_mode == "mean":
            dw = dw / self._n
        grad = float(dw)
        optimizer = self._optimizer
        if optimizer is None:
            self._w = w - self.lr * grad
            self.epoch += 1
            return StepRecord(self.epoch, (w,), (self._w,), float(loss), (grad,),
                              _read_only(y_pred))
        self._w = optimizer.step(w, grad)
        self.epoch += 1
        return StepRecord(self.epoch, (w,), (self._w,), float(loss), (grad,), _read_only(y_pred),
                          optimizer.state())

    def predict(self, x: float) -> float:
        """The notebook's `forward(5)`: Python arithmetic on the float64 w."""
        return self._w * x


class AutogradTrainer:
    """f = w*x with a scalar float32 tensor w, `l.backward()`, update under no_grad, zero_().

    The lessons leave a line out, for real: without `w.grad.zero_()` the gradients of all
    epochs add up in w.grad (and the update uses the sum); without `torch.no_grad()` torch
    raises its own RuntimeError at the in-place update of a leaf that requires grad. Both hold
    for every optimizer: its update uses w.grad as it is, and changes w in place.
    """

    kind = "autograd"
    param_names = ("w",)

    def __init__(self, config: RunConfig) -> None:
        import torch

        self._torch = torch
        self.lr = config.lr
        self.epoch = 0
        self.forget_zero_grad = config.forget_zero_grad
        self.update_with_grad = config.update_with_grad
        self._x = torch.tensor(config.x, dtype=torch.float32)
        self._y = torch.tensor(config.y, dtype=torch.float32)
        self._w = torch.tensor(float(config.w0 or 0.0), dtype=torch.float32, requires_grad=True)
        self._w_value = self._w.item()
        optimizer = config.optimizer_config
        # None: plain SGD, the notebook's `w -= learning_rate * w.grad`.
        self._optimizer = None if optimizer.is_plain_sgd else TensorOptimizer(optimizer,
                                                                              config.lr)

    def params(self) -> tuple[float, ...]:
        return (self._w_value,)


    def step(self) -> StepRecord:
        w = self._w
        y_pred = w * self._x
        loss = ((y_pred - self._y) ** 2).mean()
        loss.backward()
        grad = w.grad
        assert grad is not None  # backward() just filled it
        grad_value = grad.item()
        optimizer = self._optimizer
        if self.update_with_grad:  # the lesson: torch raises its RuntimeError (a leaf in-place)
            if optimizer is None:
                w -= self.lr * grad
            else:
                optimizer.step(w, grad)
        else:
            with self._torch.no_grad():
                if optimizer is None:
                    w -= self.lr * grad
                else:
                    optimizer.step(w, grad)
        if not self.forget_zero_grad:
            grad.zero_()
        before = self._w_value
        self._w_value = w.item()
        self.epoch += 1
        return StepRecord(self.epoch, (before,), (self._w_value,), loss.item(), (grad_value,),
                          y_pred.detach(), None if optimizer is None else optimizer.state())

    def predict(self, x: float) -> float:
        with self._torch.no_grad():
            return (self._w * x).item()


class NNTrainer:
    """nn.Linear(1, 1) + nn.MSELoss + torch.optim.SGD, the notebook's third cell.

    Another optimizer is torch.optim's own class; its state is read after each step.
    """

    kind = "nn"
    param_names = ("w", "b")

    def __init__(self, config: RunConfig) -> None:
        import torch
        from torch import nn

        self._torch = torch
        self.lr = config.lr
        self.epoch = 0
        self.forget_zero_grad = config.forget_zero_grad
        self.update_with_grad = config.update_with_grad
        # The notebook seeds nothing; the reference lines use manual_seed(seed) right before
        # nn.Linear is built. fork_rng keeps the caller's global random state untouched.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model = nn.Linear(1, 1)
        with torch.no_grad():
            if config.w0 is not None:
                self.model.weight.fill_(config.w0)
            if config.b0 is not None:
                self.model.bias.fill_(config.b0)
        self._x = torch.tensor(config.x, dtype=torch.float32).reshape(-1, 1)
        self._y = torch.tensor(config.y, dtype=torch.float32).reshape(-1, 1)
        self._loss = nn.MSELoss()
        optimizer = config.optimizer_config
        parameters = (self.model.weight, self.model.bias)  # param_names' order
        self._read_state: Callable[[], OptimizerState | None] | None = None
        # The update_with_grad lesson's update by hand: None for SGD's line, else per parameter
        # torch.optim's operations written out (they fail the same way, at the in-place update).
        self._by_hand: tuple[TensorOptimizer, ...] | None = None
        if optimizer.is_plain_sgd:
            self._optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr)
        else:
            self._optimizer = torch_optimizer(optimizer, self.model.parameters(), config.lr)
            if optimizer.state_keys():
                self._read_state = torch_state_reader(optimizer, self._optimizer, parameters)
            self._by_hand = tuple(TensorOptimizer(optimizer, config.lr) for _ in parameters)
        self._params = self._read_params()

    def _read_params(self) -> tuple[float, float]:
        return (self.model.weight.item(), self.model.bias.item())

    def params(self) -> tuple[float, ...]:
        return self._params


    def step(self) -> StepRecord:
        y_pred = self.model(self._x)
        loss = self._loss(self._y, y_pred)  # the notebook's argument order, kept on purpose
        loss.backward()
        weight, bias = self.model.weight, self.model.bias
        assert weight.grad is not None and bias.grad is not None  # backward() just filled them
        grads = (weight.grad.item(), bias.grad.item())
        if self.update_with_grad:
            # The lesson: the cell's update written by hand without torch.no_grad() (SGD's
            # step() runs under no_grad itself); torch raises its RuntimeError here.
            by_hand = self._by_hand
            for i, (parameter, grad) in enumerate(((weight, weight.grad), (bias, bias.grad))):
                if by_hand is None:
                    parameter -= self.lr * grad
                else:
                    by_hand[i].step(parameter, grad)
        else:
            self._optimizer.step()
        if not self.forget_zero_grad:
            self._optimizer.zero_grad()
        before = self._params
        self._params = self._read_params()
        self.epoch += 1
        read_state = self._read_state
        return StepRecord(self.epoch, before, self._params, loss.item(), grads,
                          y_pred.detach(), None if read_state is None else read_state())

    def predict(self, x: float) -> float:
        with self._torch.no_grad():
            predicted: float = self.model(self._torch.tensor([x], dtype=self._torch.float32)).item()
            return predicted
