"""Python's garbage collector never runs in the training thread or the torch import: Qt objects
it frees there are destroyed in the wrong thread (an export aborted at exit after writing its
file; "QBasicTimer::start: Timers cannot be started from another thread")."""

from __future__ import annotations

import gc
import threading


def test_no_collection_runs_outside_the_gui_thread_once_a_window_exists(qtbot, window):
    threads: list[str] = []

    def seen(phase: str, _info: dict) -> None:
        if phase == "start":
            threads.append(threading.current_thread().name)

    def make_cyclic_garbage() -> None:
        for _ in range(50_000):  # ~70 collections' worth of allocations
            cycle: list[object] = []
            cycle.append(cycle)

    gc.callbacks.append(seen)
    try:
        worker = threading.Thread(target=make_cyclic_garbage, name="allocating")
        worker.start()
        worker.join()
        assert "allocating" not in threads
        # The GUI thread collects instead, from a timer.
        qtbot.waitUntil(lambda: "MainThread" in threads, timeout=5000)
    finally:
        gc.callbacks.remove(seen)
