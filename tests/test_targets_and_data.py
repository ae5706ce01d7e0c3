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


@pytest.mark.parametrize(
    "make",
    [
        lambda: KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=2, random_state=0),
        lambda: KerasClassifier(classifier_model, hidden=4, epochs=2, random_state=0),
    ],
    ids=["mlp", "wrapper"],
)
def test_sparse_multilabel_indicator_target_trains_as_dense(iris, make):
    """A scipy.sparse indicator matrix (accepted by scikit-learn's MLPClassifier) is the same
    target as its dense copy: fit, partial_fit and validation_data take it alike."""
    X, y = iris
    Y = np.column_stack([y == 0, y == 2, X[:, 0] > 0]).astype(int)
    Y_sparse = sp.csr_matrix(Y)
    dense, sparse = make().fit(X, Y), make().fit(X, Y_sparse)
    assert sparse.target_type_ == "multilabel-indicator"
    np.testing.assert_array_equal(sparse.classes_, dense.classes_)
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X), rtol=1e-6)
    assert sparse.predict(X).dtype == Y.dtype
    sparse.partial_fit(X, Y_sparse)
    dense.partial_fit(X, Y)
    np.testing.assert_allclose(sparse.predict_proba(X), dense.predict_proba(X), rtol=1e-6)
    assert sparse.score(X, Y_sparse) == dense.score(X, Y)
    make().partial_fit(X, sp.csc_matrix(Y))
    with_validation = make().fit(X, Y_sparse, validation_data=(X[:20], Y_sparse[:20]))
    assert len(with_validation.history_["val_loss"]) == 2


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


@pytest.mark.parametrize(
    "labels",
    [
        np.array([3, 3, 1, 3]),
        np.array([0, 1, 0, 1], dtype=np.uint8),
        np.array([5, -1, 2, 2, 9], dtype=np.int32),
        np.array([True, False, True]),
        np.arange(12) % 5,
    ],
)
def test_integer_labels_described_as_scikit_learn_does(labels):
    from sklearn.preprocessing import LabelEncoder
    from sklearn.utils.multiclass import type_of_target

    from skkeras._targets import ClassifierTarget

    target = ClassifierTarget.fit(labels, estimator_name="KerasClassifier")
    classes = LabelEncoder().fit(labels).classes_
    np.testing.assert_array_equal(target.classes, classes)
    assert target.classes.dtype == classes.dtype
    assert target.target_type == type_of_target(labels)
    np.testing.assert_array_equal(target.indices(labels), LabelEncoder().fit_transform(labels))


def test_integer_classes_refuse_text_labels():
    from skkeras._targets import ClassifierTarget

    target = ClassifierTarget.fit(np.array([0, 1, 1]), estimator_name="KerasClassifier")
    with pytest.raises(ValueError, match=r"unseen labels: \['0', 'x'\]"):
        target.indices(np.array(["x", "0"]))


def test_one_integer_class_is_refused():
    from skkeras._targets import ClassifierTarget

    message = r"at least 2 classes.*only one class \(np.int64\(4\)\)"
    with pytest.raises(ValueError, match=message):
        ClassifierTarget.fit(np.array([4, 4, 4]), estimator_name="KerasClassifier")


@pytest.mark.parametrize("unseen", [np.array([7, 8, 100]), np.array([-3, 7])])
def test_class_indices_refuse_unseen_labels(unseen):
    from skkeras._targets import ClassifierTarget

    target = ClassifierTarget.fit(np.array([7, -2, 30]), estimator_name="KerasClassifier")
    with pytest.raises(ValueError, match="unseen labels"):
        target.indices(unseen)


@pytest.fixture(scope="module")
def fitted_iris_pair(iris):
    """One classifier fitted on integer labels, one on the same labels as text."""
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    make = lambda: KerasMLPClassifier((8,), epochs=3, random_state=0)  # noqa: E731
    return X, y, make().fit(X, y), make().fit(X, names)


@pytest.mark.parametrize("labels", ["int", "int32", "text", "list", "weighted"])
def test_score_is_accuracy_score(fitted_iris_pair, labels):
    from sklearn.metrics import accuracy_score

    X, y, on_integers, on_text = fitted_iris_pair
    estimator = on_text if labels == "text" else on_integers
    truth = {
        "int": y, "int32": y.astype(np.int32), "list": y.tolist(),
        "text": np.array(["setosa", "versicolor", "virginica"])[y], "weighted": y,
    }[labels]
    truth = truth[:100]
    weights = np.linspace(0.1, 2.0, 100) if labels == "weighted" else None
    expected = accuracy_score(truth, estimator.predict(X[:100]), sample_weight=weights)
    assert estimator.score(X[:100], truth, sample_weight=weights) == pytest.approx(expected)
    assert 0.0 < expected < 1.0  # a score that can tell right from wrong


def test_score_refuses_labels_of_another_length(fitted_iris_pair):
    X, y, on_integers, _ = fitted_iris_pair
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        on_integers.score(X[:100], y[:99])


@pytest.fixture(scope="module")
def fitted_on_iris(iris):
    X, y = iris
    return KerasMLPClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize(
    "as_given",
    [
        lambda X: X.astype(np.float64),
        lambda X: np.asfortranarray(X, dtype=np.float32),
        lambda X: X.tolist(),
        lambda X: X.astype(np.int64),
        lambda X: sp.csr_matrix(X),
    ],
    ids=["float64", "fortran-float32", "list", "int64", "sparse"],
)
def test_plain_float_arrays_predict_as_any_other_input(fitted_on_iris, iris, as_given):
    X = iris[0][:20].round()  # whole numbers: the int64 copy holds the same values
    plain = np.ascontiguousarray(X, dtype=np.float32)
    np.testing.assert_allclose(
        fitted_on_iris.predict_proba(plain), fitted_on_iris.predict_proba(as_given(X)), rtol=1e-6
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_prediction_refuses_nan_and_inf(fitted_on_iris, iris, dtype, bad):
    X = iris[0][:5].astype(dtype)
    X[2, 1] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        fitted_on_iris.predict(X)


def test_prediction_checks_shape_and_rows(fitted_on_iris, iris):
    X = iris[0].astype(np.float32)
    with pytest.raises(ValueError, match="X has 3 features"):
        fitted_on_iris.predict(X[:, :3])
    with pytest.raises(ValueError, match="0 sample"):
        fitted_on_iris.predict(X[:0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        fitted_on_iris.predict(X[0])


def test_prediction_warns_of_missing_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = KerasMLPClassifier(**FAST).fit(frame, y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(np.ascontiguousarray(X, dtype=np.float32))


@pytest.fixture(scope="module")
def fitted_kinds(iris):
    """One fitted estimator of each kind (MLP and wrapper, classifier and regressor), without
    feature names, so that plain float arrays take the prediction shortcut."""
    X, y = iris
    small = {"epochs": 1, "random_state": 0}
    return {
        "mlp-classifier": KerasMLPClassifier(hidden_layer_sizes=(4,), **small).fit(X, y),
        "mlp-regressor": KerasMLPRegressor(hidden_layer_sizes=(4,), **small).fit(X, X[:, 0]),
        "classifier": KerasClassifier(classifier_model, **small).fit(X, y),
        "regressor": KerasRegressor(regressor_model, **small).fit(X, X[:, 0]),
    }


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no "overflow encountered in cast" either
@pytest.mark.parametrize(
    ("kind", "method"),
    [(kind, method) for kind in ("mlp-classifier", "classifier")
     for method in ("predict", "predict_proba", "score")]
    + [(kind, method) for kind in ("mlp-regressor", "regressor")
       for method in ("predict", "score")],
)
@pytest.mark.parametrize(
    ("as_given", "match"),
    [
        # ndarrays take the shortcut past validate_data (C or Fortran order alike)
        (np.ascontiguousarray, r"a value too large for float32: 1e\+39 at index \(2, 1\)"),
        (np.asfortranarray, r"a value too large for float32: 1e\+39 at index \(2, 1\)"),
        # a sparse matrix goes through validate_data, which passes finite float64 values
        (sp.csr_matrix, r"a value too large for float32: 1e\+39 at index \(2, 1\)"),
        # float32 inf: refused on either path with scikit-learn's message
        (lambda X: np.asarray(X, dtype=np.float32), r"infinity"),
        (lambda X: sp.csr_matrix(X, dtype=np.float32), r"infinity"),
    ],
    ids=["float64", "fortran-float64", "sparse-float64", "float32-inf", "sparse-float32-inf"],
)
def test_prediction_refuses_values_beyond_float32(fitted_kinds, iris, kind, method, as_given,
                                                   match):
    estimator = fitted_kinds[kind]
    X = iris[0][:5].astype(np.float64)
    X[2, 1] = 1e39  # finite in float64; inf in float32
    with np.errstate(over="ignore"):  # the float32 cases' own casts
        given = as_given(X)
    args = (given,) if method != "score" else (given, iris[1][:5])
    with pytest.raises(ValueError, match="Input X contains " + match):
        getattr(estimator, method)(*args)


def test_prediction_accepts_the_largest_float32_values(fitted_on_iris, iris):
    """No false alarm: values at float32's limit are finite, though their float32 sum is not."""
    X = np.full((4, 4), float(np.finfo(np.float32).max))
    assert fitted_on_iris.predict_proba(X).shape == (4, 3)


def test_prediction_with_feature_names_refuses_values_beyond_float32(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(frame, y)
    big = frame.head(3).astype(np.float64)
    big.iloc[1, 3] = 1e39
    with pytest.raises(ValueError, match=r"Input X contains a value too large .* \(1, 3\)"):
        clf.predict_proba(big)
