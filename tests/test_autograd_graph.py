"""The epoch's computation graph (gdviz.core.autograd_graph), no Qt.

The torch graphs are checked against an independent walk of a `grad_fn` graph built here, and
their numbers against the trainers' own records, so nothing below is a hard-coded list of names.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from gdviz.core.autograd_graph import (
    ComputationGraph,
    build_graph,
    format_number,
    format_values,
    node_looks,
)
from gdviz.core.config import build_config
from gdviz.core.phases import Phase
from gdviz.core.trainers import make_trainer

torch = pytest.importorskip("torch")


def live_walk(loss) -> list[str]:
    """grad_fn names in depth-first post-order over next_functions, each node once."""
    seen: set[int] = set()
    names: list[str] = []

    def visit(fn) -> None:
        if fn is None or id(fn) in seen:
            return
        seen.add(id(fn))
        for child, _ in fn.next_functions:
            visit(child)
        names.append(fn.name())

    visit(loss.grad_fn)
    return names


def live_loss(trainer: str, params: tuple[float, ...]):
    """The notebook cell's forward pass, written out here independently of gdviz."""
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    y = torch.tensor([2.0, 4.0, 6.0, 8.0])
    if trainer == "autograd":
        w = torch.tensor(params[0], requires_grad=True)
        return ((w * x - y) ** 2).mean()
    model = torch.nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(params[0])
        model.bias.fill_(params[1])
    return torch.nn.MSELoss()(y.reshape(-1, 1), model(x.reshape(-1, 1)))


def ops(graph: ComputationGraph) -> list[str]:
    """The graph's grad_fn nodes (everything but the constant inputs), by key."""
    return [node.name for node in graph.nodes if node.kind != "input"]


def records(trainer_name: str, epochs: int, **explicit):
    trainer = make_trainer(build_config(trainer_name, explicit))
    return [trainer.step() for _ in range(epochs)]


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
def test_names_are_those_of_a_live_walk(trainer):
    params = (0.7, -0.3)[: len(build_config(trainer).param_names)]
    graph = build_graph(build_config(trainer), params)
    expected = live_walk(live_loss(trainer, params))
    assert ops(graph) == expected  # same names, same depth-first post-order
    assert graph.source == "torch grad_fn walk"
    assert graph.node(graph.loss).name == expected[-1]
    assert graph.node(graph.loss).kind == "output"


@pytest.mark.parametrize(("trainer", "leaves"), [("autograd", {"w"}), ("nn", {"weight", "bias"})])
def test_leaves_are_the_parameters(trainer, leaves):
    graph = build_graph(build_config(trainer), (1.0, 0.5)[: len(leaves)])
    found = {graph.node(key).label: graph.node(key) for key in graph.leaves}
    assert set(found) == leaves
    assert all(node.name.endswith("AccumulateGrad") for node in found.values())
    inputs = {node.label for node in graph.nodes if node.kind == "input"}
    assert inputs == {"X", "Y"}


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
def test_numbers_are_the_trainers_own(trainer):
    """Leaf gradients, the loss and y_pred, exactly as the trainer recorded them."""
    for record in records(trainer, 3):
        graph = build_graph(build_config(trainer), record.params_before)
        grads = {graph.node(k).param: graph.node(k).grad for k in graph.leaves}
        assert grads == {i: (g,) for i, g in enumerate(record.grads)}
        assert graph.node(graph.loss).value == (record.loss,)
        assert graph.node(graph.prediction).value == tuple(record.y_pred.tolist())
        leaf_values = {graph.node(k).param: graph.node(k).value for k in graph.leaves}
        assert leaf_values == {i: (p,) for i, p in enumerate(record.params_before)}


@pytest.mark.parametrize("trainer", ["autograd", "nn"])
def test_backward_order_is_every_op_once_loss_first(trainer):
    graph = build_graph(build_config(trainer), (0.2, 0.1)[: len(build_config(trainer).param_names)])
    grad_fns = [node.key for node in graph.nodes if node.kind != "input"]
    assert sorted(graph.backward_order) == sorted(grad_fns)
    assert graph.backward_order[0] == graph.loss
    assert graph.node(graph.loss).grad == (1.0,)  # backward() starts from dL/dL = 1
    assert all(graph.node(k).grad is not None for k in graph.backward_order)


def test_the_gradient_flowing_into_y_pred_is_dl_dy_pred():
    """autograd: the hook on MulBackward0 sees dL/dy_pred = 2 (y_pred − y) / N."""
    graph = build_graph(build_config("autograd"), (0.5,))
    x, y = np.float32([1, 2, 3, 4]), np.float32([2, 4, 6, 8])
    expected = 2 * (np.float32(0.5) * x - y) / np.float32(4)
    np.testing.assert_allclose(graph.node(graph.prediction).grad, expected, rtol=1e-6)


def test_forward_values_of_the_intermediate_ops():
    graph = build_graph(build_config("autograd"), (1.0,))
    by_label = {node.label: node.value for node in graph.nodes}
    assert by_label["y_pred"] == (1.0, 2.0, 3.0, 4.0)
    assert by_label["sub"] == (-1.0, -2.0, -3.0, -4.0)
    assert by_label["pow"] == (1.0, 4.0, 9.0, 16.0)
    assert by_label["loss"] == (7.5,)


@pytest.mark.parametrize(("mode", "dw"), [("notebook", -120.0), ("mean", -30.0)])
def test_numpy_chain_at_w_0(mode, dw):
    graph = build_graph(build_config("numpy", {"gradient": mode}), (0.0,))
    assert graph.source == "numpy chain"
    by_label = {node.label: node for node in graph.nodes}
    assert by_label["dw"].value == (dw,)
    assert by_label["w"].grad == (dw,)
    assert by_label["loss"].value == (30.0,)
    assert by_label["error"].value == (-2.0, -4.0, -6.0, -8.0)
    assert {"x", "w", "y", "y_pred = w·x", "y_pred − y", "mean((·)²)"} <= {
        node.name for node in graph.nodes}
    assert format_values(by_label["dw"].value) == format_number(dw)


@pytest.mark.parametrize("mode", ["notebook", "mean"])
def test_numpy_chain_matches_the_trainer(mode):
    for record in records("numpy", 4, gradient=mode):
        graph = build_graph(build_config("numpy", {"gradient": mode}), record.params_before)
        w = graph.node(graph.leaves[0])
        assert w.grad == record.grads
        assert graph.node(graph.loss).value == (record.loss,)
        assert graph.node(graph.prediction).value == tuple(record.y_pred.tolist())


def test_building_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    build_graph(build_config("nn"), (0.3, 0.1))
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_params_have_no_graph(bad):
    with pytest.raises(ValueError, match="not finite"):
        build_graph(build_config("autograd"), (bad,))


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_layout_is_layered(trainer):
    graph = build_graph(build_config(trainer), (0.4, 0.2)[: len(build_config(trainer).param_names)])
    layer = {node.key: node.layer for node in graph.nodes}
    slots = [(node.layer, node.order) for node in graph.nodes]
    slots += [bend for edge in graph.edges for bend in edge.bends]
    assert len(set(slots)) == len(slots)  # one node or bend per slot
    for edge in graph.edges:
        assert layer[edge.source] < layer[edge.target]
        assert [b[0] for b in edge.bends] == list(range(layer[edge.source] + 1,
                                                         layer[edge.target]))
    assert layer[graph.loss] == max(layer.values())
    for layer_number in set(layer.values()):  # orders are 0..n−1 in every layer
        orders = sorted(o for (n, o) in slots if n == layer_number)
        assert orders == list(range(len(orders)))


def test_lighting_follows_the_phases():
    config = build_config("nn")
    graph = build_graph(config, (0.5, 0.1))
    after = (0.6, 0.2)
    leaves = set(graph.leaves)

    def lit(phase):
        return {k for k, look in node_looks(graph, phase, after).items() if look.lit}

    forward = lit(Phase.FORWARD)
    assert graph.prediction in forward and graph.loss not in forward
    assert leaves <= forward  # weight and bias feed y_pred
    y = next(n.key for n in graph.nodes if n.label == "Y")
    assert y not in forward
    assert lit(Phase.LOSS) == set(graph.forward_order)
    assert lit(Phase.BACKWARD) == set(graph.backward_order)
    assert lit(Phase.UPDATE) == lit(Phase.ZERO_GRAD) == leaves
    assert lit(None) == {n.key for n in graph.nodes}
    assert not any(look.lit or look.value for look in
                   node_looks(graph, None, after, at_start=True).values())

    backward = node_looks(graph, Phase.BACKWARD, after)
    assert [k for k, look in sorted(backward.items(), key=lambda kv: kv[1].step or 99)
            if look.step] == list(graph.backward_order)
    assert all(backward[k].grad for k in graph.backward_order)
    assert not any(look.grad for look in node_looks(graph, Phase.LOSS, after).values())
    update = node_looks(graph, Phase.UPDATE, after)
    weight = next(k for k in leaves if graph.node(k).label == "weight")
    assert update[weight].value == f"updated: {format_number(0.6)}"
    assert node_looks(graph, Phase.ZERO_GRAD, after)[weight].grad == "0.000"


def test_forgotten_zero_grad_keeps_the_leaf_gradients():
    """Epoch 2 without zero_grad: the hook sees this epoch's gradient, .grad holds the sum."""
    config = build_config("autograd", {"forget_zero_grad": True})
    first, second = records("autograd", 2, forget_zero_grad=True)
    graph = build_graph(config, second.params_before)
    w = graph.leaves[0]
    share = graph.node(w).grad
    assert share is not None
    assert second.grads[0] == pytest.approx(first.grads[0] + share[0], rel=1e-6)
    assert node_looks(graph, Phase.BACKWARD)[w].grad == f"{format_number(share[0])} " \
        "(this epoch's share)"
    held = node_looks(graph, Phase.ZERO_GRAD, second.params_after, second.grads)[w].grad
    assert held.startswith(format_number(second.grads[0])) and "not zeroed" in held


def test_formatting():
    assert format_number(-120.0) == "−120.000"
    assert format_number(-0.0) == "0.000"
    assert format_number(2.5e-5) == "2.500e−05"
    assert format_values((1.2, 2.4)) == "[1.200, 2.400]"
    long = format_values(tuple(float(i) for i in range(10)))
    assert long.startswith("[0.000, 1.000") and "…, 9.000]" in long and "10 values" in long
    assert format_values(None) == "—"


def test_importing_the_module_does_not_import_torch():
    script = "import gdviz.core.autograd_graph, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_a_diverged_numpy_epoch_builds_without_warnings() -> None:
    """Overflow in float32 is the run's divergence, shown as inf, never a RuntimeWarning
    (the suite turns warnings into errors; a newcomer saw one on the terminal)."""
    from gdviz.core.autograd_graph import build_graph
    from gdviz.core.config import build_config

    graph = build_graph(build_config("numpy"), (3e37,))
    assert graph.nodes
