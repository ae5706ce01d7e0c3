"""A stand-in for a library's grid search: the most speed-up joblib allows a search of that size.

``GridSearchCV(n_jobs=2)`` cannot be faster than its fits allow: the refit on the whole
training set runs in the calling process after the search, joblib starts and ends each call,
and each task waits a few milliseconds between fits. :class:`StandIn` learns nothing; each of
its fits and scores only keeps a core busy (a pure-Python loop) for as long as the measured
library's took. The same search over it, with ``n_jobs=1`` and ``n_jobs=2``, shows the
speed-up that search would have if the library added no cost of its own to running in
worker processes.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin


def _keep_busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def seconds_of(search) -> dict:
    """The durations a fitted ``GridSearchCV`` measured: ``{"candidates": [(params, fit
    seconds, score seconds), ...], "refit": seconds}`` (means over the folds)."""
    results = search.cv_results_
    return {
        "candidates": [
            (params, float(fit), float(score))
            for params, fit, score in zip(
                results["params"], results["mean_fit_time"], results["mean_score_time"],
                strict=True,
            )
        ],
        "refit": float(search.refit_time_),
    }


class StandIn(ClassifierMixin, BaseEstimator):
    """Spends the measured time of each fit and score, and learns nothing.

    Parameters
    ----------
    seconds : dict
        :func:`seconds_of` a search of the library stood in for, over the same grid.
    n_refit_rows : int
        Rows of the whole training set: a fit on that many rows is the refit.
    learning_rate, batch_size, learning_rate_init : float, int, float
        The grid's parameters under skkeras's and scikit-learn's names, set by the search and
        used only to look up the candidate's measured times.
    """

    def __init__(self, seconds=None, n_refit_rows=0, learning_rate=None, batch_size=None,
                 learning_rate_init=None):
        self.seconds = seconds
        self.n_refit_rows = n_refit_rows
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init

    def _candidate_seconds(self) -> tuple[float, float]:
        params = self.get_params()
        for candidate, fit_s, score_s in self.seconds["candidates"]:
            if all(params[name] == value for name, value in candidate.items()):
                return fit_s, score_s
        raise ValueError(f"no measured candidate matches {params}")

    def fit(self, X, y):
        if len(X) == self.n_refit_rows:
            _keep_busy(self.seconds["refit"])
        else:
            _keep_busy(self._candidate_seconds()[0])
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])

    def score(self, X, y, sample_weight=None):
        _keep_busy(self._candidate_seconds()[1])
        return 0.0
