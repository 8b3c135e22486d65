"""Compare benchmarks (issue 8), run by hand: `python tests/benchmarks/bench_compare.py`.

Two targets, both in the real window (MainWindow under a private Xvfb, bench_gui's Display):

a. A race of 4 optimizers plays 10,000 epochs unthrottled within 5x one run's time. nn trainer,
   epochs 10,000; timed from `model.set_speed(None); model.play()` to the state "finished",
   for one run (plain SGD) and for a race (`race=("sgd", "momentum", "adam", "rmsprop")` led
   by that SGD run: the lead and 3 lanes, 4 optimizers), alternately in the same window, the
   median of `--repeats` each. The race's lanes train in a helper process
   (gdviz.core.lane_process); the warm-up race leaves one waiting, as any earlier race of the
   session would. Then once more with that helper ended first: a session's first race, which
   starts one (~2 s, torch imported there). For context, the same without a window: the
   trainer that `make_trainer(config)` builds, stepped 10,000 times in this process, the race
   with its lanes stepped in this process (no helper), and each lane's optimizer alone.

b. Redraw with 8 pinned runs of 100,000 epochs each >= 30 fps. numpy trainer, epochs 100,000:
   8 runs at different learning rates are trained to the end through the window's own model
   (`set_config(lr=...)`, `run_to_end()`, state "finished", `pin_run()`), then the live run
   (another lr) too. A frame is bench_gui's: the change, the model's coalesced redraw
   (`_on_model_updated`), processEvents, a synchronous `window.repaint()` and processEvents.
   Qt then paints the widgets that changed, as the running app does (the paint events per
   plot are counted); `grab()` frames, which paint every widget, are an upper bound.
   Changes: the cursor seeks to a random epoch; one step on / back; the loss plot panned and
   zoomed (`setRange`); the surface plot panned and zoomed. Each with the 8 pins, without
   them (the board emptied), and with them again (the same PinnedRun objects put back into
   `pin_board._pins`), so the pins' cost is a ratio measured in one run. Also: the frame
   after a settings change (every ghost is rebuilt: the legends name what differs from the
   new settings), and 100,000 epochs played with and without the pins.

c. The main window's frames (nn) before the 3-D window was opened, while it is open beside
   it, and after it is closed: an OpenGL widget inside the main window made every frame of it
   3-6x slower under Mesa llvmpipe (see bench_compare_results.txt, run 1).

Not a test: pytest never collects tests/benchmarks/. Reuses bench_gui.py's helpers.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# bench_gui.py lies beside this file (tests/benchmarks is not a package).
from bench_gui import (
    REPO_ROOT,
    Display,
    PaintCounter,
    display_for_this_process,
    fmt_runs,
    median,
    percentile,
    plot_views,
    print_profile,
    profile_frames,
    qt_app,
    redraw,
    settle,
    time_frames,
    time_parts,
    verdict,
    wait_until,
)

RACE_EPOCHS = 10_000
RACE = ("sgd", "momentum", "adam", "rmsprop")
RACE_TARGET = 5.0
PIN_EPOCHS = 100_000
PIN_LRS = (0.001, 0.002, 0.004, 0.006, 0.01, 0.015, 0.02, 0.025)  # below the cliff 1/30
LIVE_LR = 0.03
FPS_TARGET = 30.0


def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gdviz"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + (" (gdviz/ has uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def build_window(trainer: str, epochs: int, **explicit: Any) -> Any:
    from gdviz.core import torch_preload
    from gdviz.core.config import build_config
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(build_config(trainer, {"epochs": epochs, **explicit}))
    window.show()
    wait_until(lambda: window.model.history is not None and window.model.state == "ready", 120)
    settle(1.0)
    torch_preload.wait(60)  # the idle window imports torch: not what is measured here
    settle(0.3)
    return window


def use_config(window: Any, config: Any) -> None:
    """The window's model on `config`, its trainer built and ready (torch may build it)."""
    model = window.model
    if model.config != config:
        model.set_config(config)
    elif model.state != "ready":
        model.reset()
    wait_until(lambda: model.history is not None and model.state == "ready", 120)
    settle(0.2)


def play_to_end(window: Any, epochs: int) -> tuple[float, int]:
    """Seconds from set_speed(None); play() to "finished", and the redraws seen meanwhile."""
    from PySide6.QtCore import QEventLoop, QTimer

    model = window.model
    loop = QEventLoop()
    redraws = [0]

    def on_state(state: str) -> None:
        if state in ("finished", "diverged", "failed"):
            loop.quit()

    def on_updated() -> None:
        redraws[0] += 1

    model.state_changed.connect(on_state)
    model.updated.connect(on_updated)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    guard.start(600_000)
    start = time.perf_counter()
    model.set_speed(None)
    model.play()
    if model.state != "finished":
        loop.exec()
    elapsed = time.perf_counter() - start
    guard.stop()
    model.state_changed.disconnect(on_state)
    model.updated.disconnect(on_updated)
    if model.state != "finished" or model.epochs_recorded != epochs:
        raise RuntimeError(f"play ended in state {model.state!r} with "
                           f"{model.epochs_recorded} epochs after {elapsed:.1f} s")
    track = model.race_track
    if track is not None:
        lengths = [len(h) for h in track.histories]
        if lengths != [epochs] * len(lengths):
            raise RuntimeError(f"race lanes recorded {lengths} epochs, not {epochs}")
    settle(0.2)
    return elapsed, redraws[0]


# --- a. the race -----------------------------------------------------------------------------

def step_in_process(config: Any, epochs: int, helper: bool = True) -> float:
    """`helper` False: a race's lanes stepped in this process too."""
    from gdviz.core.race import RaceTrainer
    from gdviz.core.trainers import make_trainer

    trainer = make_trainer(config) if helper or not config.race else RaceTrainer(config, False)
    step = trainer.step
    start = time.perf_counter()
    for _ in range(epochs):
        step()
    return time.perf_counter() - start


def warm_up(window: Any, config: Any, seconds: float = 1.0) -> None:
    """Play `config` unthrottled for a moment (torch's first steps, first frames), untimed."""
    model = window.model
    use_config(window, config)
    model.set_speed(None)
    model.play()
    settle(seconds)
    model.pause()
    wait_until(lambda: model.state in ("paused", "finished"), 60)
    model.reset()
    wait_until(lambda: model.history is not None and model.state == "ready", 60)


def race_in_window(single: Any, race: Any, repeats: int, profile: bool,
                   variant: str, parts: bool = False, solos: dict[str, Any] | None = None
                   ) -> tuple[dict[str, list[float]], bool]:
    """`solos`: each lane's optimizer played alone too (name -> config), for the race against
    the mean of its four runs alone."""
    print(f"   window {variant}:")
    window = build_window("nn", RACE_EPOCHS)
    plays = {"single": single, **(solos or {}), "race": race}
    times: dict[str, list[float]] = {name: [] for name in plays}
    redraws: dict[str, list[int]] = {name: [] for name in plays}
    loads: list[str] = []
    for config in plays.values():
        warm_up(window, config)
    for _ in range(repeats):
        for name, config in plays.items():
            use_config(window, config)
            elapsed, seen = play_to_end(window, RACE_EPOCHS)
            times[name].append(elapsed)
            redraws[name].append(seen)
        loads.append(load().removeprefix("load "))
    gl_made = window.surface3d_view.scene is not None or window.surface3d_view.problem is not None
    cold = cold_race(window, single, race)
    if profile:
        profile_race(window, race)
    if parts:
        race_parts(window)
    window.close()
    window.deleteLater()
    settle(0.3)
    t_single, t_race = median(times["single"]), median(times["race"])
    ratio = t_race / t_single
    print(f"      one run (SGD): {t_single:7.3f} s  {fmt_runs(times['single'])}; "
          f"redraws {redraws['single']}")
    print(f"      race of 4:     {t_race:7.3f} s  {fmt_runs(times['race'])}; "
          f"redraws {redraws['race']}")
    print(f"      ratio race / one run: {ratio:.2f}  (target <= {RACE_TARGET:g}: "
          f"{verdict(ratio <= RACE_TARGET)}); per repeat "
          + ", ".join(f"{r / s:.2f}" for r, s in zip(times["race"], times["single"],
                                                      strict=True))
          + f"; loads after each repeat: {'; '.join(loads)}")
    print(f"      race of 4, its helper started cold (a session's first race): {cold:.3f} s, "
          f"{cold / t_single:.2f} x one run")
    if solos:
        for name in solos:
            print(f"      {name + ' alone:':15s}{median(times[name]):7.3f} s  "
                  f"{fmt_runs(times[name])}; redraws {redraws[name]}")
        # Per repeat: the race against the mean of the four optimizers' runs alone then.
        per_repeat = [times["race"][i] * len(RACE)
                      / (times["single"][i] + sum(times[name][i] for name in solos))
                      for i in range(repeats)]
        mean_alone = (t_single + sum(median(times[name]) for name in solos)) / len(RACE)
        print(f"      ratio race / the mean of its four optimizers' runs alone "
              f"({mean_alone:.3f} s): {t_race / mean_alone:.2f} (the same target read as "
              f"'one run' of any lane); per repeat " + ", ".join(f"{r:.2f}" for r in per_repeat))
    return times, gl_made


def cold_race(window: Any, single: Any, race: Any) -> float:
    """The race played once with no helper process waiting: the race starts one."""
    from gdviz.core import lane_process

    use_config(window, single)  # the last race's trainer goes, its helper waits...
    lane_process.end_waiting_helper()  # ...and is ended here
    use_config(window, race)
    elapsed, _ = play_to_end(window, RACE_EPOCHS)
    return elapsed


def bench_race(repeats: int, profile: bool) -> None:
    from gdviz.core.config import build_config
    from gdviz.core.race import lane_specs

    print(f"\na. Race of {len(RACE)} optimizers against one run: nn, {RACE_EPOCHS:,} epochs "
          f"played unthrottled in the window ({repeats} runs each, alternately; {load()})")
    single = build_config("nn", {"epochs": RACE_EPOCHS})
    race = single.replace(race=RACE)
    lanes = lane_specs(race)
    print(f"   one run: {single.optimizer} lr {single.lr:g}; race: lead + "
          f"{len(lanes)} lanes ({', '.join(lane.label for lane in lanes)})")
    windows = {}
    solos = {entry: lane_specs(single.replace(race=(entry,)))[0].config
             for entry in RACE if lane_specs(single.replace(race=(entry,)))}
    windows["as shipped"], gl_made = race_in_window(single, race, repeats, profile,
                                                    "as shipped", parts=True, solos=solos)
    print(f"      (the 3-D view's OpenGL widget was made in this window: {gl_made})")

    print(f"   without a window (make_trainer(config), step() x {RACE_EPOCHS:,}, "
          f"{repeats} runs each, alternately; {load()}):")
    configs = {"one run (SGD)": single, "race of 4": race, "race, no helper": race}
    for entry in RACE:
        lanes_alone = lane_specs(single.replace(race=(entry,)))
        configs[f"  {entry} alone"] = lanes_alone[0].config if lanes_alone else single
    core: dict[str, list[float]] = {name: [] for name in configs}
    for config in configs.values():  # warm-up: torch's first calls, lazy imports
        step_in_process(config, 300)
    for _ in range(repeats):
        for name, config in configs.items():
            helper = name != "race, no helper"
            core[name].append(step_in_process(config, RACE_EPOCHS, helper=helper))
    base = median(core["one run (SGD)"])
    for name, values in core.items():
        print(f"      {name:18s} {median(values):.3f} s  ({median(values) / base:.2f} x one "
              f"run)  {fmt_runs(values)}")
    total = sum(median(core[f"  {entry} alone"]) for entry in RACE)
    print(f"      sum of the four optimizers alone: {total:.3f} s ({total / base:.2f} x one "
          f"run): about the least a race of these four costs in one process")
    for variant, times in windows.items():
        print(f"      window {variant} / in-process: one run "
              f"{median(times['single']) / base:.2f}, race "
              f"{median(times['race']) / median(core['race of 4']):.2f}")


def lane_items(window: Any) -> list[Any]:
    return [item for plot in (window.surface_plot, window.loss_plot, window.weights_plot)
            for lane in plot.lanes.items for item in lane]


def print_parts(title: str, parts: dict[str, tuple[float, float]]) -> None:
    ranked = sorted(parts.items(), key=lambda item: -(item[1][0] + item[1][1]))
    total = sum(r + p for r, p in parts.values())
    print(f"      {title}: " + ", ".join(f"{name} {r * 1000:.1f}+{p * 1000:.1f}"
                                       for name, (r, p) in ranked)
          + f"; sum {total * 1000:.1f} ms")


def race_parts(window: Any) -> None:
    """Where a race frame goes at the end of a 10,000-epoch race: each widget's refresh and
    paint after a seek, with the lanes as shipped, with their pens 1 px wide, and hidden."""
    import pyqtgraph as pg

    model = window.model
    rng = random.Random(5)

    def seek(_i: int) -> None:
        model.seek(rng.randint(1, RACE_EPOCHS))

    items = lane_items(window)
    pens = [item.opts["pen"] for item in items]
    print(f"      per widget after a seek, the race at {model.epochs_recorded:,} epochs "
          f"({len(items)} lane curves, pen {pens[0].widthF():g} px; median ms, refresh + "
          f"paint; {load()}):")
    print_parts("lanes as shipped", time_parts(window, seek, 15, window_views(window)))
    for item, shipped in zip(items, pens, strict=True):
        thin = pg.mkPen(shipped.color(), width=1)
        item.setPen(thin)
    print_parts("lane pens 1 px (diagnosis)", time_parts(window, seek, 15, window_views(window)))
    for item in items:
        item.setVisible(False)
    print_parts("lanes hidden (diagnosis)", time_parts(window, seek, 15, window_views(window)))
    for item, shipped in zip(items, pens, strict=True):
        item.setPen(shipped)
        item.setVisible(True)


def profile_race(window: Any, race: Any) -> None:
    """cProfile of the GUI thread during one more race (the training thread is not seen)."""
    import cProfile

    use_config(window, race)
    profiler = cProfile.Profile()
    profiler.enable()
    elapsed, seen = play_to_end(window, RACE_EPOCHS)
    profiler.disable()
    print_profile(profiler, "tottime", 14,
                  f"cProfile of the GUI thread, one race ({elapsed:.2f} s, {seen} redraws)")


# --- b. redraw with 8 pins -------------------------------------------------------------------

def train_to_end(window: Any, config: Any) -> float:
    model = window.model
    use_config(window, config)
    start = time.perf_counter()
    model.run_to_end()
    wait_until(lambda: model.state in ("finished", "diverged", "failed"), 300)
    elapsed = time.perf_counter() - start
    if model.state != "finished" or model.epochs_recorded != config.epochs:
        raise RuntimeError(f"lr {config.lr:g}: {model.state} at {model.epochs_recorded}")
    settle(0.1)
    return elapsed


def set_pins(window: Any, pins: list[Any]) -> None:
    """Put these PinnedRun objects on the board (the same frozen ones, no retraining)."""
    model = window.model
    model.pin_board._pins[:] = pins
    model.pins_changed.emit()
    window._on_model_updated()  # the ghosts are rebuilt here, not in a timed frame
    window.repaint()
    settle(0.2)


def ghost_counts(window: Any) -> str:
    return ", ".join(f"{name} {len(plot.ghosts.items)}" for name, plot in
                     (("surface", window.surface_plot), ("loss", window.loss_plot),
                      ("weights", window.weights_plot)))


def bench_pins(repeats: int, frames: int, profile: bool, cycles: int = 3) -> None:
    from gdviz.core.config import build_config

    print(f"\nb. Redraw with 8 pinned runs of {PIN_EPOCHS:,} epochs each: numpy, frame = change"
          f" + _on_model_updated() + one synchronous window.repaint() ({frames} frames a case "
          f"in {cycles} rounds of each;"
          f" {load()})")
    window = build_window("numpy", PIN_EPOCHS)
    model = window.model
    base = build_config("numpy", {"epochs": PIN_EPOCHS})
    start = time.perf_counter()
    made = []
    for lr in PIN_LRS:
        made.append(train_to_end(window, base.replace(lr=lr)))
        model.pin_run()
    live = base.replace(lr=LIVE_LR)
    made.append(train_to_end(window, live))
    pins = list(model.pin_board.pins)
    print(f"   pins made through the model (set_config, run_to_end, pin_run): lrs "
          f"{', '.join(f'{lr:g}' for lr in PIN_LRS)}, each {pins[0].epochs:,} epochs; the live "
          f"run lr {LIVE_LR:g}, {model.epochs_recorded:,} epochs; {time.perf_counter() - start:.0f}"
          f" s in all ({fmt_runs(made)} each)")
    window._on_model_updated()
    window.repaint()
    settle(0.3)
    print(f"   window {window.width()}x{window.height()}, exposed "
          f"{window.windowHandle().isExposed()}; ghost items: {ghost_counts(window)}; "
          f"surface legend: {window.surface_plot.ghosts.legend_texts()}")

    rng = random.Random(8)
    seeks = [rng.randint(1, PIN_EPOCHS) for _ in range(20 * frames + 100)]
    middle = PIN_EPOCHS // 2

    def seek(i: int) -> None:
        model.seek(seeks[i])

    def step(i: int) -> None:
        if i == 0 or model.cursor not in (middle, middle + 1):
            model.seek(middle)
        if model.cursor == middle:
            model.step()  # within the recorded epochs: the cursor moves, nothing trains
        else:
            model.step_back()

    def pan_zoom(plot_widget: Any, x_span: tuple[float, float],
                 y_span: tuple[float, float]) -> Callable[[int], None]:
        view = plot_widget.getViewBox()
        spans = []
        for _ in range(20 * frames + 100):  # zoomed and panned: x from a tenth to all of it
            width = (x_span[1] - x_span[0]) * 10 ** rng.uniform(-1, 0)
            x0 = rng.uniform(x_span[0], x_span[1] - width)
            height = (y_span[1] - y_span[0]) * 10 ** rng.uniform(-1, 0)
            y0 = rng.uniform(y_span[0], y_span[1] - height)
            spans.append(((x0, x0 + width), (y0, y0 + height)))

        def change(i: int) -> None:
            xs, ys = spans[i]
            view.setRange(xRange=xs, yRange=ys, padding=0)
        return change

    model.seek(middle)
    loss_view = window.loss_plot.plot.getViewBox()
    (lx0, lx1), (ly0, ly1) = loss_view.viewRange()
    surface_view = window.surface_plot.getViewBox()
    (sx0, sx1), (sy0, sy1) = surface_view.viewRange()
    cases: dict[str, tuple[str, Callable[[int], None]]] = {
        "seek": ("cursor seeks to a random epoch", seek),
        "step": ("one step on / one step back (mid-run)", step),
        "loss": ("loss plot panned and zoomed (setRange)",
                 pan_zoom(window.loss_plot.plot, (0, max(lx1, PIN_EPOCHS)), (ly0, ly1))),
        "surface": ("surface plot panned and zoomed (setRange)",
                    pan_zoom(window.surface_plot, (sx0, sx1), (sy0, sy1))),
    }
    counter = PaintCounter({name: view for name, (_r, view) in plot_views(window).items()})
    labels = ("8 pins", "no pins")
    results: dict[str, dict[str, list[float]]] = {key: {label: [] for label in labels}
                                                  for key in cases}
    grabbed: dict[str, dict[str, list[float]]] = {key: {label: [] for label in labels}
                                                  for key in cases}
    paints = {key: {label: dict.fromkeys(plot_views(window), 0) for label in labels}
              for key in cases}
    rounds: dict[str, list[float]] = {f"{key} {label}": [] for key in cases for label in labels}
    offsets = dict.fromkeys(cases, 0)
    per_round = max(5, frames // cycles)
    for cycle in range(cycles):  # alternately, so a change in the machine's load hits both
        for label in labels:
            set_pins(window, pins if label == "8 pins" else [])
            for key, (_text, change) in cases.items():
                if key != "seek":
                    model.seek(middle)
                if key == "loss":
                    loss_view.setRange(xRange=(lx0, lx1), yRange=(ly0, ly1), padding=0)
                shifted = _shifted(change, offsets, key)
                shifted(0)
                redraw(window)  # warm-up frame
                times, painted = time_frames(window, shifted, per_round, "repaint", counter)
                offsets[key] += per_round + 1
                grabs, _ = time_frames(window, _shifted(change, offsets, key),
                                       max(3, per_round // 3), "grab", counter)
                offsets[key] += per_round
                results[key][label] += times
                grabbed[key][label] += grabs
                rounds[f"{key} {label}"].append(median(times))
                for name, count in painted.items():
                    paints[key][label][name] += count
            print(f"   (round {cycle + 1}, {label}: {load()}; ghost items {ghost_counts(window)})")

    for key, (text, _change) in cases.items():
        print(f"   {text}:")
        for label in labels:
            times = results[key][label]
            med = median(times) * 1000
            fps = 1000 / med
            tag = (f"target >= {FPS_TARGET:g} fps: {verdict(fps >= FPS_TARGET)}"
                   if label == "8 pins" else "baseline")
            print(f"      {label:8s} {len(times)} frames: median {med:6.1f} ms, p90 "
                  f"{percentile(times, 90) * 1000:6.1f} ms, max {max(times) * 1000:6.1f} ms -> "
                  f"{fps:5.1f} fps  ({tag}); grab() {median(grabbed[key][label]) * 1000:.1f} ms"
                  f"; round medians {fmt_runs(rounds[f'{key} {label}'], 'ms', 1000)}")
            print("         paint events: " + ", ".join(
                f"{name} {count}" for name, count in paints[key][label].items()))
        ratio = median(results[key]["8 pins"]) / median(results[key]["no pins"])
        print(f"      8 pins / no pins: {ratio:.2f}")

    print(f"   per widget (median ms, refresh + paint; {load()}):")
    for key in ("seek", "loss"):
        text, change = cases[key]
        for label, shown, thin in (("8 pins", pins, False), ("no pins", [], False),
                                   ("8 pins, ghost pens 1 px (diagnosis)", pins, True)):
            set_pins(window, shown)
            if thin:
                thin_ghosts(window)
            if key == "loss":
                model.seek(middle)
            parts = time_parts(window, _shifted(change, offsets, key), max(5, frames // 3),
                               window_views(window))
            offsets[key] += frames
            print_parts(f"{text}, {label}", parts)
    set_pins(window, [])  # the ghosts are made anew, with the shipped pens
    set_pins(window, pins)

    bench_settings_change(window, base, pins)
    bench_play_with_pins(window, live, pins, repeats)
    if profile:
        set_pins(window, pins)
        for key in ("seek", "loss"):
            profile_frames(window, _shifted(cases[key][1], offsets, key), frames,
                           f"with 8 pins, {cases[key][0]}", count=22)
            offsets[key] += frames
    window.close()
    window.deleteLater()
    settle(0.2)


def window_views(window: Any) -> dict[str, tuple[Any, Any]]:
    """bench_gui's plots and panels plus the lecture views a paused window refreshes too."""
    views: dict[str, tuple[Any, Any]] = dict(plot_views(window))
    for name, widget in (("graph view", window.graph_view), ("code panel", window.code_panel),
                         ("gradient check", window.gradcheck_panel),
                         ("per-sample", window.contributions_plot)):
        views[name] = (widget.refresh, widget.viewport())
    return views


def thin_ghosts(window: Any) -> None:
    """Diagnosis: the pins' ghost curves drawn with 1 px pens instead of the shipped ones."""
    import pyqtgraph as pg

    for plot in (window.surface_plot, window.loss_plot, window.weights_plot):
        for item in plot.ghosts.items:
            item.setPen(pg.mkPen(item.opts["pen"].color(), width=1))
    window.repaint()
    settle(0.1)


def _shifted(change: Callable[[int], None], offsets: dict[str, int],
             key: str) -> Callable[[int], None]:
    """The change with fresh random targets each round (never the same seek twice)."""
    offset = offsets[key]
    return lambda i: change(offset + i)


def bench_settings_change(window: Any, base: Any, pins: list[Any]) -> None:
    """A settings change renames every legend entry: the ghosts are made anew."""
    from PySide6.QtWidgets import QApplication

    print(f"   a settings change (lr) with the live run reset ({load()}): run_reset + "
          f"_on_model_updated + repaint, median of 5:")
    model = window.model
    for label, shown in (("8 pins", pins), ("no pins", [])):
        set_pins(window, shown)
        times = []
        for i in range(6):
            config = base.replace(lr=0.011 + 0.001 * i)
            QApplication.processEvents()
            start = time.perf_counter()
            model.set_config(config)  # run_reset -> every view rebuilds; ghosts re-labelled
            model._redraw_timer.stop()
            window._on_model_updated()
            QApplication.processEvents()
            window.repaint()
            QApplication.processEvents()
            times.append(time.perf_counter() - start)
            wait_until(lambda: model.history is not None and model.state == "ready", 60)
        print(f"      {label:8s} {median(times[1:]) * 1000:6.1f} ms  "
              f"{fmt_runs(times[1:], 'ms', 1000)}")


def bench_play_with_pins(window: Any, live: Any, pins: list[Any], repeats: int) -> None:
    print(f"   {PIN_EPOCHS:,} epochs played unthrottled (live lr {live.lr:g}), with the 8 pins"
          f" and without, alternately ({max(1, repeats)} runs each; {load()}):")
    runs: dict[str, list[float]] = {"8 pins": [], "no pins": []}
    seen: dict[str, list[int]] = {"8 pins": [], "no pins": []}
    for _ in range(max(1, repeats)):
        for label, shown in (("8 pins", pins), ("no pins", [])):
            set_pins(window, shown)
            use_config(window, live)
            window.model.reset()
            wait_until(lambda: window.model.state == "ready", 60)
            settle(0.2)
            elapsed, redraws = play_to_end(window, PIN_EPOCHS)
            runs[label].append(elapsed)
            seen[label].append(redraws)
    for label in runs:
        print(f"      {label:8s} {median(runs[label]):.3f} s  {fmt_runs(runs[label])}; "
              f"redraws {seen[label]}")
    print(f"      ratio 8 pins / no pins: {median(runs['8 pins']) / median(runs['no pins']):.2f}")


# --- c. the 3-D window and the main window's frames -------------------------------------------

def bench_gl(frames: int) -> None:
    """The main window's frames (nn, cursor seeks) before the 3-D window was ever opened, while
    it is open beside it (its scene follows every seek), and after it is closed again.

    Until 6158e2b the 3-D view was a dock tabbed in the main window, and its QOpenGLWidget (made
    even while the tab was hidden: Qt 6 keeps a hidden tab's dock isVisible()) had Qt composite
    the whole main window through OpenGL: under Mesa llvmpipe every frame became 3-6x slower.
    Now it floats in a window of its own; this part checks that the main window stays fast.
    """
    from gdviz.core.config import build_config

    epochs = 2000
    print(f"\nc. The main window's frames (nn, {epochs:,} epochs, cursor seeks) and the 3-D window"
          f" ({frames} frames each; {load()})")
    window = build_window("nn", epochs)
    model = window.model
    train_to_end(window, build_config("nn", {"epochs": epochs}))
    rng = random.Random(3)

    def seek(_i: int) -> None:
        model.seek(rng.randint(1, epochs))

    counter = PaintCounter({name: view for name, (_r, view) in plot_views(window).items()})
    results = {}
    dock = window.docks.surface3d
    view = window.surface3d_view

    def measure(label: str) -> None:
        redraw(window)
        times, _painted = time_frames(window, seek, frames, "repaint", counter)
        results[label] = times
        med = median(times) * 1000
        made = view.scene is not None
        print(f"   {label:44s} median {med:6.1f} ms, p90 {percentile(times, 90) * 1000:6.1f} ms"
              f" -> {1000 / med:5.1f} fps  (GL widget: {made}; 3-D shown: {view.isVisible()}, "
              f"floating: {dock.isFloating()}; {load()})")

    measure("3-D window never opened")
    dock.show()
    dock.raise_()
    settle(1.5)
    if view.problem:
        print(f"   (the 3-D view says: {view.problem})")
    measure("3-D window open beside the main window")
    dock.close()
    settle(0.5)
    measure("3-D window closed again")
    base = median(results["3-D window never opened"])
    print("   ratio to never opened: " + ", ".join(
        f"{label} {median(times) / base:.2f}" for label, times in list(results.items())[1:]))
    window.close()
    window.deleteLater()
    settle(0.3)


# --- main ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="plays of each kind (default 3)")
    parser.add_argument("--frames", type=int, default=60,
                        help="frames per redraw case, over 3 rounds (default 60)")
    parser.add_argument("--offscreen", action="store_true", help="do not start Xvfb")
    parser.add_argument("--only", choices=("race", "pins", "gl"), action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--profile", action="store_true", help="cProfile the GUI thread")
    args = parser.parse_args()
    parts = args.only or ["race", "pins", "gl"]
    display = Display(use_xvfb=not args.offscreen)
    status = 1
    try:
        with display_for_this_process(display):
            app = qt_app()
            import numpy as np
            from pyqtgraph import __version__ as pg_version
            from PySide6 import __version__ as pyside_version

            print(f"# bench_compare.py, {datetime.date.today()}, commit {commit()}, "
                  f"{os.cpu_count()} CPUs shared with other sessions, {load()} at the start")
            print(f"   Python {sys.version.split()[0]}, numpy {np.__version__}, PySide6 "
                  f"{pyside_version}, pyqtgraph {pg_version}; {display.describe()}; platform "
                  f"{app.platformName()}")
            if "race" in parts:
                bench_race(args.repeats, args.profile)
            if "pins" in parts:
                bench_pins(args.repeats, args.frames, args.profile)
            if "gl" in parts:
                bench_gl(args.frames)
            print(f"\n   ({load()} at the end)")
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        display.close()
        # The QApplication outlives its X server now: leave without Qt's exit-time teardown,
        # which would report the lost connection ("XIO: fatal IO error").
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    return status


if __name__ == "__main__":
    sys.exit(main())
