"""The scikit-learn workflows a user drops a Keras network into."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import (
    BaggingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
    StackingClassifier,
    StackingRegressor,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor

from ._builders import classifier_model

FAST = {"hidden_layer_sizes": (16,), "epochs": 15, "learning_rate": 0.01, "random_state": 0}


def test_estimator_types():
    assert is_classifier(KerasMLPClassifier())
    assert is_classifier(KerasClassifier(classifier_model))
    assert is_regressor(KerasMLPRegressor())


def test_default_cv_is_stratified_for_classifiers(breast_cancer):
    _, y = breast_cancer
    cv = check_cv(5, y, classifier=is_classifier(KerasMLPClassifier()))
    assert isinstance(cv, StratifiedKFold)


@pytest.mark.parametrize(
    ("scoring", "low", "high"),
    [("roc_auc", 0.95, 1.0), ("neg_log_loss", -0.3, 0.0), ("average_precision", 0.95, 1.0)],
)
def test_cross_val_score_probability_metrics(breast_cancer, scoring, low, high):
    X, y = breast_cancer
    scores = cross_val_score(KerasMLPClassifier(**FAST), X, y, cv=3, scoring=scoring)
    assert np.all(np.isfinite(scores))
    assert low < scores.mean() <= high


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_grid_search_over_pipeline(iris, n_jobs):
    X, y = iris
    pipe = Pipeline([("scale", StandardScaler()), ("mlp", KerasMLPClassifier(**FAST))])
    search = GridSearchCV(
        pipe,
        {"mlp__hidden_layer_sizes": [(8,), (16,)], "mlp__epochs": [3, 20]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )
    search.fit(X, y)
    assert search.best_params_["mlp__epochs"] == 20
    assert search.best_estimator_.named_steps["mlp"].n_iter_ <= 20
    assert search.best_score_ > 0.8


def test_grid_search_routed_and_builder_params(iris):
    X, y = iris
    clf = KerasClassifier(classifier_model, hidden=4, epochs=10, optimizer="adam", random_state=0)
    search = GridSearchCV(
        clf, {"hidden": [4, 32], "optimizer__learning_rate": [1e-4, 0.05]}, cv=3
    ).fit(X, y)
    assert search.best_params_["optimizer__learning_rate"] == 0.05
    best = search.best_estimator_
    assert best.model_.layers[-2].units == best.hidden
    assert float(best.model_.optimizer.learning_rate) == pytest.approx(0.05)


def test_stacking_classifier_with_random_forest(breast_cancer):
    X, y = breast_cancer
    stack = StackingClassifier(
        [
            ("forest", RandomForestClassifier(n_estimators=20, random_state=0)),
            ("mlp", KerasMLPClassifier(**FAST)),
        ],
        final_estimator=LogisticRegression(),
        cv=3,
    )
    assert cross_val_score(stack, X, y, cv=3).mean() > 0.9


def test_stacking_regressor(diabetes):
    X, y = diabetes
    stack = StackingRegressor(
        [
            ("forest", RandomForestRegressor(n_estimators=20, random_state=0)),
            ("mlp", KerasMLPRegressor(**FAST)),
        ],
        final_estimator=Ridge(),
        cv=3,
    )
    assert cross_val_score(stack, X, y, cv=3).mean() > 0.3


def test_soft_voting_calibration_and_bagging(breast_cancer):
    X, y = breast_cancer
    voting = VotingClassifier(
        [("mlp", KerasMLPClassifier(**FAST)), ("lr", LogisticRegression())], voting="soft"
    ).fit(X, y)
    proba = voting.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert voting.score(X, y) > 0.95

    calibrated = CalibratedClassifierCV(KerasMLPClassifier(**FAST), cv=3).fit(X, y)
    assert calibrated.score(X, y) > 0.95

    bagging = BaggingClassifier(KerasMLPClassifier(**FAST), n_estimators=3, random_state=0)
    assert bagging.fit(X, y).score(X, y) > 0.95


def test_clone_get_set_params_roundtrip():
    clf = KerasClassifier(classifier_model, hidden=8, optimizer__learning_rate=0.1, epochs=3)
    clf.set_params(model__hidden=12, fit__shuffle=False)
    cloned = clone(clf)
    params = cloned.get_params()
    assert params["hidden"] == 8
    assert params["model__hidden"] == 12
    assert params["optimizer__learning_rate"] == 0.1
    assert params["fit__shuffle"] is False
    with pytest.raises(ValueError, match="Invalid parameter 'hiden'"):
        clf.set_params(hiden=3)


def test_routed_model_param_overrides_plain_one(iris):
    X, y = iris
    clf = KerasClassifier(classifier_model, hidden=8, model__hidden=5, epochs=1).fit(X, y)
    assert clf.model_.layers[-2].units == 5


def test_pickle_and_joblib_roundtrip_exact(tmp_path, breast_cancer):
    import pickle

    X, y = breast_cancer
    clf = KerasMLPClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected)
