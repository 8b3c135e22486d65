"""The code panel (pytest-qt): the notebook's cell, its current line and its live values.

The panel reads a model (config, history, cursor, phase, session.lesson_error); a
SimpleNamespace stands in for the window's RunModel, with histories from the real trainers.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextBlock

import gdviz.ui.code_panel as code_panel
from gdviz.core.cells import notebook_cell
from gdviz.core.config import RunConfig, build_config
from gdviz.core.history import History
from gdviz.core.phases import Phase
from gdviz.core.trainers import make_trainer
from gdviz.core.training import train
from gdviz.ui.code_panel import VALUE_COLOR, CodePanel


def run_model(config: RunConfig, epochs: int) -> SimpleNamespace:
    trainer = make_trainer(config)
    history = History(trainer.param_names, trainer.params(), n_points=len(config.x))
    train(trainer, epochs, history)
    return SimpleNamespace(config=config, history=history, cursor=0, phase=None,
                           session=SimpleNamespace(lesson_error=None))


def make_panel(qtbot, model: SimpleNamespace) -> CodePanel:
    panel = CodePanel(model)
    qtbot.addWidget(panel)
    return panel


def move(panel: CodePanel, model: SimpleNamespace, epoch: int, phase: Phase | None) -> str:
    """Put the model at (epoch, phase); the text of the panel's cursor line."""
    model.cursor, model.phase = epoch, phase
    panel.refresh()
    return panel.textCursor().block().text()


def block_of(panel: CodePanel, start: str) -> QTextBlock:
    block = panel.document().begin()
    while block.isValid():
        if block.text().strip().startswith(start):
            return block
        block = block.next()
    raise AssertionError(f"no line starts with {start!r}")


def test_numpy_epoch_1_sub_step_by_sub_step(qtbot) -> None:
    model = run_model(build_config("numpy"), 2)
    panel = make_panel(qtbot, model)
    assert panel.objectName() == "codePanel"
    expected = [(Phase.FORWARD, "y_pred =forward(X)", "[0.000, 0.000, 0.000, 0.000]"),
                (Phase.LOSS, "l = loss(Y, y_pred)", "l = 30.000"),
                (Phase.BACKWARD, "dw = gradient(X, Y, y_pred)", "dw = −120.000"),
                (Phase.UPDATE, "w -= learning_rate * dw", "w = 1.200")]
    for phase, statement, value in expected:
        line = move(panel, model, 1, phase)
        assert line == f"    {statement}   # {value}"
        # The marked line is the cursor's line.
        (selection,) = panel.extraSelections()
        assert selection.cursor.blockNumber() == panel.textCursor().blockNumber()
        assert panel.current_line == panel.textCursor().blockNumber()
    assert "# epoch = 0" in block_of(panel, "for epoch").text()
    # On to the next epoch's forward: epoch 1's later values are gone.
    line = move(panel, model, 2, Phase.FORWARD)
    assert line == "    y_pred =forward(X)   # [1.200, 2.400, 3.600, 4.800]"
    assert block_of(panel, "w -= ").text() == "    w -= learning_rate * dw"


def test_at_the_start_no_line_runs_and_the_text_is_the_cell(qtbot) -> None:
    model = run_model(build_config("numpy"), 1)
    panel = make_panel(qtbot, model)
    assert panel.toPlainText() == "\n".join(notebook_cell("numpy"))
    assert panel.textCursor().blockNumber() == 0 and panel.current_line is None
    assert panel.extraSelections() == []
    move(panel, model, 1, None)  # a whole epoch: every value, ending on the update
    assert panel.textCursor().block().text().endswith("# w = 1.200")
    move(panel, model, 0, None)
    assert panel.toPlainText() == "\n".join(notebook_cell("numpy"))


def test_while_loading_the_cell_shows_without_values(qtbot) -> None:
    model = run_model(build_config("numpy"), 0)
    model.history = None
    panel = make_panel(qtbot, model)
    assert panel.toPlainText() == "\n".join(notebook_cell("numpy"))


def test_autograd_backward_shows_w_grad(qtbot) -> None:
    model = run_model(build_config("autograd"), 1)
    panel = make_panel(qtbot, model)
    line = move(panel, model, 1, Phase.BACKWARD)
    assert line.startswith("    l.backward()") and line.endswith("   # w.grad = −30.000")
    assert move(panel, model, 1, Phase.ZERO_GRAD) == "    w.grad.zero_()   # w.grad = 0.000"


def test_a_new_trainer_shows_its_cell(qtbot) -> None:
    model = run_model(build_config("numpy"), 1)
    panel = make_panel(qtbot, model)
    nn = run_model(build_config("nn"), 1)
    model.config, model.history = nn.config, nn.history
    panel.rebuild()
    assert panel.toPlainText() == "\n".join(notebook_cell("nn"))
    assert move(panel, model, 1, Phase.UPDATE).startswith("    optimizer.step()   # w = ")


def test_the_refused_update_is_the_current_line_with_torchs_words(qtbot) -> None:
    config = build_config("autograd", explicit={"update_with_grad": True})
    model = run_model(config, 0)
    with pytest.raises(RuntimeError) as refused:
        make_trainer(config).step()
    model.session.lesson_error = f"RuntimeError: {refused.value}"
    panel = make_panel(qtbot, model)
    line = panel.textCursor().block().text()
    assert line.startswith("    w -= learning_rate * w.grad   # RuntimeError: a leaf Variable")
    assert "# with torch.no_grad():   ← left out (lesson)" in panel.toPlainText()


def test_nothing_is_redone_when_nothing_changed(qtbot, monkeypatch) -> None:
    model = run_model(build_config("numpy"), 1)
    panel = make_panel(qtbot, model)
    calls = []
    explain = code_panel.explained
    monkeypatch.setattr(code_panel, "explained", lambda *a: calls.append(a) or explain(*a))
    move(panel, model, 1, Phase.LOSS)
    move(panel, model, 1, Phase.LOSS)
    panel.refresh()
    assert len(calls) == 1


def test_highlighting_comes_from_pygments(qtbot) -> None:
    model = run_model(build_config("numpy"), 1)
    panel = make_panel(qtbot, model)
    move(panel, model, 1, Phase.FORWARD)
    plain = panel.palette().text().color()
    ranges = block_of(panel, "for epoch").layout().formats()
    keyword = [r for r in ranges if r.start == 0 and r.length == len("for")]
    assert keyword and keyword[0].format.foreground().color() != plain
    # The comment is coloured too, and the current line's value is bold in the value colour.
    comment = block_of(panel, "# prediction").layout().formats()
    assert any(r.format.foreground().color() != plain for r in comment)
    current = panel.textCursor().block()
    value = [r for r in current.layout().formats() if r.start == len("    y_pred =forward(X)")]
    assert value and value[0].format.foreground().color().name().upper() == VALUE_COLOR
    assert value[0].format.fontWeight() == QFont.Weight.Bold


def test_read_only_and_never_takes_the_keys(qtbot) -> None:
    model = run_model(build_config("numpy"), 1)
    panel = make_panel(qtbot, model)
    before = panel.toPlainText()
    qtbot.keyClicks(panel, "x = 1")
    assert panel.isReadOnly() and panel.toPlainText() == before
    assert panel.focusPolicy() == Qt.FocusPolicy.NoFocus


def test_the_widest_line_fits_and_presenter_mode_scales(qtbot) -> None:
    model = run_model(build_config("nn"), 1)
    panel = make_panel(qtbot, model)
    move(panel, model, 1, None)  # every value shown: the widest text
    panel.resize(panel.sizeHint())
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.horizontalScrollBar().maximum() == 0
    size, width = panel.font().pointSizeF(), panel.sizeHint().width()
    panel.set_font_scale(1.6)
    assert panel.font().pointSizeF() == pytest.approx(1.6 * size)
    assert panel.sizeHint().width() > 1.4 * width
