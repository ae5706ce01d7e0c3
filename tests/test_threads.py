"""Fits in several threads of one process (joblib's threading backend, ``OptunaSearchCV``'s
``n_jobs``, bootstrapping and k-fold ensembles in threads) give exactly the results of the same
fits one after the other, leave the global random generators as they found them, and do not
queue behind each other."""

from __future__ import annotations

import random
import threading

import keras
import numpy as np
import optuna
import pytest
from joblib import parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from skkeras import KerasClassifier, KerasMLPClassifier, _fastpath
from skkeras.ensemble import KFoldEnsembleClassifier
from skkeras.model_selection import OptunaSearchCV, bootstrap_evaluate

from ._builders import classifier_model

pytestmark = pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")


class _EveryEpoch(keras.callbacks.Callback):
    """A callback of the user's: the fit runs one compiled call per epoch."""


def _global_generator_states():
    return random.getstate(), np.random.get_state()


def _assert_same_generator_states(before, after):
    assert before[0] == after[0]
    for first, second in zip(before[1], after[1], strict=True):
        np.testing.assert_array_equal(first, second)


def _search(estimator, grid, X, y, *, threads: bool):
    search = GridSearchCV(estimator, grid, cv=3, n_jobs=2 if threads else 1)
    before = _global_generator_states()
    if threads:
        with parallel_config(backend="threading"):
            search.fit(X, y)
    else:
        search.fit(X, y)
    _assert_same_generator_states(before, _global_generator_states())
    return search


ESTIMATORS = {
    # shuffled batches, dropout and early stopping on a held-out split: every random draw a fit
    # makes; several seeds, so that networks are built in both threads at once
    "mlp": (
        KerasMLPClassifier((8,), dropout=0.2, epochs=6, early_stopping=True, patience=2),
        {"random_state": [0, 1, 2], "learning_rate": [3e-3, 1e-2]},
    ),
    # a builder of the user's: built for every fit (no remembered start)
    "builder": (
        KerasClassifier(classifier_model, hidden=8, optimizer="adam", epochs=4),
        {"random_state": [0, 1], "optimizer__learning_rate": [3e-3, 1e-2]},
    ),
    # a callback of the user's: one compiled call per epoch
    "callback": (
        KerasMLPClassifier((8,), epochs=4, callbacks=[_EveryEpoch]),
        {"random_state": [0, 1], "learning_rate": [3e-3, 1e-2]},
    ),
}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_a_threaded_grid_search_scores_exactly_as_a_sequential_one(name, iris):
    X, y = iris
    estimator, grid = ESTIMATORS[name]
    _fastpath.clear_templates()
    threaded = _search(estimator, grid, X, y, threads=True)
    _fastpath.clear_templates()
    sequential = _search(estimator, grid, X, y, threads=False)
    assert threaded.cv_results_["params"] == sequential.cv_results_["params"]
    for split in range(3):
        key = f"split{split}_test_score"
        np.testing.assert_array_equal(threaded.cv_results_[key], sequential.cv_results_[key])
    np.testing.assert_array_equal(
        threaded.predict_proba(X), sequential.predict_proba(X)
    )


def test_fits_through_keras_fit_in_threads_leave_the_global_generators_alone(iris):
    """Keras's own ``fit`` (compiled metrics here) seeds the global generators for its whole
    training, so such fits in threads overlap without nesting: the user's states still come
    back once they all end."""
    X, y = iris
    estimator = KerasClassifier(
        classifier_model, hidden=8, optimizer="adam", metrics=["accuracy"], epochs=2
    )
    search = _search(estimator, {"random_state": [0, 1, 2, 3]}, X, y, threads=True)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert "model_" in vars(search.best_estimator_)


def _busy_template(estimator, X, y):
    """Fit once so that the architecture has its training template, and return it."""
    _fastpath.clear_templates()
    clone(estimator).fit(X, y)
    (template,) = [
        template for (kind, _), template in _fastpath._templates.items() if kind == "train"
    ]
    return template


@pytest.mark.parametrize("callbacks", [None, [_EveryEpoch]], ids=["one-call", "per-epoch"])
def test_a_fit_does_not_wait_for_a_busy_template(callbacks, iris, monkeypatch):
    """While another fit holds the architecture's template, a fit trains on a copy of it, to
    the same result."""
    monkeypatch.setattr(_fastpath, "_MAX_COPIES", 2)  # copies are made up to the core count
    X, y = iris
    estimator = KerasMLPClassifier((8,), epochs=4, random_state=3, callbacks=callbacks)
    expected = clone(estimator).fit(X, y).predict_proba(X)
    template = _busy_template(estimator, X, y)
    fitted = []
    with template.lock:  # the other fit
        worker = threading.Thread(target=lambda: fitted.append(clone(estimator).fit(X, y)))
        worker.start()
        worker.join(timeout=120)
        assert not worker.is_alive(), "the fit waited for the busy template"
    np.testing.assert_allclose(fitted[0].predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    assert len(template.spares) == 1


def test_copies_of_a_template_are_bounded(iris, monkeypatch):
    """With no copy left to make (one per core), a fit waits for the busy template."""
    monkeypatch.setattr(_fastpath, "_MAX_COPIES", 1)
    X, y = iris
    estimator = KerasMLPClassifier((8,), epochs=4, random_state=3)
    template = _busy_template(estimator, X, y)
    fitted = []
    worker = threading.Thread(target=lambda: fitted.append(clone(estimator).fit(X, y)))
    with template.lock:
        worker.start()
        worker.join(timeout=3)
        assert worker.is_alive() and not fitted
    worker.join(timeout=120)
    assert fitted and template.spares == []


def test_optuna_trials_in_threads_score_as_one_after_the_other(iris):
    """``n_jobs=2`` runs the trials in two threads; with a seeded sampler (trial n's parameters
    come from the seed and n) each trial scores as it does with ``n_jobs=1``, including
    trials whose folds train in lockstep under a pruner."""
    X, y = iris
    results = {}
    for n_jobs in (1, 2):
        search = OptunaSearchCV(
            KerasMLPClassifier((8,), epochs=4, random_state=0),
            {"learning_rate": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)},
            n_trials=4,
            cv=3,
            sampler="random",
            pruner=optuna.pruners.NopPruner(),
            random_state=0,
            n_jobs=n_jobs,
        )
        before = _global_generator_states()
        search.fit(X, y)
        _assert_same_generator_states(before, _global_generator_states())
        trials = sorted(search.study_.trials, key=lambda trial: trial.number)
        results[n_jobs] = [(trial.params, trial.value, trial.intermediate_values)
                           for trial in trials]
    assert results[2] == results[1]


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]


@pytest.mark.parametrize(("n_jobs", "pruner"), [(1, None), (2, None), (1, "median")])
def test_optuna_trials_in_threads_share_the_cores_with_blas(iris, n_jobs, pruner):
    """Trials in ``n_jobs`` threads each get cores // n_jobs BLAS threads while the study runs
    (as joblib's process workers do), and a study pruning per epoch one BLAS thread; the BLAS
    settings are as before afterwards."""
    from joblib import cpu_count

    X, y = iris
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library that threadpoolctl can control")
    seen = []
    search = OptunaSearchCV(
        KerasMLPClassifier((4,), epochs=2, random_state=0),
        {"learning_rate": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)},
        n_trials=2, cv=2, n_jobs=n_jobs, refit=False, pruner=pruner,
        callbacks=[lambda study, trial: seen.append(_blas_threads())],
    )
    search.fit(X, y)
    if pruner is not None:
        expected = [1] * len(before)
    elif n_jobs == 1:
        expected = before
    else:
        expected = [max(1, cpu_count() // n_jobs)] * len(before)
    assert seen == [expected, expected]
    assert _blas_threads() == before


def test_bootstrap_and_kfold_ensembles_in_threads_equal_their_sequential_runs(iris):
    X, y = iris
    estimator = KerasMLPClassifier((8,), epochs=4, random_state=0)
    runs = {}
    for threads in (True, False):
        before = _global_generator_states()
        with parallel_config(backend="threading" if threads else "sequential"):
            result = bootstrap_evaluate(
                estimator, X, y, n_splits=4, random_state=0, n_jobs=2, verbose=0
            )
            ensemble = KFoldEnsembleClassifier(estimator, cv=3, n_jobs=2).fit(X, y)
        _assert_same_generator_states(before, _global_generator_states())
        runs[threads] = (result.scores, result.epochs, ensemble.predict_proba(X))
    for threaded, sequential in zip(runs[True], runs[False], strict=True):
        np.testing.assert_array_equal(threaded, sequential)
