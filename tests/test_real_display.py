"""The real thing, on a virtual X server: Qt's xcb platform, OpenGL, and the gdviz window.

Everything else runs on Qt's offscreen platform, which has neither real windows nor OpenGL.
Each test here runs a program in a subprocess on a private Xvfb (tests/xvfb.py): the xcb
platform plugin loads (or the message names the missing library), an OpenGL context renders
through Mesa (what the 3-D view needs), and `gdviz` opens its window, plays on Space and quits
with status 0 on Ctrl+Q, driven by real key presses from xdotool.

Without Xvfb or xdotool these tests skip, except under CI (environment variable CI set), where
they fail: `.ci/run` installs the Debian packages they need.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from xvfb import Display, require, running_xvfb, stop

WINDOW_TIMEOUT = 60.0  # seconds for the window to appear (a busy 2-core machine, torch near)
CHANGE_TIMEOUT = 30.0  # seconds for Space to show in the window
EXIT_TIMEOUT = 30.0  # seconds for Ctrl+Q to end the process
RUN_TIMEOUT = 120.0  # seconds for a small Qt program to run to its end

# Lines a healthy `gdviz` may print on stderr under Xvfb (regular expressions). None so far:
# every line on stderr is a finding (a traceback, a Qt warning, a Python warning).
STDERR_ALLOWED: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def xvfb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Display]:
    """One private Xvfb for this module's tests, killed after the last one."""
    with running_xvfb(tmp_path_factory.mktemp("xvfb")) as display:
        yield display


def _python(display: Display, code: str, *args: str,
            extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**display.env, **(extra_env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)


def _last_json_line(stdout: str) -> dict:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON line in the output:\n{stdout}"
    return json.loads(lines[-1])


# --- the xcb platform plugin ----------------------------------------------------------------

PLATFORM_PROBE = """\
import sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication([sys.argv[0], "-platform", "xcb"])
print(app.platformName())
"""


def _debian_package(soname: str) -> str:
    """Debian's name for the package of a shared library (its naming rule, which fits the
    libraries Qt's xcb plugin needs): libxcb-cursor.so.0 -> libxcb-cursor0,
    libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    stem, _, version = soname.partition(".so.")
    stem = stem.lower()
    return f"{stem}-{version}" if stem[-1].isdigit() else f"{stem}{version}"


def _missing_libraries() -> dict[str, list[str]]:
    """The libraries ldd finds missing for the xcb plugin and the Qt library behind it,
    each with the binaries that need it."""
    from PySide6.QtCore import QLibraryInfo

    plugins = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    libs = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibrariesPath))
    missing: dict[str, list[str]] = {}
    for binary in (plugins / "platforms" / "libqxcb.so", libs / "libQt6XcbQpa.so.6"):
        if not binary.exists():
            missing.setdefault(str(binary), []).append("no such file")
            continue
        ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=60)
        for line in ldd.stdout.splitlines():
            if "not found" in line:
                needers = missing.setdefault(line.split()[0], [])
                if binary.name not in needers:
                    needers.append(binary.name)
    return missing


def _describe_missing(missing: dict[str, list[str]]) -> str:
    if not missing:
        return "ldd finds no missing library"
    lines = [f"  {soname} => not found (needed by {', '.join(needers)}; Debian package "
             f"{_debian_package(soname)})" for soname, needers in missing.items()]
    packages = sorted({_debian_package(soname) for soname in missing if ".so." in soname})
    return "\n".join([*lines, f"  try: apt-get install {' '.join(packages)}"])


def test_debian_package_names_follow_the_naming_rule() -> None:
    assert _debian_package("libxcb-cursor.so.0") == "libxcb-cursor0"
    assert _debian_package("libxcb-icccm.so.4") == "libxcb-icccm4"
    assert _debian_package("libxkbcommon-x11.so.0") == "libxkbcommon-x11-0"
    assert _debian_package("libX11-xcb.so.1") == "libx11-xcb1"


def test_qt_xcb_platform_plugin_loads(xvfb: Display) -> None:
    done = _python(xvfb, PLATFORM_PROBE)
    if done.returncode == 0 and done.stdout.strip() == "xcb":
        return
    debug = _python(xvfb, PLATFORM_PROBE, extra_env={"QT_DEBUG_PLUGINS": "1"})
    interesting = [line for line in debug.stderr.splitlines()
                   if re.search(r"cannot load|not found|no such file|error|could not", line, re.I)]
    pytest.fail(
        "Qt's xcb platform plugin did not load under Xvfb "
        f"(exit status {done.returncode}, platform {done.stdout.strip()!r}).\n"
        f"Missing libraries (ldd):\n{_describe_missing(_missing_libraries())}\n"
        "QT_DEBUG_PLUGINS=1 says:\n  " + "\n  ".join(interesting[-20:]) + "\n"
        f"stderr:\n{done.stderr[-3000:]}",
        pytrace=False,
    )


# --- OpenGL ---------------------------------------------------------------------------------

GL_PROBE = """\
import json, sys
from PySide6.QtGui import QOffscreenSurface, QOpenGLContext
from PySide6.QtOpenGLWidgets import QOpenGLWidget
from PySide6.QtWidgets import QApplication

GL_VENDOR, GL_RENDERER, GL_VERSION, GL_COLOR_BUFFER_BIT = 0x1F00, 0x1F01, 0x1F02, 0x4000
app = QApplication(sys.argv[:1])
info = {"platform": app.platformName()}
context = QOpenGLContext()
info["created"] = context.create()
surface = QOffscreenSurface()
surface.setFormat(context.format())
surface.create()
info["current"] = info["created"] and context.makeCurrent(surface)
if info["current"]:
    gl = context.functions()
    info.update(vendor=gl.glGetString(GL_VENDOR), renderer=gl.glGetString(GL_RENDERER),
                version=gl.glGetString(GL_VERSION))
    context.doneCurrent()
print(json.dumps(info), flush=True)


class Cleared(QOpenGLWidget):
    def paintGL(self):
        gl = self.context().functions()
        gl.glClearColor(0.2, 0.6, 0.4, 1.0)
        gl.glClear(GL_COLOR_BUFFER_BIT)


widget = Cleared()
widget.resize(64, 48)
widget.show()
image = widget.grabFramebuffer()
info["widget_size"] = [image.width(), image.height()]
info["widget_pixel"] = "#%08x" % image.pixel(32, 24)
print(json.dumps(info), flush=True)
"""


def test_opengl_renders_under_xvfb(xvfb: Display) -> None:
    done = _python(xvfb, GL_PROBE)
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    info = _last_json_line(done.stdout)
    print(f"OpenGL under Xvfb: {info.get('renderer')} / {info.get('version')}")
    assert info["platform"] == "xcb"
    assert info["created"], f"QOpenGLContext.create() failed under Xvfb: {done.stderr}"
    assert info["current"], f"the context could not be made current: {done.stderr}"
    assert info["renderer"], info
    assert info.get("widget_pixel") == "#ff339966", (
        f"a QOpenGLWidget cleared to #339966 grabbed {info.get('widget_pixel')}: {done.stderr}")


GLVIEW_PROBE = """\
import json, sys
import numpy as np
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
import pyqtgraph.opengl as gl

view = gl.GLViewWidget()
view.resize(320, 240)
view.addItem(gl.GLGridItem())
z = np.fromfunction(lambda i, j: np.sin(i / 5) * np.cos(j / 5), (40, 40))
view.addItem(gl.GLSurfacePlotItem(z=z, shader="heightColor"))
view.show()
app.processEvents()
image = view.grabFramebuffer()
image.save(sys.argv[1])
colours = {image.pixel(x, y) for x in range(0, image.width(), 4)
           for y in range(0, image.height(), 4)}
print(json.dumps({"size": [image.width(), image.height()], "colours": len(colours)}))
"""


def test_pyqtgraph_glviewwidget_renders_a_frame(xvfb: Display, tmp_path: Path) -> None:
    if importlib.util.find_spec("OpenGL") is None:
        pytest.skip("PyOpenGL is not installed (pyqtgraph.opengl needs it)")
    frame = tmp_path / "glview.png"
    done = _python(xvfb, GLVIEW_PROBE, str(frame))
    assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout}\n{done.stderr}"
    info = _last_json_line(done.stdout)
    assert info["size"] == [320, 240]
    assert info["colours"] > 10, f"GLViewWidget drew a blank frame ({info}); see {frame}"


# --- the window -----------------------------------------------------------------------------

GRAB = """\
import hashlib, sys
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
image = app.primaryScreen().grabWindow(int(sys.argv[2])).toImage()
image.save(sys.argv[1])
print(hashlib.sha1(bytes(image.constBits())).hexdigest())
"""


def _gdviz_command() -> list[str]:
    script = Path(sys.executable).parent / "gdviz"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "gdviz"]


class Window:
    """A running `gdviz`, its window id, and xdotool and screenshots on its display."""

    def __init__(self, display: Display, process: subprocess.Popen[bytes], xdotool: str,
                 stderr: Path, shots: Path) -> None:
        self.display, self.process, self.xdotool = display, process, xdotool
        self.stderr, self.shots = stderr, shots
        self.id = ""
        self._shot = 0

    def run_xdotool(self, *args: str) -> str:
        done = subprocess.run([self.xdotool, *args], env=self.display.env, capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)
        return done.stdout

    def errors(self) -> str:
        return self.stderr.read_text(errors="replace")

    def assert_alive(self, when: str) -> None:
        status = self.process.poll()
        assert status is None, f"gdviz exited with status {status} {when}:\n{self.errors()}"

    def wait_mapped(self) -> None:
        """Poll xdotool for a visible window titled gdviz (xdotool's --sync has no timeout)."""
        deadline = time.monotonic() + WINDOW_TIMEOUT
        while time.monotonic() < deadline:
            self.assert_alive("before its window appeared")
            found = self.run_xdotool("search", "--onlyvisible", "--name", "^gdviz").split()
            if found:
                self.id = found[0]
                return
            time.sleep(0.25)
        pytest.fail(f"no gdviz window within {WINDOW_TIMEOUT:.0f} s:\n{self.errors()}")

    def screenshot(self, label: str) -> str:
        """Save the window as a PNG in the test's folder; return a hash of its pixels."""
        self._shot += 1
        path = self.shots / f"{self._shot:02d}-{label}.png"
        done = subprocess.run([sys.executable, "-c", GRAB, str(path), self.id],
                              env=self.display.env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, f"screenshot failed: {done.stderr}"
        return done.stdout.strip()

    def settled(self, timeout: float = 30.0) -> str:
        """The window's picture once two screenshots in a row agree (or the last one)."""
        deadline = time.monotonic() + timeout
        last = self.screenshot("start")
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.screenshot("start")
            if now == last:
                return now
            last = now
        return last

    def wait_changed(self, before: str, label: str) -> None:
        deadline = time.monotonic() + CHANGE_TIMEOUT
        while time.monotonic() < deadline:
            self.assert_alive(f"after {label}")
            if self.screenshot(label) != before:
                return
            time.sleep(0.2)
        pytest.fail(f"the window did not change within {CHANGE_TIMEOUT:.0f} s of {label}; "
                    f"screenshots in {self.shots}")


def test_gdviz_window_plays_on_space_and_quits_on_ctrl_q(xvfb: Display, tmp_path: Path) -> None:
    xdotool = require("xdotool", "xdotool")
    stderr_path = tmp_path / "stderr.txt"
    with open(stderr_path, "wb") as stderr, open(tmp_path / "stdout.txt", "wb") as stdout:
        process = subprocess.Popen(_gdviz_command(), env=xvfb.env, cwd=tmp_path,
                                   stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr)
    window = Window(xvfb, process, xdotool, stderr_path, tmp_path)
    try:
        window.wait_mapped()
        window.run_xdotool("windowfocus", "--sync", window.id)
        before = window.settled()

        window.run_xdotool("key", "space")
        window.wait_changed(before, "Space")  # playing: the epochs advance in the plots
        time.sleep(1.0)
        window.assert_alive("while playing")
        window.screenshot("playing")

        window.run_xdotool("key", "ctrl+q")
        try:
            status = process.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gdviz still running {EXIT_TIMEOUT:.0f} s after Ctrl+Q:\n"
                        f"{window.errors()}")
        assert status == 0, f"gdviz exited with status {status}:\n{window.errors()}"
    finally:
        stop(process)
    noise = [line for line in window.errors().splitlines()
             if line.strip() and not any(re.search(p, line) for p in STDERR_ALLOWED)]
    assert not noise, "gdviz wrote on stderr under Xvfb:\n" + "\n".join(noise)
