"""scikit-learn's conformance checks on OptunaSearchCV, as scikit-learn runs them on GridSearchCV.

Each check fits the search several times, and every search fit runs 2 trials of 2 folds and a
refit. Unlike scikit-learn's own instances of its searches, these keep the default
``error_score`` (NaN), so the checks also see how failing trials are reported.
"""

from __future__ import annotations

import pytest
from optuna.distributions import FloatDistribution
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skkeras import KerasMLPClassifier
from skkeras.model_selection import OptunaSearchCV


def _search(estimator, space: dict) -> OptunaSearchCV:
    return OptunaSearchCV(estimator, space, n_trials=2, cv=2, random_state=0)


def _log_range(name: str) -> dict:
    return {name: FloatDistribution(0.1, 10.0, log=True)}


@parametrize_with_checks(
    [
        _search(LogisticRegression(), _log_range("C")),
        _search(Ridge(), _log_range("alpha")),
        _search(make_pipeline(StandardScaler(), Ridge()), _log_range("ridge__alpha")),
    ]
)
def test_sklearn_compatible(estimator, check):
    """The meta-estimator contract, checked quickly with scikit-learn estimators inside."""
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(
    [
        _search(
            KerasMLPClassifier(hidden_layer_sizes=(16,), epochs=20, batch_size=32, random_state=0),
            {"learning_rate": FloatDistribution(0.02, 0.05, log=True)},
        )
    ]
)
def test_sklearn_compatible_over_a_keras_estimator(estimator, check):
    check(estimator)
