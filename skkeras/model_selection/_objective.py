"""The objective of one trial: sample parameters, cross-validate, record the results."""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import optuna
from sklearn.base import clone
from sklearn.utils import _safe_indexing

#: Trial user attributes written by the objective (read back to build ``cv_results_``).
SPLIT_SCORES, FIT_TIMES, SCORE_TIMES, EPOCHS, ERROR, WORKER = (
    "split_test_scores",
    "fit_times",
    "score_times",
    "epochs",
    "error",
    "worker",
)

#: The ``error`` of a trial that ran through but whose mean test score is not finite: it is
#: recorded as FAIL (Optuna refuses a NaN objective), with its split scores kept.
NON_FINITE = "non-finite test score"


@dataclass
class FoldRun:
    """One fold of a trial: its estimator, data and what it produced."""

    estimator: object
    fit: object  # callable() -> None, trains ``estimator`` on the fold's training part
    score: object  # callable() -> float, scores ``estimator`` on the fold's held-out part
    fit_time: float = 0.0
    score_time: float = 0.0
    epochs: int = 0
    final_score: float | None = None
    last_score: float | None = None
    started: bool = False
    channel: _Channel = field(default_factory=lambda: _Channel())


class _Channel:
    """The two queues between a fold's training thread and the coordinator."""

    def __init__(self):
        self.to_fold: queue.SimpleQueue = queue.SimpleQueue()
        self.from_fold: queue.SimpleQueue = queue.SimpleQueue()


class Failures:
    """Whether every trial an objective ran failed with one same error, and that error.

    Thread-safe (trials may run in threads). The first error is kept only while every trial so
    far failed alike: its traceback holds that trial's networks, so it is dropped as soon as a
    trial completes, is pruned or fails differently.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.n_failed = 0
        self._alike = True
        self._error: Exception | None = None

    def failed(self, error: Exception) -> None:
        with self._lock:
            self.n_failed += 1
            if not self._alike:
                return
            if self._error is None:
                self._error = error
            elif _signature(error) != _signature(self._error):
                self._forget()

    def ended_otherwise(self) -> None:
        """A trial completed or was pruned."""
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        self._alike, self._error = False, None

    def common_error(self) -> Exception | None:
        """The error every trial failed with, when all failed alike (same type and message)."""
        with self._lock:
            return self._error if self._alike else None


def _signature(error: Exception) -> tuple[type, str]:
    return type(error), str(error)


def keras_estimator(estimator):
    """The skkeras estimator that trains a network: ``estimator`` or a pipeline's last step."""
    from .._base import BaseKerasEstimator

    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator if isinstance(estimator, BaseKerasEstimator) else None


class Objective:
    """Cross-validated score of the estimator with a trial's parameters (greater is better)."""

    def __init__(
        self, *, estimator, space, X, y, splits, scorer, fit_params, prune, score_params=None
    ):
        self.estimator = estimator
        self.space = space
        self.X, self.y = X, y
        self.splits = splits
        self.scorer = scorer
        self.fit_params = fit_params
        self.score_params = score_params or {}
        self.prune = prune
        self.trains_networks = keras_estimator(estimator) is not None
        self.failures = Failures()

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr(WORKER, f"{socket.gethostname()}:{os.getpid()}")
        try:
            value = self._evaluate(trial)
            self.failures.ended_otherwise()
            if not np.isfinite(value):
                # Optuna fails a NaN objective ("unknown" reason) and would rank +inf first:
                # fail it here with the reason; its split scores are kept (see _record).
                trial.set_user_attr(ERROR, NON_FINITE)
                return float("nan")
            return value
        except optuna.TrialPruned:
            self.failures.ended_otherwise()
            raise
        except Exception as error:
            trial.set_user_attr(ERROR, f"{type(error).__name__}: {error}")
            self.failures.failed(error)
            raise
        except KeyboardInterrupt:
            # Optuna marks the trial FAIL and re-raises; say why (best effort: the storage may
            # be what was interrupted).
            with contextlib.suppress(Exception):
                trial.set_user_attr(ERROR, "KeyboardInterrupt")
            raise

    def _evaluate(self, trial) -> float:
        params = self.space.suggest(trial)
        folds = [self._fold(params, train, test) for train, test in self.splits]
        try:
            if self.prune:
                from ._pruning import run_in_lockstep

                run_in_lockstep(folds, trial)
            else:
                for fold in folds:
                    _run_plain(fold)
        finally:
            _record(trial, folds)
            if self.trains_networks:
                _free_networks(folds)
        return float(np.mean([fold.final_score for fold in folds]))

    def _fold(self, params, train, test):
        estimator = clone(self.estimator).set_params(**params)
        X_train, X_test = _safe_indexing(self.X, train), _safe_indexing(self.X, test)
        y_train = None if self.y is None else _safe_indexing(self.y, train)  # unsupervised
        y_test = None if self.y is None else _safe_indexing(self.y, test)
        n_samples = _num_samples(self.X)
        fit_params = _index_fit_params(self.fit_params, train, n_samples)
        score_params = _index_fit_params(self.score_params, test, n_samples)

        def fit():
            estimator.fit(X_train, y_train, **fit_params)

        def score():
            return self.scorer(estimator, X_test, y_test, **score_params)

        fold = FoldRun(estimator=estimator, fit=fit, score=score)
        if self.prune:
            _add_reporter(estimator, fold)
        return fold


def _free_networks(folds) -> None:
    """Free the Keras models the trial's fits built: they hold reference cycles and would
    otherwise pile up across trials until Python's next full collection, which comes rarely in
    a process holding TensorFlow's many objects (no ``clear_session``: it would reset the Keras
    state of models still in use elsewhere).

    Fits from a remembered start (a trial's later folds, and every fold of trials that change
    only training parameters of a seeded network) build no model: nothing is collected then.
    """
    if any(keras_estimator(fold.estimator)._has_built_model() for fold in folds):
        _collect_garbage()


#: The most of a study's time that full garbage collections may take. One takes about 0.3 s
#: once TensorFlow is loaded (digits, 16 trials of one MLP: 4.8 s of a 13.8 s study when every
#: trial collected), more than a small trial's training.
_COLLECTION_SHARE = 0.1
_last_collection = {"ended": float("-inf"), "took": 0.0}


def _collect_garbage() -> None:
    """A full collection, unless the last one ended too recently for the time they take to
    stay under :data:`_COLLECTION_SHARE` (the models of the trials in between are freed by the
    next one)."""
    since = time.perf_counter() - _last_collection["ended"]
    if since < _last_collection["took"] * (1 / _COLLECTION_SHARE - 1):
        return
    start = time.perf_counter()
    gc.collect()
    end = time.perf_counter()
    _last_collection.update(ended=end, took=end - start)


def _run_plain(fold) -> None:
    begin = time.perf_counter()
    fold.fit()
    fold.fit_time = time.perf_counter() - begin
    begin = time.perf_counter()
    fold.final_score = float(fold.score())
    fold.score_time = time.perf_counter() - begin
    fold.epochs = int(getattr(keras_estimator(fold.estimator), "n_iter_", 0) or 0)


def _add_reporter(estimator, fold) -> None:
    from ._pruning import EpochReporter

    inner = keras_estimator(estimator)
    reporter = EpochReporter(fold.channel, fold.score)
    callbacks = inner.callbacks
    if isinstance(callbacks, dict):
        callbacks = {**callbacks, "skkeras_pruning": reporter}
    else:
        callbacks = [*(callbacks or []), reporter]
    inner.set_params(callbacks=callbacks)


def _record(trial, folds) -> None:
    done = all(fold.final_score is not None for fold in folds)
    if done:
        trial.set_user_attr(SPLIT_SCORES, [fold.final_score for fold in folds])
        trial.set_user_attr(SCORE_TIMES, [fold.score_time for fold in folds])
    trial.set_user_attr(FIT_TIMES, [fold.fit_time for fold in folds])
    trial.set_user_attr(EPOCHS, [fold.epochs for fold in folds])


def _num_samples(X) -> int:
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _index_fit_params(fit_params: dict, indices, n_samples: int) -> dict:
    """Index per-sample fit parameters (such as ``sample_weight``) like ``X``."""
    result = {}
    for key, value in fit_params.items():
        per_sample = hasattr(value, "__len__") and not isinstance(value, str | dict | tuple)
        if per_sample and _num_samples(value) == n_samples:
            value = _safe_indexing(value, indices)
        result[key] = value
    return result
