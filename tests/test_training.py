"""Early stopping, history, schedules, callbacks, warm starts and reproducibility."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

import skkeras._base
from skkeras import (
    KerasClassifier,
    KerasMLPClassifier,
    KerasMLPRegressor,
    KerasRegressor,
    TrainingDivergedError,
)
from skkeras._training import split_validation
from skkeras.callbacks import StepDecay
from skkeras.callbacks._model_free import ModelFreeCallback

from ._builders import classifier_model, regressor_model

FAST = {"hidden_layer_sizes": (16,), "learning_rate": 0.01, "random_state": 0}


def test_early_stopping_records_validation_history(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(
        early_stopping=True, epochs=300, patience=3, learning_rate=0.05,
        hidden_layer_sizes=(64,), random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 300
    assert set(clf.history_) >= {"loss", "val_loss", "learning_rate"}
    assert len(clf.history_["val_loss"]) == clf.n_iter_
    assert clf.best_epoch_ == int(np.argmin(clf.history_["val_loss"])) + 1
    assert clf.n_iter_ - clf.best_epoch_ <= 3


def test_validation_split_is_stratified_and_shuffled():
    labels = np.repeat([0, 1, 2], [60, 30, 10])
    train, val = split_validation(len(labels), 0.2, seed=0, stratify=labels)
    assert len(val) == 20 and len(train) == 80 and not set(train) & set(val)
    np.testing.assert_array_equal(np.bincount(labels[val]), [12, 6, 2])
    assert val.tolist() != sorted(val.tolist())  # shuffled, not Keras's "last 20%"
    again, _ = split_validation(len(labels), 0.2, seed=0, stratify=labels)
    np.testing.assert_array_equal(train, again)


def test_early_stopping_validates_on_a_part_of_the_fit_data(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(
        early_stopping=True, validation_fraction=0.2, epochs=2, patience=None, **FAST
    ).fit(X, y)
    _, val = split_validation(len(X), 0.2, seed=0, stratify=y)
    held_out = clf.model_.evaluate(
        X[val], y[val].reshape(-1, 1).astype("float32"), verbose=0, batch_size=len(val)
    )
    assert held_out == pytest.approx(clf.history_["val_loss"][-1], rel=1e-4)


def test_explicit_validation_data_is_used(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(epochs=5, patience=None, **FAST)
    clf.fit(X[:400], y[:400], validation_data=(X[400:], y[400:]))
    assert len(clf.history_["val_loss"]) == 5
    loss, _ = clf.model_.evaluate(X[400:], y[400:].reshape(-1, 1).astype("float32"), verbose=0), 0
    assert loss == pytest.approx(clf.history_["val_loss"][-1], rel=1e-4)


def test_training_loss_plateau_stops_without_early_stopping(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(epochs=500, patience=2, min_delta=0.01, **FAST).fit(X, y)
    assert clf.n_iter_ < 500
    assert "val_loss" not in clf.history_
    full = KerasMLPClassifier(epochs=7, patience=None, min_delta=0.01, **FAST).fit(X, y)
    assert full.n_iter_ == 7


def test_step_decay_schedule_in_history(breast_cancer):
    X, y = breast_cancer
    clf = KerasMLPClassifier(
        epochs=6, patience=None, callbacks=[StepDecay(milestones=(2, 4), factor=0.5)], **FAST
    ).fit(X, y)
    np.testing.assert_allclose(
        clf.history_["learning_rate"], [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025], rtol=1e-6
    )


def test_step_decay_validates_arguments():
    with pytest.raises(ValueError, match="milestones"):
        StepDecay(milestones=(0, 3))
    with pytest.raises(ValueError, match="factor"):
        StepDecay(factor=1.5)


@pytest.mark.parametrize(
    ("milestones", "match"),
    [
        (5, r"a sequence of positive epoch counts, such as \(80, 120\) or \[5\]; got 5 \(int\)"),
        (None, r"a sequence .*; got None \(NoneType\)"),
        ("80,120", r"a sequence .*; got '80,120' \(str\)"),
        ((4, -2), r"positive whole epoch counts .*; milestones\[1\] is -2 in \(4, -2\)"),
        ((2.5,), r"positive whole .*; milestones\[0\] is 2.5 in \(2.5,\)"),
        (("5",), r"positive whole .*; milestones\[0\] is '5' in \('5',\)"),
        (np.array([3, 0]), r"positive whole .*; milestones\[1\] is 0 in \(3, 0\)"),
        ((2, 2.0), r"distinct epoch counts; got \(2, 2.0\)"),
    ],
    ids=["int", "none", "string", "negative", "fraction", "string-entry", "numpy-zero",
         "repeated"],
)
def test_step_decay_refuses_bad_milestones(milestones, match):
    with pytest.raises(ValueError, match=r"StepDecay milestones must be " + match):
        StepDecay(milestones=milestones)


def test_step_decay_accepts_milestones_in_any_order_and_whole_floats():
    assert StepDecay(milestones=(4, 2.0, np.int64(6))).milestones == (2, 4, 6)
    assert StepDecay(milestones=np.array([3, 1])).milestones == (1, 3)


def test_callbacks_are_copied_per_fit(breast_cancer):
    X, y = breast_cancer
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
    clf = KerasMLPClassifier(epochs=3, callbacks=[stopper], **FAST)
    clf.fit(X, y)
    clf.fit(X, y)
    assert stopper.model is None  # the user's instance was never attached to a model


def test_callback_classes_get_routed_arguments(iris):
    X, y = iris
    clf = KerasClassifier(
        classifier_model, epochs=20, callbacks=[keras.callbacks.EarlyStopping],
        callbacks__monitor="loss", callbacks__patience=0, callbacks__min_delta=10.0,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ == 2


@pytest.mark.parametrize(
    "fit_kwargs", [{"validation_split": 0.2}, {"validation_data": "iris"}],
    ids=["validation_split", "validation_data"],
)
def test_callback_monitoring_val_loss_acts_with_validation_data(iris, fit_kwargs):
    X, y = iris
    fit_kwargs = {key: (X, y) if value == "iris" else value for key, value in fit_kwargs.items()}
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)
    clf = KerasClassifier(classifier_model, epochs=20, callbacks=[stop], random_state=0)
    clf.fit(X, y, **fit_kwargs)
    assert clf.n_iter_ == 2 and len(clf.history_["val_loss"]) == 2


def test_warm_start_and_partial_fit_continue_training(iris):
    X, y = iris
    clf = KerasMLPClassifier(epochs=3, patience=None, warm_start=True, **FAST).fit(X, y)
    first_model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is first_model
    assert clf.n_iter_ == 6
    partial = KerasMLPClassifier(**FAST)
    for _ in range(3):
        partial.partial_fit(X, y)
    assert partial.n_iter_ == 3
    with pytest.raises(ValueError, match=r"contains classes \[7\] that are not among the fitted"):
        partial.partial_fit(X, np.where(y == 0, 7, y))


def test_divergence_raises_clear_error(diabetes):
    X, y = diabetes
    reg = KerasMLPRegressor(
        hidden_layer_sizes=(64, 64), optimizer="sgd", learning_rate=1e3, epochs=20, random_state=0
    )
    with pytest.raises(ValueError, match="Training diverged"):
        reg.fit(X, y * 1e6)


def test_integer_seed_reproducible_in_process(breast_cancer):
    X, y = breast_cancer
    params = {"dropout": 0.3, "batch_normalization": True, "epochs": 5, **FAST}
    first = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    second = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_integer_seed_reproducible_across_processes(breast_cancer, tmp_path):
    X, y = breast_cancer
    script = textwrap.dedent(
        """
        import sys, numpy as np
        from sklearn.datasets import load_breast_cancer
        from sklearn.preprocessing import StandardScaler
        from skkeras import KerasMLPClassifier
        X, y = load_breast_cancer(return_X_y=True)
        X = StandardScaler().fit_transform(X).astype("float32")
        clf = KerasMLPClassifier(hidden_layer_sizes=(16,), dropout=0.3, learning_rate=0.01,
                                 epochs=5, random_state=0).fit(X, y)
        np.save(sys.argv[1], clf.predict_proba(X))
        """
    )
    outputs = []
    for i in range(2):
        path = tmp_path / f"proba{i}.npy"
        subprocess.run([sys.executable, "-c", script, str(path)], check=True)
        outputs.append(np.load(path))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    in_process = KerasMLPClassifier(
        hidden_layer_sizes=(16,), dropout=0.3, learning_rate=0.01, epochs=5, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(in_process.predict_proba(X), outputs[0], rtol=1e-6, atol=1e-7)


def test_unseeded_fits_vary_and_global_state_is_left_alone(breast_cancer):
    X, y = breast_cancer
    KerasMLPClassifier(epochs=2, **FAST).fit(X, y)  # a seeded fit first
    python_state, numpy_state = random.getstate(), np.random.get_state()
    KerasMLPClassifier(epochs=2, **FAST).fit(X, y)
    assert random.getstate() == python_state
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    params = {**FAST, "random_state": None, "epochs": 2}
    a = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    b = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    assert not np.allclose(a, b)
    # plain Keras with unseeded random ops still works after seeded fits
    assert keras.random.uniform((2,)).shape == (2,)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(np.ones((8, 3)), np.ones(8), epochs=1, verbose=0)


def test_partial_fit_with_classes_accepts_batches_missing_a_class(iris):
    X, y = iris
    clf = KerasMLPClassifier(**FAST)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    clf.partial_fit(X, y)
    assert list(clf.classes_) == [0, 1, 2]
    assert clf.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="not in classes"):
        KerasMLPClassifier(**FAST).partial_fit(X, y, classes=[0, 1])


@pytest.mark.parametrize("mode", ["min", "max"])
def test_float_early_stopping_decides_as_keras(mode):
    import keras

    from skkeras.callbacks._stopping import FloatEarlyStopping

    values = [1.0, 0.9, 0.95, 0.899, 0.9, 0.7, 0.71, 0.72, 0.73, 0.74]
    if mode == "max":
        values = [-v for v in values]
    runs = []
    for kind in (keras.callbacks.EarlyStopping, FloatEarlyStopping):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        callback = kind(monitor="loss", patience=2, min_delta=0.005, mode=mode,
                        restore_best_weights=True)
        callback.set_model(model)
        model.stop_training = False
        callback.on_train_begin()
        trace = []
        for epoch, value in enumerate(values):
            callback.on_epoch_end(epoch, {"loss": value})
            trace.append((callback.wait, callback.best, callback.best_epoch, model.stop_training))
        runs.append(trace)
    assert runs[0] == runs[1]
    assert runs[1][-1][3]  # it did stop


@pytest.mark.parametrize(
    ("name", "kind"),
    [("adam", "Adam"), ("Adam", "Adam"), ("RMSprop", "RMSprop"), ("adamw", "AdamW"),
     ("sgd", "SGD")],
)
def test_optimizer_names_give_keras_classes_with_fixed_names(name, kind):
    from skkeras._compile import make_optimizer

    optimizer = make_optimizer(name, {"learning_rate": 0.01}, estimator_name="Est")
    assert type(optimizer).__name__ == kind
    assert optimizer.name == kind.lower()
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_unknown_optimizer_name_names_the_parameter():
    from skkeras._compile import make_optimizer

    for name in ("adamm", "optimizer"):  # a typo; Keras's abstract base class
        with pytest.raises(ValueError, match="'optimizer' parameter of Est"):
            make_optimizer(name, {}, estimator_name="Est")


# ---------------------------------------------------------------------- relative sample weights
@pytest.mark.parametrize("early_stopping", [False, True])
def test_scaling_every_sample_weight_does_not_change_the_fit(diabetes, early_stopping):
    X, y = diabetes[0][:120], diabetes[1][:120]
    weights = np.random.RandomState(0).uniform(0.2, 3.0, len(X))

    def fit(scale):
        return KerasMLPRegressor(
            (8,), optimizer="sgd", learning_rate=0.05, l2=0.1, epochs=3, patience=None,
            early_stopping=early_stopping, random_state=0,
        ).fit(X, y, sample_weight=weights * scale)

    reference = fit(1.0)
    for scale in (10.0, 0.01):
        scaled = fit(scale)
        np.testing.assert_allclose(scaled.predict(X), reference.predict(X), rtol=1e-5, atol=1e-6)
        for key in reference.history_:
            np.testing.assert_allclose(scaled.history_[key], reference.history_[key], rtol=1e-5)


def test_class_weights_are_relative(breast_cancer):
    X, y = breast_cancer[0][:150], breast_cancer[1][:150]

    def proba(class_weight, **params):
        return KerasMLPClassifier(
            (8,), optimizer="sgd", learning_rate=0.05, epochs=2, patience=None, random_state=0,
            class_weight=class_weight, **params,
        ).fit(X, y).predict_proba(X)

    np.testing.assert_allclose(proba({0: 50, 1: 50}), proba({0: 1, 1: 1}), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba({0: 50, 1: 50}), proba(None), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(proba({0: 20, 1: 60}), proba({0: 1, 1: 3}), rtol=1e-5, atol=1e-6)
    # the wrappers (Keras's own fit) too
    wrapped = [
        KerasClassifier(classifier_model, optimizer="sgd", epochs=2, random_state=0,
                        class_weight=weights).fit(X, y).predict_proba(X)
        for weights in ({0: 50, 1: 50}, {0: 1, 1: 1})
    ]
    np.testing.assert_allclose(wrapped[0], wrapped[1], rtol=1e-5, atol=1e-6)


def test_partial_fit_weights_are_relative_within_each_call(iris):
    X, y = iris
    weights = np.random.RandomState(0).uniform(0.2, 3.0, len(X))
    fits = []
    for scale in (1.0, 100.0):
        clf = KerasMLPClassifier((6,), optimizer="sgd", learning_rate=0.05, random_state=0)
        clf.partial_fit(X, y, sample_weight=weights * scale, classes=[0, 1, 2])
        fits.append(clf.partial_fit(X, y, sample_weight=weights).predict_proba(X))
    np.testing.assert_allclose(fits[0], fits[1], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- warm starts
def test_warm_fit_applies_changed_optimizer_parameters(diabetes):
    X, y = diabetes
    reg = KerasMLPRegressor(
        (8,), optimizer="sgd", learning_rate=0.01, epochs=2, patience=None, warm_start=True,
        random_state=0,
    ).fit(X, y)
    first_model, kernel = reg.model_, reg.model_.trainable_variables[0].numpy().copy()
    reg.set_params(optimizer="adam", learning_rate=0.05).fit(X, y)
    assert reg.model_ is first_model  # the same network, trained on
    assert isinstance(reg.model_.optimizer, keras.optimizers.Adam)
    np.testing.assert_allclose(reg.history_["learning_rate"], [0.01, 0.01, 0.05, 0.05])
    assert not np.allclose(reg.model_.trainable_variables[0].numpy(), kernel)
    # unchanged parameters keep the optimizer (and its state)
    optimizer = reg.model_.optimizer
    reg.fit(X, y)
    assert reg.model_.optimizer is optimizer and reg.n_iter_ == 6
    # partial_fit applies a change too
    reg.set_params(learning_rate=0.002).partial_fit(X, y)
    assert reg.history_["learning_rate"][-1] == pytest.approx(0.002)


def test_warm_fit_from_a_remembered_start_applies_a_changed_optimizer(iris):
    X, y = iris
    params = {"epochs": 2, "patience": None, "random_state": 0, "warm_start": True}
    KerasMLPClassifier((5,), **params).fit(X, y)
    clf = KerasMLPClassifier((5,), **params).fit(X, y)  # may train from the remembered start
    before = clf.predict_proba(X)
    clf.set_params(optimizer="sgd", learning_rate=0.1).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    assert clf.history_["learning_rate"][-1] == pytest.approx(0.1)
    assert not np.allclose(clf.predict_proba(X), before)


@pytest.mark.parametrize(
    ("changed", "shown"),
    [({"hidden_layer_sizes": (16, 16)}, r"hidden_layer_sizes: \(8,\) -> \(16, 16\)"),
     ({"dropout": 0.5, "l2": 0.1}, r"dropout: 0\.0 -> 0\.5; l2: 0\.0 -> 0\.1"),
     ({"activation": "tanh"}, r"activation: 'relu' -> 'tanh'"),
     ({"batch_normalization": True}, r"batch_normalization: False -> True")],
)
def test_warm_fit_refuses_changed_network_parameters(diabetes, changed, shown):
    X, y = diabetes
    reg = KerasMLPRegressor(
        (8,), epochs=1, patience=None, warm_start=True, random_state=0
    ).fit(X, y)
    reg.set_params(**changed)
    for method in (reg.fit, reg.partial_fit):
        with pytest.raises(ValueError, match=shown + r".*Set warm_start=False"):
            method(X, y)
    assert reg.n_iter_ == 1
    reg.set_params(warm_start=False).fit(X, y)  # rebuilds with the new parameters
    assert reg.n_iter_ == 1


def test_wrapper_warm_fit_refuses_builder_changes_and_applies_optimizer_changes(iris):
    X, y = iris
    clf = KerasClassifier(
        classifier_model, hidden=4, optimizer="sgd", optimizer__learning_rate=0.01, epochs=1,
        warm_start=True, random_state=0,
    ).fit(X, y)
    clf.set_params(optimizer__learning_rate=0.2)
    clf.fit(X, y)
    assert clf.history_["learning_rate"] == pytest.approx([0.01, 0.2])
    clf.set_params(hidden=8)
    with pytest.raises(ValueError, match=r"hidden: 4 -> 8.*warm_start=False"):
        clf.fit(X, y)
    clf.set_params(hidden=4, model__hidden=8)
    with pytest.raises(ValueError, match=r"model__hidden: \(not set\) -> 8"):
        clf.fit(X, y)
    clf.set_params(model=_other_builder)
    del clf.model__hidden
    with pytest.raises(ValueError, match=r"model: <function classifier_model.*> -> <function "
                                         r"_other_builder"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2


def _other_builder(hidden=16, meta=None):
    return classifier_model(hidden, meta)


# ---------------------------------------------------------------------- optimizer instances
def test_optimizer_instance_keeps_its_learning_rate_and_schedule(iris):
    X, y = iris
    clf = KerasMLPClassifier(
        (8,), optimizer=keras.optimizers.SGD(learning_rate=0.05, momentum=0.5), epochs=2,
        patience=None, random_state=0,
    ).fit(X, y)
    assert clf.history_["learning_rate"] == pytest.approx([0.05, 0.05])
    assert float(clf.model_.optimizer.momentum) == pytest.approx(0.5)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    clf = KerasMLPClassifier(
        (8,), optimizer=keras.optimizers.SGD(learning_rate=schedule), epochs=2, patience=None,
        random_state=0,
    ).fit(X, y)
    rates = clf.history_["learning_rate"]
    assert rates[0] < 0.1 and rates[1] < rates[0]


def test_learning_rate_may_be_a_schedule(iris):
    from sklearn.base import clone

    X, y = iris
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    clf = KerasMLPClassifier(
        (8,), optimizer="sgd", learning_rate=schedule, epochs=2, patience=None, random_state=0
    )
    for _ in range(2):  # the second fit could start from a remembered state: it must not
        fitted = clone(clf).fit(X, y)
        rates = fitted.history_["learning_rate"]
        assert rates[0] < 0.1 and rates[1] < rates[0]
    assert clone(clf).get_params()["learning_rate"].get_config() == schedule.get_config()


# ---------------------------------------------------------------------- routed fit arguments
def test_routed_fit_arguments_override_the_estimators_own(iris):
    X, y = iris
    same = [KerasClassifier(classifier_model, epochs=2, random_state=0, **params).fit(X, y)
            for params in ({"fit__batch_size": 16, "fit__shuffle": False},
                           {"batch_size": 16, "shuffle": False})]
    np.testing.assert_allclose(same[0].predict_proba(X), same[1].predict_proba(X), rtol=1e-6)
    for params in ({"fit__shuffle": False}, {"fit__batch_size": 16}, {"fit__epochs": 3}):
        clf = KerasClassifier(classifier_model, epochs=2, random_state=0, **params).fit(X, y)
        assert clf.n_iter_ == params.get("fit__epochs", 2)
    # the fast path (a ready-made network, given them as fit arguments) reads them too
    routed = KerasMLPClassifier((6,), epochs=2, patience=None, random_state=0)
    plain = KerasMLPClassifier((6,), epochs=2, patience=None, random_state=0,
                               batch_size=16, shuffle=False)
    np.testing.assert_allclose(
        routed.fit(X, y, batch_size=16, shuffle=False).predict_proba(X),
        plain.fit(X, y).predict_proba(X), rtol=1e-6,
    )
    other = KerasMLPClassifier((6,), epochs=2, patience=None, random_state=0).fit(X, y)
    assert not np.allclose(other.predict_proba(X), plain.predict_proba(X))
    # given to fit itself
    fitted = KerasClassifier(classifier_model, random_state=0).fit(X, y, batch_size=8, epochs=2)
    assert fitted.n_iter_ == 2
    with pytest.raises(ValueError, match="partial_fit trains one epoch"):
        fitted.partial_fit(X, y, epochs=2)


def test_grid_over_callback_lists_and_routed_callback_arguments(breast_cancer):
    from sklearn.model_selection import GridSearchCV

    X, y = breast_cancer[0][:120], breast_cancer[1][:120]
    grid = {"callbacks": [[StepDecay(milestones=(2,), factor=0.5)],
                          [StepDecay(milestones=(2,), factor=0.1)]]}
    mlp = KerasMLPClassifier((4,), optimizer="sgd", learning_rate=0.1, epochs=3, patience=None,
                             random_state=0)
    search = GridSearchCV(mlp, grid, cv=2).fit(X, y)
    factor = search.best_params_["callbacks"][0].factor
    np.testing.assert_allclose(
        search.best_estimator_.history_["learning_rate"], [0.1, 0.1, 0.1 * factor], rtol=1e-6
    )
    assert search.cv_results_["mean_test_score"].shape == (2,)
    wrapped = KerasClassifier(classifier_model, optimizer="sgd", optimizer__learning_rate=0.1,
                              epochs=3, callbacks={"decay": StepDecay},
                              callbacks__decay__milestones=(2,), random_state=0)
    search = GridSearchCV(wrapped, {"callbacks__decay__factor": [0.5, 0.1]}, cv=2).fit(X, y)
    factor = search.best_params_["callbacks__decay__factor"]
    np.testing.assert_allclose(
        search.best_estimator_.history_["learning_rate"], [0.1, 0.1, 0.1 * factor], rtol=1e-6
    )


def _decayed(**params):
    """A small SGD regressor whose StepDecay halves the rate after epochs 2 and 4."""
    params = {
        "hidden_layer_sizes": (4,), "optimizer": "sgd", "learning_rate": 0.1, "patience": None,
        "random_state": 0, "callbacks": [StepDecay(milestones=(2, 4), factor=0.5)], **params,
    }
    return KerasMLPRegressor(**params)


def _regression_data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    return X, X.sum(axis=1)


def test_step_decay_continues_its_schedule_on_warm_fits():
    X, y = _regression_data()
    one_fit = _decayed(epochs=6).fit(X, y).history_["learning_rate"]
    warm = _decayed(epochs=3, warm_start=True).fit(X, y).fit(X, y)
    np.testing.assert_allclose(warm.history_["learning_rate"], one_fit, rtol=1e-6)
    np.testing.assert_allclose(one_fit, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6)


def test_step_decay_continues_its_schedule_over_partial_fits():
    X, y = _regression_data()
    reg = _decayed(epochs=1)
    for _ in range(6):
        reg.partial_fit(X, y)
    np.testing.assert_allclose(
        reg.history_["learning_rate"], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6
    )


def test_step_decay_restarts_from_a_changed_learning_rate_on_warm_fits():
    # a changed learning_rate gives the warm fit a fresh optimizer: the schedule goes on from
    # the new rate at the epoch reached, and later warm fits keep that base
    X, y = _regression_data()
    reg = _decayed(epochs=3, warm_start=True).fit(X, y)
    reg.set_params(learning_rate=0.2, epochs=2).fit(X, y)
    reg.set_params(epochs=1).fit(X, y)
    np.testing.assert_allclose(
        reg.history_["learning_rate"], [0.1, 0.1, 0.05, 0.1, 0.05, 0.05], rtol=1e-6
    )


def test_step_decay_refuses_a_learning_rate_schedule_before_training():
    X, y = _regression_data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    with pytest.raises(ValueError, match=r"StepDecay in callbacks\[0\].*learning_rate "
                                         r"\(ExponentialDecay\)") as caught:
        _decayed(epochs=3, learning_rate=schedule).fit(X, y)
    assert "fitted" not in str(caught.value)
    with pytest.raises(ValueError, match=r"StepDecay in callbacks\['decay'\].*optimizer "):
        _decayed(
            epochs=3, optimizer=keras.optimizers.SGD(learning_rate=schedule),
            callbacks={"decay": StepDecay},
        ).fit(X, y)


def test_step_decay_refuses_a_schedule_compiled_by_a_model_builder(iris):
    X, y = iris

    def compiled(meta):
        model = classifier_model(meta=meta)
        schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
        model.compile(keras.optimizers.SGD(learning_rate=schedule),
                      "sparse_categorical_crossentropy")
        return model

    clf = KerasClassifier(compiled, epochs=3, callbacks=[StepDecay(milestones=(1,)), _Epochs])
    _Epochs.ended = []
    with pytest.raises(ValueError, match=r"StepDecay.*LearningRateSchedule"):
        clf.fit(X, y)
    assert _Epochs.ended == []  # refused when training started, before any epoch
    assert "history_" not in clf.__dict__  # a failed fit leaves the estimator as it was


class _Epochs(keras.callbacks.Callback):
    """Records the epochs that ended (in the class: an estimator fits with copies)."""

    ended: list = []

    def on_epoch_end(self, epoch, logs=None):
        type(self).ended.append(epoch)


def test_step_decay_refuses_duplicate_milestones_and_non_numbers():
    with pytest.raises(ValueError, match="distinct"):
        StepDecay(milestones=(3, 3))
    with pytest.raises(ValueError, match="milestones"):
        StepDecay(milestones=(True,))
    with pytest.raises(ValueError, match="factor must be a number"):
        StepDecay(factor="0.5")
    assert StepDecay(milestones=(4.0, 2)).milestones == (2, 4)


# ---------------------------------------------------------------------- initialize
def _initialize_cases():
    from skkeras import (
        KerasCNNClassifier,
        KerasCNNRegressor,
        KerasLSTMClassifier,
        KerasLSTMRegressor,
        KerasRegressor,
    )

    from ._builders import regressor_model

    cnn = {"filters": (2,), "convs_per_block": 1, "dense_units": ()}
    return {  # estimator, shape of one sample
        "mlp_classifier": (lambda: KerasMLPClassifier((4,)), (4,)),
        "mlp_regressor": (lambda: KerasMLPRegressor((4,)), (4,)),
        "cnn_classifier": (lambda: KerasCNNClassifier(**cnn), (6, 6, 1)),
        "cnn_regressor": (lambda: KerasCNNRegressor(**cnn), (6, 6, 1)),
        "lstm_classifier": (lambda: KerasLSTMClassifier(units=2), (5, 1)),
        "lstm_regressor": (lambda: KerasLSTMRegressor(units=2), (5, 1)),
        "wrapper_classifier": (lambda: KerasClassifier(classifier_model, hidden=4), (4,)),
        "wrapper_regressor": (lambda: KerasRegressor(regressor_model, hidden=4), (4,)),
    }


INITIALIZE_CASES = _initialize_cases()


def _initialize_data(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, *INITIALIZE_CASES[name][1])).astype("float32")
    score = X.reshape(len(X), -1).sum(axis=1)
    y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])) if "classifier" in name else score
    return X, y


def _outputs(estimator, X):
    """What the estimator predicts from its network's outputs: probabilities or values."""
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    return estimator.predict(X)


@pytest.mark.parametrize("name", list(INITIALIZE_CASES))
def test_initialize_builds_the_untrained_network_of_every_estimator(name, monkeypatch):
    X, y = _initialize_data(name)
    estimator = INITIALIZE_CASES[name][0]().set_params(epochs=1, random_state=0)
    assert estimator.initialized_ is False
    trained = []
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: trained.append(1))
    assert estimator.initialize(X, y) is estimator
    assert trained == [] and estimator.initialized_ is True
    assert estimator.n_iter_ == 0 and estimator.history_ == {}
    assert estimator.model_.compiled
    network = np.asarray(estimator.model_(X)).reshape(len(X), -1)
    np.testing.assert_allclose(_outputs(estimator, X).reshape(len(X), -1), network, rtol=1e-5,
                               atol=1e-6)
    if "classifier" in name:
        np.testing.assert_array_equal(estimator.classes_, [0, 1, 2])


@pytest.mark.parametrize("name", list(INITIALIZE_CASES))
def test_fit_after_initialize_rebuilds_or_continues_with_warm_start(name):
    X, y = _initialize_data(name)
    make = INITIALIZE_CASES[name][0]
    params = {"epochs": 1, "random_state": 0, "verbose": 0}
    cold = make().set_params(**params).fit(X, y)  # from the network initialize builds too
    estimator = make().set_params(**params).initialize(X, y)
    network = estimator.model_
    weights = [w.copy() for w in network.get_weights()]
    estimator.fit(X, y)  # warm_start=False: a new network
    assert estimator.__dict__.get("model_") is not network and estimator.n_iter_ == 1
    estimator = make().set_params(warm_start=True, **params).initialize(X, y)
    network = estimator.model_
    estimator.fit(X, y)  # warm_start=True: trains the initialized network
    assert estimator.model_ is network and estimator.n_iter_ == 1
    assert len(estimator.history_["loss"]) == 1
    assert not all(np.allclose(a, b) for a, b in zip(network.get_weights(), weights, strict=True))
    np.testing.assert_allclose(_outputs(estimator, X), _outputs(cold, X), rtol=1e-4, atol=1e-5)
    estimator.partial_fit(X, y)
    assert estimator.model_ is network and estimator.n_iter_ == 2


@pytest.mark.skipif(keras.backend.backend() == "torch", reason="one step per execution on torch")
@pytest.mark.parametrize("name", ["mlp_classifier", "wrapper_regressor"])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_initialize_compiles_for_the_steps_of_a_fit(name, early_stopping):
    """A warm fit after initialize runs as many steps per graph execution as a fit would."""
    X, y = _initialize_data(name)
    params = {"epochs": 1, "random_state": 0, "batch_size": 4, "early_stopping": early_stopping}
    fitted = INITIALIZE_CASES[name][0]().set_params(**params).fit(X, y)
    initialized = INITIALIZE_CASES[name][0]().set_params(**params).initialize(X, y)
    assert fitted.model_.steps_per_execution > 1
    assert initialized.model_.steps_per_execution == fitted.model_.steps_per_execution


# ---------------------------------------------------------------- failed refits


class _FailAtEpochEnd(keras.callbacks.Callback):
    """Raises ``error`` at the end of the first epoch (a user's callback failing, Ctrl-C)."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error = error

    def on_epoch_end(self, epoch, logs=None):
        raise self.error


class _InterruptModelFree(ModelFreeCallback):
    """A model-free callback (a fit may train from a remembered start) interrupting once
    ``armed``."""

    armed = False

    def epoch_ended(self, epoch: int, logs: dict) -> bool:
        if type(self).armed:
            raise KeyboardInterrupt
        return False


def _three_classes():
    X = np.random.RandomState(0).randn(30, 3).astype(np.float32)
    return X, np.arange(30) % 3


SMALL = {"epochs": 2, "random_state": 0}
REFITS = {
    "mlp-classes": (lambda: KerasMLPClassifier((4,), **SMALL), lambda y: y, lambda y: y + 5),
    "wrapper-classes": (lambda: KerasClassifier(classifier_model, **SMALL), lambda y: y,
                        lambda y: np.where(y == 2, 9, y)),
    "mlp-outputs": (lambda: KerasMLPRegressor((4,), **SMALL), lambda y: y.astype(float),
                    lambda y: np.c_[y, -y].astype(float)),
    "wrapper-outputs": (lambda: KerasRegressor(regressor_model, **SMALL),
                        lambda y: np.c_[y, -y].astype(float), lambda y: y.astype(float)),
}


@pytest.mark.parametrize("error", [RuntimeError("callback failed"), KeyboardInterrupt()],
                         ids=["error", "interrupt"])
@pytest.mark.parametrize("case", REFITS)
def test_refit_failing_during_training_keeps_the_previous_fit(case, error):
    """The new target is not left next to the previous network: the estimator is as it was."""
    make, first, second = REFITS[case]
    X, labels = _three_classes()
    estimator = make().fit(X, first(labels))
    predicted = estimator.predict(X)
    state = dict(estimator.__dict__)
    with pytest.raises(type(error)):
        estimator.fit(X, second(labels), callbacks=[_FailAtEpochEnd(error)])
    assert sorted(estimator.__dict__) == sorted(state)
    assert [key for key in state if estimator.__dict__[key] is not state[key]] == []
    np.testing.assert_array_equal(estimator.predict(X), predicted)


def test_refit_interrupted_while_training_from_a_remembered_start(monkeypatch):
    X, labels = _three_classes()
    params = {"hidden_layer_sizes": (4,), "callbacks": [_InterruptModelFree], **SMALL}
    KerasMLPClassifier(**params).fit(X, labels + 5)  # remembers the start of the refit below
    clf = KerasMLPClassifier(**params).fit(X, labels)
    predicted, state = clf.predict(X), dict(clf.__dict__)
    from_start = []
    train = skkeras._base.run_training_from_start
    monkeypatch.setattr(skkeras._base, "run_training_from_start",
                        lambda *a, **k: from_start.append(1) or train(*a, **k))
    monkeypatch.setattr(_InterruptModelFree, "armed", True)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, labels + 5)
    assert from_start == [1]
    assert [key for key in state if clf.__dict__.get(key) is not state[key]] == []
    assert sorted(clf.__dict__) == sorted(state)
    np.testing.assert_array_equal(clf.predict(X), predicted)


def test_failed_refit_that_trained_the_previous_network_leaves_the_estimator_unfitted():
    """A builder returning the fitted model itself: the failed fit trained the previous
    network on the new target, which cannot be kept."""
    X, labels = _three_classes()
    models = []

    def same_model(meta):
        if not models:
            models.append(classifier_model(4, meta))
        return models[0]

    clf = KerasClassifier(same_model, **SMALL).fit(X, labels)
    with pytest.raises(RuntimeError, match="callback failed"):
        clf.fit(X, labels + 5, callbacks=[_FailAtEpochEnd(RuntimeError("callback failed"))])
    assert not hasattr(clf, "classes_") and "_built_with" not in clf.__dict__
    with pytest.raises(NotFittedError):
        clf.predict(X)
    assert clf.fit(X, labels).classes_.tolist() == [0, 1, 2]  # and it can be fitted again


def test_first_fit_failing_during_training_leaves_the_estimator_unfitted():
    X, labels = _three_classes()
    clf = KerasMLPClassifier((4,), **SMALL)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, labels, callbacks=[_FailAtEpochEnd(KeyboardInterrupt())])
    with pytest.raises(NotFittedError):
        clf.predict(X)


def _templates_free() -> bool:
    """Whether every training template of the fast path (and its spare copies) is unlocked."""
    from skkeras import _fastpath

    templates = list(_fastpath._templates.values())
    return all(not t.lock.locked() for template in templates for t in [template, *template.spares])


COMPILED_FIRST_FITS = {  # how the fit is called, how skkeras's compiled loop is interrupted
    "fit-first-epoch": (lambda est, X, y: est.fit(X, y),
                        lambda m: _interrupt_first_compiled_call(m)),
    "fit-second-epoch": (lambda est, X, y: est.fit(X, y), lambda m: _interrupt_second_call(m)),
    "partial_fit": (lambda est, X, y: est.partial_fit(X, y),
                    lambda m: _interrupt_first_compiled_call(m)),
}


@pytest.mark.parametrize(("case", "fitted"), [
    ("fit-first-epoch", False), ("fit-second-epoch", False), ("partial_fit", False),
    ("fit-first-epoch", True), ("fit-second-epoch", True),  # a refit on other classes
])
def test_new_network_interrupted_in_the_compiled_loop_leaves_the_estimator_as_it_was(
    case, fitted, monkeypatch
):
    """Ctrl-C in skkeras's own compiled training (not Keras's fit) of a new network: an unfitted
    estimator stays unfitted, a fitted one (refit on other classes) keeps its network; the
    compiled loop's templates are released and a later fit is the same as an uninterrupted one."""
    call, interrupt = COMPILED_FIRST_FITS[case]
    X, labels = _three_classes()
    estimator = KerasMLPClassifier((4,), **SMALL)
    if fitted:
        estimator.fit(X, labels + 5)
        predicted = estimator.predict_proba(X)
    state = dict(estimator.__dict__)
    with monkeypatch.context() as patch:
        interrupt(patch)
        with pytest.raises(KeyboardInterrupt):
            call(estimator, X, labels)
    assert sorted(estimator.__dict__) == sorted(state)
    assert [key for key in state if estimator.__dict__[key] is not state[key]] == []
    if fitted:
        np.testing.assert_array_equal(estimator.predict_proba(X), predicted)
    else:
        with pytest.raises(NotFittedError):
            estimator.predict(X)
    assert _templates_free()
    reference = call(KerasMLPClassifier((4,), **SMALL), X, labels)
    call(estimator, X, labels)
    assert estimator.history_ == reference.history_
    np.testing.assert_allclose(estimator.predict_proba(X), reference.predict_proba(X),
                               rtol=1e-6, atol=1e-7)


def test_continued_partial_fit_interrupted_in_the_compiled_loop_changes_nothing(monkeypatch):
    """Ctrl-C in the compiled call of partial_fit's one epoch: the epoch did not reach the
    network (the graph hands the trained state back when it returns), so nothing changed."""
    X, labels = _three_classes()
    estimator = KerasMLPClassifier((4,), **SMALL).fit(X, labels)
    predicted, losses = estimator.predict_proba(X), list(estimator.history_["loss"])
    weights = estimator.model_.get_weights()
    with monkeypatch.context() as patch:
        _interrupt_first_compiled_call(patch)
        with pytest.raises(KeyboardInterrupt):
            estimator.partial_fit(X, labels)
    assert estimator.n_iter_ == estimator.best_epoch_ == 2
    assert estimator.history_["loss"] == losses
    assert _same_weights(estimator.model_.get_weights(), weights)
    np.testing.assert_array_equal(estimator.predict_proba(X), predicted)
    reference = KerasMLPClassifier((4,), **SMALL).fit(X, labels).partial_fit(X, labels)
    estimator.partial_fit(X, labels)
    assert estimator.n_iter_ == 3
    np.testing.assert_allclose(estimator.predict_proba(X), reference.predict_proba(X),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("remembered", [False, True], ids=["model", "remembered-start"])
def test_predict_interrupted_changes_nothing(remembered, monkeypatch):
    """Ctrl-C between predict's forward passes (batch_size rows at a time): the estimator is
    unchanged (a network trained from a remembered start is not built) and predicts as before."""
    X, labels = _three_classes()
    KerasMLPClassifier((4,), **SMALL).fit(X, labels)  # remembers the start of the next fit
    estimator = KerasMLPClassifier((4,), **SMALL).fit(X, labels)
    if not remembered:
        assert estimator.model_ is not None  # builds the Keras model, which predict then uses
    assert ("_trained_state" in estimator.__dict__) == remembered
    predicted, state = estimator.predict_proba(X), dict(estimator.__dict__)
    calls, as_numpy = [], skkeras._base._as_numpy

    def interrupted(outputs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return as_numpy(outputs)

    with monkeypatch.context() as patch:
        patch.setattr(skkeras._base, "_as_numpy", interrupted)
        with pytest.raises(KeyboardInterrupt):
            estimator.predict_proba(X, batch_size=10)
    assert len(calls) == 2
    assert sorted(estimator.__dict__) == sorted(state)
    assert [key for key in state if estimator.__dict__[key] is not state[key]] == []
    np.testing.assert_array_equal(estimator.predict_proba(X, batch_size=10), predicted)


# ------------------------------------------------------- interrupted continued fits


class _FailAtSecondEpochEnd(keras.callbacks.Callback):
    """Raises ``error`` at the end of the second epoch of a fit."""

    def __init__(self, error: BaseException):
        super().__init__()
        self.error, self.ends = error, 0

    def on_epoch_end(self, epoch, logs=None):
        self.ends += 1
        if self.ends == 2:
            raise self.error


class _FailModelFree(ModelFreeCallback):
    """A model-free callback (the compiled whole-fit loop) raising at the second epoch end once
    ``armed``."""

    armed, ends = False, 0

    def epoch_ended(self, epoch: int, logs: dict) -> bool:
        if type(self).armed:
            type(self).ends += 1
            if type(self).ends == 2:
                raise KeyboardInterrupt
        return False


def _interrupt_second_call(monkeypatch):
    """The compiled whole-fit loop, one epoch per call, interrupted after its first call."""
    from skkeras import _fastpath

    calls, call = [], _fastpath._call_training_graph

    def interrupted(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return call(*args)

    monkeypatch.setattr(_fastpath, "_epochs_per_call", lambda *a: 1)
    monkeypatch.setattr(_fastpath, "_call_training_graph", interrupted)


CONTINUED = {  # estimator, how the continued fit fails, epochs it completes before failing
    "mlp-keras-callback": (
        lambda: KerasMLPClassifier((4,), **SMALL),
        lambda m: {"callbacks": [_FailAtSecondEpochEnd(KeyboardInterrupt())]}, 2),
    "mlp-callback-error": (
        lambda: KerasMLPClassifier((4,), **SMALL),
        lambda m: {"callbacks": [_FailAtSecondEpochEnd(RuntimeError("callback failed"))]}, 2),
    "mlp-model-free": (
        lambda: KerasMLPClassifier((4,), callbacks=[_FailModelFree], **SMALL),
        lambda m: m.setattr(_FailModelFree, "armed", True) or {}, 2),
    "mlp-compiled-loop": (
        lambda: KerasMLPClassifier((4,), **SMALL),
        lambda m: _interrupt_second_call(m) or {}, 1),
    "wrapper-keras-fit": (
        lambda: KerasClassifier(classifier_model, **SMALL),
        lambda m: {"callbacks": [_FailAtSecondEpochEnd(KeyboardInterrupt())]}, 2),
}


@pytest.mark.parametrize("case", CONTINUED)
def test_interrupted_warm_fit_records_the_epochs_that_trained_the_network(case, monkeypatch):
    """The network is trained in place: history_ and n_iter_ count the epochs it got, and it
    predicts as a network trained for just those epochs."""
    make, failing, completed = CONTINUED[case]
    X, labels = _three_classes()
    estimator = make().set_params(warm_start=True).fit(X, labels)
    reference = make().set_params(warm_start=True).fit(X, labels)
    reference.fit(X, labels, epochs=completed)
    with monkeypatch.context() as patch:
        failure = failing(patch)
        with pytest.raises((KeyboardInterrupt, RuntimeError)):
            estimator.fit(X, labels, epochs=3, **failure)
    assert estimator.n_iter_ == len(estimator.history_["loss"]) == 2 + completed
    np.testing.assert_allclose(estimator.history_["loss"], reference.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(estimator.predict_proba(X), reference.predict_proba(X),
                               rtol=1e-5, atol=1e-6)
    estimator.fit(X, labels, epochs=1)  # still usable
    assert estimator.n_iter_ == 3 + completed


@pytest.mark.parametrize("make", [lambda: KerasMLPClassifier((4,), **SMALL),
                                  lambda: KerasClassifier(classifier_model, **SMALL)],
                         ids=["mlp", "wrapper"])
def test_interrupted_partial_fit_records_its_epoch(make):
    X, labels = _three_classes()
    estimator = make().fit(X, labels)
    reference = make().fit(X, labels).partial_fit(X, labels)
    with pytest.raises(KeyboardInterrupt):
        estimator.partial_fit(X, labels, callbacks=[_FailAtEpochEnd(KeyboardInterrupt())])
    assert estimator.n_iter_ == len(estimator.history_["loss"]) == 3
    np.testing.assert_allclose(estimator.predict_proba(X), reference.predict_proba(X),
                               rtol=1e-5, atol=1e-6)


# ------------------------------------------------------- diverging continued fits


class _EpochEnds(keras.callbacks.Callback):
    """An epoch-level callback of the user's: each epoch is one compiled call."""

    def on_epoch_end(self, epoch, logs=None):
        pass


class _BatchEnds(keras.callbacks.Callback):
    """A batch-level callback of the user's: training takes Keras's own fit."""

    def on_train_batch_end(self, batch, logs=None):
        pass


def _training_paths(monkeypatch) -> list:
    """The training path each later fit takes: "compiled" (skkeras's loops) or "keras-fit"."""
    from skkeras import _fastpath, _training

    paths, train, keras_fit = [], _fastpath.train, _training._keras_fit

    def compiled(*args, **kwargs):
        trained = train(*args, **kwargs)
        if trained:
            paths.append("compiled")
        return trained

    def plain(*args, **kwargs):
        paths.append("keras-fit")
        return keras_fit(*args, **kwargs)

    monkeypatch.setattr(_fastpath, "train", compiled)
    monkeypatch.setattr(_training, "_keras_fit", plain)
    return paths


def _same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


SGD = {"optimizer": "sgd", "learning_rate": 0.01, **SMALL}  # Adam's step is 0 for huge gradients
DIVERGING = {  # estimator, the path its continued fits take
    "mlp-whole-fit": (lambda: KerasMLPRegressor((4,), **SGD), "compiled"),
    "mlp-per-epoch": (lambda: KerasMLPRegressor((4,), callbacks=[_EpochEnds], **SGD),
                      "compiled"),
    "mlp-keras-fit": (lambda: KerasMLPRegressor((4,), callbacks=[_BatchEnds], **SGD),
                      "keras-fit"),
    "wrapper-keras-fit": (
        lambda: KerasRegressor(regressor_model, callbacks=[_BatchEnds], **SGD), "keras-fit"),
}


@pytest.mark.parametrize("case", DIVERGING)
def test_diverging_continued_fit_records_the_diverged_epoch(case, monkeypatch):
    """As fit's and partial_fit's docstrings say: training stops after the epoch whose loss is
    not finite and raises TrainingDivergedError; that epoch trained the network and is
    counted in history_, n_iter_, current_epoch (and best_epoch_, without validation)."""
    make, path = DIVERGING[case]
    X, labels = _three_classes()
    y = labels.astype(float)
    warm = make().set_params(warm_start=True).fit(X, y)
    partial = make().fit(X, y)
    before, losses = warm.model_.get_weights(), list(warm.history_["loss"])
    paths = _training_paths(monkeypatch)
    with pytest.raises(TrainingDivergedError, match="at epoch 3"):
        warm.fit(X, y * 1e30, epochs=3)  # the loss overflows at once: one epoch of the three
    with pytest.raises(TrainingDivergedError, match="at epoch 3"):
        partial.partial_fit(X, y * 1e30)
    assert paths == [path, path]
    for estimator in (warm, partial):
        assert estimator.n_iter_ == estimator.current_epoch == estimator.best_epoch_ == 3
        assert estimator.history_["loss"][:2] == losses
        assert not np.isfinite(estimator.history_["loss"][2])
    assert not _same_weights(warm.model_.get_weights(), before)
    # one epoch from the same network on the same data: the same weights, in the network
    for a, b in zip(warm.model_.get_weights(), partial.model_.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    warm.set_params(warm_start=False).fit(X, y)  # a new network: usable again
    assert warm.n_iter_ == 2 and np.isfinite(warm.predict(X)).all()


class _DivergeAfterFirstEpoch(keras.callbacks.Callback):
    """Keeps the weights of the fit's first epoch (as ``kept``), then sets a learning rate that
    makes the next epoch diverge."""

    kept = None

    def on_epoch_end(self, epoch, logs=None):
        if type(self).kept is None:
            type(self).kept = self.model.get_weights()
            self.model.optimizer.learning_rate.assign(1e30)


@pytest.mark.parametrize("callbacks", [None, [_BatchEnds]], ids=["compiled", "keras-fit"])
def test_diverging_continued_fit_with_early_stopping_restores_its_best_epoch(callbacks):
    """With early_stopping=True, EarlyStopping puts the best epoch's weights back at the end of
    the diverged training, as in Keras; best_epoch_ names it."""
    X, labels = _three_classes()
    y = labels.astype(float)
    estimator = KerasMLPRegressor(
        (4,), early_stopping=True, validation_fraction=0.2, warm_start=True,
        callbacks=callbacks, **SGD,
    ).fit(X, y)
    _DivergeAfterFirstEpoch.kept = None
    # one step per epoch: epoch 4's step blows the weights up, epoch 5's loss is not finite
    with pytest.raises(TrainingDivergedError, match="at epoch 5"):
        estimator.fit(X, y, epochs=3, callbacks=[_DivergeAfterFirstEpoch])
    assert estimator.n_iter_ == len(estimator.history_["val_loss"]) == 5
    assert estimator.best_epoch_ == 3
    assert _same_weights(estimator.model_.get_weights(), _DivergeAfterFirstEpoch.kept)


def test_continued_fit_with_early_stopping_diverging_at_once_raises_training_diverged():
    """Every validation loss of the continued fit is NaN: not a NumPy error about an all-NaN
    slice in place of TrainingDivergedError, with the epoch unrecorded."""
    X, _ = _three_classes()
    y = X[:, 0].astype(float)
    estimator = KerasMLPRegressor(
        (4,), early_stopping=True, validation_fraction=0.2, warm_start=True, **SGD
    ).fit(X, y)
    with pytest.raises(TrainingDivergedError, match="at epoch 3"):
        estimator.fit(X, y * 1e30, epochs=3)
    assert np.isnan(estimator.history_["val_loss"][2])
    assert estimator.n_iter_ == estimator.best_epoch_ == 3


# ------------------------------------------- continued fits interrupted inside an epoch


class _InterruptMidEpoch(keras.callbacks.Callback):
    """Raises KeyboardInterrupt at the first batch end of the fit's ``at_epoch``-th epoch
    (0-based), keeping the network's weights then (``kept``) and the batch index (``batch``).
    A batch-level callback: the fit takes Keras's own ``Model.fit``."""

    kept = batch = None

    def __init__(self, at_epoch: int):
        super().__init__()
        self.at_epoch, self.epochs_begun = at_epoch, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs_begun += 1

    def on_train_batch_end(self, batch, logs=None):
        if self.epochs_begun == self.at_epoch + 1:
            type(self).kept, type(self).batch = self.model.get_weights(), batch
            raise KeyboardInterrupt


MID_EPOCH = {  # how the continued fit is called, the epochs it completes before the interrupt
    "partial_fit": (lambda est, X, y, cb: est.partial_fit(X, y, callbacks=[cb]), 0, 0),
    "warm-fit-first-epoch": (lambda est, X, y, cb: est.fit(X, y, epochs=3, callbacks=[cb]), 0, 0),
    "warm-fit-second-epoch": (lambda est, X, y, cb: est.fit(X, y, epochs=3, callbacks=[cb]), 1, 1),
}


@pytest.mark.parametrize("case", MID_EPOCH)
@pytest.mark.parametrize("make", [lambda: KerasMLPClassifier((4,), **SMALL),
                                  lambda: KerasClassifier(classifier_model, **SMALL)],
                         ids=["mlp", "wrapper"])
def test_continued_fit_interrupted_inside_an_epoch_keeps_its_steps_uncounted(
    make, case, monkeypatch
):
    """As fit's docstring says, and as in Keras: the steps the interrupted epoch ran are in
    the weights; history_, n_iter_, current_epoch count the completed epochs only."""
    call, at_epoch, completed = MID_EPOCH[case]
    X = np.random.RandomState(0).randn(60, 3).astype(np.float32)
    labels = np.arange(60) % 3
    estimator = make().set_params(warm_start=True, batch_size=1).fit(X, labels)  # 60 steps
    losses = list(estimator.history_["loss"])
    before = estimator.model_.get_weights()
    paths = _training_paths(monkeypatch)
    _InterruptMidEpoch.kept = None
    with pytest.raises(KeyboardInterrupt):
        call(estimator, X, labels, _InterruptMidEpoch(at_epoch))
    assert paths == ["keras-fit"] and _InterruptMidEpoch.batch < 59  # inside the epoch
    assert estimator.n_iter_ == estimator.current_epoch == 2 + completed
    assert len(estimator.history_["loss"]) == 2 + completed
    assert estimator.history_["loss"][:2] == losses
    weights = estimator.model_.get_weights()
    assert _same_weights(weights, _InterruptMidEpoch.kept)  # the partial epoch's steps
    assert not _same_weights(weights, before)
    proba = estimator.predict_proba(X)
    np.testing.assert_allclose(proba, estimator.model_.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)
    estimator.partial_fit(X, labels)  # continues from there
    assert estimator.n_iter_ == len(estimator.history_["loss"]) == 3 + completed


def _interrupt_first_compiled_call(monkeypatch) -> None:
    from skkeras import _fastpath

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_fastpath, "_call_training_graph", interrupted)


@pytest.mark.parametrize("path", ["compiled", "keras-fit"])
def test_continued_fit_interrupted_in_its_first_epoch_keeps_best_epoch(path, monkeypatch):
    """No epoch of the continued fit completed: best_epoch_ still names the previous fit's best
    epoch (whose weights early stopping put back), not the last epoch."""
    X = np.random.RandomState(0).randn(60, 3).astype(np.float32)
    labels = np.arange(60) % 3
    estimator = KerasMLPClassifier(
        (4,), epochs=3, random_state=0, early_stopping=True, validation_fraction=0.3,
        learning_rate=3.0, patience=5, warm_start=True,
    ).fit(X, labels)
    best, losses = estimator.best_epoch_, list(estimator.history_["val_loss"])
    assert best < estimator.n_iter_ == 3  # the last epoch was not the best
    callbacks = []
    if path == "compiled":
        _interrupt_first_compiled_call(monkeypatch)
    else:
        _InterruptMidEpoch.kept = None
        callbacks = [_InterruptMidEpoch(0)]
    with pytest.raises(KeyboardInterrupt):
        estimator.fit(X, labels, callbacks=callbacks)
    assert estimator.n_iter_ == estimator.current_epoch == 3
    assert estimator.history_["val_loss"] == losses
    assert estimator.best_epoch_ == best


@pytest.mark.parametrize("name", ["mlp_classifier", "cnn_regressor", "lstm_classifier",
                                  "wrapper_regressor"])
def test_current_epoch_counts_the_epochs_of_every_estimator(name):
    X, y = _initialize_data(name)
    estimator = INITIALIZE_CASES[name][0]().set_params(epochs=2, random_state=0, warm_start=True)
    assert estimator.current_epoch == 0
    assert estimator.fit(X, y).current_epoch == 2
    assert estimator.partial_fit(X, y).current_epoch == 3 == len(estimator.history_["loss"])
