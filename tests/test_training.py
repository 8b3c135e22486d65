"""train(): history, divergence, and the overflow guard being reusable."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

from gdviz.core.config import build_config
from gdviz.core.trainers import make_trainer
from gdviz.core.training import new_history, quiet_overflow, train


def test_train_can_run_many_times_in_one_process() -> None:
    # np.errstate objects are single-use under NumPy 2: a shared one broke the second train().
    trainer = make_trainer(build_config(trainer="numpy"))
    history = new_history(trainer)
    for _ in range(3):
        assert train(trainer, 4, history).diverged_at is None
    assert len(history) == 12 and trainer.epoch == 12


def test_quiet_overflow_nests_and_restores() -> None:
    before = np.geterr()
    with quiet_overflow:
        with quiet_overflow:
            assert np.geterr()["over"] == "ignore"
        assert np.geterr()["over"] == "ignore"
    assert np.geterr() == before
    with quiet_overflow():  # the call form gives a fresh np.errstate too
        assert np.geterr()["invalid"] == "ignore"


def test_quiet_overflow_in_two_threads() -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                with quiet_overflow:
                    np.float32(3e38) * np.float32(10)
        except BaseException as error:  # reported to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_divergence_stops_at_first_non_finite_epoch(trainer: str) -> None:
    config = build_config(trainer=trainer, explicit={"lr": 1.0, "epochs": 1000})
    model = make_trainer(config)
    history = new_history(model)
    seen: list[int] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # overflow must not leak out as RuntimeWarning
        outcome = train(model, config.epochs, history, on_record=lambda r: seen.append(r.epoch))
    assert outcome.diverged_at is not None and outcome.diverged_at == outcome.epochs_run
    assert seen == list(range(1, outcome.diverged_at + 1))
    assert len(history) == outcome.diverged_at
    assert np.isfinite(history.column("loss")[:-1]).all()
    last = history.row(outcome.diverged_at)
    assert not all(np.isfinite([last["loss"], last["w"]]))


@pytest.mark.parametrize("trainer_name", ["numpy", "autograd", "nn"])
def test_records_carry_the_forward_pass_read_only_and_unchanged_by_later_steps(
    trainer_name: str,
) -> None:
    config = build_config(trainer_name, {"x": (1.0, 2.0, 3.0, 4.0), "y": (2.0, 4.0, 6.0, 8.0)})
    trainer = make_trainer(config)
    records = [trainer.step() for _ in range(3)]
    x = np.array(config.x, dtype=np.float32)
    for record in records:
        w = np.float32(record.params_before[0])
        b = np.float32(record.params_before[1]) if len(record.params_before) > 1 else 0
        y_pred = record.y_pred
        assert y_pred.shape == (4,) and not y_pred.flags.writeable
        np.testing.assert_allclose(y_pred, w * x + b, rtol=1e-6)
    assert not np.array_equal(records[0].y_pred, records[2].y_pred)
