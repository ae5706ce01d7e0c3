"""Tests of KerasLSTMRegressor and KerasLSTMClassifier."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skkeras import KerasLSTMClassifier, KerasLSTMRegressor
from skkeras.preprocessing import to_sequences

keras = pytest.importorskip("keras")

FAST = {"epochs": 3, "learning_rate": 0.01, "random_state": 0}


@pytest.fixture(autouse=True)
def _seed():
    np.random.seed(0)


@pytest.fixture(scope="module")
def sine():
    """A noisy sine wave (period 25 steps) cut into windows of 20 steps."""
    rng = np.random.default_rng(0)
    steps = np.arange(500)
    series = np.sin(2 * np.pi * steps / 25) + rng.normal(scale=0.1, size=steps.size)
    return to_sequences(series, window=20)


@pytest.fixture(scope="module")
def trends():
    """Short sequences labelled by whether they rise or fall."""
    rng = np.random.default_rng(1)
    slopes = rng.choice([-1.0, 1.0], size=240)
    X = slopes[:, None] * np.linspace(0, 1, 8)[None, :] + rng.normal(scale=0.3, size=(240, 8))
    return X[:, :, None], np.where(slopes > 0, "up", "down")


def test_regressor_learns_noisy_sine_on_held_out_tail(sine):
    X, y = sine
    split = int(0.8 * len(X))
    reg = KerasLSTMRegressor(units=16, epochs=15, learning_rate=0.01, random_state=0)
    reg.fit(X[:split], y[:split])
    assert r2_score(y[split:], reg.predict(X[split:])) > 0.8
    assert reg.n_iter_ <= 15
    assert reg.predict(X[split:]).shape == (len(X) - split,)


def test_classifier_learns_rising_versus_falling(trends):
    X, y = trends
    clf = KerasLSTMClassifier(units=8, epochs=10, learning_rate=0.02, random_state=0)
    clf.fit(X[:180], y[:180])
    assert clf.classes_.tolist() == ["down", "up"]
    assert clf.score(X[180:], y[180:]) > 0.9
    proba = clf.predict_proba(X[180:])
    assert proba.shape == (60, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_parameter_count_matches_the_lstm_formula(sine):
    X, y = sine
    reg = KerasLSTMRegressor(units=8, epochs=1, random_state=0).fit(X[:40], y[:40])
    # One LSTM layer: 4 gates x (input + recurrent kernels + bias); then the 8 -> 1 output.
    assert reg.n_parameters_ == 4 * (8 * (1 + 8) + 8) + (8 + 1)
    assert reg.n_parameters_ == reg.model_.count_params()


def test_stacked_bidirectional_layers_and_dropouts(sine):
    X, y = sine
    reg = KerasLSTMRegressor(
        units=(6, 4), bidirectional=True, dropout=0.2, recurrent_dropout=0.1, **FAST
    ).fit(X[:40], y[:40])
    layers = reg.model_.layers
    wrappers = [layer for layer in layers if isinstance(layer, keras.layers.Bidirectional)]
    assert len(wrappers) == 2
    first, second = (wrapper.forward_layer for wrapper in wrappers)
    assert (first.units, second.units) == (6, 4)
    assert first.return_sequences and not second.return_sequences
    assert (first.dropout, first.recurrent_dropout) == (0.2, 0.1)
    assert reg.model_.get_layer("output").input.shape == (None, 2 * 4)


def test_two_dimensional_x_is_read_as_a_univariate_sequence(sine):
    X, y = sine
    reg = KerasLSTMRegressor(units=4, **FAST).fit(X[:60, :, 0], y[:60])
    assert reg.n_features_in_ == 20
    assert reg.model_.get_layer("to_sequences").output.shape == (None, 20, 1)
    assert reg.predict(X[60:65, :, 0]).shape == (5,)


def test_sequence_shape_reshapes_flat_rows_in_a_pipeline():
    rng = np.random.default_rng(0)
    X3 = rng.normal(size=(50, 5, 2))
    y = X3[:, -1, 0]
    pipe = make_pipeline(
        StandardScaler(), KerasLSTMRegressor(units=4, sequence_shape=(-1, 2), **FAST)
    ).fit(X3.reshape(50, 10), y)
    lstm = pipe[-1]
    assert lstm.model_.get_layer("to_sequences").output.shape == (None, 5, 2)
    assert pipe.predict(X3.reshape(50, 10)).shape == (50,)


@pytest.mark.parametrize(
    ("X_shape", "kwargs", "match"),
    [
        ((30, 4, 2, 1), {}, r"expects X of shape \(n_samples, timesteps, n_features\).*got 4-D"),
        ((30, 6, 2), {"sequence_shape": (6, 3)}, r"samples of shape \(6, 2\) but .*\(6, 3\)"),
        ((30, 10), {"sequence_shape": (4, -1)}, r"X has 10 columns but sequence_shape"),
        ((30, 10), {"sequence_shape": (3, 3)}, r"X has 10 columns but sequence_shape=\(3, 3\)"),
        ((30, 6, 2), {"sequence_shape": (6, 0)}, r"'sequence_shape' parameter .* Got \(6, 0\)"),
        ((30, 6, 2), {"sequence_shape": (-1, -1)}, r"'sequence_shape' parameter"),
        ((30, 6, 2), {"units": ()}, r"'units' parameter of KerasLSTMRegressor must be"),
        ((30, 6, 2), {"units": (4, 0)}, r"'units' parameter of KerasLSTMRegressor must be"),
        ((30, 6, 2), {"dropout": 1.0}, r"'dropout' parameter of KerasLSTMRegressor must be"),
    ],
)
def test_wrong_shapes_and_parameters_fail_before_training(X_shape, kwargs, match):
    reg = KerasLSTMRegressor(**{**FAST, **kwargs})
    with pytest.raises(ValueError, match=match):
        reg.fit(np.zeros(X_shape), np.zeros(X_shape[0]))
    assert not hasattr(reg, "history_") or reg.history_ == {}


def test_predict_refuses_other_timesteps(sine):
    X, y = sine
    reg = KerasLSTMRegressor(units=4, **FAST).fit(X[:40], y[:40])
    # the timesteps are not called "features" (validate_data compares X.shape[1] alone)
    fitted_on = r"was fitted on samples of shape \(20, 1\); pass X of shape \(n_samples, 20, 1\)"
    with pytest.raises(ValueError, match=r"X has shape \(5, 10, 1\) but KerasLSTMRegressor "
                                         + fitted_on):
        reg.predict(X[:5, :10])
    with pytest.raises(ValueError, match=r"X has shape \(5, 20\) but .*" + fitted_on):
        reg.predict(X[:5, :, 0])
    with pytest.raises(ValueError, match=r"X has shape \(5, 10, 1\) but .*" + fitted_on):
        reg.score(X[:5, :10], y[:5])


def test_warm_fit_refuses_samples_of_another_shape(sine):
    X, y = sine
    reg = KerasLSTMRegressor(units=2, warm_start=True, **FAST).fit(X[:40], y[:40])
    for other in (X[:40, :10], np.repeat(X[:40], 2, axis=2), X[:40, :, 0]):
        with pytest.raises(ValueError, match=r"X has shape \(40, .* but KerasLSTMRegressor was "
                                             r"fitted on samples of shape \(20, 1\)"):
            reg.fit(other, y[:40])
        with pytest.raises(ValueError, match=r"fitted on samples of shape \(20, 1\)"):
            reg.partial_fit(other, y[:40])
    assert reg.n_iter_ == 3


@pytest.mark.parametrize("declared", [(-1, 5), (5, -1)])
def test_sequence_shape_minus_one_that_cannot_be_inferred(declared):
    X, y = np.zeros((10, 12)), np.zeros(10)
    with pytest.raises(ValueError, match=rf"X has 12 columns but sequence_shape="
                                         rf"\({declared[0]}, {declared[1]}\) needs a multiple "
                                         r"of 5 columns"):
        KerasLSTMRegressor(units=2, sequence_shape=declared, **FAST).fit(X, y)


@pytest.mark.parametrize("Estimator", [KerasLSTMRegressor, KerasLSTMClassifier])
def test_clone_and_pickle(Estimator, trends):
    X, labels = trends
    y = labels if Estimator is KerasLSTMClassifier else (labels == "up").astype(float)
    est = Estimator(units=(4, 3), bidirectional=True, sequence_shape=(8, 1), **FAST)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    est.fit(X[:64], y[:64])
    assert not hasattr(clone(est), "model_")
    restored = pickle.loads(pickle.dumps(est))
    method = "predict_proba" if Estimator is KerasLSTMClassifier else "predict"
    np.testing.assert_allclose(
        getattr(restored, method)(X[64:80]), getattr(est, method)(X[64:80]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(restored.predict(X[64:80]), est.predict(X[64:80]))
    assert restored.n_parameters_ == est.n_parameters_


@pytest.mark.slow
def test_grid_search_over_units(trends):
    X, y = trends
    search = GridSearchCV(
        KerasLSTMClassifier(**FAST), {"units": [2, (4, 2)]}, cv=2, error_score="raise"
    ).fit(X[:80], y[:80])
    assert search.best_params_["units"] in (2, (4, 2))
    assert len(search.cv_results_["mean_test_score"]) == 2
    assert search.best_estimator_.n_parameters_ > 0


def test_cross_val_score_with_time_series_split(sine):
    X, y = sine
    scores = cross_val_score(
        KerasLSTMRegressor(units=8, epochs=8, learning_rate=0.01, random_state=0),
        X,
        y,
        cv=TimeSeriesSplit(n_splits=2),
        scoring="r2",
        error_score="raise",
    )
    assert scores.shape == (2,)
    assert np.all(scores > 0.5)


def test_same_seed_same_predictions(sine):
    X, y = sine
    first = KerasLSTMRegressor(units=4, **FAST).fit(X[:60], y[:60]).predict(X[60:70])
    second = KerasLSTMRegressor(units=4, **FAST).fit(X[:60], y[:60]).predict(X[60:70])
    np.testing.assert_allclose(first, second, rtol=1e-5)


def test_import_skkeras_does_not_import_keras():
    import subprocess
    import sys

    code = "import sys, skkeras, skkeras.preprocessing; print('keras' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("shape", "axis"), [((12, 0, 2), 1), ((12, 4, 0), 2)])
def test_samples_with_an_empty_dimension_are_refused_before_training(shape, axis):
    reg = KerasLSTMRegressor(units=2, **FAST)
    shown = re.escape(str(shape))
    with pytest.raises(ValueError, match=rf"X has shape {shown}, with no values along axis "
                                         rf"{axis}: KerasLSTMRegressor needs samples"):
        reg.fit(np.zeros(shape), np.zeros(12))
    assert not hasattr(reg, "n_iter_")


def test_units_must_not_be_a_bool():
    for units in (True, (4, False)):
        with pytest.raises(ValueError, match=r"'units' parameter of KerasLSTMRegressor must be"):
            KerasLSTMRegressor(units=units, **FAST).fit(np.zeros((6, 4, 1)), np.zeros(6))


def test_sequence_shape_may_be_a_numpy_array():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 8)), rng.normal(size=12)
    reg = KerasLSTMRegressor(units=2, sequence_shape=np.array([4, -1]), warm_start=True, **FAST)
    reg.fit(X, y).fit(X, y)  # a warm fit compares the array parameter with the one built
    assert reg.model_.get_layer("to_sequences").output.shape == (None, 4, 2)
    with pytest.raises(ValueError, match=r"tuple \(or list or 1-D array\) of 2 positive ints"):
        KerasLSTMRegressor(sequence_shape=np.array([[4, 2]]), **FAST).fit(X, y)
