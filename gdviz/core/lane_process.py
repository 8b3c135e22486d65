"""A torch race's other lanes, trained in a helper process on the machine's other core.

The training thread steps the lead; in the same Python process the lanes would take turns with
it (and with the window) for one core, so a race of four torch optimizers cost about six runs of
plain SGD. Here the lanes run ahead in their own process, a chunk of epochs at a time, and their
records wait in a queue for the lead's epoch. The helper builds and steps the very trainers the
in-process race would (`spec.build(config)`, `step()`), so the records are the same numbers.

The helper is a fresh interpreter (`python -c`), not a multiprocessing child: multiprocessing
would run the caller's main script again in it, and a user's unguarded script must not run
twice. It imports torch first (~1.5 s); the race never waits for that, it steps its own copies
of the lanes until the helper has caught up with it (gdviz.core.race). Requests grow from a
small chunk, so a race stepped epoch by epoch has the helper train only a little ahead.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import weakref
from collections import deque
from multiprocessing.connection import Connection

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.records import StepRecord

LaneRecords = tuple[StepRecord | None, ...]  # one epoch of every lane; None: a diverged lane
FIRST_CHUNK = 16  # epochs asked for at first; each later request doubles, up to MAX_CHUNK
MAX_CHUNK = 512  # ~0.4 s of three torch lanes: a fresh request keeps the helper busy meanwhile


def helper_is_worthwhile(configs: tuple[RunConfig, ...]) -> bool:
    """A helper pays only for torch lanes (a numpy epoch costs less than its pickling) and only
    with a second core to run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return bool(configs) and (cores or 1) >= 2 and all(c.spec.needs_torch for c in configs)


class LaneProcess:
    """The helper process and the lane records it has sent, taken in epoch order."""

    def __init__(self, configs: tuple[RunConfig, ...], epochs: int) -> None:
        """Start the helper; OSError if no process can be started."""
        ours, theirs = socket.socketpair()
        code = (f"import sys; sys.path[:0] = {sys.path!r}; "
                f"from gdviz.core.lane_process import main; main({theirs.fileno()})")
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        finally:
            theirs.close()  # the helper's end lives in the helper now: EOF here when it goes
        self._connection = Connection(ours.detach())
        self._finalizer = weakref.finalize(self, _stop, self._connection, self._process)
        self._epochs = epochs  # the run's limit: nothing is trained beyond it
        self._queue: deque[LaneRecords] = deque()  # epochs received - len + 1 .. received
        self._received = 0  # epochs received so far
        self._asked = 0  # epochs asked for so far
        self._chunk = FIRST_CHUNK
        self.failure: str | None = None
        self._connection.send(configs)
        self._ask()

    def records(self, epoch: int, wait: bool) -> LaneRecords | None:
        """The lanes' records of `epoch`, or None when the helper has not got there yet (or
        has failed: `failure` says why). `wait`: block until they come, unless it fails."""
        if self.failure is not None:
            return None
        try:
            self._receive(block=False)
            if self._asked - epoch < self._chunk:
                self._ask()  # keep the helper about a chunk ahead of the race
            while wait and self._received < epoch and self._asked > self._received:
                self._receive(block=True)
        except (EOFError, OSError) as error:
            self._fail(f"the race's helper process stopped ({type(error).__name__})")
            return None
        queue = self._queue
        while queue and self._received - len(queue) + 1 < epoch:
            queue.popleft()  # an epoch the race stepped itself while the helper caught up
        if not queue or self._received - len(queue) + 1 != epoch:
            return None
        return queue.popleft()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the helper has answered (it has imported torch and trained a chunk)."""
        return self._received > 0 or bool(self._connection.poll(timeout))

    def close(self) -> None:
        self._finalizer()

    def _ask(self) -> None:
        count = min(self._chunk, self._epochs - self._asked)
        if count <= 0:
            return
        self._connection.send(count)
        self._asked += count
        self._chunk = min(2 * self._chunk, MAX_CHUNK)

    def _receive(self, block: bool) -> None:
        """Every reply that has come; with `block`, at least one."""
        while self._asked > self._received and (block or self._connection.poll()):
            block = False
            reply = self._connection.recv()
            if isinstance(reply, str):
                self._fail(reply)
                return
            self._queue.extend(reply)
            self._received += len(reply)

    def _fail(self, message: str) -> None:
        self.failure = message
        self._queue.clear()
        self.close()


def _stop(connection: Connection, process: subprocess.Popen[bytes]) -> None:
    """End the helper at once, without waiting for it: it may be in the middle of a chunk."""
    connection.close()
    with contextlib.suppress(OSError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=0.5)  # reaped, or the OS does it when this process ends


def main(fd: int) -> None:
    """The helper's entry point: serve the race at the other end of socket `fd`."""
    connection = Connection(fd)
    try:
        configs = connection.recv()
    except EOFError:
        return
    serve(connection, configs)


def serve(connection: Connection, configs: tuple[RunConfig, ...]) -> None:
    """Train `configs` side by side, as many epochs as each request asks, until EOF."""
    try:
        trainers = [config.spec.build(config) for config in configs]
        alive = [True] * len(trainers)
        while True:
            try:
                count = connection.recv()
            except EOFError:
                return  # the race is over
            chunk: list[LaneRecords] = []
            for _ in range(count):
                epoch: list[StepRecord | None] = []
                for index, trainer in enumerate(trainers):
                    if not alive[index]:
                        epoch.append(None)
                        continue
                    record: StepRecord = trainer.step()
                    alive[index] = record.is_finite
                    # A numpy copy pickles in a few bytes; a tensor would go through torch's
                    # shared-memory reducer, a file descriptor per record.
                    epoch.append(record._replace(predictions=np.array(record.y_pred)))
                chunk.append(tuple(epoch))
            connection.send(chunk)
    except OSError:
        return  # the race ended while this chunk was on its way
    except Exception as error:  # said to the race, which goes on with its own lanes
        with contextlib.suppress(OSError):
            connection.send(f"a race lane failed: {type(error).__name__}: {error}")
