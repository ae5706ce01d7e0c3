"""Validation and conversion of ``X``, ``y`` and ``sample_weight`` before any training starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    column_or_1d,
    validate_data,
)

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _cast_float32(X) -> np.ndarray:
    """``X`` as a C-contiguous float32 array; values beyond float32's range become +-inf
    (without NumPy's overflow warning: :func:`_all_finite` finds them)."""
    if sp.issparse(X):
        X = X.toarray()
    if getattr(X, "dtype", None) == np.float32:  # nothing to cast (nor a warning to silence)
        return np.ascontiguousarray(X)
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(X, dtype=np.float32)


def _all_finite(X: np.ndarray) -> bool:
    """Whether every value of the float32 array ``X`` is finite (for 10,000 x 64 values, a
    quarter of the time of a sum accumulated in float64)."""
    return bool(np.isfinite(X).all())


def _to_float32(X, name: str = "X") -> np.ndarray:
    """``X`` (finite, as validated) converted to float32; refuses values that do not fit."""
    converted = _cast_float32(X)
    if not _all_finite(converted):
        raise ValueError(_too_large_message(name, X, converted))
    return converted


def _too_large_message(name: str, original, converted: np.ndarray) -> str:
    position = tuple(int(i) for i in np.argwhere(~np.isfinite(converted))[0])
    if sp.issparse(original):
        original = original.toarray()
    value = np.asarray(original)[position].item()
    where = position[0] if len(position) == 1 else position
    scaler = "StandardScaler" if name == "X" else "TransformedTargetRegressor"
    return (
        f"Input {name} contains a value too large for float32: {value!r} at index {where}. "
        f"skkeras networks compute in float32, whose values must lie within "
        f"+-{_FLOAT32_MAX:.8g}; scale {name} (e.g. with {scaler}) or clip it."
    )


def _describe_conversion_error(error: Exception) -> str:
    return (
        f"X must contain only numbers (ints, floats or bools); converting it to float failed: "
        f"{error}. Encode text or categorical columns first, e.g. with OneHotEncoder."
    )


def dense_target(estimator, y, *, y_numeric: bool, name: str = "y"):
    """``y`` with a scipy.sparse matrix made dense: a classifier's sparse multilabel indicator
    matrix is accepted (as by scikit-learn's ``MLPClassifier``); a regressor refuses sparse
    targets (as ``MLPRegressor`` does). Anything else is returned as it is."""
    if not sp.issparse(y):
        return y
    if y_numeric:
        raise TypeError(
            f"Sparse data was passed for {name} ({type(y).__name__} of shape {y.shape}), but "
            f"{type(estimator).__name__} needs a dense target: a NumPy array of shape "
            f"(n_samples,) or (n_samples, n_outputs). Use {name}.toarray() to convert it."
        )
    return y.toarray()


def check_fit_data(estimator, X, y, *, reset: bool, allow_nd: bool, y_numeric: bool):
    """Validate ``X`` and ``y`` for ``fit``; sets ``n_features_in_``/``feature_names_in_``."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None."
        )
    y = dense_target(estimator, y, y_numeric=y_numeric)
    if allow_nd and not reset:  # training continues on the samples the network was built for
        check_sample_shape(estimator, X)
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
    if not reset:
        _check_validated_sample_shape(estimator, X)
    _check_no_empty_dimension(estimator, X)
    return _to_float32(X), _training_target(y, y_numeric=y_numeric, name="y")


def _training_target(y, *, y_numeric: bool, name: str) -> np.ndarray:
    """Validated targets as training takes them: a regressor's as float64, refused beyond
    float32's range (the network could not represent them); a classifier's column vector made
    1-D (with scikit-learn's DataConversionWarning for ``y``)."""
    if y_numeric:
        try:
            y = np.asarray(y, dtype=np.float64)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"{name} must contain only numbers for a regressor; converting it to float "
                f"failed: {error}. For class labels, use a classifier."
            ) from error
        _to_float32(y, name)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=name == "y")
    return y


def _is_ready(estimator, X) -> bool:
    """Whether ``validate_data`` would hand ``X`` back as it is, warning of nothing, if its
    values are finite: a NumPy array (not a subclass) of float32 or float64 with at least one
    row, of the shape ``fit`` saw, for an estimator fitted without feature names. Predicting a
    few rows takes about a third of the time of ``validate_data``'s checks of them."""
    return (
        type(X) is np.ndarray
        and X.dtype in _FLOAT_DTYPES
        and X.shape[1:] == tuple(estimator.X_shape_[1:])
        and len(X) > 0
        and "feature_names_in_" not in estimator.__dict__
    )


def check_predict_data(estimator, X, *, allow_nd: bool) -> np.ndarray:
    """Validate ``X`` for prediction against what ``fit`` saw."""
    if _is_ready(estimator, X):
        # finiteness is checked on the float32 array the network gets, not on X: one pass
        # that also finds float64 values beyond float32's range (they became inf)
        converted = _cast_float32(X)
        if _all_finite(converted):
            return converted
        # NaN or inf: validate_data's error names it; values too large for float32 pass it
        # and are refused by _to_float32 below
    if allow_nd:
        check_sample_shape(estimator, X)
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
    _check_validated_sample_shape(estimator, X)
    return _to_float32(X)


def check_sample_shape(estimator, X) -> None:
    """Refuse sequences or images (an array of more than 2 dimensions, or any array when
    ``fit`` saw one) whose samples have another shape than ``fit``'s, before
    ``validate_data`` would compare ``X.shape[1]`` alone and call timesteps or image rows
    "features". Lists and 2-D data for a 2-D fit are left to ``validate_data``."""
    expected = tuple(estimator.X_shape_[1:])
    shape = getattr(X, "shape", None)
    if not isinstance(shape, tuple) or len(shape) < 2:
        return
    if (len(expected) >= 2 or len(shape) > 2) and tuple(shape[1:]) != expected:
        raise ValueError(_sample_shape_message(estimator, shape, expected))


def _check_no_empty_dimension(estimator, X) -> None:
    """Refuse sequences or images with a dimension of size 0 (``validate_data`` checks only
    that 2-D X has a column)."""
    empty = [axis for axis, size in enumerate(X.shape) if size == 0 and axis > 0]
    if empty:
        raise ValueError(
            f"X has shape {tuple(X.shape)}, with no values along axis {empty[0]}: "
            f"{type(estimator).__name__} needs samples with at least one value along every "
            "dimension (timesteps and features; height, width and channels)."
        )


def _check_validated_sample_shape(estimator, X: np.ndarray) -> None:
    expected = tuple(estimator.X_shape_[1:])
    if tuple(X.shape[1:]) != expected:
        raise ValueError(_sample_shape_message(estimator, X.shape, expected))


def _sample_shape_message(estimator, shape: tuple, expected: tuple) -> str:
    return (
        f"X has shape {tuple(shape)} but {type(estimator).__name__} was fitted on samples of "
        f"shape {expected}; pass X of shape (n_samples, {', '.join(map(str, expected))})."
    )


def check_weights(sample_weight, X) -> np.ndarray | None:
    """Validate ``sample_weight``; refuse all-zero weights."""
    if sample_weight is None:
        return None
    try:
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
    except ValueError as error:
        if "could not convert" not in str(error):
            raise
        raise ValueError(
            f"sample_weight must contain only numbers; converting it to float failed: {error}."
        ) from error
    if not np.any(sample_weight > 0):
        raise ValueError(
            "sample_weight must contain at least one positive number; got all zeros."
        )
    return sample_weight


def check_validation_data(estimator, validation_data, *, allow_nd: bool, y_numeric: bool):
    """``validation_data`` as ``(X_val, y_val, sample_weight)``, checked as ``fit``'s own data
    are (``X_val`` as for prediction; ``y_val`` dense, finite, numeric and within float32's range
    for a regressor; weights non-negative, finite, of ``X_val``'s length), each error naming
    ``validation_data``. The estimator's ``_check_validation_target`` matches ``y_val`` to the
    fitted target (classes, outputs)."""
    if not isinstance(validation_data, tuple | list) or len(validation_data) not in (2, 3):
        raise ValueError(
            "validation_data must be a tuple (X_val, y_val) or (X_val, y_val, sample_weight); "
            f"got {type(validation_data).__name__}."
        )
    with _naming("X_val"):
        X_val = check_predict_data(estimator, validation_data[0], allow_nd=allow_nd)
    with _naming("y_val"):
        y_val = _validation_target(estimator, validation_data[1], y_numeric=y_numeric)
    if len(y_val) != len(X_val):
        raise ValueError(
            f"validation_data has {len(X_val)} samples in X_val but {len(y_val)} in y_val."
        )
    with _naming("y_val"):
        estimator._check_validation_target(y_val)
    weights = validation_data[2] if len(validation_data) == 3 else None
    with _naming("sample_weight"):
        weights = check_weights(weights, X_val)
        if weights is not None:  # kept as given (not scaled like fit's): Keras reads float32
            _to_float32(weights, "sample_weight")
    return X_val, y_val, weights


@contextmanager
def _naming(part: str) -> Iterator[None]:
    """Re-raise a ValueError or TypeError about ``part`` of ``validation_data`` naming it."""
    try:
        yield
    except (ValueError, TypeError) as error:
        kind = ValueError if isinstance(error, ValueError) else TypeError
        raise kind(f"Invalid {part} in validation_data: {error}") from error


def _validation_target(estimator, y, *, y_numeric: bool) -> np.ndarray:
    """``y_val`` checked as ``check_fit_data`` checks ``y``."""
    y = dense_target(estimator, y, y_numeric=y_numeric, name="y_val")
    y = check_array(
        y, ensure_2d=False, dtype=np.float64 if y_numeric else None, input_name="y_val"
    )
    return _training_target(y, y_numeric=y_numeric, name="y_val")
