"""`gdviz export`: each format from the command line, and its errors (exit 2, one line,
nothing left behind)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gdviz.cli import main

SVG = "{http://www.w3.org/2000/svg}"


def gdviz(*args: str, cwd: Path, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gdviz", *args], capture_output=True,
                          text=True, timeout=180, cwd=cwd, env=env)


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- each format ---------------------------------------------------------------------------------


def test_png_of_the_surface_at_a_size_and_scale(tmp_path):
    from PIL import Image

    result = gdviz("export", "--out", "surface.png", "--epochs", "20", "--size", "400x300",
                   "--scale", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""
    with Image.open(tmp_path / "surface.png") as image:
        assert image.size == (800, 600)
        colors = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colors is not None and len(colors) > 50  # curves, markers, text: not blank
    assert files(tmp_path) == ["surface.png"]


def test_png_of_the_window_and_of_a_diverging_run(tmp_path):
    from PIL import Image

    result = gdviz("export", "--out", "window.png", "--view", "window", "--size", "1280x800",
                   "--preset", "numpy-diverging", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("gdviz export: note: the run diverged at epoch")
    assert len(result.stderr.splitlines()) == 1
    with Image.open(tmp_path / "window.png") as image:
        assert image.size == (1280, 800)


def test_svg_of_the_loss_plot(tmp_path):
    result = gdviz("export", "--out", "loss.svg", "--view", "loss", "--epochs", "40",
                   cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    root = ET.parse(tmp_path / "loss.svg").getroot()
    assert root.get("viewBox") == "0 0 800 500"
    texts = [" ".join("".join(e.itertext()).split()) for e in root.iter(f"{SVG}text")]
    assert "Loss vs epoch" in texts and "epoch" in texts and "20" in texts
    assert len(list(root.iter(f"{SVG}path"))) >= 3


def test_gif_of_every_epoch_and_of_a_range(tmp_path):
    from PIL import Image

    result = gdviz("export", "--out", "loss.gif", "--view", "loss", "--epochs", "30",
                   "--fps", "20", "--size", "320x200", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "loss.gif") as gif:
        assert gif.size == (320, 200)
        assert gif.n_frames == 31  # epochs 0 to 30
        assert gif.info["duration"] == 50 and gif.info["loop"] == 0
    result = gdviz("export", "--out", "part.gif", "--view", "loss", "--epochs", "30",
                   "--range", "5:25:10", "--size", "320x200", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / "part.gif") as gif:
        assert gif.n_frames == 3  # epochs 5, 15, 25


def test_json_is_byte_for_byte_gdviz_run_json(tmp_path, gdviz_run):
    options = ["--trainer", "numpy", "--epochs", "25", "--lr", "0.02", "--w0", "-1"]
    assert main(["export", "--out", str(tmp_path / "run.json"), *options]) == 0
    printed = gdviz_run("--json", *options)
    assert printed.returncode == 0
    assert (tmp_path / "run.json").read_text(encoding="utf-8") == printed.stdout
    assert files(tmp_path) == ["run.json"]


def test_csv_has_the_trace_numbers(tmp_path, gdviz_run):
    from gdviz.core import traces
    from gdviz.core.config import build_config

    options = ["--trainer", "numpy", "--epochs", "25", "--optimizer", "adam"]
    assert main(["export", "--out", str(tmp_path / "run.csv"), *options]) == 0
    config = build_config("numpy", explicit={"epochs": 25, "optimizer": "adam"})
    traces.write_csv(tmp_path / "expected.csv", config)
    assert (tmp_path / "run.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
    rows = (tmp_path / "run.csv").read_text(encoding="utf-8").splitlines()
    printed = [json.loads(line) for line in gdviz_run("--json", *options).stdout.splitlines()]
    header = rows[0].split(",")
    for line, expected in zip(rows[1:], printed, strict=False):
        row = dict(zip(header, line.split(","), strict=True))
        assert int(row["epoch"]) == expected["epoch"]
        for key in header[1:]:
            assert float(row[key]) == expected[key]
    assert len(rows) == 1 + 25


def test_traces_build_no_window_and_import_no_qt(tmp_path):
    script = ("import sys; from gdviz.cli import main; "
              f"code = main(['export', '--out', {str(tmp_path / 'run.csv')!r}]); "
              "print(code, 'PySide6' in sys.modules, 'torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "words"), [
    (["--out", "x.bmp"], "'.bmp' is not one of .png"),
    (["--out", "x"], "no ending is not one of"),
    (["--out", "missing/x.png"], "the folder missing does not exist"),
    (["--out", "folder.png"], "it is a folder"),
    (["--out", "x.png", "--size", "800"], "--size must be WIDTHxHEIGHT"),
    (["--out", "x.png", "--size", "8x8"], "each side must be 16 to 8192"),
    (["--out", "x.png", "--scale", "0"], "--scale must be between 0.1 and 8"),
    (["--out", "x.png", "--fps", "10"], "--fps is for animations"),
    (["--out", "x.svg", "--scale", "2"], "an SVG scales by itself"),
    (["--out", "x.svg", "--view", "window"], "export the window as PNG"),
    (["--out", "x.gif", "--fps", "0"], "--fps must be above 0"),
    (["--out", "x.gif", "--range", "9:3"], "the first epoch is after the last"),
    (["--out", "x.gif", "--range", "a:b"], "--range must be A:B or A:B:K"),
    (["--out", "x.gif", "--range", "0:5", "--sub-steps", "2"], "give one of them"),
    (["--out", "x.csv", "--view", "loss"], "--view: a trace (.csv) holds every epoch"),
    (["--out", "x.json", "--lr", "-1"], "--lr"),
])
def test_mistakes_are_one_line_exit_2_and_leave_nothing(tmp_path, monkeypatch, capsys, args,
                                                        words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.png").mkdir()
    assert main(["export", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gdviz export: error: ") and words in err, err
    assert len(err.splitlines()) == 1
    assert files(tmp_path) == ["folder.png"]


def test_argparse_mistakes_are_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for args in (["export"], ["export", "--out", "x.png", "--view", "nope"],
                 ["export", "--out", "x.png", "--lr", "abc"]):
        with pytest.raises(SystemExit) as caught:
            main(args)
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1, err
    assert files(tmp_path) == []


def test_an_unwritable_folder_exits_2_with_one_line(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user writes anywhere (root)")
        for name in ("x.png", "x.csv"):
            result = gdviz("export", "--out", str(folder / name), cwd=tmp_path)
            assert result.returncode == 2
            assert result.stderr.startswith("gdviz export: error: cannot write")
            assert "Permission denied" in result.stderr
            assert len(result.stderr.splitlines()) == 1
        assert files(folder) == []
    finally:
        folder.chmod(0o700)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys is Linux's")
@pytest.mark.parametrize("name", ["x.png", "x.gif", "x.csv", "x.json"])
def test_a_folder_even_root_cannot_write_exits_2(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--out", f"/sys/{name}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"gdviz export: error: cannot write /sys/{name}: ")
    assert len(err.splitlines()) == 1


def test_a_range_past_the_run_exits_2_and_leaves_nothing(tmp_path):
    result = gdviz("export", "--out", "x.gif", "--epochs", "10", "--range", "0:50",
                   cwd=tmp_path)
    assert result.returncode == 2
    assert "goes past the recorded run" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert files(tmp_path) == []


def test_mp4_without_ffmpeg_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    assert main(["export", "--out", "x.mp4"]) == 2
    assert "install ffmpeg to export MP4" in capsys.readouterr().err
    assert files(tmp_path) == []
