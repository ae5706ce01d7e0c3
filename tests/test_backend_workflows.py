"""The main workflows on the active Keras backend, on small data.

These run in the default suite on TensorFlow; ``tests/test_backends.py`` runs this module
again in a fresh process under ``KERAS_BACKEND=jax`` and ``KERAS_BACKEND=torch``, where
skkeras's TensorFlow fast paths are off and Keras's own ``fit`` trains the network.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skkeras
from skkeras import (
    KerasClassifier,
    KerasCNNClassifier,
    KerasLSTMRegressor,
    KerasMLPClassifier,
    KerasMLPRegressor,
)

from ._builders import classifier_model

SMALL = {"epochs": 3, "batch_size": 16, "random_state": 0}


@pytest.fixture(scope="module")
def classes():
    X, y = make_classification(
        n_samples=90, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    return X.astype("float32"), np.array(["ant", "bee", "cat"])[y]


@pytest.fixture(scope="module")
def values():
    X, y = make_regression(n_samples=80, n_features=5, n_targets=2, noise=0.1, random_state=0)
    return X.astype("float32"), (y / y.std(axis=0)).astype("float32")


def test_keras_runs_on_the_requested_backend():
    from skkeras._keras import import_keras

    assert import_keras().backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def _network_outputs(estimator, X):
    """The Keras model's own outputs for ``X``, as a NumPy array on every backend."""
    from skkeras._keras import import_keras

    return import_keras().ops.convert_to_numpy(estimator.model_(X)).astype(np.float64)


def test_classifier_fits_predicts_and_reproduces_with_a_seed(classes):
    X, y = classes
    first = KerasMLPClassifier((8,), **SMALL).fit(X, y)
    second = KerasMLPClassifier((8,), **SMALL).fit(X, y)
    proba = first.predict_proba(X)
    np.testing.assert_array_equal(first.classes_, ["ant", "bee", "cat"])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(proba, _network_outputs(first, X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(second.predict_proba(X), proba, rtol=1e-5, atol=1e-6)
    assert set(first.predict(X)) <= set(first.classes_)
    assert first.n_iter_ == 3 and len(first.history_["loss"]) == 3


def test_regressor_with_early_stopping_and_two_outputs(values):
    X, y = values
    reg = KerasMLPRegressor(
        (8,), early_stopping=True, validation_fraction=0.2, patience=2, epochs=6,
        random_state=0,
    ).fit(X, y)
    assert reg.predict(X).shape == (len(X), 2)
    np.testing.assert_allclose(reg.predict(X), _network_outputs(reg, X), rtol=1e-5, atol=1e-5)
    assert "val_loss" in reg.history_
    assert np.isfinite(reg.score(X, y))


def test_wrapper_with_a_builder_and_metrics(classes):
    X, y = classes
    clf = KerasClassifier(
        classifier_model, hidden=8, loss="sparse_categorical_crossentropy", optimizer="adam",
        metrics=["accuracy"], **SMALL,
    ).fit(X, y)
    assert {"loss", "accuracy"} <= set(clf.history_)
    assert clf.predict(X).shape == (len(X),)


def test_cross_validation_and_grid_search(classes):
    X, y = classes
    pipeline = make_pipeline(StandardScaler(), KerasMLPClassifier((8,), **SMALL))
    scores = cross_val_score(pipeline, X, y, cv=StratifiedKFold(3))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(
        KerasMLPClassifier((8,), **SMALL), {"learning_rate": [1e-3, 1e-2]}, cv=2
    ).fit(X, y)
    assert search.best_params_["learning_rate"] in (1e-3, 1e-2)
    assert search.predict(X).shape == (len(X),)


def test_weights_warm_start_and_partial_fit(classes):
    X, y = classes
    weights = np.linspace(0.5, 2, len(X))
    clf = KerasMLPClassifier((8,), warm_start=True, class_weight={"bee": 2.0}, **SMALL)
    clf.fit(X, y, sample_weight=weights)
    before = clf.predict_proba(X)
    clf.fit(X, y, sample_weight=weights)
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 7
    assert not np.allclose(clf.predict_proba(X), before)


def test_save_and_load_give_the_same_predictions(classes, tmp_path):
    X, y = classes
    clf = KerasMLPClassifier((8,), **SMALL).fit(X, y)
    loaded = skkeras.load(skkeras.save(clf, tmp_path / "model.skkeras"))
    np.testing.assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), rtol=1e-6)
    clone(loaded).fit(X, y)  # a loaded estimator's parameters make a new one


def test_optuna_search(classes):
    import optuna

    from skkeras.model_selection import OptunaSearchCV

    X, y = classes
    search = OptunaSearchCV(
        KerasMLPClassifier((8,), **SMALL),
        {"learning_rate": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)},
        n_trials=2, cv=2, random_state=0,
    ).fit(X, y)
    assert len(search.study_.trials) == 2
    assert search.predict(X).shape == (len(X),)


def test_cnn_and_lstm_estimators():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(24, 6, 6, 1)).astype("float32")
    labels = np.arange(24) % 2
    cnn = KerasCNNClassifier(filters=(2,), convs_per_block=1, dense_units=(), **SMALL)
    assert cnn.fit(images, labels).predict_proba(images).shape == (24, 2)
    series = rng.normal(size=(24, 5, 2)).astype("float32")
    lstm = KerasLSTMRegressor(units=3, **SMALL).fit(series, series[:, -1, 0])
    np.testing.assert_allclose(
        lstm.predict(series), _network_outputs(lstm, series).ravel(), rtol=1e-5, atol=1e-5
    )
