"""Tests for skkeras.model_selection.bootstrap_evaluate and BootstrapResult."""

from __future__ import annotations

import functools
import io
import re
import sys

import numpy as np
import pytest
from scipy import stats
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import f1_score, make_scorer, mean_squared_error, root_mean_squared_error
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedShuffleSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skkeras import KerasMLPClassifier
from skkeras.model_selection import BootstrapResult, bootstrap_evaluate


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


def small_mlp(**params):
    defaults = dict(hidden_layer_sizes=(8,), epochs=15, learning_rate=0.02, random_state=0)
    return KerasMLPClassifier(**{**defaults, **params})


# ---------------------------------------------------------------------- splits


def test_classifier_splits_are_stratified(cancer):
    X, y = cancer
    result = bootstrap_evaluate(
        DummyClassifier(), X, y, n_splits=6, random_state=3, verbose=0, return_indices=True
    )
    expected = list(StratifiedShuffleSplit(6, test_size=0.1, random_state=3).split(X, y))
    assert len(result.indices["test"]) == 6
    share = y.mean()
    for (train, test), (exp_train, exp_test) in zip(
        zip(result.indices["train"], result.indices["test"], strict=True), expected, strict=True
    ):
        np.testing.assert_array_equal(train, exp_train)
        np.testing.assert_array_equal(test, exp_test)
        assert len(test) == 57 and len(np.intersect1d(train, test)) == 0
        # each test split keeps the class balance to within one sample
        assert abs(y[test].sum() - share * len(test)) <= 1


def test_regressor_splits_are_plain_shuffle_splits(diabetes):
    X, y = diabetes
    result = bootstrap_evaluate(
        DummyRegressor(), X, y, n_splits=4, test_size=0.2, random_state=1, verbose=0,
        return_indices=True,
    )
    expected = ShuffleSplit(4, test_size=0.2, random_state=1).split(X, y)
    for test, (_, exp_test) in zip(result.indices["test"], expected, strict=True):
        np.testing.assert_array_equal(test, exp_test)


def test_custom_cv_and_scores_match_a_manual_loop(diabetes):
    X, y = diabetes
    cv = KFold(3, shuffle=True, random_state=0)
    result = bootstrap_evaluate(
        Ridge(), X, y, cv=cv, scoring="neg_root_mean_squared_error", verbose=0
    )
    manual = [
        -root_mean_squared_error(y[test], Ridge().fit(X[train], y[train]).predict(X[test]))
        for train, test in cv.split(X)
    ]
    np.testing.assert_allclose(result.scores, manual)
    assert result.n_splits == 3 and result.epochs is None
    assert result.scoring == "neg_root_mean_squared_error"
    assert not result.stopped_early and result.message == "Ran all 3 splits."


# ---------------------------------------------------------------------- early stopping


def test_test_split_never_reaches_early_stopping(cancer, recording_classifier, row_indices):
    X, y = cancer
    X = StandardScaler().fit_transform(X)
    estimator = recording_classifier()((8,), epochs=10, learning_rate=0.02, random_state=0)
    assert estimator.early_stopping is False
    result = bootstrap_evaluate(
        estimator, X, y, n_splits=2, random_state=0, verbose=0, return_indices=True
    )
    assert len(estimator.fits) == 2
    for (fit_rows, val_rows), train, test in zip(
        estimator.fits, result.indices["train"], result.indices["test"], strict=True
    ):
        assert val_rows is not None, "bootstrap_evaluate must switch early stopping on"
        fitted, validated = row_indices(fit_rows, X), row_indices(val_rows, X)
        # validation is a 10% part of the training split; the test split is in neither
        assert len(validated) == int(np.ceil(0.1 * len(train)))
        np.testing.assert_array_equal(np.sort(np.r_[fitted, validated]), np.sort(train))
        assert len(np.intersect1d(validated, fitted)) == 0
        assert len(np.intersect1d(np.r_[fitted, validated], test)) == 0
    assert result.epochs.dtype.kind == "i"
    assert np.all((result.epochs >= 1) & (result.epochs <= 10))


def test_early_stopping_false_keeps_the_estimator_setting(cancer, recording_classifier):
    X, y = cancer
    X = StandardScaler().fit_transform(X)
    estimator = recording_classifier()((8,), epochs=3, learning_rate=0.02, random_state=0)
    result = bootstrap_evaluate(
        estimator, X, y, n_splits=1, early_stopping=False, random_state=0, verbose=0
    )
    assert len(estimator.fits) == 1 and estimator.fits[0][1] is None
    # without validation the epochs are the epochs run
    assert result.epochs.tolist() == [3]


def test_pipeline_with_tol_stops_early_and_says_so(cancer, capsys):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), small_mlp())
    result = bootstrap_evaluate(
        pipe, X, y, n_splits=10, tol=0.5, tol_window=2, random_state=0, verbose=1
    )
    # a 0.5-wide band is reached as soon as there are tol_window + 1 running means
    assert len(result.scores) == 3 and result.n_splits == 10
    assert result.stopped_early
    assert result.message.startswith("Stopped early after 3 of 10 splits")
    assert "tol=0.5" in result.message
    assert result.message in capsys.readouterr().out
    assert np.all(result.scores > 0.85)
    assert np.all((result.epochs >= 1) & (result.epochs <= 15))


def constant_score(estimator, X, y):
    return 0.5


def test_tol_stops_once_the_running_mean_settles(cancer):
    X, y = cancer
    result = bootstrap_evaluate(
        DummyClassifier(), X, y, n_splits=20, tol=1e-9, tol_window=4, scoring=constant_score,
        random_state=0, verbose=0,
    )
    # the running mean never moves: it has settled once there are tol_window + 1 of them
    assert result.scores.tolist() == [0.5] * 5 and result.stopped_early
    assert result.scoring == "constant_score"
    assert result.message.startswith("Stopped early after 5 of 20 splits")


def test_tol_zero_never_stops(cancer, capsys):
    X, y = cancer
    result = bootstrap_evaluate(
        DummyClassifier(), X, y, n_splits=6, tol=0.0, tol_window=2, random_state=0, verbose=1
    )
    assert len(result.scores) == 6 and not result.stopped_early
    expected = r"Ran all 6 splits\. The running mean still moved \S+ over the last 2 splits "
    assert re.fullmatch(expected + r"\(tol=0\.0\)\.", result.message)
    assert capsys.readouterr().out == ""


# ---------------------------------------------------------------------- result object


@pytest.fixture(scope="module")
def ridge_result(diabetes):
    X, y = diabetes
    return bootstrap_evaluate(
        Ridge(alpha=0.1), X, y, n_splits=8, scoring="r2", random_state=0, verbose=0
    )


def test_result_statistics(ridge_result):
    scores = ridge_result.scores
    assert isinstance(ridge_result, BootstrapResult) and scores.shape == (8,)
    assert ridge_result.mean == pytest.approx(scores.mean())
    assert ridge_result.std == pytest.approx(np.std(scores, ddof=1))
    half = stats.t.ppf(0.975, 7) * np.std(scores, ddof=1) / np.sqrt(8)
    low, high = ridge_result.confidence_interval()
    assert (low, high) == pytest.approx((scores.mean() - half, scores.mean() + half))
    low90, high90 = ridge_result.confidence_interval(0.9)
    assert low < low90 < high90 < high
    np.testing.assert_allclose(ridge_result.running_mean[[0, 3, 7]], [
        scores[0], scores[:4].mean(), scores.mean()
    ])
    assert np.isnan(ridge_result.running_std[0])
    assert ridge_result.running_std[4] == pytest.approx(np.std(scores[:5], ddof=1))
    assert "r2=" in repr(ridge_result) and "8 of 8 splits" in repr(ridge_result)
    with pytest.raises(ValueError, match="confidence must be in"):
        ridge_result.confidence_interval(95)


def test_to_frame(ridge_result):
    frame = ridge_result.to_frame()
    assert list(frame.columns) == ["score", "fit_time", "running_mean", "running_std"]
    assert frame.index.name == "split" and frame.index.tolist() == list(range(1, 9))
    np.testing.assert_allclose(frame["running_mean"], ridge_result.running_mean)


def test_to_frame_without_pandas(ridge_result, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        ridge_result.to_frame()


def test_plot(ridge_result):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = ridge_result.plot()
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), ridge_result.running_mean)
    assert ax.get_xlabel() == "split" and ax.get_ylabel() == "r2"
    plt.close(ax.figure)


def test_plot_without_matplotlib(ridge_result, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        ridge_result.plot()


# ---------------------------------------------------------------------- progress, jobs, errors


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("stream", "verbose", "shown"),
    [(_Terminal, 1, True), (_Terminal, 0, False), (io.StringIO, 1, False)],
)
def test_progress_bar_only_on_a_terminal(diabetes, monkeypatch, stream, verbose, shown):
    X, y = diabetes
    fake = stream()
    monkeypatch.setattr(sys, "stderr", fake)
    bootstrap_evaluate(DummyRegressor(), X, y, n_splits=3, random_state=0, verbose=verbose)
    text = fake.getvalue()
    if shown:
        assert "bootstrap [" in text and "3/3" in text and text.endswith("\n")
    else:
        assert text == ""


def test_first_split_reports_no_spread(diabetes, monkeypatch, capsys):
    # one score has no sample standard deviation: the first line shows the mean alone, not "nan"
    X, y = diabetes
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    bootstrap_evaluate(Ridge(), X, y, n_splits=2, random_state=0, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"split 1/2: score \S+, epochs None, running mean \S+", lines[0])
    assert re.fullmatch(r"split 2/2: .*, running mean \S+ ± \S+", lines[1])
    bar = terminal.getvalue()
    assert "nan" not in bar and "1/2 mean" in bar and "std" in bar.split("2/2")[1]


def test_n_jobs_does_not_change_the_result(diabetes):
    X, y = diabetes
    kwargs = dict(n_splits=6, tol=0.02, tol_window=2, random_state=0, verbose=0)
    serial = bootstrap_evaluate(Ridge(), X, y, **kwargs)
    parallel = bootstrap_evaluate(Ridge(), X, y, n_jobs=2, **kwargs)
    np.testing.assert_allclose(parallel.scores, serial.scores)
    assert parallel.message == serial.message


def test_fit_params_are_split_with_the_data(diabetes):
    X, y = diabetes
    weights = np.where(np.arange(len(y)) % 2 == 0, 1.0, 3.0)
    result = bootstrap_evaluate(
        Ridge(), X, y, n_splits=2, random_state=0, verbose=0, return_indices=True,
        params={"sample_weight": weights},
    )
    train, test = result.indices["train"][0], result.indices["test"][0]
    manual = Ridge().fit(X[train], y[train], sample_weight=weights[train]).score(X[test], y[test])
    assert result.scores[0] == pytest.approx(manual)


def test_validation_data_is_refused(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="'kerasmlpclassifier__validation_data' in params"):
        bootstrap_evaluate(
            make_pipeline(StandardScaler(), small_mlp()), X, y, verbose=0,
            params={"kerasmlpclassifier__validation_data": (X, y)},
        )


def test_invalid_parameters(cancer):
    X, y = cancer
    with pytest.raises(InvalidParameterError, match="'n_splits' parameter"):
        bootstrap_evaluate(DummyClassifier(), X, y, n_splits=0)
    with pytest.raises(InvalidParameterError, match="'tol' parameter"):
        bootstrap_evaluate(DummyClassifier(), X, y, tol=-1.0)


def test_scoring_name_of_a_made_scorer(cancer):
    X, y = cancer
    common = dict(n_splits=2, random_state=0, verbose=0)
    result = bootstrap_evaluate(DummyClassifier(), X, y, scoring=make_scorer(f1_score), **common)
    assert result.scoring == "f1_score"
    assert "f1_score=" in repr(result)
    loss = make_scorer(mean_squared_error, greater_is_better=False)
    assert bootstrap_evaluate(DummyClassifier(), X, y, scoring=loss, **common).scoring == (
        "neg_mean_squared_error"
    )
    partial = functools.partial(constant_score)
    assert bootstrap_evaluate(DummyClassifier(), X, y, scoring=partial, **common).scoring == (
        "constant_score"
    )
    assert bootstrap_evaluate(DummyClassifier(), X, y, **common).scoring == "score"
