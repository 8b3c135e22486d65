"""Python's cyclic garbage collection in the GUI thread only.

The collector runs in whichever thread happens to allocate: the training thread, the torch
import (~100 collections while it runs). Qt objects it frees there are destroyed in the wrong
thread: "QBasicTimer::start: Timers cannot be started from another thread", an export that
aborted at exit after writing its file, a test whose training thread never finished importing
torch's optimizer. pyqtgraph's GarbageCollector turns automatic collection off and collects
from a timer in the GUI thread instead, by the same thresholds.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

CHECK_INTERVAL_S = 0.5

_collector: GarbageCollector | None = None


def collect_in_gui_thread() -> None:
    """Called from the GUI thread once a QApplication exists; once per process is enough."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=CHECK_INTERVAL_S)
