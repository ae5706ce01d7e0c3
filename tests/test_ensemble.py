"""Tests for skkeras.ensemble: k-fold ensembles with per-fold early stopping."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.metrics import f1_score, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    KFold,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skkeras import KerasMLPClassifier, KerasMLPRegressor
from skkeras.ensemble import KFoldEnsembleClassifier, KFoldEnsembleRegressor


def small_classifier(**params):
    defaults = dict(hidden_layer_sizes=(8,), epochs=15, learning_rate=0.02, random_state=0)
    return KerasMLPClassifier(**{**defaults, **params})


def small_regressor(**params):
    defaults = dict(hidden_layer_sizes=(8,), epochs=15, learning_rate=0.02, random_state=0)
    return KerasMLPRegressor(**{**defaults, **params})


_WEIGHTS_ARE_NOT_REPEATS = (
    "A sample of weight 2 is not the same as the sample repeated: the repeat changes the k-fold "
    "split and the networks' mini-batches and epoch length, so the fits differ."
)
# Expected failures of scikit-learn's common checks, with the reason each one fails.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    name: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_ARE_NOT_REPEATS,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHTS_ARE_NOT_REPEATS,
    }
    for name in ("KFoldEnsembleClassifier", "KFoldEnsembleRegressor")
}


@pytest.mark.slow
@parametrize_with_checks(
    [
        KFoldEnsembleClassifier(small_classifier(), cv=2),
        KFoldEnsembleRegressor(small_regressor(), cv=2),
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@parametrize_with_checks(
    [
        KFoldEnsembleClassifier(DecisionTreeClassifier(random_state=0), cv=2),
        KFoldEnsembleClassifier(DecisionTreeClassifier(random_state=0), cv=2, combine="refit"),
        KFoldEnsembleRegressor(DecisionTreeRegressor(random_state=0), cv=2, combine="best"),
    ]
)
def test_sklearn_compatible_with_fast_members(estimator, check):
    """The meta-estimator contract itself, checked quickly with non-Keras members."""
    check(estimator)


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X, (y - y.mean()) / y.std()


CV3 = StratifiedKFold(3, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def recorded_mean(cancer, recording_classifier):
    """A combine='mean' ensemble of recording networks, with what each fold saw."""
    X, y = cancer
    network = recording_classifier()((8,), epochs=15, learning_rate=0.02, random_state=0)
    ensemble = KFoldEnsembleClassifier(network, cv=CV3).fit(X, y)
    return ensemble, list(network.fits)


# ---------------------------------------------------------------------- fitting


def test_each_fold_early_stops_on_its_held_out_fold(cancer, recorded_mean, row_indices):
    X, y = cancer
    ensemble, fits = recorded_mean
    assert len(fits) == 3 and len(ensemble.estimators_) == 3
    for (train, test), (fit_rows, val_rows), member in zip(
        CV3.split(X, y), fits, ensemble.estimators_, strict=True
    ):
        np.testing.assert_array_equal(np.sort(row_indices(fit_rows, X)), train)
        np.testing.assert_array_equal(np.sort(row_indices(val_rows, X)), test)
        assert member.early_stopping is True
        assert len(member.history_["val_loss"]) == member.n_iter_
    assert ensemble.fold_epochs_.tolist() == [m.best_epoch_ for m in ensemble.estimators_]
    # the template itself is untouched
    assert ensemble.estimator.early_stopping is False
    assert not hasattr(ensemble.estimator, "model_")


def test_fold_scores_and_best_index(cancer, recorded_mean):
    X, y = cancer
    ensemble, _ = recorded_mean
    expected = [
        member.score(X[test], y[test])
        for member, (_, test) in zip(ensemble.estimators_, CV3.split(X, y), strict=True)
    ]
    np.testing.assert_allclose(ensemble.fold_scores_, expected)
    assert ensemble.best_index_ == int(np.argmax(expected))
    assert np.all(ensemble.fold_scores_ > 0.85)
    np.testing.assert_array_equal(ensemble.classes_, [0, 1])
    assert ensemble.n_features_in_ == 30
    assert ensemble.refit_estimator_ is None and ensemble.refit_epochs_ is None


def test_combine_mean_averages_probabilities(cancer, recorded_mean):
    X, y = cancer
    ensemble, _ = recorded_mean
    expected = np.mean([member.predict_proba(X) for member in ensemble.estimators_], axis=0)
    np.testing.assert_allclose(ensemble.predict_proba(X), expected)
    np.testing.assert_array_equal(ensemble.predict(X), np.argmax(expected, axis=1))
    assert ensemble.score(X, y) > 0.95


def test_combine_best_uses_the_best_fold_model(cancer):
    X, y = cancer
    ensemble = KFoldEnsembleClassifier(small_classifier(), cv=CV3, combine="best").fit(X, y)
    best = ensemble.estimators_[ensemble.best_index_]
    assert ensemble.best_index_ == int(np.argmax(ensemble.fold_scores_))
    np.testing.assert_allclose(ensemble.predict_proba(X), best.predict_proba(X))
    np.testing.assert_array_equal(ensemble.predict(X), best.predict(X))


@pytest.mark.parametrize("refit_epochs", ["mean", pytest.param("max", marks=pytest.mark.slow), 4])
def test_combine_refit_trains_for_the_folds_epochs(diabetes, refit_epochs):
    X, y = diabetes
    ensemble = KFoldEnsembleRegressor(
        make_pipeline(StandardScaler(), small_regressor()),
        cv=KFold(2, shuffle=True, random_state=0),
        combine="refit",
        refit_epochs=refit_epochs,
    ).fit(X, y)
    epochs = ensemble.fold_epochs_
    expected = {"mean": max(1, round(epochs.mean())), "max": epochs.max(), 4: 4}[refit_epochs]
    assert ensemble.refit_epochs_ == expected
    network = ensemble.refit_estimator_[-1]
    # trained on all the data for exactly that many epochs, without early stopping
    assert network.n_iter_ == expected and "val_loss" not in network.history_
    assert network.early_stopping is False
    np.testing.assert_allclose(ensemble.predict(X), ensemble.refit_estimator_.predict(X))
    assert [m[-1].best_epoch_ for m in ensemble.estimators_] == epochs.tolist()


def test_regressor_mean_in_a_pipeline_scales_the_held_out_fold(diabetes):
    X, y = diabetes
    cv = KFold(2, shuffle=True, random_state=0)
    ensemble = KFoldEnsembleRegressor(
        make_pipeline(StandardScaler(), small_regressor()), cv=cv
    ).fit(X, y)
    expected = np.mean([member.predict(X) for member in ensemble.estimators_], axis=0)
    np.testing.assert_allclose(ensemble.predict(X), expected)
    assert ensemble.score(X, y) > 0.3
    for member, (train, _) in zip(ensemble.estimators_, cv.split(X), strict=True):
        np.testing.assert_allclose(member[0].mean_, X[train].mean(axis=0))


def test_random_state_gives_each_member_its_own_seed(cancer):
    X, y = cancer
    ensemble = KFoldEnsembleClassifier(
        DecisionTreeClassifier(random_state=0), cv=3, combine="refit", random_state=7
    ).fit(X, y)
    seeds = [m.random_state for m in [*ensemble.estimators_, ensemble.refit_estimator_]]
    assert len(set(seeds)) == 4
    untouched = KFoldEnsembleClassifier(DecisionTreeClassifier(random_state=0), cv=3).fit(X, y)
    assert [m.random_state for m in untouched.estimators_] == [0, 0, 0]


def test_non_keras_estimators_have_no_epochs(cancer):
    X, y = cancer
    ensemble = KFoldEnsembleClassifier(
        DecisionTreeClassifier(max_depth=3, random_state=0), cv=3, combine="refit"
    ).fit(X, y)
    assert ensemble.fold_epochs_ is None and ensemble.refit_epochs_ is None
    assert ensemble.refit_estimator_.get_depth() == 3
    assert ensemble.score(X, y) > 0.9


@pytest.mark.parametrize("ensemble_class", [KFoldEnsembleClassifier, KFoldEnsembleRegressor])
def test_groups_reach_a_group_aware_cv(cancer, ensemble_class):
    X, y = cancer
    groups = np.arange(len(y)) % 3
    tree = (DecisionTreeClassifier if ensemble_class is KFoldEnsembleClassifier
            else DecisionTreeRegressor)(max_depth=2, random_state=0)
    ensemble = ensemble_class(tree, cv=GroupKFold(3)).fit(X, y, groups=groups)
    assert len(ensemble.estimators_) == 3
    for member, (train, _) in zip(ensemble.estimators_, GroupKFold(3).split(X, y, groups),
                                  strict=True):
        refit = tree.__class__(max_depth=2, random_state=0).fit(X[train], y[train])
        np.testing.assert_array_equal(member.predict(X), refit.predict(X))
    with pytest.raises(ValueError, match="'groups' parameter should not be None"):
        ensemble_class(tree, cv=GroupKFold(3)).fit(X, y)


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(
        n_samples=60, n_features=4, n_informative=3, n_redundant=0, n_classes=3,
        random_state=0,
    )
    return X.astype("float32"), y


def test_held_out_class_missing_from_training_part(three_classes, recording_classifier,
                                                   row_indices):
    """GroupKFold with one class in one group: the fold early-stops on the labels it knows."""
    X, y = three_classes
    groups = np.arange(len(y)) % 3
    groups[y == 2] = 0  # every class-2 sample in group 0: its fold trains on classes 0 and 1
    network = recording_classifier()((8,), epochs=2, random_state=0)
    cv = GroupKFold(3)
    ensemble = KFoldEnsembleClassifier(network, cv=cv).fit(
        X, y, sample_weight=np.ones(len(y)), groups=groups
    )
    missing = 0
    for (train, test), (fit_rows, val_rows), member in zip(
        cv.split(X, y, groups), network.fits, ensemble.estimators_, strict=True
    ):
        np.testing.assert_array_equal(np.sort(row_indices(fit_rows, X)), train)
        known = test[np.isin(y[test], y[train])]
        missing += len(known) < len(test)
        np.testing.assert_array_equal(np.sort(row_indices(val_rows, X)), np.sort(known))
        assert member.early_stopping is True
    assert missing == 1
    # each fold is scored on its whole held-out part, as by cross_val_score
    expected = [member.score(X[test], y[test])
                for member, (_, test) in zip(ensemble.estimators_, cv.split(X, y, groups),
                                             strict=True)]
    np.testing.assert_allclose(ensemble.fold_scores_, expected)
    assert ensemble.predict_proba(X).shape == (len(X), 3)


@pytest.mark.parametrize("combine", ["mean", "best", "refit"])
def test_held_out_fold_with_only_unseen_classes(three_classes, combine):
    """Unshuffled folds on sorted labels: no held-out row to validate on, no early stopping."""
    X, y = three_classes
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    ensemble = KFoldEnsembleClassifier(
        small_classifier(epochs=2), cv=KFold(3), combine=combine
    ).fit(X, y)
    for member, (train, test) in zip(ensemble.estimators_, KFold(3).split(X), strict=True):
        assert set(member.classes_) == set(y[train]) and not set(y[test]) & set(y[train])
        assert member.early_stopping is False and member.n_iter_ == 2
        assert "val_loss" not in member.history_
    np.testing.assert_array_equal(ensemble.fold_scores_, 0.0)
    np.testing.assert_array_equal(ensemble.fold_epochs_, [2, 2, 2])
    proba = ensemble.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_unweighted_scorer_warning_points_at_the_fit_call(kind):
    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    if kind == "classifier":
        ensemble = KFoldEnsembleClassifier(DecisionTreeClassifier(max_depth=2, random_state=0),
                                           cv=2, scoring=_plain_score)
    else:
        ensemble = KFoldEnsembleRegressor(DecisionTreeRegressor(max_depth=2, random_state=0),
                                          cv=2, scoring=_plain_score)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        ensemble.fit(X, y, sample_weight=np.linspace(0.5, 2.0, len(y)))
    (warning,) = [w for w in caught if "takes no sample_weight" in str(w.message)]
    assert (warning.filename, warning.lineno) == (__file__, line)


def _plain_score(estimator, X, y):
    """A scorer without a sample_weight parameter."""
    return estimator.score(X, y)


def test_sample_weight_reaches_only_scorers_that_take_it(cancer):
    X, y = cancer
    weights = np.where(y == 1, 3.0, 1.0)
    tree = DecisionTreeClassifier(max_depth=2, random_state=0)
    received = []

    def plain(estimator, X_test, y_test):
        return estimator.score(X_test, y_test)

    def weighted(estimator, X_test, y_test, sample_weight=None):
        received.append(sample_weight)
        return estimator.score(X_test, y_test, sample_weight=sample_weight)

    def keywords(estimator, X_test, y_test, **kwargs):
        # **kwargs is no sample_weight parameter: GridSearchCV passes nothing to it
        assert "sample_weight" not in kwargs
        return estimator.score(X_test, y_test)

    folds = list(StratifiedKFold(3).split(X, y))
    for scoring in (plain, keywords):
        ensemble = KFoldEnsembleClassifier(tree, cv=3, combine="best", scoring=scoring)
        with pytest.warns(UserWarning, match="takes no sample_weight argument, so "
                          "KFoldEnsembleClassifier scores the held-out folds without"):
            ensemble.fit(X, y, sample_weight=weights)
        expected = [m.score(X[test], y[test]) for m, (_, test) in zip(ensemble.estimators_, folds,
                                                                         strict=True)]
        np.testing.assert_allclose(ensemble.fold_scores_, expected)

    ensemble = KFoldEnsembleClassifier(tree, cv=3, combine="best", scoring=weighted)
    ensemble.fit(X, y, sample_weight=weights)
    for got, (_, test) in zip(received, folds, strict=True):
        np.testing.assert_array_equal(got, weights[test])
    expected = [m.score(X[test], y[test], sample_weight=weights[test])
                for m, (_, test) in zip(ensemble.estimators_, folds, strict=True)]
    np.testing.assert_allclose(ensemble.fold_scores_, expected)

    # so do string scorers and the estimator's own score (scoring=None), without a warning
    for scoring in ("accuracy", None):
        ensemble = KFoldEnsembleClassifier(tree, cv=3, combine="best", scoring=scoring)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            ensemble.fit(X, y, sample_weight=weights)
        expected = [m.score(X[test], y[test], sample_weight=weights[test])
                    for m, (_, test) in zip(ensemble.estimators_, folds, strict=True)]
        np.testing.assert_allclose(ensemble.fold_scores_, expected)
        unweighted = [m.score(X[test], y[test])
                      for m, (_, test) in zip(ensemble.estimators_, folds, strict=True)]
        assert not np.allclose(ensemble.fold_scores_, unweighted)

    # a make_scorer scorer of a weighted metric gets them too
    ensemble = KFoldEnsembleClassifier(tree, cv=3, combine="best",
                                       scoring=make_scorer(f1_score))
    ensemble.fit(X, y, sample_weight=weights)
    expected = [f1_score(y[test], m.predict(X[test]), sample_weight=weights[test])
                for m, (_, test) in zip(ensemble.estimators_, folds, strict=True)]
    np.testing.assert_allclose(ensemble.fold_scores_, expected)


def test_pipeline_with_memory_keeps_its_fitted_steps(cancer, tmp_path):
    X, y = cancer
    pipe = Pipeline(
        [("scale", StandardScaler()), ("tree", DecisionTreeClassifier(random_state=0))],
        memory=str(tmp_path),
    )
    ensemble = KFoldEnsembleClassifier(pipe, cv=2).fit(X, y)
    for member in ensemble.estimators_:
        assert hasattr(member.named_steps["scale"], "mean_")
    assert ensemble.predict_proba(X).shape == (len(X), 2)


# ---------------------------------------------------------------------- scikit-learn tools


def test_inside_cross_val_score(cancer):
    X, y = cancer
    ensemble = KFoldEnsembleClassifier(small_classifier(epochs=10), cv=2)
    scores = cross_val_score(ensemble, X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.9)


@pytest.mark.slow
def test_inside_grid_search(diabetes):
    X, y = diabetes
    search = GridSearchCV(
        KFoldEnsembleRegressor(small_regressor(epochs=10), cv=2),
        {"combine": ["mean", "best"]},
        cv=2,
    ).fit(X, y)
    assert search.best_params_["combine"] in ("mean", "best")
    assert search.cv_results_["mean_test_score"].shape == (2,)
    assert len(search.best_estimator_.estimators_) == 2


# ---------------------------------------------------------------------- errors


def test_mean_needs_predict_proba(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="combine='mean' averages predict_proba, which SVC"):
        KFoldEnsembleClassifier(SVC(), cv=2).fit(X, y)
    ensemble = KFoldEnsembleClassifier(SVC(), cv=2, combine="best").fit(X, y)
    assert not hasattr(ensemble, "predict_proba")
    assert ensemble.score(X, y) > 0.9


def test_multilabel_targets_are_refused(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="binary and multiclass targets; y is 'multilabel"):
        KFoldEnsembleClassifier(DecisionTreeClassifier(), cv=2).fit(X, np.c_[y, 1 - y])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"combine": "vote"}, "'combine' parameter"),
        ({"refit_epochs": 0}, "'refit_epochs' parameter"),
        ({"cv": "five"}, "'cv' parameter"),
    ],
)
def test_invalid_parameters(cancer, params, match):
    X, y = cancer
    with pytest.raises(InvalidParameterError, match=match):
        KFoldEnsembleClassifier(DecisionTreeClassifier(), **params).fit(X, y)


# ---------------------------------------------------------------------- interrupted refits


def _interrupt_call(monkeypatch, name: str, at: int) -> list:
    """Replace ``skkeras.ensemble._kfold.<name>`` by a function raising KeyboardInterrupt at its
    ``at``-th call (Ctrl-C in a fold's fit or in the refit's)."""
    from skkeras.ensemble import _kfold

    calls, real = [], getattr(_kfold, name)

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == at:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_kfold, name, interrupted)
    return calls


@pytest.mark.parametrize(("combine", "name", "at"), [
    ("mean", "_fit_fold", 2),  # the second fold
    ("refit", "fit_with_validation", 1),  # the refit on all rows, after every fold
])
def test_interrupted_refit_keeps_the_previous_fit(monkeypatch, combine, name, at):
    """A refit on other classes interrupted (Ctrl-C) in a member's training: the ensemble is as
    it was, not the new classes_ (or new fold models) next to the previous members."""
    X = np.random.RandomState(0).randn(30, 3).astype(np.float32)
    labels = np.arange(30) % 3
    member = KerasMLPClassifier((4,), epochs=2, random_state=0)
    ensemble = KFoldEnsembleClassifier(member, cv=2, combine=combine, random_state=0)
    ensemble.fit(X, labels)
    proba, state = ensemble.predict_proba(X), dict(ensemble.__dict__)
    calls = _interrupt_call(monkeypatch, name, at)
    with pytest.raises(KeyboardInterrupt):
        ensemble.fit(X, labels + 5)
    assert len(calls) == at
    assert sorted(ensemble.__dict__) == sorted(state)
    assert [key for key in state if ensemble.__dict__[key] is not state[key]] == []
    np.testing.assert_array_equal(ensemble.predict_proba(X), proba)
    monkeypatch.undo()
    assert ensemble.fit(X, labels + 5).classes_.tolist() == [5, 6, 7]  # and it fits again


def test_refused_refit_keeps_the_previous_classes():
    X = np.random.RandomState(0).randn(20, 3)
    labels = np.arange(20) % 2
    ensemble = KFoldEnsembleClassifier(DecisionTreeClassifier(random_state=0), cv=2).fit(X, labels)
    predicted = ensemble.predict(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ensemble.fit(X, np.full(20, 7))
    assert ensemble.classes_.tolist() == [0, 1]
    np.testing.assert_array_equal(ensemble.predict(X), predicted)
