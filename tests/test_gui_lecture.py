"""Lecture mode in the window (pytest-qt): sub-steps through the notebook's cells with the real
numbers, the autograd graph, the gradient check, presenter mode and the lessons; keys pressed
at impolite moments (while the trainer loads, with a text field focused)."""

from __future__ import annotations

import time

import pytest
import torch
from gui_helpers import action, find, message
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QDoubleSpinBox,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
)

from gdviz.core import trainers
from gdviz.core.config import build_config
from gdviz.core.phases import Phase

TORCH_TIMEOUT = 20_000


def current_line(window) -> str:
    return find(window, QPlainTextEdit, "codePanel").textCursor().block().text()


def sub_step(qtbot, window, key=Qt.Key.Key_Down) -> None:
    before = (window.model.cursor, window.model.phase)
    qtbot.keyClick(window.plots_area, key)
    qtbot.waitUntil(lambda: (window.model.cursor, window.model.phase) != before, timeout=5000)
    window._on_model_updated()  # draw now rather than at the next frame


def gradcheck_text(window) -> str:
    return find(window, QTextEdit, "gradCheckPanel").toPlainText()


def scene_texts(window) -> list[str]:
    view = find(window, QGraphicsView, "graphView")
    return [item.text() for item in view.scene().items()
            if isinstance(item, QGraphicsSimpleTextItem)]


def test_numpy_cell_sub_steps_show_the_notebooks_numbers_line_by_line(qtbot, focused):
    window = focused
    seen = []
    for _ in range(4):
        sub_step(qtbot, window)
        seen.append((window.model.phase, current_line(window)))
    phases = [phase for phase, _ in seen]
    assert phases == [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE]
    forward, loss, gradient, update = (line for _, line in seen)
    assert "y_pred =forward(X)" in forward and "[0.000, 0.000, 0.000, 0.000]" in forward
    assert "l = loss(Y, y_pred)" in loss and "30.000" in loss
    assert "dw = gradient(X, Y, y_pred)" in gradient and "−120.000" in gradient
    assert "w -= learning_rate * dw" in update and "1.200" in update
    assert "▶ update" in find(window, type(window.phase_label), "phaseLabel").text()


def test_sub_step_back_from_epoch_2_forward_lands_on_epoch_1_last_phase(qtbot, focused):
    window, model = focused, focused.model
    for _ in range(5):  # epoch 1's four phases, then epoch 2's forward
        sub_step(qtbot, window, Qt.Key.Key_PageDown)  # a presentation clicker
    assert (model.cursor, model.phase) == (2, Phase.FORWARD)
    sub_step(qtbot, window, Qt.Key.Key_PageUp)
    assert (model.cursor, model.phase) == (1, Phase.UPDATE)
    assert "w -= learning_rate * dw" in current_line(window)


def test_autograd_backward_phase_shows_w_grad_and_the_real_graph(qtbot, make_window):
    window = make_window(build_config("autograd"), timeout=TORCH_TIMEOUT)
    window.plots_area.setFocus()
    for _ in range(3):
        sub_step(qtbot, window)
    assert window.model.phase is Phase.BACKWARD
    assert "l.backward()" in current_line(window) and "w.grad = −30.000" in current_line(window)
    texts = " ".join(scene_texts(window))
    for name in ("MeanBackward0", "PowBackward0", "SubBackward0", "MulBackward0"):
        assert name in texts
    assert "−30.000" in texts  # the gradient reaching w
    for _ in range(2):
        sub_step(qtbot, window)
    assert window.model.phase is Phase.ZERO_GRAD and "w.grad.zero_()" in current_line(window)
    sub_step(qtbot, window)  # epoch 2's forward, trained now
    sub_step(qtbot, window, Qt.Key.Key_Up)
    assert (window.model.cursor, window.model.phase) == (1, Phase.ZERO_GRAD)


def live_names(loss: torch.Tensor) -> set[str]:
    names, todo, seen = set(), [loss.grad_fn], set()
    while todo:
        fn = todo.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.add(fn.name())
        todo.extend(next_fn for next_fn, _ in fn.next_functions)
    return names


def test_nn_graph_holds_the_names_torch_builds_with_weight_and_bias(qtbot, make_window):
    window = make_window(build_config("nn"), timeout=TORCH_TIMEOUT)
    window.plots_area.setFocus()
    for _ in range(3):
        sub_step(qtbot, window)
    model = torch.nn.Linear(1, 1)
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = torch.tensor([[2.0], [4.0], [6.0], [8.0]])
    expected = live_names(torch.nn.MSELoss()(y, model(x)))
    texts = " ".join(scene_texts(window))
    for name in expected - {"torch::autograd::AccumulateGrad"}:
        assert name in texts
    assert "weight" in texts and "bias" in texts


def test_gradient_check_shows_factor_4_in_notebook_mode_and_1_in_mean_mode(qtbot, make_window):
    window = make_window()
    window.plots_area.setFocus()
    for _ in range(3):
        sub_step(qtbot, window)
    qtbot.waitUntil(lambda: "autograd" in gradcheck_text(window)
                    and "loading" not in gradcheck_text(window), timeout=TORCH_TIMEOUT)
    cells = gradcheck_text(window).split("\n")  # one table cell a line
    row = cells[cells.index("dL/dw"):][:5]
    assert row == ["dL/dw", "−120.000", "−30.000", "−30.000", "4"]  # formula, autograd, f.d.
    assert "Factor N = 4" in gradcheck_text(window)
    mean = make_window(build_config("numpy", {"gradient": "mean"}))
    mean.plots_area.setFocus()
    for _ in range(3):
        sub_step(qtbot, mean)
    qtbot.waitUntil(lambda: "Factor 1" in gradcheck_text(mean)
                    and "loading" not in gradcheck_text(mean), timeout=TORCH_TIMEOUT)
    cells = gradcheck_text(mean).split("\n")
    assert cells[cells.index("dL/dw"):][:5] == ["dL/dw", "−30.000", "−30.000", "−30.000", "1"]


def test_presenter_mode_toggles_with_f5_and_esc_leaves(qtbot, focused):
    window = focused
    settings = find(window, QDockWidget, "settingsDock")
    normal_font = window.step_panel.font().pointSizeF()
    qtbot.keyClick(window.plots_area, Qt.Key.Key_F5)
    assert window.presenting and action(window, "actionPresenter").isChecked()
    assert not settings.isVisible() and not find(window, QDockWidget, "logDock").isVisible()
    for name in ("codeDock", "graphDock", "stepDock"):
        assert find(window, QDockWidget, name).isVisible()
    assert window.surface_plot.isVisible()
    window.step_panel.refresh()
    assert window.step_panel.font().pointSizeF() >= 1.5 * normal_font
    qtbot.keyClick(window.plots_area, Qt.Key.Key_PageDown)  # the clicker still steps
    qtbot.waitUntil(lambda: window.model.phase is Phase.FORWARD, timeout=5000)
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Escape)
    assert not window.presenting and not action(window, "actionPresenter").isChecked()
    qtbot.waitUntil(settings.isVisible, timeout=2000)


def plain_loop_grads_without_zero_grad(epochs: int) -> list[float]:
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    y = torch.tensor([2.0, 4.0, 6.0, 8.0])
    w = torch.tensor(0.0, requires_grad=True)
    grads = []
    for _ in range(epochs):
        ((w * x - y) ** 2).mean().backward()
        assert w.grad is not None
        grads.append(w.grad.item())
        with torch.no_grad():
            w -= 0.01 * w.grad
    return grads


def test_forgetting_zero_grad_accumulates_the_real_gradients(qtbot, make_window):
    window = make_window(build_config("autograd"), timeout=TORCH_TIMEOUT)
    lesson = action(window, "actionForgetZeroGrad")
    assert lesson.isEnabled() and not lesson.isChecked()
    lesson.trigger()
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=TORCH_TIMEOUT)
    assert window.model.config.forget_zero_grad
    window.plots_area.setFocus()
    for _ in range(8):  # through epoch 2's backward
        sub_step(qtbot, window)
    assert (window.model.cursor, window.model.phase) == (2, Phase.BACKWARD)
    g1, g2 = plain_loop_grads_without_zero_grad(2)
    recorded = window.model.history.column("grad_w")
    assert float(recorded[1]) == g2
    fresh = build_config("autograd", {"w0": float(window.model.history.params_at(1)[0])})
    own = trainers.make_trainer(fresh).step().grads[0]
    assert g2 == pytest.approx(g1 + own, rel=1e-6)
    code = find(window, QPlainTextEdit, "codePanel").toPlainText()
    assert "# w.grad.zero_()" in code  # the code panel shows the line left out
    action(window, "actionReset").trigger()  # Home: the lessons go off
    assert not lesson.isChecked() and not window.model.config.forget_zero_grad


def test_update_without_no_grad_shows_torchs_error_and_pauses(qtbot, make_window):
    window = make_window(build_config("autograd"), timeout=TORCH_TIMEOUT)
    action(window, "actionUpdateWithGrad").trigger()
    qtbot.waitUntil(lambda: window.model.state == "ready", timeout=TORCH_TIMEOUT)
    action(window, "actionPlay").trigger()
    qtbot.waitUntil(lambda: window.model.session.lesson_error is not None, timeout=5000)
    assert window.model.state in ("ready", "paused")
    assert "leaf Variable that requires grad" in message(window)
    window._on_model_updated()
    step_text = " ".join(find(window, QTextEdit, "stepPanel").toPlainText().split())
    assert "RuntimeError: a leaf Variable that requires grad" in step_text
    action(window, "actionPlay").trigger()  # nothing trains on, nothing crashes
    assert "Switch the lesson off" in message(window)


def test_lessons_are_disabled_for_the_numpy_cell(window):
    assert not action(window, "actionForgetZeroGrad").isEnabled()
    assert not action(window, "actionUpdateWithGrad").isEnabled()


def test_down_while_the_trainer_loads_is_kept(qtbot, focused, monkeypatch):
    window, model = focused, focused.model
    original = trainers.NumpyTrainer.__init__

    def slow_init(self, config):
        time.sleep(0.8)
        original(self, config)

    monkeypatch.setattr(trainers.NumpyTrainer, "__init__", slow_init)
    action(window, "actionReset").trigger()
    assert model.state == "loading"
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Down)
    assert "one sub-step once it is ready" in message(window)
    qtbot.waitUntil(lambda: model.phase is Phase.FORWARD, timeout=10_000)
    assert model.cursor == 1


def test_down_in_a_focused_spin_box_edits_the_field_not_the_run(qtbot, focused):
    window, model = focused, focused.model
    spin = find(window, QDoubleSpinBox, "w0Spin")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    qtbot.keyClick(spin, Qt.Key.Key_Down)
    qtbot.wait(50)
    assert model.phase is None and model.cursor == 0
    qtbot.keyClick(spin, Qt.Key.Key_Escape)  # hands the keys back to the run
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: model.phase is Phase.FORWARD, timeout=5000)


def test_playing_and_whole_epoch_steps_leave_sub_stepping(qtbot, focused):
    window, model = focused, focused.model
    sub_step(qtbot, window)
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Right)  # finishes the epoch
    assert (model.cursor, model.phase) == (1, None)
    qtbot.keyClick(window.plots_area, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: model.state == "finished", timeout=10_000)
    assert model.phase is None


def test_down_in_the_data_table_moves_between_cells(qtbot, focused):
    from PySide6.QtWidgets import QTableWidget

    window, model = focused, focused.model
    table = find(window, QTableWidget, "dataTable")
    table.setFocus()
    table.setCurrentCell(0, 0)
    qtbot.waitUntil(table.hasFocus, timeout=2000)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.wait(50)
    assert table.currentRow() == 1 and model.phase is None
    table.editItem(table.item(1, 0))  # typing in a cell: its editor keeps the arrows too
    editor = QApplication.focusWidget()
    qtbot.keyClick(editor, Qt.Key.Key_Down)
    qtbot.wait(50)
    assert model.phase is None and model.cursor == 0


def test_a_clicker_in_a_focused_field_still_sub_steps(qtbot, focused):
    """PageDown / PageUp come from a presentation clicker: they drive the lecture wherever the
    focus is, and never change a setting (the learning rate took ten steps, restarting the run)."""
    window, model = focused, focused.model
    spin = find(window, QDoubleSpinBox, "lrSpin")
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus, timeout=2000)
    lr = model.config.lr
    qtbot.keyClick(spin, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: model.phase is Phase.FORWARD, timeout=5000)
    qtbot.keyClick(spin, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: model.phase is Phase.LOSS, timeout=5000)
    qtbot.keyClick(spin, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: model.phase is Phase.FORWARD, timeout=5000)
    assert spin.value() == lr and model.config.lr == lr


def test_the_step_panel_keeps_the_phase_shown_in_view_on_a_small_screen(qtbot, make_window):
    window = make_window(build_config("autograd"), timeout=TORCH_TIMEOUT)
    window.resize(1280, 720)
    window.plots_area.setFocus()
    panel = find(window, QTextEdit, "stepPanel")
    for _ in range(5):  # epoch 1's zero_grad: the last section of a long epoch
        sub_step(qtbot, window)
        panel.refresh()
        heading = panel.document().find("▶")
        assert not heading.isNull()
        rect = panel.cursorRect(heading)
        assert rect.top() >= 0 and rect.bottom() <= panel.viewport().height(), rect


def test_lecture_views_say_which_epoch_they_hold_while_a_run_plays(qtbot, focused):
    """The lecture views are not redrawn while playing: each says which epoch it still shows
    (at epoch 62 of a playing run the graph said "step to epoch 1", without a word)."""
    window, model = focused, focused.model
    views = (window.code_panel, window.graph_view, window.gradcheck_panel,
             window.contributions_plot)
    notes = {note.parentWidget(): note for note in window.findChildren(QLabel, "heldNote")}
    assert set(notes) == set(views)
    assert all(note.isHidden() for note in notes.values())
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: model.state == "playing" and model.cursor >= 3, timeout=10_000)
    window._on_model_updated()
    for view in views:
        assert not notes[view].isHidden()
        assert notes[view].text() == f"as at epoch {view.shown_cursor} · updates when paused"
        assert view.shown_cursor < model.cursor
    qtbot.keyClick(window.plots_area, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: model.state != "playing", timeout=5000)
    window._on_model_updated()
    assert all(note.isHidden() for note in notes.values())
    shown = [view for view in views if view.isVisible()]
    assert shown and all(view.shown_cursor == model.cursor for view in shown)
