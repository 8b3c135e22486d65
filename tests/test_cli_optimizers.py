"""`gdviz run/gui --optimizer ...`: the options, the JSON state keys, each invalid combination."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gdviz import cli
from gdviz.core.config import build_config
from gdviz.core.optimizers import HYPERPARAMETERS, OPTIMIZER_NAMES
from gdviz.core.trainers import make_trainer


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`gdviz ARGS...` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(list(args))
    except SystemExit as done:  # argparse's own errors
        status = int(done.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def json_rows(out: str) -> list[dict[str, Any]]:
    return [row for row in map(json.loads, out.splitlines()) if "epoch" in row]


# (CLI arguments, the keys each epoch's JSON object carries beyond epoch/loss/params/grads)
STATE_KEYS = {
    "sgd momentum": (["--optimizer", "sgd", "--momentum", "0.9"], ["momentum_buffer"]),
    "sgd nesterov, weight decay": (["--momentum", "0.5", "--nesterov", "--weight-decay", "0.1"],
                                   ["momentum_buffer"]),
    "sgd weight decay only": (["--weight-decay", "0.1"], []),
    "adam": (["--optimizer", "adam"],
             ["step", "exp_avg", "exp_avg_sq", "bias_correction1", "bias_correction2"]),
    "adam amsgrad": (["--optimizer", "adam", "--amsgrad", "--betas", "0.8,0.99", "--eps", "1e-6"],
                     ["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq", "bias_correction1",
                      "bias_correction2"]),
    "adamw": (["--optimizer", "adamw", "--weight-decay", "0.05"],
              ["step", "exp_avg", "exp_avg_sq", "bias_correction1", "bias_correction2"]),
    "rmsprop": (["--optimizer", "rmsprop", "--alpha", "0.9"], ["step", "square_avg"]),
    "rmsprop centered momentum": (["--optimizer", "rmsprop", "--centered", "--momentum", "0.5"],
                                  ["step", "square_avg", "momentum_buffer", "grad_avg"]),
    "adagrad": (["--optimizer", "adagrad", "--initial-accumulator", "0.1"], ["step", "sum"]),
    "adagrad lr decay": (["--optimizer", "adagrad", "--lr-decay", "0.01"],
                         ["step", "sum", "clr"]),
}


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
@pytest.mark.parametrize(("args", "keys"), STATE_KEYS.values(), ids=STATE_KEYS.keys())
def test_json_records_carry_the_optimizer_state(capsys, trainer: str, args: list[str],
                                                keys: list[str]) -> None:
    status, out, err = run(capsys, "run", "--trainer", trainer, *args, "--epochs", "5",
                           "--json")
    assert status == 0 and err == ""
    rows = json_rows(out)
    assert [row["epoch"] for row in rows] == [1, 2, 3, 4, 5]
    params = ("w", "b") if trainer == "nn" else ("w",)
    base = ["epoch", "loss", *params, *(f"grad_{p}" for p in params)]
    assert list(rows[0]) == base + [f"{key}_{p}" for p in params for key in keys]
    # The numbers are the trainer's own records.
    config = cli.config_from_args(cli.make_parser().parse_args(
        ["run", "--trainer", trainer, *args, "--epochs", "5"]))
    model = make_trainer(config)
    for row in rows:
        record = model.step()
        assert row[params[0]] == record.params_after[0]
        state = record.optimizer_state
        assert (state.flat(params) if state is not None else {}) == {
            key: value for key, value in row.items() if key not in base}


def test_the_json_state_keys_are_documented() -> None:
    documented = cli.__doc__ or ""
    for _, keys in STATE_KEYS.values():
        for key in keys:
            assert f"`{key}_w`" in documented, key


def test_plain_sgd_json_is_unchanged(capsys) -> None:
    status, out, _ = run(capsys, "run", "--optimizer", "sgd", "--json", "--epochs", "2")
    assert status == 0
    assert list(json_rows(out)[0]) == ["epoch", "loss", "w", "grad_w"]


@pytest.mark.parametrize("trainer", ["numpy", "autograd", "nn"])
def test_explicit_sgd_prints_the_notebooks_lines(capsys, reference, trainer: str) -> None:
    status, out, _ = run(capsys, "run", "--trainer", trainer, "--optimizer", "sgd",
                         "--momentum", "0", "--weight-decay", "0")
    assert status == 0
    assert out.split("\n") == [*reference[trainer], ""]


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_each_optimizer_runs_and_prints_the_cells_lines(capsys, name: str) -> None:
    status, out, err = run(capsys, "run", "--trainer", "autograd", "--optimizer", name,
                           "--lr", "0.05")
    assert status == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 11 and lines[0].startswith("epoch 1: w = ")
    assert lines[-1].startswith("prediction after training: f(5)")


def test_the_lessons_work_with_an_optimizer(capsys) -> None:
    status, out, _ = run(capsys, "run", "--trainer", "nn", "--optimizer", "adam",
                         "--forget-zero-grad", "--json", "--epochs", "3")
    assert status == 0 and len(json_rows(out)) == 3
    status, out, err = run(capsys, "run", "--trainer", "autograd", "--optimizer", "rmsprop",
                           "--update-with-grad", "--json")
    assert status == cli.EXIT_TORCH_REFUSED
    assert json.loads(out.splitlines()[-1])["refused_at"] == 1
    assert len(err.splitlines()) == 1 and "RuntimeError" in err


INVALID = {
    "nesterov without momentum": ["--nesterov"],
    "nesterov with zero momentum": ["--nesterov", "--momentum", "0"],
    "nesterov with dampening": ["--nesterov", "--momentum", "0.9", "--dampening", "0.1"],
    "beta1 of 1": ["--optimizer", "adam", "--betas", "1,0.999"],
    "beta2 above 1": ["--optimizer", "adamw", "--betas", "0.9,1.5"],
    "negative beta": ["--optimizer", "adam", "--betas", "-0.1,0.999"],
    "one beta": ["--optimizer", "adam", "--betas", "0.9"],
    "three betas": ["--optimizer", "adam", "--betas", "0.9,0.99,0.999"],
    "betas not numbers": ["--optimizer", "adam", "--betas", "a,b"],
    "negative eps": ["--optimizer", "adam", "--eps", "-1e-8"],
    "nan eps": ["--optimizer", "rmsprop", "--eps", "nan"],
    "negative weight decay": ["--weight-decay", "-1"],
    "negative weight decay, exponent": ["--optimizer", "adamw", "--weight-decay", "-1e-3"],
    "inf weight decay": ["--weight-decay", "inf"],
    "negative momentum": ["--momentum", "-0.5"],
    "dampening above 1": ["--momentum", "0.9", "--dampening", "2"],
    "negative alpha": ["--optimizer", "rmsprop", "--alpha", "-0.1"],
    "alpha above 1": ["--optimizer", "rmsprop", "--alpha", "1.5"],
    "negative lr decay": ["--optimizer", "adagrad", "--lr-decay", "-0.1"],
    "negative initial accumulator": ["--optimizer", "adagrad", "--initial-accumulator", "-1"],
    "momentum with adam": ["--optimizer", "adam", "--momentum", "0.9"],
    "nesterov with rmsprop": ["--optimizer", "rmsprop", "--nesterov"],
    "betas with sgd": ["--betas", "0.9,0.99"],
    "amsgrad with sgd": ["--amsgrad"],
    "eps with sgd": ["--eps", "1e-8"],
    "alpha with adam": ["--optimizer", "adam", "--alpha", "0.9"],
    "centered with adagrad": ["--optimizer", "adagrad", "--centered"],
    "lr decay with adamw": ["--optimizer", "adamw", "--lr-decay", "0.1"],
    "initial accumulator with rmsprop": ["--optimizer", "rmsprop", "--initial-accumulator",
                                         "0.1"],
    "dampening with adagrad": ["--optimizer", "adagrad", "--dampening", "0.1"],
    "unknown optimizer": ["--optimizer", "lbfgs"],
    "momentum not a number": ["--momentum", "fast"],
    "eps without value": ["--optimizer", "adam", "--eps"],
}


@pytest.mark.parametrize("command", ["run", "gui"])
@pytest.mark.parametrize("args", INVALID.values(), ids=INVALID.keys())
def test_invalid_combinations_exit_2_with_one_line(capsys, command: str,
                                                   args: list[str]) -> None:
    status, out, err = run(capsys, command, *args)
    assert status == cli.EXIT_USAGE
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gdviz") and "Traceback" not in err


def test_negative_values_reach_validation_not_argparse(capsys) -> None:
    for args, words in ((["--weight-decay", "-1"], "--weight-decay must be 0 or greater"),
                        (["--weight-decay", "-1e-3"], "--weight-decay must be 0 or greater"),
                        (["--optimizer", "adam", "--betas", "-0.1,0.9"], "--betas must each"),
                        (["--optimizer", "adam", "--eps", "-1e-8"], "--eps must be"),
                        (["--momentum", "-.5"], "--momentum must be")):
        _, _, err = run(capsys, "run", *args)
        assert words in err, err


def test_every_value_option_takes_negative_numbers_as_values() -> None:
    for hyperparameter in HYPERPARAMETERS.values():
        assert (hyperparameter.option in cli._VALUE_OPTIONS) == (hyperparameter.kind != "flag")


def test_run_and_gui_both_take_the_options() -> None:
    parser = cli.make_parser()
    for command in ("run", "gui"):
        args = parser.parse_args([command, "--optimizer", "adam", "--betas", "0.8,0.9",
                                  "--amsgrad", "--eps", "1e-6", "--weight-decay", "0.1"])
        config = cli.config_from_args(args)
        assert config == build_config(explicit={"optimizer": "adam", "betas": (0.8, 0.9),
                                                "amsgrad": True, "eps": 1e-6,
                                                "weight_decay": 0.1})


def test_through_a_subprocess(gdviz_run) -> None:
    done = gdviz_run("--trainer", "nn", "--optimizer", "adamw", "--amsgrad", "--epochs", "2",
                     "--json")
    assert done.returncode == 0, done.stderr
    first = json.loads(done.stdout.splitlines()[0])
    assert {"max_exp_avg_sq_w", "max_exp_avg_sq_b", "step_b"} <= set(first)
    bad = gdviz_run("--trainer", "nn", "--nesterov", "--json")
    assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1
    assert bad.stdout == ""
