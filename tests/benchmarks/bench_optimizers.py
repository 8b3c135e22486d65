"""Optimizer loop benchmarks, run by hand: `python tests/benchmarks/bench_optimizers.py`.

For each optimizer, gdviz's headless loop (train() into a History, the optimizer state recorded
every epoch) against the equivalent bare loop, measured in this one run: both timed in
alternating chunks of 1,000 epochs (the machine is shared: load that comes and goes hits both),
the median over repeats of bare_time / gdviz_time is the speed ratio, target >= 0.8:
- nn: the notebook's nn cell with torch.optim.<Name> in place of SGD;
- numpy: the notebook's numpy cell with the optimizer's update written inline in numpy float64
  (np.float64 scalars and np.sqrt, as one would write it in the notebook);
- autograd (for information, no target): the notebook's autograd cell with torch.optim.<Name>
  stepping w, against gdviz's update written out with torch operations.
SGD here has momentum 0.9 (plain SGD is the notebook's loop: bench_core.py); the others run
with torch's defaults. Not a test: pytest never collects tests/benchmarks/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from gdviz.core.config import build_config
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, train

EPOCHS = 10_000
LR = 0.01  # the notebook's; every optimizer below stays finite over 10,000 epochs with it
SETTINGS: dict[str, dict[str, Any]] = {
    "sgd": {"momentum": 0.9}, "adam": {}, "adamw": {}, "rmsprop": {}, "adagrad": {}}
TORCH_CLASSES = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop",
                 "adagrad": "Adagrad"}


# Each loop is built once per repeat and then timed in alternating chunks (bare, gdviz, bare,
# ...): this machine is shared, and load that comes and goes then hits both loops alike.
Loop = Callable[[int], float]  # runs n more epochs, returns the seconds they took
CHUNK = 1_000


# --- bare numpy loops: the notebook's cell, its update line replaced by the optimizer's -------

def bare_numpy(name: str) -> Loop:
    X = np.array([1, 2, 3, 4], dtype=np.float32)
    Y = np.array([2, 4, 6, 8], dtype=np.float32)
    w = np.float64(0.0)

    def forward(x):
        return np.float32(w) * x

    def loss(y, y_predicted):
        return ((y_predicted - y) ** 2).mean()

    def gradient(x, y, y_predicted):
        return np.dot(2 * x, y_predicted - y).mean()

    learning_rate = LR
    momentum, beta1, beta2, alpha = 0.9, 0.9, 0.999, 0.99
    eps = 1e-10 if name == "adagrad" else 1e-8
    weight_decay = 1e-2 if name == "adamw" else 0.0
    buf = m = v = np.float64(0.0)
    done = 0

    def run(epochs: int) -> float:
        nonlocal w, buf, m, v, done
        start = time.perf_counter()
        for epoch in range(done, done + epochs):
            y_pred = forward(X)
            l = loss(Y, y_pred)  # noqa: E741, F841 - the notebook's name; computed as there
            dw = np.float64(gradient(X, Y, y_pred))
            if name == "sgd":
                buf = dw if epoch == 0 else momentum * buf + dw
                w -= learning_rate * buf
            elif name in ("adam", "adamw"):
                t = epoch + 1
                if weight_decay != 0:
                    w *= 1 - learning_rate * weight_decay
                m = beta1 * m + (1 - beta1) * dw
                v = beta2 * v + (1 - beta2) * dw * dw
                w -= learning_rate / (1 - beta1**t) * m / (np.sqrt(v / (1 - beta2**t)) + eps)
            elif name == "rmsprop":
                v = alpha * v + (1 - alpha) * dw * dw
                w -= learning_rate * dw / (np.sqrt(v) + eps)
            else:
                v += dw * dw
                w -= learning_rate * dw / (np.sqrt(v) + eps)
            if epoch % 1 == 0:
                pass
        elapsed = time.perf_counter() - start
        done += epochs
        assert np.isfinite(w)
        return elapsed

    return run


# --- bare torch loops: the notebook's cells with torch.optim.<Name> ----------------------------

def bare_nn(name: str) -> Loop:
    import torch
    from torch import nn

    X = torch.tensor([[1], [2], [3], [4]], dtype=torch.float32)
    Y = torch.tensor([[2], [4], [6], [8]], dtype=torch.float32)
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    loss = nn.MSELoss()
    optimizer = getattr(torch.optim, TORCH_CLASSES[name])(model.parameters(), lr=LR,
                                                          **SETTINGS[name])

    def run(epochs: int) -> float:
        start = time.perf_counter()
        for epoch in range(epochs):
            y_pred = model(X)
            l = loss(Y, y_pred)  # noqa: E741
            l.backward()
            optimizer.step()
            optimizer.zero_grad()
            if epoch % 10 == 0:
                pass
        return time.perf_counter() - start

    return run


def bare_autograd(name: str) -> Loop:
    import torch

    X = torch.tensor([1, 2, 3, 4], dtype=torch.float32)
    Y = torch.tensor([2, 4, 6, 8], dtype=torch.float32)
    w = torch.tensor(0.0, dtype=torch.float32, requires_grad=True)
    optimizer = getattr(torch.optim, TORCH_CLASSES[name])([w], lr=LR, **SETTINGS[name])

    def forward(x):
        return w * x

    def loss(y, y_predicted):
        return ((y_predicted - y) ** 2).mean()

    def run(epochs: int) -> float:
        start = time.perf_counter()
        for epoch in range(epochs):
            y_pred = forward(X)
            l = loss(Y, y_pred)  # noqa: E741
            l.backward()
            optimizer.step()
            optimizer.zero_grad()
            if epoch % 10 == 0:
                pass
        return time.perf_counter() - start

    return run


BARE: dict[str, Callable[[str], Loop]] = {
    "numpy": bare_numpy, "nn": bare_nn, "autograd": bare_autograd}
TARGETS = {"numpy": 0.8, "nn": 0.8, "autograd": None}


def gdviz_loop(trainer_name: str, name: str) -> Loop:
    """train() into a History, as the window's worker runs it; set-up outside the timer."""
    config = build_config(trainer=trainer_name, explicit={
        "epochs": EPOCHS, "lr": LR, "optimizer": name, **SETTINGS[name]})
    trainer = make_trainer(config)
    history = new_history(trainer)

    def run(epochs: int) -> float:
        start = time.perf_counter()
        outcome = train(trainer, epochs, history)
        elapsed = time.perf_counter() - start
        assert outcome.diverged_at is None
        return elapsed

    return run


def timed_pair(trainer_name: str, name: str) -> tuple[float, float]:
    """(bare, gdviz) seconds for EPOCHS epochs each, timed in alternating chunks."""
    bare, ours = BARE[trainer_name](name), gdviz_loop(trainer_name, name)
    bare_time = gdviz_time = 0.0
    for _ in range(EPOCHS // CHUNK):
        bare_time += bare(CHUNK)
        gdviz_time += ours(CHUNK)
    return bare_time, gdviz_time


def bench(repeats: int, trainers: list[str]) -> None:
    print(f"## optimizer loops, {EPOCHS:,} epochs in alternating chunks of {CHUNK:,}, median of "
          f"{repeats} (speed ratio = bare/gdviz)")
    for trainer_name in trainers:
        for name in SETTINGS:
            BARE[trainer_name](name)(200)  # warm-up: torch's first backward, numpy's caches
            gdviz_loop(trainer_name, name)(200)
            pairs = [timed_pair(trainer_name, name) for _ in range(repeats)]
            b = statistics.median(pair[0] for pair in pairs)
            g = statistics.median(pair[1] for pair in pairs)
            ratio = statistics.median(pair[0] / pair[1] for pair in pairs)
            target = TARGETS[trainer_name]
            verdict = ("no target" if target is None else
                       f"target >= {target}: {'ok' if ratio >= target else 'MISSED'}")
            print(f"{trainer_name:8s} {name:8s} bare {b * 1e6 / EPOCHS:7.2f} us/epoch   "
                  f"gdviz {g * 1e6 / EPOCHS:7.2f} us/epoch   speed ratio {ratio:5.2f}  "
                  f"({verdict})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--trainers", default="numpy,nn,autograd",
                        help="comma-separated, from numpy, nn, autograd")
    options = parser.parse_args()
    import torch

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    bench(options.repeats, options.trainers.split(","))


if __name__ == "__main__":
    main()
