"""`gdviz export --out FILE`: a run as a figure, an animation or a trace, with no window shown.

The file name's ending says what is written:
- `.png`, `.svg`: a figure of one view (`--view`, default the surface) or of the whole window
  (PNG only), at the epoch the run ends (or the end of `--range`);
- `.gif`, `.mp4`: an animation of the view over the run (every epoch, 0 included), an epoch
  range (`--range A:B`, every K-th with `A:B:K`) or the phases of one epoch (`--sub-steps E`);
  MP4 needs ffmpeg on PATH;
- `.csv`, `.json` (JSON Lines, byte for byte `gdviz run --json` with the same options),
  `.jsonl`, `.ndjson`, `.txt` / `.log` (the lines `gdviz run` prints): a trace, written from
  the core alone (no Qt, no window).

Figures and animations train the configuration in a MainWindow that is never shown (Qt's
offscreen platform unless QT_QPA_PLATFORM names another), laid out at `--size`, exactly as the
window would show it. Options that do not apply to the file's kind, malformed values, an
unknown ending or an unwritable path end in one line on stderr and exit status 2, and leave no
file behind (everything is written beside the target and renamed when complete).

This module is imported by the command-line parser: it imports nothing heavy at the top.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdviz.core.config import RunConfig

EXIT_USAGE = 2
EXIT_FAILED = 1
VIEWS = ("surface", "loss", "weights", "fit", "graph", "gradcheck", "window")
FIGURE_KINDS = {".png": "png", ".svg": "svg"}
ANIMATION_KINDS = {".gif": "gif", ".mp4": "mp4"}
TRACE_ENDINGS = (".csv", ".json", ".jsonl", ".ndjson", ".txt", ".log")  # traces.TRACE_FORMATS
DEFAULT_VIEW_SIZE = (800, 500)
DEFAULT_WINDOW_SIZE = (1280, 800)
_SIZE = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")
_RANGE = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*(?::\s*(\d+)\s*)?$")


class ExportOptionError(ValueError):
    """An export option that is malformed or does not apply; the message is one line."""


def add_export_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--out", required=True, metavar="FILE",
        help="the file to write; its ending chooses: .png .svg (figure), .gif .mp4 "
             "(animation), .csv .json .jsonl .txt (trace)")
    add("--view", choices=VIEWS,
        help="figures and animations: the view to draw (default: surface)")
    add("--size", metavar="WxH",
        help="figures and animations: layout size in pixels (default 800x500; the window "
             "1280x800)")
    add("--scale", type=float, metavar="S",
        help="PNG, GIF, MP4: pixels per layout pixel, e.g. 2 for a 4K slide (default 1)")
    add("--fps", type=float, metavar="F", help="GIF, MP4: frames a second (default 10)")
    add("--range", metavar="A:B[:K]",
        help="figures and animations: epochs A to B (every K-th); a figure shows epoch B "
             "(default: the whole run, epoch 0 included)")
    add("--sub-steps", type=int, metavar="E",
        help="GIF, MP4: one frame per phase of epoch E (forward, loss, gradient, update, …)")


@dataclass(frozen=True)
class ExportRequest:
    out: Path
    kind: str  # png, svg, gif, mp4, or "trace"
    view: str
    size: tuple[int, int]
    scale: float
    fps: float
    epochs: tuple[int, int] | None
    every: int | None
    sub_steps_of: int | None

    @property
    def is_animation(self) -> bool:
        return self.kind in ANIMATION_KINDS.values()


def parse_size(text: str) -> tuple[int, int]:
    match = _SIZE.match(text)
    if match is None:
        raise ExportOptionError(f"--size must be WIDTHxHEIGHT in pixels, e.g. 800x500, not "
                                f"{text!r}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        raise ExportOptionError(f"--size {width}x{height}: each side must be 16 to 8192 pixels")
    return width, height


def parse_range(text: str) -> tuple[tuple[int, int], int | None]:
    match = _RANGE.match(text)
    if match is None:
        raise ExportOptionError(f"--range must be A:B or A:B:K (epochs A to B, every K-th), "
                                f"not {text!r}")
    first, last = int(match.group(1)), int(match.group(2))
    every = None if match.group(3) is None else int(match.group(3))
    if first > last:
        raise ExportOptionError(f"--range {first}:{last}: the first epoch is after the last")
    if every is not None and every < 1:
        raise ExportOptionError("--range A:B:K: K must be 1 or more")
    return (first, last), every


def request_from_args(args: argparse.Namespace) -> ExportRequest:
    """The export the options ask for; ExportOptionError for anything malformed or misplaced."""
    out = Path(args.out)
    ending = out.suffix.lower()
    if ending in FIGURE_KINDS:
        kind = FIGURE_KINDS[ending]
    elif ending in ANIMATION_KINDS:
        kind = ANIMATION_KINDS[ending]
    elif ending in TRACE_ENDINGS:
        kind = "trace"
    else:
        shown = f"{ending!r}" if ending else "no ending"
        known = ", ".join((*FIGURE_KINDS, *ANIMATION_KINDS, *TRACE_ENDINGS))
        raise ExportOptionError(f"cannot write {_one_line(args.out)}: {shown} is not one of "
                                f"{known}")
    given = {name: getattr(args, name.replace("-", "_")) is not None
             for name in ("view", "size", "scale", "fps", "range", "sub-steps")}
    if kind == "trace":
        extra = [f"--{name}" for name, on in given.items() if on]
        if extra:
            raise ExportOptionError(f"{', '.join(extra)}: a trace ({ending}) holds every epoch "
                                    "of the run; these options are for figures and animations "
                                    "(set the run's length with --epochs)")
    else:
        if given["fps"] and kind not in ANIMATION_KINDS.values():
            raise ExportOptionError("--fps is for animations (.gif, .mp4)")
        if given["sub-steps"] and kind not in ANIMATION_KINDS.values():
            raise ExportOptionError("--sub-steps is for animations (.gif, .mp4)")
        if given["scale"] and kind == "svg":
            raise ExportOptionError("--scale is for pixel images (.png, .gif, .mp4); an SVG "
                                    "scales by itself")
        if given["sub-steps"] and given["range"]:
            raise ExportOptionError("--range and --sub-steps: give one of them")
        if kind == "svg" and args.view == "window":
            raise ExportOptionError("SVG export is for one view at a time (surface, loss, "
                                    "weights, fit, graph, gradcheck); export the window as PNG")
    view = args.view or "surface"
    size = (parse_size(args.size) if args.size is not None
            else DEFAULT_WINDOW_SIZE if view == "window" else DEFAULT_VIEW_SIZE)
    scale = 1.0 if args.scale is None else args.scale
    if not (math.isfinite(scale) and 0.1 <= scale <= 8):
        raise ExportOptionError(f"--scale must be between 0.1 and 8, got {scale:g}")
    fps = 10.0 if args.fps is None else args.fps
    if not (math.isfinite(fps) and 0 < fps <= 50):
        raise ExportOptionError(f"--fps must be above 0 and at most 50, got {fps:g}")
    epochs, every = parse_range(args.range) if args.range is not None else (None, None)
    sub_steps = args.sub_steps
    if sub_steps is not None and sub_steps < 1:
        raise ExportOptionError(f"--sub-steps must be an epoch from 1 on, got {sub_steps}")
    return ExportRequest(out, kind, view, size, scale, fps, epochs, every, sub_steps)


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines())


def run_export(args: argparse.Namespace, config: RunConfig) -> int:
    """`gdviz export`: exit status 0 when the file is written, 2 for a user's mistake."""
    from gdviz.core.traces import ExportError

    try:
        request = request_from_args(args)
        if request.kind == "trace":
            _export_trace(request, config)
            return 0
        return _export_picture(request, config)
    except (ExportOptionError, ExportError) as error:
        print(f"gdviz export: error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gdviz export: interrupted", file=sys.stderr)
        return 130


def _export_trace(request: ExportRequest, config: RunConfig) -> None:
    from gdviz.core import traces

    traces.export_trace(request.out, config)


def _export_picture(request: ExportRequest, config: RunConfig) -> int:
    """Train in a window nobody sees, then draw the view into the file."""
    _probe_writable(request.out)  # an unwritable path fails before Qt and training
    if request.kind == "mp4" and shutil.which("ffmpeg") is None:
        raise ExportOptionError("no ffmpeg on PATH: install ffmpeg to export MP4 (e.g. apt-get "
                                "install ffmpeg), or export a GIF")
    if "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSize, Qt, qInstallMessageHandler

    qInstallMessageHandler(_qt_message)
    from gdviz.ui import export
    from gdviz.ui.app import make_application

    app = make_application()
    from gdviz.ui.layout import arrange, is_compact
    from gdviz.ui.main_window import MainWindow

    window = MainWindow(config)
    try:
        window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
        trained = _train(app, window)
        if trained is not None:
            print(f"gdviz export: error: {trained}", file=sys.stderr)
            return EXIT_FAILED
        window_size = request.size if request.view == "window" else DEFAULT_WINDOW_SIZE
        if request.view in ("surface", "loss", "weights", "fit"):
            # A plot alone: the panels in docks are not shown at all, which saves laying
            # them out and filling them (~0.5 s of a figure's 2 s).
            for dock in window.docks.all():
                dock.hide()
        window.show()  # never on a screen: views follow the model only while "visible"
        window.resize(QSize(*window_size))
        if (window.width(), window.height()) != window_size:
            least = window.minimumSizeHint()
            raise export.ExportError(f"the window cannot be {window_size[0]}x{window_size[1]}: "
                                     f"it needs at least {least.width()}x{least.height()}")
        screen = window.screen()
        compact = is_compact(QSize(*window_size))
        if request.view in ("window", "graph", "gradcheck") and (
                screen is None or is_compact(screen.availableGeometry().size()) != compact):
            arrange(window, window.docks, compact)  # the docks as on a screen of that size
        if request.view in ("gradcheck", "window"):
            _wait_for_torch()  # its autograd column, not "PyTorch loading…"
        widget = export.views(window)[request.view]
        size = None if request.view == "window" else request.size
        if request.is_animation:
            animation = export.AnimationExport.for_window(
                window, request.view, request.out, epochs=request.epochs,
                sub_steps_of=request.sub_steps_of, every=request.every, fps=request.fps,
                size=size, scale=request.scale)
            animation.run()
        else:
            _show_figure_epoch(window, request)
            if request.kind == "svg":
                export.export_svg(widget, request.out, size)
            else:
                export.export_png(widget, request.out, size, request.scale)
        _note_end(window)
        return 0
    finally:
        window.close()


def _probe_writable(path: Path) -> None:
    """Create and remove a file beside `path`, as the real export will (ExportOptionError)."""
    shown = _one_line(str(path))
    if path.is_dir():
        raise ExportOptionError(f"cannot write {shown}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise ExportOptionError(f"cannot write {shown}: the folder {_one_line(str(folder))} "
                                "does not exist")
    probe = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as failure:
        raise ExportOptionError(f"cannot write {shown}: {failure.strerror or failure}") from None
    with contextlib.suppress(OSError):
        os.unlink(probe)


def _qt_message(_mode: Any, _context: Any, message: str) -> None:
    """Qt's warnings on stderr, less the offscreen platform's complaint about a shown window."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _train(app: Any, window: Any) -> str | None:
    """Train the window's run to its end; a message if the trainer failed, else None."""
    from PySide6.QtCore import QEventLoop, QTimer

    model = window.model
    model.run_to_end()
    wake = QTimer(interval=100)  # Ctrl+C is seen between two waits
    wake.timeout.connect(_nothing)
    wake.start()
    try:
        while not _trained(model):
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    finally:
        wake.stop()
    app.processEvents()
    if str(model.state) == "failed":
        return f"training failed: {model.session.failure}"
    return None


def _nothing() -> None:
    pass


def _trained(model: Any) -> bool:
    session = model.session
    state = str(model.state)
    if state in ("finished", "diverged", "failed") or session.lesson_error is not None:
        return True
    return state in ("ready", "paused") and session.at_limit and session.pending is None


def _wait_for_torch() -> None:
    """The gradient check's autograd column needs torch; the window loads it lazily."""
    from gdviz.core import torch_preload

    torch_preload.start()
    torch_preload.wait(120)


def _show_figure_epoch(window: Any, request: ExportRequest) -> None:
    from gdviz.ui.export import ExportError

    model = window.model
    recorded = model.epochs_recorded
    epoch = recorded if request.epochs is None else request.epochs[1]
    if epoch > recorded:
        raise ExportError(f"--range ends at epoch {epoch}, after the recorded run (epochs 0 "
                          f"to {recorded})")
    model.seek(epoch)
    window._on_model_updated()


def _note_end(window: Any) -> None:
    model = window.model
    session = model.session
    if session.diverged_at is not None:
        print(f"gdviz export: note: the run diverged at epoch {session.diverged_at}",
              file=sys.stderr)
    elif session.lesson_error is not None:
        print(f"gdviz export: note: torch refused the update at epoch {model.epochs_recorded + 1}",
              file=sys.stderr)
