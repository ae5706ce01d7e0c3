"""Early stopping, history, schedules, callbacks, warm starts and reproducibility."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor
from skkeras._training import split_validation
from skkeras.callbacks import StepDecay

from ._builders import classifier_model

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
    with pytest.raises(ValueError, match="not seen in the first fit"):
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
