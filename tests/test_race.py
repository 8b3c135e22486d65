"""A race in the core: lanes trained together from the same start, each exactly as it would
train alone; the lead keeps the notebook's numbers; diverged lanes stop; config checks."""

from __future__ import annotations

import pytest

from gdviz.core.config import ConfigError, build_config
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
