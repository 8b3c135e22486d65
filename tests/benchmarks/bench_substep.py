"""Lecture mode benchmark, run by hand: `python tests/benchmarks/bench_substep.py [--frames N]`.

Target: one sub-step (or one back) redraws the window within a frame, median <= 16 ms.
For the numpy and the torch.nn cell: build the MainWindow, train 10 epochs, then walk the
phases with `sub_step()` / `sub_step_back()` (to the last phase of epoch 9 and back to epoch 1,
bouncing, so every phase of every epoch is drawn), `--frames` cycles of one step on and one
back by default 50 (100 frames), after as many whole-epoch frames (seek) for comparison.
A frame is the change plus what the model's coalesced redraw runs (`_on_model_updated`),
`processEvents`, a synchronous `window.repaint()` and the events that leaves: the same frame
as bench_gui.py part 3. Per widget, refresh and paint are timed on their own too. A window
without the contributions plot (before it is docked) gets a shown stand-alone one, refreshed
and painted in each frame.

Painting is real only on a real platform: a private Xvfb is started when possible (bench_gui's
Display), otherwise Qt runs offscreen and the script says so. Not a test: never collected.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench_gui.py lies beside this file (tests/benchmarks is not a package).
from bench_gui import (
    Display,
    display_for_this_process,
    median,
    percentile,
    qt_app,
    settle,
    time_parts,
    verdict,
    wait_until,
)

TARGET_MS = 16.0
TRAINED_EPOCHS = 10
LAST_EPOCH = TRAINED_EPOCHS - 1  # the walk stays within recorded epochs: nothing trains


class Frame:
    """One frame as the window draws it, plus a stand-alone contributions plot if needed."""

    def __init__(self, window: Any) -> None:
        from gdviz.ui.plots import ContributionsPlot

        self.window = window
        self.extra: Any = None
        if not hasattr(window, "contributions_plot"):
            self.extra = ContributionsPlot(window.model)
            self.extra.resize(520, 360)
            self.extra.show()
            self.extra.rebuild()

    def views(self) -> dict[str, tuple[Any, Any]]:
        """name -> (refresh callable, the widget it paints into)."""
        w = self.window
        views = {
            "surface": (w.surface_plot.refresh, w.surface_plot.viewport()),
            "loss": (w.loss_plot.refresh, w.loss_plot.plot.viewport()),
            "weights": (w.weights_plot.refresh, w.weights_plot.viewport()),
            "fit": (w.fit_plot.refresh, w.fit_plot.viewport()),
            "step panel": (w.step_panel.refresh, w.step_panel.viewport()),
        }
        contributions = self.extra or w.contributions_plot
        views["contributions"] = (contributions.refresh, contributions.viewport())
        return views

    def draw(self, full: bool = True) -> float:
        """Returns the time at which the views were refreshed, before any painting.

        `full`: repaint the whole window (every panel, changed or not); otherwise Qt repaints
        what the refresh marked dirty, as after a key press.
        """
        from PySide6.QtWidgets import QApplication

        self.window.model._redraw_timer.stop()  # this frame is the model's coalesced redraw
        self.window._on_model_updated()
        if self.extra is not None:
            self.extra.refresh()
        refreshed = time.perf_counter()
        QApplication.processEvents()
        if full:
            self.window.repaint()
            if self.extra is not None:
                self.extra.repaint()
        QApplication.processEvents()
        return refreshed


def build_window(trainer: str) -> Any:
    from gdviz.core import torch_preload
    from gdviz.core.config import build_config
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(build_config(trainer))
    window.show()
    wait_until(lambda: window.model.history is not None and window.model.state == "ready", 120)
    settle(1.0)
    torch_preload.wait(60)  # the idle window imports torch: not what is measured here
    model = window.model
    for epoch in range(1, TRAINED_EPOCHS + 1):
        model.step()
        wait_until(lambda epoch=epoch: model.cursor == epoch, 60)
    settle(0.3)
    return window


class Walk:
    """sub_step() to the last phase of epoch LAST_EPOCH, sub_step_back() to epoch 1's first,
    and again: every phase drawn, nothing trained."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.forward = True
        model.seek(0)
        model.sub_step()  # epoch 1, its first phase

    def move(self) -> str:
        model = self.model
        phases = model.config.spec.phases
        if self.forward and model.cursor == LAST_EPOCH and model.phase is phases[-1]:
            self.forward = False
        elif not self.forward and model.cursor == 1 and model.phase is phases[0]:
            self.forward = True
        if self.forward:
            model.sub_step()
        else:
            model.sub_step_back()
        return str(model.phase)


def bench(trainer: str, cycles: int) -> tuple[float, float]:
    """Returns the medians (ms) of a key press's frame (the target) and of a whole-window
    repaint after the same change (a diagnosis: what a resize or an expose costs)."""
    from PySide6.QtWidgets import QApplication

    window = build_window(trainer)
    frame = Frame(window)
    model = window.model
    frame.draw()  # warm-up
    print(f"\n{trainer}: window {window.width()}x{window.height()}, "
          f"phases {[str(p) for p in model.config.spec.phases]}, "
          f"contributions plot {'stand-alone' if frame.extra is not None else 'in the window'}")
    baseline = []  # the same frame for whole epochs (seek), as before lecture mode
    for i in range(cycles):
        QApplication.processEvents()
        start = time.perf_counter()
        model.seek(1 + i % LAST_EPOCH)
        frame.draw()
        baseline.append(time.perf_counter() - start)
    walk = Walk(model)
    frame.draw()
    times: list[float] = []
    refreshes: list[float] = []
    by_phase: dict[str, list[float]] = {}
    for _ in range(2 * cycles):  # a cycle: one step on and one back (the walk bounces)
        QApplication.processEvents()  # untimed: leftovers of the previous frame
        start = time.perf_counter()
        phase = walk.move()
        refreshed = frame.draw()
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        refreshes.append(refreshed - start)
        by_phase.setdefault(phase, []).append(elapsed)
    med = median(times) * 1000
    print(f"   {len(times)} frames: median {med:.1f} ms, p90 {percentile(times, 90) * 1000:.1f} ms,"
          f" max {max(times) * 1000:.1f} ms; median / {TARGET_MS:.0f} ms = {med / TARGET_MS:.2f}"
          f"  (target <= 1: {verdict(med <= TARGET_MS)})")
    print(f"   of which the sub-step and every view's refresh, before painting: median "
          f"{median(refreshes) * 1000:.1f} ms")
    print(f"   for comparison, {len(baseline)} whole-epoch frames (seek, phase None): median "
          f"{median(baseline) * 1000:.1f} ms, p90 {percentile(baseline, 90) * 1000:.1f} ms")
    print("   median by phase shown: " + ", ".join(
        f"{phase} {median(values) * 1000:.1f} ms" for phase, values in by_phase.items()))
    dirty: list[float] = []
    dirty_by_move: dict[str, list[float]] = {}
    for _ in range(2 * cycles):
        QApplication.processEvents()
        start = time.perf_counter()
        phase = walk.move()
        frame.draw(full=False)
        dirty.append(time.perf_counter() - start)
        arrow = "→" if walk.forward else "←"  # to this phase, by a step on or a step back
        dirty_by_move.setdefault(phase + arrow, []).append(dirty[-1])
    dirty_med = median(dirty) * 1000
    print(f"   as after a key press (Qt repaints only what changed): {len(dirty)} frames, median "
          f"{dirty_med:.1f} ms, p90 {percentile(dirty, 90) * 1000:.1f} ms; median / "
          f"{TARGET_MS:.0f} ms = {dirty_med / TARGET_MS:.2f}  "
          f"(target <= 1: {verdict(dirty_med <= TARGET_MS)})")
    print("   key press by the phase reached (→ a step on, ← a step back): " + ", ".join(
        f"{move} {median(values) * 1000:.1f} ms" for move, values in sorted(dirty_by_move.items())))
    parts = time_parts(window, lambda _frame: walk.move(), max(10, cycles // 2),
                       frame.views())
    print("   per widget (median ms: refresh + paint):")
    for name, (refresh, paint) in sorted(parts.items(), key=lambda i: -(i[1][0] + i[1][1])):
        print(f"      {name:13s} {refresh * 1000:6.2f} + {paint * 1000:6.2f} = "
              f"{(refresh + paint) * 1000:6.2f}")
    window.close()
    if frame.extra is not None:
        frame.extra.close()
    window.deleteLater()
    settle(0.2)
    return dirty_med, med


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50,
                        help="cycles of sub_step + sub_step_back per trainer (default 50)")
    parser.add_argument("--offscreen", action="store_true", help="do not start Xvfb")
    parser.add_argument("--trainer", choices=("numpy", "nn"), action="append",
                        help="only these trainers (repeatable; default both)")
    args = parser.parse_args()
    display = Display(use_xvfb=not args.offscreen)
    try:
        with display_for_this_process(display):
            app = qt_app()
            from pyqtgraph import __version__ as pg_version
            from PySide6 import __version__ as pyside_version

            print("gdviz lecture mode: one sub-step redrawn")
            print(f"   Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
                  f"{display.describe()}; PySide6 {pyside_version}, pyqtgraph {pg_version}, "
                  f"platform {app.platformName()}")
            medians = {trainer: bench(trainer, args.frames)
                       for trainer in args.trainer or ["numpy", "nn"]}
            print("\nsummary, a key press's frame (the target): " + ", ".join(
                f"{trainer} median {key:.1f} ms ({key / TARGET_MS:.2f} × {TARGET_MS:.0f} ms: "
                f"{verdict(key <= TARGET_MS)})" for trainer, (key, _full) in medians.items()))
            print("   whole-window repaints after the same change (diagnosis): " + ", ".join(
                f"{trainer} {full:.1f} ms" for trainer, (_key, full) in medians.items()))
    finally:
        display.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
