"""Validation and conversion of ``X``, ``y`` and ``sample_weight`` before any training starts."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import _check_sample_weight, column_or_1d, validate_data

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _to_float32(X) -> np.ndarray:
    if sp.issparse(X):
        X = X.toarray()
    return np.ascontiguousarray(X, dtype=np.float32)


def _describe_conversion_error(error: Exception) -> str:
    return (
        f"X must contain only numbers (ints, floats or bools); converting it to float failed: "
        f"{error}. Encode text or categorical columns first, e.g. with OneHotEncoder."
    )


def check_fit_data(estimator, X, y, *, reset: bool, allow_nd: bool, y_numeric: bool):
    """Validate ``X`` and ``y`` for ``fit``; sets ``n_features_in_``/``feature_names_in_``."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    try:
        X, y = validate_data(
            estimator,
            X,
            y,
            reset=reset,
            accept_sparse=True,
            dtype=[np.float32, np.float64],
            allow_nd=allow_nd,
            multi_output=True,
            y_numeric=y_numeric,
        )
    except ValueError as error:
        if "could not convert" in str(error):
            raise ValueError(_describe_conversion_error(error)) from error
        raise
    if y.ndim == 2 and y.shape[1] == 1 and not y_numeric:
        y = column_or_1d(y, warn=True)
    if y_numeric:
        y = np.asarray(y, dtype=np.float64)
    return _to_float32(X), y


def _is_ready(estimator, X) -> bool:
    """Whether ``validate_data`` would hand ``X`` back as it is, warning of nothing: a NumPy
    array (not a subclass) of float32 or float64 with at least one row, of the shape ``fit``
    saw, whose values are all finite (their sum, accumulated in float64, is), for an estimator
    fitted without feature names. Predicting a few rows takes about a third of the time of
    ``validate_data``'s checks of them."""
    return (
        type(X) is np.ndarray
        and X.dtype in _FLOAT_DTYPES
        and X.shape[1:] == tuple(estimator.X_shape_[1:])
        and len(X) > 0
        and "feature_names_in_" not in estimator.__dict__
        and bool(np.isfinite(X.sum(dtype=np.float64)))
    )


def check_predict_data(estimator, X, *, allow_nd: bool) -> np.ndarray:
    """Validate ``X`` for prediction against what ``fit`` saw."""
    if _is_ready(estimator, X):
        return _to_float32(X)
    try:
        X = validate_data(
            estimator,
            X,
            reset=False,
            accept_sparse=True,
            dtype=[np.float32, np.float64],
            allow_nd=allow_nd,
        )
    except ValueError as error:
        if "could not convert" in str(error):
            raise ValueError(_describe_conversion_error(error)) from error
        raise
    expected = tuple(estimator.X_shape_[1:])
    if tuple(X.shape[1:]) != expected:
        raise ValueError(
            f"X has shape {X.shape} but {type(estimator).__name__} was fitted on samples of shape "
            f"{expected}; pass X of shape (n_samples, {', '.join(map(str, expected))})."
        )
    return _to_float32(X)


def check_weights(sample_weight, X) -> np.ndarray | None:
    """Validate ``sample_weight``; refuse all-zero weights."""
    if sample_weight is None:
        return None
    sample_weight = _check_sample_weight(
        sample_weight, X, dtype=np.float64, ensure_non_negative=True
    )
    if not np.any(sample_weight > 0):
        raise ValueError(
            "sample_weight must contain at least one positive number; got all zeros."
        )
    return sample_weight
