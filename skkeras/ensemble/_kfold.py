"""K-fold ensembles: the notebook's three ways of combining the k models of a k-fold run.

Each fold trains a clone of the estimator on the other folds and early-stops it on its own
held-out fold; ``combine`` then averages the fold models, keeps the best one, or trains one fresh
model on all the data for the epochs the folds needed.
"""

from __future__ import annotations

import copy
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    MetaEstimatorMixin,
    RegressorMixin,
    clone,
    is_classifier,
)
from sklearn.metrics import check_scoring, get_scorer_names
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing, check_random_state, get_tags, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
)

from .._scoring import unrouted_score_params
from .._steps import fit_with_validation, fitted_epochs, keras_step, set_keras_params

_MAX_SEED = 2**31 - 1


class _BaseKFoldEnsemble(MetaEstimatorMixin, BaseEstimator):
    """Shared fitting of the k fold models; subclasses combine their predictions."""

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "cv": ["cv_object"],
        "combine": [StrOptions({"mean", "best", "refit"})],
        "refit_epochs": [StrOptions({"mean", "max"}), Interval(Integral, 1, None, closed="left")],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        estimator: Any,
        *,
        cv: Any = 5,
        combine: str = "mean",
        refit_epochs: str | int = "mean",
        scoring: Any = None,
        random_state: Any = None,
        n_jobs: int | None = None,
    ):
        self.estimator = estimator
        self.cv = cv
        self.combine = combine
        self.refit_epochs = refit_epochs
        self.scoring = scoring
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None, *, groups=None) -> _BaseKFoldEnsemble:
        """Fit one clone of ``estimator`` per fold, then combine them as ``combine`` says.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, in whatever form ``estimator`` accepts.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, used for training, early stopping and the fold scores (they
            reach ``scoring`` when it takes a ``sample_weight`` argument, as in
            ``GridSearchCV``: a scorer made by ``make_scorer`` from a metric that accepts them,
            a string scorer of such a metric, the estimator's ``score`` when it has that
            parameter, or a callable with that parameter; otherwise a ``UserWarning`` says the
            fold scores are unweighted).
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group-aware ``cv`` (``GroupKFold``, ``LeaveOneGroupOut``...),
            as in ``cross_val_score``.

        Returns
        -------
        self : object
            The fitted ensemble.

        Notes
        -----
        A fit that raises (refused input, a member's fit failing, an interruption such as
        ``KeyboardInterrupt``) leaves the ensemble as it was before the call: a fitted one keeps
        its ``estimators_``, ``refit_estimator_``, fold scores and ``classes_``, and predicts as
        before. The members are new clones, so the previous ones are never trained further.
        """
        previous = dict(self.__dict__)
        try:
            return self._fit(X, y, sample_weight, groups)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(previous)
            raise

    def _fit(self, X, y, sample_weight, groups) -> _BaseKFoldEnsemble:
        self._validate_params()
        self._check_combine()
        y = self._check_target(y)
        X, y, groups = indexable(X, y, groups)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        cv = check_cv(self.cv, y, classifier=is_classifier(self))
        splits = list(cv.split(X, y, groups))
        seeds = self._member_seeds(len(splits) + 1)
        scorer = check_scoring(self.estimator, scoring=self.scoring)
        weigh_scores = bool(unrouted_score_params(scorer, sample_weight, owner=type(self).__name__))
        folds = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_fold)(
                self._member(seed), X, y, sample_weight, train, test, scorer, weigh_scores
            )
            for seed, (train, test) in zip(seeds, splits, strict=False)
        )
        self.estimators_ = [estimator for estimator, _, _ in folds]
        self.fold_scores_ = np.array([score for _, score, _ in folds], dtype=float)
        epochs = [epoch for _, _, epoch in folds]
        self.fold_epochs_ = None if None in epochs else np.array(epochs, dtype=int)
        self.best_index_ = int(np.argmax(self.fold_scores_))
        self.refit_epochs_ = None
        self.refit_estimator_ = None
        if self.combine == "refit":
            self.refit_estimator_ = self._refit(X, y, sample_weight, seeds[-1])
        self._record_input_attributes()
        return self

    def _check_combine(self) -> None:
        """Hook: refuse ``combine`` values the estimator cannot support."""

    def _check_target(self, y) -> np.ndarray:
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        return check_array(y, ensure_2d=False, dtype=None, input_name="y")

    def _member_seeds(self, n: int) -> list[int | None]:
        if self.random_state is None:
            return [None] * n
        rng = check_random_state(self.random_state)
        return [int(seed) for seed in rng.randint(_MAX_SEED, size=n)]

    def _member(self, seed: int | None):
        """A fresh clone, with its own seed and early stopping switched on."""
        member = clone(self.estimator)
        if seed is not None:
            keys = [
                key
                for key in member.get_params(deep=True)
                if key == "random_state" or key.endswith("__random_state")
            ]
            member.set_params(**dict.fromkeys(keys, seed))
        set_keras_params(member, early_stopping=True)
        return member

    def _refit(self, X, y, sample_weight, seed):
        member = self._member(seed)
        self.refit_epochs_ = self._epochs_for_refit()
        if self.refit_epochs_ is not None:
            set_keras_params(
                member, epochs=self.refit_epochs_, early_stopping=False, patience=None
            )
        return fit_with_validation(member, X, y, sample_weight=sample_weight)

    def _epochs_for_refit(self) -> int | None:
        if keras_step(self.estimator) is None:
            return None
        if isinstance(self.refit_epochs, Integral):
            return int(self.refit_epochs)
        if self.refit_epochs == "max":
            return int(self.fold_epochs_.max())
        return max(1, round(float(self.fold_epochs_.mean())))

    def _record_input_attributes(self) -> None:
        first = self.estimators_[0]
        for name in ("n_features_in_", "feature_names_in_"):
            if hasattr(first, name):
                setattr(self, name, getattr(first, name))
            else:
                vars(self).pop(name, None)

    # ------------------------------------------------------------------ prediction
    def _predictors(self) -> list:
        """The fitted models whose predictions are combined."""
        check_is_fitted(self)
        if self.combine == "best":
            return [self.estimators_[self.best_index_]]
        if self.combine == "refit":
            return [self.refit_estimator_]
        return self.estimators_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.input_tags = copy.copy(inner.input_tags)
        tags.non_deterministic = inner.non_deterministic
        return tags


def _fit_fold(estimator, X, y, sample_weight, train, test, scorer, weigh_scores):
    """Train on ``train``, early-stopping on ``test``; return the model, its score and epochs.

    ``weigh_scores`` says whether the score gets the held-out ``sample_weight``.

    A classifier early-stops only on the held-out rows whose class its training part has (a
    network refuses labels it was not trained on); with none, it trains without early stopping.
    The score is on the whole held-out part.
    """
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    y_train = _safe_indexing(y, train)
    train_weight = None if sample_weight is None else sample_weight[train]
    test_weight = None if sample_weight is None else sample_weight[test]
    validation = _validation_part(estimator, X_test, y_test, test_weight, y_train)
    if validation is None:
        set_keras_params(estimator, early_stopping=False)
    fit_with_validation(
        estimator,
        _safe_indexing(X, train),
        y_train,
        sample_weight=train_weight,
        validation=validation,
    )
    score_kwargs = {"sample_weight": test_weight} if weigh_scores else {}
    score = scorer(estimator, X_test, y_test, **score_kwargs)
    return estimator, float(score), fitted_epochs(estimator)


def _validation_part(estimator, X_test, y_test, test_weight, y_train) -> tuple | None:
    """The held-out rows a fold's network can early-stop on; ``None`` when there are none."""
    keep = slice(None)
    if is_classifier(estimator):
        known = np.isin(y_test, np.unique(y_train))
        if not known.any():
            return None
        if not known.all():
            keep = np.flatnonzero(known)
            X_test, y_test = _safe_indexing(X_test, keep), _safe_indexing(y_test, keep)
    if test_weight is None:
        return (X_test, y_test)
    return (X_test, y_test, test_weight[keep])


_PARAMS_DOC = """
    estimator : estimator object
        The model to train on each fold: a skkeras estimator, or a Pipeline ending in one (the
        steps before it are fitted on the training folds and transform the held-out fold). Its
        ``early_stopping`` is switched on and each fold's clone early-stops on its held-out
        fold, given as ``validation_data``. A classifier fold early-stops on the held-out rows
        of the classes its training part has (a network cannot be validated on labels it never
        saw); when the held-out fold has none of them, that fold trains for all its ``epochs``
        without early stopping. The fold is still scored on its whole held-out part (as by
        ``cross_val_score``). Other estimators are trained without early stopping.
    cv : int, cross-validation generator or iterable, default=5
        The folds, as in :func:`sklearn.model_selection.cross_val_score`. An int gives
        ``{default_cv}`` (unshuffled; pass ``{default_cv}(5, shuffle=True, random_state=0)`` to
        shuffle).
    combine : {{"mean", "best", "refit"}}, default="mean"
        How the fold models predict: ``"mean"`` averages {what} of all of them; ``"best"`` uses
        the fold model with the best held-out score (``best_index_``); ``"refit"`` trains one
        fresh model on all the data for ``refit_epochs`` epochs, without early stopping.
    refit_epochs : {{"mean", "max"}} or int, default="mean"
        Epochs of the ``combine="refit"`` model: the mean (rounded) or the maximum of the folds'
        best epochs (``fold_epochs_``), or a fixed number. Ignored for other ``combine`` values
        and for estimators without a skkeras network.
    scoring : str, callable or None, default=None
        Score of each fold model on its held-out fold (``fold_scores_``, higher is better);
        ``None`` uses the estimator's ``score`` ({default_score}).
    random_state : int, RandomState instance or None, default=None
        If set, every ``random_state`` inside ``estimator`` gets its own seed for each fold model
        and for the refit model, so the members start from different weights; ``None`` leaves
        the estimator's own ``random_state`` untouched.
    n_jobs : int or None, default=None
        Folds trained in parallel (joblib); ``None`` means 1."""

_ATTRIBUTES_DOC = """
    estimators_ : list of estimators
        The fitted fold models, in the order of the folds.
    fold_scores_ : ndarray of shape (n_folds,)
        Score of each fold model on its held-out fold.
    fold_epochs_ : ndarray of shape (n_folds,) or None
        Epochs each fold model needed (its ``best_epoch_``); ``None`` without a skkeras network.
    best_index_ : int
        Index of the fold model with the highest ``fold_scores_``.
    refit_estimator_ : estimator or None
        With ``combine="refit"``, the model trained on all the data; otherwise ``None``.
    refit_epochs_ : int or None
        Epochs the refit model was trained for (``None`` unless ``combine="refit"``).
    n_features_in_ : int
        Number of features seen in ``fit`` (when the estimator records it).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names."""


class KFoldEnsembleClassifier(ClassifierMixin, _BaseKFoldEnsemble):
    __doc__ = f"""Train one classifier per fold and combine them (mean, best or refit).

    Parameters
    ----------
    {
        _PARAMS_DOC.format(
            default_cv="StratifiedKFold", what="the probabilities", default_score="accuracy"
        ).strip()
    }

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    {_ATTRIBUTES_DOC.strip()}

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skkeras import KerasMLPClassifier
    >>> from skkeras.ensemble import KFoldEnsembleClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> mlp = make_pipeline(StandardScaler(), KerasMLPClassifier((16,), epochs=30, random_state=0))
    >>> ensemble = KFoldEnsembleClassifier(mlp, cv=3, combine="mean").fit(X, y)
    >>> ensemble.fold_scores_.shape, ensemble.predict_proba(X[:2]).shape
    ((3,), (2, 2))
    """

    def _check_target(self, y) -> np.ndarray:
        y = super()._check_target(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        target_type = type_of_target(y, input_name="y")
        if target_type not in ("binary", "multiclass"):
            raise ValueError(
                f"{type(self).__name__} supports binary and multiclass targets; y is "
                f"{target_type!r}."
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; got only one "
                f"class ({self.classes_[0]!r})."
            )
        return y

    def _check_combine(self) -> None:
        if self.combine == "mean" and not hasattr(self.estimator, "predict_proba"):
            raise ValueError(
                f"combine='mean' averages predict_proba, which {type(self.estimator).__name__} "
                "does not have; use combine='best' or combine='refit'."
            )

    def _probabilities(self, estimator, X) -> np.ndarray:
        """``predict_proba`` of one member, with a column for each of ``classes_``."""
        proba = estimator.predict_proba(X)
        if len(estimator.classes_) == len(self.classes_):
            return proba
        aligned = np.zeros((proba.shape[0], len(self.classes_)), dtype=proba.dtype)
        aligned[:, np.searchsorted(self.classes_, estimator.classes_)] = proba
        return aligned

    def _serving_outputs(self, x) -> dict:
        """``predict_proba`` as Keras operations on ``x``, for :func:`skkeras.export`."""
        from .._export import serving_outputs
        from .._keras import import_keras

        ops = import_keras().ops
        probabilities = []
        for member in self._predictors():
            proba = serving_outputs(member, x).get("predict_proba")
            if proba is None:
                raise TypeError(
                    f"export needs predict_proba from every member of {type(self).__name__}; "
                    f"{type(member).__name__} serves predict only."
                )
            if len(member.classes_) != len(self.classes_):
                columns = np.searchsorted(self.classes_, member.classes_)
                spread = np.zeros((len(member.classes_), len(self.classes_)), "float32")
                spread[np.arange(len(member.classes_)), columns] = 1.0
                proba = ops.matmul(proba, spread)
            probabilities.append(proba)
        if len(probabilities) == 1:
            return {"predict_proba": probabilities[0]}
        return {"predict_proba": ops.mean(ops.stack(probabilities), axis=0)}

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of shape (n_samples, n_classes), combined as ``combine`` says."""
        predictors = self._predictors()
        return np.mean([self._probabilities(member, X) for member in predictors], axis=0)

    def predict(self, X) -> np.ndarray:
        """Predicted class labels."""
        predictors = self._predictors()
        if len(predictors) == 1:
            return predictors[0].predict(X)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class KFoldEnsembleRegressor(RegressorMixin, _BaseKFoldEnsemble):
    __doc__ = f"""Train one regressor per fold and combine them (mean, best or refit).

    Parameters
    ----------
    {
        _PARAMS_DOC.format(
            default_cv="KFold", what="the predictions", default_score="the R² score"
        ).strip()
    }

    Attributes
    ----------
    {_ATTRIBUTES_DOC.strip()}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.model_selection import KFold
    >>> from skkeras import KerasMLPRegressor
    >>> from skkeras.ensemble import KFoldEnsembleRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> mlp = KerasMLPRegressor((16,), learning_rate=0.01, epochs=30, random_state=0)
    >>> ensemble = KFoldEnsembleRegressor(
    ...     mlp, cv=KFold(3, shuffle=True, random_state=0), combine="refit"
    ... ).fit(X, y)
    >>> ensemble.refit_epochs_ == round(ensemble.fold_epochs_.mean())
    True
    """

    def _serving_outputs(self, x) -> dict:
        """``predict`` as Keras operations on ``x``, for :func:`skkeras.export`."""
        from .._export import serving_outputs
        from .._keras import import_keras

        ops = import_keras().ops
        predictions = [serving_outputs(member, x)["predict"] for member in self._predictors()]
        if len(predictions) == 1:
            return {"predict": predictions[0]}
        return {"predict": ops.mean(ops.stack(predictions), axis=0)}

    def predict(self, X) -> np.ndarray:
        """Predicted values (float64), the mean of the fold models' for ``combine="mean"``."""
        predictions = [member.predict(X) for member in self._predictors()]
        return np.mean(predictions, axis=0, dtype=np.float64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = get_tags(self.estimator).target_tags.multi_output
        return tags
