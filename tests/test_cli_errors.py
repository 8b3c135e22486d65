"""Every bad input ends in one line on stderr and exit 2; divergence in exit 3; no tracebacks."""

from __future__ import annotations

import json

import pytest

BAD_INPUTS: dict[str, list[str]] = {
    "x not numeric": ["--x", "1,two,3,4"],
    "x empty": ["--x", ""],
    "x only commas": ["--x", ",,"],
    "x empty entry": ["--x", "1,,3,4"],
    "y not numeric": ["--y", "2,4,six,8"],
    "y empty": ["--y", ""],
    "lengths differ": ["--x", "1,2,3", "--y", "2,4,6,8"],
    "x nan": ["--x", "1,nan,3,4"],
    "y inf": ["--y", "2,4,inf,8"],
    "x too large for float32": ["--x", "1,2,3,1e39"],
    "nn one point": ["--trainer", "nn", "--x", "1", "--y", "2"],
    "lr zero": ["--lr", "0"],
    "lr negative": ["--lr", "-0.1"],
    "lr nan": ["--lr", "nan"],
    "lr inf": ["--lr", "inf"],
    "lr not a number": ["--lr", "fast"],
    "epochs negative": ["--epochs", "-1"],
    "epochs too many": ["--epochs", str(10**8 + 1)],
    "epochs not whole": ["--epochs", "2.5"],
    "log-every zero": ["--log-every", "0"],
    "log-every negative": ["--log-every", "-3"],
    "unknown trainer": ["--trainer", "jax"],
    "unknown preset": ["--preset", "no-such-preset"],
    "gradient with autograd": ["--trainer", "autograd", "--gradient", "mean"],
    "gradient with nn": ["--trainer", "nn", "--gradient", "notebook"],
    "unknown gradient": ["--gradient", "sum"],
    "b0 with numpy": ["--trainer", "numpy", "--b0", "1"],
    "b0 with autograd": ["--trainer", "autograd", "--b0", "1"],
    "w0 nan": ["--w0", "nan"],
    "x-test inf": ["--x-test", "inf"],
    "seed negative": ["--trainer", "nn", "--seed", "-1"],
    "unknown option": ["--velocity", "0.9"],
    "option without value": ["--lr"],
}


@pytest.mark.parametrize("args", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_with_one_line(args: list[str], gdviz_run) -> None:
    done = gdviz_run(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_bad_input_also_exits_2_with_json(trainer: str, gdviz_run) -> None:
    done = gdviz_run("--trainer", trainer, "--json", "--lr", "-1")
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr


DIVERGING = {
    # numpy's default 10 epochs at lr 1 stay finite in float32 (w = -1e18), so run longer.
    "numpy lr 1": ["--trainer", "numpy", "--lr", "1", "--epochs", "100"],
    "numpy preset": ["--preset", "numpy-diverging"],
    "autograd lr 1": ["--trainer", "autograd", "--lr", "1"],
    "nn lr 1": ["--trainer", "nn", "--lr", "1"],
    "numpy huge lr": ["--trainer", "numpy", "--lr", "1e308", "--epochs", "5"],
}


@pytest.mark.parametrize("args", DIVERGING.values(), ids=DIVERGING.keys())
def test_divergence_exits_3_naming_the_epoch(args: list[str], gdviz_run) -> None:
    done = gdviz_run(*args)
    assert done.returncode == 3, (done.stdout[-300:], done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "epoch" in lines[0]
    assert any(char.isdigit() for char in lines[0])


@pytest.mark.parametrize("trainer", ["numpy", "nn"])
def test_divergence_with_json_names_the_epoch(trainer: str, gdviz_run) -> None:
    done = gdviz_run("--trainer", trainer, "--lr", "1", "--epochs", "1000", "--json")
    assert done.returncode == 3
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    epochs = [row for row in rows if "epoch" in row]
    tail = [row for row in rows if "epoch" not in row]
    assert [row["epoch"] for row in epochs] == list(range(1, len(epochs) + 1))
    assert tail == [{"diverged_at": len(epochs)}]
    last = epochs[-1]
    # The diverged epoch's non-finite numbers come out as null, never as NaN/Infinity tokens.
    assert None in (last["loss"], last["w"])
    assert "NaN" not in done.stdout and "Infinity" not in done.stdout
    assert f"epoch {len(epochs)}" in done.stderr


def test_preset_values_are_used(gdviz_run) -> None:
    done = gdviz_run("--preset", "numpy-true-gradient", "--json")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if '"epoch"' in line]
    assert len(rows) == 40  # the preset's epochs
    # lr 0.01 and the true gradient at w=0, -2·mean(x·y) = -30 (the notebook's is N=4 times that).
    assert rows[0]["w"] == pytest.approx(0.3, rel=1e-6)


def test_explicit_options_override_a_preset(gdviz_run) -> None:
    done = gdviz_run("--preset", "numpy-true-gradient", "--json", "--epochs", "3",
                     "--gradient", "notebook", "--lr", "0.02")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines() if '"epoch"' in line]
    assert len(rows) == 3
    assert rows[0]["w"] == pytest.approx(0.02 * 120, rel=1e-6)  # notebook gradient at w=0: -120


def test_trainer_option_overrides_a_preset_trainer(gdviz_run, reference) -> None:
    done = gdviz_run("--preset", "notebook-numpy", "--trainer", "autograd", "--epochs", "100",
                     "--log-every", "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [*reference["autograd"], ""]


def test_text_output_of_a_preset_follows_its_log_every(gdviz_run) -> None:
    done = gdviz_run("--preset", "numpy-oscillating")
    assert done.returncode == 0, done.stderr
    epochs = [line.split(":")[0] for line in done.stdout.splitlines() if line.startswith("epoch")]
    assert epochs == [f"epoch {k}" for k in range(1, 41, 4)]


def test_negative_values_after_an_option_are_values(gdviz_run) -> None:
    # argparse alone reads "-1,0,1" and "-1e-3" as unknown options ("expected one argument").
    done = gdviz_run("--trainer", "nn", "--x", "-1,0,1", "--y", "-2,0.5,2", "--w0", "-1e-3",
                     "--b0", "-0.5", "--x-test", "-2", "--epochs", "1", "--json")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout.splitlines()[0])
    assert first["epoch"] == 1
    # From w=-0.001, b=-0.5 the residuals w*x + b - y are (1.501, -1.0, -2.501).
    assert first["loss"] == pytest.approx((1.501**2 + 1.0**2 + 2.501**2) / 3, rel=1e-5)


@pytest.mark.parametrize("trainer", ["numpy", "autograd"])
def test_overflow_at_the_start_is_divergence_not_a_warning(trainer: str, gdviz_run) -> None:
    """The trainer was built outside quiet_overflow: numpy's 2*x overflowed with a warning."""
    result = gdviz_run("--trainer", trainer, "--x", "3e38,1", "--y", "1,1", "--epochs", "3")
    assert result.returncode == 3
    assert "Warning" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]


def test_window_messages_name_fields_not_flags() -> None:
    from gdviz.core.config import ConfigError, build_config

    with pytest.raises(ConfigError) as error:
        build_config("numpy", explicit={"x": (), "y": ()})
    assert "--x" in str(error.value)
    assert "--" not in error.value.ui_text and "x column" in error.value.ui_text
    with pytest.raises(ConfigError) as error:
        build_config("numpy", explicit={"lr": -1})
    assert error.value.ui_text == "learning rate must be greater than 0, got -1"


def test_the_window_without_a_display_is_a_one_line_error() -> None:
    """Qt aborts the interpreter (exit 134) with a misleading hint; gdviz says why first."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "gdviz"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no display" in done.stderr
