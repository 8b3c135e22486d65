"""The optimizers against torch.optim itself, on hidden-style random data and hyperparameters.

- autograd: gdviz's update written out with torch operations is bit-identical to
  `torch.optim.<Name>` (float32 through the trainer, float64 through the same update code);
- nn: the trainer is bit-identical to a bare torch.optim loop, for the weight and the bias;
- numpy: the float64 update is within rtol 1e-12 of torch.optim in float64 (torch fuses
  multiply-adds, so exact equality is not reachable).
Plain SGD stays the notebook's own update line in every trainer.
"""

from __future__ import annotations

import inspect
import math
import subprocess
import sys
from dataclasses import asdict
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gdviz.core.config import ConfigError, RunConfig, build_config, describe_change
from gdviz.core.optimizers import (
    HYPERPARAMETERS,
    OPTIMIZER_NAMES,
    OPTIMIZERS,
    STATE_ENTRIES,
    FloatOptimizer,
    OptimizerConfig,
    TensorOptimizer,
    next_step,
    optimizer_code,
    update_code,
)
from gdviz.core.records import OptimizerState, StepRecord
from gdviz.core.registry import SPECS, TRAINERS
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train

SOME = settings(max_examples=20, deadline=None)

# --- strategies ---------------------------------------------------------------------------------

coordinate = st.floats(-4.0, 4.0, allow_nan=False, width=32)
small = st.one_of(st.just(0.0), st.floats(0.0, 0.5))


@st.composite
def points(draw: st.DrawFn) -> tuple[tuple[float, ...], tuple[float, ...]]:
    n = draw(st.integers(2, 8))
    x = tuple(draw(st.lists(coordinate, min_size=n, max_size=n)))
    y = tuple(draw(st.lists(coordinate, min_size=n, max_size=n)))
    return x, y


@st.composite
def hyperparameters(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """Settings in sensible ranges, torch's default left out about half the time."""
    chosen: dict[str, Any] = {}

    def maybe(key: str, strategy: st.SearchStrategy[Any]) -> None:
        if draw(st.booleans()):
            chosen[key] = draw(strategy)

    if name == "sgd":
        maybe("momentum", st.one_of(st.just(0.0), st.floats(0.0, 0.95)))
        maybe("dampening", st.one_of(st.just(0.0), st.floats(0.0, 1.0)))
        maybe("weight_decay", small)
        if chosen.get("momentum", 0.0) > 0 and chosen.get("dampening", 0.0) == 0:
            maybe("nesterov", st.booleans())
    elif name in ("adam", "adamw"):
        maybe("betas", st.tuples(st.floats(0.0, 0.99), st.floats(0.0, 0.9999)))
        maybe("eps", st.one_of(st.just(0.0), st.floats(1e-12, 0.1)))
        maybe("weight_decay", small)
        maybe("amsgrad", st.booleans())
    elif name == "rmsprop":
        # A smoothing constant: torch's 0.99, typically 0.9 to 0.999. Far below that, centered
        # RMSprop's variance square_avg - grad_avg**2 cancels to a few ulps and one ulp of
        # torch's sqrt (not correctly rounded) shows: no float64 re-implementation agrees there.
        maybe("alpha", st.floats(0.5, 1.0))
        maybe("eps", st.one_of(st.just(0.0), st.floats(1e-12, 0.1)))
        maybe("weight_decay", small)
        maybe("momentum", st.one_of(st.just(0.0), st.floats(0.0, 0.9)))
        maybe("centered", st.booleans())
    else:
        maybe("lr_decay", st.one_of(st.just(0.0), st.floats(0.0, 1.0)))
        maybe("weight_decay", small)
        maybe("initial_accumulator", st.floats(0.0, 2.0))
        maybe("eps", st.one_of(st.just(0.0), st.floats(1e-12, 0.1)))
    return chosen


def learning_rates(name: str) -> st.SearchStrategy[float]:
    # SGD's step grows with the gradient (up to ~8 x 32 here): small rates keep most runs finite;
    # the adaptive optimizers step about lr per epoch whatever the gradient.
    return st.floats(1e-4, 0.01) if name == "sgd" else st.floats(1e-3, 0.5)


def run_config(trainer: str, name: str, data: Any, lr: float, extra: dict[str, Any],
               epochs: int, **more: Any) -> RunConfig:
    x, y = data
    return build_config(trainer, {"x": x, "y": y, "lr": lr, "epochs": epochs,
                                  "optimizer": name, **extra, **more})


def trainer_records(config: RunConfig) -> list[StepRecord]:
    records: list[StepRecord] = []
    train(make_trainer(config), config.epochs, on_record=records.append)
    return records


def torch_optimizer(config: RunConfig, params: Any) -> torch.optim.Optimizer:
    """torch.optim.<Name> built here from the config's plain values, not through gdviz."""
    classes = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW,
               "rmsprop": torch.optim.RMSprop, "adagrad": torch.optim.Adagrad}
    names = {"initial_accumulator": "initial_accumulator_value"}
    kwargs = {names.get(key, key): getattr(config, key) for key in asdict(config)
              if key in HYPERPARAMETERS and getattr(config, key) is not None}
    optimizer: torch.optim.Optimizer = classes[config.optimizer](params, lr=config.lr, **kwargs)
    return optimizer


def torch_state(config: RunConfig, optimizer: torch.optim.Optimizer,
                param: torch.Tensor) -> tuple[float, ...]:
    """torch.optim's state of `param`, in the order gdviz records it."""
    state = optimizer.state[param]
    values = []
    for key in config.optimizer_config.state_keys():
        if key == "bias_correction1":
            values.append(1 - config.betas[0] ** state["step"].item())  # type: ignore[index]
        elif key == "bias_correction2":
            values.append(1 - config.betas[1] ** state["step"].item())  # type: ignore[index]
        elif key == "clr":
            values.append(config.lr / (1 + (state["step"].item() - 1) * config.lr_decay))
        else:
            values.append(state[key].item())
    return tuple(values)


def assert_same(got: list[Any], expected: list[Any]) -> None:
    """Bit for bit (nan equal to nan), epoch by epoch."""
    np.testing.assert_array_equal(np.array(got, dtype=np.float64),
                                  np.array(expected, dtype=np.float64))


# --- the registry -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_defaults_are_torchs(name: str) -> None:
    spec = OPTIMIZERS[name]
    torch_class = getattr(torch.optim, spec.torch_class)
    signature = inspect.signature(torch_class.__init__).parameters
    assert signature["lr"].default == spec.torch_lr_default
    for key, default in spec.defaults.items():
        assert signature[HYPERPARAMETERS[key].torch_name].default == default, key
    config = build_config("numpy", {"optimizer": name})
    assert config.optimizer_config.as_dict() == dict(spec.defaults)
    assert config.lr == 0.01  # the run keeps the notebook's lr, as the cell passes it


def test_every_trainer_supports_every_optimizer() -> None:
    assert all(spec.optimizers == OPTIMIZER_NAMES for spec in SPECS.values())
    assert {spec.update_style for spec in SPECS.values()} == {"float", "tensor", "optim"}


def test_every_state_entry_has_a_short_label() -> None:
    for name in OPTIMIZER_NAMES:
        for flags in ({}, {"amsgrad": True, "centered": True, "momentum": 0.5,
                           "lr_decay": 0.1}):
            given = {k: v for k, v in flags.items() if k in OPTIMIZERS[name].defaults}
            config = OptimizerConfig.of(name, **given)
            assert config.state_labels() == tuple(STATE_ENTRIES[k].label
                                                  for k in config.state_keys())
    assert all(0 < len(entry.label) <= 8 and entry.description
               for entry in STATE_ENTRIES.values())


def test_step_count_saturates_like_torchs_float32_step() -> None:
    step_t = torch.tensor(2.0**24 - 2, dtype=torch.float32)
    step = 2.0**24 - 2
    for _ in range(4):
        step_t += 1
        step = next_step(step)
        assert step == step_t.item()
    assert step == 2.0**24


# --- autograd: bit-identical to torch.optim -----------------------------------------------------

def bare_autograd(config: RunConfig, epochs: int, zero_grad: bool = True) -> tuple[list, list]:
    """The notebook's autograd cell with torch.optim.<Name> doing the update."""
    x = torch.tensor(config.x, dtype=torch.float32)
    y = torch.tensor(config.y, dtype=torch.float32)
    w = torch.tensor(float(config.w0 or 0.0), dtype=torch.float32, requires_grad=True)
    optimizer = torch_optimizer(config, [w])
    ws, states = [], []
    for _ in range(epochs):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        if config.optimizer_config.is_plain_sgd:  # the notebook's own line
            with torch.no_grad():
                w -= config.lr * w.grad
        else:
            optimizer.step()
        if zero_grad:
            optimizer.zero_grad()
        ws.append(w.item())
        states.append(torch_state(config, optimizer, w))
    return ws, states


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
@SOME
@given(data=st.data())
def test_autograd_float32_is_bit_identical_to_torch_optim(name: str, data: st.DataObject) -> None:
    extra = data.draw(hyperparameters(name))
    config = run_config("autograd", name, data.draw(points()), data.draw(learning_rates(name)),
                        extra, data.draw(st.integers(1, 40)), w0=data.draw(coordinate))
    records = trainer_records(config)
    ws, states = bare_autograd(config, len(records))
    assert_same([r.params_after[0] for r in records], ws)
    if config.optimizer_config.state_keys():
        assert_same([r.optimizer_state.values[0] for r in records], states)  # type: ignore[union-attr]
    else:
        assert all(r.optimizer_state is None for r in records)


def lockstep_float64(config: RunConfig, epochs: int) -> None:
    """gdviz's tensor update and torch.optim, each on its own float64 w, from the same start.

    The trainer itself stays float32 as the notebook; this runs its update code in float64.
    """
    x = torch.tensor(config.x, dtype=torch.float64)
    y = torch.tensor(config.y, dtype=torch.float64)
    ours = torch.tensor(float(config.w0 or 0.0), dtype=torch.float64, requires_grad=True)
    theirs = ours.detach().clone().requires_grad_(True)
    update = TensorOptimizer(config.optimizer_config, config.lr)
    optimizer = torch_optimizer(config, [theirs])
    for _ in range(epochs):
        for w in (ours, theirs):
            ((w * x - y) ** 2).mean().backward()
        with torch.no_grad():
            update.step(ours, ours.grad)  # type: ignore[arg-type]
        optimizer.step()
        ours.grad.zero_()  # type: ignore[union-attr]
        optimizer.zero_grad()
        assert_same([ours.item()], [theirs.item()])
        assert_same(list(update.values()), list(torch_state(config, optimizer, theirs)))
        if not math.isfinite(ours.item()):
            break


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
@SOME
@given(data=st.data())
def test_autograd_update_in_float64_is_bit_identical_to_torch_optim(
        name: str, data: st.DataObject) -> None:
    extra = data.draw(hyperparameters(name))
    if name == "sgd" and not extra.get("momentum") and not extra.get("weight_decay"):
        extra["momentum"] = 0.5  # plain SGD is the notebook's line, not torch.optim's
    config = run_config("autograd", name, data.draw(points()), data.draw(learning_rates(name)),
                        extra, 1, w0=data.draw(coordinate))
    lockstep_float64(config, data.draw(st.integers(1, 40)))


# --- nn: torch.optim itself, weight and bias ----------------------------------------------------

def bare_nn(config: RunConfig, epochs: int) -> tuple[list, list]:
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = nn.Linear(1, 1)
    with torch.no_grad():
        if config.w0 is not None:
            model.weight.fill_(config.w0)
        if config.b0 is not None:
            model.bias.fill_(config.b0)
    x = torch.tensor(config.x, dtype=torch.float32).reshape(-1, 1)
    y = torch.tensor(config.y, dtype=torch.float32).reshape(-1, 1)
    loss = nn.MSELoss()
    optimizer = torch_optimizer(config, model.parameters())
    params, states = [], []
    for _ in range(epochs):
        loss(y, model(x)).backward()
        optimizer.step()
        optimizer.zero_grad()
        params.append((model.weight.item(), model.bias.item()))
        states.append(tuple(torch_state(config, optimizer, p)
                            for p in (model.weight, model.bias)))
    return params, states


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
@SOME
@given(data=st.data())
def test_nn_is_bit_identical_to_a_bare_torch_optim_loop(name: str, data: st.DataObject) -> None:
    extra = data.draw(hyperparameters(name))
    start = data.draw(st.one_of(
        st.just({}), st.fixed_dictionaries({"w0": coordinate, "b0": coordinate})))
    config = run_config("nn", name, data.draw(points()), data.draw(learning_rates(name)),
                        extra, data.draw(st.integers(1, 40)),
                        seed=data.draw(st.integers(0, 2**32)), **start)
    records = trainer_records(config)
    params, states = bare_nn(config, len(records))
    assert_same([r.params_after for r in records], params)  # both w and b
    if config.optimizer_config.state_keys():
        assert_same([r.optimizer_state.values for r in records], states)  # type: ignore[union-attr]
        assert records[0].optimizer_state.keys == config.optimizer_config.state_keys()  # type: ignore[union-attr]


# --- numpy: float64, within 1e-12 of torch.optim in float64 -------------------------------------

def torch_float64_replay(config: RunConfig, records: list[StepRecord]) -> tuple[list, list]:
    """torch.optim in float64 fed the gradients the numpy trainer computed (in float32, from
    float32(w), as the notebook does: recomputing them from torch's own w would let one ulp of
    w flip a float32 rounding)."""
    w = torch.tensor(float(config.w0 or 0.0), dtype=torch.float64, requires_grad=True)
    optimizer = torch_optimizer(config, [w])
    ws, states = [], []
    for record in records:
        w.grad = torch.tensor(record.grads[0], dtype=torch.float64)
        if config.optimizer_config.is_plain_sgd:
            with torch.no_grad():
                w -= config.lr * w.grad
        else:
            optimizer.step()
        ws.append(w.item())
        states.append(torch_state(config, optimizer, w))
    return ws, states


def assert_close(got: Any, expected: Any) -> None:
    """rtol 1e-12, against the magnitude of the whole column: a value crossing zero is
    compared with the size of the numbers it came from, not with its own tiny size."""
    got, expected = np.array(got, dtype=np.float64), np.array(expected, dtype=np.float64)
    assert got.shape == expected.shape
    for column in range(expected.shape[1] if expected.ndim == 2 else 1):
        ours = got[:, column] if expected.ndim == 2 else got
        theirs = expected[:, column] if expected.ndim == 2 else expected
        finite = theirs[np.isfinite(theirs)]
        scale = float(np.abs(finite).max()) if finite.size else 0.0
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12 * scale, equal_nan=True)


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
@SOME
@given(data=st.data())
def test_numpy_is_within_1e12_of_torch_optim_in_float64(name: str, data: st.DataObject) -> None:
    extra = data.draw(hyperparameters(name))
    gradient = data.draw(st.sampled_from(("notebook", "mean")))
    lr = data.draw(learning_rates(name)) / (8 if gradient == "notebook" and name == "sgd" else 1)
    config = run_config("numpy", name, data.draw(points()), lr, extra,
                        data.draw(st.integers(1, 40)), w0=data.draw(coordinate),
                        gradient=gradient)
    records = trainer_records(config)
    if not records[-1].is_finite:
        records = records[:-1]  # where float64 overflows first is not the point here
    ws, states = torch_float64_replay(config, records)
    assert_close([r.params_after[0] for r in records], ws)
    if config.optimizer_config.state_keys() and records:
        assert_close([r.optimizer_state.values[0] for r in records], states)  # type: ignore[union-attr]


def test_numpy_where_python_floats_raise_gives_torchs_nan_and_inf() -> None:
    """0/0 (eps 0 at a zero gradient) and sqrt(-x) (centered RMSprop rounding) raise in
    Python; the step is redone in numpy float64, which answers like torch."""
    cases = [(OptimizerConfig.of("adam", eps=0.0), [0.0]),
             (OptimizerConfig.of("rmsprop", eps=0.0), [0.0, 1.0]),
             (OptimizerConfig.of("adagrad", eps=0.0), [0.0]),
             (OptimizerConfig.of("rmsprop", centered=True, eps=0.0), [3.0, 3.0, 3.0])]
    for config, grads in cases:
        ours = FloatOptimizer(config, 0.1)
        w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        optimizer = getattr(torch.optim, config.spec.torch_class)([w], lr=0.1,
                                                                  **config.torch_kwargs())
        value = 1.0
        for grad in grads:
            value = ours.step(value, grad)
            w.grad = torch.tensor(grad, dtype=torch.float64)
            optimizer.step()
            np.testing.assert_allclose(value, w.item(), rtol=1e-12, equal_nan=True)
    assert math.isnan(FloatOptimizer(OptimizerConfig.of("adam", eps=0.0), 0.1).step(1.0, 0.0))


def test_the_numpy_trainer_with_an_optimizer_never_imports_torch() -> None:
    script = ("import sys\n"
              "from gdviz.core.config import build_config\n"
              "from gdviz.core.trainers import make_trainer\n"
              "for name in ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'):\n"
              "    extra = {'momentum': 0.9} if name == 'sgd' else {}\n"
              "    t = make_trainer(build_config('numpy', {'optimizer': name, **extra}))\n"
              "    assert t.step().optimizer_state is not None\n"
              "print('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "False"


# --- plain SGD: the notebook's lines, and no state -------------------------------------------

@pytest.mark.parametrize("trainer", TRAINERS)
def test_plain_sgd_records_carry_no_state(trainer: str) -> None:
    for extra in ({}, {"optimizer": "sgd"}, {"optimizer": "sgd", "momentum": 0.0}):
        record = make_trainer(build_config(trainer, extra)).step()
        assert record.optimizer_state is None


def test_sgd_with_weight_decay_only_keeps_no_state_but_is_not_plain() -> None:
    config = build_config("autograd", {"weight_decay": 0.1})
    assert not config.optimizer_config.is_plain_sgd
    assert config.optimizer_config.state_keys() == ()
    assert make_trainer(config).step().optimizer_state is None


# --- the lessons with an optimizer ---------------------------------------------------------

@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_forget_zero_grad_feeds_the_summed_gradient_to_the_optimizer(name: str) -> None:
    extra = {"momentum": 0.9} if name == "sgd" else {}
    config = build_config("autograd", {"optimizer": name, "forget_zero_grad": True,
                                       "epochs": 20, **extra})
    records = trainer_records(config)
    ws, _ = bare_autograd(config, 20, zero_grad=False)
    assert_same([r.params_after[0] for r in records], ws)
    assert records[1].grads[0] != records[1].grads[0] - records[0].grads[0]  # it did add up


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_update_outside_no_grad_raises_torchs_error_with_every_optimizer(
        trainer: str, name: str) -> None:
    extra = {"momentum": 0.9, "weight_decay": 0.1} if name == "sgd" else {"weight_decay": 0.1}
    model = make_trainer(build_config(trainer, {"optimizer": name, "update_with_grad": True,
                                                **extra}))
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        model.step()
    assert model.epoch == 0


# --- records and config -------------------------------------------------------------------------

def test_optimizer_state_accessors() -> None:
    state = OptimizerState(("step", "exp_avg"), ("t", "m"), ((3.0, 0.5), (3.0, -0.25)))
    assert state.value("exp_avg", 1) == -0.25
    assert state.entries(0) == (("step", "t", 3.0), ("exp_avg", "m", 0.5))
    assert state.flat(("w", "b")) == {"step_w": 3.0, "exp_avg_w": 0.5, "step_b": 3.0,
                                      "exp_avg_b": -0.25}
    with pytest.raises(KeyError):
        state.value("exp_avg_sq")
    assert hash(state) == hash(OptimizerState(*state))
    record = StepRecord(1, (0.0,), (1.0,), 2.0, (3.0,), np.zeros(1))
    assert record.optimizer_state is None


def test_configs_stay_frozen_hashable_and_replace_friendly() -> None:
    adam = build_config("nn", {"optimizer": "adam", "betas": (0.8, 0.99), "amsgrad": True})
    assert adam == build_config("nn", {"optimizer": "adam", "betas": "0.8,0.99",
                                       "amsgrad": True})
    assert len({adam, adam.replace(), build_config("nn")}) == 2
    assert adam.replace(lr=0.1).betas == (0.8, 0.99)
    assert adam.replace(trainer="numpy").optimizer_config == adam.optimizer_config
    assert adam.momentum is None and adam.eps == 1e-8
    with pytest.raises(ConfigError, match="--momentum applies only to the sgd, rmsprop"):
        adam.replace(momentum=0.9)
    with pytest.raises(AttributeError):
        adam.eps = 1.0  # type: ignore[misc]


def test_changing_optimizer_resets_to_torchs_defaults_but_keeps_changed_shared_settings() -> None:
    sgd = build_config("autograd", {"momentum": 0.9, "weight_decay": 0.0})
    rmsprop = sgd.replace(optimizer="rmsprop")
    assert (rmsprop.momentum, rmsprop.alpha, rmsprop.eps) == (0.9, 0.99, 1e-8)
    adamw = build_config("autograd", {"optimizer": "adamw"})
    assert adamw.weight_decay == 0.01
    assert adamw.replace(optimizer="adam").weight_decay == 0.0  # adamw's default is not kept
    adam = build_config("autograd", {"optimizer": "adam", "eps": 1e-3})
    assert adam.replace(optimizer="adagrad").eps == 1e-3  # a changed eps is kept
    assert build_config("autograd", {"optimizer": "adam"}).replace(
        optimizer="adagrad").eps == 1e-10
    back = rmsprop.replace(optimizer="sgd")
    assert back.momentum == 0.9 and back.dampening == 0.0 and back.alpha is None


def test_describe_change_names_the_optimizer_and_its_settings() -> None:
    sgd = build_config("autograd")
    assert describe_change(sgd, sgd.replace(optimizer="adamw")) == "optimizer changed to AdamW"
    assert describe_change(sgd, sgd.replace(momentum=0.9)) == "momentum 0.0 → 0.9"
    adam = sgd.replace(optimizer="adam")
    assert describe_change(adam, adam.replace(amsgrad=True)) == "AMSGrad off → on"


def test_presets_can_hold_an_optimizer(tmp_path, monkeypatch) -> None:
    import json

    import gdviz.core.config as config_module

    (tmp_path / "presets").mkdir()
    (tmp_path / "presets" / "adam-demo.json").write_text(json.dumps(
        {"trainer": "nn", "optimizer": "adam", "betas": [0.5, 0.9], "amsgrad": True}))
    monkeypatch.setattr(config_module, "resource_path", lambda *parts: tmp_path.joinpath(*parts))
    config = build_config(preset_name="adam-demo")
    assert (config.optimizer, config.betas, config.amsgrad) == ("adam", (0.5, 0.9), True)
    # Another optimizer on the command line: the preset's Adam settings no longer apply.
    other = build_config(preset_name="adam-demo", explicit={"optimizer": "sgd"})
    assert other.betas is None and other.momentum == 0.0


@pytest.mark.parametrize(("explicit", "words"), [
    ({"nesterov": True}, "--nesterov needs --momentum"),
    ({"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "--dampening 0"),
    ({"optimizer": "adam", "betas": (1.0, 0.9)}, "--betas must each be in [0, 1)"),
    ({"optimizer": "adamw", "betas": (0.9, -0.1)}, "--betas"),
    ({"optimizer": "adam", "betas": (0.9,)}, "--betas takes two numbers"),
    ({"optimizer": "adam", "eps": -1e-8}, "--eps must be 0 or greater"),
    ({"optimizer": "rmsprop", "eps": float("nan")}, "--eps must be a finite number"),
    ({"weight_decay": -1.0}, "--weight-decay"),
    ({"momentum": float("inf")}, "--momentum must be a finite number"),
    ({"momentum": True}, "--momentum"),
    ({"dampening": 1.5}, "--dampening must be between 0 and 1"),
    ({"optimizer": "rmsprop", "alpha": 1.01}, "--alpha"),
    ({"optimizer": "adagrad", "lr_decay": -0.1}, "--lr-decay"),
    ({"optimizer": "adagrad", "initial_accumulator": -1.0}, "--initial-accumulator"),
    ({"optimizer": "adam", "momentum": 0.9}, "--momentum applies only to"),
    ({"betas": (0.9, 0.99)}, "--betas applies only to the adam, adamw optimizers"),
    ({"optimizer": "adagrad", "alpha": 0.9}, "--alpha applies only to the rmsprop optimizer"),
    ({"optimizer": "rmsprop", "amsgrad": True}, "--amsgrad"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
])
def test_invalid_settings_are_one_line_errors(explicit: dict[str, Any], words: str) -> None:
    with pytest.raises(ConfigError) as error:
        build_config("numpy", explicit)
    assert words in str(error.value) and "\n" not in str(error.value)
    assert "--" not in error.value.ui_text


# --- the update as code -------------------------------------------------------------------------

def test_plain_sgd_code_is_the_notebooks_line() -> None:
    plain = OptimizerConfig.of("sgd")
    assert update_code(plain, "numpy") == ["w -= learning_rate * dw"]
    assert update_code(plain, "autograd") == ["w -= learning_rate * w.grad"]
    code = optimizer_code(plain, "nn")
    assert code.update == ("optimizer.step()",)
    assert code.setup == ("optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)",)
    assert code.replaces == "optimizer = torch.optim.SGD("


def _run_code(config: RunConfig, trainer: str, epochs: int) -> list[float]:
    """The cell's loop with `optimizer_code`'s lines in place of its update, executed."""
    code = optimizer_code(config.optimizer_config, trainer)
    body = "\n".join(f"        {line}" for line in code.update)
    if trainer == "numpy":
        loop = ("X = np.array(x, dtype=np.float32)\nY = np.array(y, dtype=np.float32)\n"
                "w = w0\n" + "\n".join(code.setup) + "\n"
                "for epoch in range(n_iters):\n"
                "    y_pred = np.float32(w) * X\n"
                "    dw = float(np.dot(2 * X, y_pred - Y))\n"
                "    if True:\n" + body + "\n"
                "    ws.append(float(w))\n")
    else:
        loop = ("X = torch.tensor(x)\nY = torch.tensor(y)\n"
                "w = torch.tensor(w0, requires_grad=True)\n" + "\n".join(code.setup) + "\n"
                "for epoch in range(n_iters):\n"
                "    ((w * X - Y) ** 2).mean().backward()\n"
                "    with torch.no_grad():\n" + body + "\n"
                "    w.grad.zero_()\n"
                "    ws.append(w.item())\n")
    ws: list[float] = []
    exec(loop, {"np": np, "torch": torch, "math": math, "x": config.x, "y": config.y,
                "w0": float(config.w0 or 0.0), "n_iters": epochs, "learning_rate": config.lr,
                "ws": ws})
    return ws


CODE_CASES = [
    ("sgd", {"momentum": 0.9}), ("sgd", {"momentum": 0.5, "nesterov": True, "weight_decay": 0.1}),
    ("sgd", {"weight_decay": 0.2}), ("sgd", {"momentum": 0.3, "dampening": 0.5}),
    ("adam", {}), ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}), ("adamw", {"amsgrad": True, "betas": (0.3, 0.6)}),
    ("rmsprop", {}), ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("adagrad", {}), ("adagrad", {"lr_decay": 0.1, "initial_accumulator": 0.5}),
]


@pytest.mark.parametrize(("name", "extra"), CODE_CASES)
def test_the_shown_code_computes_the_trainers_numbers(name: str, extra: dict[str, Any]) -> None:
    for trainer in ("numpy", "autograd"):
        config = build_config(trainer, {"optimizer": name, "lr": 0.05, "epochs": 30, **extra})
        expected = [r.params_after[0] for r in trainer_records(config)]
        got = _run_code(config, trainer, 30)
        if trainer == "autograd":
            assert_same(got, expected)  # torch.optim's operations, bit for bit
        else:
            assert_close(got, expected)


@pytest.mark.parametrize(("name", "extra"), CODE_CASES)
def test_the_nn_code_builds_torch_optim_and_by_hand_matches_it(
        name: str, extra: dict[str, Any]) -> None:
    config = build_config("nn", {"optimizer": name, "lr": 0.05, **extra}).optimizer_config
    code = optimizer_code(config, "nn")
    assert code.update == ("optimizer.step()",)
    assert code.setup[0].startswith(f"optimizer = torch.optim.{config.spec.torch_class}(")
    model = torch.nn.Linear(1, 1)
    scope: dict[str, Any] = {"torch": torch, "model": model, "learning_rate": 0.05}
    exec(code.setup[0], scope)
    optimizer = scope["optimizer"]
    assert optimizer.defaults["lr"] == 0.05
    for key, value in config.torch_kwargs().items():
        assert optimizer.defaults[key] == value
    # Written out by hand (the update_with_grad lesson's code), under no_grad it is torch.optim.
    by_hand = optimizer_code(config, "nn", by_hand=True)
    ours = torch.nn.Linear(1, 1)
    ours.load_state_dict(model.state_dict())
    scope = {"torch": torch, "model": ours, "learning_rate": 0.05}
    exec("\n".join(by_hand.setup), scope)
    x = torch.tensor([[1.0], [2.0], [3.0]])
    y = torch.tensor([[2.0], [3.5], [7.0]])
    for _ in range(10):
        for m in (model, ours):
            torch.nn.MSELoss()(y, m(x)).backward()
        optimizer.step()
        with torch.no_grad():
            exec("\n".join(by_hand.update), scope)
        optimizer.zero_grad()
        ours.zero_grad()
        assert_same([ours.weight.item(), ours.bias.item()],
                    [model.weight.item(), model.bias.item()])
