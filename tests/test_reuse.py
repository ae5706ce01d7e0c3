"""Fits from a remembered starting state train exactly what a freshly built network trains."""

from __future__ import annotations

import copy
import pickle
import threading

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler

from skkeras import (
    KerasCNNClassifier,
    KerasLSTMRegressor,
    KerasMLPClassifier,
    KerasMLPRegressor,
    _fastpath,
    _reuse,
    load,
    save,
)
from skkeras.callbacks._model_free import ModelFreeCallback


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5, 2)).astype(np.float32)
    return X, X.sum(axis=(1, 2))


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(48, 8, 8, 1)).astype(np.float32)
    return X, (X.mean(axis=(1, 2, 3)) > 0).astype(int)


def _fresh(estimator, X, y, **fit_params):
    """Fit a clone with every remembered start forgotten: the network is built."""
    _reuse.forget_all()
    fitted = clone(estimator).fit(X, y, **fit_params)
    assert "model_" in vars(fitted) and "_trained_state" not in vars(fitted)
    return fitted


def _from_start(estimator, X, y, **fit_params):
    """Fit a clone that must start from the state remembered by an earlier fit."""
    fitted = clone(estimator).fit(X, y, **fit_params)
    assert "_trained_state" in vars(fitted) and "model_" not in vars(fitted), (
        "the fit built its network instead of starting from the remembered state"
    )
    return fitted


def _all_values(model):
    variables = [*model.weights, *model.optimizer.variables]
    return [np.asarray(variable.numpy()) for variable in variables]


def _assert_same_fit(reused, fresh, X):
    assert reused.n_iter_ == fresh.n_iter_
    assert reused.best_epoch_ == fresh.best_epoch_
    assert sorted(reused.history_) == sorted(fresh.history_)
    for key in fresh.history_:
        np.testing.assert_allclose(reused.history_[key], fresh.history_[key], rtol=1e-6)
    np.testing.assert_allclose(reused.predict(X), fresh.predict(X), rtol=1e-5, atol=1e-6)
    for a, b in zip(_all_values(reused.model_), _all_values(fresh.model_), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"dropout": 0.3, "batch_normalization": True, "activation": "prelu"},
        {"early_stopping": True, "patience": 2, "restore_best_weights": True, "epochs": 8},
        {"activation": "swish", "optimizer": "sgd", "l2": 1e-3},
    ],
)
def test_fit_from_a_remembered_start_matches_a_fresh_build(iris, params):
    X, y = iris
    estimator = KerasMLPClassifier((8, 4), **{"epochs": 4, "random_state": 0, **params})
    fresh = _fresh(estimator, X, y)
    reused = _from_start(estimator, X, y)
    _assert_same_fit(reused, fresh, X)
    np.testing.assert_array_equal(reused.predict_proba(X), fresh.predict_proba(X))


def test_weights_and_validation_data_from_a_remembered_start(iris):
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    estimator = KerasMLPClassifier(
        (6,), epochs=3, random_state=0, class_weight="balanced", early_stopping=True
    )
    fit_params = {"sample_weight": weights, "validation_data": (X[::3], y[::3])}
    fresh = _fresh(estimator, X, y, **fit_params)
    reused = _from_start(estimator, X, y, **fit_params)
    assert "val_loss" in reused.history_
    _assert_same_fit(reused, fresh, X)


def test_folds_start_from_the_first_folds_network(iris):
    """Cross-validation: other rows, same network and seed."""
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=3, random_state=7)
    _fresh(estimator, X[:100], y[:100])
    reused = _from_start(estimator, X[50:], y[50:])
    fresh = _fresh(estimator, X[50:], y[50:])
    _assert_same_fit(reused, fresh, X)


def test_regressor_lstm_and_cnn_start_from_remembered_states(iris, sequences, images):
    X = iris[0]
    cases = [
        (KerasMLPRegressor((5,), epochs=3, random_state=0), X, X[:, 0]),
        (KerasLSTMRegressor(units=4, epochs=2, batch_size=16, random_state=0), *sequences),
        (
            KerasCNNClassifier(
                filters=(4,), dense_units=(), epochs=2, batch_size=16, random_state=0,
                augmentation={"flip": "horizontal", "rotation": 0.1},
            ),
            *images,
        ),
    ]
    for estimator, X_case, y_case in cases:
        fresh = _fresh(estimator, X_case, y_case)
        reused = _from_start(estimator, X_case, y_case)
        _assert_same_fit(reused, fresh, X_case)
        assert getattr(reused, "n_parameters_", None) == getattr(fresh, "n_parameters_", None)


def test_other_networks_and_seeds_do_not_share_a_start(iris):
    X, y = iris
    _fresh(KerasMLPClassifier((6,), epochs=2, random_state=0), X, y)
    for other in [
        KerasMLPClassifier((7,), epochs=2, random_state=0),
        KerasMLPClassifier((6,), epochs=2, random_state=1),
        KerasMLPClassifier((6,), epochs=2, random_state=0, dropout=0.1),
        KerasMLPClassifier((6,), epochs=2, random_state=0, optimizer="sgd"),
    ]:
        assert "model_" in vars(clone(other).fit(X, y))
    # training-only parameters keep the network and its start
    _from_start(KerasMLPClassifier((6,), epochs=5, batch_size=8, random_state=0), X, y)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_start_serves_every_learning_rate(iris, optimizer):
    """The learning rate is one optimizer variable of the starting state: a fit with another
    one starts from the same network and trains what building it with that rate would."""
    X, y = iris
    params = {"epochs": 3, "random_state": 0, "optimizer": optimizer}
    _fresh(KerasMLPClassifier((6,), learning_rate=1e-3, **params), X, y)
    other = KerasMLPClassifier((6,), learning_rate=0.05, **params)
    reused = _from_start(other, X, y)
    fresh = _fresh(other, X, y)
    assert reused.history_["learning_rate"] == pytest.approx([0.05] * 3)
    _assert_same_fit(reused, fresh, X)


class _EpochWatcher(ModelFreeCallback):
    """Records each epoch's loss and the estimator's predictions after it; asks to stop after
    ``stop_after`` epochs."""

    def __init__(self, X, stop_after=None):
        super().__init__()
        self.X, self.stop_after = X, stop_after
        self.estimator, self.seen = None, []

    def __deepcopy__(self, memo):
        return self  # the copy each fit makes of its callbacks must keep recording here

    def epoch_ended(self, epoch, logs):
        self.seen.append((epoch, logs["loss"], self.estimator.predict_proba(self.X)))
        return self.stop_after is not None and epoch + 1 >= self.stop_after


def _watched_fit(params, X, y, stop_after=None):
    watcher = _EpochWatcher(X, stop_after)
    estimator = KerasMLPClassifier(
        (8, 4), **{"random_state": 0, "shuffle": False, **params}, callbacks=[watcher]
    )
    watcher.estimator = estimator
    return estimator.fit(X, y), watcher.seen


@pytest.mark.parametrize(
    "params, stop_after",
    [
        ({"epochs": 4}, None),
        ({"epochs": 6}, 2),  # the callback stops training
        # early stopping ends training, then restores the best weights: the callback sees the
        # last epoch's weights before that, as with Keras's EarlyStopping
        ({"epochs": 12, "early_stopping": True, "patience": 1, "min_delta": 0.02,
          "restore_best_weights": True}, None),
    ],
    ids=["whole", "stopped_by_callback", "early_stopping_restores"],
)
@pytest.mark.parametrize("whole_fit", [True, False], ids=["whole_fit", "per_epoch"])
def test_model_free_callbacks_run_as_keras_runs_them(
    iris, monkeypatch, params, stop_after, whole_fit
):
    """A callback that needs no model (per-epoch pruning's reporter) runs between one-epoch
    calls of the whole-fit graph, on a fit that builds its network and on one from a
    remembered start (no model), or on the per-epoch path: it sees each epoch's loss and the
    estimator's predictions after that epoch as in Keras's own fit."""
    X, y = iris
    monkeypatch.setenv("SKKERAS_FASTPATH", "0")
    keras_fit, keras_seen = _watched_fit(params, X, y, stop_after)
    monkeypatch.delenv("SKKERAS_FASTPATH")
    monkeypatch.setattr(_fastpath, "_PER_EPOCH_FITS_FIRST", 0 if whole_fit else 100)
    _fastpath.clear_templates()  # no whole-fit graph traced by an earlier test
    _reuse.forget_all()
    fresh, fresh_seen = _watched_fit(params, X, y, stop_after)
    reused, reused_seen = _watched_fit(params, X, y, stop_after)
    assert "model_" in vars(fresh)
    if whole_fit:
        assert "_trained_state" in vars(reused) and "model_" not in vars(reused)
    else:
        assert "model_" in vars(reused)
    assert [epoch for epoch, *_ in reused_seen] == list(range(keras_fit.n_iter_))
    if stop_after is not None:
        assert keras_fit.n_iter_ == stop_after
    if params.get("restore_best_weights"):
        assert keras_fit.n_iter_ < params["epochs"]
        # the final network is the best epoch's (by min_delta), not the last one the callback saw
        assert not np.allclose(reused.predict_proba(X), reused_seen[-1][2])
    for fit, seen in ((fresh, fresh_seen), (reused, reused_seen)):
        assert len(seen) == len(keras_seen)
        for (_, loss, probabilities), (_, keras_loss, keras_probabilities) in zip(
            seen, keras_seen, strict=True
        ):
            assert loss == pytest.approx(keras_loss, rel=1e-4)
            np.testing.assert_allclose(probabilities, keras_probabilities, rtol=1e-4, atol=1e-5)
        assert fit.n_iter_ == keras_fit.n_iter_
        np.testing.assert_allclose(
            fit.predict_proba(X), keras_fit.predict_proba(X), rtol=1e-4, atol=1e-5
        )
    _assert_same_fit(reused, fresh, X)


class _NeverStops(ModelFreeCallback):
    def epoch_ended(self, epoch, logs):
        return False


def test_model_free_callbacks_take_the_whole_fit_once_an_architecture_repeats(iris):
    """The whole-fit graph takes longer to trace than the per-epoch one: fits with model-free
    callbacks build their network on the per-epoch path until an architecture has had a few,
    then start from its remembered state."""
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=2, random_state=0, callbacks=[_NeverStops()])
    _reuse.forget_all()
    _fastpath.clear_templates()
    first = _fastpath._PER_EPOCH_FITS_FIRST
    built = ["model_" in vars(clone(estimator).fit(X, y)) for _ in range(first + 2)]
    assert built == [True] * first + [False, False]


@pytest.mark.parametrize("callbacks", [[_NeverStops], {"watch": _NeverStops()}])
def test_model_free_callbacks_as_classes_or_in_a_dict_start_from_a_remembered_state(
    iris, monkeypatch, callbacks
):
    X, y = iris
    monkeypatch.setattr(_fastpath, "_PER_EPOCH_FITS_FIRST", 0)
    estimator = KerasMLPClassifier((6,), epochs=2, random_state=0, callbacks=callbacks)
    fresh = _fresh(estimator, X, y)
    _assert_same_fit(_from_start(estimator, X, y), fresh, X)


@pytest.mark.parametrize("case", ["unseeded", "callbacks", "verbose"])
def test_unseeded_fits_callbacks_and_verbose_fits_build_their_network(iris, case):
    from skkeras.callbacks import StepDecay

    X, y = iris
    params = {
        "unseeded": {"random_state": None},
        "callbacks": {"callbacks": [StepDecay(milestones=(1,), factor=0.5)]},
        "verbose": {"verbose": 1},
    }[case]
    estimator = KerasMLPClassifier((6,), epochs=2, **{"random_state": 0, **params})
    clone(estimator).fit(X, y)
    assert "model_" in vars(clone(estimator).fit(X, y))


def test_trained_state_is_pickled_copied_and_saved(iris, tmp_path):
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=2, random_state=0)
    _fresh(estimator, X, y)
    reused = _from_start(estimator, X, y)
    expected = reused.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reused)).predict_proba(X), expected)
    np.testing.assert_array_equal(copy.deepcopy(reused).predict_proba(X), expected)
    loaded = load(save(reused, tmp_path / "reused.skkeras"))
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=1e-6)


def test_prediction_without_a_template_builds_the_model(iris):
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=2, random_state=0)
    fresh = _fresh(estimator, X, y)
    reused = _from_start(estimator, X, y)
    _fastpath.clear_templates()
    np.testing.assert_allclose(reused.predict_proba(X), fresh.predict_proba(X), rtol=1e-6)
    assert "model_" in vars(reused) and "_trained_state" not in vars(reused)


def test_large_batches_from_a_trained_state(iris):
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=2, random_state=0)
    fresh = _fresh(estimator, X, y)
    reused = _from_start(estimator, X, y)
    large = np.resize(X, (2 * _fastpath._NUMPY_MAX_ROWS, X.shape[1]))
    np.testing.assert_allclose(
        reused.predict_proba(large), fresh.predict_proba(large), rtol=1e-5, atol=1e-6
    )
    assert "model_" not in vars(reused)


def test_warm_start_and_partial_fit_continue_a_trained_state(iris):
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=2, random_state=0, warm_start=True)
    fresh = _fresh(estimator, X, y).fit(X, y)
    fresh.partial_fit(X, y)
    reused = _from_start(estimator, X, y).fit(X, y)
    reused.partial_fit(X, y)
    _assert_same_fit(reused, fresh, X)
    assert reused.n_iter_ == 5


def test_fits_in_threads_share_starts_safely(iris):
    """Fits from the start each hold a copy of the template for their whole (one-call) fit: no
    other fit disturbs them, and their shuffling does not depend on the other threads."""
    X, y = iris
    estimator = KerasMLPClassifier((6,), epochs=3, random_state=0)
    expected = _fresh(estimator, X, y).predict_proba(X)
    results = [None] * 4

    def fit(index):
        fitted = clone(estimator).fit(X, y)
        results[index] = ("_trained_state" in vars(fitted), fitted.predict_proba(X))

    threads = [threading.Thread(target=fit, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(started for started, _ in results)
    for _, probabilities in results:
        np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)


def test_fits_that_build_after_fits_from_a_start_train_and_validate_the_same(iris):
    """A fit from a start must not change the compiled loop that later fits (which build their
    network) use: their validation loss is computed on the weights they train. The fit from
    the start is the first with sample weights, so it is the one that traces that variant."""
    X, y = iris
    weights = np.linspace(0.5, 2.0, len(y))
    estimator = KerasMLPClassifier((6,), epochs=6, random_state=0, early_stopping=True)
    weighted = {"sample_weight": weights, "validation_data": (X[::2], y[::2])}
    _fastpath.clear_templates()
    expected = _fresh(estimator.set_params(random_state=5), X, y, **weighted).history_
    _fastpath.clear_templates()
    _fresh(estimator.set_params(random_state=0), X, y, validation_data=(X[::2], y[::2]))
    _from_start(estimator, X, y, **weighted)
    after = clone(estimator).set_params(random_state=5).fit(X, y, **weighted)
    assert "model_" in vars(after)
    assert len(set(after.history_["val_loss"])) > 1
    for key in expected:
        np.testing.assert_allclose(after.history_[key], expected[key], rtol=1e-6)


def test_remembered_starts_are_bounded(iris, monkeypatch):
    X, y = iris
    monkeypatch.setattr(_reuse, "_MAX_STARTS", 2)
    _reuse.forget_all()
    for seed in range(4):
        KerasMLPClassifier((3,), epochs=1, random_state=seed).fit(X, y)
    assert len(_reuse._starts) == 2


def test_a_start_counts_the_tensors_it_may_hold():
    """A start keeps its non-zero arrays, and may make packed tensors of every value (all-zero
    optimizer slots included) for the fits starting from it: the memory bound counts both."""
    weights = np.arange(40, dtype=np.float32).reshape(10, 4)
    counter = np.array(7, np.int64)
    start = _reuse.Start.of("key", [weights, np.zeros((10, 4), np.float32), counter], {})
    assert start.n_bytes == weights.nbytes + counter.nbytes + 2 * weights.nbytes + counter.nbytes
    packed = start.packed
    # one vector per dtype, in the order the dtypes first appear
    assert [(tuple(vector.shape), vector.dtype.name) for vector in packed.vectors] == [
        ((80,), "float32"), ((1,), "int64"),
    ]
    values = packed.layout.unpack(packed.vectors)
    np.testing.assert_array_equal(values[0], weights)
    np.testing.assert_array_equal(values[1], np.zeros((10, 4)))
    assert values[2].shape == () and values[2] == 7
    assert start.packed is packed  # made once, shared by the fits starting here


def test_a_start_sets_the_learning_rate_in_a_copy():
    weights = np.ones((2, 3), np.float32)
    rate = np.array(0.01, np.float32)
    start = _reuse.Start.of("key", [weights, rate], {}, learning_rate=0.01,
                            learning_rate_position=1)
    assert start.packed_for(0.01) is start.packed
    other = start.packed_for(0.5)
    values = start.layout.unpack(other.vectors)
    np.testing.assert_array_equal(values[0], weights)
    assert values[1] == np.float32(0.5)
    # the shared start is left as it was
    assert start.layout.unpack(start.packed.vectors)[1] == np.float32(0.01)
    unknown = _reuse.Start.of("key", [weights, rate], {}, learning_rate=0.01)
    assert unknown.packed_for(0.5) is None
