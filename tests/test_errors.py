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


def _unfitted(estimator) -> bool:
    return not hasattr(estimator, "history_") and "model_" not in vars(estimator)


def test_partial_fit_refuses_early_stopping(iris):
    X, y = iris
    clf = KerasMLPClassifier((4,), early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert _unfitted(clf)


@pytest.mark.parametrize(
    ("class_weight", "shown"),
    [({0: -1.0, 1: 1.0, 2: 1.0}, r"-1\.0 for class 0"),
     ({0: 1.0, 1: np.nan, 2: 1.0}, r"nan for class 1"),
     ({0: 1.0, 1: 1.0, 2: np.inf}, r"inf for class 2"),
     ({0: 1.0, 1: "2", 2: 1.0}, r"'2' for class 1")],
)
def test_class_weight_values_are_validated(iris, class_weight, shown):
    X, y = iris
    for clf in (KerasMLPClassifier((4,), epochs=1, class_weight=class_weight),
                KerasClassifier(classifier_model, class_weight=class_weight)):
        with pytest.raises(ValueError, match=r"class_weight .*non-negative finite.*" + shown):
            clf.fit(X, y)
        assert _unfitted(clf)


def test_partial_fit_refuses_other_classes_and_balanced_weights(iris):
    X, y = iris
    clf = KerasMLPClassifier((4,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"`classes=\[0, 1, 2, 3\]` is not the same as on last "
                                         r"call to partial_fit, was: \[0, 1, 2\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    assert clf.n_iter_ == 2
    balanced = KerasMLPClassifier((4,), class_weight="balanced")
    with pytest.raises(ValueError, match=r"class_weight='balanced' is not supported by "
                                         r"partial_fit.*compute_class_weight"):
        balanced.partial_fit(X, y, classes=[0, 1, 2])
    assert _unfitted(balanced)


@pytest.mark.parametrize("value", [0, -1, 2.5, "8", True])
def test_predict_batch_size_is_validated(iris, value):
    X, y = iris
    match = r"'predict__batch_size' must be a positive int or None; got " + repr(value)
    clf = KerasClassifier(classifier_model, predict__batch_size=value)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert _unfitted(clf)
    fitted = KerasClassifier(classifier_model, random_state=0).fit(X, y)
    fitted.set_params(predict__batch_size=value)
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)
    fitted.set_params(predict__batch_size=7)
    assert fitted.predict(X).shape == y.shape


@pytest.mark.parametrize("rate", [-1.0, 0.0, float("nan"), float("inf")])
def test_routed_learning_rate_is_validated(iris, rate):
    X, y = iris
    clf = KerasClassifier(classifier_model, optimizer="sgd", optimizer__learning_rate=rate)
    with pytest.raises(ValueError, match="'optimizer__learning_rate' must be a positive finite"):
        clf.fit(X, y)
    assert _unfitted(clf)


@pytest.mark.parametrize(
    ("params", "match"),
    [({"fit__batch_size": 0}, "'fit__batch_size' parameter of KerasClassifier"),
     ({"fit__shuffle": "no"}, "'fit__shuffle' parameter of KerasClassifier"),
     ({"fit__epochs": 0}, "'fit__epochs' parameter of KerasClassifier"),
     ({"fit__callbacks": []}, r"fit arguments \['callbacks'\] are set by KerasClassifier"),
     ({"fit__initial_epoch": 2}, r"fit arguments \['initial_epoch'\]")],
)
def test_routed_fit_arguments_are_validated(iris, params, match):
    X, y = iris
    clf = KerasClassifier(classifier_model, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert _unfitted(clf)


def test_learning_rate_must_be_a_number_or_a_schedule(iris):
    X, y = iris
    clf = KerasMLPClassifier((4,), learning_rate=keras.layers.Dense(1))
    with pytest.raises(ValueError, match=r"'learning_rate' parameter of KerasMLPClassifier must "
                                         r"be a float > 0 or a keras.*LearningRateSchedule"):
        clf.fit(X, y)
    assert _unfitted(clf)
