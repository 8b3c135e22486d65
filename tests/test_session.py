"""The Qt-free session: commands, pending intents while the trainer loads, and loop reports.

A fake driver stands in for the training loop; the tests play the loop's part by calling
`started`, `recorded`, `stopped` and `failed` themselves, in the orders that once lost commands.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gdviz.core.config import RunConfig, build_config
from gdviz.core.records import StepRecord
from gdviz.core.session import Intent, RunState, Session


class FakeDriver:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.generation = 0

    def configure(self, config: RunConfig) -> int:
        self.generation += 1
        self.calls.append(("configure", config.trainer))
        return self.generation

    def play(self, epochs_per_second: float | None) -> None:
        self.calls.append(("play", epochs_per_second))

    def pause(self) -> None:
        self.calls.append(("pause",))

    def step(self, count: int = 1) -> None:
        self.calls.append(("step", count))

    def set_speed(self, epochs_per_second: float | None) -> None:
        self.calls.append(("speed", epochs_per_second))


def record(epoch: int, w: float = 1.0) -> StepRecord:
    forward = np.full(4, w - 0.5, dtype=np.float32)
    return StepRecord(epoch, (w - 0.5,), (w,), 1.0 / epoch, (-1.0,), forward)


def make(config: RunConfig | None = None) -> tuple[Session, FakeDriver, list[str]]:
    driver = FakeDriver()
    messages: list[str] = []
    session = Session(config or build_config("numpy"), driver, on_message=messages.append)
    return session, driver, messages


def start(session: Session, driver: FakeDriver) -> None:
    session.started(driver.generation, session.config, (0.0,), 0.0)


def test_state_compares_to_plain_strings() -> None:
    assert RunState.READY == "ready" and str(RunState.PLAYING) == "playing"


def test_a_play_while_loading_is_carried_out_once_ready() -> None:
    session, driver, messages = make(build_config("autograd"))
    assert session.state is RunState.LOADING
    session.play()
    assert session.pending == Intent("play") and session.is_playing
    assert "play once it is ready" in messages[-1]
    start(session, driver)
    assert driver.calls[-1] == ("play", 5.0)
    assert session.state is RunState.PLAYING and session.pending is None


def test_the_latest_intent_wins_and_steps_add_up() -> None:
    session, driver, _ = make()
    session.play()
    session.run_to_end()  # End after Space: run to the end
    start(session, driver)
    assert driver.calls[-1] == ("play", None)

    session.reset()
    session.step()
    session.step()
    session.step()
    assert session.pending == Intent("step", 3)
    start(session, driver)
    assert driver.calls[-1] == ("step", 3)


def test_pause_cancels_a_waiting_intent_visibly() -> None:
    session, driver, messages = make()
    session.play()
    session.toggle_play()
    assert session.pending is None and not session.is_playing
    assert "Cancelled" in messages[-1]
    start(session, driver)
    assert ("play", 5.0) not in driver.calls


def test_seek_while_loading_is_refused_with_a_reason() -> None:
    session, _, messages = make()
    session.seek(3)
    assert "still loading" in messages[-1]


def test_commands_after_reset_and_setting_change_wait_too() -> None:
    session, driver, _ = make()
    start(session, driver)
    session.reset()
    session.run_to_end()
    start(session, driver)
    assert driver.calls[-1] == ("play", None)
    session.set_config(session.config.replace(lr=0.02), "learning rate 0.01 → 0.02")
    session.step()
    start(session, driver)
    assert driver.calls[-1] == ("step", 1)


def test_a_setting_change_while_playing_keeps_playing_and_says_so() -> None:
    session, driver, messages = make()
    start(session, driver)
    session.play()
    session.recorded(driver.generation, (record(1), record(2)))
    session.set_config(session.config.replace(lr=0.02), "learning rate 0.01 → 0.02")
    assert session.cursor == 0 and session.is_playing
    assert messages[-1] == ("learning rate 0.01 → 0.02: the run restarted from epoch 0; "
                            "still playing")
    start(session, driver)
    assert session.state is RunState.PLAYING and driver.calls[-1] == ("play", 5.0)


def test_reports_of_an_old_run_are_ignored() -> None:
    session, driver, _ = make()
    start(session, driver)
    old = driver.generation
    session.reset()
    session.recorded(old, (record(1),))
    session.stopped(old, 1, "finished", 2.0)
    session.failed(old, "boom")
    assert session.history is None and session.state is RunState.LOADING


def test_a_failure_is_reported_and_reset_trains_again() -> None:
    session, driver, messages = make()
    start(session, driver)
    session.play()
    session.failed(driver.generation, "training failed at epoch 3: ZeroDivisionError")
    assert session.state is RunState.FAILED and not session.is_playing
    assert "training failed at epoch 3" in messages[-1] and "Home" in messages[-1]
    session.reset()
    assert driver.calls[-1] == ("configure", "numpy")
    start(session, driver)
    session.step()
    assert session.state is RunState.READY and driver.calls[-1] == ("step", 1)


def test_a_trainer_that_failed_to_start_says_so_on_play() -> None:
    session, driver, messages = make(build_config("autograd"))
    session.failed(driver.generation, "cannot start the autograd trainer: ImportError: torch")
    session.play()
    assert session.pending is None and "Home tries again" in messages[-1]


def test_loading_message_is_kept_for_a_late_listener() -> None:
    session, _, _ = make(build_config("nn"))

    from gdviz.core import torch_preload

    if not torch_preload.is_loaded():
        assert session.message == "Loading PyTorch…"


def test_replay_walks_the_recorded_epochs_then_trains() -> None:
    session, driver, _ = make(build_config("numpy", explicit={"epochs": 10}))
    start(session, driver)
    session.recorded(driver.generation, tuple(record(e) for e in range(1, 5)))
    session.seek(1)
    session.play()
    assert session.replaying and session.state is RunState.PLAYING
    session.replay_tick(session.replay_interval_ms)
    assert session.cursor == 2
    session.replay_tick(1000)  # 5 epochs/s for a second: past the end
    assert session.cursor == 4 and not session.replaying
    assert driver.calls[-1] == ("play", 5.0)


def test_divergence_message_names_the_growth_factor() -> None:
    config = build_config("numpy", explicit={"lr": 0.1, "epochs": 100})
    session, driver, messages = make(config)
    start(session, driver)
    session.stopped(driver.generation, 12, "diverged", float("inf"))
    assert session.state is RunState.DIVERGED
    # notebook gradient: h = 4 × 2·mean(x²) = 60; |1 − 0.1·60| = 5
    assert "|1 − 0.1 × 60| = 5 > 1" in messages[-1] and "grows ×5.00 per epoch" in messages[-1]


def test_the_change_message_outlives_the_restart_while_playing() -> None:
    """It used to be replaced by "Ready: play" as soon as the new run was ready."""
    session, driver, messages = make()
    start(session, driver)
    session.play()
    session.set_config(session.config.replace(lr=0.02), "learning rate 0.01 → 0.02")
    start(session, driver)
    assert session.message == messages[-1]
    assert session.message.startswith("learning rate 0.01 → 0.02: the run restarted")


def test_a_non_finite_record_is_divergence_before_the_loop_says_so() -> None:
    """The record arrives first, the loop's "stopped" report after it: between the two the
    history already holds inf, so the state must say diverged (found by the stateful test)."""
    session, driver, _ = make()
    start(session, driver)
    session.play()
    bad = StepRecord(1, (0.0,), (float("inf"),), float("inf"), (-1.0,),
                     np.zeros(4, dtype=np.float32))
    session.recorded(driver.generation, (bad,))
    assert session.state is RunState.DIVERGED and session.diverged_at == 1
    assert not session.is_playing
    session.stopped(driver.generation, 1, "diverged", float("inf"))
    assert session.state is RunState.DIVERGED and session.diverged_at == 1


def test_loss_after_an_epoch_is_the_next_records_loss_or_the_surface() -> None:
    session, driver, _ = make()
    start(session, driver)
    session.recorded(driver.generation, (record(1, w=1.2), record(2, w=1.68)))
    assert session.loss_after(0) == 1.0  # recorded with epoch 1: the loss before its update
    assert session.loss_after(1) == 0.5
    assert session.loss_after(2) == pytest.approx(session.landscape.loss(1.68))
    assert math.isnan(session.loss_after(3))
