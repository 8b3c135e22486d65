"""Every epoch's numbers, kept in numpy buffers that grow by doubling.

A list of records would cost hundreds of bytes an epoch; here an epoch of the w-only trainers
costs 24 bytes (loss, w, grad_w as float64) and of nn 40, so a million epochs stay far below
100 MB even while a doubling copies the buffers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gdviz.core.records import StepRecord

_INITIAL_CAPACITY = 1024


class History:
    def __init__(self, param_names: tuple[str, ...], initial_params: tuple[float, ...]) -> None:
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

    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def nbytes(self) -> int:
        return sum(column.nbytes for column in self._columns)

    def append(self, record: StepRecord) -> None:
        size = self._size
        if size == self._capacity:
            self._grow()
        # strict: a record of the wrong trainer raises (before _size moves, so nothing shows).
        values = (record.loss, *record.params_after, *record.grads)
        for column, offset, value in zip(self._columns, self._offsets, values, strict=True):
            column[size + offset] = value
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
        self._size = start + count

    def _grow(self) -> None:
        capacity = 2 * self._capacity
        for i, offset in enumerate(self._offsets):
            bigger = np.empty(capacity + offset, dtype=np.float64)
            bigger[: self._size + offset] = self._columns[i][: self._size + offset]
            self._columns[i] = bigger  # frees the old column before the next one is allocated
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
