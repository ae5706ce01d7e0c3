"""Targets (binary, multiclass, multilabel, strings, multi-output) and input kinds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor, KerasRegressor

from ._builders import classifier_model, regressor_model

FAST = {"hidden_layer_sizes": (16,), "epochs": 20, "learning_rate": 0.02, "random_state": 0}


def test_binary_uses_one_sigmoid_unit_and_two_probability_columns(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(**FAST).fit(X, y)
    assert clf.model_.output_shape == (None, 1)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) > 0.95


def test_string_labels_multiclass(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    clf = KerasMLPClassifier(**FAST).fit(X, names)
    assert list(clf.classes_) == ["setosa", "versicolor", "virginica"]
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.score(X, names) > 0.85


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_wrapper_encodes_target_for_its_loss(iris, loss):
    X, y = iris
    clf = KerasClassifier(
        classifier_model, loss=loss, epochs=30, optimizer="adam", optimizer__learning_rate=0.02,
        random_state=0,
    ).fit(X, y)
    assert clf.target_.encoding == ("sparse" if "sparse" in loss else "onehot")
    assert clf.score(X, y) > 0.85


def test_multilabel_indicator_target(iris):
    X, y = iris
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)
    clf = KerasMLPClassifier(**FAST).fit(X, Y)
    assert clf.predict(X).shape == Y.shape
    assert clf.predict(X).dtype == Y.dtype
    assert clf.predict_proba(X).shape == Y.shape
    assert (clf.predict(X) == Y).mean() > 0.85


def test_multi_output_regression(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, -2 * y])
    for reg in (KerasMLPRegressor(**FAST), KerasRegressor(regressor_model, epochs=20)):
        pred = reg.fit(X, Y).predict(X)
        assert pred.shape == Y.shape


def test_single_output_regression_shape(diabetes):
    X, y = diabetes
    reg = KerasMLPRegressor(**FAST).fit(X, y)
    assert reg.predict(X).shape == (len(X),)
    assert reg.score(X, y) > 0.4


def test_class_weight_balanced_shifts_predictions(breast_cancer):
    X, y = breast_cancer
    keep = np.concatenate([np.flatnonzero(y == 0)[:40], np.flatnonzero(y == 1)])
    Xi, yi = X[keep], y[keep]
    plain = KerasMLPClassifier(**FAST).fit(Xi, yi).predict_proba(Xi)[:, 0].mean()
    balanced = KerasMLPClassifier(class_weight="balanced", **FAST).fit(Xi, yi)
    assert balanced.predict_proba(Xi)[:, 0].mean() > plain


def test_sample_weight_changes_fit(breast_cancer):
    X, y = breast_cancer
    weights = np.where(y == 0, 10.0, 0.1)
    weighted = KerasMLPClassifier(**FAST).fit(X, y, sample_weight=weights)
    plain = KerasMLPClassifier(**FAST).fit(X, y)
    assert weighted.predict_proba(X)[:, 0].mean() > plain.predict_proba(X)[:, 0].mean()


def test_pandas_input_sets_feature_names(breast_cancer):
    pd = pytest.importorskip("pandas")
    X, y = breast_cancer
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = KerasMLPClassifier(**FAST).fit(frame, pd.Series(y))
    assert list(clf.feature_names_in_) == list(frame.columns)
    np.testing.assert_allclose(clf.predict_proba(frame), clf.predict_proba(X), rtol=1e-6)


def test_float64_and_sparse_input(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(**FAST).fit(X.astype(np.float64), y)
    dense = clf.predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(sp.csr_matrix(X)), dense, rtol=1e-6)
    sparse_fit = KerasMLPClassifier(**FAST).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse_fit.predict_proba(X), dense, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([7, -2, 7, 30, -2]),
        np.array([1.0, 3.0, 1.0, -2.0, 3.0]),
        np.array(["b", "a", "c", "a", "b"]),
        np.array([True, False, False, True, True]),
    ],
)
def test_class_indices_match_label_encoder(labels):
    from sklearn.preprocessing import LabelEncoder

    from skkeras._targets import ClassifierTarget

    target = ClassifierTarget.fit(labels, estimator_name="KerasClassifier")
    expected = LabelEncoder().fit(labels).transform(labels)
    np.testing.assert_array_equal(target.indices(labels), expected)
    np.testing.assert_array_equal(target.indices(labels[::-1]), expected[::-1])


@pytest.mark.parametrize("unseen", [np.array([7, 8, 100]), np.array([-3, 7])])
def test_class_indices_refuse_unseen_labels(unseen):
    from skkeras._targets import ClassifierTarget

    target = ClassifierTarget.fit(np.array([7, -2, 30]), estimator_name="KerasClassifier")
    with pytest.raises(ValueError, match="unseen labels"):
        target.indices(unseen)
