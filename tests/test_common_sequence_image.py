"""scikit-learn's estimator checks for the sequence and image estimators.

The checks feed 2-D ``X`` of varying width. The LSTM estimators read a 2-D row as a univariate
sequence, ``(timesteps=n_columns, 1)`` (their documented default); the CNN estimators are given
``image_shape=(1, -1, 1)``, so a row is a one-pixel-high, single-channel image as wide as ``X``
has columns, with 1x3 kernels. Tiny networks, a high learning rate and few epochs keep the run
short.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skkeras import (
    KerasCNNClassifier,
    KerasCNNRegressor,
    KerasLSTMClassifier,
    KerasLSTMRegressor,
)

_TRAINING = {"epochs": 20, "learning_rate": 0.02, "batch_size": 32, "random_state": 0}
_CNN = {
    "filters": (8,),
    "kernel_size": (1, 3),
    "convs_per_block": 1,
    "pooling": None,
    "dense_units": (),
    "image_shape": (1, -1, 1),
}

ESTIMATORS = [
    # the LSTM regressor needs more epochs to pass check_regressors_train's R^2 > 0.5
    KerasLSTMRegressor(units=8, **{**_TRAINING, "epochs": 60}),
    KerasLSTMClassifier(units=8, **_TRAINING),
    KerasCNNRegressor(**_CNN, **_TRAINING),
    KerasCNNClassifier(**_CNN, **_TRAINING),
]

_MINI_BATCH = (
    "Mini-batch gradient descent: a sample with weight 2 is not the same as the sample twice "
    "(the number of steps and the batches differ), so the two fits give different networks."
)
_EXPECTED = {
    "check_sample_weight_equivalence_on_dense_data": _MINI_BATCH,
    "check_sample_weight_equivalence_on_sparse_data": _MINI_BATCH,
}
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "KerasLSTMRegressor": _EXPECTED,
    "KerasLSTMClassifier": _EXPECTED,
    "KerasCNNRegressor": _EXPECTED,
    "KerasCNNClassifier": _EXPECTED,
}


def _expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@pytest.mark.slow
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)
