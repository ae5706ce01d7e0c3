"""Regressor behaviour on top of the estimator core."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import RegressorMixin

from ._base import CONTINUED_TARGET_ADVICE, BaseKerasEstimator
from ._param_checks import _predict_batch_size
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
        self._check_fitted_outputs(y, "y", advice=CONTINUED_TARGET_ADVICE)

    def _check_validation_target(self, y_val) -> None:
        self._check_fitted_outputs(y_val, "y_val")

    def _check_fitted_outputs(self, y, name: str, advice: str = "") -> None:
        """Refuse ``y`` (named ``name``) with another number of outputs than the fitted
        target; ``advice`` ends the message."""
        n_outputs = 1 if y.ndim == 1 else y.shape[1]
        if n_outputs != self.n_outputs_:
            allowed = (
                "(n_samples,) or (n_samples, 1)" if self.n_outputs_ == 1
                else f"(n_samples, {self.n_outputs_})"
            )
            raise ValueError(
                f"{name} has shape {y.shape}, with {n_outputs} output(s), but "
                f"{type(self).__name__} is fitted on y with {self.n_outputs_}: pass {name} of "
                f"shape {allowed}.{advice}"
            )

    def _model_facts(self, model, X) -> dict[str, Any]:
        from ._base import _output_size

        size = _output_size(model, X)
        if size is not None and size != self.n_outputs_:
            shape = (
                "(n_samples,)" if self.target_.one_dimensional
                else f"(n_samples, {self.n_outputs_})"
            )
            raise ValueError(
                f"The model built for {type(self).__name__} has {size} output values per "
                f"sample, but y of shape {shape} has {self.n_outputs_}: the output layer needs "
                f"{self.n_outputs_} unit{'s' if self.n_outputs_ > 1 else ''}. Build it from "
                "meta['n_outputs_']."
            )
        return super()._model_facts(model, X)

    def _default_loss(self, n_units: int | None):
        return "mean_squared_error"

    def predict(self, X, **kwargs) -> np.ndarray:
        """Predicted values, of shape (n_samples,) or (n_samples, n_outputs) like ``y``.

        ``batch_size`` (rows per forward pass, -1 for all) may be given as a keyword, as
        scikeras accepts; prefer the routed ``predict__batch_size`` parameter.
        """
        outputs = self._predict_outputs(X, _predict_batch_size(self, kwargs, "predict"))
        return self.target_.decode(outputs)
