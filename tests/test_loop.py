"""The Qt-free training loop, driven by a fake trainer and commands injected at chosen moments.

Each race the window once lost a command in is replayed here deterministically: the command is
sent from inside the loop's own callbacks, at the exact point where the old worker dropped it.
No QApplication is involved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from gdviz.core import loop as loop_module
from gdviz.core.config import RunConfig, build_config
from gdviz.core.loop import TrainingControl, run_training_loop
from gdviz.core.records import StepRecord

TIMEOUT = 5.0


class FakeTrainer:
    """w moves halfway to 2 each epoch; `fail_at` raises in that epoch's step()."""

    param_names = ("w",)

    def __init__(self, config: RunConfig, fail_at: int | None = None,
                 diverge_at: int | None = None) -> None:
        self.epoch = 0
        self.w = 0.0
        self.fail_at = fail_at
        self.diverge_at = diverge_at

    def params(self) -> tuple[float, ...]:
        return (self.w,)

    def step(self) -> StepRecord:
        epoch = self.epoch + 1
        if epoch == self.fail_at:
            raise ZeroDivisionError("the fake trainer fails on purpose")
        before = self.w
        self.w = float("inf") if epoch == self.diverge_at else (self.w + 2.0) / 2
        self.epoch = epoch
        return StepRecord(epoch, (before,), (self.w,), (2.0 - before) ** 2, (before - 2.0,),
                          None)

    def predict(self, x: float) -> float:
        return self.w * x


@dataclass
class Recorder:
    """LoopEvents that remembers everything and runs hooks at chosen moments."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    on_recorded: Callable[[int, tuple[StepRecord, ...]], None] | None = None
    on_stopped: Callable[[str], None] | None = None
    condition: threading.Condition = field(default_factory=threading.Condition)

    def _add(self, *event: Any) -> None:
        with self.condition:
            self.events.append(event)
            self.condition.notify_all()

    def started(self, generation: int, config: RunConfig, initial_params: tuple[float, ...],
                prediction: float) -> None:
        self._add("started", generation)

    def recorded(self, generation: int, batch: int, records: tuple[StepRecord, ...]) -> None:
        self._add("recorded", generation, batch, tuple(r.epoch for r in records))
        if self.on_recorded is not None:
            self.on_recorded(batch, records)

    def stopped(self, generation: int, epoch: int, reason: str, prediction: float) -> None:
        self._add("stopped", generation, epoch, reason)
        if self.on_stopped is not None:
            self.on_stopped(reason)

    def failed(self, generation: int, message: str) -> None:
        self._add("failed", generation, message)

    def epochs(self, generation: int | None = None) -> list[int]:
        with self.condition:
            return [e for event in self.events if event[0] == "recorded"
                    and (generation is None or event[1] == generation) for e in event[3]]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        with self.condition:
            assert self.condition.wait_for(predicate, timeout), f"timed out; saw {self.events}"

    def kinds(self) -> list[str]:
        with self.condition:
            return [event[0] for event in self.events]


@pytest.fixture
def running() -> Any:
    """Start a loop in a thread with a builder; stop and join it at teardown."""
    threads: list[tuple[TrainingControl, threading.Thread]] = []

    def start(recorder: Recorder, build: Callable[[RunConfig], Any] = FakeTrainer,
              batch_seconds: float = 0.01) -> TrainingControl:
        control = TrainingControl()
        thread = threading.Thread(target=run_training_loop,
                                  args=(control, recorder, build, batch_seconds))
        thread.start()
        threads.append((control, thread))
        return control

    yield start
    for control, thread in threads:
        control.stop()
        thread.join(TIMEOUT)
        assert not thread.is_alive()


CONFIG = build_config("numpy", explicit={"epochs": 50})


def test_steps_and_stops_at_the_limit(running: Any) -> None:
    recorder = Recorder()
    control = running(recorder)
    generation = control.configure(build_config("numpy", explicit={"epochs": 3}))
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.step(5)
    recorder.wait_for(lambda: ("stopped", generation, 3, "finished") in recorder.events)
    assert recorder.epochs() == [1, 2, 3]


def test_play_sent_while_a_step_is_being_reported_is_not_lost(running: Any) -> None:
    """The old worker decided "paused" after a step, reported the record, then wrote
    playing = False: a Play arriving during that report was erased while the window showed
    "playing" and nothing trained."""
    recorder = Recorder()
    control = running(recorder)
    sent = []

    def play_during_first_report(batch: int, records: tuple[StepRecord, ...]) -> None:
        if not sent:
            sent.append(batch)
            control.play(1000.0)

    recorder.on_recorded = play_during_first_report
    control.configure(CONFIG)
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.step()
    recorder.wait_for(lambda: len(recorder.epochs()) >= 5)


def test_play_sent_while_a_pause_is_being_reported_is_not_lost(running: Any) -> None:
    recorder = Recorder()
    control = running(recorder)
    replayed = []

    def play_again(reason: str) -> None:
        if reason == "paused" and not replayed:
            replayed.append(True)
            control.play(1000.0)

    recorder.on_stopped = play_again
    control.configure(CONFIG)
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.step()
    recorder.wait_for(lambda: replayed and len(recorder.epochs()) >= 5)


def test_an_early_frame_acknowledgement_is_not_lost(running: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The window may acknowledge a batch before the loop starts waiting for it; the old
    worker then waited the full timeout for every batch."""
    monkeypatch.setattr(loop_module, "MAX_FRAME_WAIT", 10.0)
    recorder = Recorder()
    control = running(recorder, batch_seconds=0.001)
    recorder.on_recorded = lambda batch, records: control.frame_drawn(batch)
    control.configure(build_config("numpy", explicit={"epochs": 100_000}))
    recorder.wait_for(lambda: "started" in recorder.kinds())
    start = time.perf_counter()
    control.play(None)  # unthrottled: bursts, each waiting for its frame
    recorder.wait_for(lambda: ("stopped", 1, 100_000, "finished") in recorder.events,
                      timeout=8.0)
    batches = sum(1 for kind in recorder.kinds() if kind == "recorded")
    assert batches >= 3, "the run should take several bursts"
    assert time.perf_counter() - start < 5.0


def test_without_an_acknowledgement_a_burst_waits_at_most_the_limit(
        running: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loop_module, "MAX_FRAME_WAIT", 0.05)
    recorder = Recorder()
    control = running(recorder, batch_seconds=0.001)
    control.configure(CONFIG)
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.play(None)
    recorder.wait_for(lambda: ("stopped", 1, 50, "finished") in recorder.events)
    assert recorder.epochs() == list(range(1, 51))


def test_an_exception_in_a_step_ends_that_run_only(running: Any) -> None:
    recorder = Recorder()
    control = running(recorder, build=lambda config: FakeTrainer(config, fail_at=3))
    generation = control.configure(CONFIG)
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.play(1000.0)
    recorder.wait_for(lambda: "failed" in recorder.kinds())
    failure = next(event for event in recorder.events if event[0] == "failed")
    assert failure[1] == generation
    assert "epoch 3" in failure[2] and "ZeroDivisionError" in failure[2]
    assert recorder.epochs(generation) == [1, 2]

    again = control.configure(CONFIG)  # the next reset trains again
    recorder.wait_for(lambda: ("started", again) in recorder.events)
    control.step()
    recorder.wait_for(lambda: recorder.epochs(again) == [1])


def test_a_trainer_that_cannot_be_built_is_reported_and_the_loop_lives_on(running: Any) -> None:
    calls = []

    def build(config: RunConfig) -> FakeTrainer:
        calls.append(config)
        if len(calls) == 1:
            raise ImportError("No module named 'torch'")
        return FakeTrainer(config)

    recorder = Recorder()
    control = running(recorder, build=build)
    control.configure(CONFIG)
    recorder.wait_for(lambda: "failed" in recorder.kinds())
    assert "No module named 'torch'" in recorder.events[-1][2]
    second = control.configure(CONFIG)
    recorder.wait_for(lambda: ("started", second) in recorder.events)


def test_divergence_stops_and_reports(running: Any) -> None:
    recorder = Recorder()
    control = running(recorder, build=lambda config: FakeTrainer(config, diverge_at=4))
    generation = control.configure(CONFIG)
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.play(None)
    recorder.wait_for(lambda: ("stopped", generation, 4, "diverged") in recorder.events)
    control.play(None)  # nothing sane to train further: the loop waits for a new run
    time.sleep(0.05)
    assert recorder.epochs() == [1, 2, 3, 4]


def test_reconfigure_mid_play_reports_nothing_of_the_old_run_after_the_new_start(
        running: Any) -> None:
    recorder = Recorder()
    control = running(recorder)
    first = control.configure(build_config("numpy", explicit={"epochs": 10**6}))
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.play(None)
    recorder.wait_for(lambda: len(recorder.epochs(first)) > 100)
    second = control.configure(CONFIG)
    recorder.wait_for(lambda: ("started", second) in recorder.events)
    with recorder.condition:
        after_start = recorder.events[recorder.events.index(("started", second)):]
    assert all(event[1] == second for event in after_start)


def test_stop_while_a_trainer_is_being_built_returns_once_it_is_built() -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow_build(config: RunConfig) -> FakeTrainer:
        entered.set()
        release.wait(TIMEOUT)  # like importing torch: cannot be interrupted
        return FakeTrainer(config)

    recorder = Recorder()
    control = TrainingControl()
    thread = threading.Thread(target=run_training_loop, args=(control, recorder, slow_build))
    thread.start()
    control.configure(CONFIG)
    assert entered.wait(TIMEOUT)
    control.stop()
    time.sleep(0.05)
    assert thread.is_alive()
    release.set()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
    assert "started" not in recorder.kinds()  # a stopped loop announces nothing more


def test_throttled_play_keeps_its_rate(running: Any) -> None:
    recorder = Recorder()
    control = running(recorder)
    control.configure(build_config("numpy", explicit={"epochs": 1000}))
    recorder.wait_for(lambda: "started" in recorder.kinds())
    control.play(50.0)
    time.sleep(0.3)
    control.pause()
    count = len(recorder.epochs())
    assert 5 <= count <= 30  # ~15 at 50 epochs/s; generous for a busy machine
