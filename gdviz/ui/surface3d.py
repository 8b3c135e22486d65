"""The loss surface L(w, b) in 3-D, rotatable with the mouse (nn only).

The 2-D heatmap says where the minimum is; the 3-D view shows why the path goes where it goes:
a bowl with a steep wall and a flat valley floor. It is a self-contained widget, built only
where it can work:

- `pyqtgraph.opengl` needs PyOpenGL and a real OpenGL context; on Qt's offscreen platform it
  crashes. The GL widget is therefore made lazily, the first time the view is shown for an nn
  run, after `opengl_problem()` found nothing missing: the platform is a real one, PyOpenGL and
  `pyqtgraph.opengl` import, and an OpenGL (>= 2.1) context can be created and made current.
  Otherwise, and if the widget fails later (its context, initializeGL, a paint), the view says in
  words what is missing and that the 2-D views keep working: never a traceback.
- The w-only trainers fit f = w·x: their loss is the 2-D plot's curve L(w), so the view says so.

The scene lives in a fixed box, whatever the units: w and b span [−1, 1] across the view's
extent, and the height spans [0, HEIGHT]. The extent follows the 2-D plot's framing (the start,
the optimum and the path up to the cursor, padded; reframed when the path leaves it or needs
far less of it), so the camera never has to move and a rotation the user chose is kept.
Tick labels along the floor's edges and the vertical axis give the real values.
"""

from __future__ import annotations

import importlib
import math
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication, QOffscreenSurface, QOpenGLContext, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QSizePolicy,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from gdviz.core.history import History
from gdviz.ui.plots.common import (
    SURFACE_SHRINK,
    decade_ticks,
    decimated_indices,
    densified,
    finite_only,
    padded_range,
    power_of_ten_text,
    scaled_html,
)
from gdviz.ui.plots.phase import phase_view
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, plot_title

NO_GL_PLATFORMS = ("offscreen", "minimal")
GRID = 128  # vertices per side of the surface mesh (exact at any size: sufficient statistics)
HALF = 1.0  # the floor spans [−HALF, HALF] in both w and b, whatever their units
HEIGHT = 1.2  # the highest loss on the grid is drawn this high
SOFTENING = 0.02  # heights are linear in L below SOFTENING × the grid's highest excess loss
COLOR_DECADES = 6  # colours span this many decades of L − L_min, as in the 2-D heatmap
CONTOURS = 9  # rings of equal loss on the surface, evenly spaced in log(L − L_min)
CONTOUR_SAMPLES = 240
LIFT = 0.004  # rings and the path float this far above the surface (no z-fighting)
CAMERA = {"elevation": 30.0, "azimuth": -62.0, "distance": 5.8}
# Half-width and half-height of the scene as first seen, in tan(angle) from the camera: the
# field of view is fitted to the widget's shape so that both fit (pyqtgraph's fov is the
# horizontal one: alone it would crop the bowl's top in a wide, low dock).
FIT_TAN = (0.38, 0.25)
CENTER_Z = HEIGHT * 0.35  # the camera looks at the box's centre, a little low
LABEL_POINT_SIZE = 11
# A small view (a tabbed dock) gets smaller labels and fewer ticks: label sizes are in pixels
# while the box shrinks with the widget, and full-size labels would run into each other.
COMPACT_BELOW = (600, 420)  # width, height of the GL view
COMPACT_LABEL_POINT_SIZE = 9
RECENT_DOTS = 50
FAILURE_CHECK_MS = 400  # after being shown, a GL widget with no valid context has failed
SAME_PATH = "The 2-D loss surface shows the same path."
W_ONLY = ("The 3-D view shows the nn cell's L(w, b), a surface over two parameters. This cell "
          "fits f = w·x: its loss L(w) is a curve, drawn in the 2-D loss surface plot.")
HINT = "drag: rotate · wheel: zoom · double-click: reset the view"


def opengl_problem(platform: str | None = None) -> str | None:
    """Why the 3-D view cannot draw here, in words for the user; None if it can.

    Checked in order of cost, and each step only if the last passed: the platform's name (the
    offscreen platform has no OpenGL, and pyqtgraph.opengl crashes on it), the imports, then a
    throwaway context. Call it on the GUI thread with a QGuiApplication running.
    """
    if platform is None:
        platform = QGuiApplication.platformName()
    if platform in NO_GL_PLATFORMS:
        return (f"The 3-D view needs OpenGL, which this display does not provide (Qt platform "
                f"'{platform}'). {SAME_PATH}")
    try:
        importlib.import_module("OpenGL.GL")
    except Exception as error:  # ImportError, or PyOpenGL failing to load libGL (any type)
        if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("OpenGL"):
            return ("The 3-D view needs PyOpenGL, which is not installed (pip install PyOpenGL). "
                    f"{SAME_PATH}")
        return f"The 3-D view could not load OpenGL ({_first_line(error)}). {SAME_PATH}"
    try:
        importlib.import_module("pyqtgraph.opengl")
    except Exception as error:
        return f"The 3-D view could not load pyqtgraph.opengl ({_first_line(error)}). {SAME_PATH}"
    return _context_problem(platform)


def _context_problem(platform: str) -> str | None:
    """Create, make current and release a small context: what the GL widget will need."""
    context = QOpenGLContext()
    if not context.create():
        return (f"The 3-D view needs OpenGL, but this display (Qt platform '{platform}') could "
                f"not create an OpenGL context. {SAME_PATH}")
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    try:
        if not surface.isValid() or not context.makeCurrent(surface):
            return (f"The 3-D view needs OpenGL, but this display (Qt platform '{platform}') "
                    f"could not make an OpenGL context current. {SAME_PATH}")
        version = tuple(context.format().version())
        context.doneCurrent()
    finally:
        surface.destroy()
    if not context.isOpenGLES() and version < (2, 1):
        found = ".".join(str(part) for part in version)
        return (f"The 3-D view needs OpenGL 2.1 or newer; this display offers OpenGL {found}. "
                f"{SAME_PATH}")
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


# --- numbers: the box, the heights, the ticks (no OpenGL) ------------------------------------


@dataclass(frozen=True)
class Frame:
    """The extent drawn and how losses become heights.

    Heights are h(L) = HEIGHT · log10(1 + e/s) / log10(1 + e_top/s), with e = L − L_min, e_top
    the highest excess on the grid and s = SOFTENING · e_top: near the minimum (e ≪ s) h is
    proportional to e, the true quadratic bowl, so the valley floor and the last steps of the
    path are visible; far up the walls (e ≫ s) it grows like log e, so a wall a thousand times
    higher than the valley does not flatten everything else. The top of the grid is at HEIGHT.
    Colours are log10(e) over COLOR_DECADES decades, the 2-D heatmap's colours.
    """

    w_low: float
    w_high: float
    b_low: float
    b_high: float
    top_excess: float  # the highest L − L_min on the grid

    @property
    def softening(self) -> float:
        return max(SOFTENING * self.top_excess, 1e-300)

    def x(self, w: np.ndarray | float) -> np.ndarray:
        return _to_box(np.asarray(w, dtype=np.float64), self.w_low, self.w_high)

    def y(self, b: np.ndarray | float) -> np.ndarray:
        return _to_box(np.asarray(b, dtype=np.float64), self.b_low, self.b_high)

    def z(self, excess: np.ndarray | float) -> np.ndarray:
        excess = np.maximum(np.asarray(excess, dtype=np.float64), 0.0)
        s = self.softening
        top = math.log1p(self.top_excess / s)
        if not math.isfinite(top) or top <= 0:
            return np.zeros_like(excess)
        with np.errstate(all="ignore"):
            return np.asarray(HEIGHT * np.log1p(excess / s) / top)

    def color_values(self, excess: np.ndarray) -> np.ndarray:
        """0..1 along the colour map: log10(L − L_min) over the top COLOR_DECADES decades."""
        floor = max(self.top_excess * 10.0**-COLOR_DECADES, 1e-300)
        with np.errstate(all="ignore"):
            logs = np.log10(np.maximum(excess, 0.0) + floor)
        low, high = math.log10(floor), math.log10(self.top_excess + floor)
        return np.clip((logs - low) / max(high - low, 1e-12), 0.0, 1.0)


def shaded_colors(colors: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray
                  ) -> np.ndarray:
    """The colour map's RGBA per vertex (rows along x), lit by a fixed light from above and
    behind the first camera: slopes facing it keep their colour, those facing away darken to
    62 %, so the bowl's shape shows without hiding the colours the 2-D heatmap shares."""
    dz_dx, dz_dy = np.gradient(z, x, y)
    normals = np.stack((-dz_dx, -dz_dy, np.ones_like(z)), axis=-1)
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    light = np.array([0.3, -0.6, 1.0])
    light /= np.linalg.norm(light)
    brightness = 0.62 + 0.38 * np.clip(normals @ light, 0.0, 1.0)
    shaded = colors.reshape(*z.shape, 4).copy()
    shaded[..., :3] *= brightness[..., None]
    return shaded.reshape(-1, 4)


def _to_box(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return (values - low) / (high - low) * (2 * HALF) - HALF


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) within low..high, about `count`."""
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return []
    raw = span / max(count, 1)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude * 1.0000001)
    first = math.ceil(low / step)
    last = math.floor(high / step)
    return [k * step for k in range(first, last + 1)]


def tick_text(value: float, step: float) -> str:
    """A tick label with as many decimals as the tick spacing needs; 3e8 style if huge/tiny."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or step < 1e-4:
        mantissa, _, exponent = f"{value:.3g}".partition("e")
        text = f"{mantissa}e{int(exponent)}" if exponent else mantissa
    else:
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        text = f"{value:.{decimals}f}"
    return text.replace("-", "−")


def needs_frame(extent: tuple[float, float, float, float] | None,
                needed: tuple[float, float, float, float]) -> bool:
    """Reframe when the path leaves the extent, or needs far less of it (the 2-D plot's rule)."""
    if extent is None:
        return True
    for axis in range(2):
        low, high = needed[2 * axis], needed[2 * axis + 1]
        e_low, e_high = extent[2 * axis], extent[2 * axis + 1]
        if low < e_low or high > e_high or (high - low) * SURFACE_SHRINK < e_high - e_low:
            return True
    return False


def visited(history: History, last: int) -> tuple[np.ndarray, np.ndarray]:
    """The (w, b) of epochs 0..last, decimated like the 2-D path, finite only."""
    indices = decimated_indices(last + 1)
    columns = []
    for name in ("w", "b"):
        values = np.empty(len(indices))
        trained = indices > 0
        values[trained] = history.column(name)[indices[trained] - 1]
        values[~trained] = history.initial_params[history.param_names.index(name)]
        columns.append(values)
    w, b = finite_only(columns[0], columns[1])
    return w, b


# --- the widget --------------------------------------------------------------------------------


class Surface3DView(QWidget):
    """L(w, b) as a 3-D surface with the path, the start, the current point and the optimum.

    The window calls `rebuild()` on a new run and `refresh()` on every update, as for the other
    plots; both cost nothing while the view is hidden (it catches up when shown) and refresh
    returns at once when the epoch shown has not changed.
    """

    def __init__(self, model: RunModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("surface3dView")
        self.model = model
        self.message = QLabel()
        self.message.setObjectName("surface3dMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setMargin(16)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.page = QWidget()  # the header and, once made, the GL view
        self._page_layout = page_layout = QVBoxLayout(self.page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(2)
        self.header = QLabel()
        self.header.setObjectName("surface3dHeader")
        self.header.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setWordWrap(True)  # the dock may be narrow (a 1024 px screen)
        self._header_html = (
            plot_title("Loss surface L(w, b) in 3-D",
                       key(("━━", "path", "path"), ("●", "current", "now"),
                           ("●", "start", "start"), ("●", "optimum", "min")))
            + f"<br><span style='font-size: 9pt; color: #666666'>{HINT}</span>")
        self.header.setText(self._header_html)
        page_layout.addWidget(self.header)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.message)
        self._stack.addWidget(self.page)
        self.scene: _Scene | None = None
        self.problem: str | None = None  # why OpenGL cannot be used here, once known
        self._checked = False  # opengl_problem() has run
        self._key: object = None  # what refresh() last drew
        self._font_scale = 1.0
        self._show_message("")

    @property
    def gl_view(self) -> Any:
        """The pyqtgraph GLViewWidget, or None before it is made or where it cannot be."""
        return None if self.scene is None else self.scene.view

    # --- the window's calls ----------------------------------------------------------------------

    def rebuild(self) -> None:
        """A new run: new data, maybe another trainer. Everything is redrawn on refresh."""
        self._key = None
        if self.scene is not None:
            self.scene.extent = None
        self.refresh()

    def refresh(self) -> None:
        if not self.isVisible():
            return  # showEvent catches up
        model = self.model
        if not model.config.has_bias:
            self._key = None
            self._show_message(W_ONLY)
            return
        scene = self._ensure_scene()
        if scene is None:
            return
        history = model.history
        shown = phase_view(model).shown  # lecture mode: θ_{k−1} until the update phase
        key_now = (id(history), -1 if history is None else len(history), model.cursor, shown,
                   model.config)
        if key_now == self._key:
            return
        self._key = key_now
        self._stack.setCurrentWidget(self.page)
        scene.draw(model, history, shown)

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: the header and the 3-D labels `scale` times larger."""
        self._font_scale = scale
        font = QFont(QApplication.font())
        font.setPointSizeF(font.pointSizeF() * scale)
        self.message.setFont(font)
        self.header.setText(scaled_html(self._header_html, scale))
        if self.scene is not None:
            self.scene.set_font_scale(scale)

    # --- Qt --------------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    # --- helpers ---------------------------------------------------------------------------------

    def _show_message(self, text: str) -> None:
        if self.message.text() != text:
            self.message.setText(text)
        self._stack.setCurrentWidget(self.message)

    def _ensure_scene(self) -> _Scene | None:
        """The GL scene, made on first need; None (and the message shown) where it cannot be."""
        if self.scene is not None:
            return self.scene
        if not self._checked:
            self._checked = True
            self.problem = opengl_problem()
        if self.problem is None:
            try:
                # Made without a parent: the first GL widget in a shown window makes Qt
                # recreate the window (hide, show: a showEvent here), which must find the scene.
                self.scene = _Scene(weakref.WeakMethod(self._on_gl_failed))
            except Exception as error:  # a driver that fails while the items are made
                self.problem = (f"The 3-D view could not start OpenGL ({_first_line(error)}). "
                                f"{SAME_PATH}")
            else:
                self.scene.set_font_scale(self._font_scale)
                self._page_layout.addWidget(self.scene.view, stretch=1)
                return self.scene
        self._show_message(self.problem or "")
        return None

    def _on_gl_failed(self, reason: str) -> None:
        """The GL widget could not draw after all: drop it and say so, once."""
        if self.scene is None:
            return
        scene, self.scene = self.scene, None
        self.problem = f"The 3-D view stopped: {reason}. {SAME_PATH}"
        self._key = None
        self._show_message(self.problem)
        scene.view.hide()
        scene.view.setParent(None)
        scene.view.deleteLater()


# --- the OpenGL scene (made only where opengl_problem() found nothing) ---------------------------


def _rgba(name: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    color = pg.mkColor(COLORS.get(name, name))
    return (color.redF(), color.greenF(), color.blueF(), alpha)


_view_classes: dict[int, type] = {}


def _view_class(gl: Any) -> type:
    """A GLViewWidget that reports a failed context or initializeGL instead of raising, does not
    take the keyboard (Space and the arrows belong to the run) and resets on double-click."""
    found = _view_classes.get(id(gl))
    if found is not None:
        return found

    class GuardedGLView(gl.GLViewWidget):
        def __init__(self, on_failure: weakref.WeakMethod[Any],
                     parent: QWidget | None = None) -> None:
            super().__init__(parent)
            self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self._on_failure = on_failure
            self.failed = False
            self.on_resized: Any = None

        def fail(self, reason: str) -> None:
            if not self.failed:
                self.failed = True
                QTimer.singleShot(0, self, lambda: self._report(reason))

        def _report(self, reason: str) -> None:
            on_failure = self._on_failure()
            if on_failure is not None:
                on_failure(reason)

        def initializeGL(self) -> None:
            try:
                super().initializeGL()
            except Exception as error:
                self.fail(f"OpenGL could not be initialized ({_first_line(error)})")

        def paintGL(self) -> None:
            if self.failed:
                return
            try:
                super().paintGL()
            except Exception as error:
                self.fail(f"OpenGL could not draw ({_first_line(error)})")

        def check_context(self) -> None:
            """Shown and exposed, but no valid context: Qt could not create one."""
            handle = self.window().windowHandle()
            exposed = handle is not None and handle.isExposed()
            if self.isVisible() and exposed and not self.isValid():
                self.fail("no OpenGL context could be created for it")

        def showEvent(self, event: QShowEvent) -> None:
            super().showEvent(event)
            QTimer.singleShot(FAILURE_CHECK_MS, self, self.check_context)

        def mouseDoubleClickEvent(self, event: Any) -> None:
            self.setCameraParams(center=pg.Vector(0, 0, CENTER_Z), **CAMERA)
            self.fit_fov()

        def resizeEvent(self, event: Any) -> None:
            super().resizeEvent(event)
            self.fit_fov()
            on_resized = None if self.on_resized is None else self.on_resized()
            if on_resized is not None:
                on_resized()

        def fit_fov(self) -> None:
            aspect = self.width() / max(self.height(), 1)
            half = max(FIT_TAN[0], aspect * FIT_TAN[1])
            self.opts["fov"] = math.degrees(2 * math.atan(half))
            self.update()

    _view_classes[id(gl)] = GuardedGLView
    return GuardedGLView


class _Scene:
    """The GL view and its items, made once; `draw` moves them to the model's state."""

    def __init__(self, on_failure: weakref.WeakMethod[Any]) -> None:
        gl = importlib.import_module("pyqtgraph.opengl")
        GL = importlib.import_module("OpenGL.GL")

        self.gl = gl
        self.view = _view_class(gl)(on_failure)
        view = self.view
        view.setMinimumSize(160, 160)
        view.setBackgroundColor("w")
        view.setCameraParams(center=pg.Vector(0, 0, CENTER_Z), **CAMERA)
        view.fit_fov()
        self.extent: tuple[float, float, float, float] | None = None
        self.frame: Frame | None = None
        self.colormap = pg.colormap.get("viridis")
        self.font_scale = 1.0
        # Drawn over everything, in this order: the path and the markers must never vanish
        # behind a wall of the bowl (the depth of a point on the surface is obvious anyway).
        on_top = {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: True, GL.GL_CULL_FACE: False,
                  "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)}
        # Shading is baked into the vertex colours (see shaded_colors): pyqtgraph's smooth
        # normals cost ~200 ms per new surface, too slow to follow a diverging run.
        self.surface = gl.GLSurfacePlotItem(computeNormals=False, glOptions="opaque")
        self.contours = gl.GLLinePlotItem(mode="lines", color=(1, 1, 1, 0.55), width=1.2,
                                          antialias=True, glOptions="translucent")
        self.floor = gl.GLLinePlotItem(mode="lines", color=(0.55, 0.55, 0.55, 0.6), width=1,
                                       antialias=True, glOptions="translucent")
        self.axes = gl.GLLinePlotItem(mode="lines", color=(0.13, 0.13, 0.13, 1), width=1.6,
                                      antialias=True, glOptions="translucent")
        self.path_outline = gl.GLLinePlotItem(mode="line_strip", color=(0.1, 0.1, 0.1, 0.6),
                                              width=5.5, antialias=True, glOptions=on_top)
        self.path = gl.GLLinePlotItem(mode="line_strip", color=_rgba("path"), width=3,
                                      antialias=True, glOptions=on_top)
        self.recent = gl.GLScatterPlotItem(color=_rgba("path"), size=7, glOptions=on_top)
        self.halos = gl.GLScatterPlotItem(color=(1, 1, 1, 1), size=19, glOptions=on_top)
        self.markers = gl.GLScatterPlotItem(size=13, glOptions=on_top)
        self.surface.setVisible(False)  # until it has a mesh (an empty one fails to paint)
        for depth, item in enumerate((self.floor, self.surface, self.contours, self.axes,
                                      self.path_outline, self.path, self.recent, self.halos,
                                      self.markers)):
            item.setDepthValue(depth)
            self._add(item)
        self.labels: list[Any] = []
        self.visited_count = 0  # (w, b) points of the path drawn, the start included
        self.compact = self._is_compact()
        view.on_resized = weakref.WeakMethod(self._on_view_resized)

    # --- drawing ---------------------------------------------------------------------------------

    def draw(self, model: RunModel, history: History | None, shown: int) -> None:
        landscape = model.landscape
        start = _start(model)
        optimum = (landscape.optimum[0], landscape.optimum[1])
        if history is None:
            path_w = np.array([] if start is None else [start[0]])
            path_b = np.array([] if start is None else [start[1]])
            frame_w, frame_b = path_w, path_b
        else:
            frame_w, frame_b = visited(history, model.cursor)  # the 2-D plot's framing
            path_w, path_b = (frame_w, frame_b) if shown == model.cursor else visited(history,
                                                                                      shown)
        extra_w = [optimum[0]] + ([start[0]] if start is not None else [])
        extra_b = [optimum[1]] + ([start[1]] if start is not None else [])
        w_low, w_high = padded_range(np.append(frame_w, extra_w))
        b_low, b_high = padded_range(np.append(frame_b, extra_b))
        if needs_frame(self.extent, (w_low, w_high, b_low, b_high)):
            self._draw_surface(model, (w_low, w_high, b_low, b_high))
        frame = self.frame
        assert frame is not None
        with np.errstate(all="ignore"):
            excess = landscape.loss(path_w, path_b) - landscape.min_loss
        keep = np.isfinite(excess)
        path_w, path_b, excess = path_w[keep], path_b[keep], excess[keep]
        points = np.column_stack((frame.x(path_w), frame.y(path_b), frame.z(excess) + LIFT))
        self.visited_count = len(points) if history is not None else 0
        self.recent.setData(pos=points[-RECENT_DOTS:] if history is not None else np.zeros((0, 3)))
        # Each step is straight in (w, b); on the surface it is a curve: a few steps are
        # sampled along their length so the path lies on the bowl instead of cutting the air.
        dense_w, dense_b = densified(path_w, path_b)
        with np.errstate(all="ignore"):
            dense_excess = landscape.loss(dense_w, dense_b) - landscape.min_loss
        line = np.column_stack((frame.x(dense_w), frame.y(dense_b), frame.z(dense_excess) + LIFT))
        line = line if len(line) > 1 else np.zeros((0, 3))
        self.path_outline.setData(pos=line)
        self.path.setData(pos=line)
        marks, colors = [], []
        if start is not None:
            marks.append(self._point(landscape, start))
            colors.append(_rgba("start"))
        marks.append(self._point(landscape, optimum))
        colors.append(_rgba("optimum"))
        if history is not None and len(points):
            marks.append(points[-1])
            colors.append(_rgba("current"))
        self.halos.setData(pos=np.array(marks))
        self.markers.setData(pos=np.array(marks), color=np.array(colors))

    def _point(self, landscape: Any, at: tuple[float, float]) -> np.ndarray:
        frame = self.frame
        assert frame is not None
        excess = float(landscape.loss(at[0], at[1])) - landscape.min_loss
        return np.array([float(frame.x(at[0])), float(frame.y(at[1])),
                         float(frame.z(excess)) + LIFT])

    def _draw_surface(self, model: RunModel,
                      extent: tuple[float, float, float, float]) -> None:
        self.extent = extent
        w_low, w_high, b_low, b_high = extent
        landscape = model.landscape
        w_grid = np.linspace(w_low, w_high, GRID)
        b_grid = np.linspace(b_low, b_high, GRID)
        with np.errstate(all="ignore"):
            excess = (landscape.grid(w_grid, b_grid) - landscape.min_loss).T  # [w, b]
        excess = np.nan_to_num(excess, nan=0.0, posinf=np.finfo(np.float64).max)
        excess = np.maximum(excess, 0.0)
        top = float(excess.max())
        frame = Frame(w_low, w_high, b_low, b_high, top if top > 0 else 1.0)
        self.frame = frame
        x, y, z = frame.x(w_grid), frame.y(b_grid), frame.z(excess)
        colors = self.colormap.map(frame.color_values(excess).ravel(), mode="float")
        colors = shaded_colors(np.asarray(colors, dtype=np.float32), x, y, z)
        self.surface.setData(x=x, y=y, z=z.astype(np.float32), colors=colors)
        self.surface.setVisible(True)
        self.contours.setData(pos=self._contour_segments(landscape, frame))
        self._draw_axes(frame)

    def _contour_segments(self, landscape: Any, frame: Frame) -> np.ndarray:
        """Rings of equal loss, exact: L − L_min = c is an ellipse around the optimum."""
        hessian = landscape.hessian() / 2.0  # L − L_min = d·H/2·d for the offset d
        values, vectors = np.linalg.eigh(hessian)
        if values[0] <= values[-1] * 1e-12 or values[0] <= 0:
            return np.zeros((0, 3))  # a flat direction: no closed rings
        floor = frame.top_excess * 10.0**-COLOR_DECADES
        levels = np.logspace(math.log10(floor), math.log10(frame.top_excess), CONTOURS + 2)[1:-1]
        theta = np.linspace(0.0, 2 * math.pi, CONTOUR_SAMPLES)
        circle = np.stack((np.cos(theta), np.sin(theta)))  # (2, n)
        segments = []
        for level in levels:
            offsets = vectors @ (np.sqrt(level / values)[:, None] * circle)
            w = landscape.optimum[0] + offsets[0]
            b = landscape.optimum[1] + offsets[1]
            points = np.column_stack((frame.x(w), frame.y(b),
                                      np.full(len(w), float(frame.z(level)) + LIFT)))
            inside = (np.abs(points[:, 0]) <= HALF) & (np.abs(points[:, 1]) <= HALF)
            both = inside[:-1] & inside[1:]
            pairs = np.stack((points[:-1][both], points[1:][both]), axis=1)
            segments.append(pairs.reshape(-1, 3))
        return np.concatenate(segments) if segments else np.zeros((0, 3))

    def _is_compact(self) -> bool:
        return (self.view.width() < COMPACT_BELOW[0]
                or self.view.height() < COMPACT_BELOW[1])

    def _on_view_resized(self) -> None:
        compact = self._is_compact()
        if compact != self.compact:
            self.compact = compact
            if self.frame is not None:
                self._draw_axes(self.frame)

    def _draw_axes(self, frame: Frame) -> None:
        for label in self.labels:
            self.view.removeItem(label)
        self.labels = []
        floor_z = 0.0
        grid: list[tuple[float, float, float]] = []
        axes: list[tuple[float, float, float]] = []
        compact = self.compact
        w_ticks = nice_ticks(frame.w_low, frame.w_high, 4 if compact else 6)
        b_ticks = nice_ticks(frame.b_low, frame.b_high, 4 if compact else 6)
        w_step = w_ticks[1] - w_ticks[0] if len(w_ticks) > 1 else 1.0
        b_step = b_ticks[1] - b_ticks[0] if len(b_ticks) > 1 else 1.0
        tick = 0.05
        for w in w_ticks:
            x = float(frame.x(w))
            grid += [(x, -HALF, floor_z), (x, HALF, floor_z)]
            axes += [(x, -HALF, floor_z), (x, -HALF - tick, floor_z)]
            self._label((x, -HALF - 2.2 * tick, floor_z), tick_text(w, w_step),
                        Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        for b in b_ticks:
            y = float(frame.y(b))
            grid += [(-HALF, y, floor_z), (HALF, y, floor_z)]
            axes += [(HALF, y, floor_z), (HALF + tick, y, floor_z)]
            self._label((HALF + 2.2 * tick, y, floor_z), tick_text(b, b_step),
                        Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # The floor's edges, and the vertical axis at the back-left corner.
        corners = [(-HALF, -HALF), (HALF, -HALF), (HALF, HALF), (-HALF, HALF)]
        for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
            axes += [(x0, y0, floor_z), (x1, y1, floor_z)]
        corner = (-HALF, -HALF)  # the left corner as the camera starts: in front of the bowl
        axes += [(*corner, floor_z), (*corner, HEIGHT)]
        away = 11 if compact else 8  # the titles' distance from the edges, in ticks
        self._label((0.0, -HALF - away * tick, floor_z), "w (weight) →",
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, bold=True)
        self._label((HALF + (away + 1) * tick, 0.0, floor_z), "b (bias) →",
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, bold=True)
        self._label((*corner, HEIGHT + tick), "L − L_min",
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, bold=True)
        top = math.log10(frame.top_excess)
        low = math.log10(frame.softening)
        last_z = 0.0  # the "0" at the bottom
        gap = HEIGHT * (0.2 if compact else 0.12)
        for k in decade_ticks(low, top, room=4):
            z = float(frame.z(10.0**k))
            if z - last_z < gap:
                continue  # too close to the last label to read both
            last_z = z
            axes += [(*corner, z), (corner[0] - tick, corner[1], z)]
            self._label((corner[0] - 1.6 * tick, corner[1], z), power_of_ten_text(k),
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._label((corner[0] - 1.6 * tick, corner[1], 0.0), "0",
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.floor.setData(pos=np.array(grid) if grid else np.zeros((0, 3)))
        self.axes.setData(pos=np.array(axes))
        for label in self.labels:
            self._add(label)

    def _add(self, item: Any) -> None:
        """Add an item whose painting reports a failure instead of printing a traceback
        (pyqtgraph's drawItemTree prints one per item and frame, and goes on)."""
        view_ref = weakref.ref(self.view)  # the view holds its items: no reference cycle
        for part in (item, *item.childItems()):
            paint = part.paint

            def guarded(paint: Any = paint) -> None:
                view = view_ref()
                if view is None or view.failed:
                    return
                try:
                    paint()
                except Exception as error:
                    view.fail(f"OpenGL could not draw ({_first_line(error)})")

            part.paint = guarded
        self.view.addItem(item)

    def _label(self, pos: tuple[float, float, float], text: str, alignment: Qt.AlignmentFlag,
               bold: bool = False) -> None:
        font = QFont(QApplication.font())
        font.setPointSizeF(self._label_size())
        font.setBold(bold)
        item = self.gl.GLTextItem(pos=pos, text=text, color=COLORS["text"], font=font)
        item.setData(alignment=alignment)
        item.setDepthValue(100)
        self.labels.append(item)

    def _label_size(self) -> float:
        size = COMPACT_LABEL_POINT_SIZE if self.compact else LABEL_POINT_SIZE
        return size * self.font_scale

    def set_font_scale(self, scale: float) -> None:
        self.font_scale = scale
        for label in self.labels:
            font = QFont(label.font)
            font.setPointSizeF(self._label_size())
            label.setData(font=font)


def _start(model: RunModel) -> tuple[float, float] | None:
    """The run's start (w, b), or the configured one before the run is ready."""
    history = model.history
    if history is not None:
        return history.initial_params[0], history.initial_params[1]
    config = model.config
    if config.w0 is None or config.b0 is None:
        return None  # drawn from the seed by the trainer
    return config.w0, config.b0
