"""Import PyTorch in the background before a torch trainer is asked for.

A lecture usually moves from the numpy cell to the autograd cell a minute in; importing torch
(1.2–1.4 s here) while the window is idle makes that switch instant. The import holds the GIL
through part of torch's initialisation, stalling other threads once for ~200–330 ms, so the
window starts it only when nothing plays and nobody is typing. The thread is a daemon, whoever
starts it (a thread made from a QThread would be one anyway), so a window closes at once; the
interpreter's exit then waits for a started import (a second or two at most): `gdviz export`
exiting in the middle of it aborted after writing its file (exit status 134 or 139).
"""

from __future__ import annotations

import atexit
import importlib
import sys
import threading
import time

_lock = threading.Lock()
_thread: threading.Thread | None = None
_seconds: float | None = None
EXIT_WAIT_S = 60.0  # an import that takes longer has hung: exit anyway


def is_loaded() -> bool:
    return "torch" in sys.modules and _thread_done()


def _thread_done() -> bool:
    return _thread is None or not _thread.is_alive()


def start() -> bool:
    """Start importing torch in a background thread; False if it is loaded or loading."""
    global _thread
    with _lock:
        if "torch" in sys.modules or _thread is not None:
            return False
        _thread = threading.Thread(target=_import, name="gdviz-torch-import", daemon=True)
        _thread.start()
        return True


def wait(timeout: float | None = None) -> bool:
    """Wait for a started import; True once no import is running."""
    thread = _thread
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True


@atexit.register
def _wait_at_exit() -> None:
    wait(EXIT_WAIT_S)


def import_seconds() -> float | None:
    """How long the background import took, once it has finished."""
    return _seconds


def _import() -> None:
    global _seconds
    start_time = time.perf_counter()
    try:
        importlib.import_module("torch")
        _warm_up()
    except Exception:  # torch missing or broken: the torch trainer will say so when chosen
        return
    _seconds = time.perf_counter() - start_time


def _warm_up() -> None:
    """One tiny training step: torch initialises its operators and optimizers lazily, and
    the first nn.Linear + SGD step otherwise pays for that when the lecturer switches."""
    import torch

    with torch.random.fork_rng(devices=[]):
        model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = torch.nn.MSELoss()(model(torch.ones(2, 1)), torch.zeros(2, 1))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
