"""The computation graph of one epoch, as the graph view draws it.

For the torch trainers it is the real autograd graph: the epoch's forward pass is run again at
the epoch's parameters (same dtypes, modules and argument order as the trainer), `loss.grad_fn`
is walked depth-first through `next_functions`, and `loss.backward()` runs with a hook on every
node to record the gradient flowing into it and the order the hooks fire. For the numpy trainer
it is the notebook's hand-derived chain, computed in float32 as the trainer does. Built on
demand for the epoch shown, never per training epoch. torch is imported only inside
`build_graph`, so importing this module stays cheap.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from gdviz.core.config import RunConfig
from gdviz.core.numbers import number_text, values_text
from gdviz.core.phases import Phase
from gdviz.core.trainers import data_arrays

if TYPE_CHECKING:
    import torch

Values = tuple[float, ...]
MAX_SHOWN = 6  # longer vectors are summarized: first values, "…", the last one


@dataclass(frozen=True)
class GraphNode:
    key: int  # 0..n−1 in forward (post-)order; stable across builds of the same epoch
    name: str  # grad_fn.name() as torch gives it, or the numpy expression
    kind: str  # "op", "leaf", "input" or "output" (the loss)
    label: str  # short: "w", "weight", "bias", "X", "Y", "y_pred", "loss", "sub"
    value: Values | None  # forward value, flattened; None when it could not be captured
    shape: tuple[int, ...]
    grad: Values | None = None  # gradient flowing into the node's output; None when none
    layer: int = 0  # longest distance from the inputs and leaves
    order: int = 0  # position within the layer
    param: int | None = None  # which parameter a leaf holds (index into params)

    @property
    def display_name(self) -> str:
        """The name without its C++ namespace: "AccumulateGrad" for the leaves."""
        return self.name.rsplit("::", 1)[-1]


@dataclass(frozen=True)
class GraphEdge:
    source: int  # the node whose output feeds `target` (forward direction)
    target: int
    label: str  # the shape of what flows: "4", "4×1", "scalar"
    # (layer, order) of the slots a long edge passes through in the layers between its ends
    bends: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ComputationGraph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    forward_order: tuple[int, ...]  # the order the forward pass computes them
    backward_order: tuple[int, ...]  # the order backward reached them (torch: the hooks fired)
    trainer: str
    source: str  # "torch grad_fn walk" or "numpy chain"
    prediction: int  # the key of y_pred
    loss: int  # the key of the loss
    held_grads: bool = False  # zero_grad forgotten: the leaves keep their gradients

    def node(self, key: int) -> GraphNode:
        return next(node for node in self.nodes if node.key == key)

    @property
    def leaves(self) -> tuple[int, ...]:
        return tuple(node.key for node in self.nodes if node.kind == "leaf")


@dataclass(frozen=True)
class NodeLook:
    """How one node shows at a phase: lit or greyed, which texts, its step in the lit order."""

    lit: bool
    value: str  # "" when not shown
    grad: str  # "" when not shown
    step: int | None  # 1-based position in the order being lit, None when not numbered


format_number = number_text  # the graph's numbers read like the code panel's


def format_values(values: Values | None) -> str:
    """A scalar as a number, a vector as "[1.200, 2.400]"; long vectors summarized."""
    if values is None:
        return "—"
    if len(values) == 1:
        return number_text(values[0])
    return values_text(values, MAX_SHOWN, MAX_SHOWN - 2)


def shape_text(shape: tuple[int, ...]) -> str:
    return "×".join(str(n) for n in shape) if shape else "scalar"


def build_graph(config: RunConfig, params: Sequence[float]) -> ComputationGraph:
    """The graph of one epoch computed at `params` (the parameters before that epoch).

    Raises ValueError for parameters that are not finite (a diverged run has no graph).
    """
    if not all(math.isfinite(p) for p in params):
        raise ValueError("the parameters are not finite: the run diverged, there is no graph")
    if not config.spec.needs_torch:
        return _numpy_chain(config, float(params[0]))
    return _torch_graph(config, tuple(float(p) for p in params))


def node_looks(graph: ComputationGraph, phase: Phase | None,
               params_after: Sequence[float] | None = None,
               leaf_grads: Sequence[float] | None = None,
               at_start: bool = False) -> dict[int, NodeLook]:
    """What each node shows at `phase` of its epoch (None: the whole epoch, done).

    FORWARD lights the nodes computing y_pred, LOSS everything up to the loss, BACKWARD every
    node reached by backward (numbered in the order it reached them), UPDATE and ZERO_GRAD the
    leaves, at their values after the update (`params_after`). `leaf_grads`: what the leaves'
    .grad held after backward (the trainer's record), shown at ZERO_GRAD when zero_grad() was
    forgotten. `at_start`: epoch 0, the structure only.
    """
    keys = [node.key for node in graph.nodes]
    if at_start:
        return {key: NodeLook(False, "", "", None) for key in keys}
    forward = graph.forward_order
    if phase is Phase.FORWARD:
        feeding = _ancestors(graph, graph.prediction)
        forward = tuple(k for k in forward if k in feeding)
    forward_phase = phase in (Phase.FORWARD, Phase.LOSS)
    shows_values = set(forward) if forward_phase else set(keys)
    numbered: tuple[int, ...] = ()
    if forward_phase:
        lit, numbered = set(forward), forward
    elif phase is Phase.BACKWARD:
        lit, numbered = set(graph.backward_order), graph.backward_order
    elif phase is not None:  # update, zero_grad
        lit = set(graph.leaves)
    else:
        lit = set(keys)
    looks = {}
    for node in graph.nodes:
        value = format_values(node.value) if node.key in shows_values else ""
        grad = format_values(node.grad) if not forward_phase and node.grad is not None else ""
        if node.kind == "leaf" and grad and graph.held_grads:
            grad += " (this epoch's share)"  # .grad itself also holds the earlier epochs'
        if node.kind == "leaf" and phase is not None and phase.updated:
            if params_after is not None and node.param is not None:
                value = f"updated: {format_number(params_after[node.param])}"
            if phase is Phase.ZERO_GRAD and not graph.held_grads:
                grad = "0.000"
            elif phase is Phase.ZERO_GRAD and leaf_grads is not None and node.param is not None:
                grad = f"{format_number(leaf_grads[node.param])} (not zeroed: the sum so far)"
        step = numbered.index(node.key) + 1 if node.key in numbered else None
        looks[node.key] = NodeLook(node.key in lit, value, grad, step)
    return looks


def _ancestors(graph: ComputationGraph, key: int) -> set[int]:
    """`key` and every node it is computed from."""
    found, todo = {key}, [key]
    while todo:
        target = todo.pop()
        for edge in graph.edges:
            if edge.target == target and edge.source not in found:
                found.add(edge.source)
                todo.append(edge.source)
    return found


# --- the numpy cell's chain ------------------------------------------------------------------

def _numpy_chain(config: RunConfig, w: float) -> ComputationGraph:
    """The trainer's arithmetic, step by step, in float32 (see NumpyTrainer.step)."""
    x, y = data_arrays(config)
    # A diverging run overflows float32 on its last epochs, as the trainer does: said by the
    # values (inf), not by warnings on the terminal.
    with np.errstate(over="ignore", invalid="ignore"):
        y_pred = np.float32(w) * x
        error = y_pred - y
        loss = (error**2).mean()
        dw = np.dot(2 * x, error)
        gradient = "np.dot(2x, y_pred − y).mean()"  # .mean() of a scalar: the same number
        if config.gradient == "mean":
            dw = dw / np.float32(x.size)
            gradient = "np.dot(2x, y_pred − y) / N"

    def node(key: int, name: str, kind: str, label: str, value: Any,
             grad: Values | None = None, param: int | None = None) -> GraphNode:
        array = np.asarray(value)
        return GraphNode(key, name, kind, label, tuple(array.reshape(-1).tolist()),
                         array.shape, grad, param=param)

    nodes = [node(0, "x", "input", "x", x), node(1, "w", "leaf", "w", np.float32(w),
                                                  grad=(float(dw),), param=0),
             node(2, "y_pred = w·x", "op", "y_pred", y_pred), node(3, "y", "input", "y", y),
             node(4, "y_pred − y", "op", "error", error),
             node(5, "mean((·)²)", "output", "loss", loss), node(6, gradient, "op", "dw", dw)]
    links = [(0, 2), (1, 2), (2, 4), (3, 4), (4, 5), (0, 6), (4, 6)]
    edges = [GraphEdge(s, t, shape_text(nodes[s].shape)) for s, t in links]
    laid_nodes, laid_edges = _laid_out(nodes, edges)
    return ComputationGraph(laid_nodes, laid_edges, forward_order=(0, 1, 2, 3, 4, 5),
                            backward_order=(6, 1), trainer=config.trainer, source="numpy chain",
                            prediction=2, loss=5)


# --- torch: the real autograd graph ----------------------------------------------------------

# Nodes the forward capture cannot see (they run inside another function): their value derived
# from their input's.
_DERIVED: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "TBackward0": lambda tensor: tensor.t(),
}


def _torch_graph(config: RunConfig, params: Values) -> ComputationGraph:
    import torch
    from torch.overrides import TorchFunctionMode

    outputs: dict[int, _Output] = {}

    class Capture(TorchFunctionMode):
        """Keeps each op's output, by id of its grad_fn, and the constant tensors it took."""

        def __torch_function__(self, func: Any, types: Any, args: Any = (),
                               kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            fn = getattr(out, "grad_fn", None)
            if fn is not None:
                constants = [a for a in args
                             if isinstance(a, torch.Tensor) and not a.requires_grad]
                # fn itself is kept too: a grad_fn's Python object lives only while referenced,
                # and a new one (another id) would be made for the walk
                outputs[id(fn)] = _Output(fn, out, getattr(func, "__name__", "op"), constants)
            return out

    x = torch.tensor(config.x, dtype=torch.float32)
    y = torch.tensor(config.y, dtype=torch.float32)
    with torch.enable_grad():
        if config.spec.has_bias:  # the nn cell: nn.Linear + nn.MSELoss, target first
            x, y = x.reshape(-1, 1), y.reshape(-1, 1)
            # nn.Linear(1, 1)'s parameters and its forward, F.linear, without building the
            # module (its init drew from the RNG and cost a millisecond per epoch shown)
            weight = torch.nn.Parameter(torch.tensor([[params[0]]], dtype=torch.float32))
            bias = torch.nn.Parameter(torch.tensor([params[1]], dtype=torch.float32))
            leaves = {id(weight): ("weight", 0), id(bias): ("bias", 1)}
            with Capture():
                y_pred = torch.nn.functional.linear(x, weight, bias)
                loss = torch.nn.MSELoss()(y, y_pred)
        else:  # the autograd cell on a scalar w
            w = torch.tensor(params[0], dtype=torch.float32, requires_grad=True)
            leaves = {id(w): ("w", 0)}
            with Capture():
                y_pred = w * x
                loss = ((y_pred - y) ** 2).mean()
        inputs = {id(x): "X", id(y): "Y"}
        walk = _Walk(outputs, inputs, leaves)
        assert loss.grad_fn is not None and y_pred.grad_fn is not None
        walk.visit(loss.grad_fn)
        fired = walk.hook_all()
        loss.backward()
    prediction, loss_key = walk.keys[id(y_pred.grad_fn)], walk.keys[id(loss.grad_fn)]
    nodes = [replace(n, grad=walk.grad_of(n.key),
                     kind="output" if n.key == loss_key else n.kind,
                     label={prediction: "y_pred", loss_key: "loss"}.get(n.key, n.label))
             for n in walk.nodes]
    edges = [GraphEdge(s, t, shape_text(nodes[s].shape)) for s, t in walk.edges]
    laid_nodes, laid_edges = _laid_out(nodes, edges)
    return ComputationGraph(laid_nodes, laid_edges,
                            forward_order=tuple(range(len(nodes))),
                            backward_order=tuple(walk.keys[i] for i in fired),
                            trainer=config.trainer, source="torch grad_fn walk",
                            prediction=prediction, loss=loss_key,
                            held_grads=config.forget_zero_grad)


@dataclass(frozen=True)
class _Output:
    """What the forward capture saw of one op."""

    fn: Any  # its grad_fn
    tensor: torch.Tensor
    func_name: str
    constants: list[torch.Tensor]  # the tensor arguments that need no gradient, in order


class _Walk:
    """The depth-first walk of `loss.grad_fn`: nodes keyed by id(grad_fn) (two leaves share the
    name AccumulateGrad), numbered in post-order, which is an order the forward pass can run.
    """

    def __init__(self, outputs: dict[int, _Output],
                 inputs: dict[int, str], leaves: dict[int, tuple[str, int]]) -> None:
        self.outputs, self.inputs, self.leaves = outputs, inputs, leaves
        self.keys: dict[int, int] = {}  # id(grad_fn) or id(constant tensor) → node key
        self.nodes: list[GraphNode] = []
        self.edges: list[tuple[int, int]] = []
        self.fns: list[Any] = []  # every grad_fn, kept alive so that ids stay unique
        self.values: dict[int, torch.Tensor] = {}
        self.grads: dict[int, torch.Tensor] = {}

    def visit(self, fn: Any) -> int:
        if id(fn) in self.keys:
            return self.keys[id(fn)]
        captured = self.outputs.get(id(fn))
        func_name, constants = (captured.func_name, captured.constants) if captured else ("", [])
        nexts = [nxt for nxt, _ in fn.next_functions]
        # None entries are inputs that need no gradient; name them when they pair up one to
        # one with the constant tensors the op was called with.
        pairs = iter(constants if len(constants) == nexts.count(None) else [])
        sources = []
        for nxt in nexts:
            if nxt is not None:
                sources.append(self.visit(nxt))
            elif (tensor := next(pairs, None)) is not None:
                sources.append(self._constant(tensor))
        name = fn.name()
        value, kind, label, param = self._describe(fn, name, func_name, sources)
        key = self._add(id(fn), GraphNode(len(self.nodes), name, kind, label, *_flat(value),
                                          param=param), value)
        self.fns.append(fn)
        self.edges += [(source, key) for source in sources]
        return key

    def _describe(self, fn: Any, name: str, func_name: str, sources: list[int],
                  ) -> tuple[torch.Tensor | None, str, str, int | None]:
        leaf = getattr(fn, "variable", None)  # AccumulateGrad holds the leaf tensor
        if leaf is not None:
            label, param = self.leaves.get(id(leaf), ("leaf", None))
            return leaf.detach(), "leaf", label, param
        if id(fn) in self.outputs:
            return self.outputs[id(fn)].tensor.detach(), "op", func_name, None
        derive = _DERIVED.get(name)
        source_value = self.values.get(sources[0]) if len(sources) == 1 else None
        value = derive(source_value) if derive and source_value is not None else None
        return value, "op", re.sub(r"Backward\d*$", "", name).lower(), None

    def _constant(self, tensor: torch.Tensor) -> int:
        if id(tensor) in self.keys:
            return self.keys[id(tensor)]
        label = self.inputs.get(id(tensor), "const")
        return self._add(id(tensor), GraphNode(len(self.nodes), label, "input", label,
                                               *_flat(tensor)), tensor)

    def _add(self, identity: int, node: GraphNode, value: torch.Tensor | None) -> int:
        self.keys[identity] = node.key
        self.nodes.append(node)
        if value is not None:
            self.values[node.key] = value
        return node.key

    def hook_all(self) -> list[int]:
        """Hooks on every grad_fn: the gradient flowing in, and the order they fire."""
        fired: list[int] = []
        for fn in self.fns:
            fn.register_hook(self._hook(id(fn), fired))
        return fired

    def _hook(self, identity: int, fired: list[int]) -> Callable[[Any, Any], None]:
        def record(grad_inputs: Any, grad_outputs: Any) -> None:
            fired.append(identity)
            if grad_outputs and grad_outputs[0] is not None:
                self.grads[self.keys[identity]] = grad_outputs[0].detach().clone()
        return record

    def grad_of(self, key: int) -> Values | None:
        grad = self.grads.get(key)
        return None if grad is None else _flat(grad)[0]


def _flat(tensor: torch.Tensor | None) -> tuple[Values | None, tuple[int, ...]]:
    if tensor is None:
        return None, ()
    return tuple(float(v) for v in tensor.reshape(-1).tolist()), tuple(tensor.shape)


# --- layout ----------------------------------------------------------------------------------

def _laid_out(nodes: list[GraphNode], edges: list[GraphEdge],
              ) -> tuple[tuple[GraphNode, ...], tuple[GraphEdge, ...]]:
    """Layers by longest distance from the sources, each source pulled down to just above its
    first consumer (X beside the op using it, not far above). An edge spanning several layers
    gets a slot (a bend) in each layer it crosses, so it is routed around the nodes there.
    Within a layer, a few barycentre sweeps reduce crossings.
    """
    layer = _layers(nodes, edges)
    inputs: dict[int, list[int]] = {n.key: [] for n in nodes}
    consumers: dict[int, list[int]] = {n.key: [] for n in nodes}
    chains = []
    for edge in edges:
        chain = [edge.source]
        for number in range(layer[edge.source] + 1, layer[edge.target]):
            bend = -1 - len(layer)  # negative: never a node's key
            layer[bend], inputs[bend], consumers[bend] = number, [], []
            chain.append(bend)
        chain.append(edge.target)
        for source, target in itertools.pairwise(chain):
            inputs[target].append(source)
            consumers[source].append(target)
        chains.append(chain)
    rows: dict[int, list[int]] = {}
    for key in layer:
        rows.setdefault(layer[key], []).append(key)

    def place(key: int) -> float:
        row = rows[layer[key]]
        return row.index(key) - (len(row) - 1) / 2

    for _ in range(2):  # down then up, twice
        for neighbours, order in ((inputs, sorted(rows)), (consumers, sorted(rows)[::-1])):
            for number in order:
                centre = {k: _mean([place(n) for n in neighbours[k]], place(k))
                          for k in rows[number]}
                rows[number].sort(key=centre.__getitem__)
    slot = {key: (layer[key], rows[layer[key]].index(key)) for key in layer}
    return (tuple(replace(n, layer=slot[n.key][0], order=slot[n.key][1]) for n in nodes),
            tuple(replace(e, bends=tuple(slot[b] for b in chain[1:-1]))
                  for e, chain in zip(edges, chains, strict=True)))


def _layers(nodes: list[GraphNode], edges: list[GraphEdge]) -> dict[int, int]:
    inputs: dict[int, list[int]] = {n.key: [] for n in nodes}
    consumers: dict[int, list[int]] = {n.key: [] for n in nodes}
    for edge in edges:
        inputs[edge.target].append(edge.source)
        consumers[edge.source].append(edge.target)
    layer: dict[int, int] = {}

    def depth(key: int) -> int:
        if key not in layer:
            layer[key] = 1 + max((depth(k) for k in inputs[key]), default=-1)
        return layer[key]

    for node in nodes:
        depth(node.key)
    for node in nodes:
        if not inputs[node.key] and consumers[node.key]:
            layer[node.key] = min(layer[c] for c in consumers[node.key]) - 1
    return layer


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default
