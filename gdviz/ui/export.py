"""Figures and animations of the window's views: PNG, SVG, the clipboard, GIF and MP4.

A view exports what it shows: it paints itself (`QWidget.render`) into a QImage, a
QSvgGenerator or the frames of an animation, laid out at the chosen size first.

- PNG: `size` is the layout size in logical pixels (the view is laid out anew at that size),
  `scale` multiplies the pixels: the view is painted at that device-pixel ratio, so text, lines
  and markers are drawn at 2x, not a bitmap blown up. The PNG says its resolution
  (96 dpi x scale), so slide software places a 2x image at the 1x size.
- SVG: real vectors. pyqtgraph 0.14's own SVGExporter crashes on current Qt (pyqtgraph #3495);
  here the view paints into a `QSvgGenerator` (SVG 1.1, so the plots' clipping is kept) with
  pyqtgraph's items in export mode (scatter symbols drawn as paths, not pixmap atlases) and
  every item cache off (a cached axis would be an embedded bitmap). The heatmap stays an
  embedded image. Qt writes pyqtgraph's curves in data coordinates under a scaling transform
  with `vector-effect="non-scaling-stroke"`, which viewers that ignore that attribute draw as
  strokes hundreds of pixels wide: those groups' coordinates are transformed to pixels here
  (as pyqtgraph's own exporter does), so every viewer draws the same lines.
- Animations (GIF, MP4): frames of one view across the run (`animation_frames`: every epoch,
  an epoch range, or the sub-steps of one epoch), rendered in chunks from a QTimer in the window
  (`AnimationExport.start`, with `start_animation_export` adding a QProgressDialog with Cancel)
  or all at once headless (`AnimationExport.run`). The GIF is written while the frames are made:
  one palette for all frames, quantized once from a montage of a few frames, each frame mapped
  onto it without dithering, stored as the rectangle that changed, with the unchanged pixels
  in it transparent. Identical consecutive frames are stored once with their durations added, so
  the animation's timing is kept (a frame count counts distinct consecutive frames).
  MP4 needs an `ffmpeg` executable on PATH: the frames are piped to it.

Every file is written as a temporary file in the target folder and renamed over the target
only when complete (`AtomicOutput`): a failure or a cancelled export leaves nothing behind.
Errors a user can cause are `ExportError` (gdviz.core.traces) with a one-line message.
"""

from __future__ import annotations

import functools
import math
import os
import queue
import re
import secrets
import shutil
import subprocess
import sys
import threading
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyqtgraph as pg
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QElapsedTimer,
    QIODevice,
    QObject,
    QPoint,
    QRect,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QColor, QGuiApplication, QImage, QImageWriter, QPainter, QRegion
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QDockWidget,
    QGraphicsItem,
    QGraphicsView,
    QMainWindow,
    QProgressDialog,
    QWidget,
)

from gdviz.core.phases import Phase
from gdviz.core.traces import ExportError

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from gdviz.ui.main_window import MainWindow
    from gdviz.ui.run_model import RunModel

__all__ = [
    "ANIMATION_FORMATS",
    "DEFAULT_FPS",
    "FIGURE_FORMATS",
    "MAX_FPS",
    "MAX_FRAMES",
    "VIEW_NAMES",
    "AnimationExport",
    "AtomicOutput",
    "ExportError",
    "Frame",
    "animation_format",
    "animation_frames",
    "copy_to_clipboard",
    "export_figure",
    "export_png",
    "export_svg",
    "ffmpeg_path",
    "figure_format",
    "frame_ms",
    "render_image",
    "render_svg",
    "start_animation_export",
    "view_refresher",
    "views",
]

VIEW_NAMES = ("surface", "loss", "weights", "fit", "graph", "gradcheck", "window")
FIGURE_FORMATS = {".png": "png", ".svg": "svg"}
ANIMATION_FORMATS = {".gif": "gif", ".mp4": "mp4"}
DEFAULT_FPS = 10.0
MAX_FPS = 50.0  # GIF counts time in 1/100 s, and viewers slow anything under 2/100 s down
MAX_FRAMES = 500  # a longer range is sampled every k-th epoch (unless `every` is given)
CHUNK_MS = 40  # the window renders frames for this long, then serves its events
MISSING_FFMPEG = ("no ffmpeg on PATH: install ffmpeg to export MP4 (e.g. apt-get install "
                  "ffmpeg), or export a GIF")
_BACKGROUND = QColor("white")
_DOTS_PER_METER_1X = 3780  # 96 dpi
_PALETTE_COLORS = 255  # index 255 stays free: the transparent "unchanged" pixel of a GIF frame
_TRANSPARENT = 255
_PALETTE_SAMPLES = 4  # frames in the montage the palette is made from

Size = tuple[int, int]


# --- names, formats, files -----------------------------------------------------------------------


def views(window: MainWindow) -> dict[str, QWidget]:
    """The exportable views of a window by name (`VIEW_NAMES`); "loss" is its plot alone."""
    return {"surface": window.surface_plot, "loss": window.loss_plot.plot,
            "weights": window.weights_plot, "fit": window.fit_plot,
            "graph": window.graph_view, "gradcheck": window.gradcheck_panel, "window": window}


def view_refresher(window: MainWindow, name: str) -> Callable[[], None]:
    """What redraws view `name` for the model's current position, and only that view.

    The window's own redraw is held weakly: a helper that outlives a frame must never keep
    the window alive (a reference cycle through the window crashes Qt when the garbage
    collector frees it from another thread)."""
    if name == "window":
        redraw = weakref.WeakMethod(window._on_model_updated)

        def refresh_window() -> None:
            method = redraw()
            if method is not None:
                method()

        return refresh_window
    targets: dict[str, Callable[[], None]] = {
        "surface": window.surface_plot.refresh, "loss": window.loss_plot.refresh,
        "weights": window.weights_plot.refresh, "fit": window.fit_plot.refresh,
        "graph": window.graph_view.refresh, "gradcheck": window.gradcheck_panel.refresh}
    if name not in targets:
        raise ExportError(f"no view named {name!r}: one of {', '.join(VIEW_NAMES)}")
    return targets[name]


def _shown(path: Path | str) -> str:
    return " ".join(str(path).splitlines())  # a message stays one line whatever the name


def _reason(error: OSError) -> str:
    return error.strerror or str(error) or type(error).__name__


def _format_of(path: str | os.PathLike[str], formats: dict[str, str], what: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in formats:
        shown = f"{suffix!r}" if suffix else "no ending"
        raise ExportError(f"cannot write {what} to {_shown(Path(path))}: {shown} is not one of "
                          f"{', '.join(formats)}")
    return formats[suffix]


def figure_format(path: str | os.PathLike[str]) -> str:
    """"png" or "svg", from the file name's ending; anything else is an ExportError."""
    return _format_of(path, FIGURE_FORMATS, "a figure")


def animation_format(path: str | os.PathLike[str]) -> str:
    """"gif" or "mp4", from the file name's ending; anything else is an ExportError."""
    return _format_of(path, ANIMATION_FORMATS, "an animation")


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def _discard(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


class AtomicOutput:
    """A file that appears at `path` only once complete.

    The temporary file is created beside the target at once (so an unwritable folder fails
    before any work is done), written by whoever holds `temporary`, and renamed over the
    target by `commit()`. `discard()` removes it; so does leaving a `with` block by an
    exception, and so does the garbage collector or the interpreter's exit if neither ran.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        target = Path(path)
        folder = target.parent
        if target.is_dir():
            raise ExportError(f"cannot write {_shown(target)}: it is a folder")
        if not folder.is_dir():
            raise ExportError(f"cannot write {_shown(target)}: the folder {_shown(folder)} "
                              "does not exist")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        while True:
            temporary = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
            try:
                # 0o666 as open() uses, so the umask applies as to any new file.
                os.close(os.open(temporary, flags, 0o666))
                break
            except FileExistsError:
                continue
            except OSError as failure:
                raise ExportError(f"cannot write {_shown(target)}: {_reason(failure)}") from None
        self.target = target
        self.temporary = temporary
        self._finalizer = weakref.finalize(self, _discard, str(temporary))

    @property
    def pending(self) -> bool:
        return self._finalizer.alive

    def commit(self) -> None:
        try:
            os.replace(self.temporary, self.target)
        except OSError as failure:
            self.discard()
            raise ExportError(f"cannot write {_shown(self.target)}: {_reason(failure)}") from None
        self._finalizer.detach()

    def discard(self) -> None:
        self._finalizer()

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if kind is None and self.pending:
            self.commit()
        else:
            self.discard()


# --- laying out and painting a view --------------------------------------------------------------


def _qsize(size: Size | QSize | None, widget: QWidget) -> QSize:
    if size is None:
        return widget.size()
    if isinstance(size, QSize):
        return QSize(size)
    return QSize(int(size[0]), int(size[1]))


def _check_scale(scale: float) -> float:
    if not (math.isfinite(scale) and 0.1 <= scale <= 8):
        raise ExportError(f"the scale must be between 0.1 and 8, got {scale:g}")
    return float(scale)


@contextmanager
def laid_out(widget: QWidget, size: Size | QSize | None) -> Iterator[QSize]:
    """`widget` laid out at `size` (logical pixels) for the block, at its own size again after.

    A visible widget gets its resize event at once, and pyqtgraph lays its plot out in it;
    nothing is painted on screen in between. A widget that cannot take the size (its minimum
    or maximum) is an ExportError."""
    wanted = _qsize(size, widget)
    if wanted.width() < 1 or wanted.height() < 1 or max(wanted.width(), wanted.height()) > 16384:
        raise ExportError(f"cannot lay a view out at {wanted.width()}x{wanted.height()} pixels")
    current = widget.size()
    if wanted == current:
        yield current
        return
    widget.resize(wanted)
    try:
        got = widget.size()
        if got != wanted:
            low, high = widget.minimumSize(), widget.maximumSize()
            raise ExportError(f"this view cannot be {wanted.width()}x{wanted.height()}: it "
                              f"takes {low.width()}x{low.height()} to "
                              f"{min(high.width(), 16384)}x{min(high.height(), 16384)}")
        yield got
    finally:
        widget.resize(current)


def _dock_of(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


@contextmanager
def revealed(widget: QWidget) -> Iterator[None]:
    """A view in a closed dock, or in a tab behind another, shown for the block.

    The graph and the gradient check do not follow the model while hidden; their tab is
    raised so they do (and the tab that was in front comes back after)."""
    dock = None if widget.isVisible() or widget.isWindow() else _dock_of(widget)
    main = dock.parentWidget() if dock is not None else None
    if dock is None or not isinstance(main, QMainWindow):
        yield
        return
    was_hidden = dock.isHidden()
    in_front = [other for other in main.tabifiedDockWidgets(dock)
                if other.isVisible() and not other.visibleRegion().isEmpty()]
    dock.show()
    dock.raise_()
    try:
        yield
    finally:
        if was_hidden:
            dock.hide()
        for other in in_front:
            other.raise_()


def _graphics_views(widget: QWidget) -> list[QGraphicsView]:
    found = widget.findChildren(QGraphicsView)
    if isinstance(widget, QGraphicsView):
        found.insert(0, widget)
    return [view for view in found if view.scene() is not None]


@contextmanager
def export_mode(widget: QWidget, vectors: bool) -> Iterator[None]:
    """pyqtgraph's items in export mode for the block: scatter symbols are painted one by one
    as paths (crisp at any scale, vectors in an SVG) rather than from a pixmap atlas.

    With `vectors`, every item cache and view background cache is off as well: a cached item
    would reach an SVG as a bitmap (the axes are cached in the window)."""
    items: list[QGraphicsItem] = []
    caches: list[tuple[QGraphicsItem, QGraphicsItem.CacheMode]] = []
    view_caches: list[tuple[QGraphicsView, QGraphicsView.CacheModeFlag]] = []
    for view in _graphics_views(widget):
        scene = view.scene()
        if vectors:
            view_caches.append((view, view.cacheMode()))
            view.setCacheMode(QGraphicsView.CacheModeFlag.CacheNone)
        for item in scene.items():
            if hasattr(item, "setExportMode"):
                items.append(item)
            if vectors and item.cacheMode() != QGraphicsItem.CacheMode.NoCache:
                caches.append((item, item.cacheMode()))
    try:
        for item in items:
            item.setExportMode(True, {"antialias": True})  # type: ignore[attr-defined]
        for item, _mode in caches:
            item.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        yield
    finally:
        for item in items:
            with suppress(RuntimeError):  # an item a refresh deleted meanwhile
                item.setExportMode(False)  # type: ignore[attr-defined]
        for item, mode in caches:
            with suppress(RuntimeError):
                item.setCacheMode(mode)
        for view, flag in view_caches:
            view.setCacheMode(flag)


def _is_plain_graphics_view(widget: QWidget) -> bool:
    return isinstance(widget, QGraphicsView) and not isinstance(widget, pg.GraphicsView)


def _paint(widget: QWidget, painter: QPainter, size: QSize) -> None:
    """Paint `widget` as it is laid out, into `painter`'s device at (0, 0).

    A plain QGraphicsView (the autograd graph) paints its whole scene fitted to the size,
    with no scroll bars, whatever part of it the view scrolled to."""
    if _is_plain_graphics_view(widget):
        assert isinstance(widget, QGraphicsView)
        scene = widget.scene()
        painter.fillRect(QRectF(0, 0, size.width(), size.height()), _BACKGROUND)
        source = scene.itemsBoundingRect().adjusted(-8, -8, 8, 8)
        if not source.isEmpty():
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            scene.render(painter, QRectF(0, 0, size.width(), size.height()), source,
                         Qt.AspectRatioMode.KeepAspectRatio)
        return
    QWidget.render(widget, painter, QPoint(), QRegion(),
                   QWidget.RenderFlag.DrawWindowBackground | QWidget.RenderFlag.DrawChildren)


def _blank_image(size: QSize, scale: float) -> QImage:
    pixels = QSize(max(1, round(size.width() * scale)), max(1, round(size.height() * scale)))
    image = QImage(pixels, QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(scale)
    image.fill(_BACKGROUND)
    return image


def _render_laid_out(widget: QWidget, size: QSize, scale: float) -> QImage:
    image = _blank_image(size, scale)
    painter = QPainter(image)
    try:
        _paint(widget, painter, size)
    finally:
        painter.end()
    return image


def render_image(widget: QWidget, size: Size | QSize | None = None,
                 scale: float = 1.0) -> QImage:
    """The widget as an image: laid out at `size` (logical pixels; its own size if None),
    painted at `scale` device pixels per logical pixel (2 for a 4K slide)."""
    scale = _check_scale(scale)
    with revealed(widget), laid_out(widget, size) as laid, export_mode(widget, vectors=False):
        image = _render_laid_out(widget, laid, scale)
    dots = round(_DOTS_PER_METER_1X * scale)
    image.setDotsPerMeterX(dots)
    image.setDotsPerMeterY(dots)
    return image


def export_png(widget: QWidget, path: str | os.PathLike[str], size: Size | QSize | None = None,
               scale: float = 1.0) -> QImage:
    """Write the widget as a PNG (see `render_image`); returns the image written."""
    with AtomicOutput(path) as output:
        image = render_image(widget, size, scale)
        image.setDevicePixelRatio(1.0)  # the file holds pixels; its dpi says the scale
        writer = QImageWriter(str(output.temporary), QByteArray(b"png"))
        if not writer.write(image):
            raise ExportError(f"cannot write {_shown(output.target)}: {writer.errorString()}")
    return image


def copy_to_clipboard(widget: QWidget, size: Size | QSize | None = None,
                      scale: float = 1.0) -> QImage:
    """Put the widget's image on the clipboard (see `render_image`); returns it."""
    image = render_image(widget, size, scale)
    clipboard = QGuiApplication.clipboard()
    clipboard.setImage(image)
    return image


# --- SVG -----------------------------------------------------------------------------------------

_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
_MATRIX = re.compile(r"^\s*matrix\(([^)]*)\)\s*$")
_PATH_TOKEN = re.compile(r"[A-Za-z]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_DRAWN = {"path", "polyline", "polygon"}


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _matrix(text: str | None) -> tuple[float, ...] | None:
    match = _MATRIX.match(text or "")
    if match is None:
        return None
    try:
        values = tuple(float(v) for v in re.split(r"[\s,]+", match.group(1).strip()))
    except ValueError:
        return None
    return values if len(values) == 6 else None


def _mapped_pairs(numbers: Sequence[str], m: tuple[float, ...]) -> list[str] | None:
    if len(numbers) % 2:
        return None
    a, b, c, d, e, f = m
    out = []
    for i in range(0, len(numbers), 2):
        x, y = float(numbers[i]), float(numbers[i + 1])
        out.append(f"{_number(a * x + c * y + e)},{_number(b * x + d * y + f)}")
    return out


def _mapped_path(d: str, m: tuple[float, ...]) -> str | None:
    """Path data in absolute M/L/C/Z commands (what Qt writes) mapped through `m`."""
    parts: list[str] = []
    numbers: list[str] = []

    def flush() -> bool:
        mapped = _mapped_pairs(numbers, m)
        if mapped is None:
            return False
        parts.extend(mapped)
        numbers.clear()
        return True

    for token in _PATH_TOKEN.findall(d):
        if token.isalpha():
            if token not in "MLCZ" or not flush():
                return None
            parts.append(token)
        else:
            numbers.append(token)
    if not flush():
        return None
    return " ".join(parts)


def _bake_group(group: ET.Element, m: tuple[float, ...]) -> bool:
    """Map a scaled group's lines into pixels, if every child allows it."""
    stroked = group.get("stroke", "none") != "none"
    children = list(group)
    if not children:
        return False
    for child in children:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag not in _DRAWN:
            return False
        if stroked and child.get("vector-effect") != "non-scaling-stroke":
            return False  # a stroke that scales with the transform: leave it to the viewer
    mapped: list[tuple[ET.Element, str, str]] = []
    for child in children:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "path":
            value = _mapped_path(child.get("d", ""), m)
            attribute = "d"
        else:
            pairs = _mapped_pairs(re.split(r"[\s,]+", child.get("points", "").strip()), m)
            value = None if pairs is None else " ".join(pairs)
            attribute = "points"
        if value is None:
            return False
        mapped.append((child, attribute, value))
    for child, attribute, value in mapped:
        child.set(attribute, value)
        if child.get("vector-effect") == "non-scaling-stroke":
            del child.attrib["vector-effect"]
    del group.attrib["transform"]
    return True


def _bake_scaled_strokes(svg: bytes) -> bytes:
    """Qt's SVG with pyqtgraph's curves mapped into pixel coordinates (see the module's doc)."""
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", _XLINK_NS)
    root = ET.fromstring(svg)
    for group in root.iter(f"{{{_SVG_NS}}}g"):
        m = _matrix(group.get("transform"))
        if m is None or (m[0], m[1], m[2], m[3]) == (1.0, 0.0, 0.0, 1.0):
            continue  # no transform, or a plain translation: every viewer agrees
        _bake_group(group, m)
    return b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + ET.tostring(
        root, encoding="utf-8", xml_declaration=False)


def render_svg(widget: QWidget, size: Size | QSize | None = None,
               title: str = "gdviz") -> bytes:
    """The widget as an SVG document (see the module's doc), laid out at `size`.

    One view, not the window: Qt's SVG writer places the clip paths of widgets inside
    another at the wrong offset, so most of the window's text and plots would be cut away."""
    if widget.isWindow() and widget.findChildren(QGraphicsView):
        raise ExportError("SVG export is for one view at a time (surface, loss, weights, fit, "
                          "graph, gradcheck); export the whole window as PNG")
    with revealed(widget), laid_out(widget, size) as laid, export_mode(widget, vectors=True):
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
        generator.setOutputDevice(buffer)
        generator.setSize(laid)
        generator.setViewBox(QRect(0, 0, laid.width(), laid.height()))
        generator.setResolution(96)
        generator.setTitle(title)
        generator.setDescription("exported by gdviz")
        painter = QPainter(generator)
        try:
            painter.fillRect(QRectF(0, 0, laid.width(), laid.height()), _BACKGROUND)
            _paint(widget, painter, laid)
        finally:
            painter.end()
        buffer.close()
    return _bake_scaled_strokes(bytes(buffer.data().data()))


def export_svg(widget: QWidget, path: str | os.PathLike[str],
               size: Size | QSize | None = None) -> None:
    """Write the widget as an SVG file (see `render_svg`)."""
    with AtomicOutput(path) as output:
        data = render_svg(widget, size, title=f"gdviz: {output.target.stem}")
        try:
            output.temporary.write_bytes(data)
        except OSError as failure:
            raise ExportError(f"cannot write {_shown(output.target)}: {_reason(failure)}") from None


def export_figure(widget: QWidget, path: str | os.PathLike[str],
                  size: Size | QSize | None = None, scale: float = 1.0) -> None:
    """PNG or SVG, as the file name's ending says (`scale` is for PNG only)."""
    if figure_format(path) == "svg":
        export_svg(widget, path, size)
    else:
        export_png(widget, path, size, scale)


# --- animations: which frames --------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """A position of the run a frame shows: an epoch, or one phase of it (lecture mode)."""

    epoch: int
    phase: Phase | None = None


def animation_frames(model: RunModel, epochs: tuple[int, int] | None = None,
                     sub_steps_of: int | None = None, every: int | None = None,
                     max_frames: int = MAX_FRAMES) -> tuple[Frame, ...]:
    """The frames of an animation of the recorded run.

    - by default every recorded epoch, 0 (the start) included: a run of N epochs has N + 1;
    - `epochs=(a, b)`: epochs a to b, both included;
    - `sub_steps_of=k`: the phases of epoch k, one frame each (forward, loss, gradient, update,
      zero_grad as the cell has them);
    - `every=k`: every k-th epoch of the range (its last always included). Without it, a range
      longer than `max_frames` is sampled evenly down to about that many frames.
    """
    history = model.history
    if history is None:
        raise ExportError("nothing to animate yet: the trainer is still loading")
    recorded = len(history)
    if sub_steps_of is not None:
        if epochs is not None:
            raise ExportError("give an epoch range or the sub-steps of one epoch, not both")
        if not 1 <= sub_steps_of <= recorded:
            raise ExportError(f"cannot show the sub-steps of epoch {sub_steps_of}: epochs 1 "
                              f"to {recorded} are recorded")
        return tuple(Frame(sub_steps_of, phase) for phase in model.config.spec.phases)
    first, last = (0, recorded) if epochs is None else epochs
    if not 0 <= first <= last:
        raise ExportError(f"the epoch range {first}:{last} is empty or negative")
    if last > recorded:
        raise ExportError(f"the epoch range {first}:{last} goes past the recorded run "
                          f"(epochs 0 to {recorded})")
    if every is None:
        every = max(1, math.ceil((last - first + 1) / max(max_frames, 1)))
    elif every < 1:
        raise ExportError(f"every must be 1 or more, got {every}")
    chosen = list(range(first, last + 1, every))
    if chosen[-1] != last:
        chosen.append(last)
    return tuple(Frame(epoch) for epoch in chosen)


def frame_ms(fps: float) -> int:
    """A frame's duration for `fps`, in GIF's unit (10 ms), at least 20 ms."""
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise ExportError(f"the frame rate must be above 0 and at most {MAX_FPS:g} frames a "
                          f"second, got {fps:g}")
    return max(20, round(100 / fps) * 10)


def show_frame(model: RunModel, frame: Frame) -> None:
    """Put the model at `frame`'s position (the window's views follow on their refresh)."""
    if frame.phase is None:
        model.seek(frame.epoch)
        return
    model.seek(frame.epoch - 1)
    for _ in range(len(model.config.spec.phases) + 1):
        if (model.cursor, model.phase) == (frame.epoch, frame.phase):
            return
        model.sub_step()
    if (model.cursor, model.phase) != (frame.epoch, frame.phase):
        raise ExportError(f"cannot show the {frame.phase} phase of epoch {frame.epoch}")


# --- animations: the writers ---------------------------------------------------------------------


def _in_32_bits(image: QImage) -> QImage:
    """`image` itself if its pixels are 0xAARRGGBB words, else a copy converted to them."""
    if image.format() in (QImage.Format.Format_ARGB32_Premultiplied,
                          QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32):
        return image
    return image.convertToFormat(QImage.Format.Format_RGB32)


def _rgb(image: QImage) -> PILImage.Image:
    """A QImage (32-bit, premultiplied, opaque) as a Pillow RGB image, in one copy."""
    from PIL import Image

    image = _in_32_bits(image)
    width, height = image.width(), image.height()
    # 0xAARRGGBB words: B, G, R, A bytes on little-endian machines, the other way round on big.
    # Decoded straight from Qt's buffer into a new image (a bytes() copy first took 5x longer).
    raw = "BGRX" if sys.byteorder == "little" else "XRGB"
    buffer: Any = image.constBits()  # a memoryview; Pillow's stubs want bytes
    rgb = Image.frombuffer("RGB", (width, height), buffer, "raw", raw,
                           image.bytesPerLine(), 1)
    return rgb


def _pixel_words(image: QImage) -> Any:
    """The image's pixels as a (height, width) numpy array of 32-bit words, without a copy."""
    import numpy as np

    given = image
    image = _in_32_bits(image)
    converted = image is not given
    buffer: Any = image.constBits()
    per_line = image.bytesPerLine() // 4
    words = np.frombuffer(buffer, dtype=np.uint32, count=image.height() * per_line)
    words = words.reshape(image.height(), per_line)[:, : image.width()]
    return words.copy() if converted else words  # the converted image goes with this call


class _FrameSink:
    """Takes the rendered frames of an animation and writes them to a file."""

    def add(self, image: QImage) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """All frames are in: finish the file (the caller renames it)."""

    def abort(self) -> None:
        """Stop without finishing (the caller removes the file)."""


class _GifSink(_FrameSink):
    """A GIF written frame by frame with one shared palette (see the module's doc)."""

    def __init__(self, path: Path, palette_source: Sequence[QImage], duration_ms: int,
                 loop: int = 0) -> None:
        from PIL import Image

        self._duration = duration_ms
        self._loop = loop
        montage_parts = [_rgb(image) for image in palette_source]
        width, height = montage_parts[0].size
        montage = Image.new("RGB", (width, height * len(montage_parts)))
        for i, part in enumerate(montage_parts):
            montage.paste(part, (0, height * i))
        # Maximum coverage on every other pixel (nearest: only colours that are there) takes
        # ~0.04 s for four 800x500 frames with a mean error of ~1/255 per channel; median cut
        # took 0.3-0.6 s with 8x the error, and the fast octree tinted 40% of the grey pixels
        # (the grid lines came out greenish).
        sample = montage.resize((max(1, montage.width // 2), max(1, montage.height // 2)),
                                Image.Resampling.NEAREST)
        palette = sample.quantize(_PALETTE_COLORS, method=Image.Quantize.MAXCOVERAGE,
                                  dither=Image.Dither.NONE)
        # A palette entry is the mean of the colours it stands for: the background, most of
        # every frame, would come out a shade off white. Its entry is made the background.
        colors = palette.getpalette() or []
        counts = palette.histogram()
        main = max(range(len(counts)), key=counts.__getitem__)
        background = (_BACKGROUND.red(), _BACKGROUND.green(), _BACKGROUND.blue())
        if sum(abs(colors[3 * main + i] - background[i]) for i in range(3)) <= 24:
            colors[3 * main: 3 * main + 3] = background
        palette.putpalette(colors[: 3 * _PALETTE_COLORS])
        self._palette = palette
        self._size = (width, height)
        self._file: IO[bytes] | None = open(path, "wb")  # noqa: SIM115  # closed in close/abort
        self._previous: Any = None  # the last frame's palette indices (numpy array)
        self._pending: tuple[PILImage.Image, tuple[int, int], int] | None = None
        self.frames_written = 0

    def _quantized(self, image: QImage) -> PILImage.Image:
        from PIL import Image

        rgb = _rgb(image)
        if rgb.size != self._size:
            raise ExportError(f"a frame of {rgb.size[0]}x{rgb.size[1]} pixels in an animation "
                              f"of {self._size[0]}x{self._size[1]}")
        return rgb.quantize(palette=self._palette, dither=Image.Dither.NONE)

    def add(self, image: QImage) -> None:
        self._encode(image)

    def _encode(self, image: QImage) -> None:
        """Only what changed since the last frame is quantized and written: the frames are
        compared as Qt painted them (a frame that repeats costs ~0.2 ms, not a quantization),
        and the changed rectangle alone is mapped to the palette."""
        import numpy as np
        from PIL import Image

        words = _pixel_words(image)
        if self._previous is None:
            self._push(self._quantized(image), (0, 0))
            self._previous = words.copy()
            return
        if words.shape != self._previous.shape:
            raise ExportError(f"a frame of {image.width()}x{image.height()} pixels in an "
                              f"animation of {self._size[0]}x{self._size[1]}")
        changed = words != self._previous
        rows = np.flatnonzero(changed.any(axis=1))
        if not len(rows):  # the same picture: the frame before lasts longer
            self._extend_pending()
            return
        cols = np.flatnonzero(changed.any(axis=0))
        top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        crop = image.copy(left, top, right - left, bottom - top)
        window = np.asarray(_rgb(crop).quantize(palette=self._palette,
                                                dither=Image.Dither.NONE)).copy()
        window[~changed[top:bottom, left:right]] = _TRANSPARENT
        patch = Image.fromarray(window, "P")  # no palette of its own: the GIF's is global
        self._push(patch, (left, top))
        self._previous[top:bottom, left:right] = words[top:bottom, left:right]

    def _extend_pending(self) -> None:
        assert self._pending is not None
        patch, offset, duration = self._pending
        self._pending = (patch, offset, duration + self._duration)

    def _push(self, patch: PILImage.Image, offset: tuple[int, int]) -> None:
        self._flush()
        self._pending = (patch, offset, self._duration)

    def _flush(self) -> None:
        from PIL import GifImagePlugin

        if self._pending is None or self._file is None:
            return
        patch, offset, duration = self._pending
        self._pending = None
        if self.frames_written == 0:
            header, _used = GifImagePlugin.getheader(self._palette, None, {"loop": self._loop})
            header[0] = header[0].replace(b"GIF87a", b"GIF89a")
            # The logical screen is the whole frame (getheader took the palette image's size,
            # which is the montage's).
            header[0] = header[0][:6] + self._size[0].to_bytes(2, "little") + \
                self._size[1].to_bytes(2, "little")
            for part in header:
                self._file.write(part)
        extra: dict[str, Any] = {"duration": duration, "disposal": 1}
        if self.frames_written:
            extra["transparency"] = _TRANSPARENT
        for part in GifImagePlugin.getdata(patch, offset, **extra):
            self._file.write(part)
        self.frames_written += 1

    def close(self) -> None:
        self._flush()
        if self._file is not None:
            self._file.write(b";")
            self._file.close()
            self._file = None

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _ThreadedGifSink(_GifSink):
    """A _GifSink whose frames are quantized and written in a thread of their own, while the
    next frame is painted: Pillow and numpy let go of the GIL for most of that work, and the
    painting is Qt's. At most `QUEUED` frames wait (a frame is a few hundred KB)."""

    QUEUED = 4

    def __init__(self, path: Path, palette_source: Sequence[QImage], duration_ms: int,
                 loop: int = 0) -> None:
        super().__init__(path, palette_source, duration_ms, loop)
        self._queue: queue.Queue[QImage | None] = queue.Queue(self.QUEUED)
        self._error: BaseException | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._work, name="gdviz-gif-writer",
                                        daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            image = self._queue.get()
            if image is None or self._stop:
                return
            if self._error is not None:
                continue
            try:
                self._encode(image)
            except BaseException as error:  # raised again in the GUI thread by add/close
                self._error = error

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            if isinstance(error, OSError):
                raise ExportError(f"cannot write the GIF: {_reason(error)}")
            raise error

    def add(self, image: QImage) -> None:
        self._raise()
        self._queue.put(image)

    def _join(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def close(self) -> None:
        self._join()
        self._raise()
        super().close()

    def abort(self) -> None:
        self._stop = True
        with suppress(queue.Empty):
            while True:  # make room for the stop sign
                self._queue.get_nowait()
        self._queue.put(None)
        self._thread.join()
        super().abort()


class _Mp4Sink(_FrameSink):
    """Frames piped to ffmpeg as raw RGB, encoded H.264 (yuv420p, even sizes)."""

    def __init__(self, path: Path, ffmpeg: str, size: tuple[int, int], fps: float) -> None:
        width, height = size
        self._size = size
        command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                   "-r", f"{fps:g}", "-i", "-",
                   "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2:color=white",
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
                   "-f", "mp4", str(path)]
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
        except OSError as failure:
            raise ExportError(f"cannot run ffmpeg ({ffmpeg}): {_reason(failure)}") from None

    def add(self, image: QImage) -> None:
        assert self._process is not None and self._process.stdin is not None
        rgb = _rgb(image)
        if rgb.size != self._size:
            raise ExportError("a frame of another size in the animation")
        try:
            self._process.stdin.write(rgb.tobytes())
        except (BrokenPipeError, OSError):
            raise ExportError(f"ffmpeg stopped: {self._error()}") from None

    def _error(self) -> str:
        process = self._process
        if process is None or process.stderr is None:
            return "unknown error"
        with suppress(subprocess.TimeoutExpired):
            process.wait(5)
        text = process.stderr.read().decode("utf-8", "replace").strip().splitlines()
        return text[-1] if text else f"exit status {process.returncode}"

    def close(self) -> None:
        process = self._process
        assert process is not None and process.stdin is not None
        with suppress(BrokenPipeError, OSError):
            process.stdin.close()
        status = process.wait()
        if status != 0:
            message = self._error()
            self._process = None
            raise ExportError(f"ffmpeg could not write the MP4: {message}")
        if process.stderr is not None:
            process.stderr.close()
        self._process = None

    def abort(self) -> None:
        process = self._process
        self._process = None
        if process is None:
            return
        with suppress(OSError):
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stderr):
            if stream is not None:
                with suppress(OSError):
                    stream.close()


# --- animations: the export ----------------------------------------------------------------------


class AnimationExport(QObject):
    """An animation of one view across the run, written as GIF or MP4.

    In the window, `start()` renders the frames in chunks of ~40 ms from a QTimer, so the
    window stays responsive, and reports `progressed(done, total)`; `cancel()` stops it and
    removes the temporary file. It ends with exactly one of `finished(path)`,
    `failed(message)` or `cancelled()`. Headless, `run()` does it all at once.

    While it runs, the model is paused and moved through the frames with its signals blocked
    (the window's other views do not redraw for every frame); the position shown before is
    shown again at the end. It holds the model and the view, never the window.
    """

    progressed = Signal(int, int)
    finished = Signal(str)
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, model: RunModel, widget: QWidget, refresh: Callable[[], None],
                 path: str | os.PathLike[str], frames: Sequence[Frame], fps: float = DEFAULT_FPS,
                 size: Size | QSize | None = None, scale: float = 1.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = animation_format(path)
        self.frame_ms = frame_ms(fps)
        self.fps = fps
        self.scale = _check_scale(scale)
        if not frames:
            raise ExportError("an animation needs at least one frame")
        if self.kind == "mp4" and ffmpeg_path() is None:
            raise ExportError(MISSING_FFMPEG)
        self.model = model
        self.widget = widget
        self._refresh = refresh
        self.frames = tuple(frames)
        self.size = _qsize(size, widget)
        self.path = Path(path)
        self._output: AtomicOutput | None = None
        self._sink: _FrameSink | None = None
        self._next = 0
        self._home: Frame | None = None
        self._blocked_before = False
        self._timer = QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.state = "ready"  # then "running", and "finished", "failed" or "cancelled"
        self.message = ""

    @classmethod
    def for_window(cls, window: MainWindow, view: str, path: str | os.PathLike[str], *,
                   epochs: tuple[int, int] | None = None, sub_steps_of: int | None = None,
                   every: int | None = None, fps: float = DEFAULT_FPS,
                   size: Size | QSize | None = None, scale: float = 1.0,
                   parent: QObject | None = None) -> AnimationExport:
        """The export of view `view` (`VIEW_NAMES`) of `window`; errors are ExportError."""
        animation_format(path)
        widgets = views(window)
        if view not in widgets:
            raise ExportError(f"no view named {view!r}: one of {', '.join(VIEW_NAMES)}")
        frames = animation_frames(window.model, epochs, sub_steps_of, every)
        return cls(window.model, widgets[view], view_refresher(window, view), path, frames,
                   fps, size, scale, parent)

    @property
    def total(self) -> int:
        return len(self.frames)

    @property
    def done(self) -> int:
        return self._next

    # --- running ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin in the event loop (the window); the frames follow in chunks."""
        if self.state != "ready":
            return
        if not self._begin():
            return
        self._timer.start()

    def run(self) -> None:
        """Everything at once, in this call (headless). Errors are raised as ExportError."""
        if self.state != "ready":
            return
        if not self._begin():
            raise ExportError(self.message)
        while self.state == "running":
            self._chunk(None)
        if self.state == "failed":
            raise ExportError(self.message)

    @Slot()
    def cancel(self) -> None:
        if self.state not in ("ready", "running"):
            return
        self._timer.stop()
        self._end("cancelled")
        self.cancelled.emit()

    def _begin(self) -> bool:
        self.state = "running"
        try:
            self._output = AtomicOutput(self.path)
            model = self.model
            model.pause()  # before the signals are blocked: the window hears of it
            self._home = Frame(model.cursor, model.phase)
            self._blocked_before = model.blockSignals(True)
            with self._laid_out():
                self._sink = self._make_sink()
            # A window closed in the middle deletes this export: its writer stops with it
            # (a plain function, holding the writer and the file, not this object).
            self.destroyed.connect(functools.partial(_abandon, self._sink, self._output))
        except ExportError as error:
            self._fail(str(error))
            return False
        return True

    def _make_sink(self) -> _FrameSink:
        assert self._output is not None
        if self.kind == "mp4":
            ffmpeg = ffmpeg_path()
            if ffmpeg is None:
                raise ExportError(MISSING_FFMPEG)
            pixels = _blank_image(self.size, self.scale).size()
            return _Mp4Sink(self._output.temporary, ffmpeg, (pixels.width(), pixels.height()),
                            self.fps)
        count = min(_PALETTE_SAMPLES, len(self.frames))
        picks = sorted({round(i * (len(self.frames) - 1) / max(count - 1, 1))
                        for i in range(count)})
        samples = [self._render(self.frames[i]) for i in picks]
        return _ThreadedGifSink(self._output.temporary, samples, self.frame_ms)

    @contextmanager
    def _laid_out(self) -> Iterator[None]:
        """The view shown and laid out at the export's size (in export mode when scaled: the
        scatter symbols' pixmap atlas is made for the screen's pixel ratio)."""
        with ExitStack() as stack:
            stack.enter_context(revealed(self.widget))
            stack.enter_context(laid_out(self.widget, self.size))
            if self.scale != 1:
                stack.enter_context(export_mode(self.widget, vectors=False))
            yield

    def _render(self, frame: Frame) -> QImage:
        show_frame(self.model, frame)
        self._refresh()
        return _render_laid_out(self.widget, self.size, self.scale)

    @Slot()
    def _on_timer_timeout(self) -> None:
        if self.state != "running":
            return
        if not self.widget.window().isVisible():  # the window was closed: nothing to export
            self.cancel()
            return
        self._chunk(CHUNK_MS)
        if self.state == "running":
            self.progressed.emit(self._next, self.total)
            self._timer.start()

    def _chunk(self, budget_ms: int | None) -> None:
        """Render and write frames for about `budget_ms` (all of them if None)."""
        clock = QElapsedTimer()
        clock.start()
        try:
            with self._laid_out():
                while self._next < self.total and self.state == "running":
                    assert self._sink is not None
                    self._sink.add(self._render(self.frames[self._next]))
                    self._next += 1
                    if budget_ms is not None and clock.elapsed() >= budget_ms:
                        break
            if self._next >= self.total and self.state == "running":
                self._complete()
        except ExportError as error:
            self._fail(str(error))
        except OSError as failure:
            self._fail(f"cannot write {_shown(self.path)}: {_reason(failure)}")

    def _complete(self) -> None:
        assert self._sink is not None and self._output is not None
        self._sink.close()
        self._sink = None
        self._output.commit()
        self._end("finished")
        self.progressed.emit(self.total, self.total)
        self.finished.emit(str(self.path))

    def _fail(self, message: str) -> None:
        self.message = message
        self._end("failed")
        self.failed.emit(message)

    def _end(self, state: str) -> None:
        self.state = state
        if self._sink is not None:
            self._sink.abort()
            self._sink = None
        if self._output is not None and self._output.pending:
            self._output.discard()
        home = self._home
        self._home = None
        if home is not None:
            # Back where the window was, heard by it again (its redraw follows on a timer).
            self.model.blockSignals(self._blocked_before)
            with suppress(ExportError):
                show_frame(self.model, home)


def _abandon(sink: _FrameSink, output: AtomicOutput, *_args: object) -> None:
    with suppress(Exception):
        sink.abort()
    output.discard()


def start_animation_export(window: MainWindow, view: str, path: str | os.PathLike[str], *,
                           epochs: tuple[int, int] | None = None,
                           sub_steps_of: int | None = None, every: int | None = None,
                           fps: float = DEFAULT_FPS, size: Size | QSize | None = None,
                           scale: float = 1.0) -> AnimationExport:
    """Export an animation from the window with a progress dialog (Cancel stops it and leaves
    no file). Returns the running export: connect to its `finished(path)`, `failed(message)`
    and `cancelled()` for the status bar. Bad options raise ExportError before anything runs.
    The export and the dialog are the window's children and delete themselves when done."""
    export = AnimationExport.for_window(window, view, path, epochs=epochs,
                                        sub_steps_of=sub_steps_of, every=every, fps=fps,
                                        size=size, scale=scale, parent=window)
    dialog = QProgressDialog(f"Exporting {Path(path).name}…", "Cancel", 0, export.total, window)
    dialog.setObjectName("exportProgressDialog")
    dialog.setWindowTitle("Export animation")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.setValue(0)
    export.progressed.connect(dialog.setValue)
    dialog.canceled.connect(export.cancel)
    for signal in (export.finished, export.failed):
        signal.connect(dialog.close)
        signal.connect(dialog.deleteLater)
        signal.connect(export.deleteLater)
    export.cancelled.connect(dialog.deleteLater)
    export.cancelled.connect(export.deleteLater)
    export.start()
    return export
