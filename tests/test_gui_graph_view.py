"""The graph view (pytest-qt): its text items say the live graph's names and numbers, and its
lighting follows the phase. The model is a stand-in with config, history, cursor and phase.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from gdviz.core.autograd_graph import format_number, format_values
from gdviz.core.config import build_config
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.records import StepRecord
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train
from gdviz.ui.graph_view import GraphView


def stand_in(config, epochs: int, cursor: int | None = None,
             phase: Phase | None = None) -> SimpleNamespace:
    """What the view reads of a RunModel."""
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    train(trainer, epochs, history)
    return SimpleNamespace(config=config, history=history, phase=phase,
                           cursor=len(history) if cursor is None else cursor)


def shown(qtbot, model) -> GraphView:
    view = GraphView(model)
    qtbot.addWidget(view)
    view.resize(600, 350)
    view.show()
    qtbot.waitExposed(view)
    view.refresh()
    return view


def texts(view: GraphView) -> list[str]:
    return [item.text() for item in view.scene().items()
            if isinstance(item, QGraphicsSimpleTextItem)]


def live_names(config, params) -> set[str]:
    """The grad_fn names of the cell's loss, walked here (namespace dropped, as drawn)."""
    torch = pytest.importorskip("torch")
    x = torch.tensor(config.x)
    y = torch.tensor(config.y)
    if config.has_bias:
        model = torch.nn.Linear(1, 1)
        loss = torch.nn.MSELoss()(y.reshape(-1, 1), model(x.reshape(-1, 1)))
    else:
        w = torch.tensor(params[0], requires_grad=True)
        loss = ((w * x - y) ** 2).mean()
    names, todo = set(), [loss.grad_fn]
    while todo:
        fn = todo.pop()
        names.add(fn.name().rsplit("::", 1)[-1])
        todo += [child for child, _ in fn.next_functions if child is not None]
    return names


@pytest.mark.parametrize(("trainer", "leaves"), [("autograd", ["w"]),
                                                 ("nn", ["weight", "bias"])])
def test_torch_graph_shows_live_names_and_leaves(qtbot, trainer, leaves):
    config = build_config(trainer)
    model = stand_in(config, 3, phase=Phase.BACKWARD)
    view = shown(qtbot, model)
    shown_texts = texts(view)
    names = live_names(config, model.history.params_at(2))
    assert len(names) >= 4
    assert names <= set(shown_texts)
    assert set(leaves) <= set(shown_texts)
    assert any("torch autograd graph of epoch 3" in t for t in shown_texts)
    # backward: the leaves' gradients are the ones the trainer recorded for epoch 3
    row = model.history.row(3)
    for name in config.param_names:
        assert f"grad = {format_number(row[f'grad_{name}'])}" in shown_texts


def test_numpy_shows_the_hand_derived_chain(qtbot):
    view = shown(qtbot, stand_in(build_config("numpy"), 1, phase=Phase.BACKWARD))
    shown_texts = texts(view)
    for expected in ("y_pred = w·x", "y_pred − y", "mean((·)²)",
                     "np.dot(2x, y_pred − y).mean()", "−120.000", "grad = −120.000"):
        assert expected in shown_texts, expected
    assert any("hand-derived chain" in t for t in shown_texts)


def test_lighting_follows_the_phase(qtbot):
    model = stand_in(build_config("autograd"), 2, phase=Phase.FORWARD)
    view = shown(qtbot, model)
    graph = view.graph
    assert graph is not None
    forward = view.lit_keys()
    assert graph.prediction in forward and graph.loss not in forward
    model.phase = Phase.LOSS
    view.refresh()
    assert view.lit_keys() == set(graph.forward_order)
    loss_texts = view.node_texts(graph.loss)
    assert format_values((model.history.row(2)["loss"],)) in loss_texts
    assert not any(t.startswith("grad =") for t in texts(view))  # no gradients yet
    model.phase = Phase.BACKWARD
    view.refresh()
    assert view.lit_keys() == set(graph.backward_order)
    assert view.node_texts(graph.loss)[-1] == "grad = 1.000"
    model.phase = Phase.UPDATE
    view.refresh()
    assert view.lit_keys() == set(graph.leaves)
    w_after = model.history.params_at(2)[0]
    assert f"updated: {format_number(w_after)}" in view.node_texts(graph.leaves[0])
    model.phase = Phase.ZERO_GRAD
    view.refresh()
    assert "grad = 0.000" in view.node_texts(graph.leaves[0])
    model.phase = None
    view.refresh()
    assert view.lit_keys() == {node.key for node in graph.nodes}


def test_a_phase_change_relights_without_rebuilding(qtbot):
    model = stand_in(build_config("autograd"), 3, phase=Phase.FORWARD)
    view = shown(qtbot, model)
    graph, items = view.graph, set(view.scene().items())
    for _ in range(3):
        view.refresh()
    model.phase = Phase.BACKWARD
    view.refresh()
    assert view.graph is graph
    assert set(view.scene().items()) == items  # same items, re-labelled
    model.cursor = 2
    view.refresh()
    assert view.graph is not graph
    assert any("epoch 2" in t for t in texts(view))


def test_hidden_view_builds_on_show(qtbot):
    model = stand_in(build_config("numpy"), 2)
    view = GraphView(model)
    qtbot.addWidget(view)
    view.refresh()
    assert view.graph is None  # hidden: nothing built
    view.show()
    qtbot.waitExposed(view)
    assert view.graph is not None
    model.cursor = 1
    view.hide()
    view.refresh()
    assert any("epoch 2" in t for t in texts(view))  # still the old one while hidden
    view.show()
    assert any("epoch 1" in t for t in texts(view))


def test_epoch_0_shows_the_structure_only(qtbot):
    view = shown(qtbot, stand_in(build_config("autograd"), 0))
    assert view.graph is not None
    assert view.lit_keys() == frozenset()
    assert any("step to epoch 1" in t for t in texts(view))
    assert "MulBackward0" in texts(view)
    assert not any(t.startswith("grad =") for t in texts(view))


def test_loading_then_a_message_for_a_run_without_a_graph(qtbot):
    config = build_config("autograd")
    model = SimpleNamespace(config=config, history=None, cursor=0, phase=None)
    view = shown(qtbot, model)
    assert texts(view) == ["Preparing the run…"]
    history = History(("w",), (float("nan"),))
    history.append(StepRecord(1, (float("nan"),), (float("nan"),), float("nan"), (0.0,), None))
    model.history, model.cursor = history, 1
    view.refresh()  # never raises
    assert view.graph is None
    assert any("No graph for epoch 1" in t and "not finite" in t for t in texts(view))


def test_rebuild_forgets_the_cached_graph(qtbot):
    model = stand_in(build_config("numpy"), 2)
    view = shown(qtbot, model)
    graph = view.graph
    view.rebuild()
    assert view.graph is not graph and view.graph == graph  # built again, the same numbers


def test_font_scale_enlarges_the_text(qtbot):
    view = shown(qtbot, stand_in(build_config("nn"), 1))

    def sizes() -> list[float]:
        return [item.font().pointSizeF() for item in view.scene().items()
                if isinstance(item, QGraphicsSimpleTextItem)]

    before = max(sizes())
    view.set_font_scale(1.6)
    assert max(sizes()) == pytest.approx(1.6 * before)
    assert "weight" in texts(view)  # re-created, with its labels
    assert view.lit_keys()  # and lit again


def on_screen(view: GraphView):
    """The view's pixels as last painted (the backing store), not a fresh render."""
    from PySide6.QtCore import QPoint

    top_left = view.viewport().mapToGlobal(QPoint(0, 0))
    size = view.viewport().size()
    return view.screen().grabWindow(0, top_left.x(), top_left.y(), size.width(),
                                    size.height()).toImage()


def test_the_view_repaints_what_each_phase_and_epoch_changes(qtbot):
    """The view repaints only when it asks (NoViewportUpdate): after each change what is on
    the screen is what a fresh render of the view shows, edges included."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QImage

    config = build_config("numpy")
    model = stand_in(config, 4, cursor=1)
    view = shown(qtbot, model)

    def rendered() -> QImage:  # a fresh render: what the view shows now
        image = QImage(view.viewport().size(), QImage.Format.Format_RGB32)
        image.fill(QColor("white"))
        view.viewport().render(image, QPoint(0, 0))
        return image

    for cursor, phase in ((1, None), (2, None), (2, Phase.FORWARD), (2, Phase.BACKWARD),
                          (3, Phase.UPDATE), (4, None)):
        model.cursor, model.phase = cursor, phase
        view.refresh()
        expected = rendered()
        qtbot.waitUntil(lambda expected=expected: on_screen(view) == expected, timeout=2000)
    edge = QColor("#666666").rgb()
    image = on_screen(view)
    edge_pixels = sum(image.pixel(x, y) == edge for x in range(0, image.width(), 2)
                      for y in range(0, image.height(), 2))
    assert edge_pixels > 10  # the arrows between the nodes are drawn
