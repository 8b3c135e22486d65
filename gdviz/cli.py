"""Command line: `gdviz` / `gdviz gui` open the window, `gdviz run` trains headless.

Every mistake a user can make on the command line ends in one line on stderr and exit status 2;
a run that diverges ends with a line naming the epoch and exit status 3.

`gdviz run --json` prints one object per epoch: `epoch` (1-based), `loss` (before the update),
each parameter after the update (`w`, and `b` for nn), its gradient (`grad_w`, `grad_b`), and,
for an optimizer that keeps state, that state after the update as `<key>_<param>` (torch.optim's
state names, plus what torch derives from them on the way):
- sgd with --momentum: `momentum_buffer_w`;
- adam, adamw: `step_w`, `exp_avg_w` (m), `exp_avg_sq_w` (v), `max_exp_avg_sq_w` (with
  --amsgrad), `bias_correction1_w` (1 - beta1^t), `bias_correction2_w` (1 - beta2^t);
- rmsprop: `step_w`, `square_avg_w`, `momentum_buffer_w` (with --momentum), `grad_avg_w` (with
  --centered);
- adagrad: `step_w`, `sum_w`, `clr_w` (the decayed learning rate, with --lr-decay).
For nn the same keys follow for b (`exp_avg_b`, ...). Plain SGD adds none. Non-finite numbers
are null.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from gdviz.core.config import (
    GRADIENT_MODES,
    ConfigError,
    RunConfig,
    build_config,
    parse_numbers,
)
from gdviz.core.optimizers import HYPERPARAMETERS, OPTIMIZER_NAMES
from gdviz.core.registry import TRAINERS

EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_TORCH_REFUSED = 4  # the --update-with-grad lesson: torch raised its RuntimeError


class _OneLineParser(argparse.ArgumentParser):
    """argparse prints its usage block before an error; we promise a single line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--trainer", choices=TRAINERS, help="which notebook cell to run (default: numpy)")
    add("--preset", metavar="NAME", help="start from a preset in resources/presets/")
    add("--lr", type=float, metavar="F", help="learning rate")
    add("--epochs", type=int, metavar="N", help="number of epochs")
    add("--log-every", type=int, metavar="K", help="print every K-th epoch (text output)")
    add("--x", metavar="1,2,3,4", help="inputs, comma-separated")
    add("--y", metavar="2,4,6,8", help="targets, comma-separated")
    add("--x-test", type=float, metavar="F", help="the x of the printed prediction f(x)")
    add("--w0", type=float, metavar="F", help="initial weight")
    add("--b0", type=float, metavar="F", help="initial bias (nn only)")
    add("--seed", type=int, metavar="S", help="torch seed for nn.Linear's initial weights")
    add("--gradient", choices=GRADIENT_MODES,
        help="numpy only: 'notebook' (N x the MSE gradient, as in the lecture) or 'mean'")
    add("--forget-zero-grad", action="store_true", default=None,
        help="lesson (torch trainers): leave out w.grad.zero_() / optimizer.zero_grad()")
    add("--update-with-grad", action="store_true", default=None,
        help="lesson (torch trainers): update w outside torch.no_grad(); torch refuses")
    add("--optimizer", choices=OPTIMIZER_NAMES,
        help="torch.optim's update rule (default: sgd); unset settings take torch's defaults")
    add("--momentum", type=float, metavar="F", help="sgd, rmsprop: momentum factor")
    add("--dampening", type=float, metavar="F", help="sgd: dampening of the momentum")
    add("--nesterov", action="store_true", default=None,
        help="sgd: Nesterov momentum (needs --momentum, and --dampening 0)")
    add("--weight-decay", type=float, metavar="F",
        help="L2 penalty (adamw: decoupled, default 0.01; others 0)")
    add("--betas", metavar="F,F", help="adam, adamw: the averages' decay rates (0.9,0.999)")
    add("--eps", type=float, metavar="F",
        help="adam, adamw, rmsprop (1e-8), adagrad (1e-10): added to the denominator")
    add("--alpha", type=float, metavar="F", help="rmsprop: smoothing constant (0.99)")
    add("--centered", action="store_true", default=None,
        help="rmsprop: divide by the gradient's estimated variance")
    add("--amsgrad", action="store_true", default=None,
        help="adam, adamw: use the largest second moment so far")
    add("--lr-decay", type=float, metavar="F", help="adagrad: learning rate decay")
    add("--initial-accumulator", type=float, metavar="F",
        help="adagrad: starting value of the sum of squared gradients")


def make_parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(prog="gdviz", description="Visualize gradient descent, step by step.")
    commands = parser.add_subparsers(dest="command", metavar="{gui,run,export}")
    run = commands.add_parser("run", help="train headless and print the notebook's lines")
    _add_run_options(run)
    run.add_argument("--json", action="store_true",
                     help="print one JSON object per epoch (JSON Lines) instead")
    gui = commands.add_parser("gui", help="open the window (the default)")
    _add_run_options(gui)
    gui.add_argument("--session", metavar="FILE",
                     help="open a .gdviz session file (saved with File → Save session)")
    from gdviz.export_command import add_export_options

    export = commands.add_parser("export", help="write a figure, animation or trace of a run "
                                 "(PNG, SVG, GIF, MP4, CSV, JSON) without showing the window")
    _add_run_options(export)
    add_export_options(export)
    return parser


def config_from_args(args: argparse.Namespace) -> RunConfig:
    explicit: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("lr", "epochs", "log_every", "x_test", "w0", "b0", "seed", "gradient",
                     "forget_zero_grad", "update_with_grad", "optimizer",
                     *(key for key in HYPERPARAMETERS if key != "betas"))
    }
    if args.betas is not None:
        explicit["betas"] = parse_numbers(args.betas, "--betas")
    if args.x is not None:
        explicit["x"] = parse_numbers(args.x, "--x")
    if args.y is not None:
        explicit["y"] = parse_numbers(args.y, "--y")
    return build_config(trainer=args.trainer, explicit=explicit, preset_name=args.preset)


def _looks_numeric(token: str) -> bool:
    try:
        return all(float(part) is not None for part in token.split(","))
    except ValueError:
        return False


def _attach_negative_values(argv: list[str]) -> list[str]:
    """`--x -1,0,1` as `--x=-1,0,1`.

    argparse takes only plain negative numbers such as -1 or -0.5 as values; "-1,0,1" or "-1e-3"
    it reads as an unknown option and stops with "expected one argument".
    """
    fixed: list[str] = []
    for i, token in enumerate(argv):
        follows_option = bool(fixed) and fixed[-1] in _VALUE_OPTIONS
        if follows_option and token.startswith("-") and _looks_numeric(token):
            fixed[-1] = f"{fixed[-1]}={token}"
        else:
            fixed.append(token)
        if token == "--":
            return fixed + argv[i + 1 :]
    return fixed


_VALUE_OPTIONS = frozenset({"--lr", "--x", "--y", "--x-test", "--w0", "--b0", "--seed",
                            "--epochs", "--log-every",
                            *(h.option for h in HYPERPARAMETERS.values() if h.kind != "flag")})


def main(argv: list[str] | None = None) -> int:
    argv = _attach_negative_values(sys.argv[1:] if argv is None else list(argv))
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["gui", *argv]
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ConfigError as error:
        print(f"gdviz {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "gui":
        from gdviz.ui.app import run_app

        # Without any run option the window goes on from where the user left it.
        given = any(value is not None for name, value in vars(args).items()
                    if name not in ("command", "session"))
        return run_app(config if given else None, session=args.session)
    if args.command == "export":
        from gdviz.export_command import run_export

        return run_export(args, config)
    try:
        return run_headless(config, as_json=args.json)
    except BrokenPipeError:  # e.g. `gdviz run --json | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("gdviz run: interrupted", file=sys.stderr)
        return 130


def run_headless(config: RunConfig, as_json: bool = False) -> int:
    from gdviz.core import traces, transcript
    from gdviz.core.records import StepRecord
    from gdviz.core.trainers import make_trainer
    from gdviz.core.training import quiet_overflow, train

    with quiet_overflow():  # a start far out may overflow float32 at once: that is divergence
        trainer = make_trainer(config)
        prediction_before = trainer.predict(config.x_test)
    out = sys.stdout
    names = trainer.param_names

    if as_json:
        def emit(record: StepRecord) -> None:  # the rows are the trace exporter's too
            out.write(traces.json_line(traces.epoch_row(record, names)))
    else:
        before = transcript.before_line(config.trainer, config.x_test, prediction_before)
        if before is not None:
            out.write(before + "\n")
        log_every = config.log_every

        def emit(record: StepRecord) -> None:
            if transcript.is_logged(record.epoch, log_every):
                out.write(transcript.epoch_line(config.trainer, record) + "\n")

    try:
        outcome = train(trainer, config.epochs, on_record=emit)
    except RuntimeError as error:
        if not config.update_with_grad:
            raise
        if as_json:  # like a divergence, the JSON stream ends with a line saying why
            out.write(traces.json_line(traces.refused_row(trainer.epoch + 1, error)))
        out.flush()
        print(f"gdviz run: epoch {trainer.epoch + 1}: torch refused the update outside "
              f"torch.no_grad(): RuntimeError: {error}", file=sys.stderr)
        return EXIT_TORCH_REFUSED
    if outcome.diverged_at is not None:
        out.flush()
        params = ", ".join(f"{n} = {v:.6g}" for n, v in zip(names, trainer.params(), strict=True))
        print(f"gdviz run: diverged at epoch {outcome.diverged_at} ({params}): the learning rate "
              f"{config.lr:g} is too large for this data", file=sys.stderr)
        if as_json:
            out.write(traces.json_line(traces.diverged_row(outcome.diverged_at)))
        return EXIT_DIVERGED
    with quiet_overflow():
        prediction = trainer.predict(config.x_test)
    if as_json:
        out.write(traces.json_line(traces.finished_row(outcome.epochs_run, config.x_test,
                                                       prediction)))
    else:
        out.write(transcript.after_line(config.x_test, prediction) + "\n")
    return 0
