"""scikeras's subclassing hooks for the wrappers: ``target_encoder`` / ``feature_encoder``
transformers, ``scorer``, and the facts (dtypes, dimensions) scikeras records in ``fit``.

Only a subclass that overrides a hook pays for it: the wrappers' own target handling and
prediction shortcuts stay in place otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import type_of_target


def accuracy_scorer(y_true, y_pred, **kwargs) -> float:
    """scikeras's default ``KerasClassifier.scorer``: :func:`sklearn.metrics.accuracy_score`."""
    return float(accuracy_score(y_true, y_pred, **kwargs))


def r2_scorer(y_true, y_pred, **kwargs) -> float:
    """scikeras's default ``KerasRegressor.scorer``: :func:`sklearn.metrics.r2_score`."""
    return float(r2_score(y_true, y_pred, **kwargs))


DEFAULT_SCORERS = (accuracy_scorer, r2_scorer)


def input_dtype(values) -> np.dtype:
    """The dtype of ``values`` as given to ``fit`` (before the conversion to float32): an
    array's or sparse matrix's own, a DataFrame's columns' common one, a list's as NumPy reads
    it."""
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype
    dtypes = getattr(values, "dtypes", None)
    try:
        if dtypes is not None and not isinstance(dtypes, np.dtype):
            return np.result_type(*[np.dtype(d) for d in dtypes])
        return np.asarray(values).dtype
    except (TypeError, ValueError):  # e.g. pandas extension dtypes without a NumPy one
        return np.dtype(object)


def input_ndim(values) -> int:
    """The number of dimensions of ``values`` as given to ``fit``."""
    ndim = getattr(values, "ndim", None)
    return ndim if isinstance(ndim, int) else np.asarray(values).ndim


def encoder_metadata(encoder, hook: str) -> dict[str, Any]:
    """The fitted attributes a fitted encoder's ``get_metadata()`` declares (as in scikeras);
    refuse names that are not fitted-attribute names (they would overwrite parameters)."""
    metadata = dict(getattr(encoder, "get_metadata", dict)())
    for key in metadata:
        if not (isinstance(key, str) and key.endswith("_") and not key.startswith("_")):
            raise ValueError(
                f"The {hook}'s get_metadata() must return fitted-attribute names (ending in "
                f"'_', e.g. 'n_classes_'); got the key {key!r}."
            )
    return metadata


@dataclass
class EncodedTarget:
    """A target handled by a subclass's ``target_encoder`` (in place of skkeras's own encoding):
    ``fit`` transforms ``y`` with it, predictions are its ``inverse_transform`` of the network's
    raw outputs (a list for a multi-output network)."""

    encoder: Any
    target_type: str
    n_outputs: int
    estimator_name: str

    @classmethod
    def fit(cls, encoder, y: np.ndarray, estimator_name: str) -> EncodedTarget:
        fitted = encoder.fit(y)
        if fitted is None:  # a transformer whose fit does not return self
            fitted = encoder
        return cls(
            encoder=fitted,
            target_type=_target_type(y),
            n_outputs=1 if np.ndim(y) < 2 else int(np.shape(y)[1]),
            estimator_name=estimator_name,
        )

    def encode(self, y: np.ndarray):
        return self.encoder.transform(y)

    def decode(self, outputs):
        """Predictions from the raw outputs (a regressor's ``predict``)."""
        return self.encoder.inverse_transform(outputs)

    def probabilities(self, outputs):
        """``predict_proba``: ``inverse_transform(outputs, return_proba=True)``, as scikeras."""
        try:
            return self.encoder.inverse_transform(outputs, return_proba=True)
        except TypeError as error:
            if "return_proba" not in str(error):
                raise
            raise TypeError(
                f"{self.estimator_name}.predict_proba calls its target_encoder's "
                "inverse_transform(outputs, return_proba=True) (as scikeras does); "
                f"{type(self.encoder).__name__}.inverse_transform takes no return_proba "
                "argument. Add one (default False) that returns the probabilities."
            ) from error


def _target_type(y) -> str:
    try:
        return type_of_target(y)
    except ValueError:
        return "unknown"
