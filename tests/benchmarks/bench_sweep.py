"""Learning-rate sweep benchmark, run by hand: `python tests/benchmarks/bench_sweep.py`.

The numpy sweep of 50 learning rates x 1000 epochs (the default range, crit/1000 .. 3 x crit,
plus the bisection that narrows the cliff to 0.1%) must take <= 2 s. Every point is a real
NumpyTrainer run through `train`; there is no vectorized fast path. A plain-SGD run stops once
an update leaves the parameters exactly unchanged (every later epoch would repeat it; the
numbers are the same, see tests/test_sweep.py): printed with and without that stop. Also,
for scale, the torch trainers' sweeps at 300 epochs (`--torch`).
Not a test: pytest never collects tests/benchmarks/.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from gdviz.core import sweep
from gdviz.core.config import build_config
from gdviz.core.sweep import run_sweep

TARGET_SECONDS = 2.0


def timed(function, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="also time autograd and nn")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}")
    config = build_config("numpy")
    result = run_sweep(config)
    runs = len(result.outcomes) + len(result.refinements)
    print(f"## numpy (notebook gradient), 50 lrs x 1000 epochs, median of {args.repeats}")
    print(f"cliff {result.cliff:.6g}, closed form {result.closed_form:.6g}, "
          f"off by {abs(result.cliff / result.closed_form - 1):.2e}; "
          f"{len(result.outcomes)} grid runs + {len(result.refinements)} bisection runs = {runs}")
    median, times = timed(lambda: run_sweep(config), args.repeats)
    verdict = "ok" if median <= TARGET_SECONDS else "MISSED"
    print(f"sweep              {median:6.3f} s  (target <= {TARGET_SECONDS:.0f} s: {verdict}); "
          f"runs: {', '.join(f'{t:.3f}' for t in times)}")

    run_lr = sweep.run_lr

    def without_stationary_stop(*args: object, **kwargs: object) -> sweep.LrOutcome:
        return run_lr(*args, **kwargs, stop_when_stationary=False)  # type: ignore[arg-type]

    sweep.run_lr = without_stationary_stop  # type: ignore[assignment]
    try:
        median, times = timed(lambda: run_sweep(config), args.repeats)
    finally:
        sweep.run_lr = run_lr  # type: ignore[assignment]
    verdict = "ok" if median <= TARGET_SECONDS else "MISSED"
    print(f"without the stop   {median:6.3f} s  (target <= {TARGET_SECONDS:.0f} s: {verdict}); "
          f"runs: {', '.join(f'{t:.3f}' for t in times)}")

    if args.torch:
        for trainer in ("autograd", "nn"):
            torch_config = build_config(trainer)
            run_sweep(torch_config, [0.01], epochs=10)  # the import and torch's warm-up
            median, _ = timed(lambda c=torch_config: run_sweep(c, epochs=300), 1)
            print(f"{trainer:8s} 50 lrs x 300 epochs  {median:6.2f} s")


if __name__ == "__main__":
    main()
