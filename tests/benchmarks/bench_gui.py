"""Window benchmarks, run by hand: `python tests/benchmarks/bench_gui.py [--repeats N]`.

Prints ratios measured in this one run (medians over repeats), so machines compare themselves:
1. time to the first painted window, in a fresh process each: `gdviz`'s MainWindow against a
   bare QMainWindow holding one pg.PlotWidget; ratio gdviz/bare, target <= 1.3; torch must not
   be imported at start-up;
2. 100,000 numpy epochs played unthrottled in the window against `gdviz run` headless (the
   subprocess and run_headless in-process), ratio window/headless, target <= 2; meanwhile a
   10 ms GUI-thread QTimer measures how late the event loop serves it, target p99 <= 50 ms;
3. with 1,000,000 recorded epochs the window redraws at >= 30 frames a second after (a) the
   cursor moves to a random epoch, (b) 1000 new epochs are appended; each frame is timed from
   the change to the end of a synchronous repaint, and every plot's refresh and paint is timed
   on its own to say which one dominates;
4. PyTorch ready before it is needed (fresh process each): the window starts on numpy without
   torch, imports it in the background once idle, and a switch to torch.nn 5 s after start-up
   is ready within 0.3 s; a 10 ms GUI timer reports the largest stall the import causes.

Painting is real only on a real platform: the script starts a private Xvfb when it can (and
kills it at the end), otherwise it runs Qt offscreen and says so.
Not a test: pytest never collects tests/benchmarks/. Top-level imports are stdlib only, so the
start-up children pay for nothing but what they measure.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAY_EPOCHS = 100_000
BIG_EPOCHS = 1_000_000
APPEND_PER_FRAME = 1000
TIMER_MS = 10


# --- helpers ---------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def fmt_runs(values: list[float], unit: str = "s", scale: float = 1.0) -> str:
    return "[" + ", ".join(f"{v * scale:.3g}" for v in values) + f"] {unit}"


# --- the display -----------------------------------------------------------------------------

class Display:
    """A private Xvfb if possible (xcb platform), else Qt's offscreen platform."""

    def __init__(self, use_xvfb: bool) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.env = dict(os.environ)
        self.note = ""
        if use_xvfb and shutil.which("Xvfb"):
            self._start_xvfb()
        else:
            self.note = "Xvfb not used" if not use_xvfb else "Xvfb not found"
        if self.proc is None:
            self.env.pop("DISPLAY", None)
            self.env["QT_QPA_PLATFORM"] = "offscreen"
        self.platform = self.env["QT_QPA_PLATFORM"]

    def _start_xvfb(self) -> None:
        for number in range(91, 200):
            if (Path(f"/tmp/.X{number}-lock").exists()
                    or Path(f"/tmp/.X11-unix/X{number}").exists()):
                continue
            proc = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            socket = Path(f"/tmp/.X11-unix/X{number}")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and proc.poll() is None and not socket.exists():
                time.sleep(0.05)
            if proc.poll() is not None or not socket.exists():
                self._kill(proc)
                continue  # someone else took the number meanwhile: try the next
            env = dict(os.environ, DISPLAY=f":{number}", QT_QPA_PLATFORM="xcb")
            probe = subprocess.run(
                [sys.executable, "-c",
                 "from PySide6.QtWidgets import QApplication; QApplication([])"],
                env=env, capture_output=True, text=True, timeout=60)
            if probe.returncode != 0:
                self._kill(proc)
                last = (probe.stderr.strip().splitlines() or ["?"])[-1]
                self.note = f"Xvfb started but Qt's xcb plugin failed ({last})"
                return
            self.proc = proc
            self.env = env
            self.note = f"private Xvfb on :{number}"
            return
        self.note = "no free X display number"

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def close(self) -> None:
        if self.proc is not None:
            self._kill(self.proc)
            self.proc = None

    def describe(self) -> str:
        if self.platform == "offscreen":
            return (f"Qt platform: offscreen ({self.note}; painting goes to an in-memory "
                    f"image, not a real window)")
        return f"Qt platform: xcb ({self.note})"


# --- 1. time to the first painted window (children) ------------------------------------------

def child_startup(kind: str) -> None:
    """Run in a fresh process: build the window, show it, report when it first painted."""
    t0 = float(os.environ["BENCH_T0"])  # the parent's clock just before it spawned us
    t_main = time.time()
    if kind == "gdviz":
        from gdviz.ui.app import make_application
        from gdviz.ui.main_window import MainWindow

        t_imported = time.time()
        app = make_application()
        window = MainWindow()
    else:
        import pyqtgraph as pg
        from PySide6.QtWidgets import QApplication, QMainWindow

        t_imported = time.time()
        app = QApplication(sys.argv[:1])
        window = QMainWindow()
        window.setCentralWidget(pg.PlotWidget())
        window.resize(1560, 940)
    from PySide6.QtCore import QEvent, QObject, QTimer

    t_built = time.time()
    marks: dict[str, float] = {}

    class PaintSpy(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
            if event.type() == QEvent.Type.Paint and "paint" not in marks:
                marks["paint"] = time.time()
                # Queued behind the rest of this paint pass: children painted, frame flushed.
                QTimer.singleShot(0, finish)
            return False

    def finish() -> None:
        marks["frame"] = time.time()
        app.quit()

    # A plain QMainWindow gets no Paint event of its own (nothing to draw; with gdviz's style
    # sheet it does), so watch it and every widget in it: the first one painted counts.
    from PySide6.QtWidgets import QWidget

    spy = PaintSpy()
    for widget in (window, *window.findChildren(QWidget)):
        widget.installEventFilter(spy)
    QTimer.singleShot(30_000, app.quit)  # never hang the benchmark
    window.show()
    app.exec()
    result = {
        "interpreter": t_main - t0,
        "imports": t_imported - t0,
        "built": t_built - t0,
        "paint": marks.get("paint", float("nan")) - t0,
        "frame": marks.get("frame", float("nan")) - t0,
        "torch": "torch" in sys.modules,
    }
    window.close()
    print("BENCH " + json.dumps(result))


def run_startup_child(kind: str, env: dict[str, str]) -> dict[str, Any]:
    env = dict(env, BENCH_T0=repr(time.time()))
    proc = subprocess.run([sys.executable, __file__, "--child", kind], env=env,
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"start-up child {kind} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def bench_startup(display: Display, repeats: int) -> None:
    print(f"\n1. Time to the first painted window (fresh process each, {repeats} runs, median)")
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "gdviz": []}
    run_startup_child("bare", display.env)  # warm the file cache once for both, not timed
    run_startup_child("gdviz", display.env)
    for _ in range(repeats):
        for kind in ("bare", "gdviz"):  # interleaved, so noise hits both alike
            runs[kind].append(run_startup_child(kind, display.env))
    medians: dict[str, dict[str, float]] = {}
    for kind in ("bare", "gdviz"):
        medians[kind] = {key: median([r[key] for r in runs[kind]])
                         for key in ("interpreter", "imports", "built", "paint", "frame")}
    label = {"bare": "bare PySide6 + pyqtgraph", "gdviz": "gdviz MainWindow"}
    print(f"   {'':26s} {'python up':>10s} {'imported':>10s} {'built':>10s} "
          f"{'1st paint':>10s} {'frame done':>10s}")
    for kind in ("bare", "gdviz"):
        m = medians[kind]
        print(f"   {label[kind]:26s} {m['interpreter']:9.3f}s {m['imports']:9.3f}s "
              f"{m['built']:9.3f}s {m['paint']:9.3f}s {m['frame']:9.3f}s")
    print(f"   runs, gdviz frame done: {fmt_runs([r['frame'] for r in runs['gdviz']])}")
    print(f"   runs, bare  frame done: {fmt_runs([r['frame'] for r in runs['bare']])}")
    ratio = medians["gdviz"]["frame"] / medians["bare"]["frame"]
    print(f"   ratio gdviz / bare (to the first complete frame): {ratio:.2f}  "
          f"(target <= 1.3: {verdict(ratio <= 1.3)})")
    torch = any(r["torch"] for r in runs["gdviz"])
    print(f"   torch imported at gdviz start-up: {'YES' if torch else 'no'}  "
          f"(must not be: {verdict(not torch)})")


# --- 4. torch ready before it is needed (children) --------------------------------------------

TORCH_SWITCH_AFTER_S = 5.0


def child_torch() -> None:
    """Fresh process: window on numpy, idle 5 s, then switch to nn; report readiness, stalls."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QComboBox

    from gdviz.core import torch_preload
    from gdviz.ui.app import make_application
    from gdviz.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow()
    lateness: list[float] = []
    last = [time.perf_counter()]
    marks: dict[str, Any] = {}

    def tick() -> None:
        now = time.perf_counter()
        lateness.append((now - last[0]) * 1000 - TIMER_MS)
        last[0] = now

    def first_frame() -> None:
        marks["torch_at_first_paint"] = "torch" in sys.modules

    def switch() -> None:
        marks["torch_before_switch"] = torch_preload.is_loaded()
        marks["stall_before_switch"] = max(lateness, default=0.0)
        marks["p99_before_switch"] = percentile(lateness, 99) if lateness else 0.0
        combo = window.findChild(QComboBox, "trainerCombo")
        marks["switch"] = time.perf_counter()
        combo.setCurrentIndex(combo.findData("nn"))
        poll.start()

    def check_ready() -> None:
        if window.model.state == "ready":
            marks["ready"] = time.perf_counter() - marks["switch"]
            poll.stop()
            app.quit()

    timer = QTimer(interval=TIMER_MS)
    timer.timeout.connect(tick)
    poll = QTimer(interval=2)
    poll.timeout.connect(check_ready)
    window.show()
    QTimer.singleShot(0, first_frame)
    QTimer.singleShot(int(TORCH_SWITCH_AFTER_S * 1000), switch)
    QTimer.singleShot(60_000, app.quit)
    timer.start()
    app.exec()
    marks["import_seconds"] = torch_preload.import_seconds()
    window.close()
    print("BENCH " + json.dumps(marks))


def bench_torch(display: Display, repeats: int) -> None:
    print(f"\n4. PyTorch ready before it is needed (fresh process each, {repeats} runs)")
    runs = [run_startup_child("torch", display.env) for _ in range(repeats)]
    for run in runs:
        print(f"   torch at first paint: {run['torch_at_first_paint']}, imported in background: "
              f"{run['torch_before_switch']} ({run['import_seconds'] or 0:.2f} s); "
              f"largest GUI stall {run['stall_before_switch']:.0f} ms, p99 "
              f"{run['p99_before_switch']:.1f} ms; nn ready {run['ready'] * 1000:.0f} ms after "
              f"the switch")
    ready = median([run["ready"] for run in runs])
    stall = max(run["stall_before_switch"] for run in runs)
    print(f"   median switch-to-ready: {ready * 1000:.0f} ms (target <= 300 ms: "
          f"{verdict(ready <= 0.3)}); largest stall over all runs: {stall:.0f} ms")
    clean = not any(run["torch_at_first_paint"] for run in runs)
    print(f"   torch imported before the first paint: {'no' if clean else 'YES'} "
          f"(must not be: {verdict(clean)})")


# --- in-process window helpers ---------------------------------------------------------------

def qt_app() -> Any:
    from gdviz.ui.app import make_application

    return make_application()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not reached")
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.001)


def settle(seconds: float = 0.3) -> None:
    """Let queued redraws, paints and the worker's signals drain."""
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)


def new_window(epochs: int, **explicit: Any) -> Any:
    from gdviz.core.config import build_config
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(build_config("numpy", {"epochs": epochs, **explicit}))
    window.show()
    wait_until(lambda: window.model.history is not None and window.model.state == "ready")
    # The idle window imports torch in the background (part 4 measures that): let it finish,
    # so that parts 2 and 3 measure playing and drawing, not the import's GIL stalls.
    from gdviz.core import torch_preload

    settle(1.0)
    torch_preload.wait(60)
    settle(0.3)
    return window


def close_window(window: Any) -> None:
    window.close()  # closeEvent stops and joins the training thread
    window.deleteLater()
    settle(0.1)


# --- 2. playing 100,000 epochs ---------------------------------------------------------------

def play_once(window: Any) -> tuple[float, list[float], int]:
    """Play unthrottled to the end; returns seconds, the 10 ms timer's gaps, redraws seen."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    model = window.model
    if model.state != "ready":
        model.reset()
        wait_until(lambda: model.history is not None and model.state == "ready")
        settle(0.2)
    loop = QEventLoop()
    ticks: list[float] = []
    redraws = [0]

    def on_tick() -> None:
        ticks.append(time.perf_counter())

    def on_state(state: str) -> None:
        if state in ("finished", "diverged"):
            loop.quit()

    def on_updated() -> None:
        redraws[0] += 1

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(TIMER_MS)
    timer.timeout.connect(on_tick)
    model.state_changed.connect(on_state)
    model.updated.connect(on_updated)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(loop.quit)
    guard.start(300_000)
    timer.start()
    start = time.perf_counter()
    ticks.append(start)
    model.set_speed(None)
    model.play()
    if model.state == "playing":
        loop.exec()
    elapsed = time.perf_counter() - start
    timer.stop()
    guard.stop()
    model.state_changed.disconnect(on_state)
    model.updated.disconnect(on_updated)
    if model.state != "finished":
        raise RuntimeError(f"play ended in state {model.state!r} after {elapsed:.1f} s")
    if model.epochs_recorded != PLAY_EPOCHS:
        raise RuntimeError(f"{model.epochs_recorded} epochs recorded, not {PLAY_EPOCHS}")
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    settle(0.2)
    return elapsed, gaps, redraws[0]


def profile_play(window: Any) -> None:
    """cProfile of the GUI thread (only) during one more unthrottled play."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    elapsed, _gaps, redraws = play_once(window)
    profiler.disable()
    print_profile(profiler, "tottime", 16,
                  f"cProfile of the GUI thread, one play ({elapsed:.2f} s, {redraws} redraws; "
                  f"by own time)")


def headless_subprocess(env: dict[str, str]) -> float:
    env = dict(env)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gdviz", "run", "--trainer", "numpy", "--epochs",
                    str(PLAY_EPOCHS), "--log-every", str(PLAY_EPOCHS)],
                   env=env, check=True, stdout=subprocess.DEVNULL, cwd=REPO_ROOT)
    return time.perf_counter() - start


def headless_in_process() -> float:
    from gdviz.cli import run_headless
    from gdviz.core.config import build_config

    config = build_config("numpy", {"epochs": PLAY_EPOCHS, "log_every": PLAY_EPOCHS})
    sink = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        status = run_headless(config)
    elapsed = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"run_headless returned {status}")
    return elapsed


def bench_play(display: Display, repeats: int, profile: bool) -> None:
    print(f"\n2. Playing {PLAY_EPOCHS:,} numpy epochs unthrottled ({repeats} runs, median)")
    sub = [headless_subprocess(display.env) for _ in range(repeats)]
    inproc = [headless_in_process() for _ in range(repeats)]
    results: dict[str, tuple[list[float], list[float], list[int]]] = {}
    variants = {"window (default log_every=1)": {},
                f"window (log_every={PLAY_EPOCHS})": {"log_every": PLAY_EPOCHS}}
    for name, explicit in variants.items():
        window = new_window(PLAY_EPOCHS, **explicit)
        times, gaps, redraws = [], [], []
        for _ in range(repeats):
            elapsed, run_gaps, seen = play_once(window)
            times.append(elapsed)
            gaps.extend(run_gaps)
            redraws.append(seen)
        if profile and not explicit:
            profile_play(window)
        close_window(window)
        results[name] = (times, gaps, redraws)
    t_sub, t_in = median(sub), median(inproc)
    print(f"   headless `gdviz run` subprocess (whole process): {t_sub:.3f} s  {fmt_runs(sub)}")
    print(f"   headless run_headless in-process:               {t_in:.3f} s  {fmt_runs(inproc)}")
    for name, (times, gaps, redraws) in results.items():
        t_win = median(times)
        late = [max(0.0, gap * 1000 - TIMER_MS) for gap in gaps]
        print(f"   {name}: {t_win:.3f} s  {fmt_runs(times)}; "
              f"redraws per run {redraws}")
        primary = name.startswith("window (default")
        tag = "target <= 2: " if primary else "for comparison: "
        for label, base in (("subprocess", t_sub), ("in-process", t_in)):
            ratio = t_win / base
            check = verdict(ratio <= 2) if primary else "-"
            print(f"      ratio window / headless {label}: {ratio:.2f}  ({tag}{check})")
        p50, p99, worst = percentile(late, 50), percentile(late, 99), max(late, default=0.0)
        print(f"      10 ms GUI timer lateness over {len(gaps)} ticks: p50 {p50:.1f} ms, "
              f"p99 {p99:.1f} ms, max {worst:.1f} ms  "
              f"({'target p99 <= 50 ms: ' + verdict(p99 <= 50) if primary else '-'})")


# --- 3. redrawing with 1,000,000 recorded epochs ---------------------------------------------

class PaintCounter:
    """Counts Paint events per watched widget (proof that a frame really painted)."""

    def __init__(self, widgets: dict[str, Any]) -> None:
        from PySide6.QtCore import QEvent, QObject

        counts = {name: 0 for name in widgets}
        self.counts = counts

        class Spy(QObject):
            def __init__(self, name: str) -> None:
                super().__init__()
                self.name = name

            def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt override
                if event.type() == QEvent.Type.Paint:
                    counts[self.name] += 1
                return False

        self._spies = []
        for name, widget in widgets.items():
            spy = Spy(name)
            widget.installEventFilter(spy)
            self._spies.append(spy)

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


def plot_views(window: Any) -> dict[str, Any]:
    """name -> (refresh callable, the QGraphicsView viewport it paints into)."""
    return {
        "surface": (window.surface_plot.refresh, window.surface_plot.viewport()),
        "loss": (window.loss_plot.refresh, window.loss_plot.plot.viewport()),
        "weights": (window.weights_plot.refresh, window.weights_plot.viewport()),
        "fit": (window.fit_plot.refresh, window.fit_plot.viewport()),
        "step panel": (window.step_panel.refresh, window.step_panel.viewport()),
        "log panel": (window.log_panel.refresh, window.log_panel.viewport()),
    }


def fill_history(window: Any, epochs: int) -> tuple[Any, Any]:
    """A History of `epochs` numpy epochs from the headless loop, handed to the window's model."""
    from gdviz.core.config import build_config
    from gdviz.core.session import RunState
    from gdviz.core.trainers import make_trainer
    from gdviz.core.training import new_history, train

    model = window.model
    config = build_config("numpy", {"epochs": model.config.epochs})
    assert config == model.config
    trainer = make_trainer(config)
    history = new_history(trainer, n_points=len(config.x))
    train(trainer, epochs, history)
    session = model.session  # the Qt-free session holds what the views read
    session.history = history
    session.cursor = len(history)
    session.state = RunState.PAUSED
    return trainer, history


def redraw(window: Any, mode: str = "repaint") -> None:
    """One frame, as the model's coalesced `updated` would run it, painted synchronously.

    The change already scheduled the model's own 16 ms redraw; this frame *is* that redraw, so
    the timer is stopped (else it fires inside the frame and redraws twice). The first
    processEvents delivers what the change queued (the scenes' dirty regions, auto-range), the
    repaint paints the whole window once, the second drains what is left.
    """
    from PySide6.QtWidgets import QApplication

    window.model._redraw_timer.stop()
    window._on_model_updated()
    QApplication.processEvents()
    if mode == "grab":
        window.grab()
    else:
        window.repaint()
    QApplication.processEvents()


def time_frames(window: Any, change: Callable[[int], None], frames: int, mode: str,
                counter: PaintCounter) -> tuple[list[float], dict[str, int]]:
    """Seconds per frame: change -> _on_model_updated -> a synchronous paint."""
    from PySide6.QtWidgets import QApplication

    times = []
    before = counter.snapshot()
    for i in range(frames):
        QApplication.processEvents()  # untimed: leftovers of the previous frame
        change(i)
        start = time.perf_counter()
        redraw(window, mode)
        times.append(time.perf_counter() - start)
    after = counter.snapshot()
    return times, {name: after[name] - before[name] for name in after}


def time_parts(window: Any, change: Callable[[int], None], frames: int,
               parts: dict[str, Any] | None = None) -> dict[str, tuple[float, float]]:
    """Median refresh and paint seconds of each plot/panel on its own, after the same change.

    `parts`: name -> (refresh, viewport); the four plots (plot_views) by default.
    """
    from PySide6.QtWidgets import QApplication

    parts = parts if parts is not None else plot_views(window)
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in parts}
    for i in range(frames):
        QApplication.processEvents()
        change(i)
        window.model._redraw_timer.stop()
        for name, (refresh, viewport) in parts.items():
            start = time.perf_counter()
            refresh()
            middle = time.perf_counter()
            viewport.repaint()
            end = time.perf_counter()
            samples[name][0].append(middle - start)
            samples[name][1].append(end - middle)
    return {name: (median(r), median(p)) for name, (r, p) in samples.items()}


def bench_redraw(display: Display, frames: int, profile: bool) -> None:
    import random

    from gdviz.core.training import train

    print(f"\n3. Redrawing with {BIG_EPOCHS:,} recorded epochs ({frames} frames each, "
          f"frame = change + _on_model_updated() + one synchronous repaint)")
    window = new_window(10 * BIG_EPOCHS)
    start = time.perf_counter()
    trainer, _history = fill_history(window, BIG_EPOCHS)
    filled = time.perf_counter() - start
    model = window.model
    window._on_model_updated()
    window.repaint()
    settle(0.3)
    print(f"   history filled by train() in {filled:.1f} s; window {window.width()}x"
          f"{window.height()}, exposed: {window.windowHandle().isExposed()}")

    rng = random.Random(1)
    seeks = [rng.randint(1, BIG_EPOCHS) for _ in range(4 * frames + 100)]

    def move_cursor(i: int) -> None:
        model.seek(seeks[i])

    # New epochs come from the same trainer, recorded ahead so the frame pays only for append.
    total_appends = APPEND_PER_FRAME * (3 * frames + 20)
    pending: list[Any] = []
    train(trainer, total_appends, on_record=pending.append)
    feed = iter(pending)
    append_times: list[float] = []

    def append_epochs(_i: int) -> None:
        model.seek(len(model.history))  # at the newest epoch, following as while playing
        start = time.perf_counter()
        append = model.history.append
        for _ in range(APPEND_PER_FRAME):
            append(next(feed))
        model.session.cursor = len(model.history)
        append_times.append(time.perf_counter() - start)

    counter = PaintCounter({name: view for name, (_r, view) in plot_views(window).items()})
    changes = {"a": ("cursor moves (seek to a random epoch)", move_cursor),
               "b": (f"{APPEND_PER_FRAME} epochs appended, cursor at the newest",
                     append_epochs)}
    for key, (text, change) in changes.items():
        change(frames + 5)
        redraw(window)  # warm-up frame
        repaint_times, painted = time_frames(window, change, frames, "repaint", counter)
        grab_times, _ = time_frames(window, change, max(5, frames // 3), "grab", counter)
        fps = 1 / median(repaint_times)
        print(f"   ({key}) {text}:")
        print(f"      repaint(): median {median(repaint_times) * 1000:.1f} ms/frame, "
              f"p90 {percentile(repaint_times, 90) * 1000:.1f} ms -> {fps:.1f} fps  "
              f"(target >= 30: {verdict(fps >= 30)})")
        print(f"      grab():    median {median(grab_times) * 1000:.1f} ms/frame -> "
              f"{1 / median(grab_times):.1f} fps")
        print(f"      paint events per widget over the {frames} repaint() frames: "
              + ", ".join(f"{name} {count}" for name, count in painted.items()))
        parts = time_parts(window, change, max(5, frames // 2))
        ranked = sorted(parts.items(), key=lambda item: -(item[1][0] + item[1][1]))
        print("      per widget (median ms: refresh + paint):")
        for name, (refresh, paint) in ranked:
            print(f"         {name:11s} {refresh * 1000:7.2f} + {paint * 1000:7.2f} = "
                  f"{(refresh + paint) * 1000:7.2f}")
        plots_only = [item for item in ranked if item[0] in ("surface", "loss", "weights", "fit")]
        print(f"      dominant plot: {plots_only[0][0]}; dominant widget: {ranked[0][0]}")
        if key == "b":
            print(f"      appending {APPEND_PER_FRAME} records (not in the frame time): median "
                  f"{median(append_times) * 1000:.2f} ms")
        if profile:
            profile_frames(window, change, max(5, frames // 2), text)
    close_window(window)


def profile_frames(window: Any, change: Callable[[int], None], frames: int, text: str,
                   count: int = 18) -> None:
    """cProfile of `frames` redraws after `change`, the `count` top entries (cumulative)."""
    import cProfile

    from PySide6.QtWidgets import QApplication

    profiler = cProfile.Profile()
    for i in range(frames):
        QApplication.processEvents()
        change(i)
        profiler.enable()
        redraw(window)
        profiler.disable()
    print_profile(profiler, "cumulative", count, f"cProfile, {frames} frames, {text} (cumulative)")


def print_profile(profiler: Any, order: str, count: int, title: str) -> None:
    import pstats

    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(count)
    print(f"      {title}:")
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    for line in lines[start:]:
        for prefix in (sysconfig.get_paths()["purelib"] + "/", f"{REPO_ROOT}/"):
            line = line.replace(prefix, "")
        print("         " + line[:150])


# --- main ------------------------------------------------------------------------------------

@contextlib.contextmanager
def display_for_this_process(display: Display) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in ("DISPLAY", "QT_QPA_PLATFORM")}
    for key in saved:
        if key in display.env:
            os.environ[key] = display.env[key]
        else:
            os.environ.pop(key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="start-up runs (default 5)")
    parser.add_argument("--play-repeats", type=int, default=3, help="play runs (default 3)")
    parser.add_argument("--frames", type=int, default=40, help="frames per redraw case")
    parser.add_argument("--offscreen", action="store_true", help="do not start Xvfb")
    parser.add_argument("--only", choices=("startup", "play", "redraw", "torch"),
                        action="append",
                        help="run only these parts (repeatable)")
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile's top entries for the redraw frames")
    parser.add_argument("--child", choices=("gdviz", "bare", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "torch":
        child_torch()
        return 0
    if args.child:
        child_startup(args.child)
        return 0
    parts = args.only or ["startup", "play", "redraw", "torch"]
    display = Display(use_xvfb=not args.offscreen)
    try:
        print("gdviz window benchmarks")
        print(f"   Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
              f"{display.describe()}")
        if "startup" in parts:
            bench_startup(display, args.repeats)
        if "torch" in parts:
            bench_torch(display, max(1, args.repeats // 2))
        with display_for_this_process(display):
            if {"play", "redraw"} & set(parts):
                app = qt_app()
                from pyqtgraph import __version__ as pg_version
                from PySide6 import __version__ as pyside_version

                print(f"\n   (in-process: PySide6 {pyside_version}, pyqtgraph {pg_version}, "
                      f"platform {app.platformName()})")
            if "play" in parts:
                bench_play(display, args.play_repeats, args.profile)
            if "redraw" in parts:
                bench_redraw(display, args.frames, args.profile)
    finally:
        display.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
