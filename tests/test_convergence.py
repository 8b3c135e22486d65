"""The contraction factor |1 − lr·h|: the number and the words beside the critical lr."""

from __future__ import annotations

import numpy as np
import pytest

from gdviz.core.config import build_config
from gdviz.core.convergence import contraction, describe, divergence_reason
from gdviz.core.session import landscape_for
from gdviz.core.trainers import make_trainer


def factor_of(trainer: str, **options: object):
    config = build_config(trainer, dict(options))
    return contraction(landscape_for(config), config.lr, config.gradient_scale())


def test_the_numpy_cell_error_shrinks_as_the_notebooks_numbers_do() -> None:
    result = factor_of("numpy")
    assert result.factors == pytest.approx((0.4,))  # h = 4 × 2·mean(x²) = 60
    assert describe(result) == "error in w shrinks ×0.40 per epoch"
    trainer = make_trainer(build_config("numpy"))
    errors = [abs(trainer.step().params_after[0] - 2.0) for _ in range(4)]
    assert np.allclose(np.array(errors[1:]) / np.array(errors[:-1]), 0.4, rtol=1e-5)


def test_words_for_flipping_and_growing() -> None:
    assert describe(factor_of("numpy", lr=0.02)) == "error in w shrinks ×0.20 per epoch, " \
                                                     "flipping sides"
    grows = factor_of("numpy", lr=0.04)
    assert describe(grows) == "error in w grows ×1.40 per epoch, flipping sides: diverges"
    assert "= 1.4 > 1" in divergence_reason(grows, 0.04)


def test_nn_has_two_factors_and_names_the_one_above_one() -> None:
    slow = factor_of("nn")
    assert len(slow.factors) == 2 and not slow.diverges
    assert "×0.997" in describe(slow)  # two decimals would have said ×1.00
    fast = factor_of("nn", lr=0.2)
    assert fast.diverges and fast.worst_index == 1
    assert "steepest direction" in divergence_reason(fast, 0.2)
