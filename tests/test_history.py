"""History: growth by doubling, column/trajectory/params_at semantics, and memory."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from gdviz.core.history import History
from gdviz.core.records import StepRecord

_EMPTY = np.zeros(0)


def record(epoch: int, params: tuple[float, ...], loss: float = 1.0) -> StepRecord:
    grads = tuple(-p for p in params)
    return StepRecord(epoch, params, params, loss, grads, _EMPTY)


def filled(count: int, names: tuple[str, ...] = ("w",)) -> History:
    history = History(names, tuple(0.5 for _ in names))
    for k in range(1, count + 1):
        history.append(record(k, tuple(k + 0.25 * i for i in range(len(names))), loss=1.0 / k))
    return history


def test_columns_are_named_after_params() -> None:
    assert History(("w",), (0.0,)).column_names == ("loss", "w", "grad_w")
    assert History(("w", "b"), (0.0, 0.0)).column_names == ("loss", "w", "b", "grad_w", "grad_b")


def test_capacity_doubles_and_keeps_values() -> None:
    history = History(("w",), (0.0,))
    start = history.capacity
    sizes = []
    for k in range(1, 4 * start + 2):
        history.append(record(k, (float(k),)))
        sizes.append(history.capacity)
    # The capacity changes only when full, and then doubles.
    assert sorted(set(sizes)) == [start, 2 * start, 4 * start, 8 * start]
    assert sizes[start - 1] == start and sizes[start] == 2 * start
    np.testing.assert_array_equal(history.column("w"), np.arange(1, 4 * start + 2))
    assert history.nbytes == 3 * 8 * history.capacity + 8  # + w0, kept before epoch 1


def test_column_semantics() -> None:
    history = filled(5, ("w", "b"))
    assert len(history) == 5
    np.testing.assert_array_equal(history.column("w"), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(history.column("b"), [1.25, 2.25, 3.25, 4.25, 5.25])
    np.testing.assert_array_equal(history.column("grad_w"), [-1, -2, -3, -4, -5])
    np.testing.assert_array_equal(history.column("loss", 2), [1.0, 0.5])
    # stop beyond the recorded epochs is clipped, never uninitialized buffer memory
    assert history.column("w", 100).size == 5
    view = history.column("w")
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0] = 99.0
    with pytest.raises(ValueError):
        history.column("nope")


def test_trajectory_starts_at_the_initial_params() -> None:
    history = filled(4)
    np.testing.assert_array_equal(history.trajectory("w"), [0.5, 1, 2, 3, 4])
    np.testing.assert_array_equal(history.trajectory("w", 2), [0.5, 1, 2])
    np.testing.assert_array_equal(History(("w",), (0.5,)).trajectory("w"), [0.5])


def test_params_at_and_row() -> None:
    history = filled(3, ("w", "b"))
    assert history.params_at(0) == (0.5, 0.5)
    assert history.params_at(2) == (2.0, 2.25)
    assert history.row(3) == {"loss": pytest.approx(1 / 3), "w": 3.0, "b": 3.25,
                              "grad_w": -3.0, "grad_b": -3.25}
    for bad in (-1, 4):
        with pytest.raises(IndexError):
            history.params_at(bad)
    for bad in (0, 4):
        with pytest.raises(IndexError):
            history.row(bad)


def test_record_of_the_wrong_shape_is_refused() -> None:
    history = History(("w",), (0.0,))
    with pytest.raises(ValueError):
        history.append(record(1, (1.0, 2.0)))
    assert len(history) == 0


def test_views_survive_growth() -> None:
    history = filled(10)
    early = history.column("w")
    for k in range(11, 5000):
        history.append(record(k, (float(k),)))
    np.testing.assert_array_equal(early, np.arange(1, 11))


@pytest.mark.slow
@pytest.mark.parametrize("names", [("w",), ("w", "b")], ids=["w-only", "nn"])
def test_a_million_epochs_fit_well_under_100_mb(names: tuple[str, ...]) -> None:
    n = 1_000_000
    records = [record(k, tuple(float(k) for _ in names)) for k in range(1, 4)]
    gc.collect()
    tracemalloc.start()
    try:
        history = History(names, tuple(0.0 for _ in names))
        for k in range(n):
            history.append(records[k % 3])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(history) == n
    assert history.nbytes < 60e6
    assert peak < 60e6, f"peak {peak / 1e6:.1f} MB"
    np.testing.assert_array_equal(history.column("w")[:6], [1, 2, 3, 1, 2, 3])


def test_extend_equals_appending_one_by_one_across_growth() -> None:
    records = [record(k, (float(k), k + 0.5)) for k in range(1, 3000)]
    one_by_one = History(("w", "b"), (0.0, 0.25))
    for r in records:
        one_by_one.append(r)
    batched = History(("w", "b"), (0.0, 0.25))
    batched.extend(records[:5])
    batched.extend([])
    batched.extend(records[5:])
    assert len(batched) == len(one_by_one) == len(records)
    for name in batched.column_names:
        np.testing.assert_array_equal(batched.column(name), one_by_one.column(name))
    np.testing.assert_array_equal(batched.trajectory("b"), one_by_one.trajectory("b"))
