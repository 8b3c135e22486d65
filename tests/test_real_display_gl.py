"""The 3-D loss surface with real OpenGL: Mesa under a private Xvfb (tests/xvfb.py).

The test suite runs offscreen, where pyqtgraph.opengl would crash; so the view is built in a
subprocess on Qt's xcb platform, in a dock of a shown QMainWindow (as the window will hold it),
on an nn run that trains a few epochs. The dock starts hidden: nothing of OpenGL is made until
it is shown, and the GL widget then joins a window that is already on screen (Qt recreates the
window for it). The GL framebuffer must show the surface (not a blank frame) and the path must
hold the epochs trained. Then an item is broken on purpose: the view must replace itself with
its message, without a traceback. Skipped without Xvfb, failed under CI.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from xvfb import Display, running_xvfb

RUN_TIMEOUT = 180.0  # seconds: torch imports, Mesa compiles shaders, on a busy 2-core machine
EPOCHS = 4

VIEW_PROGRAM = """\
import json, sys, time
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow

from gdviz.core.config import build_config
from gdviz.ui.plots.common import densified
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import configure_pyqtgraph
from gdviz.ui.surface3d import Surface3DView

app = QApplication(sys.argv[:1])
configure_pyqtgraph()
epochs = int(sys.argv[2])
model = RunModel(build_config("nn", {"epochs": 30, "lr": 0.05}))
window = QMainWindow()
window.setCentralWidget(QLabel("the 2-D plots"))
view = Surface3DView(model)
dock = QDockWidget("3-D surface", window)
dock.setObjectName("surface3dDock")
dock.setWidget(view)
window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
model.run_reset.connect(view.rebuild)
model.updated.connect(view.refresh)
dock.hide()
window.resize(1000, 600)
window.show()


def wait(condition, what, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


wait(lambda: model.state == "ready", "the nn trainer")
for _ in range(epochs):
    model.step()
wait(lambda: model.history is not None and len(model.history) == epochs
     and model.cursor == epochs, f"{epochs} epochs")
made_while_hidden = view.gl_view is not None or "pyqtgraph.opengl" in sys.modules
dock.show()
window.resizeDocks([dock], [560], Qt.Orientation.Horizontal)  # room to look at the surface
wait(lambda: view.scene is not None and view.scene.visited_count == epochs + 1, "the path")
for _ in range(20):  # let the last update paint
    app.processEvents()
    time.sleep(0.01)
scene = view.scene
image = view.gl_view.grabFramebuffer()
image.save(sys.argv[1])
step = 4
pixels = [image.pixel(x, y) for x in range(0, image.width(), step)
          for y in range(0, image.height(), step)]
white = sum(1 for p in pixels if p & 0xFFFFFF == 0xFFFFFF)
history = model.history
w, b = history.trajectory("w"), history.trajectory("b")
result = {
    "problem": view.problem,
    "made_while_hidden": made_while_hidden,
    "gl_views": len(view.findChildren(type(view.gl_view))),
    "size": [image.width(), image.height()],
    "colours": len(set(pixels)),
    "white_fraction": white / len(pixels),
    "visited": scene.visited_count,
    "path_points": int(scene.path.pos.shape[0]),
    "expected_path_points": len(densified(w, b)[0]),
    "markers": int(scene.markers.pos.shape[0]),
}
scene.path.color = None  # breaks its paint(): the view must say so in words
view.gl_view.update()
wait(lambda: view.gl_view is None, "the fallback", timeout=10)
result["fallback_shown"] = view.message.isVisible()
result["fallback"] = view.message.text()
print(json.dumps(result), flush=True)
model.shutdown()
"""


@pytest.fixture(scope="module")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Display]:
    """One private Xvfb for this module (tests/xvfb.py's helper)."""
    with running_xvfb(tmp_path_factory.mktemp("xvfb-gl")) as display:
        yield display


def test_surface3d_renders_the_surface_and_the_path_with_opengl(xvfb: Display,
                                                                 tmp_path: Path) -> None:
    if importlib.util.find_spec("OpenGL") is None:
        pytest.fail("PyOpenGL is not installed, but gdviz depends on it (pyproject.toml)",
                    pytrace=False)
    frame = tmp_path / "surface3d.png"
    done = subprocess.run([sys.executable, "-c", VIEW_PROGRAM, str(frame), str(EPOCHS)],
                          env=xvfb.env, capture_output=True, text=True, timeout=RUN_TIMEOUT,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result line:\n{done.stdout}\n{done.stderr}"
    info = json.loads(lines[-1])
    assert info["problem"] is None, info["problem"]
    assert not info["made_while_hidden"], "OpenGL was touched while the dock was hidden"
    assert info["gl_views"] == 1, info
    assert info["size"][0] > 300 and info["size"][1] > 300, info
    # A blank frame is one colour; the viridis surface, the path and the labels are hundreds.
    assert info["colours"] > 100, f"a nearly blank frame: {info}; see {frame}"
    assert info["white_fraction"] < 0.95, f"mostly background: {info}; see {frame}"
    assert info["visited"] == EPOCHS + 1  # the start and one point per epoch
    assert info["path_points"] == info["expected_path_points"]
    assert info["markers"] == 3  # start, optimum, current
    assert info["fallback_shown"], info
    assert info["fallback"].startswith("The 3-D view stopped: OpenGL could not draw"), info
    assert "2-D loss surface" in info["fallback"]
    # Every line on stderr is a finding: a traceback, a Qt or Python warning.
    assert not done.stderr.strip(), f"the 3-D view wrote on stderr:\n{done.stderr}"
