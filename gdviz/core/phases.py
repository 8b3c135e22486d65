"""The phases of one training epoch, as the notebook's cells write them.

Lecture mode walks an epoch one phase at a time: forward → loss → gradient (backward) →
update → zero_grad (where the cell has it). A position in a run is an epoch and, while
sub-stepping, a phase of it; `None` as the phase means the whole epoch, done.

Which parameters a view shows at a position: before the update (θ_{k−1}) during forward, loss
and backward of epoch k, after it (θ_k) from the update on.
"""

from __future__ import annotations

from enum import Enum


class Phase(str, Enum):
    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"  # the numpy cell's "gradient" line, torch's l.backward()
    UPDATE = "update"
    ZERO_GRAD = "zero_grad"

    def __str__(self) -> str:
        return self.value

    @property
    def updated(self) -> bool:
        """The parameters shown are those after this epoch's update."""
        return self in (Phase.UPDATE, Phase.ZERO_GRAD)


ALL_PHASES: tuple[Phase, ...] = tuple(Phase)


def phase_title(phase: Phase | None, gradient_word: str = "backward") -> str:
    """A phase as the window names it ("backward" is "gradient" for the numpy cell)."""
    if phase is None:
        return "epoch done"
    if phase is Phase.BACKWARD:
        return gradient_word
    return str(phase.value)


def params_epoch(epoch: int, phase: Phase | None) -> int:
    """The history index of the parameters a view shows at (epoch, phase)."""
    if phase is None or phase.updated or epoch == 0:
        return epoch
    return epoch - 1


def next_position(epoch: int, phase: Phase | None,
                  phases: tuple[Phase, ...]) -> tuple[int, Phase]:
    """One sub-step on: the next phase of this epoch, else the next epoch's first phase."""
    if phase is not None and phase in phases and phases.index(phase) < len(phases) - 1:
        return epoch, phases[phases.index(phase) + 1]
    return epoch + 1, phases[0]


def previous_position(epoch: int, phase: Phase | None,
                      phases: tuple[Phase, ...]) -> tuple[int, Phase | None]:
    """One sub-step back. The whole epoch k steps back to its last phase; the first phase of
    epoch k to the last phase of epoch k − 1; the first phase of epoch 1 to the start (0, None).
    """
    if epoch == 0:
        return 0, None
    if phase is None:
        return epoch, phases[-1]
    index = phases.index(phase) if phase in phases else 0
    if index > 0:
        return epoch, phases[index - 1]
    if epoch == 1:
        return 0, None
    return epoch - 1, phases[-1]
