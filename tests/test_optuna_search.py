"""OptunaSearchCV: scores, search spaces, per-epoch pruning, faults, storage, samplers, plots."""

from __future__ import annotations

import gc
import inspect
import os
import warnings

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.metrics import accuracy_score, get_scorer, make_scorer
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_validate,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor, TrainingDivergedError
from skkeras._fastpath import clear_templates
from skkeras.model_selection import (
    LayerPyramid,
    OptunaSearchCV,
    SearchSpace,
    default_search_space,
    save_optimization_history,
    save_param_importances,
)
from skkeras.model_selection._samplers import make_sampler


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype("float32"), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X.astype("float32"), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X).astype("float32"), (y - y.mean()) / y.std()


@pytest.fixture(scope="module")
def cancer_search(cancer):
    X, y = cancer
    space = {
        "learning_rate": FloatDistribution(3e-3, 3e-2, log=True),
        "hidden_layer_sizes": [(16,), (16, 8)],
    }
    estimator = KerasMLPClassifier(epochs=10, patience=None, random_state=0)
    return OptunaSearchCV(estimator, space, n_trials=3, cv=3, random_state=0).fit(X, y)


def _ridge_search(space=None, **params):
    X, y = load_iris(return_X_y=True)
    if space is None:
        space = {"alpha": FloatDistribution(1e-3, 1e3, log=True), "fit_intercept": [True, False]}
    defaults = {"n_trials": 4, "cv": 2, "random_state": 0}
    return OptunaSearchCV(RidgeClassifier(), space, **{**defaults, **params}).fit(X, y)


# ---------------------------------------------------------------------- scores and results
def test_breast_cancer_search_scores_and_results(cancer, cancer_search):
    X, y = cancer
    search = cancer_search
    assert search.best_score_ > 0.93
    assert search.n_trials_ == 3 and search.n_splits_ == 3
    results = search.cv_results_
    assert list(results["state"]) == ["COMPLETE"] * 3
    splits = np.column_stack([results[f"split{k}_test_score"] for k in range(3)])
    np.testing.assert_allclose(results["mean_test_score"], splits.mean(axis=1))
    np.testing.assert_allclose(results["std_test_score"], splits.std(axis=1))
    assert results["rank_test_score"][search.best_index_] == 1
    # scikit-learn's ranking: ties share the lowest rank
    expected_ranks = rankdata(-results["mean_test_score"], method="min")
    np.testing.assert_array_equal(results["rank_test_score"], expected_ranks)
    assert search.best_score_ == pytest.approx(results["mean_test_score"].max())
    assert (results["mean_fit_time"] > 0).all() and (results["mean_score_time"] > 0).all()
    assert list(results["n_epochs"]) == [30, 30, 30]  # patience=None: 10 epochs x 3 folds
    assert set(search.best_params_) == {"learning_rate", "hidden_layer_sizes"}
    assert search.best_params_["hidden_layer_sizes"] in [(16,), (16, 8)]
    assert list(results["param_learning_rate"]) == [p["learning_rate"] for p in results["params"]]
    # The Optuna parameters and the estimator parameters agree.
    assert search.best_trial_.params["learning_rate"] == search.best_params_["learning_rate"]
    assert search.best_trial_.params["hidden_layer_sizes"] == repr(
        search.best_params_["hidden_layer_sizes"]
    )
    # Delegation to the refitted best estimator.
    assert search.best_estimator_.get_params()["learning_rate"] == (
        search.best_params_["learning_rate"]
    )
    assert search.predict(X).shape == (len(X),)
    assert search.predict_proba(X).shape == (len(X), 2)
    np.testing.assert_array_equal(search.classes_, [0, 1])
    assert search.score(X, y) == pytest.approx(accuracy_score(y, search.predict(X)))
    assert search.score(X, y) > 0.95


def test_digits_pipeline_with_step_names(digits):
    X, y = digits
    pipeline = make_pipeline(
        StandardScaler(), KerasMLPClassifier((32,), epochs=8, patience=None, random_state=0)
    )
    space = {"kerasmlpclassifier__learning_rate": FloatDistribution(3e-3, 2e-2, log=True)}
    search = OptunaSearchCV(pipeline, space, n_trials=2, cv=2, random_state=0).fit(X, y)
    assert search.best_score_ > 0.9
    assert set(search.best_params_) == {"kerasmlpclassifier__learning_rate"}
    assert search.predict_proba(X[:5]).shape == (5, 10)
    assert search.n_features_in_ == 64


def test_feature_names_are_the_best_estimators_like_grid_search():
    pd = pytest.importorskip("pandas")
    rng = np.random.RandomState(0)
    X = rng.randn(40, 3).astype("float32")
    frame, y = pd.DataFrame(X, columns=["a", "b", "c"]), (X[:, 0] > 0).astype(int)
    estimator = KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0)
    search = OptunaSearchCV(estimator, {"learning_rate": [0.01]}, n_trials=1, cv=2)
    assert not hasattr(search, "feature_names_in_")  # not fitted
    grid = GridSearchCV(estimator, {"learning_rate": [0.01]}, cv=2).fit(frame, y)
    np.testing.assert_array_equal(search.fit(frame, y).feature_names_in_, grid.feature_names_in_)
    np.testing.assert_array_equal(search.feature_names_in_, ["a", "b", "c"])
    search.fit(X, y)  # refitted without names: none, as a new GridSearchCV
    assert not hasattr(GridSearchCV(estimator, {"learning_rate": [0.01]}, cv=2).fit(X, y),
                       "feature_names_in_")
    assert not hasattr(search, "feature_names_in_")
    with pytest.raises(AttributeError, match="fitted on X without feature names"):
        _ = search.feature_names_in_


@pytest.mark.slow
def test_default_search_space_is_used(cancer):
    X, y = cancer
    estimator = KerasMLPClassifier(epochs=4, patience=None, random_state=0)
    search = OptunaSearchCV(estimator, None, n_trials=2, cv=2, random_state=1).fit(X, y)
    expected = {"learning_rate", "dropout", "hidden_layer_sizes", "l2", "batch_size", "activation"}
    assert set(search.best_params_) == expected
    optuna_params = search.best_trial_.params
    pyramid = LayerPyramid()
    assert search.best_params_["hidden_layer_sizes"] == pyramid.layers(
        optuna_params["hidden_layer_sizes:first_units"], optuna_params["hidden_layer_sizes:shrink"]
    )
    assert 0 <= search.best_params_["dropout"] < 0.5
    assert search.best_score_ > 0.85
    assert search.best_estimator_.hidden_layer_sizes == search.best_params_["hidden_layer_sizes"]


# ---------------------------------------------------------------------- search spaces
@pytest.mark.parametrize(
    ("first", "shrink", "expected"),
    [(64, 0.5, (64, 32, 16, 8)), (16, 0.5, (16, 8)), (20, 1.0, (20, 20, 20, 20)), (9, 0.5, (9,))],
)
def test_layer_pyramid_stops_at_min_units_or_max_layers(first, shrink, expected):
    assert LayerPyramid(min_units=8, max_layers=4).layers(first, shrink) == expected


def test_layer_pyramid_rejects_bad_ranges():
    with pytest.raises(ValueError, match="min_units <= first_units"):
        LayerPyramid(first_units=(4, 64), min_units=8)
    with pytest.raises(ValueError, match="0 < shrink"):
        LayerPyramid(shrink=(0.5, 1.5))


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0, 0), {}, r"first_units must be a \(low, high\) pair of ints, such as \(16, 256\); "
                     r"got 0 \(int\)"),
        (((16.0, 256),), {}, r"first_units must be a \(low, high\) pair of ints.*; got "
                             r"\(16.0, 256\) \(tuple\)"),
        (((16, 256), 0.5), {}, r"shrink must be a \(low, high\) pair of numbers, such as "
                               r"\(0.25, 1.0\); got 0.5 \(float\)"),
        ((), {"shrink": ("0.5", 1)}, r"shrink must be a \(low, high\) pair of numbers"),
        ((), {"min_units": 8.5}, r"min_units must be an int; got 8.5 \(float\)"),
        ((), {"max_layers": None}, r"max_layers must be an int; got None \(NoneType\)"),
    ],
    ids=["first_units-int", "first_units-floats", "shrink-float", "shrink-string",
         "min_units-float", "max_layers-none"],
)
def test_layer_pyramid_rejects_bad_argument_types(args, kwargs, match):
    with pytest.raises(TypeError, match=r"LayerPyramid's " + match):
        LayerPyramid(*args, **kwargs)


def test_layer_pyramid_takes_numpy_ranges():
    pyramid = LayerPyramid(np.array([16, 64]), (np.float64(0.5), 1.0), min_units=np.int64(8))
    assert pyramid.first_units == (16, 64) and pyramid.layers(16, 0.5) == (16, 8)


def test_default_space_for_pipelines_can_be_extended():
    space = default_search_space(make_pipeline(StandardScaler(), KerasMLPRegressor()))
    assert "kerasmlpregressor__learning_rate" in space
    assert space["kerasmlpregressor__learning_rate"].log
    assert space["kerasmlpregressor__dropout"].high < 0.5
    space["kerasmlpregressor__l1"] = FloatDistribution(1e-6, 1e-2, log=True)
    distributions = SearchSpace(space).distributions
    assert "kerasmlpregressor__hidden_layer_sizes:first_units" in distributions
    assert "kerasmlpregressor__l1" in distributions
    # Each call returns a fresh copy.
    assert "kerasmlpregressor__l1" not in default_search_space(
        make_pipeline(StandardScaler(), KerasMLPRegressor())
    )


def test_no_default_space_for_a_model_builder():
    with pytest.raises(ValueError, match="KerasClassifier has no built-in search space"):
        default_search_space(KerasClassifier(model=lambda: None))


def test_search_space_maps_frozen_trials_back():
    space = SearchSpace({"hidden_layer_sizes": [(8,), (8, 4)], "alpha": IntDistribution(1, 3)})
    study = optuna.create_study()
    study.optimize(lambda trial: len(space.suggest(trial)["hidden_layer_sizes"]), n_trials=3)
    for trial in study.trials:
        assert space.suggest(trial)["hidden_layer_sizes"] == {"(8,)": (8,), "(8, 4)": (8, 4)}[
            trial.params["hidden_layer_sizes"]
        ]


def test_invalid_param_distributions():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(TypeError, match=r"param_distributions\['alpha'\] must be"):
        OptunaSearchCV(RidgeClassifier(), {"alpha": 3.0}, n_trials=1).fit(X, y)


# ---------------------------------------------------------------------- pruning
def _hopeless_after_two(trial):
    """Trials 0 and 1 learn; later trials have a learning rate too small to learn anything."""
    return {"learning_rate": 1e-2 if trial.number < 2 else 1e-9}


@pytest.fixture(scope="module")
def unpruned_digits(digits):
    X, y = digits
    estimator = KerasMLPClassifier((16,), epochs=6, patience=None, random_state=0)
    return OptunaSearchCV(
        estimator, _hopeless_after_two, n_trials=4, cv=2, refit=False, random_state=0
    ).fit(X, y)


def _keras_models() -> int:
    import keras

    gc.collect()
    return sum(isinstance(obj, keras.Model) for obj in gc.get_objects())


@pytest.mark.slow
@pytest.mark.parametrize(
    "pruner",
    [
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
        optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2),
    ],
    ids=["median", "successive_halving"],
)
def test_pruner_stops_hopeless_trials_early(digits, unpruned_digits, pruner):
    X, y = digits
    models_before = _keras_models()
    estimator = KerasMLPClassifier((16,), epochs=6, patience=None, random_state=0)
    search = OptunaSearchCV(
        estimator, _hopeless_after_two, n_trials=4, cv=2, pruner=pruner, refit=False,
        random_state=0,
    ).fit(X, y)
    results, baseline = search.cv_results_, unpruned_digits.cv_results_
    assert list(results["state"]) == ["COMPLETE", "COMPLETE", "PRUNED", "PRUNED"]
    assert list(baseline["state"]) == ["COMPLETE"] * 4
    assert list(baseline["n_epochs"]) == [12] * 4
    assert list(results["n_epochs"][:2]) == [12, 12]
    assert all(0 < epochs < 12 for epochs in results["n_epochs"][2:])
    assert results["n_epochs"].sum() < baseline["n_epochs"].sum()
    # Pruned trials score NaN and rank last; the search still has a best trial.
    assert np.isnan(results["mean_test_score"][2:]).all()
    assert list(results["rank_test_score"][2:]) == [3, 3]
    assert search.best_score_ > 0.85
    # One report per epoch: the fold-averaged held-out score, which at the last epoch is the
    # trial's value (no early stopping, so the final network is the last epoch's).
    for trial in search.study_.trials[:2]:
        assert sorted(trial.intermediate_values) == list(range(1, 7))
        assert trial.intermediate_values[6] == pytest.approx(trial.value)
    # Memory: no network of a finished trial survives the search (the fast path's cache of
    # compiled templates may drop an older one meanwhile).
    assert _keras_models() <= models_before


def test_pruned_trials_train_their_folds_from_one_built_network(cancer, monkeypatch):
    """Per-epoch pruning trains a trial's folds in lockstep. Only the first fit of a network
    builds it (here: skkeras otherwise takes the per-epoch path, building each, for the first
    few fits of an architecture): the other folds, the other trials of the same network and the
    refit start from its remembered state, and report and score exactly what building each
    would."""
    from skkeras import _fastpath, _reuse

    X, y = cancer
    monkeypatch.setattr(_fastpath, "_PER_EPOCH_FITS_FIRST", 0)
    builds = []
    build = KerasMLPClassifier._make_model

    def counted_build(self, *args, **kwargs):
        builds.append(self.batch_size)
        return build(self, *args, **kwargs)

    monkeypatch.setattr(KerasMLPClassifier, "_make_model", counted_build)

    def search():
        estimator = KerasMLPClassifier((8,), epochs=3, patience=None, random_state=0)
        return OptunaSearchCV(
            estimator, {"batch_size": [16, 32, 64]}, n_trials=3, cv=3, pruner="median",
            random_state=0, sampler="grid",
        ).fit(X, y)

    _reuse.forget_all()
    reused = search()
    assert len(builds) == 1
    builds.clear()
    monkeypatch.setattr(_reuse, "recall", lambda signature, seed: None)
    built = search()
    assert len(builds) == 3 * 3 + 1  # every fold, and the refit
    for trial, expected in zip(reused.study_.trials, built.study_.trials, strict=True):
        assert trial.params == expected.params
        assert sorted(trial.intermediate_values) == [1, 2, 3]
        for step, value in expected.intermediate_values.items():
            assert trial.intermediate_values[step] == pytest.approx(value, rel=1e-6)
        assert trial.value == pytest.approx(expected.value, rel=1e-6)
    np.testing.assert_allclose(
        reused.predict_proba(X), built.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def _small_model(hidden=8, meta=None):
    import keras

    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )


def test_pruning_search_over_a_model_builder_with_its_own_callbacks():
    import keras

    X, y = load_iris(return_X_y=True)
    estimator = KerasClassifier(
        model=_small_model,
        loss="sparse_categorical_crossentropy",
        epochs=3,
        callbacks={"nan": keras.callbacks.TerminateOnNaN},
        random_state=0,
    )
    search = OptunaSearchCV(
        estimator, {"model__hidden": [4, 8], "optimizer__learning_rate": [1e-2, 3e-2]}, n_trials=2,
        cv=2, pruner="median", random_state=0,
    ).fit(X.astype("float32"), y)
    assert list(search.cv_results_["state"]) == ["COMPLETE", "COMPLETE"]
    for trial in search.study_.trials:
        assert sorted(trial.intermediate_values) == [1, 2, 3]
    assert search.best_estimator_.callbacks == {"nan": keras.callbacks.TerminateOnNaN}
    assert set(search.best_params_) == {"model__hidden", "optimizer__learning_rate"}


def test_pruning_needs_a_keras_estimator():
    with pytest.warns(UserWarning, match="pruner='median' has no effect") as record:
        search = _ridge_search(pruner="median", n_trials=2)
    assert record[0].filename == __file__  # the search's fit call, not skkeras's code
    assert set(search.cv_results_["state"]) == {"COMPLETE"}


# ---------------------------------------------------------------------- faults
def _diverge_first(trial):
    """Trial 0 uses an absurd learning rate (NaN loss); the others a sane one."""
    return {"learning_rate": 1e12 if trial.number == 0 else 1e-2}


@pytest.mark.parametrize("pruner", [None, "median"])
def test_diverging_trial_is_failed_and_search_goes_on(diabetes, pruner):
    X, y = diabetes
    estimator = KerasMLPRegressor((8,), optimizer="sgd", epochs=3, patience=None, random_state=0)
    search = OptunaSearchCV(estimator, _diverge_first, n_trials=2, cv=2, pruner=pruner)
    with pytest.warns(FitFailedWarning, match="1 of 2 trials failed.*diverged") as record:
        search.fit(X, y)
    assert record[0].filename == __file__
    results = search.cv_results_
    assert list(results["state"]) == ["FAIL", "COMPLETE"]
    assert "TrainingDivergedError: Training diverged" in results["error"][0]
    assert results["error"][1] == ""
    assert np.isnan(results["mean_test_score"][0]) and results["rank_test_score"][0] == 2
    assert search.study_.trials[0].state == TrialState.FAIL
    assert search.best_params_ == {"learning_rate": 1e-2}
    assert np.isfinite(search.predict(X[:3])).all()


def test_error_score_is_recorded_for_failed_trials(diabetes):
    X, y = diabetes
    estimator = KerasMLPRegressor((8,), optimizer="sgd", epochs=2, patience=None, random_state=0)
    search = OptunaSearchCV(
        estimator, _diverge_first, n_trials=2, cv=2, error_score=-1.0, refit=False
    )
    with pytest.warns(FitFailedWarning):
        search.fit(X, y)
    assert search.cv_results_["split0_test_score"][0] == -1.0
    assert search.cv_results_["mean_test_score"][0] == -1.0


def _diverge_or_invalid(trial):
    """Trial 0 diverges, trial 1 has an invalid parameter: two different errors."""
    return {"learning_rate": 1e12} if trial.number == 0 else {"activation": "no-such"}


def test_all_trials_failing_differently_raises_a_summary(diabetes):
    X, y = diabetes
    estimator = KerasMLPRegressor((8,), optimizer="sgd", epochs=2, patience=None, random_state=0)
    search = OptunaSearchCV(estimator, _diverge_or_invalid, n_trials=2, cv=2)
    with pytest.raises(ValueError, match=r"No trial completed: 2 of 2 failed") as caught:
        search.fit(X, y)
    assert type(caught.value) is ValueError
    assert "TrainingDivergedError: Training diverged" in str(caught.value)
    assert "'activation' parameter" in str(caught.value)


def test_all_trials_failing_alike_reraises_their_error(diabetes):
    X, y = diabetes
    estimator = KerasMLPRegressor((8,), optimizer="sgd", epochs=2, patience=None, random_state=0)
    search = OptunaSearchCV(estimator, {"learning_rate": [1e12]}, n_trials=2, cv=2)
    with pytest.raises(TrainingDivergedError, match="Training diverged") as caught:
        search.fit(X, y)
    assert caught.value.__notes__ == [
        "OptunaSearchCV: all 2 trials of this fit failed with this error and none completed."
    ]
    assert [trial.state for trial in search.study_.trials] == [TrialState.FAIL] * 2


def test_failed_trial_networks_are_freed_once_a_trial_completes(diabetes):
    """The error kept in case every trial fails alike is dropped when one completes."""
    X, y = diabetes
    estimator = KerasMLPRegressor((8,), optimizer="sgd", epochs=2, patience=None, random_state=0)
    counts = []

    def count_networks(study, trial):
        clear_templates()  # the fast path's cached copies of an architecture are not trials'
        counts.append(_keras_models())

    clear_templates()
    before = _keras_models()
    search = OptunaSearchCV(
        estimator, _diverge_first, n_trials=2, cv=2, refit=False, callbacks=[count_networks]
    )
    with pytest.warns(FitFailedWarning, match="1 of 2 trials failed"):
        search.fit(X, y)
    # no more networks than before (a network of an earlier test, still held by a thread of
    # that test, may be freed meanwhile)
    assert counts[1] <= before


def test_bad_input_raises_the_estimators_own_error():
    """Object data that cannot be converted: the inner estimator's TypeError, not a summary."""
    X, y = load_iris(return_X_y=True)
    X = X.astype(object)
    X[0, 0] = {"not": "a number"}
    search = OptunaSearchCV(RidgeClassifier(), {"alpha": [0.1, 1.0]}, n_trials=3, cv=2)
    with pytest.raises(TypeError, match="must be a string or a real number, not 'dict'"):
        search.fit(X, y)
    assert len(search.study_.trials) == 3


def test_error_score_raise_stops_the_search(diabetes):
    X, y = diabetes
    estimator = KerasMLPRegressor((8,), optimizer="sgd", epochs=2, patience=None, random_state=0)
    search = OptunaSearchCV(
        estimator, {"learning_rate": [1e12]}, n_trials=3, cv=2, error_score="raise"
    )
    with pytest.raises(TrainingDivergedError):
        search.fit(X, y)


# ---------------------------------------------------------------------- storage
def test_sqlite_study_resumes_with_the_same_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = _ridge_search(storage=url, study_name="resume", n_trials=3)
    assert first.n_trials_ == 3
    second = _ridge_search(storage=url, study_name="resume", n_trials=2)
    assert second.n_trials_ == 5
    assert list(second.cv_results_["number"]) == [0, 1, 2, 3, 4]
    assert second.cv_results_["params"][:3] == first.cv_results_["params"]
    assert second.best_score_ >= first.best_score_
    # The continued study does not replay the first run's start-up points.
    alphas = [params["alpha"] for params in second.cv_results_["params"]]
    assert len(set(alphas)) == 5


class _RefusesTraining(RidgeClassifier):
    """Fails the test if a trial starts training: bad input must be refused before."""

    def fit(self, X, y, sample_weight=None):
        raise AssertionError("training started before the input was validated")


def _refused_search(**params):
    X, y = load_iris(return_X_y=True)
    space = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}
    search = OptunaSearchCV(_RefusesTraining(), space, n_trials=2, cv=2, error_score="raise",
                            **params)
    return search.fit(X, y)


@pytest.mark.parametrize(
    ("url", "error", "match"),
    [("notaurl", ValueError, r"storage URL 'notaurl' is not a database URL \(e\.g\. "
      r"sqlite:///study\.db"),
     ("nosuchdb://host/db", ValueError, r"storage URL nosuchdb://host/db names a database kind "
      r"SQLAlchemy does not know \('nosuchdb'"),
     ("sqlite:///{tmp}/missing/study.db", FileNotFoundError, r"names an SQLite file in the "
      r"folder .*missing, which does not exist; create it first")],
    ids=["malformed", "unknown-dialect", "missing-folder"],
)
def test_bad_storage_urls_are_refused_naming_them_before_any_trial(tmp_path, url, error, match):
    with pytest.raises(error, match=match):
        _refused_search(storage=url.format(tmp=tmp_path))
    assert not (tmp_path / "missing").exists()


def test_study_callbacks_that_are_not_callable_are_refused_before_any_trial():
    with pytest.raises(ValueError, match=r"'callbacks' parameter of OptunaSearchCV must hold "
                       r"callables taking \(study, trial\); callbacks\[1\] is 'stop' \(str\)"):
        _refused_search(callbacks=[lambda study, trial: None, "stop"])


def test_plain_postgresql_url_without_its_driver_says_to_name_psycopg2(monkeypatch):
    pytest.importorskip("psycopg2")
    import importlib.util

    from sqlalchemy.engine import make_url

    if make_url("postgresql://h/db").get_dialect().driver != "psycopg":
        pytest.skip("this SQLAlchemy's default PostgreSQL driver is psycopg2")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "psycopg" else real(name, *a, **k))
    with pytest.raises(ImportError, match=r"driver, psycopg, which is not installed; psycopg2 "
                                          r"is\. Name it in the URL: postgresql\+psycopg2://"):
        _ridge_search(storage="postgresql://someone:secret@127.0.0.1:9/nodb")


def test_minimizing_study_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'min.db'}"
    optuna.create_study(storage=url, study_name="min", direction="minimize")
    with pytest.raises(ValueError, match="'min' minimizes"):
        _ridge_search(storage=url, study_name="min")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scoring": "balanced_accuracy"},
         r"scoring is 'balanced_accuracy' now but \"the estimator's score method\" in the study"),
        ({"cv": 3}, r"the number of cv splits is 3 now but 2 in the study"),
        ({"space": {"alpha": FloatDistribution(1e-3, 1e3, log=True)}},
         r"the search space's parameters is \['alpha'\] now but \['alpha', 'fit_intercept'\]"),
    ],
)
def test_resuming_an_incomparable_study_is_refused(tmp_path, change, message):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _ridge_search(storage=url, study_name="s", n_trials=2)
    with pytest.raises(ValueError, match=rf"Study 's' cannot be continued by this search: "
                                         rf"{message}.*Use another study_name"):
        _ridge_search(storage=url, study_name="s", n_trials=2, **change)
    assert len(optuna.load_study(study_name="s", storage=url).trials) == 2  # no new trial
    renamed = _ridge_search(storage=url, study_name="other", n_trials=2, **change)
    assert renamed.n_trials_ == 2


def test_study_from_an_earlier_version_is_continued_and_ranked_consistently(
    tmp_path, monkeypatch
):
    import skkeras.model_selection._optuna_search as module

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    with monkeypatch.context() as patch:  # an skkeras that recorded nothing in the study
        patch.setattr(module, "_check_comparable", lambda study, expected: None)
        _ridge_search(storage=url, study_name="old", n_trials=2)
    assert optuna.load_study(study_name="old", storage=url).user_attrs == {}
    # Continued with cv=3 and a space that scores worse: the old trials have no third split
    # score, so their mean is NaN and they rank last; best_index_ must not point at them.
    bad_space = {"alpha": FloatDistribution(1e5, 1e6, log=True), "fit_intercept": [True, False]}
    search = _ridge_search(bad_space, storage=url, study_name="old", n_trials=2, cv=3)
    results = search.cv_results_
    assert search.n_trials_ == 4
    assert np.isnan(results["mean_test_score"][:2]).all()
    assert results["rank_test_score"][search.best_index_] == 1
    assert search.best_index_ in (2, 3)
    assert search.best_score_ == results["mean_test_score"][search.best_index_]
    assert search.best_trial_.number == results["number"][search.best_index_]
    assert search.best_params_ == results["params"][search.best_index_]
    # The continued study now records its settings, so a later mismatch is refused.
    assert optuna.load_study(study_name="old", storage=url).user_attrs["skkeras_n_splits"] == 3
    with pytest.raises(ValueError, match="number of cv splits is 2 now but 3"):
        _ridge_search(bad_space, storage=url, study_name="old", n_trials=1, cv=2)


class InterruptibleRidge(RidgeClassifier):
    """A classifier whose fit is stopped by Ctrl-C when ``interrupt`` is set."""

    def __init__(self, alpha=1.0, interrupt=False):
        super().__init__(alpha=alpha)
        self.interrupt = interrupt

    def fit(self, X, y, sample_weight=None):
        if self.interrupt:
            raise KeyboardInterrupt
        return super().fit(X, y, sample_weight=sample_weight)


def test_trial_stopped_by_ctrl_c_records_keyboard_interrupt(tmp_path):
    X, y = load_iris(return_X_y=True)
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    space = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}

    def search(interrupt):
        return OptunaSearchCV(InterruptibleRidge(interrupt=interrupt), space, n_trials=1, cv=2,
                              random_state=0, storage=url, study_name="kb")

    with pytest.raises(KeyboardInterrupt):
        search(True).fit(X, y)
    (trial,) = optuna.load_study(study_name="kb", storage=url).trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs["error"] == "KeyboardInterrupt"
    with pytest.warns(FitFailedWarning, match="First error: KeyboardInterrupt"):
        resumed = search(False).fit(X, y)
    assert list(resumed.cv_results_["error"]) == ["KeyboardInterrupt", ""]


def test_refit_interrupted_leaves_no_best_estimator(diabetes, monkeypatch):
    """Ctrl-C in the refit: the search keeps its trials' results and has no best_estimator_,
    neither an unfitted one nor the one of a previous fit (fitted with other parameters)."""
    X, y = diabetes[0][:80], diabetes[1][:80]
    space = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}
    search = OptunaSearchCV(Ridge(), space, n_trials=2, cv=2, random_state=0)
    real_fit = Ridge.fit

    def fit_interrupted_on_all_rows(self, X_fit, y_fit, *args, **kwargs):
        if len(X_fit) == len(X):  # the refit, not a fold
            raise KeyboardInterrupt
        return real_fit(self, X_fit, y_fit, *args, **kwargs)

    monkeypatch.setattr(Ridge, "fit", fit_interrupted_on_all_rows)
    with pytest.raises(KeyboardInterrupt):
        search.fit(X, y)
    assert "best_estimator_" not in vars(search) and "refit_time_" not in vars(search)
    assert len(search.study_.trials) == 2 and len(search.cv_results_["params"]) == 2
    assert set(search.best_params_) == {"alpha"}
    with pytest.raises(NotFittedError):
        search.predict(X)

    monkeypatch.undo()
    search.fit(X, y)
    assert search.best_estimator_ is not None
    monkeypatch.setattr(Ridge, "fit", fit_interrupted_on_all_rows)
    with pytest.raises(KeyboardInterrupt):
        search.set_params(random_state=1).fit(X, y)
    assert "best_estimator_" not in vars(search) and "refit_time_" not in vars(search)
    with pytest.raises(NotFittedError):
        search.predict(X)
    assert len(search.study_.trials) == 2  # the interrupted fit's own trials


_FIT_RESULTS = ("cv_results_", "n_trials_", "best_index_", "best_trial_", "best_params_",
                "best_score_", "best_estimator_", "refit_time_")


def _ridge_fitted_twice(second_fit, **params):
    """A fitted search whose second fit runs ``second_fit(search, X, y)``."""
    X, y = load_iris(return_X_y=True)
    space = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}
    search = OptunaSearchCV(RidgeClassifier(), space, n_trials=2, cv=2, random_state=0,
                            **params).fit(X, y)
    assert all(hasattr(search, name) for name in _FIT_RESULTS)
    earlier_study = search.study_
    second_fit(search, X, y)
    return search, earlier_study, X


def _assert_earlier_results_dropped(search, X):
    assert [name for name in _FIT_RESULTS if name in vars(search)] == []
    with pytest.raises(NotFittedError):
        search.predict(X)


def test_trials_interrupted_drop_an_earlier_fits_results():
    """Ctrl-C between trials: the search keeps this fit's study, with its finished trial, and
    no longer answers with the results (and best_estimator_) of an earlier fit."""

    def interrupted_after_first_trial(study, trial):
        raise KeyboardInterrupt

    def second_fit(search, X, y):
        search.set_params(callbacks=[interrupted_after_first_trial], random_state=1)
        with pytest.raises(KeyboardInterrupt):
            search.fit(X, y)

    search, earlier_study, X = _ridge_fitted_twice(second_fit)
    _assert_earlier_results_dropped(search, X)
    assert search.study_ is not earlier_study
    assert [trial.state for trial in search.study_.trials] == [TrialState.COMPLETE]


def test_no_complete_trial_drops_an_earlier_fits_results():
    """A second fit in which every trial fails raises, and leaves no model of the first fit
    to predict with."""

    def second_fit(search, X, y):
        X_nan = X.copy()
        X_nan[0, 0] = np.nan
        with pytest.raises(ValueError, match="trial"), warnings.catch_warnings():
            warnings.simplefilter("ignore", FitFailedWarning)
            search.fit(X_nan, y)

    search, _, X = _ridge_fitted_twice(second_fit)
    _assert_earlier_results_dropped(search, X)
    assert {trial.state for trial in search.study_.trials} == {TrialState.FAIL}


def test_search_refused_before_its_trials_keeps_an_earlier_fit(tmp_path):
    """A stored study refused as incomparable (another number of splits) is refused before
    any trial: the earlier fit's results and model stay."""
    url = f"sqlite:///{tmp_path / 'kept.db'}"

    def second_fit(search, X, y):
        with pytest.raises(ValueError, match="number of cv splits"):
            search.set_params(cv=3).fit(X, y)

    search, earlier_study, X = _ridge_fitted_twice(second_fit, storage=url, study_name="kept")
    assert search.study_ is earlier_study and len(search.study_.trials) == 2
    assert search.cv_results_["params"] and search.predict(X).shape == (len(X),)


@pytest.mark.parametrize("stored", [False, True])
def test_fresh_process_trials_interrupted_drop_an_earlier_fits_results(
    tmp_path, monkeypatch, stored
):
    """Trials in fresh processes interrupted: a stored study is kept as study_ (its finished
    trials are in the database); a temporary one is gone, and so is study_."""
    import skkeras.model_selection._optuna_search as module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    def second_fit(search, X, y):
        monkeypatch.setattr(module, "optimize_in_fresh_processes", interrupted)
        with pytest.raises(KeyboardInterrupt):
            search.set_params(trials_per_process=1).fit(X, y)

    storage = f"sqlite:///{tmp_path / 'fresh.db'}" if stored else None
    search, _, X = _ridge_fitted_twice(second_fit, storage=storage, study_name="fresh")
    _assert_earlier_results_dropped(search, X)
    if stored:
        assert search.study_.study_name == "fresh" and len(search.study_.trials) == 2
    else:
        assert "study_" not in vars(search)


# ---------------------------------------------------------------------- samplers
@pytest.mark.parametrize(
    ("name", "cls"),
    [
        (None, optuna.samplers.TPESampler),
        ("tpe", optuna.samplers.TPESampler),
        ("random", optuna.samplers.RandomSampler),
        ("cmaes", optuna.samplers.CmaEsSampler),
        ("gp", optuna.samplers.GPSampler),
        ("grid", optuna.samplers.GridSampler),
    ],
)
def test_samplers_by_name(name, cls):
    if name == "gp":
        pytest.importorskip("torch", reason="sampler='gp' needs torch")
    space = SearchSpace({"alpha": [0.1, 1.0], "fit_intercept": [True, False]})
    assert type(make_sampler(name, 0, space)) is cls


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes", "gp"])
def test_seeded_samplers_are_reproducible(sampler):
    if sampler == "gp":
        pytest.importorskip("torch", reason="sampler='gp' needs torch")
    X, y = load_diabetes(return_X_y=True)
    space = {"alpha": FloatDistribution(1e-3, 1e3, log=True), "tol": FloatDistribution(1e-4, 1e-2)}

    def run():
        search = OptunaSearchCV(Ridge(), space, n_trials=12, cv=2, sampler=sampler, random_state=3)
        return search.fit(X, y).cv_results_["params"]

    assert run() == run()


def test_seeded_stored_study_is_reproducible(tmp_path):
    # A fresh stored study with the same seed draws the same points as an in-memory one, in
    # every process; only trial numbers seed the draws.
    in_memory = _ridge_search(n_trials=5).cv_results_["params"]
    for name in ("first", "second"):
        url = f"sqlite:///{tmp_path / name}.db"
        stored = _ridge_search(storage=url, study_name="study", n_trials=5)
        assert stored.cv_results_["params"] == in_memory


def test_trial_seeds_do_not_depend_on_threads():
    # Random draws depend on the trial number only, so threads change nothing.
    serial = _ridge_search(sampler="random", n_trials=6).cv_results_
    threaded = _ridge_search(sampler="random", n_trials=6, n_jobs=2).cv_results_
    by_number = dict(zip(threaded["number"], threaded["params"], strict=True))
    assert [by_number[n] for n in serial["number"]] == list(serial["params"])
    assert len({params["alpha"] for params in serial["params"]}) == 6


def test_grid_sampler_covers_the_grid():
    space = {"alpha": [0.1, 10.0], "fit_intercept": [True, False]}
    search = _ridge_search(space, sampler="grid", n_trials=4)
    combos = {(p["alpha"], p["fit_intercept"]) for p in search.cv_results_["params"]}
    assert combos == {(0.1, True), (0.1, False), (10.0, True), (10.0, False)}


def test_grid_enumerates_log_int_and_rounds_float_steps():
    space = SearchSpace({
        "max_iter": IntDistribution(1, 8, log=True),
        "alpha": FloatDistribution(0.0, 1.0, step=0.1),
        "tol": FloatDistribution(0.05, 0.5, step=0.15),
        "n": IntDistribution(2, 10, step=4),
    })
    grid = space.grid()
    assert grid["max_iter"] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert grid["alpha"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert grid["tol"] == [0.05, 0.2, 0.35, 0.5]
    assert grid["n"] == [2, 6, 10]
    with pytest.raises(ValueError, match="cannot enumerate 'x'"):
        SearchSpace({"x": FloatDistribution(0.1, 1.0, log=True)}).grid()
    search = _ridge_search(
        {"alpha": FloatDistribution(0.1, 0.3, step=0.1),
         "max_iter": IntDistribution(99, 100, log=True)},
        sampler="grid", n_trials=6,
    )
    combos = {(p["alpha"], p["max_iter"]) for p in search.cv_results_["params"]}
    assert combos == {(a, m) for a in (0.1, 0.2, 0.3) for m in (99, 100)}


def test_sampler_instance_and_bad_name():
    X, y = load_iris(return_X_y=True)
    sampler = optuna.samplers.RandomSampler(seed=0)
    search = _ridge_search(sampler=sampler, n_trials=2)
    assert search.study_.sampler is sampler
    with pytest.raises(ValueError, match="'sampler' parameter of OptunaSearchCV must be"):
        OptunaSearchCV(RidgeClassifier(), {"alpha": [1.0]}, sampler="bayes").fit(X, y)
    with pytest.raises(ValueError, match="needs a stopping rule"):
        OptunaSearchCV(RidgeClassifier(), {"alpha": [1.0]}, n_trials=None).fit(X, y)


# ---------------------------------------------------------------------- progress and plots
def test_progress_bar_only_when_verbose(capsys):
    _ridge_search(n_trials=2, verbose=0)
    assert capsys.readouterr().err == ""
    _ridge_search(n_trials=2, verbose=1)
    err = capsys.readouterr().err
    assert "2/2" in err and "best=" in err


def test_plots_are_saved_as_png(tmp_path):
    search = _ridge_search(n_trials=6)
    for save, name in ((save_optimization_history, "h.png"), (save_param_importances, "i.png")):
        path = save(search, tmp_path / name)
        with open(path, "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="call fit first"):
        save_optimization_history(OptunaSearchCV(Ridge()), tmp_path / "x.png")


@pytest.mark.parametrize("save", [save_optimization_history, save_param_importances])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_plot_write_failing_midway_keeps_the_previous_file(save, error, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    search = _ridge_search(n_trials=6)
    path = tmp_path / "plot.svg"
    save(search, path)
    before = path.read_bytes()
    assert b"<svg" in before  # the format follows the suffix
    real_savefig = Figure.savefig

    def half_written(figure, fname, *args, **kwargs):
        if isinstance(fname, str | os.PathLike):
            with open(fname, "wb") as file:
                file.write(b"<svg half")
        else:
            fname.write(b"<svg half")
        raise error

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(type(error)):
        save(search, path)
    monkeypatch.setattr(Figure, "savefig", real_savefig)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["plot.svg"]  # no temporary file left behind


# ---------------------------------------------------------------------- scikit-learn searches
@pytest.mark.slow
def test_grid_and_randomized_search_still_work(cancer):
    X, y = cancer
    estimator = KerasMLPClassifier((8,), epochs=3, patience=None, random_state=0)
    grid = GridSearchCV(estimator, {"learning_rate": [1e-3, 1e-2]}, cv=2).fit(X, y)
    assert grid.best_score_ > 0.8 and grid.predict(X).shape == (len(X),)
    randomized = RandomizedSearchCV(
        estimator, {"dropout": [0.0, 0.2]}, n_iter=1, cv=2, random_state=0
    ).fit(X, y)
    assert randomized.best_score_ > 0.5


def test_search_is_a_classifier_like_its_estimator():
    from sklearn.base import is_classifier, is_regressor

    assert is_classifier(OptunaSearchCV(KerasMLPClassifier()))
    assert is_regressor(OptunaSearchCV(KerasMLPRegressor()))
    assert not hasattr(OptunaSearchCV(KerasMLPRegressor()), "predict_proba")
    assert not hasattr(OptunaSearchCV(KerasMLPClassifier(), refit=False), "predict")


def test_no_default_space_for_other_estimators():
    with pytest.raises(ValueError, match="RidgeClassifier has no built-in search space"):
        default_search_space(RidgeClassifier())


def test_categorical_distribution_given_directly():
    search = _ridge_search({"alpha": CategoricalDistribution([0.5, 2.0])}, n_trials=3)
    assert {p["alpha"] for p in search.cv_results_["params"]} <= {0.5, 2.0}


# ---------------------------------------------------------------------- trials_per_process
def _workers(search) -> list[str]:
    return [trial.user_attrs["worker"] for trial in search.study_.trials]


@pytest.mark.slow
def test_trials_run_in_fresh_processes_like_in_one():
    import os
    import socket

    here = _ridge_search(n_trials=5)
    recycled = _ridge_search(n_trials=5, trials_per_process=2)
    assert recycled.n_trials_ == 5
    assert isinstance(recycled.study_._storage, optuna.storages.InMemoryStorage)
    workers = _workers(recycled)
    # trials 0-1, 2-3 and 4 ran in three processes, none of them this one
    assert workers[0] == workers[1] != workers[2] == workers[3] != workers[4]
    assert f"{socket.gethostname()}:{os.getpid()}" not in workers
    assert set(_workers(here)) == {f"{socket.gethostname()}:{os.getpid()}"}
    # trial-seeded sampling and the shared splits make it the same search
    assert recycled.cv_results_["params"] == here.cv_results_["params"]
    np.testing.assert_allclose(
        recycled.cv_results_["mean_test_score"], here.cv_results_["mean_test_score"]
    )
    assert recycled.best_params_ == here.best_params_


@pytest.mark.slow
def test_trials_in_fresh_processes_continue_a_stored_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _ridge_search(storage=url, study_name="chunks", n_trials=2, trials_per_process=1)
    search = _ridge_search(storage=url, study_name="chunks", n_trials=2, trials_per_process=2)
    assert search.n_trials_ == 4
    assert len(set(_workers(search))) == 3
    assert list(search.cv_results_["number"]) == [0, 1, 2, 3]


@pytest.mark.slow
def test_keras_trials_in_fresh_processes_with_pruning(cancer):
    X, y = cancer
    estimator = KerasMLPClassifier((8,), epochs=4, patience=None, random_state=0)
    search = OptunaSearchCV(
        estimator, {"learning_rate": FloatDistribution(1e-3, 1e-1, log=True)}, n_trials=3,
        cv=2, pruner="median", random_state=0, trials_per_process=2,
    ).fit(X, y)
    assert search.n_trials_ == 3 and len(set(_workers(search))) == 2
    assert search.best_score_ > 0.8
    assert accuracy_score(y, search.predict(X)) > 0.8


@pytest.mark.slow
@pytest.mark.parametrize("trials_per_process", [None, 2])
def test_optuna_messages_only_when_verbose_with_or_without_worker_processes(
    caplog, capfd, trials_per_process
):
    """Optuna logs the study it creates (in memory: here, copied from the workers' database)
    at INFO: with verbose=0 nothing is printed, in this process or by the workers."""
    optuna.logging.enable_propagation()  # Optuna's records reach caplog (they are not printed)
    try:
        for verbose in (0, 2):
            caplog.clear()
            capfd.readouterr()
            with caplog.at_level("INFO"):
                _ridge_search(n_trials=2, trials_per_process=trials_per_process, verbose=verbose)
            logged = [r.getMessage() for r in caplog.records if r.name.startswith("optuna")]
            created = [message for message in logged if "A new study created" in message]
            if verbose:
                assert created  # shown with verbose >= 2
            else:
                assert logged == []
                assert capfd.readouterr() == ("", "")  # the workers print nothing either
    finally:
        optuna.logging.disable_propagation()


def test_trials_per_process_needs_a_storage_workers_can_reach():
    X, y = load_iris(return_X_y=True)
    search = OptunaSearchCV(
        RidgeClassifier(), {"alpha": [1.0]}, n_trials=2, trials_per_process=1,
        storage=optuna.storages.InMemoryStorage(),
    )
    with pytest.raises(ValueError, match=r"trials_per_process .*got InMemoryStorage"):
        search.fit(X, y)
    with pytest.raises(ValueError, match="'trials_per_process' parameter"):
        OptunaSearchCV(RidgeClassifier(), {"alpha": [1.0]}, trials_per_process=0).fit(X, y)


def test_a_full_collection_only_after_trials_that_built_a_network(iris, monkeypatch):
    """Trials free the Keras models their fits built with a full garbage collection; trials
    whose fits all start from a remembered state (here: only the batch size changes) build none
    and skip it."""
    from skkeras import _reuse
    from skkeras.model_selection import _objective

    X, y = iris
    collections = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(args) or real_collect())
    monkeypatch.setattr(_objective, "_last_collection", {"ended": float("-inf"), "took": 0.0})
    _reuse.forget_all()
    OptunaSearchCV(
        KerasMLPClassifier((5,), epochs=2, random_state=0),
        {"batch_size": CategoricalDistribution([16, 32, 64])}, n_trials=3, cv=2,
        pruner=optuna.pruners.NopPruner(), refit=False, random_state=0,
    ).fit(X, y)
    assert len(collections) == 1  # the first trial's first fold built the network


def test_full_collections_take_a_bounded_share_of_the_time(monkeypatch):
    from skkeras.model_selection import _objective

    collections = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(args) or real_collect())
    monkeypatch.setattr(_objective, "_last_collection", {"ended": float("-inf"), "took": 0.0})
    _objective._collect_garbage()
    assert len(collections) == 1
    took = _objective._last_collection["took"]
    assert took > 0
    _objective._collect_garbage()  # right after the last one: skipped
    assert len(collections) == 1
    # long enough after it: runs
    long_ago = -10 * took / _objective._COLLECTION_SHARE
    monkeypatch.setitem(_objective._last_collection, "ended", long_ago)
    _objective._collect_garbage()
    assert len(collections) == 2


# ---------------------------------------------------------------------- metadata routing
def _weighted_iris():
    X, y = load_iris(return_X_y=True)
    return X, y, np.where(y == 2, 10.0, 0.1)


def _requesting_logistic():
    return (
        LogisticRegression(C=0.01, max_iter=300)
        .set_fit_request(sample_weight=True)
        .set_score_request(sample_weight=False)
    )


def _split_scores(search) -> np.ndarray:
    results = search.cv_results_
    return np.array([results[f"split{k}_test_score"][0] for k in range(search.n_splits_)])


# ------------------------------------------------------- sample_weight without routing
def _weight_recorder(seen):
    """A weighted accuracy that records the weights it got (None when it got none)."""

    def recorded_accuracy(y_true, y_pred, sample_weight=None):
        seen.append(None if sample_weight is None else np.asarray(sample_weight).copy())
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    return recorded_accuracy


def _unweighted_accuracy(estimator, X_test, y_test):
    return accuracy_score(y_test, estimator.predict(X_test))


def _kwargs_accuracy(estimator, X_test, y_test, **kwargs):
    # **kwargs is not a sample_weight parameter: GridSearchCV passes it nothing
    assert "sample_weight" not in kwargs
    return accuracy_score(y_test, estimator.predict(X_test))


def _weighted_callable(estimator, X_test, y_test, sample_weight=None):
    return accuracy_score(y_test, estimator.predict(X_test), sample_weight=sample_weight)


def _grid_and_search(scoring, X, y, w):
    """GridSearchCV and OptunaSearchCV with one candidate on the same folds, both fitted with
    ``sample_weight=w`` (routing disabled), and the warnings each gave."""
    kwargs = dict(cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring=scoring)
    estimator = LogisticRegression(C=0.01, max_iter=300)
    fitted, caught = {}, {}
    for name, search in (
        ("grid", GridSearchCV(estimator, {"C": [0.01]}, **kwargs)),
        ("optuna", OptunaSearchCV(estimator, {"C": [0.01]}, n_trials=1, **kwargs)),
    ):
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            fitted[name] = search.fit(X, y, sample_weight=w)
        caught[name] = [str(r.message) for r in records if "sample_weight" in str(r.message)]
    return fitted["grid"], fitted["optuna"], caught


@pytest.mark.parametrize("scoring", ["accuracy", None, "make_scorer", "callable"])
def test_sample_weight_weights_fold_scores_like_grid_search_without_routing(scoring):
    X, y, w = _weighted_iris()
    seen = []
    if scoring == "make_scorer":
        scoring = make_scorer(_weight_recorder(seen))
    elif scoring == "callable":
        scoring = _weighted_callable
    grid, search, caught = _grid_and_search(scoring, X, y, w)
    np.testing.assert_allclose(_split_scores(search), _split_scores(grid))
    assert search.best_score_ == pytest.approx(grid.best_score_)
    assert caught == {"grid": [], "optuna": []}
    # the weights changed the scores: unweighted folds score otherwise
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    unweighted = [
        accuracy_score(y[test], LogisticRegression(C=0.01, max_iter=300)
                       .fit(X[train], y[train], sample_weight=w[train]).predict(X[test]))
        for train, test in folds
    ]
    assert not np.allclose(_split_scores(search), unweighted)
    if seen:  # GridSearchCV's 3 folds, then the search's: each got its fold's weights
        assert len(seen) == 6
        for got, (_, test) in zip(seen, folds * 2, strict=True):
            np.testing.assert_array_equal(got, w[test])
    # the refit is trained with the weights and scored by `score` without them, as by the grid
    np.testing.assert_allclose(search.best_estimator_.coef_, grid.best_estimator_.coef_)
    assert search.score(X, y) == pytest.approx(grid.score(X, y))


@pytest.mark.parametrize(
    "scoring",
    [_unweighted_accuracy, _kwargs_accuracy, make_scorer(lambda t, p: accuracy_score(t, p))],
)
def test_scorer_without_sample_weight_gets_none_and_warns_like_grid_search(scoring):
    X, y, w = _weighted_iris()
    grid, search, caught = _grid_and_search(scoring, X, y, w)
    np.testing.assert_allclose(_split_scores(search), _split_scores(grid))
    assert len(caught["grid"]) == 1
    (message,) = caught["optuna"]
    assert "OptunaSearchCV" in message and "takes no sample_weight" in message


def test_unweighted_scorer_warning_points_at_the_fit_call():
    X, y, w = _weighted_iris()
    search = OptunaSearchCV(RidgeClassifier(), {"alpha": [1.0]}, n_trials=1, cv=2,
                            scoring=_unweighted_accuracy, refit=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        search.fit(X, y, sample_weight=w)
    (warning,) = [w for w in caught if "takes no sample_weight" in str(w.message)]
    assert (warning.filename, warning.lineno) == (__file__, line)


@pytest.mark.slow
@pytest.mark.parametrize("trials_per_process", [None, 1])
def test_unweighted_scorer_warns_once_per_fit_in_the_calling_process(
    iris, capfd, trials_per_process
):
    """With trials in worker processes too, the warning that the scorer takes no sample_weight
    is given once, here, as without them: the workers (one per trial here) do not repeat it."""
    X, y = iris
    w = np.linspace(0.5, 2.0, len(y))
    search = OptunaSearchCV(
        KerasMLPClassifier((4,), epochs=1, random_state=0), {"batch_size": [32, 64]},
        n_trials=2, cv=2, scoring=_unweighted_accuracy, refit=False, random_state=0,
        trials_per_process=trials_per_process,
    )
    capfd.readouterr()
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        search.fit(X, y, sample_weight=w)
    caught = [str(r.message) for r in records if "takes no sample_weight" in str(r.message)]
    assert len(caught) == 1 and "OptunaSearchCV" in caught[0]
    assert search.n_trials_ == 2
    if trials_per_process is not None:
        assert len(set(_workers(search))) == 2
    # nothing printed by a worker process either
    assert "takes no sample_weight" not in capfd.readouterr().err


@pytest.mark.parametrize("trials_per_process", [None, 1])
def test_unweighted_scorer_warns_before_any_trial(iris, tmp_path, trials_per_process):
    X, y = iris
    url = f"sqlite:///{tmp_path / 'study.db'}"
    search = OptunaSearchCV(
        KerasMLPClassifier((4,), epochs=1, random_state=0), {"batch_size": [32]}, n_trials=1,
        cv=2, scoring=_unweighted_accuracy, storage=url, study_name="weights",
        trials_per_process=trials_per_process,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="takes no sample_weight"):
            search.fit(X, y, sample_weight=np.ones(len(y)))
    assert optuna.get_all_study_names(storage=url) == []  # not even a study was started


def test_pipeline_step_sample_weight_does_not_reach_the_scorer_like_grid_search():
    X, y, w = _weighted_iris()
    seen = []
    kwargs = dict(cv=3, scoring=make_scorer(_weight_recorder(seen)))
    pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=300))
    grid = GridSearchCV(pipe, {"logisticregression__C": [0.01]}, **kwargs)
    search = OptunaSearchCV(pipe, {"logisticregression__C": [0.01]}, n_trials=1, **kwargs)
    for fitted in (grid, search):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing to warn about: fit got no sample_weight
            fitted.fit(X, y, logisticregression__sample_weight=w)
    assert len(seen) == 6 and all(got is None for got in seen)
    np.testing.assert_allclose(_split_scores(search), _split_scores(grid))


def test_sample_weight_reaches_the_per_epoch_pruning_scores_without_routing(iris):
    X, y = iris
    w = np.linspace(0.5, 2.0, len(y))
    seen = []
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    OptunaSearchCV(
        KerasMLPClassifier((5,), epochs=2, random_state=0), {"batch_size": [32]}, n_trials=1,
        cv=cv, scoring=make_scorer(_weight_recorder(seen)), pruner="median", refit=False,
    ).fit(X, y, sample_weight=w)
    test_weights = [w[test] for _, test in cv.split(X, y)]
    # each fold scored after each of its 2 epochs, then once at its end
    assert len(seen) == 6
    for got in seen:
        assert any(got is not None and np.array_equal(got, t) for t in test_weights)


def test_routing_sends_sample_weight_to_estimator_and_scorer_like_grid_search():
    X, y, w = _weighted_iris()
    with config_context(enable_metadata_routing=True):
        scorer = get_scorer("accuracy").set_score_request(sample_weight=True)
        kwargs = dict(cv=3, scoring=scorer)
        grid = GridSearchCV(_requesting_logistic(), {"C": [0.01]}, **kwargs).fit(
            X, y, sample_weight=w
        )
        search = OptunaSearchCV(_requesting_logistic(), {"C": [0.01]}, n_trials=1, **kwargs)
        search.fit(X, y, sample_weight=w)
        np.testing.assert_allclose(_split_scores(search), _split_scores(grid))
        # the refit got the weights too
        np.testing.assert_allclose(search.best_estimator_.coef_, grid.best_estimator_.coef_)
        assert search.score(X, y, sample_weight=w) == pytest.approx(
            grid.score(X, y, sample_weight=w)
        )
        assert search.score(X, y) == pytest.approx(grid.score(X, y))
    # the weights change the objective: unweighted scores differ
    with config_context(enable_metadata_routing=True):
        unweighted = OptunaSearchCV(
            _requesting_logistic(), {"C": [0.01]}, n_trials=1, cv=3
        ).fit(X, y, sample_weight=w)
    assert not np.allclose(_split_scores(unweighted), _split_scores(grid))


def test_routing_inside_cross_validate_and_groups_to_the_splitter():
    X, y, w = _weighted_iris()
    groups = np.arange(len(y)) % 4
    outer = StratifiedKFold(2, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        scores = {}
        for name, search in (
            ("grid", GridSearchCV(_requesting_logistic(), {"C": [0.01]}, cv=GroupKFold(2))),
            ("optuna", OptunaSearchCV(_requesting_logistic(), {"C": [0.01]}, n_trials=1,
                                      cv=GroupKFold(2))),
        ):
            scores[name] = cross_validate(
                search, X, y, cv=outer, params={"sample_weight": w, "groups": groups},
                error_score="raise", return_estimator=True,
            )
        np.testing.assert_allclose(scores["optuna"]["test_score"], scores["grid"]["test_score"])
        for optuna_search, grid in zip(
            scores["optuna"]["estimator"], scores["grid"]["estimator"], strict=True
        ):
            np.testing.assert_allclose(_split_scores(optuna_search), _split_scores(grid))
        # metadata nobody requested is refused, as by GridSearchCV
        plain = OptunaSearchCV(LogisticRegression(), {"C": [0.01]}, n_trials=1, cv=2)
        with pytest.raises(ValueError, match="sample_weight"):
            plain.fit(X, y, sample_weight=w)


def test_routing_weights_reach_the_per_epoch_pruning_scores(iris):
    X, y = iris
    w = np.linspace(0.5, 2.0, len(y))
    seen = []

    def recorded_accuracy(y_true, y_pred, sample_weight=None):
        seen.append(None if sample_weight is None else np.asarray(sample_weight).copy())
        return accuracy_score(y_true, y_pred, sample_weight=sample_weight)

    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    with config_context(enable_metadata_routing=True):
        scorer = make_scorer(recorded_accuracy).set_score_request(sample_weight=True)
        network = KerasMLPClassifier((5,), epochs=2, random_state=0).set_fit_request(
            sample_weight=False
        )
        OptunaSearchCV(
            network, {"batch_size": [32]}, n_trials=1, cv=cv, scoring=scorer, pruner="median",
            refit=False,
        ).fit(X, y, sample_weight=w)
    test_weights = [w[test] for _, test in cv.split(X, y)]
    # each fold scored after each of its 2 epochs, then once at its end
    assert len(seen) == 6
    for got in seen:
        assert any(got is not None and np.array_equal(got, t) for t in test_weights)


@pytest.mark.slow
def test_routing_reaches_trials_in_fresh_processes():
    X, y, w = _weighted_iris()
    with config_context(enable_metadata_routing=True):
        scorer = get_scorer("accuracy").set_score_request(sample_weight=True)
        kwargs = dict(n_trials=1, cv=3, scoring=scorer)
        here = OptunaSearchCV(_requesting_logistic(), {"C": [0.01]}, **kwargs).fit(
            X, y, sample_weight=w
        )
        recycled = OptunaSearchCV(
            _requesting_logistic(), {"C": [0.01]}, trials_per_process=1, **kwargs
        ).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(_split_scores(recycled), _split_scores(here))


# ---------------------------------------------------------------------- non-finite, ranking
def test_non_finite_scores_are_kept_and_rank_last_like_grid_search():
    X, y = load_iris(return_X_y=True)
    first_fold = X[next(StratifiedKFold(3).split(X, y))[1]]

    def nan_on_first_fold_below_half(estimator, X_test, y_test):
        if estimator.C < 0.5 and np.array_equal(X_test, first_fold):
            return np.nan
        return estimator.score(X_test, y_test)

    space = {"C": [0.1, 1.0]}
    search = OptunaSearchCV(
        LogisticRegression(max_iter=300), space, n_trials=2, cv=3,
        scoring=nan_on_first_fold_below_half, sampler="grid", random_state=0,
    )
    with pytest.warns(UserWarning, match=r"1 of 2 trials have non-finite test scores") as record:
        search.fit(X, y)
    assert [w.filename for w in record if "non-finite" in str(w.message)] == [__file__]
    with pytest.warns(UserWarning, match="non-finite"):
        grid = GridSearchCV(LogisticRegression(max_iter=300), space, cv=3,
                            scoring=nan_on_first_fold_below_half).fit(X, y)
    results = search.cv_results_
    nan_row = int(np.flatnonzero(results["param_C"] == 0.1)[0])
    grid_row = int(np.flatnonzero(grid.cv_results_["param_C"] == 0.1)[0])
    assert results["state"][nan_row] == "FAIL"
    assert results["error"][nan_row] == "non-finite test score"
    splits = [f"split{k}_test_score" for k in range(3)]
    # its computed split scores are kept (not replaced by error_score), as by GridSearchCV
    np.testing.assert_array_equal(
        [results[key][nan_row] for key in splits],
        [grid.cv_results_[key][grid_row] for key in splits],
    )
    assert np.isnan(results["split0_test_score"][nan_row])
    assert np.isfinite(results["split1_test_score"][nan_row])
    assert results["rank_test_score"][nan_row] == 2
    assert grid.cv_results_["rank_test_score"][grid_row] == 2
    assert search.best_params_ == {"C": 1.0} == grid.best_params_


def test_all_trials_non_finite_raise_a_summary():
    X, y = load_iris(return_X_y=True)
    search = OptunaSearchCV(
        LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, n_trials=2, cv=2,
        scoring=lambda estimator, X, y: np.inf, error_score="raise",
    )
    with pytest.raises(ValueError, match=r"2 of 2 failed.*non-finite test score"):
        search.fit(X, y)


def test_failed_trials_rank_after_complete_ones_whatever_their_error_score():
    X, y = load_diabetes(return_X_y=True)
    search = OptunaSearchCV(
        Ridge(), {"alpha": [1.0, -1.0, 0.1]}, n_trials=3, cv=3, sampler="grid",
        random_state=0, scoring="neg_mean_squared_error", error_score=0.0,
    )
    with pytest.warns(FitFailedWarning, match="1 of 3 trials failed"):
        search.fit(X, y)
    results = search.cv_results_
    failed = results["state"] == "FAIL"
    assert failed.sum() == 1 and results["mean_test_score"][failed][0] == 0.0
    assert results["rank_test_score"][failed][0] == 3
    complete = ~failed
    np.testing.assert_array_equal(
        results["rank_test_score"][complete],
        rankdata(-results["mean_test_score"][complete], method="min"),
    )
    assert results["rank_test_score"][search.best_index_] == 1
    assert search.best_params_ == {"alpha": 0.1}


# ---------------------------------------------------------------------- like BaseSearchCV
def test_param_columns_have_grid_search_dtypes():
    X, y = load_iris(return_X_y=True)
    space = {"C": [0.1, 1.0], "fit_intercept": [True, False], "solver": ["lbfgs"],
             "max_iter": [300, 400]}
    search = OptunaSearchCV(LogisticRegression(), space, n_trials=3, cv=2, random_state=0)
    search.fit(X, y)
    grid = GridSearchCV(LogisticRegression(), space, cv=2).fit(X, y)
    for name in space:
        column = search.cv_results_[f"param_{name}"]
        assert isinstance(column, np.ma.MaskedArray)
        assert column.dtype == grid.cv_results_[f"param_{name}"].dtype, name
    assert search.cv_results_["param_C"].dtype == np.float64
    assert search.cv_results_["param_fit_intercept"].dtype == bool
    # sequences stay objects, one per row; absent parameters are masked
    def space_fn(trial):
        if trial.number == 0:
            return {"alpha": 1.0}
        return {"alpha": 2.0, "class_weight": {0: 1, 1: 2, 2: 1}}
    ridge = OptunaSearchCV(RidgeClassifier(), space_fn, n_trials=2, cv=2).fit(X, y)
    assert ridge.cv_results_["param_alpha"].dtype == np.float64
    weights = ridge.cv_results_["param_class_weight"]
    assert weights.dtype == object and list(weights.mask) == [True, False]
    single = OptunaSearchCV(
        RidgeClassifier(), lambda trial: {"alpha": 1.0}, n_trials=1, cv=2
    ).fit(X, y)
    assert single.cv_results_["param_alpha"].dtype == np.float64


def test_refit_false_explains_missing_best_estimator_attributes():
    X, y = load_iris(return_X_y=True)
    search = OptunaSearchCV(RidgeClassifier(), {"alpha": [1.0]}, n_trials=1, cv=2, refit=False)
    search.fit(X, y)
    for name in ("classes_", "n_features_in_", "feature_names_in_"):
        with pytest.raises(AttributeError, match=f"refit=False. {name} is available only"):
            getattr(search, name)
        assert not hasattr(search, name)
    assert not hasattr(search, "refit_time_")  # as GridSearchCV(refit=False)
    assert not hasattr(GridSearchCV(RidgeClassifier(), {"alpha": [1.0]}, refit=False).fit(X, y),
                       "refit_time_")


def test_score_samples_and_inverse_transform_are_delegated():
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KernelDensity

    X, _ = load_iris(return_X_y=True)
    density = OptunaSearchCV(KernelDensity(), {"bandwidth": [0.5, 1.0]}, n_trials=2, cv=2,
                             sampler="grid").fit(X)
    grid = GridSearchCV(KernelDensity(), {"bandwidth": [0.5, 1.0]}, cv=2).fit(X)
    assert density.best_params_ == grid.best_params_
    np.testing.assert_allclose(density.score_samples(X[:5]), grid.score_samples(X[:5]))
    pca = OptunaSearchCV(PCA(), {"n_components": [2]}, n_trials=1, cv=2).fit(X)
    np.testing.assert_allclose(
        pca.inverse_transform(pca.transform(X[:5])),
        pca.best_estimator_.inverse_transform(pca.best_estimator_.transform(X[:5])),
    )
    ridge = OptunaSearchCV(RidgeClassifier(), {"alpha": [1.0]}, n_trials=1, cv=2)
    assert not hasattr(ridge, "score_samples") and not hasattr(ridge, "inverse_transform")
    no_refit = OptunaSearchCV(KernelDensity(), {"bandwidth": [0.5]}, n_trials=1, cv=2,
                              refit=False).fit(X)
    assert not hasattr(no_refit, "score_samples")  # no best_estimator_, as in GridSearchCV
