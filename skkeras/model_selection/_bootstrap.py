"""Bootstrapped benchmarking: score one set of hyperparameters over many random splits.

The notebook's recipe: refit the model on many random train/test splits, each fit early-stopped
on a validation part of its own training split, and track the mean score, its spread and the
epochs each fit needed until the mean stops moving.
"""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass, field
from itertools import islice
from numbers import Integral, Real
from typing import Any

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.metrics._scorer import _BaseScorer
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit, check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import _num_samples

from .._steps import fitted_epochs, set_keras_params


@dataclass(repr=False)
class BootstrapResult:
    """Scores of a bootstrapped benchmark, with their running mean and spread.

    Returned by :func:`bootstrap_evaluate`; not meant to be created directly.

    Attributes
    ----------
    scores : ndarray of shape (n_splits_run,)
        Test score of each split, in the order the splits were run (higher is better, as for
        scikit-learn scorers: ``neg_root_mean_squared_error`` is the negated RMSE).
    epochs : ndarray of shape (n_splits_run,) or None
        Epochs each fit needed (the network's ``best_epoch_``); ``None`` when the estimator does
        not report them.
    fit_times : ndarray of shape (n_splits_run,)
        Seconds each fit took.
    n_splits : int
        Number of splits planned.
    stopped_early : bool
        Whether ``tol`` stopped the run before all ``n_splits`` splits.
    message : str
        Why the run ended.
    scoring : str
        Name of the score: the ``scoring`` string, the metric's name for a ``make_scorer``
        scorer (``"f1_score"``; ``"neg_..."`` with ``greater_is_better=False``), a callable's
        ``__name__``, or ``"score"`` for the estimator's ``score``.
    indices : dict or None
        ``{"train": [...], "test": [...]}`` index arrays of each split, with
        ``return_indices=True``.
    """

    scores: np.ndarray
    epochs: np.ndarray | None
    fit_times: np.ndarray
    n_splits: int
    stopped_early: bool = False
    message: str = ""
    scoring: str = "score"
    indices: dict | None = field(default=None)

    @property
    def mean(self) -> float:
        """Mean score over the splits run."""
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        """Sample standard deviation (``ddof=1``) of the scores; NaN after a single split."""
        return _sample_std(self.scores)

    @property
    def running_mean(self) -> np.ndarray:
        """Mean of the first k scores, for k = 1 ... n_splits_run."""
        return np.cumsum(self.scores) / np.arange(1, len(self.scores) + 1)

    @property
    def running_std(self) -> np.ndarray:
        """Sample standard deviation of the first k scores (NaN for k = 1)."""
        return np.array([_sample_std(self.scores[:k]) for k in range(1, len(self.scores) + 1)])

    def confidence_interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Student-t confidence interval of the mean score.

        Parameters
        ----------
        confidence : float in (0, 1), default=0.95
            Confidence level.

        Returns
        -------
        low, high : float
            Bounds of the interval (NaN after a single split).
        """
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be in (0, 1); got {confidence!r}.")
        from scipy import stats

        n = len(self.scores)
        if n < 2:
            return float("nan"), float("nan")
        half = stats.t.ppf((1 + confidence) / 2, n - 1) * self.std / np.sqrt(n)
        return self.mean - half, self.mean + half

    def to_frame(self):
        """One row per split: score, epochs, fit time, and the running mean and std.

        Returns
        -------
        frame : pandas.DataFrame
            Indexed by split number (1-based). Needs pandas.
        """
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                "BootstrapResult.to_frame needs pandas; install it with `pip install pandas`."
            ) from error
        columns: dict[str, Any] = {"score": self.scores}
        if self.epochs is not None:
            columns["epochs"] = self.epochs
        columns.update(
            fit_time=self.fit_times, running_mean=self.running_mean, running_std=self.running_std
        )
        index = pd.RangeIndex(1, len(self.scores) + 1, name="split")
        return pd.DataFrame(columns, index=index)

    def plot(self, ax=None):
        """Plot each split's score and the running mean ± std converging.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; a new figure when None. Needs matplotlib.

        Returns
        -------
        ax : matplotlib Axes
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError as error:
            raise ImportError(
                "BootstrapResult.plot needs matplotlib; install it with `pip install matplotlib` "
                "(or `pip install skkeras[plot]`)."
            ) from error
        if ax is None:
            _, ax = plt.subplots()
        splits = np.arange(1, len(self.scores) + 1)
        mean, std = self.running_mean, np.nan_to_num(self.running_std)
        ax.scatter(splits, self.scores, s=12, alpha=0.4, label="split score")
        ax.plot(splits, mean, label="running mean")
        ax.fill_between(splits, mean - std, mean + std, alpha=0.2, label="running mean ± std")
        ax.set_xlabel("split")
        ax.set_ylabel(self.scoring)
        ax.set_title(f"{self.scoring}: {self.mean:.4g} ± {self.std:.4g} ({len(splits)} splits)")
        ax.legend(loc="best")
        return ax

    def __repr__(self) -> str:
        low, high = self.confidence_interval()
        text = (
            f"BootstrapResult({self.scoring}={self.mean:.4g} ± {self.std:.4g} over "
            f"{len(self.scores)} of {self.n_splits} splits, 95% CI [{low:.4g}, {high:.4g}]"
        )
        if self.epochs is not None:
            text += f", epochs {np.mean(self.epochs):.1f} ± {_sample_std(self.epochs):.1f}"
        return text + ")"


def _sample_std(values) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")


class _Progress:
    """A one-line progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, *, verbose: int, width: int = 30):
        self.stream = sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = verbose > 0 and isatty is not None and isatty()
        self.total, self.width, self.started = total, width, False

    def update(self, done: int, mean: float, std: float) -> None:
        if not self.enabled:
            return
        filled = int(self.width * done / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        spread = "" if np.isnan(std) else f" std {std:.4g}"
        self.stream.write(f"\rbootstrap [{bar}] {done}/{self.total} mean {mean:.4g}{spread}")
        self.stream.flush()
        self.started = True

    def close(self) -> None:
        if self.started:
            self.stream.write("\n")
            self.stream.flush()


@validate_params(
    {
        "estimator": [HasMethods(["fit"])],
        "X": ["array-like", "sparse matrix"],
        "y": ["array-like"],
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "test_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "train_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "cv": ["cv_object"],
        "groups": ["array-like", None],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "early_stopping": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "tol_window": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
        "params": [dict, None],
        "return_indices": ["boolean"],
    },
    prefer_skip_nested_validation=False,
)
def bootstrap_evaluate(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    n_splits: int = 50,
    test_size: float | int = 0.1,
    train_size: float | int | None = None,
    cv: Any = None,
    groups: Any = None,
    scoring: Any = None,
    early_stopping: bool = True,
    tol: float | None = None,
    tol_window: int = 5,
    random_state: Any = None,
    n_jobs: int | None = None,
    verbose: int = 1,
    params: dict | None = None,
    return_indices: bool = False,
) -> BootstrapResult:
    """Benchmark one set of hyperparameters by refitting on many random train/test splits.

    Each split trains a fresh clone of ``estimator`` on its training part and scores it on its
    test part. With ``early_stopping=True`` the skkeras network (the estimator itself, or the
    last step of a Pipeline) gets ``early_stopping=True``: it holds out ``validation_fraction``
    of each *training* split and stops when its validation loss stops improving, so the test
    split never influences training, and the epochs it needed (``best_epoch_``) are recorded.

    Parameters
    ----------
    estimator : estimator object
        The model to benchmark: a skkeras estimator, a Pipeline ending in one, or any
        scikit-learn estimator (then without early stopping or epochs).
    X : array-like or sparse matrix of shape (n_samples, ...)
        Data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets.
    n_splits : int, default=50
        Number of random splits (ignored when ``cv`` is given).
    test_size : float or int, default=0.1
        Fraction (or number) of samples in each test split (ignored when ``cv`` is given).
    train_size : float, int or None, default=None
        Fraction (or number) of samples in each training split; ``None`` is the complement of
        ``test_size`` (ignored when ``cv`` is given).
    cv : int, cross-validation generator, iterable or None, default=None
        ``None`` draws the splits with ``StratifiedShuffleSplit`` for classifiers of binary or
        multiclass targets and ``ShuffleSplit`` otherwise. Anything else is used as in
        :func:`sklearn.model_selection.cross_validate`.
    groups : array-like of shape (n_samples,), default=None
        Group labels for group-aware ``cv`` splitters.
    scoring : str, callable or None, default=None
        A scikit-learn scorer name or callable; ``None`` uses the estimator's ``score``.
    early_stopping : bool, default=True
        Switch on the skkeras network's early stopping (``set_params(early_stopping=True)``);
        its ``validation_fraction``, ``patience`` and ``min_delta`` apply. With False the
        estimator's own setting is kept.
    tol : float or None, default=None
        Stop once the running mean score has stayed within a band of width ``tol`` over the
        last ``tol_window`` splits; the result's ``stopped_early`` and ``message`` say so.
        ``None`` runs all splits.
    tol_window : int, default=5
        Number of splits over which the running mean must move less than ``tol``.
    random_state : int, RandomState instance or None, default=None
        Seeds the default splitter. Set the estimator's own ``random_state`` to make the fits
        repeatable too.
    n_jobs : int or None, default=None
        Splits fitted in parallel (joblib); ``None`` means 1. The result does not depend on it.
    verbose : int, default=1
        0 is silent; 1 shows a progress bar when stderr is a terminal and prints why the run
        stopped early; 2 also prints one line per split.
    params : dict or None, default=None
        Extra ``fit`` parameters (``"mlp__sample_weight"`` for a Pipeline step); arrays with one
        entry per sample are split with ``X``. ``validation_data`` is refused: it would be the
        same for every split.
    return_indices : bool, default=False
        Keep the train and test indices of each split in ``result.indices``.

    Returns
    -------
    result : BootstrapResult
        Scores, epochs, mean, std, ``confidence_interval()``, ``to_frame()`` and ``plot()``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skkeras import KerasMLPClassifier
    >>> from skkeras.model_selection import bootstrap_evaluate
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> mlp = make_pipeline(StandardScaler(), KerasMLPClassifier((16,), epochs=30, random_state=0))
    >>> result = bootstrap_evaluate(mlp, X, y, n_splits=3, random_state=0, verbose=0)
    >>> result.scores.shape, result.epochs.shape
    ((3,), (3,))
    """
    X, y, groups = indexable(X, y, groups)
    params = dict(params or {})
    _check_no_validation_data(params)
    splitter = _make_splitter(estimator, y, cv, n_splits, test_size, train_size, random_state)
    total = splitter.get_n_splits(X, y, groups)
    scorer = check_scoring(estimator, scoring=scoring)
    template = clone(estimator)
    if early_stopping:
        set_keras_params(template, early_stopping=True)
    run = _Run(total, tol, tol_window, verbose, keep=return_indices)
    split_iter = splitter.split(X, y, groups)
    batch_size = effective_n_jobs(n_jobs)
    with Parallel(n_jobs=n_jobs) as parallel:
        while not run.finished:
            batch = list(islice(split_iter, batch_size))
            if not batch:
                break
            records = parallel(
                delayed(_fit_and_score)(clone(template), X, y, train, test, scorer, params)
                for train, test in batch
            )
            for (train, test), record in zip(batch, records, strict=True):
                run.add(record, train, test)
                if run.finished:
                    break
    return run.result(_scoring_name(scoring))


def _check_no_validation_data(params: dict) -> None:
    keys = [key for key in params if key == "validation_data" or key.endswith("__validation_data")]
    if keys:
        raise ValueError(
            f"bootstrap_evaluate got {keys[0]!r} in params; each split early-stops on a "
            "validation part of its own training split instead. Remove it, and set the "
            "network's validation_fraction to size that part."
        )


def _make_splitter(estimator, y, cv, n_splits, test_size, train_size, random_state):
    classifier = is_classifier(estimator)
    if cv is not None:
        return check_cv(cv, y, classifier=classifier)
    stratify = classifier and type_of_target(y, input_name="y") in ("binary", "multiclass")
    splitter = StratifiedShuffleSplit if stratify else ShuffleSplit
    return splitter(
        n_splits=n_splits, test_size=test_size, train_size=train_size, random_state=random_state
    )


def _scoring_name(scoring) -> str:
    """The score's name: the scorer name, the metric of a ``make_scorer`` scorer (``neg_``
    when its sign is flipped), a callable's name, or ``"score"`` for the estimator's own."""
    if scoring is None:
        return "score"
    if isinstance(scoring, str):
        return scoring
    if isinstance(scoring, _BaseScorer):
        name = _callable_name(scoring._score_func)
        return f"neg_{name}" if scoring._sign < 0 else name
    return _callable_name(scoring)


def _callable_name(function) -> str:
    while isinstance(function, functools.partial):
        function = function.func
    return getattr(function, "__name__", None) or type(function).__name__


def _fit_and_score(estimator, X, y, train, test, scorer, params):
    n_samples = _num_samples(X)
    fit_params = {
        key: _safe_indexing(value, train) if _per_sample(value, n_samples) else value
        for key, value in params.items()
    }
    start = time.perf_counter()
    estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train), **fit_params)
    fit_time = time.perf_counter() - start
    score = scorer(estimator, _safe_indexing(X, test), _safe_indexing(y, test))
    return {"score": float(score), "epochs": fitted_epochs(estimator), "fit_time": fit_time}


def _per_sample(value, n_samples: int) -> bool:
    if isinstance(value, str | bytes | dict) or not hasattr(value, "__len__"):
        return False
    return len(value) == n_samples


class _Run:
    """Collects split records, tracks the running mean and decides when to stop."""

    def __init__(self, total: int, tol: float | None, window: int, verbose: int, keep: bool):
        self.total, self.tol, self.window, self.verbose = total, tol, window, verbose
        self.records: list[dict] = []
        self.indices: dict[str, list] | None = {"train": [], "test": []} if keep else None
        self.means: list[float] = []
        self.stopped_early = False
        self.progress = _Progress(total, verbose=verbose)

    @property
    def finished(self) -> bool:
        return self.stopped_early or len(self.records) >= self.total

    def add(self, record: dict, train, test) -> None:
        self.records.append(record)
        if self.indices is not None:
            self.indices["train"].append(np.asarray(train))
            self.indices["test"].append(np.asarray(test))
        scores = [r["score"] for r in self.records]
        self.means.append(float(np.mean(scores)))
        n, std = len(scores), _sample_std(scores)
        self.progress.update(n, self.means[-1], std)
        if self.verbose >= 2:
            spread = "" if np.isnan(std) else f" ± {std:.4g}"  # no spread from one score
            print(f"split {n}/{self.total}: score {record['score']:.4g}, epochs "
                  f"{record['epochs']}, running mean {self.means[-1]:.4g}{spread}")
        self.stopped_early = self._converged() and n < self.total

    def _moved(self) -> float:
        recent = self.means[-self.window - 1 :]
        return max(recent) - min(recent)

    def _converged(self) -> bool:
        return self.tol is not None and len(self.means) > self.window and self._moved() < self.tol

    def _message(self) -> str:
        n = len(self.records)
        if self.stopped_early:
            return (
                f"Stopped early after {n} of {self.total} splits: the running mean moved "
                f"{self._moved():.3g} < tol={self.tol} over the last {self.window} splits."
            )
        message = f"Ran all {n} splits."
        if self.tol is not None and n > self.window:
            message += (
                f" The running mean still moved {self._moved():.3g} over the last "
                f"{self.window} splits (tol={self.tol})."
            )
        return message

    def result(self, scoring: str) -> BootstrapResult:
        self.progress.close()
        message = self._message()
        if self.stopped_early and self.verbose > 0:
            print(message)
        epochs = [r["epochs"] for r in self.records]
        return BootstrapResult(
            scores=np.array([r["score"] for r in self.records]),
            epochs=None if None in epochs else np.array(epochs, dtype=int),
            fit_times=np.array([r["fit_time"] for r in self.records]),
            n_splits=self.total,
            stopped_early=self.stopped_early,
            message=message,
            scoring=scoring,
            indices=self.indices,
        )
