"""File → Export in the window: the figure and animation actions, Ctrl+C on a plot, the plots'
context menus; outcomes in the status bar; the window still freed at once."""

from __future__ import annotations

from gui_helpers import action, message
from PIL import Image
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QInputDialog


def answer(monkeypatch, view_title: str, path) -> None:
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: (view_title, True))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))


def steps(qtbot, window, count):
    for _ in range(count):
        window.model.step()
    qtbot.waitUntil(lambda: window.model.cursor == count, timeout=10_000)
    window._on_model_updated()


def test_export_figure_writes_the_chosen_view_at_the_figure_scale(qtbot, monkeypatch,
                                                                   tmp_path, window):
    steps(qtbot, window, 3)
    path = tmp_path / "surface.png"
    answer(monkeypatch, "Loss surface", path)
    action(window, "actionExportFigure").trigger()
    assert "Exported loss surface to surface.png" in message(window)
    plot = window.surface_plot
    with Image.open(path) as image:
        assert image.size == (2 * plot.width(), 2 * plot.height())  # the default 2× scale
    svg = tmp_path / "loss.svg"
    answer(monkeypatch, "Loss vs epoch", svg)
    action(window, "actionExportFigure").trigger()
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_an_unwritable_figure_is_said_in_one_line(qtbot, monkeypatch, tmp_path, window):
    answer(monkeypatch, "Data and fit", tmp_path / "missing" / "fit.png")
    action(window, "actionExportFigure").trigger()
    assert message(window).startswith("Not exported:")
    assert not (tmp_path / "missing").exists()


def test_export_animation_writes_a_gif_of_the_run(qtbot, monkeypatch, tmp_path, window):
    steps(qtbot, window, 5)
    path = tmp_path / "run.gif"
    answer(monkeypatch, "Loss vs epoch", path)
    action(window, "actionExportAnimation").trigger()
    qtbot.waitUntil(lambda: window.exports.animation is None, timeout=30_000)
    assert "Exported the animation to run.gif" in message(window)
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames >= 2


def test_ctrl_c_on_a_plot_copies_it(qtbot, window):
    window.exports.views["weights"].viewport().setFocus()
    window.exports.action_copy.trigger()
    assert "Copied weights vs epoch to the clipboard" in message(window)
    assert not QGuiApplication.clipboard().image().isNull()


def test_each_plot_s_context_menu_exports_that_plot(qtbot, monkeypatch, tmp_path, window):
    plot = window.fit_plot
    texts = [a.text() for a in plot.actions()]
    assert texts == ["Export data and fit…", "Copy"]
    path = tmp_path / "fit.svg"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    plot.actions()[0].trigger()
    assert path.is_file()
