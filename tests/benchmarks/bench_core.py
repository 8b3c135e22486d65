"""Core benchmarks, run by hand: `python tests/benchmarks/bench_core.py [--repeats N]`.

Prints ratios measured in this one run (medians over repeats), so machines compare themselves:
- gdviz's headless loop (train() into a History, no printing) against the notebook's bare loop;
  speed ratio = bare_time / gdviz_time, target >= 0.8;
- the 512x512 loss surface of a 1,000,000-sample dataset, target <= 50 ms;
- `python -X importtime -m gdviz run --trainer numpy`: torch imported or not, total import time.
Not a test: pytest never collects tests/benchmarks/.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from gdviz.core.config import build_config
from gdviz.core.surface import LossLandscape, SufficientStats
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, train

EPOCHS = 10_000
LR = 0.01  # the notebook's; over 10,000 epochs w settles at 2 and everything stays finite


# --- The notebook's loops, as written in its cells (printing left out on both sides). ---

def bare_numpy(epochs: int) -> float:
    X = np.array([1, 2, 3, 4], dtype=np.float32)
    Y = np.array([2, 4, 6, 8], dtype=np.float32)
    w = 0.0

    def forward(x):
        return w * x

    def loss(y, y_predicted):
        return ((y_predicted - y) ** 2).mean()

    def gradient(x, y, y_predicted):
        return np.dot(2 * x, y_predicted - y).mean()

    learning_rate = LR
    start = time.perf_counter()
    for epoch in range(epochs):
        y_pred = forward(X)
        l = loss(Y, y_pred)  # noqa: E741, F841 - the notebook's name; computed as there
        dw = gradient(X, Y, y_pred)
        w -= learning_rate * dw
        if epoch % 1 == 0:
            pass
    return time.perf_counter() - start


def bare_autograd(epochs: int) -> float:
    import torch

    X = torch.tensor([1, 2, 3, 4], dtype=torch.float32)
    Y = torch.tensor([2, 4, 6, 8], dtype=torch.float32)
    w = torch.tensor(0.0, dtype=torch.float32, requires_grad=True)

    def forward(x):
        return w * x

    def loss(y, y_predicted):
        return ((y_predicted - y) ** 2).mean()

    learning_rate = LR
    start = time.perf_counter()
    for epoch in range(epochs):
        y_pred = forward(X)
        l = loss(Y, y_pred)  # noqa: E741
        l.backward()
        with torch.no_grad():
            w -= learning_rate * w.grad
        w.grad.zero_()
        if epoch % 10 == 0:
            pass
    return time.perf_counter() - start


def bare_nn(epochs: int) -> float:
    import torch
    from torch import nn

    X = torch.tensor([[1], [2], [3], [4]], dtype=torch.float32)
    Y = torch.tensor([[2], [4], [6], [8]], dtype=torch.float32)
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    loss = nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
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


BARE: dict[str, Callable[[int], float]] = {
    "numpy": bare_numpy, "autograd": bare_autograd, "nn": bare_nn}


def gdviz_loop(trainer_name: str, epochs: int) -> float:
    """train() with a History, as the window's worker runs it; set-up outside the timer."""
    trainer = make_trainer(build_config(trainer=trainer_name, explicit={"epochs": epochs,
                                                                        "lr": LR}))
    history = new_history(trainer)
    start = time.perf_counter()
    outcome = train(trainer, epochs, history)
    elapsed = time.perf_counter() - start
    assert outcome.diverged_at is None and len(history) == epochs
    return elapsed


def bench_loops(repeats: int) -> None:
    print(f"## training loops, {EPOCHS:,} epochs, median of {repeats} (speed ratio = bare/gdviz)")
    for name, bare in BARE.items():
        bare(200)  # warm-up: torch's first backward, numpy's dispatch caches
        gdviz_loop(name, 200)
        bare_times, gdviz_times = [], []
        for _ in range(repeats):  # interleaved, so drift hits both alike
            bare_times.append(bare(EPOCHS))
            gdviz_times.append(gdviz_loop(name, EPOCHS))
        b, g = statistics.median(bare_times), statistics.median(gdviz_times)
        verdict = "ok" if b / g >= 0.8 else "MISSED"
        print(f"{name:9s} bare {b * 1e6 / EPOCHS:7.2f} us/epoch   gdviz {g * 1e6 / EPOCHS:7.2f} "
              f"us/epoch   speed ratio {b / g:5.2f}  (target >= 0.8: {verdict})")


def bench_surface(repeats: int) -> None:
    rng = np.random.default_rng(0)
    n = 1_000_000
    x = rng.uniform(-3, 3, n).astype(np.float32)
    y = (1.7 * x - 0.4 + rng.normal(0, 0.5, n)).astype(np.float32)
    stats_times, grid_times = [], []
    w_grid = np.linspace(-1, 4, 512)
    b_grid = np.linspace(-3, 2, 512)
    for _ in range(repeats):
        start = time.perf_counter()
        stats = SufficientStats.from_data(x, y)
        stats_times.append(time.perf_counter() - start)
        landscape = LossLandscape.from_stats(stats, with_bias=True)
        start = time.perf_counter()
        surface = landscape.grid(w_grid, b_grid)
        grid_times.append(time.perf_counter() - start)
    assert surface.shape == (512, 512)
    s, g = statistics.median(stats_times) * 1e3, statistics.median(grid_times) * 1e3
    verdict = "ok" if g <= 50 else "MISSED"
    print(f"## loss surface of {n:,} samples, median of {repeats}")
    print(f"sufficient stats  {s:7.2f} ms (once per dataset)")
    print(f"512x512 grid      {g:7.2f} ms (target <= 50 ms: {verdict})")
    print(f"stats + grid      {s + g:7.2f} ms")


def bench_import(repeats: int) -> None:
    totals, walls, torch_seen = [], [], False
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "gdviz", "run", "--trainer", "numpy"],
            capture_output=True, text=True, check=True)
        walls.append(time.perf_counter() - start)
        total = 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or line.count("|") != 2:
                continue
            _, cumulative, name = line.split("|")
            if name.strip() == "imported package":
                continue
            torch_seen |= name.strip().split(".")[0] == "torch"
            if not name[1:].startswith(" "):  # top level: the name is not indented further
                total += int(cumulative)
        totals.append(total)
    print(f"## python -X importtime -m gdviz run --trainer numpy, median of {repeats}")
    print(f"torch imported    {'YES (target: no)' if torch_seen else 'no'}")
    print(f"total import time {statistics.median(totals) / 1e3:7.1f} ms "
          f"(sum of top-level cumulative)")
    print(f"process wall time {statistics.median(walls) * 1e3:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    import torch

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}")
    bench_loops(repeats)
    bench_surface(repeats)
    bench_import(repeats)


if __name__ == "__main__":
    main()
