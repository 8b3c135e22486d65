"""A torch race's other lanes, trained in a helper process on the machine's other core.

The training thread steps the lead; in the same Python process the lanes would take turns with
it (and with the window) for one core, so a race of four torch optimizers cost about six runs of
plain SGD. Here the lanes run ahead in their own process, a chunk of epochs at a time, and their
records wait in a queue for the lead's epoch. The helper builds and steps the very trainers the
in-process race would (`spec.build(config)`, `step()`), so the records are the same numbers.

The helper is a fresh interpreter (`python -c`), not a multiprocessing child: multiprocessing
would run the caller's main script again in it, and a user's unguarded script must not run
twice. Starting one costs ~2 s (it imports torch); the race never waits for that, it steps its
own copies of the lanes until the helper answers (gdviz.core.race), then waits for the helper
to catch up. A helper whose race ends waits for the next race, so only a session's first race
pays for the start.
Requests grow from a small chunk, so a race stepped epoch by epoch has the helper train only a
little ahead of what is shown.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import weakref
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.records import StepRecord

LaneRecords = tuple[StepRecord | None, ...]  # one epoch of every lane; None: a diverged lane
FIRST_CHUNK = 16  # epochs asked for at first; each later request doubles, up to MAX_CHUNK
# ~60 ms of three torch lanes. A race that waits for its helper waits for a whole chunk, and
# hears a pause only between steps: small chunks keep pauses and redraws prompt.
MAX_CHUNK = 64
CHECK_EVERY = 32  # epochs between the helper's looks for a newer message within a chunk


def helper_is_worthwhile(configs: tuple[RunConfig, ...]) -> bool:
    """A helper pays only for torch lanes (a numpy epoch costs less than its pickling) and only
    with a second core to run on; it hands its socket over as a POSIX file descriptor."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (os.name == "posix" and bool(configs) and (cores or 1) >= 2
            and all(c.spec.needs_torch for c in configs))


def step_lanes(trainers: list[Any], alive: list[bool]) -> LaneRecords:
    """One epoch of every lane still `alive`, None for the others; a lane that leaves the
    finite numbers is marked dead in `alive`. The race and its helper both step with this."""
    records: list[StepRecord | None] = []
    for index, trainer in enumerate(trainers):
        if not alive[index]:
            records.append(None)
            continue
        record: StepRecord = trainer.step()
        alive[index] = record.is_finite
        records.append(record)
    return tuple(records)


class _Helper:
    """A helper process and our end of its socket."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        code = (f"import sys; sys.path[:0] = {sys.path!r}; "
                f"from gdviz.core.lane_process import main; main({theirs.fileno()})")
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the helper's end lives in the helper now: EOF here when it goes
        self.connection = Connection(ours.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.connection.close()
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=0.5)  # reaped, or the OS does it when this process ends


# One helper left by a finished race, kept for the next (its torch is imported already).
_idle: _Helper | None = None
_idle_lock = threading.Lock()
_race_ids = itertools.count(1)


def _take_idle() -> _Helper | None:
    global _idle
    with _idle_lock:
        helper, _idle = _idle, None
    return helper if helper is not None and helper.alive() else None


def _release(helper: _Helper, race: int, healthy: list[bool]) -> None:
    """A race is over: its helper waits for the next one, or ends if one already waits."""
    global _idle
    if healthy[0] and helper.alive():
        with _idle_lock:
            if _idle is None:
                if _told(helper, ("end", race)):
                    _idle = helper
                return  # kept, or ended by _told
    helper.kill()


def _told(helper: _Helper, message: tuple[Any, ...]) -> bool:
    """Send `message`; False (and the helper ended) if it cannot be sent."""
    try:
        helper.connection.send(message)
    except OSError:
        helper.kill()
        return False
    return True


@atexit.register
def end_waiting_helper() -> None:
    """End the helper waiting for a race, if any (at exit; benchmarks time a first race)."""
    helper = _take_idle()
    if helper is not None:
        helper.kill()


class LaneProcess:
    """A race served by a helper process: the lane records it has sent, taken in epoch order."""

    def __init__(self, configs: tuple[RunConfig, ...], epochs: int) -> None:
        """Start (or reuse) a helper; OSError if no process can be started."""
        self._race = next(_race_ids)
        message = ("race", self._race, configs)
        helper = _take_idle()
        if helper is None or not _told(helper, message):
            helper = _Helper()
            if not _told(helper, message):
                raise OSError("the race's helper process did not take its lanes")
        self._helper = helper
        self._connection = helper.connection
        self._healthy = [True]  # False once it failed: a failed helper is not kept
        self._finalizer = weakref.finalize(self, _release, helper, self._race, self._healthy)
        self._epochs = epochs  # the run's limit: nothing is trained beyond it
        self._queue: deque[LaneRecords] = deque()  # epochs received - len + 1 .. received
        self._received = 0  # epochs received so far
        self._asked = 0  # epochs asked for so far
        self._chunk = FIRST_CHUNK
        self.failure: str | None = None
        self._ask()

    def records(self, epoch: int) -> LaneRecords | None:
        """The lanes' records of `epoch`: None while the helper is starting (it has sent
        nothing yet) or if it has failed (`failure` says why); once it has answered, waits for
        them. The race steps its own lanes meanwhile and the helper follows: waiting for it
        then leaves it the CPU those copies would take."""
        if self.failure is not None:
            return None
        try:
            self._receive(block=False)
            if self._asked - epoch < self._chunk:
                self._ask()  # keep the helper about a chunk ahead of the race
            while self._received and self._received < epoch:
                if self._asked < epoch and not self._ask():
                    break  # beyond the run's epochs: nothing to wait for
                self._receive(block=True)
        except (EOFError, OSError) as error:
            self._fail(f"the race's helper process stopped ({type(error).__name__})")
            return None
        queue = self._queue
        while queue and self._received - len(queue) + 1 < epoch:
            queue.popleft()  # an epoch the race stepped itself while the helper started
        if not queue or self._received - len(queue) + 1 != epoch:
            return None
        return queue.popleft()

    def wait_ready(self, timeout: float) -> bool:
        """Wait until the helper has sent its first records (for tests and benchmarks)."""
        if self._received == 0 and self.failure is None and self._connection.poll(timeout):
            try:
                self._receive(block=True)
            except (EOFError, OSError) as error:
                self._fail(f"the race's helper process stopped ({type(error).__name__})")
        return self._received > 0

    def close(self) -> None:
        self._finalizer()

    def _ask(self) -> bool:
        """Ask for the next chunk; False if the run has no more epochs."""
        count = min(self._chunk, self._epochs - self._asked)
        if count <= 0:
            return False
        self._connection.send(("epochs", self._race, count))
        self._asked += count
        self._chunk = min(2 * self._chunk, MAX_CHUNK)
        return True

    def _receive(self, block: bool) -> None:
        """Every reply that has come for this race; with `block`, at least one."""
        while self._asked > self._received and (block or self._connection.poll()):
            race, reply = self._connection.recv()
            if race != self._race:
                continue  # an earlier race's chunk, still on its way
            block = False
            if isinstance(reply, str):
                self._fail(reply)
                return
            self._queue.extend(reply)
            self._received += len(reply)

    def _fail(self, message: str) -> None:
        self.failure = message
        self._healthy[0] = False
        self._queue.clear()
        self.close()


# --- the helper's side ------------------------------------------------------------------------


def main(fd: int) -> None:
    """The helper's entry point: serve races at the other end of socket `fd` until EOF."""
    import torch

    # Epochs of a few numbers each never split across threads; one thread is all a helper
    # beside the window's own process should take.
    torch.set_num_threads(1)
    _Server(Connection(fd)).serve()


class _Server:
    """Messages: ("race", id, configs) builds a race's lanes, ("epochs", id, n) trains n more
    epochs and sends (id, records), ("end", id) drops the race. A newer message cuts a chunk
    short: a race that has ended needs no more epochs."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.inbox: deque[tuple[Any, ...]] = deque()
        self.race: int | None = None
        self.trainers: list[Any] = []
        self.alive: list[bool] = []

    def serve(self) -> None:
        try:
            while True:
                if not self.inbox:
                    self.inbox.append(self.connection.recv())
                self._handle(self.inbox.popleft())
        except (EOFError, OSError):
            return  # the window (or script) is gone

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, race = message[0], message[1]
        if kind == "race":
            self.race = race
            try:
                self.trainers = [config.spec.build(config) for config in message[2]]
            except Exception as error:  # said to the race, which goes on with its own lanes
                self._failed(error)
                return
            self.alive = [True] * len(self.trainers)
        elif kind == "end":
            self.race, self.trainers = None, []
        elif kind == "epochs" and race == self.race:
            try:
                chunk = self._train(message[2])
            except Exception as error:  # as above
                self._failed(error)
                return
            if chunk is not None:
                self.connection.send((race, chunk))

    def _train(self, count: int) -> list[LaneRecords] | None:
        """`count` epochs of every lane; None if a newer message ended the race meanwhile."""
        chunk: list[LaneRecords] = []
        for done in range(count):
            if done % CHECK_EVERY == CHECK_EVERY - 1 and self._superseded():
                return None
            # A numpy copy pickles in a few bytes; a tensor would go through torch's
            # shared-memory reducer, a file descriptor per record.
            chunk.append(tuple(None if record is None
                               else record._replace(predictions=np.array(record.y_pred))
                               for record in step_lanes(self.trainers, self.alive)))
        return chunk

    def _superseded(self) -> bool:
        """Read what has come; True if this race has ended (its queued requests are dropped)."""
        while self.connection.poll():
            self.inbox.append(self.connection.recv())
        if not any(message[0] != "epochs" for message in self.inbox):
            return False
        while self.inbox[0][0] == "epochs":
            self.inbox.popleft()
        return True

    def _failed(self, error: Exception) -> None:
        race, self.race, self.trainers = self.race, None, []
        self.connection.send((race, f"a race lane failed: {type(error).__name__}: {error}"))
