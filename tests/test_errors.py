"""Bad input fails before training, with a message naming the parameter or array."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor

from ._builders import classifier_model


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if Keras training starts: errors must come before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was validated")

    monkeypatch.setattr(keras.Model, "fit", refuse)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"dropout": 1.5}, r"'dropout' parameter of KerasMLPClassifier must be a float in the "
         r"range \[0.0, 1.0\)\. Got 1.5"),
        ({"hidden_layer_sizes": (16, 0)}, "'hidden_layer_sizes' parameter .* positive integers"),
        ({"activation": "sigmoidal"}, "'activation' parameter .* Got 'sigmoidal'"),
        ({"optimizer": "adamm"}, "'optimizer' parameter .* Got 'adamm'"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter .* Got 1.0"),
        ({"learning_rate": -0.1}, "'learning_rate' parameter .* Got -0.1"),
        ({"epochs": 0}, "'epochs' parameter .* Got 0"),
        ({"class_weight": "balance"}, "'class_weight' parameter"),
    ],
)
def test_out_of_range_parameters(no_training, iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        KerasMLPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_x_or_y(no_training, diabetes, bad):
    X, y = diabetes
    X_bad = X.copy()
    X_bad[3, 2] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        KerasMLPRegressor().fit(X_bad, y)
    y_bad = y.copy()
    y_bad[5] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        KerasMLPRegressor().fit(X, y_bad)


def test_non_numeric_x(no_training):
    X = np.array([["a", "b"], ["c", "d"]], dtype=object)
    with pytest.raises(ValueError, match=r"X must contain only numbers.*OneHotEncoder"):
        KerasMLPClassifier().fit(X, [0, 1])


def test_empty_x(no_training):
    with pytest.raises(ValueError, match="0 sample"):
        KerasMLPClassifier().fit(np.empty((0, 3)), [])


def test_single_class(no_training, iris):
    X, _ = iris
    with pytest.raises(ValueError, match=r"at least 2 classes.*only one class"):
        KerasMLPClassifier().fit(X, np.zeros(len(X)))


def test_continuous_target_for_classifier(no_training, diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="Unknown label type"):
        KerasMLPClassifier().fit(X, y)


def test_missing_model_and_old_build_fn(no_training, iris):
    X, y = iris
    with pytest.raises(ValueError, match="'model' parameter of KerasClassifier is None"):
        KerasClassifier().fit(X, y)
    with pytest.raises(TypeError, match="build_fn"):
        KerasClassifier(build_fn=classifier_model).fit(X, y)


def test_validation_fraction_too_large_for_data(no_training):
    X, y = np.arange(6, dtype=float).reshape(3, 2), [0, 1, 0]
    with pytest.raises(ValueError, match=r"validation_fraction=0\.9 of 3 samples"):
        KerasMLPClassifier(early_stopping=True, validation_fraction=0.9).fit(X, y)


def test_wrong_number_of_features_and_not_fitted(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        KerasMLPClassifier().predict(X)
    clf = KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but KerasMLPClassifier is expecting 4"):
        clf.predict(X[:, :3])
