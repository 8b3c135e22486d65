"""Every epoch's numbers, kept in numpy buffers that grow by doubling.

A list of records would cost hundreds of bytes an epoch; here an epoch of the w-only trainers
costs 24 bytes (loss, w, grad_w as float64) and of nn 40, plus the forward pass (float32 per
data point) for data sets small enough to explain point by point, so a million epochs stay far
below 100 MB even while a doubling copies the buffers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from gdviz.core.config import MAX_EPOCHS
from gdviz.core.records import StepRecord

_INITIAL_CAPACITY = 1024
# The forward pass of every epoch is kept up to this many data points; a larger data set is
# explained from its parameters (its forward pass recomputed in float32, and said so).
MAX_KEPT_PREDICTIONS = 64
_FALLBACK_MEMORY = 8 * 2**30  # when the machine does not tell its memory


def bytes_per_epoch(n_params: int, n_points: int) -> int:
    kept = n_points if n_points <= MAX_KEPT_PREDICTIONS else 0
    return 8 * (1 + 2 * n_params) + 4 * kept


def history_bytes(n_params: int, n_points: int, epochs: int) -> int:
    """The history's size after `epochs` epochs, counting the spare capacity of doubling."""
    capacity = _INITIAL_CAPACITY
    while capacity < epochs:
        capacity *= 2
    return capacity * bytes_per_epoch(n_params, n_points)


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_MEMORY


def window_epoch_limit(n_params: int, n_points: int) -> int:
    """The most epochs the window keeps: a quarter of the memory, even while a buffer doubles."""
    affordable = physical_memory() // 4 // (2 * bytes_per_epoch(n_params, n_points))
    return int(min(MAX_EPOCHS, affordable, 2**31 - 1))  # a QSpinBox holds a C int


class History:
    def __init__(self, param_names: tuple[str, ...], initial_params: tuple[float, ...],
                 n_points: int = 0) -> None:
        self.param_names = param_names
        self.initial_params = tuple(float(p) for p in initial_params)
        self.column_names = ("loss", *param_names, *(f"grad_{p}" for p in param_names))
        # One 1-D buffer per column rather than one 2-D block: growing them one at a time keeps
        # the transient peak at 2.2x the data instead of 3x (nn, 1M epochs: 46 MB, not 63 MB).
        # A parameter's buffer starts with its initial value, so its trajectory (epochs 0..n)
        # is a view, not a copy: the window draws it every frame.
        self._offsets = [1 if name in param_names else 0 for name in self.column_names]
        self._columns = [np.empty(_INITIAL_CAPACITY + offset, dtype=np.float64)
                         for offset in self._offsets]
        for name, value in zip(param_names, self.initial_params, strict=True):
            self._columns[self.column_names.index(name)][0] = value
        self._capacity = _INITIAL_CAPACITY
        self._size = 0
        self.n_points = n_points
        self._predictions: np.ndarray | None = (
            np.empty((_INITIAL_CAPACITY, n_points), dtype=np.float32)
            if 0 < n_points <= MAX_KEPT_PREDICTIONS else None)

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def nbytes(self) -> int:
        kept = 0 if self._predictions is None else self._predictions.nbytes
        return sum(column.nbytes for column in self._columns) + kept

    @property
    def keeps_predictions(self) -> bool:
        return self._predictions is not None

    def predictions(self, epoch: int) -> np.ndarray | None:
        """The forward pass the trainer computed in `epoch` (1-based), or None if not kept."""
        if not 1 <= epoch <= self._size:
            raise IndexError(f"epoch {epoch} is outside 1..{self._size}")
        if self._predictions is None:
            return None
        view: np.ndarray = self._predictions[epoch - 1]
        view.flags.writeable = False
        return view

    def append(self, record: StepRecord) -> None:
        size = self._size
        if size == self._capacity:
            self._grow()
        # strict: a record of the wrong trainer raises (before _size moves, so nothing shows).
        values = (record.loss, *record.params_after, *record.grads)
        for column, offset, value in zip(self._columns, self._offsets, values, strict=True):
            column[size + offset] = value
        if self._predictions is not None:
            self._predictions[size] = record.y_pred
        self._size = size + 1

    def extend(self, records: Sequence[StepRecord]) -> None:
        """Append many records at once: a column at a time instead of a record at a time."""
        count = len(records)
        if count == 0:
            return
        while self._size + count > self._capacity:
            self._grow()
        start = self._size
        n_params = len(self.param_names)
        fields = [[r.loss for r in records]]
        fields += [[r.params_after[i] for r in records] for i in range(n_params)]
        fields += [[r.grads[i] for r in records] for i in range(n_params)]
        for column, offset, values in zip(self._columns, self._offsets, fields, strict=True):
            column[start + offset : start + offset + count] = values
        if self._predictions is not None:
            self._predictions[start : start + count] = [r.y_pred for r in records]
        self._size = start + count

    def _grow(self) -> None:
        capacity = 2 * self._capacity
        for i, offset in enumerate(self._offsets):
            bigger = np.empty(capacity + offset, dtype=np.float64)
            bigger[: self._size + offset] = self._columns[i][: self._size + offset]
            self._columns[i] = bigger  # frees the old column before the next one is allocated
        if self._predictions is not None:
            kept = np.empty((capacity, self.n_points), dtype=np.float32)
            kept[: self._size] = self._predictions[: self._size]
            self._predictions = kept
        self._capacity = capacity

    def column(self, name: str, stop: int | None = None) -> np.ndarray:
        """Epochs 1..stop (all by default) of one column, as a read-only view.

        `stop` is clipped to the epochs recorded: the buffer beyond them is uninitialized.
        """
        index = self.column_names.index(name)
        offset = self._offsets[index]
        view = self._columns[index][offset : offset + self._size][:stop]
        view.flags.writeable = False
        return view

    def trajectory(self, name: str, stop: int | None = None) -> np.ndarray:
        """A parameter's value at epochs 0..stop: the initial value, then after each update."""
        stop = self._size if stop is None else min(max(stop, 0), self._size)
        view = self._columns[self.column_names.index(name)][: stop + 1]
        view.flags.writeable = False
        return view

    def params_at(self, epoch: int) -> tuple[float, ...]:
        """Parameter values after `epoch` updates (epoch 0 = the initial values)."""
        if not 0 <= epoch <= self._size:
            raise IndexError(f"epoch {epoch} is outside 0..{self._size}")
        if epoch == 0:
            return self.initial_params
        return tuple(float(self.column(p)[epoch - 1]) for p in self.param_names)

    def row(self, epoch: int) -> dict[str, float]:
        """All columns of a 1-based epoch, by name."""
        if not 1 <= epoch <= self._size:
            raise IndexError(f"epoch {epoch} is outside 1..{self._size}")
        return {name: float(column[epoch - 1 + offset]) for name, column, offset
                in zip(self.column_names, self._columns, self._offsets, strict=True)}
