"""Export benchmarks, run by hand: `python tests/benchmarks/bench_export.py [--repeats N]`.

1. A GIF of 300 epochs at 800x500 (`AnimationExport.run`, frames rendered and written):
   target <= 3 s and <= 1 MB. Measured for the surface view of the notebook's numpy cell
   (lr 0.01: it converges in ~10 epochs, so most frames repeat), of a slow run whose marker
   moves every epoch (lr 0.001), and for the loss view, whose cursor moves every epoch; each
   in a fresh window, medians of N runs, with where the time goes (model and view refresh,
   painting, quantizing and writing).
2. `gdviz export --out x.png` wall time against `gdviz run` plus one window start-up (the time
   to the first complete frame of `gdviz`'s MainWindow, measured as
   tests/benchmarks/bench_gui.py --only startup does, in a fresh process): target ratio <= 1.5.
   Every process is fresh, all on Qt's offscreen platform (as `gdviz export` runs), medians.

Not a test: pytest never collects tests/benchmarks/.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
GIF_EPOCHS = 300
GIF_SIZE = (800, 500)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


def runs(values: list[float], unit: str = "s") -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values) + f"] {unit}"


# --- 1. the GIF ---------------------------------------------------------------------------------


def child_gif(view: str, lr: float, path: str) -> None:
    """In a fresh process (as `gdviz export` runs): train, then time the GIF alone."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt

    from gdviz.core.config import build_config
    from gdviz.ui import export
    from gdviz.ui.app import make_application
    from gdviz.ui.main_window import MainWindow

    app = make_application()
    window = MainWindow(build_config("numpy", explicit={"epochs": GIF_EPOCHS, "lr": lr}))
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.model.run_to_end()
    while str(window.model.state) != "finished":
        app.processEvents()
    window.show()
    window.resize(1280, 800)
    app.processEvents()
    animation = export.AnimationExport.for_window(window, view, path, size=GIF_SIZE)
    parts = _instrument(animation)
    start, start_cpu = time.perf_counter(), time.process_time()
    animation.run()
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    from PIL import Image

    with Image.open(path) as gif:
        distinct = gif.n_frames
    print("BENCH " + json.dumps({"wall": wall, "cpu": cpu, "size": os.path.getsize(path),
                                 "distinct": distinct, "parts": parts}))
    window.close()


def gif_case(view: str, lr: float, folder: Path, repeats: int) -> dict[str, Any]:
    results = []
    for attempt in range(repeats):
        path = folder / f"{view}-{lr:g}-{attempt}.gif"
        proc = subprocess.run([sys.executable, __file__, "--child-gif", view, str(lr),
                               str(path)], capture_output=True, text=True, timeout=600,
                              cwd=REPO_ROOT, env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        lines = [line for line in proc.stdout.splitlines() if line.startswith("BENCH ")]
        if not lines:
            raise RuntimeError(f"GIF child failed ({proc.returncode}): {proc.stderr[-2000:]}")
        results.append(json.loads(lines[-1][6:]))
    return {"view": view, "lr": lr, "frames": GIF_EPOCHS + 1,
            "distinct": results[0]["distinct"], "times": [r["wall"] for r in results],
            "cpu": [r["cpu"] for r in results], "sizes": [r["size"] for r in results],
            "parts": {key: statistics.median(r["parts"][key] for r in results)
                      for key in results[0]["parts"]}}


def _instrument(animation: Any) -> dict[str, float]:
    """Time the steps of the export: wrap the refresh, the paint and the frame writer."""
    from gdviz.ui import export

    parts = {"position + refresh": 0.0, "paint": 0.0, "quantize + write": 0.0}
    refresh = animation._refresh
    paint = export._render_laid_out

    def timed_refresh() -> None:
        start = time.perf_counter()
        refresh()
        parts["position + refresh"] += time.perf_counter() - start

    def timed_paint(*args: Any) -> Any:
        start = time.perf_counter()
        image = paint(*args)
        parts["paint"] += time.perf_counter() - start
        return image

    make_sink = animation._make_sink

    def timed_sink() -> Any:
        sink = make_sink()
        add = sink.add

        def timed_add(image: Any) -> None:
            start = time.perf_counter()
            add(image)
            parts["quantize + write"] += time.perf_counter() - start

        sink.add = timed_add
        return sink

    animation._refresh = timed_refresh
    animation._make_sink = timed_sink
    export._render_laid_out = timed_paint
    return parts


def bench_gif(repeats: int) -> None:
    print(f"\n1. GIF of {GIF_EPOCHS} epochs ({GIF_EPOCHS + 1} frames, epoch 0 included) at "
          f"{GIF_SIZE[0]}x{GIF_SIZE[1]}, 10 fps (medians of {repeats} runs, each in a fresh "
          "process, offscreen; the export alone, after training)")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for view, lr in (("surface", 0.01), ("surface", 0.001), ("loss", 0.01)):
            case = gif_case(view, lr, folder, repeats)
            wall = statistics.median(case["times"])
            size = statistics.median(case["sizes"])
            cpu = statistics.median(case["cpu"])
            print(f"   {view:8s} lr {lr:<6g}: {wall:.2f} s (cpu {cpu:.2f} s) "
                  f"{runs(case['times'])}; {size / 1e6:.3f} MB; {case['distinct']} distinct "
                  f"frames stored  (<= 3 s: {verdict(wall <= 3)}, <= 1 MB: "
                  f"{verdict(size <= 1e6)})")
            parts = case["parts"]
            if parts:
                total = sum(parts.values())
                print("      median of the parts: " + ", ".join(
                    f"{key} {value:.2f} s ({1000 * value / case['frames']:.1f} ms/frame)"
                    for key, value in parts.items())
                    + f"; the rest (palette, file) {wall - total:.2f} s")


# --- 2. gdviz export --out x.png ----------------------------------------------------------------


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed ({result.returncode}): {result.stderr[-1000:]}")
    return elapsed


def bench_png(repeats: int) -> None:
    spec = importlib.util.spec_from_file_location("bench_gui", Path(__file__).with_name(
        "bench_gui.py"))
    assert spec is not None and spec.loader is not None
    bench_gui = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_gui)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    gdviz = [sys.executable, "-m", "gdviz"]
    print(f"\n2. `gdviz export --out x.png` against `gdviz run` + one window start-up "
          f"(fresh processes, offscreen, medians of {repeats})")
    run_times: list[float] = []
    startup_times: list[float] = []
    export_times: list[float] = []
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        timed([*gdviz, "run"], env, folder)  # warm the file cache, not timed
        timed([*gdviz, "export", "--out", "x.png"], env, folder)
        bench_gui.run_startup_child("gdviz", env)
        for _ in range(repeats):  # interleaved, so noise hits all three alike
            run_times.append(timed([*gdviz, "run"], env, folder))
            startup_times.append(bench_gui.run_startup_child("gdviz", env)["frame"])
            export_times.append(timed([*gdviz, "export", "--out", "x.png"], env, folder))
    run, startup, png = (statistics.median(v) for v in (run_times, startup_times, export_times))
    print(f"   gdviz run (numpy, 100 epochs):          {run:.3f} s  {runs(run_times)}")
    print(f"   window start-up (to the first frame):   {startup:.3f} s  {runs(startup_times)}")
    print(f"   gdviz export --out x.png:               {png:.3f} s  {runs(export_times)}")
    ratio = png / (run + startup)
    print(f"   ratio export / (run + start-up): {ratio:.2f}  (target <= 1.5: "
          f"{verdict(ratio <= 1.5)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("gif", "png"), action="append")
    parser.add_argument("--child-gif", nargs=3, metavar=("VIEW", "LR", "PATH"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_gif:
        view, lr, path = args.child_gif
        child_gif(view, float(lr), path)
        return
    parts = args.only or ["gif", "png"]
    import platform

    print("gdviz export benchmarks")
    print(f"   Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())} at the start")
    if "gif" in parts:
        bench_gif(args.repeats)
    if "png" in parts:
        bench_png(args.repeats)
    print(f"   load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
