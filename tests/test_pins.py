"""Pinned runs in the core: frozen copies, labels naming what differs, comparability, limits."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.config import build_config
from gdviz.core.history import History
from gdviz.core.pins import MAX_PINS, PIN_COLORS, PinBoard, PinError, describe_difference
from gdviz.core.session import landscape_for
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train


def trained(config):
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), len(config.x))
    train(trainer, config.epochs, on_record=history.append)
    return history


def test_a_pin_copies_the_run_and_stays_as_it_was():
    config = build_config("numpy", {"epochs": 5})
    history = trained(config)
    board = PinBoard()
    pin = board.pin(config, history, landscape_for(config))
    assert pin.epochs == 5
    assert list(pin.trajectory("w")) == list(history.trajectory("w"))
    landscape = landscape_for(config)
    # L(θ_k) for k = 0..5: the records' losses, then the newest from the closed form.
    assert list(pin.loss_after[:5]) == list(history.column("loss"))
    assert pin.loss_after[5] == pytest.approx(float(landscape.loss(history.params_at(5)[0])))
    before = pin.trajectory("w").copy()
    history.append(_one_more(config))
    assert np.array_equal(pin.trajectory("w"), before)  # the history moved on, the pin did not
    with pytest.raises(ValueError):
        pin.trajectory("w")[0] = 1.0  # read-only


def _one_more(config):
    trainer = make_trainer(config)
    return trainer.step()


@pytest.mark.parametrize(("changes", "expected"), [
    ({"lr": 0.03}, "lr 0.01"),
    ({"gradient": "mean"}, "gradient notebook"),
    ({"w0": 1.5}, "w0 0"),
])
def test_the_label_names_what_differs_from_the_current_run(changes, expected):
    pinned = build_config("numpy")
    current = pinned.replace(**changes)
    assert describe_difference(pinned, current) == expected


def test_the_label_names_the_trainer_and_says_same_settings_when_nothing_differs():
    pinned = build_config("autograd", {"lr": 0.02})
    current = build_config("numpy", {"lr": 0.02})
    assert describe_difference(pinned, current).startswith("autograd")
    board = PinBoard()
    pin = board.pin(pinned, trained(pinned.replace(epochs=3)), landscape_for(pinned))
    assert pin.label(pinned) == "same settings"


def test_pins_are_comparable_only_over_the_same_parameters_and_data():
    numpy_config = build_config("numpy", {"epochs": 3})
    board = PinBoard()
    pin = board.pin(numpy_config, trained(numpy_config), landscape_for(numpy_config))
    assert pin.comparable_with(build_config("autograd"))  # w only, same data
    assert not pin.comparable_with(build_config("nn"))  # (w, b): another surface
    assert not pin.comparable_with(build_config("numpy", {"y": (1.0, 2.0, 3.0, 5.0)}))
    assert board.comparable(build_config("nn")) == ()


def test_at_most_eight_pins_each_its_own_colour_and_unpinning_frees_one():
    board = PinBoard()
    configs = [build_config("numpy", {"epochs": 2, "lr": 0.001 * (k + 1)}) for k in range(9)]
    for config in configs[:MAX_PINS]:
        board.pin(config, trained(config), landscape_for(config))
    assert len({p.color for p in board}) == MAX_PINS
    with pytest.raises(PinError, match="unpin one first"):
        board.pin(configs[8], trained(configs[8]), landscape_for(configs[8]))
    freed = board.unpin(3).color
    assert board.pin(configs[8], trained(configs[8]), landscape_for(configs[8])).color == freed
    board.clear()
    assert len(board) == 0
    assert set(PIN_COLORS) >= {p.color for p in board}


def test_the_same_run_twice_or_a_run_of_no_epochs_is_not_pinned():
    config = build_config("numpy", {"epochs": 3})
    board = PinBoard()
    board.pin(config, trained(config), landscape_for(config))
    with pytest.raises(PinError, match="pinned already"):
        board.pin(config, trained(config), landscape_for(config))
    empty = History(("w",), (0.0,), 4)
    with pytest.raises(PinError, match="step or play the run first"):
        board.pin(config.replace(lr=0.02), empty, landscape_for(config))


def test_nothing_to_pin_before_the_run_starts():
    config = build_config("numpy")
    with pytest.raises(PinError, match="nothing to pin"):
        PinBoard().pin(config, None, landscape_for(config))


def test_the_label_names_the_optimizer_not_settings_it_does_not_have():
    pinned = build_config("nn", {"optimizer": "sgd", "momentum": 0.9})
    current = build_config("nn", {"optimizer": "adam"})
    assert describe_difference(pinned, current) == "SGD, momentum 0.9"
    assert describe_difference(current, pinned) == "Adam"
    tuned = build_config("nn", {"optimizer": "adam", "betas": (0.8, 0.99)})
    assert describe_difference(tuned, pinned) == "Adam, betas 0.8,0.99"
    assert describe_difference(tuned, current) == "betas 0.8,0.99"
