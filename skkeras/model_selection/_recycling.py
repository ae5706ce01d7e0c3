"""Trials in fresh worker processes, a few at a time, so that a long search's memory is bounded.

TensorFlow keeps some native memory for every new architecture it traces, for as long as the
process lives. ``OptunaSearchCV(trials_per_process=k)`` therefore runs its trials in a sequence
of spawned processes, ``k`` trials each, one after the other, on one stored study: each process
starts fresh and its memory goes back to the system when it ends. The search itself (sampler,
pruner, results) is unchanged: the workers share the study exactly as distributed workers do.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import optuna
from sklearn import config_context, get_config
from sklearn.base import clone

from .._scoring import unweighted_scores_warning_silenced

#: Study name used when the search has none and its study lives in a temporary database.
DEFAULT_STUDY_NAME = "OptunaSearchCV"


def check_recyclable_storage(storage) -> None:
    """Fail early if worker processes cannot reach ``storage``."""
    if storage is None or isinstance(storage, str | optuna.storages.RDBStorage):
        return
    raise ValueError(
        "trials_per_process runs trials in other processes, which must reach the study: "
        "storage must be None (a temporary SQLite database is used), a database URL or an "
        f"optuna RDBStorage; got {type(storage).__name__}."
    )


def optimize_in_fresh_processes(search, X, y, splits, fit_params: dict) -> optuna.Study:
    """Run ``search``'s trials in fresh processes; return the finished study, loaded here.

    Every worker gets the same ``splits`` (computed once, here). With ``storage=None`` the
    study lives in a temporary SQLite database while the workers run and is copied into memory
    at the end, so the result looks like an in-memory search.
    """
    with _shared_storage(search.storage) as url:
        name = search.study_name or DEFAULT_STUDY_NAME
        _run_workers(search, url, name, X, y, splits, fit_params)
        if search.storage is not None:
            return optuna.load_study(study_name=name, storage=url)
        memory = optuna.storages.InMemoryStorage()
        optuna.copy_study(from_study_name=name, from_storage=url, to_storage=memory)
        return optuna.load_study(study_name=name, storage=memory)


@contextmanager
def _shared_storage(storage):
    if storage is None:
        with tempfile.TemporaryDirectory(prefix="skkeras-study-") as folder:
            yield f"sqlite:///{os.path.join(folder, 'study.db')}"
    elif isinstance(storage, str):
        yield storage
    else:
        yield storage.url


def _run_workers(search, url: str, name: str, X, y, splits, fit_params: dict) -> None:
    deadline = None if search.timeout is None else time.monotonic() + search.timeout
    remaining = search.n_trials
    context = multiprocessing.get_context("spawn")
    # a spawned process starts with scikit-learn's default configuration
    routing = bool(get_config().get("enable_metadata_routing", False))
    while remaining is None or remaining > 0:
        timeout = None if deadline is None else deadline - time.monotonic()
        if timeout is not None and timeout <= 0:
            break
        chunk = search.trials_per_process
        if remaining is not None:
            chunk = min(chunk, remaining)
        worker = clone(search).set_params(
            n_trials=chunk, timeout=timeout, trials_per_process=None, refit=False,
            storage=url, study_name=name, cv=splits,
        )
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            pool.submit(_fit_worker, worker, X, y, fit_params, routing).result()
        if remaining is not None:
            remaining -= chunk


def _fit_worker(search, X, y, fit_params: dict, routing: bool = False) -> None:
    """In the worker process: run the chunk of trials on the shared study.

    The search that started the workers has warned about unweighted scores (a scorer without
    ``sample_weight``) once, in its own process, before any trial: the workers do not repeat it.
    """
    with config_context(enable_metadata_routing=routing), unweighted_scores_warning_silenced():
        search.fit(X, y, **fit_params)
