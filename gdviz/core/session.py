"""The window's session, Qt-free: one run's config, history, cursor, state and pending intent.

A `Session` takes the user's commands (play, step, seek, reset, a setting change …) and the
training loop's reports (started, recorded, stopped, failed) and keeps what the views show. It
tells the loop what to do through a `Driver` (a `TrainingControl` in the window, a fake in
tests). Qt only adds timers and signals around it (`gdviz.ui.run_model.RunModel`).

A command that arrives while the trainer is still being built (torch loading, or after a
reset) is kept as the pending intent and carried out once the run is ready: the latest intent
wins (End after Space runs to the end), steps add up, and every one is said in the status.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Protocol

import numpy as np

from gdviz.core import convergence, torch_preload, transcript
from gdviz.core.config import RunConfig
from gdviz.core.history import History
from gdviz.core.phases import Phase, next_position, params_epoch, previous_position
from gdviz.core.race import RaceTrack
from gdviz.core.records import StepRecord
from gdviz.core.surface import LossLandscape
from gdviz.core.trainers import Trainer, data_arrays

if TYPE_CHECKING:  # session_file builds on this module
    from gdviz.core.session_file import RestoredSession

MIN_REPLAY_MS = 16  # replaying recorded epochs never redraws faster than ~60 Hz


class RunState(str, Enum):
    """What the run is doing; compares equal to its plain string ("ready" …)."""

    LOADING = "loading"  # the trainer is being built (torch may be importing)
    READY = "ready"  # built, epoch 0
    PLAYING = "playing"
    PAUSED = "paused"
    FINISHED = "finished"  # at the epoch limit
    DIVERGED = "diverged"  # the loss or a parameter stopped being finite
    FAILED = "failed"  # the trainer raised: reported, and the next reset trains again

    def __str__(self) -> str:
        return self.value


class Driver(Protocol):
    """The part of `TrainingControl` a session uses."""

    def configure(self, config: RunConfig, trainer: Trainer | None = None) -> int: ...

    def play(self, epochs_per_second: float | None) -> None: ...

    def pause(self) -> None: ...

    def step(self, count: int = 1) -> None: ...

    def set_speed(self, epochs_per_second: float | None) -> None: ...


@dataclass(frozen=True)
class Intent:
    """A command waiting for the trainer: "play", "run_to_end", "step" (`steps` of them) or
    "substep" (lecture mode's one phase on)."""

    kind: str
    steps: int = 0

    def describe(self) -> str:
        if self.kind == "step":
            return f"{self.steps} step{'s' if self.steps > 1 else ''}"
        if self.kind == "substep" and self.steps > 1:
            return f"{self.steps} sub-steps"
        return {"play": "play", "run_to_end": "run to the end",
                "substep": "one sub-step"}[self.kind]


class Session:
    def __init__(self, config: RunConfig, driver: Driver,
                 on_state: Callable[[RunState], None] | None = None,
                 on_message: Callable[[str], None] | None = None) -> None:
        self.driver = driver
        self.config = config
        self.landscape = landscape_for(config)
        self.history: History | None = None
        self.race_track: RaceTrack | None = None  # the other lanes of a race, else None
        self.cursor = 0
        self.state = RunState.LOADING
        self.message = ""
        self.epochs_per_second: float | None = 5.0
        self.before_line: str | None = None
        self.after_line: str | None = None
        self.diverged_at: int | None = None
        self.failure: str | None = None
        self.pending: Intent | None = None
        # Lecture mode: the phase of epoch `cursor` the views show; None is the whole epoch.
        self.phase: Phase | None = None
        # torch's error when the update runs without torch.no_grad() (the lesson), else None.
        self.lesson_error: str | None = None
        self._phase_on_arrival: Phase | None = None  # a sub-step waiting for its epoch
        self._more_sub_steps = 0  # sub-steps pressed while that epoch was being trained
        self._adopting: RestoredSession | None = None  # an opened session, until it starts
        self.replaying = False  # the cursor walks through recorded epochs (a timer drives it)
        self.last_command_time = time.monotonic()
        self._on_state = on_state
        self._on_message = on_message
        self._generation = 0
        self._following = True  # the cursor tracks the newest epoch
        self._worker_playing = False
        self.reset()

    # --- reading ---------------------------------------------------------------------------------

    @property
    def epochs_recorded(self) -> int:
        return 0 if self.history is None else len(self.history)

    @property
    def at_limit(self) -> bool:
        return self.epochs_recorded >= self.config.epochs or self.diverged_at is not None

    @property
    def is_playing(self) -> bool:
        """Playing, or about to: what the play button shows."""
        return self.state is RunState.PLAYING or (
            self.pending is not None and self.pending.kind in ("play", "run_to_end"))

    @property
    def replay_interval_ms(self) -> int:
        speed = self.epochs_per_second or 1000.0
        return max(MIN_REPLAY_MS, round(1000 / speed))

    def loss_after(self, epoch: int) -> float:
        """L(θ_epoch), the loss once `epoch` updates are done (NaN if unknown or not finite).

        The views' convention. The trainer records with epoch k the loss before its update,
        L(θ_{k-1}), as the notebook prints it; so the loss after epoch k is the record of epoch
        k + 1, and only the newest epoch's is computed, from the closed-form landscape.
        """
        history = self.history
        if history is None or not 0 <= epoch <= len(history):
            return math.nan
        if epoch < len(history):
            value = float(history.column("loss")[epoch])
        else:
            with np.errstate(all="ignore"):
                value = float(self.landscape.loss(*history.params_at(epoch)))
        return value if math.isfinite(value) else math.nan

    @property
    def shown_params_epoch(self) -> int:
        """The history index of the parameters the views show: θ_{k−1} while epoch k is in its
        forward, loss or backward phase, θ_k otherwise."""
        return params_epoch(self.cursor, self.phase)

    def contraction(self) -> convergence.Contraction:
        """Per epoch, the error is multiplied by 1 − lr·h along each curvature h."""
        return convergence.contraction(self.landscape, self.config.lr,
                                       self.config.gradient_scale())

    def critical_lr(self) -> float:
        return self.landscape.critical_lr(self.config.gradient_scale())

    def iter_log_lines(self, start: int, stop: int | None = None) -> Iterator[str]:
        """The logged epoch lines of epochs start..stop (the prediction lines are separate)."""
        if self.history is None:
            return
        stop = len(self.history) if stop is None else stop
        loss = self.history.column("loss")
        w = self.history.column("w")
        for epoch in range(start, stop + 1):
            if transcript.is_logged(epoch, self.config.log_every):
                yield transcript.format_epoch(self.config.trainer, epoch, float(w[epoch - 1]),
                                              float(loss[epoch - 1]))

    # --- commands --------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to epoch 0 of a fresh run of the current config."""
        self._start(None)

    def adopt(self, restored: RestoredSession, what: str) -> None:
        """Go on from a session re-trained where it was saved (gdviz.core.session_file):
        its config, history, race lanes, cursor and phase, and its trainer for what follows."""
        self.config = restored.config
        self.landscape = landscape_for(restored.config)
        self._start(restored)
        self._say(what)

    def _start(self, restored: RestoredSession | None) -> None:
        self._touch()
        self.replaying = False
        self._worker_playing = False
        self._adopting = restored
        self._generation = (self.driver.configure(self.config) if restored is None
                            else self.driver.configure(self.config, restored.trainer))
        self.history = None
        self.race_track = None
        self.cursor = 0
        self.before_line = self.after_line = None
        self.diverged_at = None
        self.failure = None
        self.pending = None
        self.phase = None
        self.lesson_error = None
        self._phase_on_arrival = None
        self._more_sub_steps = 0
        self._following = True
        self._set_state(RunState.LOADING)
        if self.config.spec.needs_torch and not torch_preload.is_loaded():
            self._say("Loading PyTorch…")
        else:
            self._say("")

    def set_config(self, config: RunConfig, what: str = "settings changed") -> None:
        """A changed trainer, data or setting: a fresh run, still playing if it was."""
        keep_playing = self.is_playing
        self.config = config
        self.landscape = landscape_for(config)
        self.reset()
        if keep_playing:
            self.pending = Intent("play")
            self._set_state(self.state)  # the play button keeps showing "playing"
        playing = "; still playing" if keep_playing else ""
        self._say(f"{what}: the run restarted from epoch 0{playing}")

    def toggle_play(self) -> None:
        if self.is_playing:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        self._touch()
        if self.history is None:
            self._wait_for_trainer(Intent("play"))
            return
        if self._stopped_by_lesson():
            return
        self._whole_epochs()
        if self.cursor < len(self.history) and self.epochs_per_second is not None:
            self.replaying = True
            self._set_state(RunState.PLAYING)
            return
        self._train_on(self.epochs_per_second)

    def run_to_end(self) -> None:
        self._touch()
        if self.history is None:
            self._wait_for_trainer(Intent("run_to_end"))
            return
        if self._stopped_by_lesson():
            return
        self._whole_epochs()
        self.replaying = False
        self._train_on(None)

    def pause(self) -> None:
        self._touch()
        if self.pending is not None:
            self._say(f"Cancelled the waiting {self.pending.describe()}")
            self.pending = None
            self._set_state(self.state)  # the play button shows the pending play no more
        self.replaying = False
        if self._worker_playing:
            self.driver.pause()
            self._worker_playing = False
        if self.state is RunState.PLAYING:
            self._set_state(self._resting_state())

    def step(self) -> None:
        self._touch()
        if self.history is None:
            steps = self.pending.steps if self.pending and self.pending.kind == "step" else 0
            self._wait_for_trainer(Intent("step", steps + 1))
            return
        self.pause()
        if self.phase is not None and self.phase is not self.config.spec.phases[-1]:
            self.phase = None  # Right in the middle of an epoch finishes that epoch
            return
        self._whole_epochs()
        if self._stopped_by_lesson():
            return
        if self.cursor < len(self.history):
            self.cursor += 1  # replay what is recorded before training further
            return
        if self.at_limit:
            self._say(self._limit_message())
            return
        self._following = True
        self.driver.step()

    def step_back(self) -> None:
        self.seek(self.cursor - 1)

    def seek(self, epoch: int) -> None:
        self._touch()
        if self.history is None:
            self._say("Nothing is recorded yet: the trainer is still loading")
            return
        self.pause()
        self._whole_epochs()
        self.cursor = max(0, min(epoch, len(self.history)))
        self._following = self.cursor == len(self.history)

    def sub_step(self) -> None:
        """One phase on (lecture mode): forward → loss → backward → update → zero_grad, then
        the next epoch's forward, trained first if it is not recorded yet."""
        self._touch()
        if self.history is None:
            count = self.pending.steps if self.pending and self.pending.kind == "substep" else 0
            self._wait_for_trainer(Intent("substep", count + 1))  # presses add up
            return
        if self._phase_on_arrival is not None:
            self._more_sub_steps += 1  # the next epoch is on its way: carried out once there
            return
        self.pause()
        if self._stopped_by_lesson():
            return
        phases = self.config.spec.phases
        epoch, phase = next_position(self.cursor, self.phase, phases)
        if epoch <= len(self.history):
            self.cursor, self.phase = epoch, phase
            self._following = self.cursor == len(self.history)
            return
        if self.at_limit:
            self._say(self._limit_message())
            return
        self._following = True
        self._phase_on_arrival = phase
        self.driver.step()

    def sub_step_back(self) -> None:
        """One phase back, across epochs too: epoch 2's forward goes back to epoch 1's last
        phase (zero_grad, or the update where the cell has no zero_grad)."""
        self._touch()
        if self.history is None:
            self._say("Nothing is recorded yet: the trainer is still loading")
            return
        self.pause()
        if self._phase_on_arrival is not None:  # back cancels a sub-step still on its way
            self._phase_on_arrival, self._more_sub_steps = None, 0
            return
        self.cursor, self.phase = previous_position(self.cursor, self.phase,
                                                    self.config.spec.phases)
        self._following = self.cursor == len(self.history)

    def set_speed(self, epochs_per_second: float | None) -> None:
        self.epochs_per_second = epochs_per_second
        if self._worker_playing:
            self.driver.set_speed(epochs_per_second)
        if self.replaying and epochs_per_second is None:
            self.replaying = False
            self._train_on(None)

    def replay_tick(self, elapsed_ms: int) -> None:
        """The replay timer fired: move the cursor on; train further once the end is reached."""
        if not self.replaying or self.history is None or self.epochs_per_second is None:
            self.replaying = False
            return
        self.phase = None
        per_tick = max(1, round(self.epochs_per_second * elapsed_ms / 1000))
        self.cursor = min(len(self.history), self.cursor + per_tick)
        if self.cursor >= len(self.history):
            self.replaying = False
            self._train_on(self.epochs_per_second)

    # --- reports from the training loop ----------------------------------------------------------

    def started(self, generation: int, config: RunConfig, initial_params: tuple[float, ...],
                prediction: float) -> None:
        if generation != self._generation:
            return
        restored, self._adopting = self._adopting, None
        if restored is not None:
            self._install(restored)
        else:
            self.history = History(config.param_names, initial_params, n_points=len(config.x))
            self.race_track = RaceTrack(config, initial_params) if config.race else None
            self.before_line = transcript.before_line(config.trainer, config.x_test, prediction)
            self._set_state(RunState.READY)
        intent, self.pending = self.pending, None
        if intent is None:
            if self.message.startswith("Loading"):
                self._say("")
            return
        if self.message.startswith("Loading"):  # keep a "settings changed: …" message
            self._say(f"Ready: {intent.describe()}")
        if intent.kind == "play":
            self.play()
        elif intent.kind == "run_to_end":
            self.run_to_end()
        elif intent.kind == "substep":
            self.sub_step()
            self._more_sub_steps += max(intent.steps - 1, 0)
            self._carry_on_sub_steps()
        else:
            self._following = True
            self.driver.step(intent.steps)

    def recorded(self, generation: int, records: tuple[StepRecord, ...]) -> None:
        if generation != self._generation or self.history is None:
            return
        self.history.extend(records)
        if self.race_track is not None:
            self.race_track.extend(records)
        if self._following:
            self.cursor = len(self.history)
            if self._phase_on_arrival is not None:
                self.phase, self._phase_on_arrival = self._phase_on_arrival, None
        if not records[-1].is_finite:
            # The loop stops right after this record and says so; the history shows it now, so
            # the state must too (the stateful test saw an inf loss while "playing").
            self._more_sub_steps = 0
            self._diverged(records[-1].epoch)
            return
        if self.state is RunState.READY:
            self._set_state(RunState.PAUSED)
        self._carry_on_sub_steps()

    def stopped(self, generation: int, epoch: int, reason: str, prediction: float) -> None:
        if generation != self._generation or reason == "paused":
            return  # a pause is the session's own decision; the state already says so
        self._worker_playing = False
        self.replaying = False
        if reason == "finished":
            self.after_line = transcript.after_line(self.config.x_test, prediction)
            self._set_state(RunState.FINISHED)
            self._say(f"Finished {epoch} epochs. Home resets the run.")
        elif self.diverged_at is None:
            self._diverged(epoch)

    def failed(self, generation: int, text: str) -> None:
        if generation != self._generation:
            return
        self._worker_playing = False
        self.replaying = False
        self.pending = None
        self._phase_on_arrival = None
        self.failure = text
        if self.config.update_with_grad and self.history is not None:
            # The lesson, not a fault: torch refuses the in-place update of a leaf that
            # requires grad. The run pauses at the last good epoch with torch's words shown.
            self.lesson_error = torch_refusal(text)
            self._set_state(RunState.PAUSED)
            self._say(f"Lesson: {self.lesson_error.rstrip('.')}. The notebook updates w inside "
                      "`with torch.no_grad():`; switch the lesson off (Lessons menu) or press "
                      "Home.")
            return
        self._set_state(RunState.FAILED)
        self._say(f"{text}. Home, or any change, starts a fresh run.")

    # --- helpers ---------------------------------------------------------------------------------

    def _diverged(self, epoch: int) -> None:
        self._worker_playing = False
        self.replaying = False
        self.diverged_at = epoch
        self._set_state(RunState.DIVERGED)
        self._say(self._limit_message())

    def _carry_on_sub_steps(self) -> None:
        """Sub-steps pressed while an epoch was being trained, done now that it is here."""
        while self._more_sub_steps > 0 and self._phase_on_arrival is None:
            self._more_sub_steps -= 1
            self.sub_step()

    def _whole_epochs(self) -> None:
        """Leave sub-stepping: the views show whole epochs again."""
        self.phase = None
        self._phase_on_arrival = None
        self._more_sub_steps = 0

    def _stopped_by_lesson(self) -> bool:
        """After torch refused the update (the no_grad lesson) nothing trains further."""
        if self.lesson_error is None:
            return False
        self._say(f"Lesson: {self.lesson_error.rstrip('.')}. Switch the lesson off or press "
                  "Home.")
        return True

    def _touch(self) -> None:
        self.last_command_time = time.monotonic()

    def _wait_for_trainer(self, intent: Intent) -> None:
        if self.state is RunState.FAILED:
            self._say(f"The trainer failed to start: {self.failure}. Home tries again.")
            return
        self.pending = intent
        self._set_state(self.state)  # the play button shows a pending play at once
        self._say(f"Loading the {self.config.spec.title} trainer: "
                  f"{intent.describe()} once it is ready")

    def _train_on(self, epochs_per_second: float | None) -> None:
        """Let the worker train from the newest epoch at this speed (None: unthrottled)."""
        assert self.history is not None
        self.cursor = len(self.history)
        if self.at_limit:
            self._set_state(RunState.DIVERGED if self.diverged_at else RunState.FINISHED)
            self._say(self._limit_message())
            return
        self._following = True
        self._worker_playing = True
        self.driver.play(epochs_per_second)
        self._set_state(RunState.PLAYING)

    def _set_state(self, state: RunState) -> None:
        """Set the state and tell the view, also when only the pending intent changed."""
        self.state = state
        if self._on_state is not None:
            self._on_state(state)

    def _say(self, text: str) -> None:
        self.message = text
        if self._on_message is not None:
            self._on_message(text)

    def _install(self, restored: RestoredSession) -> None:
        """An opened session's run, where it was saved, in place of a fresh one."""
        self.history = restored.history
        self.race_track = restored.race_track
        self.cursor = min(restored.cursor, len(restored.history))
        self.phase = restored.phase
        self.before_line, self.after_line = restored.before_line, restored.after_line
        self.diverged_at = restored.diverged_at
        self.lesson_error = restored.refused
        self._following = self.cursor == len(restored.history)
        self._set_state(RunState.PAUSED if restored.refused else self._resting_state())

    def _resting_state(self) -> RunState:
        if self.diverged_at is not None:
            return RunState.DIVERGED
        if self.history is not None and len(self.history) >= self.config.epochs:
            return RunState.FINISHED
        return RunState.READY if self.epochs_recorded == 0 else RunState.PAUSED

    def _limit_message(self) -> str:
        if self.diverged_at is not None:
            reason = convergence.divergence_reason(self.contraction(), self.config.lr)
            return (f"Diverged at epoch {self.diverged_at}: lr {self.config.lr:g} is above the "
                    f"critical {self.critical_lr():.4g} ({reason}). Lower it, or Home to "
                    f"reset.")
        return f"Reached the epoch limit ({self.config.epochs}). Raise Epochs or Home to reset."


def torch_refusal(failure: str) -> str:
    """The loop's failure report reduced to torch's own words: "RuntimeError: a leaf …"."""
    match = re.search(r"(\w+Error: .*?)(?: \(\w+, line \d+\))?$", failure)
    return match.group(1) if match else failure


def landscape_for(config: RunConfig) -> LossLandscape:
    x, y = data_arrays(config)
    return LossLandscape.from_data(x, y, with_bias=config.has_bias)

