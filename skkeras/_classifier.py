"""Classifier behaviour on top of the estimator core."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight

from ._base import CONTINUED_TARGET_ADVICE, BaseKerasEstimator
from ._param_checks import _predict_batch_size
from ._targets import (
    MULTILABEL,
    ClassifierTarget,
    is_categorical_loss,
    is_integer_labels,
    is_onehot,
)


class KerasClassifierBase(ClassifierMixin, BaseKerasEstimator):
    """Shared classifier logic: label encoding, probabilities, class weights, stratification."""

    _parameter_constraints: dict = {
        **BaseKerasEstimator._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def partial_fit(
        self, X, y, classes=None, sample_weight=None, **fit_params
    ) -> KerasClassifierBase:
        """Train for one epoch, building the network first if it is not fitted yet.

        Parameters
        ----------
        X, y, sample_weight, **fit_params
            As in :meth:`fit`.
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear, needed on the first call when a batch may not
            contain every class (as in scikit-learn's ``partial_fit``).

        Returns
        -------
        self : object
            The estimator, trained for one more epoch.

        Notes
        -----
        A call that raises keeps what it trained, as a continued :meth:`fit` does (see its
        Notes): an epoch that completed or diverged is in the weights and counted in
        ``history_``, ``n_iter_`` and ``current_epoch``; one interrupted between its steps is
        not counted, but the steps it ran are in the weights. The first call, which builds the
        network, leaves the estimator as it was before (unfitted) instead.
        """
        self._check_partial_fit_classes(classes)
        self._partial_fit_classes = classes
        try:
            return super().partial_fit(X, y, sample_weight=sample_weight, **fit_params)
        finally:
            del self._partial_fit_classes

    def _check_partial_fit(self) -> None:
        super()._check_partial_fit()
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: each batch would be "
                "balanced on its own class counts. Compute the weights once, e.g. "
                "dict(zip(classes, compute_class_weight('balanced', classes=classes, y=y))) with "
                "sklearn.utils.class_weight.compute_class_weight on the whole target (or a large "
                "enough sample of it), and pass that dict as class_weight."
            )

    def _check_partial_fit_classes(self, classes) -> None:
        """Refuse ``classes=`` different from those the network was fitted on, as
        scikit-learn's incremental classifiers do."""
        if classes is None or not self._is_fitted():
            return
        fitted = getattr(self, "classes_", None)
        if fitted is None:  # a target_encoder that declares no classes_, none given before
            raise ValueError(
                f"`classes={list(classes)!r}` was given to partial_fit after the first call, "
                "which had no classes and whose target_encoder declares no classes_: the "
                "classes are set on the first call only. Refit with fit (or a fresh estimator) "
                "to give them."
            )
        if not _same_classes(np.unique(np.asarray(classes)), fitted):
            raise ValueError(
                f"`classes={list(classes)!r}` is not the same as on last call to partial_fit, "
                f"was: {np.asarray(fitted, dtype=object).tolist()!r}. Refit with fit (or a "
                "fresh estimator) to change the classes."
            )

    def _check_params(self) -> None:
        super()._check_params()
        _check_class_weight(self.class_weight)

    def _fit_target(self, y) -> ClassifierTarget:
        target = ClassifierTarget.fit(
            y,
            estimator_name=type(self).__name__,
            classes=getattr(self, "_partial_fit_classes", None),
            onehot_as_classes=self._onehot_as_classes(),
        )
        self.classes_ = target.classes
        self.n_classes_ = target.n_classes
        self.n_outputs_ = target.n_outputs
        self.target_type_ = target.target_type
        return target

    def _onehot_as_classes(self) -> bool:
        """Whether a one-hot ``y`` (0/1, exactly one 1 per row) is one class per row rather
        than a multilabel target: when the loss is categorical cross-entropy (the generic
        wrappers always, as scikeras does)."""
        return is_categorical_loss(getattr(self, "loss", None))

    def _model_facts(self, model, X) -> dict[str, Any]:
        from ._base import _output_size, _output_units

        self._check_output_size(_output_size(model, X))
        facts = super()._model_facts(model, X)
        facts["encoding"] = self.target_.choose_encoding(model.loss, _output_units(model, X))
        return facts

    def _check_output_size(self, size: int | None) -> None:
        """Refuse, before training, a network whose outputs per sample cannot be turned into
        the probabilities of ``y``'s classes (or labels)."""
        target = self.target_
        n = target.n_classes
        if target.multilabel:
            allowed, kind, needed = (n,), "labels", f"{n} sigmoid units (one per label)"
        elif n == 2:
            allowed, kind, needed = (1, 2), "classes", "1 sigmoid unit or 2 softmax units"
        else:
            allowed, kind, needed = (n,), "classes", f"{n} softmax units (one per class)"
        if size is None or size in allowed:
            return
        raise ValueError(
            f"The model built for {type(self).__name__} has {size} output values per sample, "
            f"but y is a {'one-hot' if target.onehot else target.target_type} target with {n} "
            f"{kind}{_listed(target.classes)}: the "
            "output layer needs " + needed + ". Build it from meta['n_classes_'] (and "
            "meta['target_type_'])."
        )

    def _apply_model_facts(self, facts: dict[str, Any]) -> None:
        super()._apply_model_facts(facts)
        self.target_.encoding = facts["encoding"]

    def _check_continued_target(self, y) -> None:
        self._check_fitted_target(y, "y", advice=CONTINUED_TARGET_ADVICE)

    def _check_validation_target(self, y_val) -> None:
        self._check_fitted_target(y_val, "y_val")

    def _check_fitted_target(self, y, name: str, advice: str = "") -> None:
        """Refuse ``y`` (named ``name``) unlike the fitted target: another shape, a one-hot
        row that is not, a label other than 0 and 1 in a multilabel indicator, an unseen
        class; ``advice`` ends the message."""
        target = self.target_
        self._check_target_shape(y, name, advice)
        if target.onehot:
            if not is_onehot(y):
                raise ValueError(
                    f"{name} must be one-hot encoded like the y {type(self).__name__} is "
                    f"fitted on: 0/1 values with exactly one 1 per row.{advice}"
                )
            return
        if target.multilabel:
            values = np.setdiff1d(np.unique(y), [0, 1])
            if values.size:
                raise ValueError(
                    f"{name} contains {values.tolist()}; a multilabel indicator {name} holds 0 "
                    f"and 1 only.{advice}"
                )
            return
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"{name} contains classes {unseen.tolist()} that are not among the fitted "
                f"classes_={self.classes_.tolist()}.{advice}"
            )

    def _check_target_shape(self, y, name: str, advice: str) -> None:
        """Refuse ``y`` whose shape is not the fitted target's: one label per sample, or one
        column per class (one-hot) or per label (multilabel)."""
        target = self.target_
        n = target.n_classes
        if target.onehot:
            fitted, columns = f"a one-hot y with {n} columns (one per class)", n
        elif target.multilabel:
            fitted, columns = f"a multilabel y with {n} labels (columns)", n
        else:
            fitted, columns = "one label per sample", None
        shape = (len(y),) if columns is None else (len(y), columns)
        if y.shape != shape:
            allowed = "(n_samples,)" if columns is None else f"(n_samples, {columns})"
            raise ValueError(
                f"{name} has shape {y.shape} but {type(self).__name__} is fitted on {fitted}; "
                f"pass {name} of shape {allowed}.{advice}"
            )

    def _meta(self) -> dict[str, Any]:
        meta = super()._meta()
        meta.update(classes_=self.classes_, n_classes_=self.n_classes_)
        return meta

    def _default_loss(self, n_units: int | None):
        if self.target_.multilabel or n_units == 1:
            return "binary_crossentropy"
        return "sparse_categorical_crossentropy"

    def _sample_weight_for(self, y, sample_weight):
        if self.class_weight is None:
            return sample_weight
        if self.target_.encoding == MULTILABEL or self.target_.multilabel:
            raise ValueError("class_weight is not supported for multilabel targets.")
        # one-hot rows are weighted by their class (column index), as Keras's class_weight
        labels = self.target_.indices(y) if self.target_.onehot else y
        weights = compute_sample_weight(self.class_weight, labels)
        return weights if sample_weight is None else weights * sample_weight

    def _stratify_labels(self, y):
        if self.target_.multilabel:
            return None
        return self.target_.indices(y)

    def predict_proba(self, X, **kwargs) -> np.ndarray:
        """Class probabilities of shape (n_samples, n_classes).

        For a multilabel target, the probability of each label (n_samples, n_labels).
        ``batch_size`` (rows per forward pass, -1 for all) may be given as a keyword, as
        scikeras accepts; prefer the routed ``predict__batch_size`` parameter.
        """
        outputs = self._predict_outputs(X, _predict_batch_size(self, kwargs, "predict_proba"))
        return self.target_.probabilities(outputs)

    def predict(self, X, **kwargs) -> np.ndarray:
        """Predicted class labels (an indicator matrix for multilabel targets; one-hot rows for
        a one-hot ``y``). ``batch_size`` may be given as in :meth:`predict_proba`."""
        probabilities = self.predict_proba(X, **kwargs)
        return self.target_.decode(probabilities)

    def score(self, X, y, sample_weight=None) -> float:
        """Mean accuracy of :meth:`predict` on ``X`` against ``y``, as scikit-learn's
        ``ClassifierMixin.score``.

        Integer labels without sample weights are compared directly: ``accuracy_score``'s
        checks of the targets take longer than predicting a few hundred rows, and a search or a
        pruned study scores every fold (every epoch, when pruning).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The fraction of correctly predicted samples (weighted by ``sample_weight``).
        """
        predicted = self.predict(X)
        if sample_weight is None and _same_integer_labels(y, predicted):
            return float(np.mean(y == predicted))
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(y, predicted, sample_weight=sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _check_class_weight(class_weight) -> None:
    """Refuse class weights that are not non-negative finite numbers (a negative one trains by
    gradient ascent on its class, NaN ruins the loss), before any training."""
    if not isinstance(class_weight, dict):
        return
    for label, weight in class_weight.items():
        number = isinstance(weight, Real) and not isinstance(weight, bool)
        if not number or not np.isfinite(weight) or weight < 0:
            raise ValueError(
                f"class_weight must map each class to a non-negative finite number; got "
                f"{weight!r} for class {label!r}."
            )


def _same_classes(given: np.ndarray, fitted) -> bool:
    """Whether ``given`` (sorted unique classes) are the fitted ``classes_`` (an array, or
    whatever a target_encoder's metadata declared)."""
    try:
        fitted = np.asarray(fitted)
    except ValueError:  # e.g. a ragged list of per-output classes
        return False
    return given.shape == fitted.shape and bool(np.array_equal(given, fitted))


def _same_integer_labels(y, predicted: np.ndarray) -> bool:
    """Whether ``y`` and ``predicted`` are 1-D integer (or bool) arrays of one length: labels
    ``accuracy_score`` would compare element by element without complaint."""
    return is_integer_labels(y) and is_integer_labels(predicted) and len(y) == len(predicted)


def _listed(classes: np.ndarray, limit: int = 10) -> str:
    """`` (classes [...])`` for a few classes, nothing for many."""
    return f" {classes.tolist()!r}" if len(classes) <= limit else ""
