"""Tests of skkeras.preprocessing.to_sequences (no Keras involved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from skkeras.preprocessing import to_sequences


def _windows_by_loop(series, window, horizon, stride):
    """A plain loop over every start whose target lies inside the series."""
    series = np.asarray(series).reshape(len(series), -1)
    X, y = [], []
    start = 0
    while start + window + horizon - 1 < len(series):
        X.append(series[start : start + window])
        y.append(series[start + window + horizon - 1])
        start += stride
    return np.array(X), np.array(y)


def test_univariate_windows_and_next_values():
    X, y = to_sequences(np.arange(10), window=3)
    assert X.shape == (7, 3, 1)
    assert y.shape == (7,)
    assert X[0, :, 0].tolist() == [0, 1, 2]
    assert y.tolist() == [3, 4, 5, 6, 7, 8, 9]


def test_last_full_window_is_kept():
    # The notebook's range(len(obs) - window - 1) stops one window early; the window ending
    # just before the last step, and its target (the last step), must be produced.
    series = np.arange(10.0)
    X, y = to_sequences(series, window=4)
    assert len(X) == len(series) - 4
    assert X[-1, :, 0].tolist() == [5.0, 6.0, 7.0, 8.0]
    assert y[-1] == 9.0


@pytest.mark.parametrize(
    ("n_steps", "window", "horizon", "stride"),
    [(10, 3, 1, 1), (10, 3, 2, 1), (10, 3, 1, 2), (11, 2, 3, 3), (7, 6, 1, 1), (30, 5, 4, 7)],
)
def test_matches_a_plain_loop(n_steps, window, horizon, stride):
    rng = np.random.default_rng(n_steps + window)
    series = rng.normal(size=(n_steps, 2))
    X, y = to_sequences(series, window, horizon=horizon, stride=stride)
    X_loop, y_loop = _windows_by_loop(series, window, horizon, stride)
    assert len(X) == (n_steps - window - horizon) // stride + 1
    np.testing.assert_array_equal(X, X_loop)
    np.testing.assert_array_equal(y, y_loop)


def test_multivariate_targets_selection():
    series = np.arange(24).reshape(12, 2)
    X, y = to_sequences(series, window=3, horizon=2, stride=2)
    assert X.shape == (4, 3, 2)
    assert y.shape == (4, 2)
    assert y[:, 1].tolist() == [9, 13, 17, 21]
    _, y_one = to_sequences(series, window=3, horizon=2, stride=2, targets=1)
    assert y_one.tolist() == [9, 13, 17, 21]
    _, y_list = to_sequences(series, window=3, targets=[1])
    assert y_list.shape == (9, 1)
    _, y_negative = to_sequences(series, window=3, targets=-1)
    np.testing.assert_array_equal(y_negative, y_list[:, 0])


def test_single_column_series_gives_one_dimensional_y():
    X, y = to_sequences(np.arange(8).reshape(-1, 1), window=2)
    assert X.shape == (6, 2, 1)
    assert y.shape == (6,)


def test_exactly_one_window():
    X, y = to_sequences([1.0, 2.0, 3.0, 4.0], window=2, horizon=2)
    assert X[:, :, 0].tolist() == [[1.0, 2.0]]
    assert y.tolist() == [4.0]


def test_pandas_input_and_dtype_preserved():
    frame = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) * 10})
    X, y = to_sequences(frame, window=2, targets=1)
    assert X.dtype == np.float64
    assert X.shape == (4, 2, 2)
    assert y.tolist() == [20.0, 30.0, 40.0, 50.0]
    X_series, _ = to_sequences(pd.Series(np.arange(5, dtype=np.float32)), window=2)
    assert X_series.dtype == np.float32


def test_window_longer_than_series_is_refused():
    with pytest.raises(ValueError, match=r"data has 5 steps but window=5 and horizon=1 need"):
        to_sequences(np.arange(5), window=5)
    with pytest.raises(ValueError, match=r"window=3 and horizon=3 need at least 6"):
        to_sequences(np.arange(5), window=3, horizon=3)


@pytest.mark.parametrize("name", ["window", "horizon", "stride"])
@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3"])
def test_invalid_integers_are_refused(name, value):
    kwargs = {"window": 2, "horizon": 1, "stride": 1, name: value}
    with pytest.raises(ValueError, match=rf"The '{name}' parameter of to_sequences must be"):
        to_sequences(np.arange(10), **kwargs)


def test_wrong_rank_is_refused():
    with pytest.raises(ValueError, match=r"shape \(n_steps,\) or \(n_steps, n_features\)"):
        to_sequences(np.zeros((4, 3, 2)), window=2)
    with pytest.raises(ValueError, match=r"shape \(n_steps,\) or \(n_steps, n_features\)"):
        to_sequences(np.float64(3.0), window=1)


@pytest.mark.parametrize("targets", [2, -3, [0, 5], [], "a", 1.5])
def test_invalid_targets_are_refused(targets):
    with pytest.raises(ValueError, match="targets"):
        to_sequences(np.zeros((10, 2)), window=2, targets=targets)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (np.array(["1", "2", "3", "4"]), "strings"),
        (np.array([b"a", b"b", b"c"]), "bytes"),
        (np.array([1 + 1j, 2, 3, 4]), "complex numbers"),
        (np.array([1, "a", None, 2], dtype=object), "Python objects"),
        (np.arange(4).astype("datetime64[D]"), "datetimes"),
    ],
)
def test_non_numeric_data_is_refused(data, kind):
    with pytest.raises(ValueError, match=rf"data must be a numeric array .* dtype .*\({kind}\)"):
        to_sequences(data, window=2)


def test_data_without_features_is_refused():
    with pytest.raises(ValueError, match=r"data has shape \(10, 0\), with no features"):
        to_sequences(np.zeros((10, 0)), window=2)


def test_boolean_and_integer_series_are_numeric():
    X, y = to_sequences(np.array([True, False, True, True]), window=2)
    assert X.shape == (2, 2, 1) and y.tolist() == [True, True]
