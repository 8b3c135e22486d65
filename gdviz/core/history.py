"""Every epoch's numbers, kept in numpy buffers that grow by doubling.

A list of records would cost hundreds of bytes an epoch; here an epoch of the w-only trainers
costs 24 bytes (loss, w, grad_w as float64) and of nn 40, so a million epochs stay far below
100 MB even right after a doubling.
"""

from __future__ import annotations

import numpy as np

from gdviz.core.records import StepRecord

_INITIAL_CAPACITY = 1024


class History:
    def __init__(self, param_names: tuple[str, ...], initial_params: tuple[float, ...]) -> None:
        self.param_names = param_names
        self.initial_params = tuple(float(p) for p in initial_params)
        self.column_names = ("loss", *param_names, *(f"grad_{p}" for p in param_names))
        self._buffer = np.empty((len(self.column_names), _INITIAL_CAPACITY), dtype=np.float64)
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._buffer.nbytes

    def append(self, record: StepRecord) -> None:
        size = self._size
        if size == self._buffer.shape[1]:
            self._grow()
        column = self._buffer[:, size]
        column[0] = record.loss
        n = len(record.params_after)
        column[1 : 1 + n] = record.params_after
        column[1 + n :] = record.grads
        self._size = size + 1

    def _grow(self) -> None:
        bigger = np.empty((self._buffer.shape[0], 2 * self._buffer.shape[1]), dtype=np.float64)
        bigger[:, : self._size] = self._buffer[:, : self._size]
        self._buffer = bigger

    def column(self, name: str, stop: int | None = None) -> np.ndarray:
        """Epochs 1..stop (all by default) of one column, as a read-only view."""
        view = self._buffer[self.column_names.index(name), : self._size if stop is None else stop]
        view.flags.writeable = False
        return view

    def trajectory(self, name: str, stop: int | None = None) -> np.ndarray:
        """A parameter's value at epochs 0..stop: the initial value, then after each update."""
        index = self.param_names.index(name)
        values = self.column(name, stop)
        return np.concatenate(([self.initial_params[index]], values))

    def params_at(self, epoch: int) -> tuple[float, ...]:
        """Parameter values after `epoch` updates (epoch 0 = the initial values)."""
        if epoch == 0:
            return self.initial_params
        return tuple(float(self.column(p)[epoch - 1]) for p in self.param_names)

    def row(self, epoch: int) -> dict[str, float]:
        """All columns of a 1-based epoch, by name."""
        return {name: float(value) for name, value in zip(self.column_names,
                                                          self._buffer[:, epoch - 1])}
