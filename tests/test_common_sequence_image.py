"""scikit-learn's estimator checks for the sequence and image estimators.

The checks feed 2-D ``X`` of varying width. The LSTM estimators read a 2-D row as a univariate
sequence, ``(timesteps=n_columns, 1)`` (their documented default); the CNN estimators are given
``image_shape=(1, -1, 1)``, so a row is a one-pixel-high, single-channel image as wide as ``X``
has columns, with 1x3 kernels. Tiny networks, a high learning rate and few epochs keep the run
short.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
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
_FLOAT32_OUTPUTS = (
    "The network computes in float32: a row predicted alone and the same row predicted among 20 "
    "can differ by one float32 unit (the matrix product's kernel for one row sums in another "
    "order), which for regression outputs above 1 exceeds this check's tolerance of 1e-7. "
    "test_a_row_is_predicted_alike_alone_and_in_a_batch checks the same to float32 rounding."
)
_EXPECTED_REGRESSOR = {**_EXPECTED, "check_methods_subset_invariance": _FLOAT32_OUTPUTS}
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "KerasLSTMRegressor": _EXPECTED_REGRESSOR,
    "KerasLSTMClassifier": _EXPECTED,
    "KerasCNNRegressor": _EXPECTED_REGRESSOR,
    "KerasCNNClassifier": _EXPECTED,
}


def _expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@pytest.mark.slow
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda estimator: type(estimator).__name__)
def test_a_row_is_predicted_alike_alone_and_in_a_batch(estimator):
    """check_methods_subset_invariance, to float32 rounding."""
    rng = np.random.RandomState(0)
    X = 3 * rng.uniform(size=(20, 3))
    y = X[:, 0].astype(int)
    fitted = clone(estimator).set_params(epochs=3).fit(X, y)
    methods = ["predict", "predict_proba"] if is_classifier(fitted) else ["predict"]
    for method in methods:
        whole = getattr(fitted, method)(X)
        alone = np.concatenate([getattr(fitted, method)(row[None]) for row in X])
        np.testing.assert_allclose(alone, whole, rtol=1e-6, atol=1e-6, err_msg=method)
