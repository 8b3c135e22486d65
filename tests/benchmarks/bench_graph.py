"""Graph view benchmark, run by hand: `python tests/benchmarks/bench_graph.py [--repeats N]`.

Building the graph view for one epoch must take <= 50 ms. Timed per trainer, torch already
imported and warm, median of `--repeats` (default 20):
- build_graph: the forward pass again, the walk of loss.grad_fn, backward() with hooks;
- view rebuild: the same plus every scene item created, lit for the phase and fitted
  (what the window pays when the cursor moves to another epoch); the target applies to this;
- repaint: one synchronous paint of the view afterwards (offscreen raster);
- relight: a phase change on the same epoch (no rebuild).
Not a test: pytest never collects tests/benchmarks/.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_MS = 50.0
EPOCHS = 10
CURSOR = 5


def timed(action: Callable[[], object], repeats: int) -> float:
    """Median milliseconds of `action`, after one warm-up call."""
    action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    repeats = parser.parse_args().repeats

    import torch
    from PySide6.QtWidgets import QApplication

    from gdviz.core.autograd_graph import build_graph
    from gdviz.core.config import build_config
    from gdviz.core.history import History
    from gdviz.core.phases import Phase
    from gdviz.core.trainers import make_trainer
    from gdviz.core.training import train
    from gdviz.ui.graph_view import GraphView
    from gdviz.ui.style import use_projector_font

    app = QApplication(sys.argv[:1])
    use_projector_font(app)
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, "
          f"torch threads {torch.get_num_threads()}, Qt platform {app.platformName()}")
    print(f"## one epoch's graph (epoch {CURSOR} of {EPOCHS}), median of {repeats}, "
          f"target <= {TARGET_MS:.0f} ms for the view rebuild")
    for name in ("numpy", "autograd", "nn"):
        config = build_config(name, {"epochs": EPOCHS})
        trainer = make_trainer(config)
        history = History(trainer.param_names, trainer.params())
        train(trainer, EPOCHS, history)
        params = history.params_at(CURSOR - 1)
        model = SimpleNamespace(config=config, history=history, cursor=CURSOR,
                                phase=Phase.BACKWARD)
        view = GraphView(model)
        view.resize(600, 350)
        view.show()
        app.processEvents()

        def relight(view: GraphView = view, model: SimpleNamespace = model) -> None:
            model.phase = Phase.LOSS if model.phase is Phase.BACKWARD else Phase.BACKWARD
            view.refresh()

        build = timed(lambda config=config, params=params: build_graph(config, params), repeats)
        rebuild = timed(view.rebuild, repeats)
        paint = timed(view.viewport().repaint, repeats)
        light = timed(relight, repeats)
        verdict = "ok" if rebuild <= TARGET_MS else "MISSED"
        print(f"{name:9s} build_graph {build:6.2f} ms   view rebuild {rebuild:6.2f} ms "
              f"({rebuild / TARGET_MS:4.2f} of target: {verdict})   repaint {paint:6.2f} ms   "
              f"relight {light:5.2f} ms")
        view.close()
        view.deleteLater()
        app.processEvents()


if __name__ == "__main__":
    main()
