"""Session opening benchmark, run by hand: `python tests/benchmarks/bench_session.py`.

Opening a `.gdviz` session of 100,000 numpy epochs (parse + re-train + pins) must take <= 2 s,
median of 5. Each case writes a real file with `save_session`, then times
`restore(open_session(path))`: reading and checking the file, re-training the run to its
recorded epochs into a History (the forward pass kept, as the window keeps it), and re-training
each pin. A plain-SGD run whose parameters come back to where they were 1..8 epochs before
repeats from there: those epochs are copied, not trained (same numbers, see
tests/test_session_file.py); the same cases are printed without that copying, and an Adam run
(whose state never repeats) shows the cost of training every epoch.
Not a test: pytest never collects tests/benchmarks/.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from gdviz.core import session_file
from gdviz.core.config import RunConfig, build_config
from gdviz.core.pins import PIN_COLORS

TARGET_SECONDS = 2.0
EPOCHS = 100_000


def timed(function: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def saved(config: RunConfig, pin_lrs: tuple[float, ...]) -> session_file.SavedSession:
    pins = tuple(session_file.PinSpec(config.replace(lr=lr), EPOCHS, color)
                 for lr, color in zip(pin_lrs, PIN_COLORS, strict=False))
    return session_file.SavedSession(config, cursor=EPOCHS, epochs_recorded=EPOCHS, pins=pins,
                                     view={"log_scale": True})


def open_and_restore(path: Path) -> session_file.RestoredSession:
    return session_file.restore(session_file.open_session(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    notebook = build_config("numpy", explicit={"epochs": EPOCHS})
    cases = [
        ("notebook lr 0.01, 3 pins (lr 0.005, 0.02, 0.03)", notebook, (0.005, 0.02, 0.03)),
        ("lr 0.0333 (2-cycle from epoch 5031), 1 pin", notebook.replace(lr=0.0333), (0.0333,)),
        ("lr 0.0333, no pins", notebook.replace(lr=0.0333), ()),
        ("Adam lr 0.01, no pins (every epoch trained)",
         notebook.replace(optimizer="adam"), ()),
        ("Adam lr 0.01, 1 pin (every epoch trained)",
         notebook.replace(optimizer="adam"), (0.02,)),
    ]
    print(f"## restore(open_session(path)), numpy, {EPOCHS:,} epochs, median of {args.repeats}")
    plain_sgd = session_file.is_plain_sgd
    with tempfile.TemporaryDirectory() as folder:
        for copying in (True, False):
            if not copying:
                print("## the same without copying the repeats (every epoch trained)")
                session_file.is_plain_sgd = lambda config: False  # type: ignore[assignment]
            for title, config, pin_lrs in cases:
                if not copying and config.optimizer != "sgd":
                    continue
                path = Path(folder) / "bench.gdviz"
                session_file.save_session(path, saved(config, pin_lrs))
                size = path.stat().st_size
                restored = session_file.restore(session_file.open_session(path))
                assert len(restored.history) == EPOCHS and len(restored.pins) == len(pin_lrs)
                parse, _ = timed(partial(session_file.open_session, path), args.repeats)
                median, times = timed(partial(open_and_restore, path), args.repeats)
                verdict = "ok" if median <= TARGET_SECONDS else "MISSED"
                print(f"{title:52s} {median:6.3f} s (target <= {TARGET_SECONDS:.0f} s: "
                      f"{verdict}); parse {parse * 1000:.1f} ms of {size} bytes; runs: "
                      f"{', '.join(f'{t:.3f}' for t in times)}")
    session_file.is_plain_sgd = plain_sgd  # type: ignore[assignment]


if __name__ == "__main__":
    main()
