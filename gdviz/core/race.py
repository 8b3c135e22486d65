"""A race: several optimizers (or learning rates) trained together from the same start.

The run's own configuration is the lead lane: its trainer is the usual one, so every number the
window shows of it stays the notebook's. The other lanes are the race's entries that differ
from it, each a full configuration of its own (`RunConfig.replace`), stepped in the same call
as the lead, epoch by epoch. Their records ride on the lead's (`StepRecord.lanes`) through the
same one-way flow into the session, which keeps a History per lane.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.lane_process import LaneProcess, helper_is_worthwhile, step_lanes
from gdviz.core.records import StepRecord

if TYPE_CHECKING:
    from gdviz.core.trainers import Trainer

# What each race entry changes of the lead's configuration; "lr×k" scales its learning rate.
ENTRIES: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    "sgd": {"optimizer": "sgd", "momentum": 0.0, "nesterov": False},
    "momentum": {"optimizer": "sgd", "momentum": 0.9, "nesterov": False},
    "nesterov": {"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
    "adam": {"optimizer": "adam"},
    "adamw": {"optimizer": "adamw"},
    "rmsprop": {"optimizer": "rmsprop"},
    "adagrad": {"optimizer": "adagrad"},
    "lr×0.25": {"lr_factor": 0.25},
    "lr×0.5": {"lr_factor": 0.5},
    "lr×2": {"lr_factor": 2.0},
    "lr×4": {"lr_factor": 4.0},
})
ENTRY_TITLES: Mapping[str, str] = MappingProxyType({
    "sgd": "SGD", "momentum": "SGD + momentum 0.9", "nesterov": "SGD + Nesterov 0.9",
    "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
    "lr×0.25": "learning rate ×¼", "lr×0.5": "learning rate ×½", "lr×2": "learning rate ×2",
    "lr×4": "learning rate ×4",
})
OPTIMIZER_RACE = ("sgd", "momentum", "adam")  # lilipads' classic three, on the notebook's data
LR_RACE = ("lr×0.5", "lr×2", "lr×4")
MAX_LANES = 8  # the lead and up to seven others
# The lanes' colours: none of the lead's (orange path, blue loss and w, pink b, green
# optimum), so a lane is never taken for a curve of this run.
LANE_COLORS = ("#332288", "#117733", "#AA4499", "#44AA99", "#999933", "#882255", "#6699CC")


@dataclass(frozen=True)
class LaneSpec:
    """One lane other than the lead: its configuration and what to call it."""

    entry: str
    config: RunConfig
    label: str
    color: str


def lane_specs(config: RunConfig) -> tuple[LaneSpec, ...]:
    """The lanes raced beside the lead (`config` itself): the race's entries that would train
    differently from it, each from the same start, data and epochs."""
    if not config.race:
        return ()
    lead = config.replace(race=())
    lanes: list[LaneSpec] = []
    seen = {_training_key(lead)}
    for entry in config.race:
        lane = lane_config(lead, entry)
        key = _training_key(lane)
        if key in seen:
            continue  # the lead already runs it (SGD in an SGD-led race)
        seen.add(key)
        lanes.append(LaneSpec(entry, lane, lane_label(entry, lane),
                              LANE_COLORS[len(lanes) % len(LANE_COLORS)]))
    return tuple(lanes)


def lane_config(lead: RunConfig, entry: str) -> RunConfig:
    """The lead's configuration with `entry` applied; its lessons are the lead's alone."""
    changes = dict(ENTRIES[entry])
    factor = changes.pop("lr_factor", None)
    if factor is not None:
        changes["lr"] = lead.lr * factor
    return lead.replace(race=(), forget_zero_grad=False, update_with_grad=False, **changes)


def lane_label(entry: str, lane: RunConfig) -> str:
    if "lr_factor" in ENTRIES[entry]:
        return f"lr {lane.lr:g}"
    return ENTRY_TITLES[entry]


def lead_label(config: RunConfig) -> str:
    """The lead lane in a legend: its optimizer, or its learning rate in a learning-rate race."""
    if config.race and all("lr_factor" in ENTRIES[e] for e in config.race):
        return f"lr {config.lr:g} (this run)"
    optimizer = config.optimizer_config
    title = config.optimizer_spec.title
    if optimizer.is_plain_sgd:
        title = "SGD"
    elif config.optimizer == "sgd" and config.momentum:
        title = f"SGD + {'Nesterov' if config.nesterov else 'momentum'} {config.momentum:g}"
    return f"{title} (this run)"


def _training_key(config: RunConfig) -> tuple[Any, ...]:
    return (config.lr, config.optimizer_config)


class RaceTrainer:
    """The lead's trainer and each lane's, stepped together; the lead's record carries the
    lanes' (None for a lane that has diverged: it stops where it left the numbers).

    Torch lanes train ahead in a helper process when there is a core for it
    (gdviz.core.lane_process), asked for from the start: a race is built when it is chosen or
    reset, usually a while before it is played. Until the helper answers, and if it ever
    fails, the race steps its own copies of the lanes. Either way the records are the same.
    """

    def __init__(self, config: RunConfig, helper: bool | None = None) -> None:
        """`helper`: None uses one when it pays (torch lanes, two cores); False never."""
        lead_config = config.replace(race=())
        self.lead = lead_config.spec.build(lead_config)
        self.lanes = lane_specs(config)
        configs = tuple(lane.config for lane in self.lanes)
        # The lanes stepped here; None once the helper has taken over.
        self._trainers: list[Trainer] | None = [c.spec.build(c) for c in configs]
        self._alive = [True] * len(configs)
        self._helper: LaneProcess | None = None
        self._failure: str | None = None
        if helper_is_worthwhile(configs) if helper is None else helper and bool(configs):
            try:
                self._helper = LaneProcess(configs, config.epochs)
            except OSError as error:  # no process to be had: the race goes on here
                self._failure = f"no helper process for the race: {error}"
        self.kind = self.lead.kind
        self.param_names = self.lead.param_names

    @property
    def epoch(self) -> int:
        epoch: int = self.lead.epoch
        return epoch

    @epoch.setter
    def epoch(self, value: int) -> None:
        self.lead.epoch = value

    @property
    def helper_failure(self) -> str | None:
        """Why the helper process stopped helping, if it did (the race went on without it)."""
        return self._failure

    @property
    def lanes_from_helper(self) -> bool:
        """True once the helper has taken over and the race steps no lanes itself."""
        return self._trainers is None

    def wait_for_helper(self, timeout: float) -> bool:
        """Wait until the helper has answered; False if there is none or it did not answer in
        time. For tests and benchmarks: a race itself never waits for it."""
        return self._helper is not None and self._helper.wait_ready(timeout)

    def params(self) -> tuple[float, ...]:
        params: tuple[float, ...] = self.lead.params()
        return params

    def predict(self, x: float) -> float:
        predicted: float = self.lead.predict(x)
        return predicted

    def close(self) -> None:
        """Stop the helper process now (it also stops once this race is garbage)."""
        if self._helper is not None:
            self._helper.close()

    def step(self) -> StepRecord:
        record: StepRecord = self.lead.step()
        return record._replace(lanes=self._lane_records(record.epoch))

    def _lane_records(self, epoch: int) -> tuple[StepRecord | None, ...]:
        helper = self._helper
        if helper is not None:
            records = helper.records(epoch)
            if records is not None:
                self._trainers = None  # taken over: from now on the helper's records only
                return records
            if helper.failure is not None:
                self._helper, self._failure = None, helper.failure
                if self._trainers is None:  # it failed after taking over: catch up here
                    self._trainers = self._replayed(epoch - 1)
        return self._step_in_process()

    def _step_in_process(self) -> tuple[StepRecord | None, ...]:
        assert self._trainers is not None
        return step_lanes(self._trainers, self._alive)

    def _replayed(self, epochs: int) -> list[Trainer]:
        """The lanes' trainers rebuilt and stepped `epochs` times, as the helper had them."""
        self._trainers = [lane.config.spec.build(lane.config) for lane in self.lanes]
        self._alive = [True] * len(self.lanes)
        for _ in range(epochs):
            self._step_in_process()
        return self._trainers


class RaceTrack:
    """The lanes' histories in the session, fed by the lead's records."""

    def __init__(self, config: RunConfig, initial_params: tuple[float, ...]) -> None:
        self.lanes = lane_specs(config)
        self.histories = tuple(History(config.param_names, initial_params, len(config.x))
                               for _ in self.lanes)

    def extend(self, records: tuple[StepRecord, ...]) -> None:
        for index, history in enumerate(self.histories):
            lane_records = [r.lanes[index] for r in records
                            if r.lanes is not None and r.lanes[index] is not None]
            history.extend(lane_records)  # type: ignore[arg-type]  # Nones filtered out

    def diverged_at(self, index: int) -> int | None:
        """The epoch a lane left the finite numbers, or None while it goes on."""
        history = self.histories[index]
        if not len(history):
            return None
        last = history.row(len(history))
        finite = all(v - v == 0.0 for k, v in last.items() if not k.startswith("grad_"))
        return None if finite else len(history)
