"""Figures and animations of the window's views (gdviz/ui/export.py), offscreen."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdviz.core.config import build_config

pytest.importorskip("PIL")

SVG = "{http://www.w3.org/2000/svg}"
VIEW_SIZE = (640, 400)
TORCH_TIMEOUT = 60_000


def finished_window(make_window: Any, qtbot: Any, trainer: str = "numpy", **explicit: Any) -> Any:
    config = build_config(trainer, explicit={"epochs": 100, **explicit})
    window = make_window(config, timeout=TORCH_TIMEOUT)
    window.resize(1280, 800)
    window.model.run_to_end()
    qtbot.waitUntil(lambda: window.model.state in ("finished", "diverged"), timeout=30_000)
    return window


@pytest.fixture
def numpy_window(make_window: Any, qtbot: Any) -> Any:
    """The notebook's numpy cell, 100 epochs trained, the cursor at epoch 20."""
    window = finished_window(make_window, qtbot)
    window.model.seek(20)
    window._on_model_updated()
    return window


def pixels(image: Any) -> np.ndarray:
    """A QImage as an (h, w, 4) array of B, G, R, A bytes."""
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_ARGB32)
    data = np.frombuffer(bytes(image.constBits()), np.uint8)
    return data.reshape(image.height(), image.bytesPerLine())[:, : image.width() * 4].reshape(
        image.height(), image.width(), 4)


def ink(image: Any) -> float:
    """The share of pixels that are not (nearly) white."""
    rgb = pixels(image)[..., :3].astype(int)
    return float(np.mean(rgb.min(axis=2) < 200))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- PNG -----------------------------------------------------------------------------------------


def test_png_of_each_view_and_the_window_has_its_size_and_content(numpy_window, tmp_path):
    from PySide6.QtGui import QImage

    from gdviz.ui import export

    for name, widget in export.views(numpy_window).items():
        path = tmp_path / f"{name}.png"
        size = None if name == "window" else VIEW_SIZE
        export.export_png(widget, path, size)
        image = QImage(str(path))
        expected = (1280, 800) if name == "window" else VIEW_SIZE
        assert (image.width(), image.height()) == expected, name
        assert ink(image) > 0.004, f"{name} is blank"
        assert len(np.unique(pixels(image).reshape(-1, 4), axis=0)) > 8, name
    assert leftovers(tmp_path) == []
    # The views are back at their own size in the window.
    assert numpy_window.surface_plot.size() != export.QSize(*VIEW_SIZE)


def test_png_at_scale_2_has_twice_the_pixels_of_the_same_layout(numpy_window, tmp_path):
    from PySide6.QtGui import QImage

    from gdviz.ui import export

    plot = numpy_window.surface_plot
    export.export_png(plot, tmp_path / "one.png", (400, 250), scale=1)
    export.export_png(plot, tmp_path / "two.png", (400, 250), scale=2)
    one, two = QImage(str(tmp_path / "one.png")), QImage(str(tmp_path / "two.png"))
    assert (one.width(), one.height()) == (400, 250)
    assert (two.width(), two.height()) == (800, 500)
    assert two.dotsPerMeterX() == 2 * one.dotsPerMeterX()  # placed at the same size on a slide
    # Painted at 2x, not blown up: a 2x2 block of the large image is not all one colour
    # everywhere the small one has an edge (a nearest-neighbour blow-up would be).
    big = pixels(two)[..., :3].astype(int)
    blocks = big.reshape(250, 2, 400, 2, 3)
    varied = (blocks.max(axis=(1, 3)) != blocks.min(axis=(1, 3))).any(axis=-1)
    assert varied.sum() > 500
    assert ink(two) > 0.004


def test_the_graph_and_gradient_check_in_closed_tabs_are_drawn_current(numpy_window, tmp_path):
    from PySide6.QtGui import QImage

    from gdviz.ui import export

    numpy_window.docks.graph.hide()
    numpy_window.docks.gradcheck.hide()
    export.export_png(numpy_window.graph_view, tmp_path / "graph.png", VIEW_SIZE)
    export.export_png(numpy_window.gradcheck_panel, tmp_path / "check.png", VIEW_SIZE)
    assert ink(QImage(str(tmp_path / "graph.png"))) > 0.01
    assert ink(QImage(str(tmp_path / "check.png"))) > 0.002
    assert "epoch 20" in numpy_window.gradcheck_panel.toPlainText()
    assert numpy_window.docks.graph.isHidden() and numpy_window.docks.gradcheck.isHidden()


def test_copy_to_the_clipboard_puts_the_image_there(numpy_window):
    from PySide6.QtGui import QGuiApplication

    from gdviz.ui import export

    image = export.copy_to_clipboard(numpy_window.fit_plot, (300, 200), scale=2)
    pasted = QGuiApplication.clipboard().image()
    assert (pasted.width(), pasted.height()) == (image.width(), image.height()) == (600, 400)


def test_bad_paths_and_endings_are_one_line_errors_and_leave_nothing(numpy_window, tmp_path):
    from gdviz.ui import export

    plot = numpy_window.loss_plot.plot
    cases = [tmp_path / "missing" / "x.png", tmp_path, tmp_path / "x.bmp"]
    for path in cases:
        with pytest.raises(export.ExportError) as caught:
            export.export_figure(plot, path)
        assert "\n" not in str(caught.value) and str(path.name) in str(caught.value)
    with pytest.raises(export.ExportError, match=r"between 0\.1 and 8"):
        export.export_png(plot, tmp_path / "x.png", scale=0)
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
        with pytest.raises(export.ExportError, match="Permission denied"):
            export.export_png(plot, locked / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked"] * (os.geteuid() != 0)


# --- SVG -----------------------------------------------------------------------------------------


def svg_texts(root: ET.Element) -> list[str]:
    return [" ".join("".join(e.itertext()).split()) for e in root.iter(f"{SVG}text")]


def scaled_groups_with_lines(root: ET.Element) -> int:
    """Groups whose lines a viewer without vector-effect support would draw hugely thick."""
    count = 0
    for group in root.iter(f"{SVG}g"):
        transform = group.get("transform", "")
        if not transform.startswith("matrix("):
            continue
        a, b, c, d = (float(v) for v in transform[7:-1].split(",")[:4])
        if (a, b, c, d) != (1, 0, 0, 1) and any(
                child.get("vector-effect") == "non-scaling-stroke" for child in group):
            count += 1
    return count


def test_svg_of_the_surface_is_vectors_with_its_texts(numpy_window, tmp_path):
    from PySide6.QtSvg import QSvgRenderer

    from gdviz.ui import export

    path = tmp_path / "surface.svg"
    export.export_svg(numpy_window.surface_plot, path, VIEW_SIZE)
    root = ET.parse(path).getroot()
    assert QSvgRenderer(str(path)).isValid()
    assert root.get("viewBox") == "0 0 640 400"
    paths = list(root.iter(f"{SVG}path"))
    assert len(paths) >= 10  # L(w), the path, the markers (paths in export mode), grid, axes
    assert not list(root.iter(f"{SVG}image"))  # nothing is a bitmap: no cached axis, no atlas
    texts = svg_texts(root)
    for expected in ("Loss surface L(w)", "w", "loss", "0", "0.5", "1.0", "1.5", "2.0",
                     "10", "20", "30"):
        assert expected in texts, (expected, texts)
    assert list(root.iter(f"{SVG}clipPath"))  # the plot area clips the curve (SVG 1.1)
    assert scaled_groups_with_lines(root) == 0


def test_svg_of_the_loss_fit_and_graph_views(numpy_window, tmp_path):
    from PySide6.QtSvg import QSvgRenderer

    from gdviz.ui import export

    expected = {"loss": ("Loss vs epoch", "epoch", "20", "40"),
                "fit": ("Data and fit", "x", "y"),
                "weights": ("epoch",),
                "graph": ("y_pred = w·x",)}
    widgets = export.views(numpy_window)
    for name, words in expected.items():
        path = tmp_path / f"{name}.svg"
        export.export_svg(widgets[name], path, VIEW_SIZE)
        root = ET.parse(path).getroot()
        assert QSvgRenderer(str(path)).isValid(), name
        assert len(list(root.iter(f"{SVG}path"))) >= 3, name
        texts = svg_texts(root)
        for word in words:
            assert any(word in text for text in texts), (name, word, texts)
        assert scaled_groups_with_lines(root) == 0, name


# Once in CI (not reproduced here in dozens of runs) QSvgRenderer warned "Invalid path data;
# path truncated." on this file: a path it could not read whole. Left open in the session note;
# the checks below still require a valid SVG with its image, paths and texts.
@pytest.mark.qt_log_ignore("Invalid path data; path truncated",
                           "This plugin does not support propagateSizeHints")
def test_svg_of_the_nn_heatmap_keeps_the_heatmap_as_an_image(make_window, qtbot, tmp_path):
    from PySide6.QtSvg import QSvgRenderer

    from gdviz.ui import export

    window = finished_window(make_window, qtbot, "nn", epochs=30, lr=0.05)
    path = tmp_path / "heatmap.svg"
    export.export_svg(window.surface_plot, path, VIEW_SIZE)
    root = ET.parse(path).getroot()
    assert QSvgRenderer(str(path)).isValid()
    assert 1 <= len(list(root.iter(f"{SVG}image"))) <= 3  # the heatmap and its colour bar
    assert len(list(root.iter(f"{SVG}path"))) >= 10  # contours, path, markers
    texts = svg_texts(root)
    assert "Loss surface L(w, b)" in texts and "b (bias)" in texts
    assert scaled_groups_with_lines(root) == 0


def test_svg_of_the_whole_window_is_refused_in_words(numpy_window, tmp_path):
    from gdviz.ui import export

    with pytest.raises(export.ExportError, match="export the whole window as PNG"):
        export.export_svg(numpy_window, tmp_path / "window.svg")
    assert list(tmp_path.iterdir()) == []


# --- animations ----------------------------------------------------------------------------------


def gif_frames(path: Path) -> tuple[int, list[int], dict[str, Any]]:
    from PIL import Image

    with Image.open(path) as gif:
        durations = []
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
        return gif.n_frames, durations, dict(gif.info)


def test_a_gif_of_100_epochs_has_101_frames_epoch_0_included(numpy_window, tmp_path):
    from gdviz.ui import export

    model = numpy_window.model
    before = (model.cursor, model.phase)
    path = tmp_path / "loss.gif"
    animation = export.AnimationExport.for_window(numpy_window, "loss", path, fps=10,
                                                  size=(400, 250))
    assert animation.total == 101
    animation.run()
    count, durations, info = gif_frames(path)
    assert count == 101  # the cursor moves every epoch: every frame differs
    assert durations == [100] * 101
    assert info["loop"] == 0
    assert path.stat().st_size < 1_000_000
    assert (model.cursor, model.phase) == before  # the window shows what it showed
    assert leftovers(tmp_path) == []


def test_identical_frames_are_stored_once_and_keep_the_timing(numpy_window, tmp_path):
    """lr 0.01 on the notebook's data converges in ~10 epochs: the surface stops moving."""
    from gdviz.ui import export

    path = tmp_path / "surface.gif"
    export.AnimationExport.for_window(numpy_window, "surface", path, fps=25,
                                      size=(400, 250)).run()
    count, durations, _info = gif_frames(path)
    assert 5 < count < 101
    assert sum(durations) == 101 * 40


def test_ranges_steps_and_sub_steps_choose_the_frames(numpy_window):
    from gdviz.core.phases import Phase
    from gdviz.ui import export

    model = numpy_window.model
    frames = export.animation_frames(model, epochs=(10, 20))
    assert [f.epoch for f in frames] == list(range(10, 21))
    frames = export.animation_frames(model, epochs=(0, 100), every=30)
    assert [f.epoch for f in frames] == [0, 30, 60, 90, 100]
    frames = export.animation_frames(model, sub_steps_of=3)
    assert frames == tuple(export.Frame(3, p) for p in model.config.spec.phases)
    assert frames[0].phase is Phase.FORWARD
    assert len(export.animation_frames(model, max_frames=25)) <= 26
    for bad in ({"epochs": (5, 200)}, {"epochs": (9, 3)}, {"sub_steps_of": 0},
                {"sub_steps_of": 101}):
        with pytest.raises(export.ExportError):
            export.animation_frames(model, **bad)
    for fps, ms in ((10, 100), (25, 40), (30, 30), (50, 20), (0.5, 2000)):
        assert export.frame_ms(fps) == ms
    for fps in (0, -1, 51, float("nan")):
        with pytest.raises(export.ExportError):
            export.frame_ms(fps)


def test_a_gif_of_the_sub_steps_of_one_epoch(numpy_window, tmp_path):
    from gdviz.ui import export

    model = numpy_window.model
    phases = model.config.spec.phases
    path = tmp_path / "substeps.gif"
    export.AnimationExport.for_window(numpy_window, "surface", path, sub_steps_of=1, fps=2,
                                      size=(400, 250)).run()
    count, durations, _info = gif_frames(path)
    assert count == len(phases)  # the marker, the tangent and the step arrow differ each time
    assert durations == [500] * len(phases)
    assert (model.cursor, model.phase) == (20, None)


def test_mp4_without_ffmpeg_says_what_to_install(numpy_window, tmp_path, monkeypatch):
    from gdviz.ui import export

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(export.ExportError, match="install ffmpeg to export MP4"):
        export.AnimationExport.for_window(numpy_window, "surface", tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


FAKE_FFMPEG = textwrap.dedent("""\
    #!{python}
    import sys
    data = sys.stdin.buffer.read()
    with open(sys.argv[-1], "wb") as out:
        out.write(" ".join(sys.argv[1:]).encode() + b"\\n" + data)
""")


def test_mp4_frames_are_piped_to_ffmpeg(numpy_window, tmp_path, monkeypatch):
    from gdviz.ui import export

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ffmpeg"
    fake.write_text(FAKE_FFMPEG.format(python=sys.executable))
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    path = tmp_path / "run.mp4"
    export.AnimationExport.for_window(numpy_window, "loss", path, epochs=(0, 9), fps=5,
                                      size=(200, 120)).run()
    head, _, data = path.read_bytes().partition(b"\n")
    assert b"-s 200x120" in head and b"-r 5" in head and b"libx264" in head
    assert len(data) == 10 * 200 * 120 * 3
    assert leftovers(tmp_path) == []


def test_an_animation_in_the_window_shows_progress_and_stays_responsive(numpy_window, qtbot,
                                                                         tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QProgressDialog

    from gdviz.ui import export

    path = tmp_path / "window.gif"
    ticks: list[int] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    progress: list[tuple[int, int]] = []
    done: list[str] = []
    animation = export.start_animation_export(numpy_window, "loss", path, epochs=(0, 60),
                                              size=(400, 250))
    animation.progressed.connect(lambda d, t: progress.append((d, t)))
    animation.finished.connect(done.append)
    dialog = numpy_window.findChild(QProgressDialog, "exportProgressDialog")
    assert dialog is not None and dialog.maximum() == 61
    qtbot.waitUntil(lambda: bool(done), timeout=30_000)
    timer.stop()
    assert done == [str(path)] and path.exists()
    assert len(progress) >= 2 and progress[-1] == (61, 61)
    assert len(ticks) >= len(progress) // 2  # the event loop ran between the chunks
    assert gif_frames(path)[0] == 61
    assert numpy_window.model.cursor == 20


def test_a_cancelled_animation_leaves_no_file(numpy_window, qtbot, tmp_path):
    from PySide6.QtWidgets import QProgressDialog, QPushButton

    from gdviz.ui import export

    path = tmp_path / "cancelled.gif"
    cancelled: list[bool] = []
    animation = export.start_animation_export(numpy_window, "surface", path, size=(400, 250))
    animation.cancelled.connect(lambda: cancelled.append(True))
    qtbot.waitUntil(lambda: animation.done > 0, timeout=30_000)
    assert animation.done < animation.total
    assert leftovers(tmp_path)  # being written beside the target
    dialog = numpy_window.findChild(QProgressDialog, "exportProgressDialog")
    dialog.findChild(QPushButton).click()  # Cancel
    assert cancelled == [True]
    qtbot.wait(100)
    assert list(tmp_path.iterdir()) == []
    assert numpy_window.model.cursor == 20
    assert not numpy_window.model.signalsBlocked()


def test_closing_the_window_during_an_animation_cancels_it(numpy_window, qtbot, tmp_path):
    from gdviz.ui import export

    path = tmp_path / "closed.gif"
    cancelled: list[bool] = []
    animation = export.start_animation_export(numpy_window, "loss", path, size=(400, 250))
    animation.cancelled.connect(lambda: cancelled.append(True))
    qtbot.waitUntil(lambda: animation.done > 0, timeout=30_000)
    numpy_window.close()
    qtbot.waitUntil(lambda: bool(cancelled), timeout=5_000)
    assert list(tmp_path.iterdir()) == []


FREED_SCRIPT = textwrap.dedent("""
    import gc, os, sys, time, weakref
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from gdviz.core.config import build_config
    from gdviz.ui.app import make_application
    from gdviz.ui import MainWindow
    from gdviz.ui import export
    app = make_application()
    gc.disable()  # only reference counting may free the window
    window = MainWindow(build_config("numpy"))
    window.show()
    window.model.run_to_end()
    while window.model.state != "finished":
        app.processEvents()
    done = []
    animation = export.start_animation_export(window, "window", sys.argv[1], epochs=(0, 4))
    animation.finished.connect(done.append)
    while not done:
        app.processEvents()
        time.sleep(0.01)
    del animation
    for _ in range(20):
        app.processEvents()
        time.sleep(0.01)
    alive = weakref.ref(window)
    del window
    print("freed" if alive() is None else "kept alive by a reference cycle")
""")


def test_a_window_that_exported_an_animation_is_still_freed_at_once(tmp_path):
    result = subprocess.run([sys.executable, "-c", FREED_SCRIPT, str(tmp_path / "w.gif")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "freed"


def test_each_gif_frame_decodes_to_the_picture_painted(tmp_path):
    """Only the changed rectangle of a frame is quantized and written: decoded, every frame
    is still the whole picture, and a repeated picture lengthens the frame before."""
    import numpy as np
    from PIL import Image
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QColor, QImage, QPainter

    from gdviz.ui import export

    def picture(x: int, color: str) -> QImage:
        image = QImage(120, 80, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(QColor("white"))
        painter = QPainter(image)
        painter.fillRect(QRect(x, 20, 15, 30), QColor(color))
        painter.fillRect(QRect(5, 60, 110, 4), QColor("#0072B2"))  # never changes
        painter.end()
        return image

    pictures = [picture(10, "#D55E00"), picture(40, "#D55E00"), picture(40, "#D55E00"),
                picture(40, "#009E73"), picture(90, "#009E73")]
    path = tmp_path / "frames.gif"
    sink = export._GifSink(path, pictures, duration_ms=100)
    for image in pictures:
        sink.add(image)
    sink.close()
    expected = [pictures[i] for i in (0, 1, 3, 4)]  # the third repeats the second
    with Image.open(path) as gif:
        assert gif.n_frames == len(expected)
        for index, image in enumerate(expected):
            gif.seek(index)
            assert gif.info["duration"] == (200 if index == 1 else 100)
            decoded = np.asarray(gif.convert("RGB"))
            painted = np.asarray(export._rgb(image))
            assert np.array_equal(decoded, painted), f"frame {index}"
