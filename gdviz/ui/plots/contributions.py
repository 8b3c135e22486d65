"""Which data points pull the parameters: each point's share of the gradient, as bars.

For the epoch under the cursor, a bar per data point and parameter (w and b side by side) of
its term 2·∂y_pred_i/∂θ·(y_pred_i − y_i)/N (times the update's gradient scale), from the
trainer's own forward pass; a dashed line marks their sum, the recorded gradient. When the
zero_grad lesson leaves earlier epochs' gradients in `.grad`, the difference between the
recorded gradient and this epoch's terms is one more, hatched bar: carried over.

Phases: the bars are the gradient of epoch k. They are drawn in full where that gradient exists
(backward, update, and the whole epoch), dimmed where it does not (forward and loss: not yet
computed; zero_grad: cleared), with a note saying which.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor

from gdviz.core.explain import EpochExplanation
from gdviz.core.phases import Phase
from gdviz.ui.formatting import number
from gdviz.ui.plots.common import DASHED, apply_font_scale, padded_range, style_plot
from gdviz.ui.plots.labels import pick_spot, place_text, text_item, text_size, wrap_to
from gdviz.ui.plots.overlays import OVERLAY_Z
from gdviz.ui.plots.phase import PhaseView, phase_view
from gdviz.ui.run_model import RunModel
from gdviz.ui.style import COLORS, key, pen, plot_title

BAR_SPAN = 0.8  # of the unit between two data points, shared by the parameters' bars
DIMMED = 0.25
MAX_TICKED_POINTS = 12  # more points than this: numbered ticks instead of "x = …"
NOT_YET = (Phase.FORWARD, Phase.LOSS)
NAMES = ("w", "b")


class ContributionsPlot(pg.PlotWidget):
    """Per-sample contributions to dL/dw (and dL/db) of the epoch shown, summing to the
    gradient the trainer recorded."""

    TITLE = "Per-sample contributions"  # the legend names the gradients they add up to

    def __init__(self, model: RunModel) -> None:
        super().__init__(enableMenu=False)
        self.setObjectName("contributionsPlot")
        self.model = model
        self.getPlotItem().setMouseEnabled(False, False)
        self.getPlotItem().hideButtons()
        self.zero = pg.InfiniteLine(pos=0.0, angle=0, pen=pen("#888888", 1))
        self.addItem(self.zero)
        self.bars = {name: pg.BarGraphItem(x=[], height=[], width=0.4, brush=COLORS[name],
                                           pen=pg.mkPen("w", width=1))
                     for name in NAMES}
        hatched = {name: QBrush(QColor(COLORS[name]), Qt.BrushStyle.BDiagPattern)
                   for name in NAMES}
        self.carried = {name: pg.BarGraphItem(x=[], height=[], width=0.4, brush=hatched[name],
                                              pen=pen(name, 1.5))
                        for name in NAMES}
        self.sums = {name: pg.InfiniteLine(angle=0, pen=pen(name, 2.5, dashed=True))
                     for name in NAMES}
        self.sum_labels = {name: text_item(name, 12) for name in NAMES}
        self.note = text_item("text", 12)
        for name in NAMES:
            self.addItem(self.bars[name])
            self.addItem(self.carried[name])
            self.addItem(self.sums[name], ignoreBounds=True)
            self.addItem(self.sum_labels[name], ignoreBounds=True)
            self.sums[name].setZValue(OVERLAY_Z)
            self.sum_labels[name].setZValue(OVERLAY_Z)
        self.addItem(self.note, ignoreBounds=True)
        self.note.setZValue(OVERLAY_Z)
        self._heights: dict[str, np.ndarray] = {}
        self._gradients: dict[str, float] = {}
        self._drawn: tuple[object, ...] | None = None  # what the bars show now
        self._range: tuple[float, float, float, float] | None = None
        self.shown_cursor = 0  # the epoch the plot last followed (it holds it while playing)
        self.getViewBox().sigResized.connect(self._place_labels)
        self.rebuild()

    # --- reading (tests and the window) ----------------------------------------------------------

    def bar_heights(self) -> dict[str, np.ndarray]:
        """Per parameter, the bars that add up to its recorded gradient: one per data point,
        then the carried-over one when the zero_grad lesson shows it. Empty at epoch 0."""
        return {name: heights.copy() for name, heights in self._heights.items()}

    def gradients(self) -> dict[str, float]:
        """Per parameter, the sum the dashed line marks: the gradient the trainer recorded."""
        return dict(self._gradients)

    @property
    def dimmed(self) -> bool:
        return self.bars["w"].opacity() < 1.0

    # --- building and refreshing -----------------------------------------------------------------

    def rebuild(self) -> None:
        """A new run: other data, maybe other parameters."""
        config = self.model.config
        names = config.param_names
        entries = [*(("■", name, name) for name in names),
                   *((DASHED, name, f"Σ = dL/d{name}") for name in names)]
        if config.forget_zero_grad:
            entries.append(("▨", "text", "carried over"))
        legend = key(*entries)
        style_plot(self.getPlotItem(), plot_title(self.TITLE, legend),
                   "data point (its x)", "share of the gradient")
        self.getPlotItem().showGrid(x=False, y=True, alpha=0.25)
        count = len(config.x)
        ticks: list[tuple[float, str]] | None = None
        if count <= MAX_TICKED_POINTS:
            # The bare value: "x = 1" ran into its neighbours ("x = 1x = 2") in the panel.
            ticks = [(float(i), f"{x:g}") for i, x in enumerate(config.x)]
            if config.forget_zero_grad:
                ticks.append((float(count), "carried"))  # the hatched bar (see the key)
        self.getPlotItem().getAxis("bottom").setTicks([ticks] if ticks else None)
        self._drawn = None
        self._range = None
        self.refresh()

    def refresh(self) -> None:
        self.shown_cursor = self.model.cursor
        view = phase_view(self.model, always_explain=True)
        key_now = (id(self.model.history), view.epoch, len(self.model.config.x),
                   self.model.config.forget_zero_grad)
        note = self.note.toPlainText()
        changed = key_now != self._drawn
        if changed:  # bars move only when the epoch changes, not the phase
            self._drawn = key_now
            self._show_bars(view.explanation)
        self._show_phase(view)
        if changed or self.note.toPlainText() != note:
            self._place_labels()

    def _show_bars(self, explanation: EpochExplanation | None) -> None:
        self._heights, self._gradients = {}, {}
        steps = explanation.steps if explanation is not None else ()
        if not all(math.isfinite(s.grad) and np.isfinite(s.contributions).all()
                   for s in steps):
            steps = ()  # a diverged epoch: nothing sensible to draw (the note says so)
        carried = self.model.config.forget_zero_grad
        width = BAR_SPAN / max(len(steps), 1)
        values = [0.0]
        for index, name in enumerate(NAMES):
            step = next((s for s in steps if s.name == name), None)
            shown = step is not None
            for item in (self.bars[name], self.sums[name], self.sum_labels[name]):
                item.setVisible(shown)
            self.carried[name].setVisible(shown and carried)
            if step is None:
                self.bars[name].setOpts(x=[], height=[])
                self.carried[name].setOpts(x=[], height=[])
                continue
            offset = (index - (len(steps) - 1) / 2) * width
            terms = np.asarray(step.contributions, dtype=np.float64)
            positions = np.arange(len(terms)) + offset
            self.bars[name].setOpts(x=positions, height=terms, width=0.92 * width)
            heights = terms
            if carried:
                # Recorded minus this epoch's own terms: what .grad kept from earlier epochs.
                rest = step.grad - float(terms.sum())
                self.carried[name].setOpts(x=[len(terms) + offset], height=[rest],
                                           width=0.92 * width)
                heights = np.append(terms, rest)
            self._heights[name] = heights
            self._gradients[name] = step.grad
            self.sums[name].setValue(step.grad)
            self.sum_labels[name].setText(self._sum_text(name, step.grad, explanation))
            values += [*heights.tolist(), step.grad]
        self._frame(len(self.model.config.x) + (1 if carried else 0), np.array(values))

    def _sum_text(self, name: str, grad: float, explanation: EpochExplanation | None) -> str:
        text = f"Σ = dL/d{name} = {number(grad)}"
        scale = explanation.gradient_scale if explanation is not None else 1.0
        if scale != 1.0:  # the notebook's numpy gradient: N times the MSE one
            text = f"Σ = {scale:g} × dL/d{name} = {number(grad)}"
        if self.model.config.forget_zero_grad:
            text += " (.grad, with earlier epochs')"
        return text

    def _frame(self, slots: int, values: np.ndarray) -> None:
        # No bars yet (epoch 0): a plain −0.5…0.5 axis, not ±5e-07.
        low, high = padded_range(values, fraction=0.15, min_span=1e-6 if values.any() else 1.0)
        low, high = min(low, 0.0), max(high, 0.0)  # the zero line is always in view
        extent = (-0.6, slots - 0.4, low, high)
        if extent != self._range:
            self._range = extent
            self.setRange(xRange=extent[:2], yRange=extent[2:], padding=0)

    def _show_phase(self, view: PhaseView) -> None:
        """Dim the bars where the gradient they show does not exist (yet, or any more)."""
        note = ""
        dimmed = False
        if view.explanation is None or not self._heights:
            note = ("no gradient yet: step to epoch 1" if view.epoch == 0
                    else "no gradient to show: not finite")
        elif view.phase in NOT_YET:
            dimmed, note = True, f"epoch {view.epoch}'s gradient comes in the backward step"
        elif view.phase is Phase.ZERO_GRAD:
            if self.model.config.forget_zero_grad:
                note = "no zero_grad: the gradient stays for the next epoch"
            else:
                dimmed, note = True, "zero_grad() has cleared the gradient"
        opacity = DIMMED if dimmed else 1.0
        for name in NAMES:
            for item in (self.bars[name], self.carried[name], self.sums[name],
                         self.sum_labels[name]):
                item.setOpacity(opacity)
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def _place_labels(self, *_resized: object) -> None:
        """The sums' labels at their lines' right end, the note at the top; clear of each
        other."""
        view = self.getViewBox()
        inside = view.sceneBoundingRect()
        if inside.width() < 10 or inside.height() < 10:
            return
        taken: list[QRectF] = []
        for label in (self.note, *self.sum_labels.values()):
            wrap_to(label, inside.width() - 12)
        if self.note.isVisible():
            width, height = text_size(self.note)
            spots = [QRectF(inside.left() + 6, inside.top() + 6, width, height),
                     QRectF(inside.left() + 6, inside.bottom() - height - 6, width, height)]
            spot = pick_spot(spots, inside, [])
            place_text(self.note, view, spot)
            taken.append(spot)
        for name in NAMES:
            label = self.sum_labels[name]
            if not label.isVisible():
                continue
            width, height = text_size(label)
            y = view.mapViewToScene(QPointF(0.0, self.sums[name].value())).y()
            right = inside.right() - width - 6
            spots = [QRectF(left, top, width, height)
                     for left in (right, inside.left() + 6)
                     for top in (y - height - 2, y + 2)]
            spot = pick_spot(spots, inside, taken)
            place_text(label, view, spot)
            taken.append(spot)

    def set_font_scale(self, scale: float) -> None:
        """Presenter mode: axes, title and labels `scale` times larger."""
        apply_font_scale(self.getPlotItem(), scale)
        for label in (*self.sum_labels.values(), self.note):
            label.set_scale(scale)
        self._place_labels()
