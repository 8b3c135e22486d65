"""A private Xvfb for the tests that need a real X display (tests/test_real_display.py).

The test suite runs Qt on its offscreen platform (tests/conftest.py), which has no OpenGL and
no real windows. The real-display tests run their programs in subprocesses on a virtual X
server started here, so pytest itself stays offscreen and `.ci/run` stays the README's single
test command (no `xvfb-run` around it).

A test module makes its fixture from `running_xvfb` (a module-scoped one is in
tests/test_real_display.py; importing this module there keeps it out of pytest's plugins, whose
import would come too late for assertion rewriting). The `Display` it yields has an `env` that
runs a subprocess on Qt's xcb platform under that server. Without the Debian packages (`xvfb`,
`xdotool`) the tests are skipped, except when the environment variable CI is set: there a
missing package is a failure, so CI cannot skip them silently.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SCREEN = "1280x720x24"
START_TIMEOUT = 30.0  # seconds for Xvfb to report its display number (a noisy 2-core machine)

# Variables that would send a child elsewhere than our server, or onto the offscreen platform.
_DROPPED = ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "XAUTHORITY", "QT_QPA_PLATFORMTHEME")


def require(program: str, package: str) -> str:
    """The path of `program`; skip the test without it, but fail under CI."""
    path = shutil.which(program)
    if path is None:
        why = (f"{program} is not installed (Debian package {package}); the real-display tests "
               "need it")
        if os.environ.get("CI"):
            pytest.fail(f"{why}, and CI must not skip them: install it in .ci/run", pytrace=False)
        pytest.skip(why)
    return path


@dataclass(frozen=True)
class Display:
    name: str  # ":N"
    env: dict[str, str]  # for subprocesses: DISPLAY=:N, QT_QPA_PLATFORM=xcb
    log: Path  # Xvfb's own stderr


def _read_display_number(fd: int, process: subprocess.Popen[bytes], timeout: float) -> str:
    """Xvfb writes its display number and a newline to -displayfd once it accepts clients."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"Xvfb gave no display number within {timeout:.0f} s")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:  # the write end closed: Xvfb exited
                break
            data += chunk
        elif process.poll() is not None:
            break
    number = data.decode().strip()
    if not number.isdigit():
        raise RuntimeError(f"Xvfb exited with status {process.poll()} before it had a display")
    return number


def stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], timeout: float = 10.0) -> None:
    """Terminate a child, then kill it if it does not go; always reap it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@contextlib.contextmanager
def running_xvfb(workdir: Path, screen: str = SCREEN) -> Iterator[Display]:
    """Start `Xvfb -displayfd` (it picks a free display itself), yield it, kill it after."""
    xvfb = require("Xvfb", "xvfb")
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "xvfb.log"
    read_fd, write_fd = os.pipe()
    try:
        with open(log, "wb") as log_file:
            process = subprocess.Popen(
                [xvfb, "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
                pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        os.close(write_fd)
        write_fd = -1
        try:
            try:
                name = ":" + _read_display_number(read_fd, process, START_TIMEOUT)
            except (TimeoutError, RuntimeError) as error:
                detail = log.read_text(errors="replace").strip()[-2000:]
                pytest.fail(f"{error}; its output:\n{detail}", pytrace=False)
            yield Display(name=name, env=_child_env(name, workdir), log=log)
        finally:
            stop(process)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)


def _child_env(display: str, workdir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED}
    runtime = workdir / "runtime"  # Qt warns about a missing or shared XDG_RUNTIME_DIR
    runtime.mkdir(mode=0o700, exist_ok=True)
    config = workdir / "config"  # settings written by the program stay in the test's folder
    config.mkdir(exist_ok=True)
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime),
               XDG_CONFIG_HOME=str(config))
    return env

