"""The step panel (pytest-qt): what it says, and that no expression is ever broken or cut off.

The panel is found by objectName. "Fits" means: every block of the document (one per line) was
laid out as exactly one line (Qt did not wrap it) and that line, with the document's margins,
is no wider than the viewport (no horizontal scrollbar).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from gui_helpers import action, find
from PySide6.QtWidgets import QTextEdit

from gdviz.core.config import build_config
from gdviz.core.history import MAX_KEPT_PREDICTIONS, History
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train
from gdviz.ui.step_panel import StepPanel

SIZES = [(1280, 720), (1920, 1080)]


def panel_of(window) -> QTextEdit:
    return find(window, QTextEdit, "stepPanel")


def text_of(panel: QTextEdit) -> str:
    return panel.toPlainText().replace("\xa0", " ")


def assert_every_line_fits(panel: QTextEdit) -> None:
    document = panel.document()
    width = panel.viewport().width()
    document.setTextWidth(width)  # as the panel lays it out (and forces a full layout)
    margin = document.documentMargin()
    block = document.begin()
    blocks = 0
    while block.isValid():
        layout = block.layout()
        text = block.text().replace("\xa0", " ")
        assert layout.lineCount() == 1, f"{text!r} was wrapped into {layout.lineCount()} lines"
        natural = layout.lineAt(0).naturalTextWidth()
        assert natural + 2 * margin <= width, f"{text!r} is {natural:.0f} px, viewport {width}"
        blocks += 1
        block = block.next()
    assert blocks >= 3
    assert panel.horizontalScrollBar().maximum() == 0


def tooltips(panel: QTextEdit) -> set[str]:
    found = set()
    block = panel.document().begin()
    while block.isValid():
        found.update(f.charFormat().toolTip() for f in fragments(block))
        block = block.next()
    return found - {""}


def fragments(block):
    it = block.begin()
    while not it.atEnd():
        yield it.fragment()
        it += 1


def settle(qtbot, window, size) -> None:
    window.resize(*size)
    qtbot.wait(200)  # let the layout settle: splitters, docks, then the panel's own resize


def step_to(qtbot, window, epoch: int) -> None:
    for _ in range(epoch):
        action(window, "actionStep").trigger()
    qtbot.waitUntil(lambda: window.model.cursor == epoch, timeout=15_000)
    total = window.model.config.epochs
    qtbot.waitUntil(lambda: f"Epoch {epoch} of {total}" in text_of(panel_of(window)),
                    timeout=2000)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_numpy_epoch_3_fits_and_says_the_numbers(qtbot, window, size):
    settle(qtbot, window, size)
    step_to(qtbot, window, 3)
    panel = panel_of(window)
    assert_every_line_fits(panel)
    text = text_of(panel)
    # The cell's dw is N × dL/dw: it is called dw, and the panel says what it is.
    for expected in ("NumPy, manual gradient", "y_pred = w·x", "dw = −19.200",
                     "0.76800019", "w ← 1.680", "− 0.01 × (−19.200)", "= 1.872",
                     "dw = np.dot(2·x, y_pred − y).mean()", "[1.680, 3.360",
                     "= Σ [−0.640, −2.560", "w ← w − lr × dw", "4 × dL/dw"):
        assert expected in " ".join(text.split()), expected
    assert "dL/dw = −19.200" not in text
    assert "notebook's numbers" not in text  # no caveat for the numpy cell


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_nn_epoch_3_fits_and_shows_the_note(qtbot, make_window, size):
    pytest.importorskip("torch")
    window = make_window(build_config("nn"), timeout=15_000)
    settle(qtbot, window, size)
    step_to(qtbot, window, 3)
    panel = panel_of(window)
    assert_every_line_fits(panel)
    text = text_of(panel)
    history = window.model.history
    w2, b2 = history.params_at(2)
    w3, b3 = history.params_at(3)
    for expected in ("torch.nn Linear + SGD", "y_pred = w·x + b", "dL/dw =", "dL/db =",
                     f"w ← {w2:.3f}", f"= {w3:.3f}", f"b ← {b2:.3f}", f"= {b3:.3f}",
                     "weight.grad, bias.grad"):
        assert expected in text, expected
    # optimizer.zero_grad() sets them to None, as the code panel says, not to 0.
    assert "weight.grad, bias.grad ← None" in text
    spec = window.model.config.spec
    assert " ".join(text.split()).count(spec.note_brief) == 1  # the brief note, however wrapped
    assert tooltips(panel) == {spec.note}  # the whole of it as the brief note's tooltip


def test_epoch_0_and_a_change_of_size(qtbot, window):
    panel = panel_of(window)
    qtbot.waitUntil(lambda: "Epoch 0 of 10" in text_of(panel), timeout=2000)
    assert "Start at w = 0.000" in text_of(panel)
    for size in SIZES:
        settle(qtbot, window, size)
        assert_every_line_fits(panel)


# --- the panel alone, on a model stand-in ---------------------------------------------------

def stand_in(config, epochs: int, cursor: int | None = None) -> SimpleNamespace:
    """What the panel reads of a RunModel: config, history, cursor."""
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    train(trainer, epochs, history)
    return SimpleNamespace(config=config, history=history,
                           cursor=len(history) if cursor is None else cursor, phase=None,
                           session=SimpleNamespace(lesson_error=None))


def shown(qtbot, model, width: int, height: int = 700) -> StepPanel:
    panel = StepPanel(model)
    qtbot.addWidget(panel)
    panel.resize(width, height)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh()
    return panel


def test_loading_text_when_there_is_no_history(qtbot):
    model = SimpleNamespace(config=build_config("numpy"), history=None, cursor=0, phase=None,
                            session=SimpleNamespace(lesson_error=None))
    panel = shown(qtbot, model, 320)
    assert "Preparing the run…" in text_of(panel)


def test_refresh_rebuilds_only_when_something_changed(qtbot):
    model = stand_in(build_config("numpy"), 4, cursor=3)
    panel = shown(qtbot, model, 400)
    revision = panel.document().revision()
    for _ in range(3):
        panel.refresh()
    assert panel.document().revision() == revision
    model.cursor = 4
    panel.refresh()
    assert panel.document().revision() != revision
    assert "Epoch 4 of 10" in text_of(panel)


@pytest.mark.parametrize("width", [0, 330, 360, 420, 520, 700])
@pytest.mark.parametrize("preset", ["notebook-numpy", "numpy-diverging", "large"])
def test_any_width_any_numbers_fit(qtbot, width, preset):
    if preset == "large":  # recomputed forward pass, 100 points
        x = np.linspace(-3, 3, MAX_KEPT_PREDICTIONS + 36).round(3)
        config = build_config("numpy", {"x": list(x), "y": list(2 * x + 1), "epochs": 20})
        model = stand_in(config, 5)
    else:  # diverging: the last finite epochs have numbers like 1.234e+37
        config = build_config(preset_name=preset)
        model = stand_in(config, config.epochs)
        model.cursor = max(1, model.cursor - 1)
    panel = shown(qtbot, model, width)  # never narrower than its minimum width
    assert panel.width() == max(width, panel.minimumWidth())
    assert_every_line_fits(panel)
    if preset == "large":
        assert "recomputed in float32" in text_of(panel)
