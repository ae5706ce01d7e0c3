"""GridSearchCV and RandomizedSearchCV over skkeras estimators on a dask.distributed cluster.

One LocalCluster with two single-threaded worker processes serves the module: estimators and
data are pickled to other processes, as on a real cluster (a threads-only cluster would pass
them by reference). Each worker imports TensorFlow once, on its first fit.
"""

from __future__ import annotations

import os
import re

import joblib
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster, get_task_stream
from scipy.stats import loguniform
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skkeras import KerasClassifier, KerasMLPClassifier

from ._builders import seeded_classifier_model

pytestmark = pytest.mark.slow

_BATCH = re.compile(r"batch_of__fit_and_score_(\d+)_calls")


@pytest.fixture(scope="module")
def client():
    # Every port chosen by the OS (the scheduler's HTTP server too, 8787 otherwise), so that
    # clusters of parallel test runs or of other tests here do not collide.
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            scheduler_port=0,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype("float32"), y


def _fit_on_dask(client, search, X, y) -> list[dict]:
    """Fit ``search`` with joblib's dask backend; the scheduler's record of the tasks run."""
    with get_task_stream(client) as stream, joblib.parallel_backend("dask", client=client):
        search.fit(X, y)
    return stream.data


def _assert_fits_ran_on_workers(client, tasks, n_fits: int) -> None:
    """Every cross-validation fit ran as a dask task, in a worker process other than this one."""
    calls = [int(match.group(1)) for task in tasks if (match := _BATCH.match(str(task["key"])))]
    assert sum(calls) == n_fits
    worker_pids = client.run(os.getpid)
    assert {task["worker"] for task in tasks} <= set(worker_pids)
    assert os.getpid() not in worker_pids.values()


def test_grid_search_over_an_mlp_runs_on_the_dask_workers(client, cancer):
    X, y = cancer
    estimator = KerasMLPClassifier((8,), epochs=5, patience=None, random_state=0)
    grid = {"learning_rate": [1e-2, 3e-2]}
    local = GridSearchCV(estimator, grid, cv=2).fit(X, y)
    search = GridSearchCV(estimator, grid, cv=2)
    tasks = _fit_on_dask(client, search, X, y)

    _assert_fits_ran_on_workers(client, tasks, n_fits=4)
    assert search.cv_results_["params"] == local.cv_results_["params"]
    # Close to the local run, not equal: Keras draws the seeds of the MLP's initializers from
    # Python's global `random`, which the worker's event-loop thread draws from too.
    scores = search.cv_results_["mean_test_score"]
    local_scores = local.cv_results_["mean_test_score"]
    assert (scores > 0.9).all() and (local_scores > 0.9).all()
    np.testing.assert_allclose(scores, local_scores, atol=0.03)
    # The refit ran here, on the whole data.
    assert search.best_estimator_.n_features_in_ == X.shape[1]
    assert (search.predict(X) == y).mean() > 0.9


def test_randomized_search_on_dask_equals_n_jobs_1_with_seeded_weights(client, cancer):
    X, y = cancer
    estimator = KerasClassifier(
        seeded_classifier_model, hidden=8, optimizer="adam", epochs=5, random_state=0
    )
    distributions = {"optimizer__learning_rate": loguniform(1e-3, 3e-2), "hidden": [4, 8]}
    local = RandomizedSearchCV(estimator, distributions, n_iter=3, cv=2, random_state=0)
    local.fit(X, y)
    search = RandomizedSearchCV(estimator, distributions, n_iter=3, cv=2, random_state=0)
    tasks = _fit_on_dask(client, search, X, y)

    _assert_fits_ran_on_workers(client, tasks, n_fits=6)
    assert search.cv_results_["params"] == local.cv_results_["params"]
    for key in ("split0_test_score", "split1_test_score", "rank_test_score"):
        np.testing.assert_array_equal(search.cv_results_[key], local.cv_results_[key])
    assert search.best_score_ == local.best_score_ > 0.9
    np.testing.assert_array_equal(search.predict_proba(X), local.predict_proba(X))


def test_a_failing_fit_raises_its_own_error_through_dask(client, cancer):
    X, y = cancer
    search = GridSearchCV(
        KerasMLPClassifier(epochs=1), {"dropout": [1.5]}, cv=2, error_score="raise"
    )
    with (
        pytest.raises(InvalidParameterError, match="'dropout' parameter of KerasMLPClassifier"),
        joblib.parallel_backend("dask", client=client),
    ):
        search.fit(X, y)


@pytest.mark.parametrize("threads, runs_on_dask", [(1, False), (2, True)])
def test_joblib_needs_two_cluster_threads_to_use_dask(threads, runs_on_dask):
    """With one thread in the whole cluster, joblib runs every fit in the calling process."""
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.1, 1.0]}, cv=2)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=threads, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        tasks = _fit_on_dask(client, search, X, y)
    assert len(tasks) == (4 if runs_on_dask else 0)
    assert search.best_params_ == {"C": 1.0}
