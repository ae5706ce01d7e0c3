"""OptunaSearchCV: hyperparameter search with Optuna, per-epoch pruning and resumable studies."""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager, nullcontext
from numbers import Integral, Real
from typing import Any, NoReturn

import numpy as np
import optuna
from joblib import cpu_count, effective_n_jobs
from optuna.trial import TrialState
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import check_scoring
from sklearn.metrics._scorer import _BaseScorer
from sklearn.model_selection import check_cv
from sklearn.utils import indexable
from sklearn.utils._metadata_requests import (
    MetadataRouter,
    MethodMapping,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
)
from sklearn.utils._tags import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._scoring import unrouted_score_params
from .._warnings import warn_at_caller
from ._objective import (
    EPOCHS,
    ERROR,
    FIT_TIMES,
    NON_FINITE,
    SCORE_TIMES,
    SPLIT_SCORES,
    Failures,
    Objective,
    keras_estimator,
)
from ._recycling import check_recyclable_storage, optimize_in_fresh_processes
from ._samplers import PRUNERS, SAMPLERS, make_pruner, make_trial_seeded_sampler
from ._search_spaces import SearchSpace, default_search_space
from ._storage import open_study, resolve_storage

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
#: What a fit finds from its trials and refit (``study_`` aside).
_FIT_RESULTS = ("cv_results_", "n_trials_", "best_index_", "best_trial_", "best_params_",
                "best_score_", "best_estimator_", "refit_time_")

#: Study user attributes recording what its trials' scores mean (see ``_check_comparable``).
STUDY_SCORING = "skkeras_scoring"
STUDY_N_SPLITS = "skkeras_n_splits"
STUDY_SPACE = "skkeras_search_space"
_ATTR_LABELS = {
    STUDY_SCORING: "scoring",
    STUDY_N_SPLITS: "the number of cv splits",
    STUDY_SPACE: "the search space's parameters",
}


def _best_estimator_has(attr: str):
    def check(self) -> bool:
        if not self.refit:
            raise AttributeError(
                f"{attr} needs refit=True; with refit=False, fit an estimator with best_params_."
            )
        getattr(self.best_estimator_ if hasattr(self, "best_estimator_") else self.estimator, attr)
        return True

    return check


class OptunaSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search with Optuna: Bayesian samplers, per-epoch pruning, stored studies.

    Every trial samples parameters, cross-validates a clone of ``estimator`` with them and
    records the mean held-out score. With a ``pruner`` and a skkeras estimator (alone or last in
    a pipeline), the folds of a trial are trained in lockstep and the fold-averaged held-out
    score is reported after every epoch, so that hopeless trials stop early (state PRUNED).
    A trial that raises, or whose training diverges, is recorded as FAIL with its message.

    Parameters
    ----------
    estimator : estimator object
        The estimator (or pipeline) to tune; cloned for every fit.
    param_distributions : dict, callable or None, default=None
        ``{parameter: dimension}`` where a dimension is an Optuna distribution, a list of choices
        or a :class:`LayerPyramid`; or a callable ``f(trial) -> dict`` (define-by-run). ``None``
        uses the estimator's built-in space (see :func:`default_search_space`). Pipeline
        parameters use ``step__param`` names.
    n_trials : int or None, default=10
        Trials run by this call of ``fit`` (added to those already in a stored study).
    timeout : float or None, default=None
        Stop starting new trials after this many seconds.
    cv : int, cross-validation generator or iterable, default=None
        5-fold by default, stratified for classifiers.
    scoring : str, callable or None, default=None
        Scorer (greater is better); ``None`` uses the estimator's ``score``.
    sampler : {"tpe", "gp", "random", "cmaes", "grid"}, optuna sampler or None, default=None
        ``None`` is TPE. Named samplers are seeded with ``random_state``, trial by trial (trial
        ``n`` draws from ``(random_state, n)``), so a seeded search is reproducible, stored or
        not, and a continued study or a second worker never replays the same points. ``"gp"``
        is Optuna's Gaussian-process Bayesian optimization (needs ``torch``), ``"cmaes"`` needs
        ``cmaes``, ``"grid"`` needs an enumerable space.
    pruner : {"median", "successive_halving", "hyperband", "none"}, optuna pruner or None, \
default=None
        Stops unpromising trials during training; ``None`` never prunes.
    storage : str, optuna storage or None, default=None
        ``None`` keeps the study in memory. A URL (``sqlite:///study.db``,
        ``postgresql+psycopg2://...``) stores it with heartbeats on (see
        :func:`make_rdb_storage`), so that a rerun with the same ``study_name`` continues it and
        many workers can share it.
    study_name : str or None, default=None
        Name of the study to create or continue. A study records the ``scoring``, the number
        of cv splits and the search space's parameter names; continuing it with different ones
        raises a ``ValueError`` before any trial (use a new name for a changed search).
    refit : bool, default=True
        Refit the best parameters on the whole data as ``best_estimator_``.
    n_jobs : int or None, default=None
        Trials run in parallel threads by this process. While they run, NumPy's BLAS gets
        cores // n_jobs threads (as joblib's process workers do), then its settings come back.
    random_state : int, RandomState instance or None, default=None
        Seeds a named sampler (see ``sampler``); an Optuna sampler instance keeps its own seed.
    error_score : "raise" or float, default=np.nan
        Split score recorded for a failed trial; ``"raise"`` stops the search on the first error.
        When no trial completes, ``fit`` raises: the trials' own error when every trial of this
        fit failed with the same one (bad input, say: a ``TypeError`` for object data, as the
        estimator alone would raise), otherwise a ``ValueError`` listing the errors.
    callbacks : list of callable or None, default=None
        Optuna study callbacks ``f(study, frozen_trial)``, e.g. ``optuna.study.MaxTrialsCallback``.
    verbose : int, default=0
        0 is quiet; 1 shows a progress bar with the best score so far; 2 also logs every trial.
    trials_per_process : int or None, default=None
        Run the trials in a sequence of fresh worker processes, this many trials each, one
        process at a time, on the stored study (``storage=None`` uses a temporary SQLite
        database, copied into memory at the end). TensorFlow keeps some memory for every new
        architecture a process trains, so this bounds the memory of a long search, at the cost
        of starting a process (importing TensorFlow) every ``trials_per_process`` trials. The
        estimator, data, scorer and ``callbacks`` must pickle; a script using it needs an
        ``if __name__ == "__main__":`` guard, as with any spawned process. ``None`` runs every
        trial in this process.

    Attributes
    ----------
    best_params_ : dict
        Estimator parameters of the best trial.
    best_score_ : float
        Its mean cross-validated score.
    best_estimator_ : estimator
        Refit on the whole data (``refit=True``).
    best_trial_ : optuna.trial.FrozenTrial
        The best trial (its ``params`` are Optuna's, e.g. the pyramid's two scalars).
    best_index_ : int
        Row of the best trial in ``cv_results_``.
    study_ : optuna.Study
        The study, with every trial.
    cv_results_ : dict of str to ndarray
        One row per finished trial of the study (including earlier runs of a stored study), in
        scikit-learn's layout (``params``, ``param_*``, ``split*_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``, fit and score times) plus
        ``number``, ``state`` (COMPLETE, PRUNED or FAIL), ``n_epochs`` (epochs trained, summed
        over folds) and ``error``. Pruned trials score NaN, failed ones ``error_score``,
        except those whose mean test score is not finite: they are FAIL with the error
        ``"non-finite test score"`` and keep their split scores (a ``UserWarning`` says so).
        Pruned and failed trials share the rank after the last complete one.
    n_trials_ : int
        Number of rows of ``cv_results_``.
    n_splits_ : int
        Number of cross-validation splits.
    scorer_ : callable
        The scorer.
    refit_time_ : float
        Seconds spent refitting the best estimator.
    n_features_in_ : int
        Number of features seen by ``best_estimator_``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen by ``best_estimator_``; only defined when it has them
        (fitted on a DataFrame with string column names).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skkeras import KerasMLPClassifier
    >>> from skkeras.model_selection import OptunaSearchCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> search = OptunaSearchCV(
    ...     KerasMLPClassifier(epochs=5, random_state=0), n_trials=2, cv=2, random_state=0
    ... ).fit(X, y)
    >>> search.n_trials_
    2
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
        "param_distributions": [dict, callable, None],
        "n_trials": [Interval(Integral, 1, None, closed="left"), None],
        "timeout": [Interval(Real, 0, None, closed="neither"), None],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "sampler": [StrOptions(set(SAMPLERS)), optuna.samplers.BaseSampler, None],
        "pruner": [StrOptions(set(PRUNERS)), optuna.pruners.BasePruner, None],
        "storage": [str, optuna.storages.BaseStorage, None],
        "study_name": [str, None],
        "refit": ["boolean"],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "error_score": [StrOptions({"raise"}), Real],
        "callbacks": [list, None],
        "verbose": ["verbose"],
        "trials_per_process": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        estimator,
        param_distributions: dict | Any = None,
        *,
        n_trials: int | None = 10,
        timeout: float | None = None,
        cv: Any = None,
        scoring: Any = None,
        sampler: Any = None,
        pruner: Any = None,
        storage: Any = None,
        study_name: str | None = None,
        refit: bool = True,
        n_jobs: int | None = None,
        random_state: Any = None,
        error_score: Any = np.nan,
        callbacks: list | None = None,
        verbose: int = 0,
        trials_per_process: int | None = None,
    ):
        self.estimator = estimator
        self.param_distributions = param_distributions
        self.n_trials = n_trials
        self.timeout = timeout
        self.cv = cv
        self.scoring = scoring
        self.sampler = sampler
        self.pruner = pruner
        self.storage = storage
        self.study_name = study_name
        self.refit = refit
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.error_score = error_score
        self.callbacks = callbacks
        self.verbose = verbose
        self.trials_per_process = trials_per_process

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, *, groups=None, **fit_params) -> OptunaSearchCV:
        """Run the search, then refit the best parameters on all of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv``.
        **fit_params : dict
            Passed to the estimator's ``fit``; per-sample arrays (``sample_weight``) are split
            with the folds. ``sample_weight`` also weights the folds' scores (per-epoch pruning
            scores included) when the scorer takes a ``sample_weight`` argument, as in
            ``GridSearchCV``; otherwise a ``UserWarning`` says they are unweighted. The refit
            is not scored. With metadata routing enabled
            (``sklearn.set_config(enable_metadata_routing=True)``), each one goes where it is
            requested instead, as in ``GridSearchCV``: to the estimator's ``fit`` (in the folds
            and the refit), to the scorer (in the folds' scores, per-epoch pruning scores
            included), both split with the folds, and to the ``cv`` splitter (``groups``).

        Returns
        -------
        self : object
            The fitted search.

        Notes
        -----
        The refit trains a new estimator aside and becomes ``best_estimator_`` (with
        ``refit_time_``) only once it is fitted. If the refit is interrupted (Ctrl-C) or fails,
        the exception propagates and the search has no ``best_estimator_`` and no
        ``refit_time_`` (those of a previous fit are dropped too: they were fitted with other
        best parameters), so prediction raises ``NotFittedError``, never answers with an
        unfitted or outdated estimator. ``study_``, ``cv_results_``, ``best_params_``,
        ``best_score_`` and ``best_index_`` describe the trials this fit finished, so
        ``clone(search.estimator).set_params(**search.best_params_).fit(X, y)``
        redoes the refit alone.

        If the trials are interrupted or fail (Ctrl-C, ``error_score="raise"``, no trial
        complete), the exception propagates. ``study_`` is then this fit's study, with the
        trials it finished (with ``trials_per_process`` and ``storage=None`` they were in a
        temporary database: there is no ``study_``), and the results of a previous fit
        (``cv_results_``, ``n_trials_``, ``best_*``, ``refit_time_``) are dropped, as they
        no longer describe ``study_``: prediction raises ``NotFittedError``. Input refused
        before any trial (an incomparable stored study, a bad parameter) changes none of them.
        """
        self._validate_params()
        raw_params = dict(fit_params)
        _check_study_callbacks(self.callbacks)
        if self.n_trials is None and self.timeout is None:
            raise ValueError(
                "OptunaSearchCV needs a stopping rule: set n_trials, timeout, or both "
                "(both are None)."
            )
        X, y, groups = indexable(X, y, groups)
        self.scorer_ = self._get_scorer()
        fit_params, score_params, split_params = self._route_fit_params(
            groups, fit_params, self.scorer_
        )
        space = self._search_space()
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = list(cv.split(X, y, **split_params))
        self.n_splits_ = len(splits)
        if self.trials_per_process is not None:
            self._search_in_fresh_processes(space, X, y, splits, raw_params)
        else:
            self._search_here(space, X, y, splits, fit_params, score_params)
        if self.refit:
            self._refit(X, y, fit_params)
        return self

    def _search_in_fresh_processes(self, space, X, y, splits, raw_params: dict) -> None:
        check_recyclable_storage(self.storage)
        # Optuna's messages in this process (the study opened or copied into memory), as for
        # the trials run here: only with verbose >= 2
        with _optuna_logging(self.verbose):
            # a stored study: refuse an incomparable one here
            study = None if self.storage is None else self._open_study(space)
        try:
            with _optuna_logging(self.verbose):
                study = optimize_in_fresh_processes(self, X, y, splits, raw_params)
            study.sampler = make_trial_seeded_sampler(self.sampler, self._seed(), space)
            study.pruner = make_pruner(self.pruner)
            self.study_ = study
            self._collect_results(space, Failures())
        except BaseException:
            self._forget_earlier_results(study)
            raise

    def _search_here(self, space, X, y, splits, fit_params: dict, score_params: dict) -> None:
        with _optuna_logging(self.verbose):
            study = self._open_study(space)
        objective = Objective(
            estimator=self.estimator,
            space=space,
            X=X,
            y=y,
            splits=splits,
            scorer=self.scorer_,
            fit_params=fit_params,
            score_params=score_params,
            prune=self._prunes(),
        )
        self.study_ = study
        try:
            self._optimize(objective)
            self._collect_results(space, objective.failures)
        except BaseException:
            self._forget_earlier_results(study)
            raise

    def _forget_earlier_results(self, study: optuna.Study | None) -> None:
        """After trials interrupted or failing: keep ``study`` (this fit's, with the trials it
        finished; ``None`` when they were in a temporary database) as ``study_`` and drop the
        results of an earlier fit, which no longer describe it."""
        for name in _FIT_RESULTS:
            self.__dict__.pop(name, None)
        if study is None:
            self.__dict__.pop("study_", None)
        else:
            self.study_ = study

    def _get_scorer(self):
        return check_scoring(self.estimator, self.scoring)

    def _route_fit_params(self, groups, params: dict, scorer) -> tuple[dict, dict, dict]:
        """``fit``'s metadata for the estimator's fit, the scorer and the splitter.

        With metadata routing enabled, as requested by each of them (like ``GridSearchCV``);
        otherwise, as ``GridSearchCV`` does then, every parameter goes to the estimator's
        ``fit``, ``sample_weight`` also to the scorer when it takes one (with a warning when it
        does not), and ``groups`` to the splitter.
        """
        if not _routing_enabled():
            score_params = unrouted_score_params(
                scorer, params.get("sample_weight"), owner=type(self).__name__
            )
            return params, score_params, {"groups": groups}
        if groups is not None:
            params = {**params, "groups": groups}
        routed = process_routing(self, "fit", **params)
        return dict(routed.estimator.fit), dict(routed.scorer.score), dict(routed.splitter.split)

    def get_metadata_routing(self) -> MetadataRouter:
        """Metadata routing of this search, as :class:`sklearn.model_selection.GridSearchCV`'s.

        ``fit`` routes metadata to the estimator's ``fit``, the scorer's ``score`` and the
        ``cv`` splitter's ``split``; ``score`` routes it to the scorer.

        Returns
        -------
        routing : MetadataRouter
            The routing information (see scikit-learn's metadata routing user guide).
        """
        router = MetadataRouter(owner=self)
        router.add(
            estimator=self.estimator,
            method_mapping=MethodMapping().add(caller="fit", callee="fit"),
        )
        router.add(
            scorer=self._get_scorer(),
            method_mapping=MethodMapping()
            .add(caller="score", callee="score")
            .add(caller="fit", callee="score"),
        )
        router.add(
            splitter=self.cv,
            method_mapping=MethodMapping().add(caller="fit", callee="split"),
        )
        return router

    def _search_space(self) -> SearchSpace:
        if self.param_distributions is None:
            return SearchSpace(default_search_space(self.estimator))
        return SearchSpace(self.param_distributions)

    def _seed(self) -> int | None:
        """The sampler's seed; each trial draws from ``(seed, trial number)``.

        Trial numbers are unique in a study, so a seeded search is reproducible, in memory or
        stored, while a rerun continuing a stored study, or a second worker sharing it, never
        replays the same start-up points.
        """
        if self.random_state is None:
            return None
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(self.random_state.randint(0, 2**31 - 1))

    def _open_study(self, space: SearchSpace) -> optuna.Study:
        study = open_study(
            storage=resolve_storage(self.storage),
            study_name=self.study_name,
            sampler=optuna.samplers.RandomSampler(),  # replaced below, once seeded
            pruner=make_pruner(self.pruner),
        )
        if study.direction != optuna.study.StudyDirection.MAXIMIZE:
            raise ValueError(
                f"Study {study.study_name!r} minimizes; OptunaSearchCV maximizes scikit-learn "
                "scores. Use another study_name."
            )
        _check_comparable(study, self._comparability(space))
        study.sampler = make_trial_seeded_sampler(self.sampler, self._seed(), space)
        return study

    def _comparability(self, space: SearchSpace) -> dict[str, Any]:
        """What trials must share to be ranked together, stored as the study's user attrs."""
        return {
            STUDY_SCORING: _scoring_identity(self.scoring),
            STUDY_N_SPLITS: int(self.n_splits_),
            STUDY_SPACE: space.identity(),
        }

    def _prunes(self) -> bool:
        if isinstance(make_pruner(self.pruner), optuna.pruners.NopPruner):
            return False
        if keras_estimator(self.estimator) is None:
            warn_at_caller(
                f"pruner={self.pruner!r} has no effect: per-epoch pruning needs a skkeras "
                f"estimator (alone or last in a pipeline), not {type(self.estimator).__name__}.",
                UserWarning,
            )
            return False
        return True

    def _optimize(self, objective: Objective) -> None:
        progress = None
        if self.verbose:
            from ._progress import ProgressBar

            progress = ProgressBar(self.n_trials)
        callbacks = [*(self.callbacks or []), *([progress] if progress else [])]
        catch = () if self.error_score == "raise" else (Exception,)
        blas_threads = _blas_threads_per_trial(self.n_jobs, objective.prune)
        try:
            with blas_threads, _optuna_logging(self.verbose):
                self.study_.optimize(
                    objective,
                    n_trials=self.n_trials,
                    timeout=self.timeout,
                    n_jobs=self.n_jobs or 1,
                    catch=catch,
                    callbacks=callbacks,
                )
        finally:
            if progress is not None:
                progress.close()

    # ------------------------------------------------------------------ results
    def _collect_results(self, space: SearchSpace, failures: Failures) -> None:
        trials = self.study_.get_trials(deepcopy=False, states=_FINISHED)
        complete = [trial for trial in trials if trial.state == TrialState.COMPLETE]
        if not complete:
            _raise_no_complete(trials, failures)
        failed = [trial for trial in trials if trial.state == TrialState.FAIL]
        non_finite = [trial for trial in failed if _is_non_finite(trial)]
        failed = [trial for trial in failed if not _is_non_finite(trial)]
        if failed:
            warn_at_caller(
                f"{len(failed)} of {len(trials)} trials failed; their scores are "
                f"error_score={self.error_score!r}. First error: {_error(failed[0])}",
                FitFailedWarning,
            )
        if non_finite:
            warn_at_caller(
                f"{len(non_finite)} of {len(trials)} trials have non-finite test scores "
                f"(trial numbers {[trial.number for trial in non_finite]}); they are recorded "
                "as FAIL with their scores and rank last.",
                UserWarning,
            )
        self.cv_results_ = _cv_results(trials, space, self.n_splits_, self.error_score)
        self.n_trials_ = len(trials)
        # From this snapshot: other workers may finish trials meanwhile. The best trial is the
        # complete one ranked first in cv_results_ (the earliest on ties), so that best_index_,
        # best_score_ and rank_test_score always agree.
        self.best_index_ = _best_index(trials, self.cv_results_["mean_test_score"])
        self.best_trial_ = trials[self.best_index_]
        self.best_params_ = self.cv_results_["params"][self.best_index_]
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])

    def _refit(self, X, y, fit_params: dict) -> None:
        # fitted aside, then kept: a refit interrupted or failing leaves no best_estimator_,
        # neither an unfitted one nor a previous fit's (fitted with other best parameters)
        begin = time.perf_counter()
        estimator = clone(self.estimator).set_params(**self.best_params_)
        try:
            estimator.fit(X, y, **fit_params)
        except BaseException:
            for name in ("best_estimator_", "refit_time_"):
                self.__dict__.pop(name, None)
            raise
        self.refit_time_ = time.perf_counter() - begin
        self.best_estimator_ = estimator

    # ------------------------------------------------------------------ delegation
    def _check_refit(self, attr: str) -> None:
        """``refit=False`` leaves no best estimator: say so, as ``GridSearchCV`` does."""
        if not self.refit:
            raise AttributeError(
                f"This {type(self).__name__} instance was initialized with refit=False. {attr} "
                "is available only after refitting on the best parameters; fit an estimator "
                "with best_params_ yourself."
            )

    @property
    def classes_(self) -> np.ndarray:
        """Class labels of the best estimator."""
        self._check_refit("classes_")
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        """Number of features seen by the best estimator."""
        self._check_refit("n_features_in_")
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.n_features_in_

    @property
    def feature_names_in_(self) -> np.ndarray:
        """Names of the features seen by the best estimator; like ``GridSearchCV``'s, only
        defined when the best estimator has them (fitted on a DataFrame with string column
        names), else reading it raises ``AttributeError``."""
        self._check_refit("feature_names_in_")
        check_is_fitted(self, "best_estimator_")
        names = getattr(self.best_estimator_, "feature_names_in_", None)
        if names is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute 'feature_names_in_': its "
                f"best_estimator_ ({type(self.best_estimator_).__name__}) was fitted on X "
                "without feature names (names come from a DataFrame's string column names)."
            )
        return names

    @available_if(_best_estimator_has("predict"))
    def predict(self, X):
        """Predict with the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_best_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_best_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities from the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_best_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_best_estimator_has("transform"))
    def transform(self, X):
        """Transform with the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    @available_if(_best_estimator_has("inverse_transform"))
    def inverse_transform(self, X):
        """Inverse transform with the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.inverse_transform(X)

    @available_if(_best_estimator_has("score_samples"))
    def score_samples(self, X):
        """``score_samples`` of the best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.score_samples(X)

    @available_if(_best_estimator_has("score"))
    def score(self, X, y=None, **params) -> float:
        """Score of the best estimator on ``X``, ``y`` with the search's scorer.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs), default=None
            Targets.
        **params : dict
            Metadata for the scorer (``sample_weight``...), only with metadata routing
            enabled, as requested by the scorer.

        Returns
        -------
        score : float
            The score.
        """
        check_is_fitted(self, "best_estimator_")
        _raise_for_params(params, self, "score")
        score_params = {}
        if _routing_enabled():
            score_params = process_routing(self, "score", **params).scorer["score"]
        return float(self.scorer_(self.best_estimator_, X, y, **score_params))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.input_tags.sparse = inner.input_tags.sparse
        tags.input_tags.three_d_array = inner.input_tags.three_d_array
        tags.target_tags.multi_output = inner.target_tags.multi_output
        return tags


# ---------------------------------------------------------------------- helpers
def _check_study_callbacks(callbacks) -> None:
    """Refuse ``callbacks`` entries that are not callable before any trial runs (Optuna would
    call them only after the first trial)."""
    for index, callback in enumerate(callbacks or []):
        if not callable(callback):
            raise InvalidParameterError(
                "The 'callbacks' parameter of OptunaSearchCV must hold callables taking "
                f"(study, trial); callbacks[{index}] is {callback!r} "
                f"({type(callback).__name__})."
            )


@contextmanager
def _optuna_logging(verbose: int):
    """Optuna logs every trial at INFO; show that only with ``verbose >= 2``."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose >= 2 else optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _scoring_identity(scoring) -> str:
    """A stable description of ``scoring`` (no memory addresses) to compare studies by."""
    if scoring is None:
        return "the estimator's score method"
    if isinstance(scoring, str):
        return scoring
    if isinstance(scoring, _BaseScorer):
        return repr(scoring)
    module = getattr(scoring, "__module__", None) or "?"
    name = getattr(scoring, "__qualname__", None) or type(scoring).__qualname__
    return f"{module}.{name}"


def _check_comparable(study: optuna.Study, expected: dict[str, Any]) -> None:
    """Refuse to continue a stored study whose trials were scored otherwise.

    A study created by this search records ``expected`` as user attributes; one created by an
    earlier skkeras (without them) is continued and gets them recorded now.
    """
    stored = study.user_attrs
    differences = [
        f"{_ATTR_LABELS[key]} is {value!r} now but {stored[key]!r} in the study"
        for key, value in expected.items()
        if key in stored and stored[key] != value
    ]
    if differences:
        raise ValueError(
            f"Study {study.study_name!r} cannot be continued by this search: "
            f"{'; '.join(differences)}. Its trials' scores are not comparable with new ones. "
            "Use another study_name for this search (or the study's original settings to "
            "continue it)."
        )
    for key, value in expected.items():
        if key not in stored:
            study.set_user_attr(key, value)


def _best_index(trials, mean_scores: np.ndarray) -> int:
    """The complete trial with the highest mean test score, the earliest on ties."""
    complete = [index for index, trial in enumerate(trials) if trial.state == TrialState.COMPLETE]
    scores = np.where(np.isnan(mean_scores), -np.inf, mean_scores)
    return max(complete, key=lambda index: (scores[index], -trials[index].number))


def _is_non_finite(trial) -> bool:
    return trial.state == TrialState.FAIL and trial.user_attrs.get(ERROR) == NON_FINITE


def _error(trial) -> str:
    return str(trial.user_attrs.get(ERROR) or trial.system_attrs.get("fail_reason", "unknown"))


def _raise_no_complete(trials, failures: Failures) -> NoReturn:
    """No trial completed: re-raise the trials' error if they all failed alike, else explain.

    An error raised by every trial of this fit, with the same type and message, does not depend
    on the sampled parameters (bad input, a broken estimator), or the whole space fails the
    same way; it is re-raised as is, with its traceback, as the estimator alone would raise it
    (a ``TypeError`` for object data, say). Different errors are summarized in a ValueError.
    """
    error = failures.common_error()
    if error is None:
        raise ValueError(_no_complete_message(trials))
    error.add_note(
        f"OptunaSearchCV: all {failures.n_failed} trials of this fit failed with this error "
        "and none completed."
    )
    raise error


def _no_complete_message(trials) -> str:
    if not trials:
        return "No trial finished; raise n_trials or timeout."
    counts = {state: sum(trial.state == state for trial in trials) for state in _FINISHED}
    errors = sorted({_error(trial) for trial in trials if trial.state == TrialState.FAIL})
    message = (
        f"No trial completed: {counts[TrialState.FAIL]} of {len(trials)} failed and "
        f"{counts[TrialState.PRUNED]} were pruned."
    )
    if errors:
        message += " Errors: " + " | ".join(errors[:3])
    return message


def _trial_params(trial, space: SearchSpace) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return space.suggest(trial)
    except Exception:  # the trial failed while sampling, or was run with another space
        return dict(trial.params)


def _cv_results(trials, space: SearchSpace, n_splits: int, error_score) -> dict[str, Any]:
    params = [_trial_params(trial, space) for trial in trials]
    splits = np.array([_split_scores(trial, n_splits, error_score) for trial in trials])
    results: dict[str, Any] = {
        "number": np.array([trial.number for trial in trials]),
        "state": np.array([trial.state.name for trial in trials]),
        "params": params,
    }
    results.update(_param_columns(params))
    for index in range(n_splits):
        results[f"split{index}_test_score"] = splits[:, index]
    results["mean_test_score"] = splits.mean(axis=1)
    results["std_test_score"] = splits.std(axis=1)
    complete = results["state"] == TrialState.COMPLETE.name
    results["rank_test_score"] = _rank(results["mean_test_score"], complete)
    for key, attr in (("fit_time", FIT_TIMES), ("score_time", SCORE_TIMES)):
        times = np.array([_times(trial, attr, n_splits) for trial in trials])
        results[f"mean_{key}"], results[f"std_{key}"] = times.mean(axis=1), times.std(axis=1)
    results["n_epochs"] = np.array([sum(trial.user_attrs.get(EPOCHS, [])) for trial in trials])
    results["error"] = np.array(
        [_error(trial) if trial.state == TrialState.FAIL else "" for trial in trials]
    )
    return results


def _split_scores(trial, n_splits: int, error_score) -> list[float]:
    if trial.state == TrialState.COMPLETE:
        scores = list(trial.user_attrs.get(SPLIT_SCORES, [trial.value] * n_splits))
    elif _is_non_finite(trial):
        scores = list(trial.user_attrs.get(SPLIT_SCORES, []))
    elif trial.state == TrialState.FAIL and error_score != "raise":
        scores = [float(error_score)] * n_splits
    else:
        scores = []
    return (scores + [np.nan] * n_splits)[:n_splits]


def _times(trial, attr: str, n_splits: int) -> list[float]:
    values = list(trial.user_attrs.get(attr, []))
    return (values + [0.0] * n_splits)[:n_splits]


def _param_columns(params: list[dict]) -> dict[str, np.ma.MaskedArray]:
    """One masked column per parameter, typed like ``GridSearchCV``'s: the dtype NumPy infers
    from the trials' values (float64, int64, bool), object for strings, sequences and mixtures;
    masked where a trial has no such parameter."""
    columns = {}
    for name in sorted({key for row in params for key in row}):
        rows = [index for index, row in enumerate(params) if name in row]
        dtype = _column_dtype([params[index][name] for index in rows])
        column = np.ma.MaskedArray(np.empty(len(params), dtype=dtype), mask=True)
        for index in rows:
            column[index] = params[index][name]
        columns[f"param_{name}"] = column
    return columns


def _column_dtype(values: list) -> np.dtype:
    try:
        inferred = np.array(values)
    except ValueError:  # sequences of different lengths
        return np.dtype(object)
    if inferred.ndim != 1 or inferred.dtype.kind in "UST":
        return np.dtype(object)
    return inferred.dtype


def _rank(scores: np.ndarray, complete: np.ndarray) -> np.ndarray:
    """scikit-learn's ranking of the complete trials (1 is best, ties share the lowest rank);
    every other trial (pruned, failed whatever its ``error_score``, or without a mean score)
    shares the rank after them, as NaN scores do in scikit-learn."""
    ranked = complete & ~np.isnan(scores)
    if not ranked.any():
        return np.ones(len(scores), dtype=np.int32)
    ranks = np.full(len(scores), ranked.sum() + 1, dtype=np.int32)
    ranks[ranked] = rankdata(-scores[ranked], method="min")
    return ranks


def _blas_threads_per_trial(n_jobs: int | None, prunes_per_epoch: bool):
    """NumPy's BLAS threads while the study runs: its idle worker threads spin for a while
    after every matrix product (the scoring of each fold), taking cores from the training.

    A study that prunes per epoch scores every fold after every epoch, between epochs of
    TensorFlow's training, which uses every core: it gets one BLAS thread. Otherwise the cores
    are shared out between trials running in ``n_jobs`` threads (as joblib does for process
    workers).

    Measured on 2 cores (digits, one MLP, learning rate and batch size searched, 16 random
    trials x 3 folds, 20 epochs): trials in two threads took 6.0-6.5 s with one BLAS thread
    against 7.6-8.0 s without the limit (one thread 8.2-8.3 s); with median pruning, trials in
    one thread took 2.10-2.19 s with one BLAS thread against 2.62-3.10 s without.
    """
    if prunes_per_epoch:
        return threadpool_limits(limits=1, user_api="blas")
    n_threads = effective_n_jobs(n_jobs)
    if n_threads <= 1:
        return nullcontext()
    return threadpool_limits(limits=max(1, cpu_count() // n_threads), user_api="blas")

