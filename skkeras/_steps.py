"""Finding the skkeras network inside an estimator or a Pipeline, for the meta-tools.

``bootstrap_evaluate`` and the k-fold ensembles need to switch early stopping on, read the
epochs a fit needed and pass a validation set to the network, whether they are given the
network itself or a Pipeline ending in one.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

from sklearn.pipeline import Pipeline

from ._base import BaseKerasEstimator


def keras_step(estimator) -> tuple[str, BaseKerasEstimator] | None:
    """The skkeras estimator that ``estimator`` trains, with its parameter prefix.

    Returns ``("", estimator)`` for a skkeras estimator, ``("name__", step)`` when it is the last
    step of a Pipeline (nested Pipelines are followed), and ``None`` otherwise.
    """
    if isinstance(estimator, BaseKerasEstimator):
        return "", estimator
    if isinstance(estimator, Pipeline) and estimator.steps:
        name, last = estimator.steps[-1]
        found = keras_step(last)
        if found is not None:
            return f"{name}__{found[0]}", found[1]
    return None


def set_keras_params(estimator, **params: Any) -> bool:
    """Set parameters of the skkeras estimator inside ``estimator``; False when there is none."""
    found = keras_step(estimator)
    if found is None:
        return False
    prefix = found[0]
    estimator.set_params(**{prefix + key: value for key, value in params.items()})
    return True


def fitted_epochs(estimator) -> int | None:
    """Epochs a fitted estimator needed: the network's ``best_epoch_`` (``None`` if unknown)."""
    found = keras_step(estimator)
    if found is None:
        n_iter = getattr(estimator, "n_iter_", None)
        return int(n_iter) if isinstance(n_iter, Integral) else None
    return int(found[1].best_epoch_)


def fit_with_validation(estimator, X, y, *, sample_weight=None, validation=None):
    """Fit ``estimator``; its skkeras network early-stops on ``validation`` when one is given.

    ``validation`` is ``(X_val, y_val)`` or ``(X_val, y_val, sample_weight_val)`` in the input
    space of ``estimator``. For a Pipeline, the steps before the network are fitted on ``X`` and
    ``validation`` is transformed by them before it reaches the network, so it is scaled the same
    way as the training data (and ``sample_weight`` goes to the last step). Estimators without a
    skkeras network are fitted without ``validation``.
    """
    if isinstance(estimator, Pipeline):
        head, (_, last) = estimator[:-1], estimator.steps[-1]
        if len(head):
            X = head.fit_transform(X, y)
            # with ``memory`` set, the Pipeline fits clones: keep the fitted steps
            estimator.steps = [*head.steps, estimator.steps[-1]]
            if validation is not None:
                validation = (head.transform(validation[0]), *validation[1:])
        fit_with_validation(last, X, y, sample_weight=sample_weight, validation=validation)
        return estimator
    kwargs: dict[str, Any] = {}
    if sample_weight is not None:
        kwargs["sample_weight"] = sample_weight
    if validation is not None and isinstance(estimator, BaseKerasEstimator):
        kwargs["validation_data"] = tuple(validation)
    return estimator.fit(X, y, **kwargs)
