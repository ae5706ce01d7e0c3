"""Regressor behaviour on top of the estimator core."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from ._base import BaseKerasEstimator
from ._targets import RegressorTarget


class KerasRegressorBase(RegressorMixin, BaseKerasEstimator):
    """Shared regressor logic: float targets, single or multiple outputs."""

    _y_numeric = True

    def _fit_target(self, y) -> RegressorTarget:
        target = RegressorTarget.fit(y)
        self.n_outputs_ = target.n_outputs
        self.target_type_ = target.target_type
        return target

    def _check_continued_target(self, y) -> None:
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} outputs but {type(self).__name__} was fitted on "
                f"{self.n_outputs_}; refit with warm_start=False."
            )

    def _default_loss(self, n_units: int | None):
        return "mean_squared_error"

    def predict(self, X) -> np.ndarray:
        """Predicted values, of shape (n_samples,) or (n_samples, n_outputs) like ``y``."""
        outputs = self._predict_outputs(X)
        return self.target_.decode(outputs)
