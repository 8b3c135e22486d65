"""Lecture mode's sub-steps, Qt-free: positions (epoch, phase) and the session's commands."""

from __future__ import annotations

from gdviz.core.config import build_config
from gdviz.core.phases import Phase, next_position, params_epoch, previous_position
from gdviz.core.session import Intent, RunState
from tests.test_session import make, record, start

TORCH_PHASES = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE, Phase.ZERO_GRAD)
NUMPY_PHASES = (Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE)


def test_the_cells_phases_come_from_the_registry() -> None:
    assert build_config("numpy").spec.phases == NUMPY_PHASES  # no zero_grad in the numpy cell
    assert build_config("autograd").spec.phases == TORCH_PHASES
    assert build_config("nn").spec.phases == TORCH_PHASES


def test_positions_walk_through_every_phase_and_back() -> None:
    position: tuple[int, Phase | None] = (0, None)
    walked = []
    for _ in range(2 * len(TORCH_PHASES)):
        position = next_position(*position, TORCH_PHASES)
        walked.append(position)
    assert walked[:6] == [(1, Phase.FORWARD), (1, Phase.LOSS), (1, Phase.BACKWARD),
                          (1, Phase.UPDATE), (1, Phase.ZERO_GRAD), (2, Phase.FORWARD)]
    for expected in reversed([(0, None), *walked[:-1]]):
        position = previous_position(*position, TORCH_PHASES)
        assert position == expected


def test_back_from_epoch_2_forward_lands_on_epoch_1_last_phase() -> None:
    assert previous_position(2, Phase.FORWARD, TORCH_PHASES) == (1, Phase.ZERO_GRAD)
    assert previous_position(2, Phase.FORWARD, NUMPY_PHASES) == (1, Phase.UPDATE)
    assert previous_position(3, None, NUMPY_PHASES) == (3, Phase.UPDATE)


def test_views_show_the_parameters_before_the_update_until_the_update() -> None:
    assert [params_epoch(3, p) for p in TORCH_PHASES] == [2, 2, 2, 3, 3]
    assert params_epoch(3, None) == 3 and params_epoch(0, None) == 0


def test_sub_steps_train_the_next_epoch_when_needed_and_replay_recorded_ones() -> None:
    session, driver, _ = make()
    start(session, driver)
    session.sub_step()
    assert driver.calls[-1] == ("step", 1)
    assert (session.cursor, session.phase) == (0, None)  # until the epoch arrives
    session.recorded(driver.generation, (record(1),))
    assert (session.cursor, session.phase) == (1, Phase.FORWARD)
    for phase in NUMPY_PHASES[1:]:
        session.sub_step()
        assert (session.cursor, session.phase) == (1, phase)
    calls = len(driver.calls)
    session.sub_step()  # epoch 2's forward: trains epoch 2
    assert driver.calls[calls:] == [("step", 1)]
    session.recorded(driver.generation, (record(2),))
    assert (session.cursor, session.phase) == (2, Phase.FORWARD)
    session.sub_step_back()
    assert (session.cursor, session.phase) == (1, Phase.UPDATE)
    calls = len(driver.calls)
    session.sub_step()  # epoch 2 is recorded now: no training
    assert (session.cursor, session.phase) == (2, Phase.FORWARD)
    assert not [c for c in driver.calls[calls:] if c[0] == "step"]


def test_whole_epoch_commands_leave_sub_stepping() -> None:
    session, driver, _ = make()
    start(session, driver)
    session.recorded(driver.generation, (record(1), record(2)))
    session.seek(1)
    session.sub_step()
    assert (session.cursor, session.phase) == (2, Phase.FORWARD)
    session.step()  # Right in the middle of an epoch finishes it
    assert (session.cursor, session.phase) == (2, None)
    session.sub_step_back()
    session.step_back()  # Left goes to the epoch before
    assert (session.cursor, session.phase) == (1, None)
    session.sub_step()
    session.play()
    assert session.phase is None and session.state is RunState.PLAYING


def test_a_sub_step_while_loading_waits_for_the_trainer() -> None:
    session, driver, _ = make(build_config("autograd"))
    session.sub_step()
    assert session.pending == Intent("substep", 1)
    start(session, driver)
    assert driver.calls[-1] == ("step", 1)
    session.recorded(driver.generation, (record(1),))
    assert (session.cursor, session.phase) == (1, Phase.FORWARD)


def test_sub_step_at_the_epoch_limit_says_so() -> None:
    session, driver, messages = make(build_config("numpy", {"epochs": 1}))
    start(session, driver)
    session.recorded(driver.generation, (record(1),))
    session.seek(1)
    session.sub_step_back()
    assert session.phase is Phase.UPDATE
    session.sub_step()
    assert "epoch limit" in messages[-1] and session.cursor == 1


def test_the_no_grad_lesson_pauses_with_torchs_words_and_blocks_training() -> None:
    session, driver, messages = make(build_config("autograd", {"update_with_grad": True}))
    start(session, driver)
    session.sub_step()
    session.failed(driver.generation, "RuntimeError: a leaf Variable that requires grad is "
                                      "being used in an in-place operation.")
    assert session.state is RunState.PAUSED and session.lesson_error is not None
    assert "Lesson: RuntimeError" in messages[-1]
    calls = len(driver.calls)
    session.play()
    session.step()
    assert driver.calls[calls:] == [] and "Switch the lesson off" in messages[-1]
    session.reset()
    assert session.lesson_error is None


def test_sub_steps_pressed_while_the_next_epoch_trains_are_each_one_phase() -> None:
    """Six quick presses from epoch 0 are epoch 2's loss (numpy: four phases an epoch), not
    six epochs (a newcomer's find: every press asked for another epoch and the cursor jumped to
    the newest)."""
    session, driver, _ = make()
    start(session, driver)
    for _ in range(6):
        session.sub_step()
    assert [c for c in driver.calls if c[0] == "step"] == [("step", 1)]
    session.recorded(driver.generation, (record(1),))  # epoch 1's four phases, then epoch 2
    assert (session.cursor, session.phase) == (1, Phase.UPDATE)
    assert [c for c in driver.calls if c[0] == "step"] == [("step", 1), ("step", 1)]
    session.recorded(driver.generation, (record(2),))
    assert (session.cursor, session.phase) == (2, Phase.LOSS)


def test_sub_steps_while_loading_add_up() -> None:
    session, driver, messages = make(build_config("autograd"))
    for _ in range(3):
        session.sub_step()
    assert session.pending == Intent("substep", 3) and "3 sub-steps" in messages[-1]
    start(session, driver)
    session.recorded(driver.generation, (record(1),))
    assert (session.cursor, session.phase) == (1, Phase.BACKWARD)


def test_back_cancels_a_sub_step_still_on_its_way() -> None:
    session, driver, _ = make()
    start(session, driver)
    session.sub_step()
    session.sub_step()
    session.sub_step_back()
    session.recorded(driver.generation, (record(1),))
    assert (session.cursor, session.phase) == (1, None)
