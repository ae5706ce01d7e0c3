"""Sliding windows over a series: ``X`` windows and the values ``horizon`` steps after each."""

from __future__ import annotations

from numbers import Integral

import numpy as np


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(
            f"The {name!r} parameter of to_sequences must be an int >= 1. Got {value!r} instead."
        )
    return int(value)


_DTYPE_KINDS = {
    "O": "Python objects", "U": "strings", "S": "bytes", "c": "complex numbers",
    "M": "datetimes", "m": "timedeltas",
}


def _as_series(data) -> tuple[np.ndarray, bool]:
    """The series as an (n_steps, n_features) array, and whether it was one-dimensional."""
    series = np.asarray(data)
    if series.dtype.kind not in "biuf":  # bool, int, unsigned or float
        kind = _DTYPE_KINDS.get(series.dtype.kind, "not numbers")
        raise ValueError(
            "data must be a numeric array of shape (n_steps,) or (n_steps, n_features); "
            f"got an array of dtype {series.dtype} ({kind}). Encode text or categorical "
            "columns as numbers first."
        )
    if series.ndim not in (1, 2):
        raise ValueError(
            "data must have shape (n_steps,) or (n_steps, n_features); got an array of shape "
            f"{series.shape}."
        )
    if series.ndim == 2 and series.shape[1] == 0:
        raise ValueError(
            f"data has shape {series.shape}, with no features; pass a series with at least one "
            "feature (column)."
        )
    if series.ndim == 1:
        return series.reshape(-1, 1), True
    return series, False


def _target_columns(targets, n_features: int):
    """Column indices of ``y`` and whether ``y`` is one-dimensional."""
    if targets is None:
        return np.arange(n_features), n_features == 1
    single = isinstance(targets, Integral) and not isinstance(targets, bool)
    columns = np.atleast_1d(np.asarray(targets))
    if columns.ndim != 1 or columns.size == 0 or columns.dtype.kind not in "iu":
        raise ValueError(
            "targets must be a column index or a non-empty list of column indices; "
            f"got {targets!r}."
        )
    if columns.min() < -n_features or columns.max() >= n_features:
        raise ValueError(
            f"targets {targets!r} is out of range for data with {n_features} features."
        )
    return columns, single


def to_sequences(data, window: int, horizon: int = 1, stride: int = 1, *, targets=None):
    """Cut a series into overlapping windows and the values ``horizon`` steps after each window.

    Window ``i`` starts at step ``i * stride`` and covers ``window`` consecutive steps; its target
    is the step ``horizon - 1`` after the window's last step (the next step for ``horizon=1``).
    Every full window whose target lies inside the series is produced, the last one included.

    Parameters
    ----------
    data : array-like of shape (n_steps,) or (n_steps, n_features)
        The series, oldest step first.
    window : int >= 1
        Steps per window (the ``timesteps`` axis of ``X``).
    horizon : int >= 1, default=1
        How many steps after a window's last step its target lies.
    stride : int >= 1, default=1
        Steps between the starts of consecutive windows.
    targets : int, list of int or None, default=None
        Columns of ``data`` to predict. ``None`` predicts every column; an int gives a
        one-dimensional ``y``.

    Returns
    -------
    X : ndarray of shape (n_windows, window, n_features)
        The windows, with ``n_windows = (n_steps - window - horizon) // stride + 1``.
    y : ndarray of shape (n_windows,) or (n_windows, n_targets)
        The targets; one-dimensional when ``data`` is one-dimensional (or has one feature) or
        ``targets`` is an int.

    Raises
    ------
    ValueError
        If ``data`` is not a numeric 1-D or 2-D array with at least one feature, or is too
        short for one window plus its horizon.

    Examples
    --------
    >>> import numpy as np
    >>> from skkeras.preprocessing import to_sequences
    >>> X, y = to_sequences(np.arange(6), window=3)
    >>> X.shape, y.tolist()
    ((3, 3, 1), [3, 4, 5])
    >>> X[:, :, 0].tolist()
    [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    """
    window = _check_positive_int(window, "window")
    horizon = _check_positive_int(horizon, "horizon")
    stride = _check_positive_int(stride, "stride")
    series, _ = _as_series(data)
    n_steps, n_features = series.shape
    if n_steps < window + horizon:
        raise ValueError(
            f"data has {n_steps} steps but window={window} and horizon={horizon} need at least "
            f"{window + horizon}; pass a longer series or a smaller window or horizon."
        )
    starts = np.arange(0, n_steps - window - horizon + 1, stride)
    X = series[starts[:, None] + np.arange(window)[None, :]]
    columns, one_dimensional = _target_columns(targets, n_features)
    y = series[starts + window + horizon - 1][:, columns]
    return X, (y[:, 0] if one_dimensional else y)
