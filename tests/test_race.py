"""A race in the core: lanes trained together from the same start, each exactly as it would
train alone; the lead keeps the notebook's numbers; diverged lanes stop; config checks."""

from __future__ import annotations

import pytest

from gdviz.core import lane_process
from gdviz.core.config import ConfigError, build_config
from gdviz.core.lane_process import helper_is_worthwhile
from gdviz.core.race import OPTIMIZER_RACE, RaceTrack, RaceTrainer, lane_specs, lead_label
from gdviz.core.trainers import make_trainer
from gdviz.core.training import quiet_overflow


def alone(config, epochs):
    trainer = make_trainer(config)
    return [trainer.step() for _ in range(epochs)]


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_each_lane_trains_exactly_as_it_would_alone(trainer):
    config = build_config(trainer, {"race": OPTIMIZER_RACE, "lr": 0.02})
    race = make_trainer(config)
    assert isinstance(race, RaceTrainer)
    records = [race.step() for _ in range(6)]
    lead = alone(config.replace(race=()), 6)
    assert [r.params_after for r in records] == [r.params_after for r in lead]
    assert [r.loss for r in records] == [r.loss for r in lead]
    lanes = lane_specs(config)
    assert [lane.label for lane in lanes] == ["SGD + momentum 0.9", "Adam"]  # SGD leads
    for index, lane in enumerate(lanes):
        expected = alone(lane.config, 6)
        got = [r.lanes[index] for r in records]
        assert [r.params_after for r in got] == [r.params_after for r in expected]
        assert [r.grads for r in got] == [r.grads for r in expected]


def test_the_lanes_start_where_the_lead_starts_even_from_a_seed():
    config = build_config("nn", {"race": ("adam", "rmsprop"), "seed": 7})
    race = make_trainer(config)
    first = race.step()
    assert all(lane.params_before == first.params_before for lane in first.lanes)


def test_an_adam_lead_races_sgd_and_momentum_and_names_itself():
    config = build_config("nn", {"race": OPTIMIZER_RACE, "optimizer": "adam"})
    assert [lane.label for lane in lane_specs(config)] == ["SGD", "SGD + momentum 0.9"]
    assert lead_label(config) == "Adam (this run)"


def test_a_learning_rate_race_scales_the_leads_rate():
    config = build_config("numpy", {"race": ("lr×0.5", "lr×2"), "lr": 0.01})
    assert [(lane.label, lane.config.lr) for lane in lane_specs(config)] == [
        ("lr 0.005", 0.005), ("lr 0.02", 0.02)]
    assert lead_label(config) == "lr 0.01 (this run)"


def test_a_diverging_lane_stops_and_the_lead_goes_on():
    # lr 0.01 with the notebook gradient: critical lr 2/(2·N·Σx²/N) = 1/30; ×4 diverges.
    config = build_config("numpy", {"race": ("lr×4",), "lr": 0.01, "epochs": 200})
    race = make_trainer(config)
    with quiet_overflow():
        records = [race.step() for _ in range(200)]
    assert records[-1].is_finite
    stopped = [i for i, r in enumerate(records) if r.lanes[0] is None]
    assert stopped, "the lr×4 lane should have diverged"
    assert not records[stopped[0] - 1].lanes[0].is_finite  # its last record is the overflow
    track = RaceTrack(config, (0.0,))
    track.extend(tuple(records))
    assert len(track.histories[0]) == stopped[0]
    assert track.diverged_at(0) == stopped[0]


def test_race_entries_are_checked():
    with pytest.raises(ConfigError, match="unknown race entry 'sdg'"):
        build_config("numpy", {"race": ("sdg",)})
    config = build_config("numpy", {"race": ["adam", "adam", "sgd"]})
    assert config.race == ("adam", "sgd")
    assert config.replace(lr=0.02).race == ("adam", "sgd")  # settings changes keep the race


def without_tensors(record):
    """A record's numbers (its forward pass as a numpy array), lanes included."""
    lanes = record.lanes and tuple(lane and without_tensors(lane) for lane in record.lanes)
    return record._replace(predictions=tuple(record.y_pred.tolist()), lanes=lanes)


def raced(config, epochs, helper):
    race = RaceTrainer(config, helper=helper)
    with quiet_overflow():
        records = [race.step() for _ in range(epochs)]
    return race, [without_tensors(r) for r in records]


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
def test_a_helper_process_trains_the_lanes_to_the_same_numbers(trainer):
    """Torch lanes move to a helper process once the race is played; every record it sends
    equals the one the race would have stepped itself, float for float."""
    config = build_config(trainer, {"race": ("sgd", "momentum", "adam", "rmsprop", "lr×4"),
                                    "lr": 0.05, "epochs": 300})
    _, expected = raced(config, 300, helper=False)
    race = RaceTrainer(config, helper=True)
    with quiet_overflow():
        got = [race.step() for _ in range(2)]  # stepped here: the helper is still starting
        assert race.wait_for_helper(120), "the helper process never answered"
        got += [race.step() for _ in range(298)]
    assert race.lanes_from_helper and race.helper_failure is None
    assert [without_tensors(r) for r in got] == expected
    assert any(lane is None for lane in expected[-1].lanes), "a lane should have diverged"
    race.close()


def test_a_finished_races_helper_serves_the_next_race():
    """The helper outlives its race: the next race takes it, torch already imported, and an
    epoch the first race had asked for never reaches the second."""
    first = build_config("nn", {"race": ("adam",), "epochs": 5000})
    race = RaceTrainer(first, helper=True)
    race.step()
    assert race.wait_for_helper(120)
    helper = race._helper._helper
    for _ in range(40):
        race.step()  # the helper is asked for chunks well ahead
    race.close()
    second = build_config("nn", {"race": ("rmsprop", "momentum"), "lr": 0.03, "epochs": 300})
    _, expected = raced(second, 300, helper=False)
    race = RaceTrainer(second, helper=True)
    got = [race.step()]
    assert race._helper._helper is helper and helper.alive()
    assert race.wait_for_helper(30)
    got += [race.step() for _ in range(299)]
    assert race.lanes_from_helper and race.helper_failure is None
    assert [without_tensors(r) for r in got] == expected
    race.close()


def test_a_race_goes_on_by_itself_when_its_helper_dies():
    config = build_config("nn", {"race": ("adam", "rmsprop"), "epochs": 200})
    _, expected = raced(config, 200, helper=False)
    race = RaceTrainer(config, helper=True)
    got = [race.step()]
    assert race.wait_for_helper(120)
    got += [race.step() for _ in range(49)]
    assert race.lanes_from_helper
    helper = race._helper._helper
    helper.process.kill()  # as if the OS had ended it
    helper.process.wait()
    got += [race.step() for _ in range(150)]
    assert "helper process stopped" in race.helper_failure
    assert not race.lanes_from_helper
    assert [without_tensors(r) for r in got] == expected


def test_numpy_races_and_single_core_machines_use_no_helper(monkeypatch):
    numpy_lanes = tuple(lane.config for lane in lane_specs(
        build_config("numpy", {"race": OPTIMIZER_RACE})))
    torch_lanes = tuple(lane.config for lane in lane_specs(
        build_config("nn", {"race": OPTIMIZER_RACE})))
    assert not helper_is_worthwhile(numpy_lanes)
    monkeypatch.setattr(lane_process.os, "sched_getaffinity", lambda _pid: {0})
    assert not helper_is_worthwhile(torch_lanes)
    monkeypatch.setattr(lane_process.os, "sched_getaffinity", lambda _pid: {0, 1})
    assert helper_is_worthwhile(torch_lanes)
