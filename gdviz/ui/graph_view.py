"""The graph view: the computation of the epoch under the cursor, lit phase by phase.

The graph itself (the torch trainers' real autograd graph, or the numpy cell's hand-derived
chain) and what each node shows at a phase come from `gdviz.core.autograd_graph`; this module
only draws them with Qt. Every label is a QGraphicsSimpleTextItem, so tests and screen readers
can read it. The graph is built only for the epoch shown, only while the view is visible, and
cached by (config, epoch): a phase change only re-lights and re-labels the items.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from gdviz.core.autograd_graph import ComputationGraph, GraphNode, NodeLook, build_graph, node_looks
from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.ui.lecture_model import LectureModel

LOADING = "Preparing the run…"
BASE_POINT_SIZE = 11.0
MIN_ZOOM = 0.6  # fitting never shrinks 11 pt text below ~6.6 pt: past that, scroll instead
MAX_ZOOM = 2.0
# Sizes in pixels at font scale 1; they grow with the font in presenter mode.
BADGE_ROOM = 8.0  # the step badge sits on the node's top-left corner
GAP_X, GAP_Y, PAD = 20.0, 24.0, 5.0
# Okabe-Ito, one colour per kind of node; unlit nodes are grey.
KIND_COLORS = {"op": "#0072B2", "leaf": "#E69F00", "input": "#009E73", "output": "#D55E00"}
INK, GREY_INK, GREY_LINE, GREY_FILL = "#222222", "#999999", "#BBBBBB", "#F4F4F4"
EDGE_INK = "#666666"
BEND_WIDTH = 12.0  # the room a long edge takes in a layer it passes through


@dataclass
class _NodeItems:
    box: QGraphicsPathItem
    texts: tuple[QGraphicsSimpleTextItem, ...]  # primary, secondary
    value: QGraphicsSimpleTextItem
    grad: QGraphicsSimpleTextItem
    badge: QGraphicsEllipseItem
    kind: str
    look: NodeLook | None = None  # what the items show now


class GraphView(QGraphicsView):
    """The epoch's computation graph (objectName "graphView")."""

    def __init__(self, model: LectureModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graphView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        # The scene changes only when this view changes it: it asks for one repaint itself
        # (Qt's own tracking of the re-lit items painted the view twice per sub-step).
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.NoViewportUpdate)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.model = model
        self._font_scale = 1.0
        self._built_for: tuple[RunConfig, int] | None = None
        self._graph: ComputationGraph | None = None
        self._message = ""
        self._params_after: tuple[float, ...] = ()
        self._leaf_grads: tuple[float, ...] | None = None  # .grad after backward, recorded
        self._lit_as: object = None  # the (built_for, phase) the items are lit for
        self._items: dict[int, _NodeItems] = {}
        self._title: QGraphicsSimpleTextItem | None = None
        self._title_room: QRectF | None = None  # of a graph's title at its widest
        self._new_items = False  # drawn anew since the last repaint
        self._lit: frozenset[int] = frozenset()
        self._focus: int | None = None
        self._fitted: tuple[object, ...] = ()  # what the zoom was last chosen for
        self.shown_cursor = 0  # the epoch the view last followed (it holds it while playing)

    # --- what the window calls ---------------------------------------------------------------

    def refresh(self) -> None:
        """Follow the model. Cheap when nothing changed; nothing at all while hidden."""
        if not self.isVisible():
            return  # showEvent catches up
        model = self.model
        self.shown_cursor = model.cursor
        history = model.history
        if history is None:
            if self._message != LOADING:
                self._graph, self._built_for = None, None
                self._show_message(LOADING)
            return
        epoch = min(max(model.cursor, 0), len(history))
        if (model.config, epoch) != self._built_for:
            self._build(model.config, history, epoch)
        phase = model.phase if epoch > 0 else None
        if (self._built_for, phase) != self._lit_as:
            self._light(phase)

    def rebuild(self) -> None:
        """The run was reset: forget the cached graph."""
        self._built_for = None
        self._lit_as = None
        self.refresh()

    def set_font_scale(self, scale: float) -> None:
        """1.0 normal, about 1.6 for presenter mode: the text is re-created at that size."""
        self._font_scale = scale
        self._lit_as = None
        if self._graph is not None:
            self._draw()
        elif self._message:
            self._show_message(self._message)
        self.refresh()

    # --- for tests ---------------------------------------------------------------------------

    @property
    def graph(self) -> ComputationGraph | None:
        return self._graph

    def lit_keys(self) -> frozenset[int]:
        return self._lit

    def node_texts(self, key: int) -> list[str]:
        items = self._items[key]
        return [item.text() for item in (*items.texts, items.value, items.grad) if item.text()]

    # --- building and drawing ----------------------------------------------------------------

    def _build(self, config: RunConfig, history: History, epoch: int) -> None:
        self._built_for = (config, epoch)
        self._params_after = history.params_at(epoch)
        row = history.row(epoch) if epoch else {}
        self._leaf_grads = tuple(row[f"grad_{p}"] for p in history.param_names) if row else None
        try:
            graph = build_graph(config, history.params_at(max(epoch - 1, 0)))
        except Exception as error:  # a graph that cannot be built is said, never raised
            self._graph = None
            self._show_message(f"No graph for epoch {epoch}: {error}")
            return
        previous, self._graph = self._graph, graph
        if self._fits_drawn(previous, graph):
            self._lit_as = None  # the next epoch of the same graph: only re-label the items
            return
        self._draw()

    def _fits_drawn(self, previous: ComputationGraph | None, graph: ComputationGraph) -> bool:
        """The items drawn for `previous` can show `graph`: the same nodes and edges, and every
        text of every phase fits its box. Re-creating the scene cost ~5 ms at each new epoch,
        and the boxes keep their place from epoch to epoch instead of jittering."""
        if previous is None or not self._items or _structure(previous) != _structure(graph):
            return False
        widths = self._widths(graph)
        return all(widths[key] <= items.box.path().boundingRect().width() + 0.5
                   for key, items in self._items.items())

    def _px(self, size: float) -> float:
        return size * self._font_scale

    def _font(self, factor: float = 1.0, bold: bool = False) -> QFont:
        font = QFont(self.font())
        font.setPointSizeF(BASE_POINT_SIZE * self._font_scale * factor)
        font.setBold(bold)
        return font

    def _text(self, text: str, font: QFont, parent: QGraphicsItem | None = None,
              color: str = INK) -> QGraphicsSimpleTextItem:
        item = QGraphicsSimpleTextItem(text, parent)
        # Painted from a pixmap until its text, colour or the zoom changes: a sub-step repaints
        # the nodes it re-lights, and their unchanged texts need not be drawn again.
        item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        item.setFont(font)
        item.setBrush(QColor(color))
        if parent is None:
            self.scene().addItem(item)
        return item

    def _show_message(self, text: str) -> None:
        self._clear()
        self._message = text
        self._title = self._text(text, self._font(1.1))
        self._fit()
        self.viewport().update()

    def _clear(self) -> None:
        self.scene().clear()
        self._items, self._title, self._lit, self._message = {}, None, frozenset(), ""
        self._title_room = None
        self._focus = None

    def _draw(self) -> None:
        """Create every item for the current graph, sized for the widest text of any phase."""
        graph = self._graph
        assert graph is not None
        self._clear()
        self._lit_as = None
        self._new_items = True  # the next _light repaints the whole view (edges too)
        line = QFontMetricsF(self._font()).height()
        fonts = self._fonts()
        height = 2 * self._px(PAD) + 3 * line
        widths = self._widths(graph)
        rects = self._place(graph, widths, 2.5 * line, height)
        self._title = self._text("", self._font(bold=True))  # two lines: what, and the phase
        self._title.setPos(min(rect.left() for rect in rects.values()), 0)
        # The room of the widest title of any phase: a phase's title never changes the fit.
        metrics = QFontMetricsF(self._title.font())
        last = self._built_for[0].epochs if self._built_for is not None else 1
        titles = [_title(graph, epoch, phase) for epoch in (0, last) for phase in (None, *Phase)]
        self._title_room = QRectF(self._title.pos(), QSizeF(
            max(metrics.horizontalAdvance(line) for text in titles for line in text.split("\n")),
            2 * metrics.lineSpacing()))
        for node in graph.nodes:
            rect = rects[(node.layer, node.order)]
            self._items[node.key] = self._node(node, rect, fonts, line)
        self._edges(graph, rects)

    def _fonts(self) -> tuple[QFont, ...]:
        """Of a node: its name (bold), what it computes, its value, its gradient."""
        return self._font(bold=True), self._font(0.85), self._font(), self._font()

    def _widths(self, graph: ComputationGraph) -> dict[int, float]:
        """Each node's box width: room for its widest text at any phase of the epoch."""
        metrics = [QFontMetricsF(font) for font in self._fonts()]
        looks = [node_looks(graph, phase, self._params_after, self._leaf_grads)
                 for phase in (None, *Phase)]
        return {node.key: self._width(node, [look[node.key] for look in looks], metrics)
                for node in graph.nodes}

    def _width(self, node: GraphNode, looks: list[NodeLook],
               metrics: list[QFontMetricsF]) -> float:
        primary, secondary = _titles(node)
        first = self._px(BADGE_ROOM + 6) + metrics[0].horizontalAdvance(primary) + (
            metrics[1].horizontalAdvance(secondary) if secondary else 0)
        values = max(metrics[2].horizontalAdvance(look.value) for look in looks)
        grads = max(metrics[3].horizontalAdvance(_grad_text(look.grad)) for look in looks)
        # + 4: bold text runs a little wider than its advance
        return max(first, values, grads, 40.0) + self._px(2 * PAD + 4)

    def _place(self, graph: ComputationGraph, widths: dict[int, float], top: float,
               height: float) -> dict[tuple[int, int], QRectF]:
        """Layers top to bottom (leaves and inputs above, the loss below), centred rows; a
        (layer, order) slot is a node or the bend of a long edge passing by.
        """
        slots = {(n.layer, n.order): widths[n.key] for n in graph.nodes}
        slots.update({bend: self._px(BEND_WIDTH) for edge in graph.edges for bend in edge.bends})
        rows: dict[int, list[tuple[int, int]]] = {}
        for slot in sorted(slots):
            rows.setdefault(slot[0], []).append(slot)
        gap_x, gap_y = self._px(GAP_X), self._px(GAP_Y)
        rects = {}
        for layer, row in rows.items():
            x = -(sum(slots[s] for s in row) + gap_x * (len(row) - 1)) / 2
            for slot in row:
                rects[slot] = QRectF(x, top + layer * (height + gap_y), slots[slot], height)
                x += slots[slot] + gap_x
        return rects

    def _node(self, node: GraphNode, rect: QRectF, fonts: tuple[QFont, ...],
              line: float) -> _NodeItems:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, rect.width(), rect.height()), 8, 8)
        box = QGraphicsPathItem(path)
        box.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        box.setPos(rect.topLeft())
        box.setToolTip(node.name)
        self.scene().addItem(box)
        primary, secondary = _titles(node)
        first = self._text(primary, fonts[0], box)
        pad = self._px(PAD)
        first.setPos(pad + self._px(BADGE_ROOM), pad)
        texts = [first]
        if secondary:
            second = self._text(secondary, fonts[1], box, GREY_INK)
            second.setPos(first.pos().x() + first.boundingRect().width() + self._px(6),
                          pad + 0.1 * line)
            texts.append(second)
        value = self._text("", fonts[2], box)
        value.setPos(pad, pad + line)
        grad = self._text("", fonts[3], box)
        grad.setPos(pad, pad + 2 * line)
        badge = QGraphicsEllipseItem(-0.5 * line, -0.5 * line, line, line, box)
        badge.setBrush(QColor(INK))
        badge.setPen(QPen(Qt.PenStyle.NoPen))
        self._text("", self._font(0.75, bold=True), badge, "#FFFFFF")
        return _NodeItems(box, tuple(texts), value, grad, badge, node.kind)

    def _edges(self, graph: ComputationGraph, rects: dict[tuple[int, int], QRectF]) -> None:
        """Arrows from each input's bottom to its consumer's top, spread along that top; a long
        edge runs straight down through its bends, beside the nodes it passes.
        """
        pen = QPen(QColor(EDGE_INK), 1.4)
        small = self._font(0.75)
        nodes = {node.key: rects[(node.layer, node.order)] for node in graph.nodes}
        for edge in graph.edges:
            incoming = sorted((e for e in graph.edges if e.target == edge.target),
                              key=lambda e: nodes[e.source].center().x())
            target = nodes[edge.target]
            share = (incoming.index(edge) + 1) / (len(incoming) + 1)
            end = QPointF(target.left() + share * target.width(), target.top())
            start = QPointF(nodes[edge.source].center().x(), nodes[edge.source].bottom())
            path = QPainterPath(start)
            for bend in edge.bends:
                _curve_to(path, QPointF(rects[bend].center().x(), rects[bend].top()))
                path.lineTo(rects[bend].center().x(), rects[bend].bottom())
            _curve_to(path, end)
            arrow = QGraphicsPathItem(path)
            arrow.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            arrow.setPen(pen)
            arrow.setZValue(-1)  # under the nodes
            self.scene().addItem(arrow)
            head = QGraphicsPolygonItem(_arrowhead(end, path.angleAtPercent(1.0)), arrow)
            head.setPen(pen)
            head.setBrush(QBrush(pen.color()))
            label = self._text(edge.label, small, color=EDGE_INK)
            middle = QPointF(start.x() + end.x(), start.y() + end.y()) / 2 if not edge.bends \
                else rects[edge.bends[0]].center()
            label.setPos(middle + QPointF(4, -label.boundingRect().height() / 2))

    def _light(self, phase: Phase | None) -> None:
        """Colours, values and gradients for `phase`; the items themselves stay."""
        graph, built_for = self._graph, self._built_for
        self._lit_as = (built_for, phase)
        if graph is None or built_for is None:
            return
        epoch = built_for[1]
        looks = node_looks(graph, phase, self._params_after, self._leaf_grads,
                           at_start=epoch == 0)
        changed = QRectF()  # in the scene: what this phase repaints
        for key, items in self._items.items():
            look = looks[key]
            if look != items.look:  # items left as they are repaint nothing
                self._show_look(items, look)
                box = items.box
                changed |= box.mapRectToScene(box.boundingRect() | box.childrenBoundingRect())
        self._lit = frozenset(key for key, look in looks.items() if look.lit)
        numbered = [(look.step, key) for key, look in looks.items() if look.step is not None]
        self._focus = max(numbered)[1] if numbered else None  # the node lit last
        if self._title is not None:
            title = _title(graph, epoch, phase)
            if title != self._title.text():
                changed |= self._title.sceneBoundingRect()  # the old text's place
                self._title.setText(title)
                changed |= self._title.sceneBoundingRect()
        # The view repaints only when asked (NoViewportUpdate): all of it after a new zoom or
        # new items, else the changed nodes and title.
        if self._fit() or self._new_items:
            self._new_items = False
            self.viewport().update()
        elif not changed.isEmpty():
            self.viewport().update(self.mapFromScene(changed.adjusted(-3, -3, 3, 3))
                                   .boundingRect())

    @staticmethod
    def _show_look(items: _NodeItems, look: NodeLook) -> None:
        previous, items.look = items.look, look
        if previous is None or previous.lit != look.lit:
            color = QColor(KIND_COLORS[items.kind] if look.lit else GREY_LINE)
            fill = QColor(color) if look.lit else QColor(GREY_FILL)
            if look.lit:
                fill.setAlpha(40)
            items.box.setPen(QPen(color, 2.5 if look.lit else 1.0))
            items.box.setBrush(QBrush(fill))
            items.texts[0].setBrush(QColor(INK if look.lit else GREY_INK))
        if previous is None or previous.value != look.value:
            items.value.setText(look.value)
        if previous is None or previous.grad != look.grad:
            items.grad.setText(_grad_text(look.grad))
        if previous is None or previous.step != look.step:
            items.badge.setVisible(look.step is not None)
            number = items.badge.childItems()[0]
            assert isinstance(number, QGraphicsSimpleTextItem)
            number.setText(str(look.step or ""))
            number.setPos(-number.boundingRect().width() / 2,
                          -number.boundingRect().height() / 2)

    # --- fitting -----------------------------------------------------------------------------

    def _fit(self) -> bool:
        """Fit the scene in the view, but never shrink the text below readable; True if the
        view's zoom or place changed (the whole view must be repainted)."""
        rect = self._scene_extent().adjusted(-6, -6, 6, 6)
        view = self.viewport().rect()
        # Presenter mode's larger text stays larger: the view scrolls to the node lit last
        # rather than shrink the graph back to the normal size.
        min_zoom = MIN_ZOOM if self._font_scale <= 1.0 else 1.0
        fits = (not rect.isEmpty() and not view.isEmpty()
                and min(view.width() / rect.width(), view.height() / rect.height()) >= min_zoom)
        # The node lit last matters only when the graph does not fit.
        fitted = (rect, view.size(), None if fits else self._focus)
        if fitted == self._fitted:
            return False  # a phase that only changed texts and colours: no new zoom
        self._fitted = fitted
        self.setSceneRect(rect)
        if rect.isEmpty() or view.isEmpty():
            return True
        zoom = min(view.width() / rect.width(), view.height() / rect.height())
        zoom = min(max(zoom, min_zoom), MAX_ZOOM)
        self.resetTransform()
        self.scale(zoom, zoom)
        focus = self._items.get(self._focus) if self._focus is not None else None
        if fits or focus is None:
            self.centerOn(rect.center())
        else:  # too big to show whole at a readable size: the node lit last stays in sight
            self.centerOn(focus.box)
        return True

    def _scene_extent(self) -> QRectF:
        """What the view fits: the graph and its title's room, so that the title's length
        (it follows the phase) never changes the fit; a new fit repaints the whole view.
        The title is never longer than its room. (Not a Python walk over scene().items():
        the wrappers that makes deleted the edges once they were garbage-collected.)"""
        rect = self.scene().itemsBoundingRect()
        return rect if self._title_room is None else rect | self._title_room

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()


def _titles(node: GraphNode) -> tuple[str, str]:
    """The bold first line and its grey companion: the op's name and what it computes, or the
    leaf's name and its AccumulateGrad node; nothing twice."""
    if node.kind == "leaf" and node.display_name != node.label:
        return node.label, node.display_name
    secondary = "" if node.label in node.display_name else node.label
    return node.display_name, secondary


def _structure(graph: ComputationGraph) -> tuple[object, ...]:
    """What the drawn items depend on, apart from the values: nodes, their places, edges."""
    nodes = tuple((n.key, n.name, n.label, n.kind, n.layer, n.order) for n in graph.nodes)
    return nodes, graph.edges, graph.source


def _curve_to(path: QPainterPath, end: QPointF) -> None:
    """An S-curve leaving and arriving vertically."""
    start = path.currentPosition()
    middle = (start.y() + end.y()) / 2
    path.cubicTo(QPointF(start.x(), middle), QPointF(end.x(), middle), end)


def _grad_text(grad: str) -> str:
    return f"grad = {grad}" if grad else ""


def _arrowhead(tip: QPointF, angle_degrees: float, size: float = 8.0) -> QPolygonF:
    back = math.radians(angle_degrees + 180)  # Qt's angles run counter-clockwise, y down
    points = [tip]
    for turn in (-0.45, 0.45):
        points.append(tip + QPointF(size * math.cos(back + turn), -size * math.sin(back + turn)))
    return QPolygonF(points)


def _title(graph: ComputationGraph, epoch: int, phase: Phase | None) -> str:
    torch_graph = graph.source != "numpy chain"
    what = ("torch autograd graph" if torch_graph
            else "numpy: the notebook's hand-derived chain")
    if epoch == 0:
        return f"{what} at the start\nstep to epoch 1 to see its values"
    if phase is Phase.BACKWARD:
        detail = ("backward: gradients flow bottom to top, numbered as the hooks fired"
                  if torch_graph else "gradient: dw by the hand-derived formula")
    elif phase is Phase.ZERO_GRAD and graph.held_grads:
        detail = "zero_grad forgotten: the gradients stay and add up"
    else:
        detail = {None: "values and gradients", Phase.FORWARD: "forward: computing y_pred",
                  Phase.LOSS: "loss: the forward pass up to the loss",
                  Phase.UPDATE: "update: the leaves take their new values",
                  Phase.ZERO_GRAD: "zero_grad: the leaves' gradients reset to 0"}[phase]
    return f"{what} of epoch {epoch}\n{detail}"
