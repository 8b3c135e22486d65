"""One recorded epoch explained from what the trainer produced: forward, loss, gradient, update.

Everything comes from the history (the forward pass as the trainer computed it, the loss and
gradients as recorded, the parameters before and after) and everything trainer-specific from
the config's `TrainerSpec`: nothing here compares a trainer's name. Only a data set too large
for the history to keep its forward pass has it recomputed, in float32 as the trainers do, and
the explanation says so.
"""

from __future__ import annotations

import copy
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.optimizers import FloatOptimizer, TensorOptimizer
from gdviz.core.phases import Phase
from gdviz.core.records import OptimizerState

UPDATE_FORMULA = "θ ← θ − lr × dL/dθ"


@dataclass(frozen=True)
class ForwardPass:
    """The forward pass of one epoch, float32 like the trainers' (read-only arrays)."""

    x: np.ndarray
    y: np.ndarray
    y_pred: np.ndarray
    residuals: np.ndarray  # y_pred − y
    recomputed: bool  # True: not kept by the history, recomputed from the parameters


@dataclass(frozen=True)
class ParamStep:
    """One parameter's share of the epoch: its gradient, where it came from, its update."""

    name: str
    before: float
    grad: float  # as recorded
    # Per data point, the terms whose sum is `grad` (up to float32 rounding): the bars of a
    # "which points pull the parameter" chart.
    contributions: np.ndarray
    lr: float
    after: float  # as recorded

    @property
    def change(self) -> float:
        return self.after - self.before


@dataclass(frozen=True)
class Formulas:
    forward: str
    gradient: str  # for the config's gradient mode
    update: str = UPDATE_FORMULA


@dataclass(frozen=True)
class EpochExplanation:
    """Epoch `epoch` (1-based) of a run; epoch 0 is the start: no forward pass, no steps."""

    epoch: int
    epochs: int  # the run's planned number of epochs
    title: str
    param_names: tuple[str, ...]
    params_before: tuple[float, ...]
    params_after: tuple[float, ...]
    forward: ForwardPass | None
    loss: float | None  # as recorded: the loss at params_before
    steps: tuple[ParamStep, ...]
    formulas: Formulas
    gradient_scale: float  # how many times the MSE gradient the update uses
    note: str  # the spec's caveat about this trainer's numbers ("" when none)
    note_brief: str  # the same in a few words (the note itself when the spec has no brief)

    @property
    def is_start(self) -> bool:
        return self.epoch == 0


def explain_epoch(config: RunConfig, history: History, epoch: int) -> EpochExplanation:
    """Explain epoch `epoch` of `history` (0..len(history)), a run of `config`."""
    if not 0 <= epoch <= len(history):
        raise IndexError(f"epoch {epoch} is outside 0..{len(history)}")
    spec = config.spec
    formulas = Formulas(spec.forward_formula, spec.gradient_formula(config.gradient))
    before = history.params_at(max(epoch - 1, 0))
    after = history.params_at(epoch)
    forward: ForwardPass | None = None
    loss: float | None = None
    steps: tuple[ParamStep, ...] = ()
    if epoch > 0:
        row = history.row(epoch)
        forward = _forward_pass(config, history, epoch, before)
        loss = row["loss"]
        scale = config.gradient_scale()
        steps = tuple(
            ParamStep(name, before[i], row[f"grad_{name}"],
                      _contributions(name, forward, scale), config.lr, after[i])
            for i, name in enumerate(history.param_names))
    return EpochExplanation(epoch, config.epochs, run_title(config), history.param_names,
                            before, after,
                            forward, loss, steps, formulas, config.gradient_scale(), spec.note,
                            spec.note_brief or spec.note)


def run_title(config: RunConfig) -> str:
    """The trainer's title, with the optimizer when it is not the notebook's plain SGD:
    "PyTorch autograd + Adam", "torch.nn Linear + RMSprop" (in place of its SGD)."""
    title = config.spec.title
    optimizer = config.optimizer_config
    if optimizer.is_plain_sgd:
        return title
    name = optimizer.spec.title
    if optimizer.name == "sgd":
        name += " with momentum" if optimizer.get("momentum") else " with weight decay"
    if "SGD" in title:
        return title.replace("SGD", name)
    return f"{title} + {name}"


def recompute_forward(config: RunConfig, params: tuple[float, ...]) -> np.ndarray:
    """y_pred = w·x (+ b) in float32, as the trainers compute it from the float32 data."""
    x = np.asarray(config.x, dtype=np.float32)
    with np.errstate(all="ignore"):
        y_pred = np.float32(params[0]) * x
        if len(params) > 1:
            y_pred = y_pred + np.float32(params[1])
    return _read_only(y_pred)


def _forward_pass(config: RunConfig, history: History, epoch: int,
                  before: tuple[float, ...]) -> ForwardPass:
    kept = history.predictions(epoch)
    recomputed = kept is None
    y_pred = recompute_forward(config, before) if kept is None else _read_only(kept.copy())
    x = np.asarray(config.x, dtype=np.float32)
    y = np.asarray(config.y, dtype=np.float32)
    with np.errstate(all="ignore"):
        residuals = y_pred - y
    return ForwardPass(_read_only(x), _read_only(y), y_pred, _read_only(residuals), recomputed)


def _contributions(name: str, forward: ForwardPass, scale: float) -> np.ndarray:
    """Per-point terms of dL/d`name` times `scale`: 2·∂y_pred_i/∂θ·(y_pred_i − y_i)/N · scale.

    ∂y_pred_i/∂θ is x_i for the weight and 1 for the bias of the linear model f = w·x + b.
    """
    residuals = forward.residuals.astype(np.float64)
    slope = forward.x.astype(np.float64) if name == "w" else np.ones_like(residuals)
    with np.errstate(all="ignore"):
        terms = 2.0 * slope * residuals * (scale / residuals.size)
    return _read_only(terms)


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# --- an optimizer's update ----------------------------------------------------------------------
#
# An optimizer other than plain SGD updates from a state (momentum buffer, averages, step count)
# that every record carries but the History does not keep. The state of epoch k is replayed here
# from what the History does keep, the parameters before each update and the gradient the
# update used, through the trainer's own optimizer code (FloatOptimizer for the numpy cell,
# TensorOptimizer, bit-identical to torch.optim, for the torch cells): it equals the recorded
# state bit for bit (tests/test_gui_optimizer.py checks it for every optimizer and trainer).
# Replaying costs ~6 µs an epoch in float64 and ~100 µs a parameter in torch, so it goes forward
# in slices (a panel asks again until it is done) and keeps checkpoints to step back cheaply.

REPLAY_SLICE_S = 0.04  # the longest one call replays before it returns (the window stays live)
REPLAY_LIMIT_S = 6.0  # a state further away than this (estimated) is not replayed at all
_CHECKPOINTS = 256  # checkpoints kept; their interval doubles when they are full
_RECENT = 256  # states remembered by epoch (sub-stepping revisits a handful)
_CHUNK = 32  # epochs replayed between two looks at the clock


@dataclass(frozen=True)
class UpdateTerm:
    """One line of the update written out: `formula = value`."""

    formula: str
    value: float


@dataclass(frozen=True)
class FinalStep:
    """The parameter's own line: `name ← before − factor × numerator [/ denominator] = after`."""

    name: str
    formula: str  # "w ← w − lr/(1−β₁ᵗ)·m/denom"
    before: float  # the parameter as the update found it (AdamW: after its decay)
    factor: float  # lr, lr/(1−β₁ᵗ) or Adagrad's decayed lr
    numerator: float
    denominator: float | None
    after: float  # as recorded


@dataclass(frozen=True)
class OptimizerUpdate:
    """One epoch's update by an optimizer other than plain SGD, for the panels.

    `state` is the optimizer's state after the update (None while it is being replayed, or
    when it is too far to replay: `missing` says which, in words).
    """

    name: str
    title: str
    settings: Mapping[str, Any]  # every hyperparameter, torch's defaults filled in
    lr: float
    epoch: int
    steps: tuple[ParamStep, ...]
    state: OptimizerState | None
    missing: str = ""
    pending: bool = False  # the state is being replayed: ask again (explain_update) for it

    def values(self, param: int) -> dict[str, float]:
        """Parameter `param`'s state entries by key, and what the update computed from them:
        `grad` (with weight decay), `decayed` (AdamW), `direction` (SGD), `denom` (Adam),
        `avg` (RMSprop), `std` (Adagrad), `change` (after − before). Empty while the state is
        missing, but for `change`."""
        step = self.steps[param]
        values: dict[str, float] = {"change": step.after - step.before}
        if self.state is None:
            return values
        values.update((key, value) for key, _, value in self.state.entries(param))
        s = self.settings
        p, g = np.float64(step.before), np.float64(step.grad)
        with np.errstate(all="ignore"):
            decay = s.get("weight_decay", 0.0)
            if decay and self.name == "adamw":
                values["decayed"] = float(p * (1 - self.lr * decay))
            elif decay:
                g = g + decay * p
            values["grad"] = float(g)
            if self.name == "sgd" and "momentum_buffer" in values:
                buf = np.float64(values["momentum_buffer"])
                values["direction"] = float(g + s["momentum"] * buf if s["nesterov"] else buf)
            elif self.name in ("adam", "adamw"):
                second = values["max_exp_avg_sq" if s["amsgrad"] else "exp_avg_sq"]
                values["denom"] = float(np.sqrt(np.float64(second))
                                        / np.sqrt(np.float64(values["bias_correction2"]))
                                        + s["eps"])
            elif self.name == "rmsprop":
                variance = np.float64(values["square_avg"])
                if s["centered"]:
                    variance = variance - np.float64(values["grad_avg"]) ** 2
                values["avg"] = float(np.sqrt(variance) + s["eps"])
            elif self.name == "adagrad":
                values["std"] = float(np.sqrt(np.float64(values["sum"])) + s["eps"])
        return values

    def terms(self, param: int, grad_name: str) -> tuple[tuple[UpdateTerm, ...], FinalStep]:
        """The update of parameter `param` line by line, in the window's words (torch's
        symbols: μ momentum, τ dampening, λ weight decay, β₁ β₂ α ε, η lr decay); `grad_name`
        is what the cell calls its gradient (dw, w.grad)."""
        step = self.steps[param]
        n = step.name
        v = self.values(param)
        s = self.settings
        terms: list[UpdateTerm] = []
        g = grad_name
        before = step.before
        if s.get("weight_decay", 0.0):
            if self.name == "adamw":
                terms.append(UpdateTerm(f"{n} ← {n}·(1 − lr·λ)", v.get("decayed", math.nan)))
                before = v.get("decayed", math.nan)
            else:
                terms.append(UpdateTerm(f"g = {g} + λ·{n}", v.get("grad", math.nan)))
                g = "g"

        def add(formula: str, key: str) -> None:
            terms.append(UpdateTerm(formula, v.get(key, math.nan)))

        if self.name == "sgd":
            if self.epoch == 1:
                add(f"velocity ← {g}", "momentum_buffer")
            else:
                add(f"velocity ← μ·velocity + (1 − τ)·{g}", "momentum_buffer")
            direction = "velocity"
            if s["nesterov"]:
                add(f"d = {g} + μ·velocity", "direction")
                direction = "d"
            final = FinalStep(n, f"{n} ← {n} − lr·{direction}", before, self.lr,
                              v.get("direction", math.nan), None, step.after)
        elif self.name in ("adam", "adamw"):
            add(f"m ← β₁·m + (1 − β₁)·{g}", "exp_avg")
            add(f"v ← β₂·v + (1 − β₂)·{g}²", "exp_avg_sq")
            second = "v"
            if s["amsgrad"]:
                add("v_max ← max(v_max, v)", "max_exp_avg_sq")
                second = "v_max"
            add(f"denom = √({second}/(1 − β₂ᵗ)) + ε", "denom")
            correction = v.get("bias_correction1", math.nan)
            final = FinalStep(n, f"{n} ← {n} − lr/(1 − β₁ᵗ)·m/denom", before,
                              self.lr / correction if correction else math.nan,
                              v.get("exp_avg", math.nan), v.get("denom", math.nan), step.after)
        elif self.name == "rmsprop":
            add(f"v ← α·v + (1 − α)·{g}²", "square_avg")
            if s["centered"]:
                add(f"g_avg ← α·g_avg + (1 − α)·{g}", "grad_avg")
                add("avg = √(v − g_avg²) + ε", "avg")
            else:
                add("avg = √v + ε", "avg")
            if s["momentum"] > 0:
                add(f"velocity ← μ·velocity + {g}/avg", "momentum_buffer")
                final = FinalStep(n, f"{n} ← {n} − lr·velocity", before, self.lr,
                                  v.get("momentum_buffer", math.nan), None, step.after)
            else:
                final = FinalStep(n, f"{n} ← {n} − lr·{g}/avg", before, self.lr,
                                  v.get("grad", math.nan), v.get("avg", math.nan), step.after)
        else:  # adagrad
            factor = self.lr
            lr = "lr"
            if s["lr_decay"]:
                add("lr_t = lr/(1 + (t − 1)·η)", "clr")
                factor, lr = v.get("clr", math.nan), "lr_t"
            add(f"G ← G + {g}²", "sum")
            add("std = √G + ε", "std")
            final = FinalStep(n, f"{n} ← {n} − {lr}·{g}/std", before, factor,
                              v.get("grad", math.nan), v.get("std", math.nan), step.after)
        return tuple(terms), final

    def shared_terms(self) -> tuple[UpdateTerm, ...]:
        """What every parameter's update shares: the step count and Adam's bias corrections."""
        if self.state is None:
            return ()
        v = self.values(0)
        labels = {"step": "t", "bias_correction1": "1 − β₁ᵗ", "bias_correction2": "1 − β₂ᵗ"}
        return tuple(UpdateTerm(label, v[key]) for key, label in labels.items() if key in v)

    def settings_text(self) -> str:
        """The hyperparameters that make this update differ from plain SGD, e.g. "μ = 0.9"."""
        s, parts = self.settings, []
        symbols = {"momentum": "μ", "dampening": "τ", "weight_decay": "λ", "eps": "ε",
                   "alpha": "α", "lr_decay": "η", "initial_accumulator": "G₀"}
        for key, value in s.items():
            if key == "betas":
                parts.append(f"β₁ = {value[0]:g}, β₂ = {value[1]:g}")
            elif isinstance(value, bool):
                if value:
                    parts.append({"nesterov": "Nesterov", "amsgrad": "AMSGrad",
                                  "centered": "centered"}[key])
            elif value or key in ("eps",):
                parts.append(f"{symbols[key]} = {value:g}")
        return ", ".join(parts)


def explain_update(config: RunConfig, history: History, epoch: int,
                   budget_s: float = REPLAY_SLICE_S,
                   explanation: EpochExplanation | None = None) -> OptimizerUpdate | None:
    """Epoch `epoch`'s update by `config`'s optimizer; None for plain SGD and for epoch 0.

    The state is replayed (see above) for at most `budget_s` seconds in this call: when that
    is not enough, `state` is None and `missing` says so; the next call goes on from there.
    `explanation`: the epoch's, when the caller has it already.
    """
    optimizer = config.optimizer_config
    if optimizer.is_plain_sgd or not 1 <= epoch <= len(history):
        return None
    if explanation is None or explanation.epoch != epoch:
        explanation = explain_epoch(config, history, epoch)
    state: OptimizerState | None = None
    missing = ""
    pending = False
    if optimizer.state_keys():
        replay = _replay_of(config, history)
        state = replay.state(history, epoch, budget_s)
        if state is None:
            missing = replay.why_missing(epoch)
            pending = not replay.too_far
    return OptimizerUpdate(optimizer.name, optimizer.spec.title, optimizer.as_dict(), config.lr,
                           epoch, explanation.steps, state, missing, pending)


def shows_update(config: RunConfig, history: History | None, epoch: int,
                 phase: Phase | None) -> bool:
    """Whether (epoch, phase) shows an optimizer's update: past its update phase (or the whole
    epoch) of a recorded epoch, with an optimizer other than plain SGD."""
    if history is None or config.optimizer_config.is_plain_sgd or not 1 <= epoch <= len(history):
        return False
    phases = config.spec.phases
    return phase is None or phases.index(phase) >= phases.index(Phase.UPDATE)


def replay_progress(config: RunConfig, history: History) -> int:
    """How many epochs of `history` have their optimizer state replayed (a panel's retry key)."""
    replay = _replays.get(history)
    return 0 if replay is None or replay.config != config else replay.done


class _Replay:
    """The optimizer's state along one History, replayed forward with checkpoints."""

    def __init__(self, config: RunConfig, history: History) -> None:
        self.config = config  # (no reference to the History: it is this replay's weak key)
        self.names = history.param_names
        self.tensor = config.spec.update_style != "float"
        optimizer = config.optimizer_config
        self.keys, self.labels = optimizer.state_keys(), optimizer.state_labels()
        if self.tensor:
            import torch

            self.live: list[Any] = [TensorOptimizer(optimizer, config.lr) for _ in self.names]
            self._params = [torch.zeros((), dtype=torch.float32) for _ in self.names]
            self._grads = [torch.zeros((), dtype=torch.float32) for _ in self.names]
        else:
            self.live = [FloatOptimizer(optimizer, config.lr) for _ in self.names]
        self.done = 0  # epochs replayed by `live`
        self.interval = 64
        self.checkpoints: dict[int, list[Any]] = {0: copy.deepcopy(self.live)}
        self.recent: OrderedDict[int, OptimizerState] = OrderedDict()
        self.seconds_per_epoch: float | None = None
        self.too_far = False

    def state(self, history: History, epoch: int, budget_s: float) -> OptimizerState | None:
        found = self.recent.get(epoch)
        if found is not None:
            self.recent.move_to_end(epoch)
            return found
        if epoch > self.done:
            if self._estimate(epoch - self.done) > REPLAY_LIMIT_S:
                self.too_far = True
                return None
            self.too_far = False
            self._forward(history, self.live, self.done, epoch, budget_s, advance=True)
            return self.recent.get(epoch)
        start = max(e for e in self.checkpoints if e < epoch)
        optimizers = copy.deepcopy(self.checkpoints[start])
        self._forward(history, optimizers, start, epoch, math.inf, advance=False)
        return self.recent.get(epoch)

    def why_missing(self, epoch: int) -> str:
        if self.too_far:
            return (f"The optimizer's state is not kept: replaying it from the recorded "
                    f"gradients up to epoch {epoch} would take too long "
                    f"(replayed up to epoch {self.done}).")
        return (f"Replaying the optimizer's state from the recorded gradients… "
                f"(epoch {self.done} of {epoch})")

    def _estimate(self, epochs: int) -> float:
        if self.seconds_per_epoch is None:
            return 0.0
        return epochs * self.seconds_per_epoch

    def _forward(self, history: History, optimizers: list[Any], start: int, stop: int,
                 budget_s: float, advance: bool) -> None:
        """Replay epochs start+1 … stop (fewer if the budget runs out while advancing)."""
        befores = [history.trajectory(name, stop)[start:stop] for name in self.names]
        grads = [history.column(f"grad_{name}", stop)[start:stop] for name in self.names]
        began = time.perf_counter()
        epoch = start
        keep_from = stop - _RECENT // 4  # the states near the target are worth remembering
        while epoch < stop:
            end = min(stop, epoch + _CHUNK)
            for e in range(epoch, end):
                state = self._step(optimizers, float_values(befores, e - start),
                                   float_values(grads, e - start))
                if e + 1 > keep_from:
                    self._remember(e + 1, state)
                if advance and (e + 1) % self.interval == 0:
                    self._checkpoint(e + 1, optimizers)
            elapsed = time.perf_counter() - began
            if advance:
                self.done = end
                self.seconds_per_epoch = elapsed / (end - start)
            epoch = end
            if elapsed > budget_s and epoch < stop:
                return

    def _step(self, optimizers: list[Any], befores: list[float],
              grads: list[float]) -> OptimizerState:
        rows: list[tuple[float, ...]] = []
        if self.tensor:
            for optimizer, param, grad_tensor, before, grad in zip(
                    optimizers, self._params, self._grads, befores, grads, strict=True):
                param.fill_(before)
                grad_tensor.fill_(grad)
                optimizer.step(param, grad_tensor)
                rows.append(optimizer.values())
        else:
            for optimizer, before, grad in zip(optimizers, befores, grads, strict=True):
                optimizer.step(before, grad)
                rows.append(optimizer.state().values[0])
        return OptimizerState(self.keys, self.labels, tuple(rows))

    def _remember(self, epoch: int, state: OptimizerState) -> None:
        self.recent[epoch] = state
        self.recent.move_to_end(epoch)
        if len(self.recent) > _RECENT:
            self.recent.popitem(last=False)

    def _checkpoint(self, epoch: int, optimizers: list[Any]) -> None:
        self.checkpoints[epoch] = copy.deepcopy(optimizers)
        if len(self.checkpoints) > _CHECKPOINTS:  # twice as far apart, half as many
            self.interval *= 2
            self.checkpoints = {e: c for e, c in self.checkpoints.items()
                                if e % self.interval == 0}


def float_values(columns: list[np.ndarray], index: int) -> list[float]:
    return [float(column[index]) for column in columns]


# One replay per History (a run); a new config for the same History starts anew.
_replays: weakref.WeakKeyDictionary[History, _Replay] = weakref.WeakKeyDictionary()


def _replay_of(config: RunConfig, history: History) -> _Replay:
    replay = _replays.get(history)
    if replay is None or replay.config != config:
        replay = _replays[history] = _Replay(config, history)
    return replay
