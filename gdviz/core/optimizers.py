"""The optimizers: one registry, and each update written out once per trainer style.

Every optimizer runs three ways, one per notebook cell:
- "float" (the numpy cell): the update in float64 arithmetic on the Python float w;
- "tensor" (the autograd cell): the update written out with torch tensor operations in
  torch.optim's own order (its single-tensor code path, the one it takes on CPU), so it is
  bit-identical to `torch.optim.<Name>` on the same parameter;
- "optim" (the nn cell): `torch.optim.<Name>` itself.

The defaults are torch.optim's (torch 2.13), except the learning rate: a run keeps its own lr,
as the notebook passes `lr=learning_rate` to every optimizer. Plain SGD (no momentum, no weight
decay) is not run through here at all: the trainers keep the notebook's own update line, whose
numbers the lecture prints (`w -= lr * grad` rounds differently from torch's `add_(g, alpha=-lr)`).

torch is imported only inside the tensor and optim paths, so the numpy cell never loads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from gdviz.core.records import OptimizerState

if TYPE_CHECKING:
    from torch import Tensor

DEFAULT_OPTIMIZER = "sgd"

# torch keeps an optimizer's step count in a float32 tensor (step_t += 1): past 2**24 it stops
# counting. The Python-side counters copy that, so bias corrections and Adagrad's decayed lr
# stay those of torch.optim on very long runs too.
_FLOAT32_STEP_LIMIT = 16777216.0


def next_step(step: float) -> float:
    """`step + 1` as torch's float32 step tensor computes it (it saturates at 2**24)."""
    return step + 1.0 if step < _FLOAT32_STEP_LIMIT else step


@dataclass(frozen=True)
class Hyperparameter:
    """One optimizer setting: its config field, CLI option, torch keyword and window label."""

    name: str  # RunConfig field and preset key
    option: str  # the CLI option, named in error messages
    torch_name: str  # the keyword of torch.optim.<Class>
    label: str  # the window's words for it
    kind: str  # "float", "flag" or "pair" (betas)
    minimum: float = 0.0  # every numeric hyperparameter is >= 0 (a pair: each entry)
    maximum: float = math.inf
    maximum_included: bool = True  # False: the range is [minimum, maximum)


HYPERPARAMETERS: Mapping[str, Hyperparameter] = MappingProxyType({h.name: h for h in (
    Hyperparameter("momentum", "--momentum", "momentum", "momentum", "float"),
    Hyperparameter("dampening", "--dampening", "dampening", "dampening", "float", maximum=1.0),
    Hyperparameter("nesterov", "--nesterov", "nesterov", "Nesterov", "flag"),
    Hyperparameter("weight_decay", "--weight-decay", "weight_decay", "weight decay", "float"),
    Hyperparameter("betas", "--betas", "betas", "betas", "pair", maximum=1.0,
                   maximum_included=False),
    Hyperparameter("eps", "--eps", "eps", "eps", "float"),
    Hyperparameter("alpha", "--alpha", "alpha", "alpha", "float", maximum=1.0),
    Hyperparameter("centered", "--centered", "centered", "centered", "flag"),
    Hyperparameter("amsgrad", "--amsgrad", "amsgrad", "AMSGrad", "flag"),
    Hyperparameter("lr_decay", "--lr-decay", "lr_decay", "lr decay", "float"),
    Hyperparameter("initial_accumulator", "--initial-accumulator", "initial_accumulator_value",
                   "initial accumulator", "float"),
)})


@dataclass(frozen=True)
class StateEntry:
    """One number of an optimizer's state, as the step panel shows it."""

    key: str  # torch's state name ("exp_avg"), or a value derived from it ("bias_correction1")
    label: str  # a short label: "m", "v", "velocity"
    description: str


_STATE_ENTRIES = (
    StateEntry("step", "t", "number of steps taken"),
    StateEntry("momentum_buffer", "velocity", "momentum buffer: decayed sum of past steps"),
    StateEntry("exp_avg", "m", "running average of the gradient (first moment)"),
    StateEntry("exp_avg_sq", "v", "running average of the squared gradient (second moment)"),
    StateEntry("max_exp_avg_sq", "v_max", "largest v so far (AMSGrad)"),
    StateEntry("bias_correction1", "1−β₁ᵗ", "bias correction of m"),
    StateEntry("bias_correction2", "1−β₂ᵗ", "bias correction of v"),
    StateEntry("square_avg", "v", "running average of the squared gradient"),
    StateEntry("grad_avg", "g_avg", "running average of the gradient (centered)"),
    StateEntry("sum", "G", "sum of the squared gradients so far"),
    StateEntry("clr", "lr_t", "learning rate after decay: lr / (1 + (t − 1)·lr_decay)"),
)
STATE_ENTRIES: Mapping[str, StateEntry] = MappingProxyType({e.key: e for e in _STATE_ENTRIES})


@dataclass(frozen=True)
class OptimizerSpec:
    """One torch.optim optimizer: its title, class and hyperparameters with torch's defaults."""

    name: str  # the CLI's --optimizer value and the combo box's item data
    title: str
    torch_class: str  # the class in torch.optim
    defaults: Mapping[str, Any]  # hyperparameter -> torch's default, in torch's keyword order
    torch_lr_default: float  # torch's own default lr (gdviz keeps the run's lr)
    decoupled_weight_decay: bool = False  # AdamW: decay the weight, not the gradient

    @property
    def hyperparameters(self) -> tuple[str, ...]:
        return tuple(self.defaults)


OPTIMIZERS: Mapping[str, OptimizerSpec] = MappingProxyType({s.name: s for s in (
    OptimizerSpec("sgd", "SGD", "SGD", MappingProxyType({
        "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}), 1e-3),
    OptimizerSpec("adam", "Adam", "Adam", MappingProxyType({
        "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}), 1e-3),
    OptimizerSpec("adamw", "AdamW", "AdamW", MappingProxyType({
        "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False}), 1e-3,
        decoupled_weight_decay=True),
    OptimizerSpec("rmsprop", "RMSprop", "RMSprop", MappingProxyType({
        "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False}),
        1e-2),
    OptimizerSpec("adagrad", "Adagrad", "Adagrad", MappingProxyType({
        "lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator": 0.0, "eps": 1e-10}), 1e-2),
)})
OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)


def optimizer_spec(name: str) -> OptimizerSpec:
    """The spec of optimizer `name`; KeyError for an unknown one (config validates first)."""
    return OPTIMIZERS[name]


def optimizers_having(hyperparameter: str) -> tuple[str, ...]:
    return tuple(name for name, s in OPTIMIZERS.items() if hyperparameter in s.defaults)


@dataclass(frozen=True)
class OptimizerConfig:
    """An optimizer and the value of each of its hyperparameters (validated by RunConfig)."""

    name: str = DEFAULT_OPTIMIZER
    values: tuple[tuple[str, Any], ...] = ()  # (hyperparameter, value), in the spec's order

    @classmethod
    def of(cls, name: str, **given: Any) -> OptimizerConfig:
        """`name` with torch's defaults for whatever is not `given` (not validated)."""
        defaults = optimizer_spec(name).defaults
        unknown = set(given) - set(defaults)
        if unknown:
            raise KeyError(f"{name} has no hyperparameter {', '.join(sorted(unknown))}")
        return cls(name, tuple((key, given.get(key, default)) for key, default in
                               defaults.items()))

    @property
    def spec(self) -> OptimizerSpec:
        return optimizer_spec(self.name)

    def as_dict(self) -> dict[str, Any]:
        """Every hyperparameter, torch's default where `values` has none."""
        return {**self.spec.defaults, **dict(self.values)}

    def get(self, key: str) -> Any:
        return self.as_dict()[key]

    @property
    def is_plain_sgd(self) -> bool:
        """SGD without momentum or weight decay: the trainers run the notebook's update line."""
        values = self.as_dict()
        return self.name == DEFAULT_OPTIMIZER and values["momentum"] == 0 and \
            values["weight_decay"] == 0

    def torch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of torch.optim.<Class>, every hyperparameter spelled out."""
        return {HYPERPARAMETERS[key].torch_name: value for key, value in self.as_dict().items()}

    def state_keys(self) -> tuple[str, ...]:
        """The state entries an epoch records, in order (empty: the optimizer keeps none)."""
        v = self.as_dict()
        if self.name == "sgd":
            return ("momentum_buffer",) if v["momentum"] != 0 else ()
        if self.name == "rmsprop":
            return ("step", "square_avg", *(("momentum_buffer",) if v["momentum"] > 0 else ()),
                    *(("grad_avg",) if v["centered"] else ()))
        if self.name == "adagrad":
            return ("step", "sum", *(("clr",) if v["lr_decay"] != 0 else ()))
        return ("step", "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if v["amsgrad"] else ()),
                "bias_correction1", "bias_correction2")

    def state_labels(self) -> tuple[str, ...]:
        return tuple(STATE_ENTRIES[key].label for key in self.state_keys())


def conflict(config: OptimizerConfig) -> str | None:
    """A combination torch.optim refuses, as a one-line message naming the CLI options."""
    if config.name == "sgd":
        v = config.as_dict()
        if v["nesterov"] and (v["momentum"] <= 0 or v["dampening"] != 0):
            return ("--nesterov needs --momentum greater than 0 and --dampening 0 "
                    f"(got momentum {v['momentum']:g}, dampening {v['dampening']:g})")
    return None


# --- float64 updates (the numpy cell) ---------------------------------------------------------

# A rule maps (w, grad, state, sqrt) to (new w, new state); the state tuple is exactly what an
# epoch records, in `state_keys()` order. Pure functions, so a step that Python floats cannot
# finish (x / 0.0, sqrt(-x) raise where IEEE gives inf or nan) is redone in numpy float64.
_Rule = Callable[[Any, Any, tuple[Any, ...], Callable[[Any], Any]], tuple[Any, tuple[Any, ...]]]


def _lerp(start: Any, end: Any, weight: float) -> Any:
    """torch.lerp's formula: the form it picks depends on the weight."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _sgd_rule(c: Mapping[str, Any], lr: float) -> _Rule:
    momentum, dampening, nesterov = c["momentum"], c["dampening"], c["nesterov"]
    weight_decay = c["weight_decay"]

    def rule(p: Any, g: Any, state: tuple[Any, ...], sqrt: Callable[[Any], Any]) -> Any:
        if weight_decay != 0:
            g = g + weight_decay * p
        if momentum != 0:
            (buf,) = state
            buf = g if buf is None else buf * momentum + (1 - dampening) * g
            state = (buf,)
            g = g + momentum * buf if nesterov else buf
        return p + -lr * g, state

    return rule


def _adam_rule(c: Mapping[str, Any], lr: float, decoupled: bool) -> _Rule:
    (beta1, beta2), eps, weight_decay, amsgrad = c["betas"], c["eps"], c["weight_decay"], \
        c["amsgrad"]

    def rule(p: Any, g: Any, state: tuple[Any, ...], sqrt: Callable[[Any], Any]) -> Any:
        step, m, v, *rest = state
        step = next_step(step)
        if weight_decay != 0:
            if decoupled:
                p = p * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * p
        m = _lerp(m, g, 1 - beta1)
        v = v * beta2 + (1 - beta2) * g * g
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if amsgrad:
            v_max = rest[0]
            v_max = v if (v > v_max or v != v) else v_max  # torch.maximum keeps a nan
            denom = sqrt(v_max) / bias_correction2_sqrt + eps
            state = (step, m, v, v_max, bias_correction1, bias_correction2)
        else:
            denom = sqrt(v) / bias_correction2_sqrt + eps
            state = (step, m, v, bias_correction1, bias_correction2)
        return p + -step_size * m / denom, state

    return rule


def _rmsprop_rule(c: Mapping[str, Any], lr: float) -> _Rule:
    alpha, eps, weight_decay = c["alpha"], c["eps"], c["weight_decay"]
    momentum, centered = c["momentum"], c["centered"]

    def rule(p: Any, g: Any, state: tuple[Any, ...], sqrt: Callable[[Any], Any]) -> Any:
        step, square_avg, *rest = state
        step = next_step(step)
        if weight_decay != 0:
            g = g + weight_decay * p
        square_avg = square_avg * alpha + (1 - alpha) * g * g
        new_state = [step, square_avg]
        if centered:
            grad_avg = _lerp(rest[-1], g, 1 - alpha)
            avg = sqrt(square_avg + -1 * grad_avg * grad_avg)
        else:
            avg = sqrt(square_avg)
        avg = avg + eps
        if momentum > 0:
            buf = rest[0] * momentum + g / avg
            new_state.append(buf)
            p = p + -lr * buf
        else:
            p = p + -lr * g / avg
        if centered:
            new_state.append(grad_avg)
        return p, tuple(new_state)

    return rule


def _adagrad_rule(c: Mapping[str, Any], lr: float) -> _Rule:
    lr_decay, weight_decay, eps = c["lr_decay"], c["weight_decay"], c["eps"]

    def rule(p: Any, g: Any, state: tuple[Any, ...], sqrt: Callable[[Any], Any]) -> Any:
        step, state_sum = state[0], state[1]
        step = next_step(step)
        if weight_decay != 0:
            g = g + weight_decay * p
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum = state_sum + g * g
        std = sqrt(state_sum) + eps
        new_state = (step, state_sum, clr) if lr_decay != 0 else (step, state_sum)
        return p + -clr * g / std, new_state

    return rule


def _initial_float_state(config: OptimizerConfig) -> tuple[Any, ...]:
    keys = config.state_keys()
    start = {"momentum_buffer": None if config.name == "sgd" else 0.0,
             "sum": float(config.get("initial_accumulator")) if config.name == "adagrad" else 0.0}
    return tuple(start.get(key, 0.0) for key in keys)


def _float_sqrt(x: float) -> float:
    return math.sqrt(x)  # raises on x < 0: the step is redone in numpy, which gives nan


class FloatOptimizer:
    """One parameter's update in float64, as torch.optim computes it, for the numpy cell.

    Python floats are IEEE float64 like numpy's, with the same correctly rounded + − × ÷ and
    sqrt, and five times cheaper per operation than numpy scalars; where Python raises
    (division by zero, sqrt of a negative) the step is redone with numpy float64 scalars,
    which give torch's inf and nan. torch fuses multiply-adds (FMA) and its float64 sqrt is
    not always correctly rounded, so the two agree to about 1e-15 relative per step, not bit
    for bit; only an update that cancels (centered RMSprop with alpha far below 1, whose
    variance square_avg − grad_avg² is then a few ulps) magnifies that.
    """

    def __init__(self, config: OptimizerConfig, lr: float) -> None:
        values = config.as_dict()
        if config.name == "sgd":
            self._rule = _sgd_rule(values, lr)
        elif config.name == "rmsprop":
            self._rule = _rmsprop_rule(values, lr)
        elif config.name == "adagrad":
            self._rule = _adagrad_rule(values, lr)
        else:
            self._rule = _adam_rule(values, lr, config.spec.decoupled_weight_decay)
        self._state = _initial_float_state(config)
        keys = config.state_keys()
        self._keys, self._labels = keys, config.state_labels()

    def step(self, p: float, grad: float) -> float:
        try:
            new_p, self._state = self._rule(p, grad, self._state, _float_sqrt)
        except (ZeroDivisionError, ValueError, OverflowError):
            state = tuple(None if s is None else np.float64(s) for s in self._state)
            with np.errstate(all="ignore"):
                new_p, state = self._rule(np.float64(p), np.float64(grad), state, np.sqrt)
            self._state = tuple(float(s) for s in state)
        return float(new_p)

    def state(self) -> OptimizerState | None:
        """The state after the last step (None for an optimizer that keeps none)."""
        if not self._keys:
            return None
        return OptimizerState(self._keys, self._labels, (self._state,))


# --- torch tensor updates (the autograd cell) -------------------------------------------------

class TensorOptimizer:
    """One parameter's update written out with torch tensor operations, as torch.optim runs it.

    Each branch is torch 2.13's single-tensor code path (`_single_tensor_sgd`, `_adam`,
    `_rmsprop`, `_adagrad`: CPU uses neither foreach nor fused kernels by default), the same
    operations on the same Python scalars in the same order, so the result is bit-identical to
    `torch.optim.<Name>` stepping the same tensor. The caller decides about `torch.no_grad()`:
    the update_with_grad lesson runs it without, and torch refuses the in-place update.
    """

    def __init__(self, config: OptimizerConfig, lr: float) -> None:
        self.config = config
        self.lr = lr
        self._v = config.as_dict()
        self._decoupled = config.spec.decoupled_weight_decay
        self._keys, self._labels = config.state_keys(), config.state_labels()
        self._step = 0.0
        self._tensors: dict[str, Tensor] = {}  # torch's state tensors, created at the first step
        self._derived: dict[str, float] = {}

    def step(self, param: Tensor, grad: Tensor) -> None:
        if self.config.name == "sgd":
            self._sgd(param, grad)
        elif self.config.name == "rmsprop":
            self._rmsprop(param, grad)
        elif self.config.name == "adagrad":
            self._adagrad(param, grad)
        else:
            self._adam(param, grad)

    def _zeros(self, param: Tensor, *keys: str) -> None:
        if not self._tensors:
            import torch

            for key in keys:
                self._tensors[key] = torch.zeros_like(param, memory_format=torch.preserve_format)

    def _sgd(self, param: Tensor, grad: Tensor) -> None:
        v, lr = self._v, self.lr
        weight_decay, momentum = v["weight_decay"], v["momentum"]
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        if momentum != 0:
            buf = self._tensors.get("momentum_buffer")
            if buf is None:
                buf = grad.detach().clone()
                self._tensors["momentum_buffer"] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - v["dampening"])
            grad = grad.add(buf, alpha=momentum) if v["nesterov"] else buf
        param.add_(grad, alpha=-lr)

    def _adam(self, param: Tensor, grad: Tensor) -> None:
        import torch

        v, lr = self._v, self.lr
        (beta1, beta2), eps, weight_decay = v["betas"], v["eps"], v["weight_decay"]
        self._zeros(param, "exp_avg", "exp_avg_sq", *(("max_exp_avg_sq",) if v["amsgrad"]
                                                      else ()))
        exp_avg, exp_avg_sq = self._tensors["exp_avg"], self._tensors["exp_avg_sq"]
        self._step = step = next_step(self._step)
        if weight_decay != 0:
            if self._decoupled:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        bias_correction2_sqrt = bias_correction2**0.5
        if v["amsgrad"]:
            max_exp_avg_sq = self._tensors["max_exp_avg_sq"]
            torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denom = (max_exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        else:
            denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        param.addcdiv_(exp_avg, denom, value=-step_size)
        self._derived = {"bias_correction1": bias_correction1,
                         "bias_correction2": bias_correction2}

    def _rmsprop(self, param: Tensor, grad: Tensor) -> None:
        v, lr = self._v, self.lr
        alpha, eps, weight_decay, momentum = v["alpha"], v["eps"], v["weight_decay"], \
            v["momentum"]
        self._zeros(param, "square_avg", *(("momentum_buffer",) if momentum > 0 else ()),
                    *(("grad_avg",) if v["centered"] else ()))
        square_avg = self._tensors["square_avg"]
        self._step = next_step(self._step)
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if v["centered"]:
            grad_avg = self._tensors["grad_avg"]
            grad_avg.lerp_(grad, 1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.sqrt()
        avg = avg.add_(eps)
        if momentum > 0:
            buf = self._tensors["momentum_buffer"]
            buf.mul_(momentum).addcdiv_(grad, avg)
            param.add_(buf, alpha=-lr)
        else:
            param.addcdiv_(grad, avg, value=-lr)

    def _adagrad(self, param: Tensor, grad: Tensor) -> None:
        import torch

        v, lr = self._v, self.lr
        if not self._tensors:
            self._tensors["sum"] = torch.full_like(param, v["initial_accumulator"],
                                                   memory_format=torch.preserve_format)
        state_sum = self._tensors["sum"]
        self._step = step = next_step(self._step)
        if v["weight_decay"] != 0:
            grad = grad.add(param, alpha=v["weight_decay"])
        clr = lr / (1 + (step - 1) * v["lr_decay"])
        state_sum.addcmul_(grad, grad, value=1)
        std = state_sum.sqrt().add_(v["eps"])
        param.addcdiv_(grad, std, value=-clr)
        self._derived = {"clr": clr}

    def values(self) -> tuple[float, ...]:
        """The state after the last step, in `state_keys()` order, as plain floats."""
        tensors, derived = self._tensors, self._derived
        return tuple(self._step if key == "step" else
                     derived[key] if key in derived else tensors[key].item()
                     for key in self._keys)

    def state(self) -> OptimizerState | None:
        if not self._keys:
            return None
        return OptimizerState(self._keys, self._labels, (self.values(),))


# --- torch.optim (the nn cell) ----------------------------------------------------------------

def torch_optimizer(config: OptimizerConfig, params: Iterable[Tensor], lr: float) -> Any:
    """`torch.optim.<Class>(params, lr=lr, **hyperparameters)`."""
    import torch

    optimizer_class = getattr(torch.optim, config.spec.torch_class)
    return optimizer_class(params, lr=lr, **config.torch_kwargs())


def torch_state_reader(config: OptimizerConfig, optimizer: Any,
                       params: Sequence[Tensor]) -> Callable[[], OptimizerState | None]:
    """A function reading `optimizer`'s state for `params` after a step, as plain floats.

    The derived entries (bias corrections, Adagrad's decayed lr) are computed from torch's
    step count as torch computes them. One `.item()` per tensor entry and no more: this runs
    every epoch.
    """
    keys, labels = config.state_keys(), config.state_labels()
    if not keys:
        return lambda: None
    v = config.as_dict()
    beta1, beta2 = v.get("betas", (0.0, 0.0))
    lr_decay, lr = v.get("lr_decay", 0.0), optimizer.param_groups[0]["lr"]
    derived = ("bias_correction1", "bias_correction2", "clr")
    tensor_keys = tuple(key for key in keys if key not in derived)
    with_step = "step" in keys
    tail = tuple(key for key in keys if key in derived)
    states = optimizer.state
    params = tuple(params)

    def read() -> OptimizerState:
        rows = []
        for p in params:
            state = states[p]
            row = [state[key].item() for key in tensor_keys]
            if tail:
                step = row[0] if with_step else 0.0  # "step" comes first when there is one
                for key in tail:
                    row.append(1 - beta1**step if key == "bias_correction1" else
                               1 - beta2**step if key == "bias_correction2" else
                               lr / (1 + (step - 1) * lr_decay))
            rows.append(tuple(row))
        return OptimizerState(keys, labels, tuple(rows))

    return read


# --- the update as code, for the code panel ---------------------------------------------------

@dataclass(frozen=True)
class OptimizerCode:
    """An optimizer's update as a cell would write it.

    `setup`: lines before the epoch loop (the hyperparameters and the state variables); for the
    nn cell, the optimizer's construction, which takes the place of the line starting with
    `replaces` (the notebook's `optimizer = torch.optim.SGD(`). `update`: the lines that take
    the place of the cell's update statement (`w -= learning_rate * dw`, the body of
    `with torch.no_grad():`, or `optimizer.step()`), unindented; nested lines keep 4 spaces.
    """

    setup: tuple[str, ...]
    update: tuple[str, ...]
    replaces: str | None = None


def _number(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_number(v) for v in value) + ")"
    return repr(float(value)) if not isinstance(value, bool) else repr(value)


def _hyperparameter_line(config: OptimizerConfig, keys: Sequence[str]) -> str:
    v = config.as_dict()
    names, values = [], []
    for key in keys:
        if key == "betas":
            names += ["beta1", "beta2"]
            values += [_number(v["betas"][0]), _number(v["betas"][1])]
        else:
            names.append(key)
            values.append(_number(v[key]))
    return f"{', '.join(names)} = {', '.join(values)}"


def _active(config: OptimizerConfig) -> list[str]:
    """The hyperparameters the update lines use (zero weight decay, no momentum: left out)."""
    v = config.as_dict()
    keys = [key for key in config.spec.hyperparameters if key not in ("amsgrad", "centered",
                                                                      "nesterov")]
    unused = set()
    if v.get("weight_decay", 0) == 0:
        unused.add("weight_decay")
    if "momentum" in v and v["momentum"] == 0:
        unused |= {"momentum", "dampening"}
    if "initial_accumulator" in v:
        unused.add("initial_accumulator")  # used once, in the setup
    if v.get("lr_decay", None) == 0:
        unused.add("lr_decay")
    return [key for key in keys if key not in unused]


def _float_lines(config: OptimizerConfig, p: str, g: str) -> tuple[list[str], list[str]]:
    """numpy cell: float64 arithmetic on w."""
    v = config.as_dict()
    setup = [_hyperparameter_line(config, _active(config))] if _active(config) else []
    lines: list[str] = []
    grad = g
    if v.get("weight_decay", 0) != 0 and not config.spec.decoupled_weight_decay:
        lines.append(f"grad = {g} + weight_decay * {p}")
        grad = "grad"
    if config.name == "sgd":
        if v["momentum"] == 0:
            return setup, [*lines, f"{p} -= learning_rate * {grad}"]
        setup.append("momentum_buffer = None")
        lines.append(f"momentum_buffer = {grad} if momentum_buffer is None else "
                     f"momentum * momentum_buffer + (1 - dampening) * {grad}")
        step = f"({grad} + momentum * momentum_buffer)" if v["nesterov"] else "momentum_buffer"
        lines.append(f"{p} -= learning_rate * {step}")
        return setup, lines
    lines.insert(0, "step += 1")
    if config.name == "adagrad":
        setup.append(f"step, state_sum = 0, {_number(v['initial_accumulator'])}")
        clr = "learning_rate"
        if v["lr_decay"] != 0:
            lines.append("clr = learning_rate / (1 + (step - 1) * lr_decay)")
            clr = "clr"
        lines += [f"state_sum += {grad} * {grad}",
                  f"{p} -= {clr} * {grad} / (np.sqrt(state_sum) + eps)"]
        return setup, lines
    if config.name == "rmsprop":
        state = ["square_avg"] + (["momentum_buffer"] if v["momentum"] > 0 else []) + \
            (["grad_avg"] if v["centered"] else [])
        setup.append(f"step, {', '.join(state)} = 0, {', '.join('0.0' for _ in state)}")
        lines.append(f"square_avg = alpha * square_avg + (1 - alpha) * {grad} * {grad}")
        if v["centered"]:
            lines += [f"grad_avg += (1 - alpha) * ({grad} - grad_avg)",
                      "avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps"]
        else:
            lines.append("avg = np.sqrt(square_avg) + eps")
        if v["momentum"] > 0:
            lines += [f"momentum_buffer = momentum * momentum_buffer + {grad} / avg",
                      f"{p} -= learning_rate * momentum_buffer"]
        else:
            lines.append(f"{p} -= learning_rate * {grad} / avg")
        return setup, lines
    state = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if v["amsgrad"] else [])
    setup.append(f"step, {', '.join(state)} = 0, {', '.join('0.0' for _ in state)}")
    if v["weight_decay"] != 0 and config.spec.decoupled_weight_decay:
        lines.append(f"{p} *= 1 - learning_rate * weight_decay")
    lines += [f"exp_avg += (1 - beta1) * ({grad} - exp_avg)",
              f"exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * {grad} * {grad}",
              "bias_correction1 = 1 - beta1 ** step",
              "bias_correction2 = 1 - beta2 ** step"]
    second = "exp_avg_sq"
    if v["amsgrad"]:
        lines.append("max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq)")
        second = "max_exp_avg_sq"
    lines += [f"denom = np.sqrt({second}) / bias_correction2 ** 0.5 + eps",
              f"{p} -= learning_rate / bias_correction1 * exp_avg / denom"]
    return setup, lines


def _tensor_lines(config: OptimizerConfig, p: str, g: str,
                  state: Callable[[str], str]) -> tuple[list[str], list[str]]:
    """autograd cell (and nn written by hand): torch.optim's operations, in its order."""
    v = config.as_dict()
    setup = [_hyperparameter_line(config, _active(config))] if _active(config) else []
    lines: list[str] = []
    grad = g
    if v.get("weight_decay", 0) != 0 and not config.spec.decoupled_weight_decay:
        lines.append(f"grad = {g}.add({p}, alpha=weight_decay)")
        grad = "grad"
    if config.name == "sgd":
        if v["momentum"] == 0:
            return setup, [*lines, f"{p}.add_({grad}, alpha=-learning_rate)"]
        buf = state("momentum_buffer")
        lines += [f"if {buf} is None:",
                  f"    {buf} = {grad}.detach().clone()",
                  "else:",
                  f"    {buf}.mul_(momentum).add_({grad}, alpha=1 - dampening)"]
        step = f"{grad}.add({buf}, alpha=momentum)" if v["nesterov"] else buf
        lines.append(f"{p}.add_({step}, alpha=-learning_rate)")
        return setup, lines
    lines.insert(0, "step += 1")
    if config.name == "adagrad":
        clr = "learning_rate"
        if v["lr_decay"] != 0:
            lines.append("clr = learning_rate / (1 + (step - 1) * lr_decay)")
            clr = "clr"
        s = state("sum")
        lines += [f"{s}.addcmul_({grad}, {grad}, value=1)",
                  f"{p}.addcdiv_({grad}, {s}.sqrt().add_(eps), value=-{clr})"]
        return setup, lines
    if config.name == "rmsprop":
        sq = state("square_avg")
        lines.append(f"{sq}.mul_(alpha).addcmul_({grad}, {grad}, value=1 - alpha)")
        if v["centered"]:
            ga = state("grad_avg")
            lines += [f"{ga}.lerp_({grad}, 1 - alpha)",
                      f"avg = {sq}.addcmul({ga}, {ga}, value=-1).sqrt_().add_(eps)"]
        else:
            lines.append(f"avg = {sq}.sqrt().add_(eps)")
        if v["momentum"] > 0:
            buf = state("momentum_buffer")
            lines += [f"{buf}.mul_(momentum).addcdiv_({grad}, avg)",
                      f"{p}.add_({buf}, alpha=-learning_rate)"]
        else:
            lines.append(f"{p}.addcdiv_({grad}, avg, value=-learning_rate)")
        return setup, lines
    m, sq = state("exp_avg"), state("exp_avg_sq")
    if v["weight_decay"] != 0 and config.spec.decoupled_weight_decay:
        lines.append(f"{p}.mul_(1 - learning_rate * weight_decay)")
    lines += [f"{m}.lerp_({grad}, 1 - beta1)",
              f"{sq}.mul_(beta2).addcmul_({grad}, {grad}, value=1 - beta2)",
              "bias_correction1 = 1 - beta1 ** step",
              "bias_correction2 = 1 - beta2 ** step"]
    if v["amsgrad"]:
        mx = state("max_exp_avg_sq")
        lines += [f"torch.maximum({mx}, {sq}, out={mx})",
                  f"denom = ({mx}.sqrt() / bias_correction2 ** 0.5).add_(eps)"]
    else:
        lines.append(f"denom = ({sq}.sqrt() / bias_correction2 ** 0.5).add_(eps)")
    lines.append(f"{p}.addcdiv_({m}, denom, value=-learning_rate / bias_correction1)")
    return setup, lines


def _tensor_state_setup(config: OptimizerConfig, p: str, per_parameter: bool) -> list[str]:
    keys = [k for k in config.state_keys() if k not in ("step", "bias_correction1",
                                                        "bias_correction2", "clr")]
    lines = ["step = 0"] if "step" in config.state_keys() else []
    for key in keys:
        name = "state_sum" if key == "sum" else key
        if config.name == "sgd":
            init = "None"
        elif key == "sum":
            init = f"torch.full_like({p}, {_number(config.get('initial_accumulator'))})"
        else:
            init = f"torch.zeros_like({p})"
        lines.append(f"{name} = {{{p}: {init} for {p} in model.parameters()}}" if per_parameter
                     else f"{name} = {init}")
    return lines


def optimizer_code(config: OptimizerConfig, trainer: str, by_hand: bool = False) -> OptimizerCode:
    """`config`'s update as trainer `trainer`'s cell would write it.

    Plain SGD is the notebook's own line. `by_hand` (nn only) writes torch.optim's update out
    over `model.parameters()`, as the update_with_grad lesson runs it.
    """
    from gdviz.core.registry import spec

    style = spec(trainer).update_style
    if style == "optim" and not by_hand:
        kwargs = "".join(f", {HYPERPARAMETERS[key].torch_name}={_number(value)}"
                         for key, value in config.as_dict().items()
                         if value != config.spec.defaults[key])
        return OptimizerCode(
            (f"optimizer = torch.optim.{config.spec.torch_class}(model.parameters(), "
             f"lr=learning_rate{kwargs})",), ("optimizer.step()",),
            replaces="optimizer = torch.optim.SGD(")
    if config.is_plain_sgd:
        if style == "optim":
            return OptimizerCode((), ("for p in model.parameters():",
                                      "    p -= learning_rate * p.grad"))
        grad = "dw" if style == "float" else "w.grad"
        return OptimizerCode((), (f"w -= learning_rate * {grad}",))
    if style == "float":
        setup, update = _float_lines(config, "w", "dw")
        return OptimizerCode(tuple(setup), tuple(update))
    if style == "tensor":
        setup, update = _tensor_lines(config, "w", "w.grad", lambda key: (
            "state_sum" if key == "sum" else key))
        return OptimizerCode((*setup, *_tensor_state_setup(config, "w", False)), tuple(update))
    setup, body = _tensor_lines(config, "p", "p.grad", lambda key: (
        f"{'state_sum' if key == 'sum' else key}[p]"))
    step_lines = [line for line in body if line == "step += 1"]
    body = [line for line in body if line != "step += 1"]
    return OptimizerCode((*setup, *_tensor_state_setup(config, "p", True)),
                         (*step_lines, "for p in model.parameters():",
                          *(f"    {line}" for line in body)))


def update_code(config: OptimizerConfig, trainer: str) -> list[str]:
    """The lines that replace trainer `trainer`'s update statement (see `optimizer_code`)."""
    return list(optimizer_code(config, trainer).update)
