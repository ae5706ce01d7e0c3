"""scikeras compatibility: the quickstart runs unchanged except for the import, under both
libraries, and scikeras's documented behaviours (one-hot targets, loss checks, callbacks,
batch sizes, history keys) hold.

scikeras is run in a subprocess: importing it monkey-patches Keras classes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading

import keras
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from skkeras import KerasClassifier, KerasMLPClassifier, KerasRegressor

QUICKSTART = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    import keras
    {import_line}

    X, y = make_classification(1000, 20, n_informative=10, random_state=0)
    X = X.astype(np.float32)
    y = y.astype(np.int64)

    def get_model(hidden_layer_dim, meta):
        n_features_in_ = meta["n_features_in_"]
        X_shape_ = meta["X_shape_"]
        n_classes_ = meta["n_classes_"]
        model = keras.models.Sequential()
        model.add(keras.layers.Input(shape=X_shape_[1:]))
        model.add(keras.layers.Dense(n_features_in_))
        model.add(keras.layers.Activation("relu"))
        model.add(keras.layers.Dense(hidden_layer_dim))
        model.add(keras.layers.Activation("relu"))
        model.add(keras.layers.Dense(n_classes_))
        model.add(keras.layers.Activation("softmax"))
        return model

    clf = KerasClassifier(
        get_model,
        loss="sparse_categorical_crossentropy",
        hidden_layer_dim=100,
        optimizer__learning_rate=0.005,
        epochs=5,
        verbose=0,
    )
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    search = GridSearchCV(clf, {{"hidden_layer_dim": [10, 50]}}, cv=2).fit(X, y)
    print(json.dumps({{
        "proba_shape": list(y_proba.shape),
        "accuracy": float(clf.score(X, y)),
        "best": search.best_params_["hidden_layer_dim"],
    }}))
    """
)


def _run(import_line: str) -> dict:
    code = QUICKSTART.format(import_line=import_line)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_scikeras_quickstart_runs_unchanged_with_skkeras():
    pytest.importorskip("scikeras")
    ours = _run("from skkeras import KerasClassifier")
    theirs = _run("from scikeras.wrappers import KerasClassifier")
    assert ours["proba_shape"] == theirs["proba_shape"] == [1000, 2]
    assert ours["best"] in (10, 50)
    assert ours["accuracy"] > 0.85
    assert abs(ours["accuracy"] - theirs["accuracy"]) < 0.1


# ---------------------------------------------------------------- scikeras behaviours


def _data():
    rng = np.random.RandomState(0)
    X = rng.randn(60, 4).astype("float32")
    y = np.digitize(X[:, 0], [-0.5, 0.5])
    return X, y


def _softmax_model(meta):
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def _sigmoid_model(meta):
    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


@pytest.mark.parametrize("loss", ["categorical_crossentropy", "binary_crossentropy", None])
def test_onehot_y_is_one_class_per_row_as_in_scikeras(loss):
    X, y = _data()
    onehot = np.eye(3)[y]
    clf = KerasClassifier(_softmax_model, loss=loss, epochs=1, random_state=0).fit(X, onehot)
    predicted = clf.predict(X)
    assert predicted.shape == (60, 3) and predicted.dtype == np.int64
    assert (predicted.sum(axis=1) == 1).all() and set(np.unique(predicted)) <= {0, 1}
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(predicted.argmax(axis=1), proba.argmax(axis=1))
    assert clf.target_type_ == "multilabel-indicator"  # scikeras's target_type_ too
    assert clf.n_outputs_ == 1 and clf.n_classes_ == 3
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.score(X, onehot) == np.mean(predicted.argmax(axis=1) == y)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 3.0, 2: 0.5}])
def test_class_weight_on_onehot_y_weights_each_row_by_its_class(class_weight):
    X, y = _data()
    params = dict(loss="categorical_crossentropy", epochs=2, class_weight=class_weight,
                  random_state=0, shuffle=False)
    on_onehot = KerasClassifier(_softmax_model, **params).fit(X, np.eye(3)[y])
    on_labels = KerasClassifier(_softmax_model, **params).fit(X, y)
    np.testing.assert_allclose(on_onehot.history_["loss"], on_labels.history_["loss"], rtol=1e-5)
    unweighted = KerasClassifier(_softmax_model, **{**params, "class_weight": None})
    assert unweighted.fit(X, y).history_["loss"] != on_labels.history_["loss"]


def test_onehot_warm_fit_refuses_a_y_that_is_not_onehot():
    X, y = _data()
    clf = KerasClassifier(_softmax_model, loss="categorical_crossentropy", warm_start=True,
                          random_state=0).fit(X, np.eye(3)[y])
    several = np.eye(3)[y]
    several[:, 0] = 1
    with pytest.raises(ValueError, match="one-hot"):
        clf.fit(X, several)
    with pytest.raises(ValueError, match="3 columns"):
        clf.fit(X, np.eye(4)[np.minimum(y + 1, 3)])


def test_ready_made_classifier_keeps_onehot_y_multilabel():
    """A ready-made estimator has no categorical loss: one label per row may be genuine
    multilabel data, so each column stays a label of its own."""
    X, y = _data()
    onehot = np.eye(3)[y]
    clf = KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0).fit(X, onehot)
    assert clf.n_outputs_ == 3
    assert clf.predict(X).dtype == onehot.dtype
    with pytest.raises(ValueError, match="multilabel"):
        KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1, class_weight="balanced",
                           random_state=0).fit(X, onehot)


class _TrainingStarts(keras.callbacks.Callback):
    started: list = []

    def on_train_begin(self, logs=None):
        _TrainingStarts.started.append(True)


def _compiled_with_mse(meta):
    model = _sigmoid_model(meta)
    model.compile(loss="mse", optimizer="adam")
    return model


def test_loss_contradicting_the_builders_compiled_loss_is_refused_before_training():
    X, y = _data()
    _TrainingStarts.started.clear()
    clf = KerasClassifier(_compiled_with_mse, loss="binary_crossentropy", epochs=1,
                          callbacks=[_TrainingStarts])
    with pytest.raises(ValueError, match=r"loss='binary_crossentropy'.*compiled the model with "
                                         r"loss='mse'"):
        clf.fit(X, y > 0)
    assert _TrainingStarts.started == []


@pytest.mark.parametrize(
    "loss", ["mse", "mean_squared_error", keras.losses.MeanSquaredError,
             keras.losses.MeanSquaredError(), keras.losses.mean_squared_error, None]
)
def test_loss_naming_the_builders_compiled_loss_is_accepted(loss):
    X, y = _data()

    def build(meta):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        return model

    KerasRegressor(build, loss=loss, epochs=1, random_state=0).fit(X, y.astype(float))


def test_builder_compiling_with_compile_kwargs_matches_the_loss_parameter():
    X, y = _data()

    def build(meta, compile_kwargs):
        model = _softmax_model(meta)
        model.compile(**compile_kwargs)
        return model

    clf = KerasClassifier(build, loss=keras.losses.SparseCategoricalCrossentropy, epochs=1,
                          random_state=0).fit(X, y)
    assert clf.predict(X).shape == (60,)


class _Epochs(keras.callbacks.Callback):
    """Records (tag, epoch) at each epoch end in a class-level log (instances are copied)."""

    log: list = []

    def __init__(self, tag="default"):
        super().__init__()
        self.tag = tag

    def on_epoch_end(self, epoch, logs=None):
        _Epochs.log.append((self.tag, epoch))


def test_a_single_callback_instance_or_class_is_accepted():
    X, y = _data()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    clf = KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=5, callbacks=stop,
                          random_state=0).fit(X, y > 0)
    assert clf.n_iter_ == 2  # stopped by the callback, not after 5 epochs
    _Epochs.log.clear()
    KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=2, callbacks=_Epochs,
                    callbacks__tag="class", random_state=0).fit(X, y > 0)
    assert _Epochs.log == [("class", 0), ("class", 1)]


def test_a_single_value_that_is_not_a_callback_is_refused():
    X, y = _data()
    clf = KerasClassifier(_sigmoid_model, loss="binary_crossentropy", callbacks="stop")
    with pytest.raises(ValueError, match="'callbacks' parameter of KerasClassifier must be"):
        clf.fit(X, y > 0)


def test_fit_callbacks_are_added_to_the_estimators_callbacks_for_the_fit():
    X, y = _data()
    _Epochs.log.clear()
    clf = KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=1,
                          callbacks=[_Epochs("own")], fit__callbacks=[_Epochs],
                          fit__callbacks__tag="routed", random_state=0).fit(X, y > 0)
    assert _Epochs.log == [("own", 0), ("routed", 0)]
    _Epochs.log.clear()
    clf.set_params(fit__callbacks=None).fit(X, y > 0, callbacks=_Epochs("given"))
    assert _Epochs.log == [("own", 0), ("given", 0)]


def test_callbacks_are_copied_unless_they_copy_to_themselves():
    """The documented way to read a callback's state back (docs/coming-from-scikeras.md)."""
    X, y = _data()
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    clf = KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=5, callbacks=[stop],
                          random_state=0).fit(X, y > 0)
    assert stop.stopped_epoch == 0 and clf.n_iter_ == 2

    class SharedEarlyStopping(keras.callbacks.EarlyStopping):
        def __deepcopy__(self, memo):
            return self

    shared = SharedEarlyStopping(monitor="loss", patience=0, min_delta=100.0)
    KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=5, callbacks=[shared],
                    random_state=0).fit(X, y > 0)
    assert shared.stopped_epoch == 1


def test_initial_epoch_is_refused_with_the_reason():
    X, y = _data()
    clf = KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=1)
    with pytest.raises(ValueError, match=r"\['initial_epoch'\].*numbered from the fitted "
                                         r"history_.*warm_start=True"):
        clf.fit(X, y > 0, initial_epoch=1)


class _BatchSizes(keras.callbacks.Callback):
    """Records the number of batches of each training epoch."""

    batches: list = []

    def on_epoch_begin(self, epoch, logs=None):
        _BatchSizes.batches.append(0)

    def on_train_batch_end(self, batch, logs=None):
        _BatchSizes.batches[-1] += 1


@pytest.mark.parametrize("params", [{"batch_size": -1}, {"fit__batch_size": -1}])
def test_batch_size_minus_one_trains_on_all_rows_in_one_batch(params):
    X, y = _data()
    _BatchSizes.batches.clear()
    KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=2, callbacks=[_BatchSizes],
                    random_state=0, **params).fit(X, y > 0)
    assert _BatchSizes.batches == [1, 1]


def test_predict_batch_size_minus_one_and_as_keyword_predict_the_same():
    X, y = _data()
    clf = KerasClassifier(_softmax_model, epochs=1, random_state=0).fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_allclose(clf.predict_proba(X, batch_size=7), expected, rtol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X, batch_size=-1), expected, rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X, batch_size=5), clf.predict(X))
    clf.set_params(predict__batch_size=-1)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5)
    reg = KerasRegressor(_sigmoid_model, predict__batch_size=-1, epochs=1, random_state=0)
    reg.fit(X, y.astype(float))
    np.testing.assert_allclose(reg.predict(X, batch_size=3), reg.predict(X), rtol=1e-5)


@pytest.mark.parametrize("value", [0, -2, 1.5])
def test_invalid_predict_batch_sizes_are_refused(value):
    X, y = _data()
    clf = KerasClassifier(_softmax_model, epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"'batch_size' must be a positive int, -1"):
        clf.predict(X, batch_size=value)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['verbose'\]"):
        clf.predict_proba(X, verbose=0)
    with pytest.raises(ValueError, match="'batch_size' parameter of KerasClassifier"):
        KerasClassifier(_softmax_model, batch_size=value).fit(X, y)


def test_metric_classes_are_recorded_under_their_own_name_on_every_fit():
    X, y = _data()
    clf = KerasClassifier(_sigmoid_model, loss="binary_crossentropy", epochs=1,
                          metrics=[keras.metrics.Precision, keras.metrics.AUC], random_state=0)
    for _ in range(2):
        assert sorted(clf.fit(X, y > 0).history_) == ["auc", "learning_rate", "loss", "precision"]


def test_string_metrics_keep_kerass_short_keys():
    """Documented difference: scikeras renames "mse" to "mean_squared_error" in history_."""
    X, y = _data()
    reg = KerasRegressor(_sigmoid_model, loss="mse", metrics=["mse", "mae"], epochs=1,
                         random_state=0).fit(X, y.astype(float))
    assert sorted(reg.history_) == ["learning_rate", "loss", "mae", "mse"]


# --------------------------------------------------------------------------------------------
# scikeras's documented patterns, run with skkeras (a scikeras user changes one import)

_rng = np.random.RandomState(0)
X_SMALL = _rng.randn(40, 4).astype("float32")
Y_BINARY = (X_SMALL[:, 0] > 0).astype(int)
Y_THREE = np.digitize(X_SMALL[:, 0], [-0.5, 0.5])


def _dense_net(n_in, n_out, activation, batch_norm=False):
    layers = [keras.Input((n_in,)), keras.layers.Dense(8, activation="relu")]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    return keras.Sequential([*layers, keras.layers.Dense(n_out, activation=activation)])


def _pretrained(batch_norm=False):
    """A compiled model standing in for a pretrained one: SGD with learning rate 0, so training
    cannot move its weights, and non-default non-trainable state (BatchNormalization)."""
    model = _dense_net(4, 1, "sigmoid", batch_norm=batch_norm)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.0))
    if batch_norm:
        bn = next(
            layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
        )
        bn.moving_mean.assign(np.full(8, 0.5, dtype="float32"))
        bn.moving_variance.assign(np.full(8, 2.0, dtype="float32"))
    return model


def _same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_model_instance_training_starts_from_its_weights():
    model = _pretrained()
    before = model.get_weights()
    clf = KerasClassifier(model, epochs=1, random_state=0).fit(X_SMALL, Y_BINARY)
    assert clf.model_ is not model  # a copy is trained, not the user's instance
    assert _same_weights(clf.model_.get_weights(), before)  # lr=0: the starting weights
    assert _same_weights(model.get_weights(), before)  # the parameter is left as it was


def test_model_instance_copy_keeps_non_trainable_state_and_clones_are_independent():
    model = _pretrained(batch_norm=True)
    clf = KerasClassifier(model, epochs=1, random_state=0).initialize(X_SMALL, Y_BINARY)
    expected = model.predict(X_SMALL, verbose=0).ravel()
    np.testing.assert_allclose(clf.predict_proba(X_SMALL)[:, 1], expected, rtol=1e-5)
    twin = clone(clf).initialize(X_SMALL, Y_BINARY)
    assert twin.model_ is not clf.model_
    assert _same_weights(twin.model_.get_weights(), model.get_weights())


def _mean_squared(y_true, y_pred):  # a plain function, not registered with Keras
    return keras.ops.mean(keras.ops.square(keras.ops.cast(y_true, y_pred.dtype) - y_pred))


def _mean_absolute(y_true, y_pred):
    return keras.ops.mean(keras.ops.abs(keras.ops.cast(y_true, y_pred.dtype) - y_pred))


class _HalfSquared(keras.losses.Loss):  # a loss class, not registered with Keras
    def call(self, y_true, y_pred):
        return 0.5 * _mean_squared(y_true, y_pred)


@keras.saving.register_keras_serializable(package="skkeras_tests")
def _registered_squared(y_true, y_pred):
    return _mean_squared(y_true, y_pred)


@pytest.mark.parametrize("loss", [_mean_squared, _HalfSquared(), _registered_squared])
@pytest.mark.parametrize("Estimator, y", [(KerasClassifier, Y_BINARY), (KerasRegressor, None)])
def test_model_instance_compiled_with_custom_loss_and_metric_is_trained_as_compiled(
    Estimator, y, loss
):
    """A compiled instance's unregistered loss and metric compile the copy fit trains."""
    y = X_SMALL[:, 0] if y is None else y
    model = _dense_net(4, 1, "sigmoid" if Estimator is KerasClassifier else None)
    model.compile(optimizer="sgd", loss=loss, metrics=[_mean_absolute])
    before = model.get_weights()
    estimator = Estimator(model, epochs=2, random_state=0).fit(X_SMALL, y)
    assert estimator.model_ is not model
    if isinstance(loss, keras.losses.Loss):
        assert type(estimator.model_.loss) is type(loss)  # a new instance of its class
    else:
        assert estimator.model_.loss is loss
    assert sorted(estimator.history_) == ["_mean_absolute", "learning_rate", "loss"]
    assert len(estimator.history_["loss"]) == 2
    assert _same_weights(model.get_weights(), before)  # the instance itself is not trained
    assert estimator.predict(X_SMALL).shape == (len(X_SMALL),)


def test_model_instance_with_two_custom_objects_of_one_name_is_refused_before_training(
    monkeypatch,
):
    def make(scale):
        def scaled(y_true, y_pred):
            return scale * _mean_squared(y_true, y_pred)

        return scaled

    model = _dense_net(4, 1, None)
    model.compile(optimizer="sgd", loss=make(1.0), metrics=[make(2.0)])
    trained = []
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: trained.append(1))
    with pytest.raises(ValueError, match=r"model= \('sequential.*'scaled'.*"
                       r"register_keras_serializable, or pass a function"):
        KerasRegressor(model, epochs=1).fit(X_SMALL, X_SMALL[:, 0])
    assert trained == []


def test_initialize_builds_without_training_and_predicts(monkeypatch):
    clf = KerasClassifier(lambda meta: _dense_net(4, 3, "softmax"))
    assert clf.initialized_ is False
    trained = []
    monkeypatch.setattr(keras.Model, "fit", lambda *a, **k: trained.append(1))
    assert clf.initialize(X_SMALL, Y_THREE) is clf
    assert trained == []
    assert clf.model_.compiled
    assert clf.initialized_ is True and clf.current_epoch == 0
    assert clf.predict(X_SMALL[:5]).shape == (5,)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_initialize_then_predict_uses_the_pretrained_weights():
    model = _pretrained()
    clf = KerasClassifier(model).initialize(X_SMALL, Y_BINARY)
    expected = (model.predict(X_SMALL, verbose=0).ravel() > 0.5).astype(int)
    np.testing.assert_array_equal(clf.predict(X_SMALL), expected)


def test_initialize_requires_y():
    reg = KerasRegressor(lambda meta: _dense_net(4, 1, None))
    with pytest.raises(ValueError, match="requires y to be passed"):
        reg.initialize(X_SMALL)


class _MLPClassifier(KerasClassifier):
    """scikeras's "Subclassing" documentation pattern."""

    def __init__(self, hidden=4, optimizer="adam", epochs=1, verbose=0, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.optimizer = optimizer
        self.epochs = epochs
        self.verbose = verbose

    def _keras_build_fn(self, compile_kwargs):
        model = keras.Sequential([
            keras.Input((self.n_features_in_,)),
            keras.layers.Dense(self.hidden, activation="relu"),
            keras.layers.Dense(self.n_classes_, activation="softmax"),
        ])
        model.compile(loss="sparse_categorical_crossentropy", optimizer=compile_kwargs["optimizer"])
        return model


def test_keras_build_fn_builds_when_model_is_none():
    clf = _MLPClassifier(hidden=3, random_state=0).fit(X_SMALL, Y_THREE)
    assert clf.model_.layers[0].units == 3
    assert set(clf.predict(X_SMALL)) <= {0, 1, 2}
    assert clone(clf).set_params(hidden=5).fit(X_SMALL, Y_THREE).model_.layers[0].units == 5


def test_keras_build_fn_with_a_builder_model_is_refused():
    clf = _MLPClassifier(model=lambda meta: _dense_net(4, 3, "softmax"))
    with pytest.raises(ValueError, match="defines _keras_build_fn and was also given a builder"):
        clf.fit(X_SMALL, Y_THREE)


class _LabelNamesClassifier(KerasClassifier):
    """A target_encoder that maps 0/1 to a sigmoid column and predictions to names."""

    @property
    def target_encoder(self):
        return FunctionTransformer(
            func=lambda y: np.asarray(y, "float32").reshape(-1, 1),
            inverse_func=lambda p: np.where(np.asarray(p).ravel() > 0.5, "pos", "neg"),
            check_inverse=False,
        )


def test_target_encoder_override_encodes_fit_and_decodes_predict():
    clf = _LabelNamesClassifier(
        lambda meta: _dense_net(4, 1, "sigmoid"), loss="binary_crossentropy", random_state=0
    ).fit(X_SMALL, Y_BINARY)
    assert isinstance(clf.target_encoder_, FunctionTransformer)
    outputs = clf.model_.predict(X_SMALL, verbose=0).ravel()
    np.testing.assert_array_equal(clf.predict(X_SMALL), np.where(outputs > 0.5, "pos", "neg"))
    with pytest.raises(TypeError, match="return_proba"):
        clf.predict_proba(X_SMALL)


class _LogTargetRegressor(KerasRegressor):
    @property
    def target_encoder(self):
        return FunctionTransformer(np.log1p, np.expm1, check_inverse=False)


def test_regressor_target_encoder_inverse_transforms_outputs():
    y = np.exp(X_SMALL[:, 0])
    reg = _LogTargetRegressor(lambda meta: _dense_net(4, 1, None), random_state=0).fit(X_SMALL, y)
    outputs = reg.model_.predict(X_SMALL, verbose=0)
    np.testing.assert_allclose(reg.predict(X_SMALL), np.expm1(outputs), rtol=1e-5)


def test_encoder_predictions_take_batch_sizes_like_the_default_path():
    y = np.exp(X_SMALL[:, 0])
    reg = _LogTargetRegressor(lambda meta: _dense_net(4, 1, None), random_state=0).fit(X_SMALL, y)
    expected = reg.predict(X_SMALL)
    for batch_size in (-1, 3):
        np.testing.assert_allclose(reg.predict(X_SMALL, batch_size=batch_size), expected,
                                   rtol=1e-6)
    reg.set_params(predict__batch_size=-1)
    np.testing.assert_allclose(reg.predict(X_SMALL), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="'batch_size' must be"):
        reg.predict(X_SMALL, batch_size=0)
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['verbose'\]"):
        reg.predict(X_SMALL, verbose=1)


class _TwoInputClassifier(KerasClassifier):
    calls = 0

    @property
    def feature_encoder(self):
        def split(X):
            type(self).calls += 1
            return [X[:, :2], X[:, 2:]]

        return FunctionTransformer(split)


def _two_input_net(meta):
    a, b = keras.Input((2,)), keras.Input((2,))
    joined = keras.layers.Concatenate()([a, b])
    return keras.Model([a, b], keras.layers.Dense(meta["n_classes_"], activation="softmax")(joined))


def test_feature_encoder_override_feeds_a_multi_input_model():
    clf = _TwoInputClassifier(_two_input_net, random_state=0, early_stopping=True,
                              validation_fraction=0.25, epochs=2)
    clf.fit(X_SMALL, Y_THREE)
    assert isinstance(clf.feature_encoder_, FunctionTransformer)
    calls = _TwoInputClassifier.calls
    proba = clf.predict_proba(X_SMALL)
    assert _TwoInputClassifier.calls == calls + 1
    expected = clf.model_.predict([X_SMALL[:, :2], X_SMALL[:, 2:]], verbose=0)
    np.testing.assert_allclose(proba, expected, rtol=1e-5)


class _MultiOutputTransformer(BaseEstimator, TransformerMixin):
    """scikeras's "Data Transformers" documentation example (binary + multiclass outputs)."""

    def fit(self, y):
        self.cat_ = OneHotEncoder(sparse_output=False).fit(y[:, 1:2])
        self.n_classes_ = [2, self.cat_.categories_[0].size]
        return self

    def transform(self, y):
        return [y[:, 0:1].astype("float32"), self.cat_.transform(y[:, 1:2])]

    def inverse_transform(self, y, return_proba=False):
        if return_proba:
            return y
        return np.column_stack([np.round(y[0]).ravel(), self.cat_.inverse_transform(y[1]).ravel()])

    def get_metadata(self):
        return {"n_classes_": self.n_classes_, "n_outputs_expected_": 2}


class _MultiOutputClassifier(KerasClassifier):
    @property
    def target_encoder(self):
        return _MultiOutputTransformer()

    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        return float(np.mean(y_true == y_pred))


def _two_output_net(meta, n_outputs=2):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    heads = [keras.layers.Dense(1, activation="sigmoid")(hidden),
             keras.layers.Dense(meta["n_classes_"][1], activation="softmax")(hidden)][:n_outputs]
    model = keras.Model(inputs, heads)
    model.compile(loss=["binary_crossentropy", "categorical_crossentropy"][:n_outputs],
                  optimizer="adam")
    return model


def test_multi_output_classification_through_a_target_encoder():
    y = np.column_stack([Y_BINARY, Y_THREE])
    clf = _MultiOutputClassifier(_two_output_net, random_state=0).fit(X_SMALL, y)
    assert clf.n_outputs_expected_ == 2 and clf.n_classes_ == [2, 3]
    predicted = clf.predict(X_SMALL)
    assert predicted.shape == (40, 2)
    assert clf.score(X_SMALL, y) == pytest.approx(float(np.mean(y == predicted)))
    assert isinstance(clf.predict_proba(X_SMALL), list)
    with pytest.raises(ValueError, match="n_outputs_expected_=2, but the model built has 1"):
        _MultiOutputClassifier(_two_output_net, n_outputs=1).fit(X_SMALL, y)


class _BadMetadata(FunctionTransformer):
    def get_metadata(self):
        return {"epochs": 3}


class _BadMetadataRegressor(KerasRegressor):
    @property
    def target_encoder(self):
        return _BadMetadata()


def test_encoder_metadata_must_name_fitted_attributes():
    with pytest.raises(ValueError, match=r"fitted-attribute names.*'epochs'"):
        _BadMetadataRegressor(lambda meta: _dense_net(4, 1, None)).fit(X_SMALL, X_SMALL[:, 0])


def test_default_estimators_keep_their_own_encoding_and_prediction_path(monkeypatch):
    clf = KerasClassifier(lambda meta: _dense_net(4, 3, "softmax"), random_state=0)
    clf.fit(X_SMALL, Y_THREE)
    assert "target_encoder_" not in vars(clf) and "feature_encoder_" not in vars(clf)

    def refuse(*args, **kwargs):
        raise AssertionError("the default path does not call Model.predict")

    monkeypatch.setattr(clf.model_, "predict", refuse)
    assert clf.predict(X_SMALL).shape == (40,)


class _F1Classifier(KerasClassifier):
    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        assert set(kwargs) == {"sample_weight"}  # passed even when None, as by scikeras
        return -1.0 if kwargs["sample_weight"] is None else -2.0


class _MaeRegressor(KerasRegressor):
    @staticmethod
    def scorer(y_true, y_pred, **kwargs):
        return -float(np.mean(np.abs(y_true - y_pred)))


def test_scorer_override_is_used_by_score():
    clf = _F1Classifier(lambda meta: _dense_net(4, 3, "softmax"), random_state=0)
    clf.fit(X_SMALL, Y_THREE)
    assert clf.score(X_SMALL, Y_THREE) == -1.0
    assert clf.score(X_SMALL, Y_THREE, sample_weight=np.ones(40)) == -2.0
    y = X_SMALL[:, 0]
    reg = _MaeRegressor(lambda meta: _dense_net(4, 1, None), random_state=0).fit(X_SMALL, y)
    assert reg.score(X_SMALL, y) == pytest.approx(-np.mean(np.abs(y - reg.predict(X_SMALL))))


def test_default_score_is_accuracy():
    clf = KerasClassifier(lambda meta: _dense_net(4, 3, "softmax"), random_state=0)
    clf.fit(X_SMALL, Y_THREE)
    assert clf.score(X_SMALL, Y_THREE) == accuracy_score(Y_THREE, clf.predict(X_SMALL))


def test_scikeras_fitted_attributes_and_meta():
    seen = {}

    def build(meta):
        seen.update(meta)
        return _dense_net(4, 1, "sigmoid")

    X_int = (X_SMALL * 10).astype("int64")
    clf = KerasClassifier(build, loss="binary_crossentropy", epochs=2, random_state=0)
    clf.fit(X_int, Y_BINARY)
    assert clf.X_dtype_ == np.dtype("int64") and seen["X_dtype_"] == np.dtype("int64")
    assert clf.y_dtype_ == Y_BINARY.dtype and seen["y_dtype_"] == Y_BINARY.dtype
    assert clf.y_ndim_ == 1 and seen["y_ndim_"] == 1
    assert clf.n_outputs_expected_ == 1 and seen["n_outputs_expected_"] == 1
    assert clf.current_epoch == 2 and clf.initialized_ is True
    assert clf.n_iter_ == 2 and clf.X_shape_ == (40, 4)  # skkeras's own attributes stay


def test_an_encoder_fit_leaves_later_default_fits_of_the_architecture_working():
    # an encoder's target may have another shape than skkeras's own for the same network:
    # fits with encoders go through Model.fit, not the compiled loop shared by an architecture
    y = np.exp(X_SMALL[:, 0])
    _LogTargetRegressor(lambda meta: _dense_net(4, 1, None), random_state=0).fit(X_SMALL, y)
    reg = KerasRegressor(lambda meta: _dense_net(4, 1, None), random_state=0).fit(X_SMALL, y)
    assert reg.predict(X_SMALL).shape == (40,)


# ------------------------------------------- partial_fit(classes=...) with a target_encoder


class _OneHotLabels(BaseEstimator, TransformerMixin):
    """A scikeras-style target encoder: one-hot columns for ``categories`` (scikeras's
    ``ClassifierLabelEncoder`` pattern), probabilities with ``return_proba=True``."""

    def __init__(self, categories="auto"):
        self.categories = categories

    def fit(self, y):
        self.onehot_ = OneHotEncoder(categories=self.categories, sparse_output=False)
        self.onehot_.fit(np.asarray(y).reshape(-1, 1))
        self.classes_ = self.onehot_.categories_[0]
        return self

    def transform(self, y):
        return self.onehot_.transform(np.asarray(y).reshape(-1, 1)).astype("float32")

    def inverse_transform(self, outputs, return_proba=False):
        return outputs if return_proba else self.classes_[np.argmax(outputs, axis=1)]

    def get_metadata(self):
        return {"classes_": self.classes_, "n_classes_": len(self.classes_)}


class _NoMetadataLabels(_OneHotLabels):
    def get_metadata(self):
        return {}


class _ScikerasStyleClassifier(KerasClassifier):
    """scikeras's own ``target_encoder`` property: the encoder's categories are ``classes_``
    (the ``classes`` of the first ``partial_fit``, None in ``fit``)."""

    encoder_class = _OneHotLabels

    @property
    def target_encoder(self):
        return self.encoder_class("auto" if self.classes_ is None else [self.classes_])


class _NoMetadataClassifier(_ScikerasStyleClassifier):
    encoder_class = _NoMetadataLabels


class _FunctionEncoderClassifier(KerasClassifier):
    @property
    def target_encoder(self):
        return FunctionTransformer(
            func=lambda y: np.eye(3, dtype="float32")[np.asarray(y)],
            inverse_func=lambda p: np.argmax(p, axis=1),
            check_inverse=False,
        )


def _three_class_net(meta):
    return _dense_net(meta["n_features_in_"], 3, "softmax")


def _batches():
    """A first batch without class 2, a second one with it."""
    first = Y_THREE != 2
    return (X_SMALL[first], Y_THREE[first]), (X_SMALL, Y_THREE)


@pytest.mark.parametrize("cls", [_ScikerasStyleClassifier, _NoMetadataClassifier])
def test_partial_fit_classes_reach_a_scikeras_style_target_encoder(cls):
    (X1, y1), (X2, y2) = _batches()
    assert set(y1) == {0, 1}
    clf = cls(_softmax_model, loss="categorical_crossentropy", random_state=0)
    clf.partial_fit(X1, y1, classes=[2, 0, 1])
    assert clf.target_encoder_.categories[0].tolist() == [0, 1, 2]
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_classes_ == 3
    clf.partial_fit(X2, y2)  # the class absent from the first batch is encoded and trained on
    assert clf.current_epoch == 2 and clf.classes_.tolist() == [0, 1, 2]
    proba = clf.predict_proba(X2)
    assert proba.shape == (40, 3)
    np.testing.assert_allclose(proba, clf.model_.predict(X2, verbose=0), rtol=1e-5)
    np.testing.assert_array_equal(clf.predict(X2), clf.classes_[np.argmax(proba, axis=1)])


def test_partial_fit_classes_become_classes_of_a_function_transformer_encoder():
    (X1, y1), (X2, y2) = _batches()
    clf = _FunctionEncoderClassifier(_three_class_net, loss="categorical_crossentropy",
                                     random_state=0)
    clf.partial_fit(X1, y1, classes=np.array([0, 1, 2]))
    assert clf.classes_.tolist() == [0, 1, 2] and clf.n_classes_ == 3
    clf.partial_fit(X2, y2, classes=[0, 1, 2])  # the same classes again are accepted
    assert clf.current_epoch == 2 and set(clf.predict(X2)) <= {0, 1, 2}


@pytest.mark.parametrize("cls", [_ScikerasStyleClassifier, _NoMetadataClassifier,
                                 _FunctionEncoderClassifier])
def test_partial_fit_with_other_classes_is_refused_with_a_target_encoder(cls):
    (X1, y1), (X2, y2) = _batches()
    clf = cls(_three_class_net, loss="categorical_crossentropy", random_state=0)
    clf.partial_fit(X1, y1, classes=[0, 1, 2])
    weights = clf.model_.get_weights()
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 3\]` is not the same .* \[0, 1, 2\]"):
        clf.partial_fit(X2, y2, classes=[0, 1, 2, 3])
    assert clf.current_epoch == 1 and _same_weights(clf.model_.get_weights(), weights)
    assert clf.classes_.tolist() == [0, 1, 2]


def test_partial_fit_classes_after_a_first_call_without_them_are_refused():
    (X1, y1), (X2, y2) = _batches()
    clf = _FunctionEncoderClassifier(_three_class_net, loss="categorical_crossentropy",
                                     random_state=0).partial_fit(X1, y1)
    assert clf.classes_ is None and clf.n_classes_ is None  # the encoder declares none
    with pytest.raises(ValueError, match="classes are set on the first call only"):
        clf.partial_fit(X2, y2, classes=[0, 1, 2])
    assert clf.current_epoch == 1


def test_fit_gives_a_scikeras_style_target_encoder_classes_none():
    clf = _ScikerasStyleClassifier(_softmax_model, loss="categorical_crossentropy",
                                   random_state=0)
    clf.partial_fit(X_SMALL[Y_THREE != 2], Y_THREE[Y_THREE != 2], classes=[0, 1, 2, 3])
    assert clf.n_classes_ == 4
    clf.fit(X_SMALL, Y_THREE)  # a new network: the classes are the encoder's again
    assert clf.target_encoder_.categories == "auto"
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict_proba(X_SMALL).shape == (40, 3)


class _BrokenEncoderClassifier(KerasClassifier):
    @property
    def target_encoder(self):
        return self.no_such_setting  # an AttributeError inside the property


def test_an_attribute_error_inside_the_target_encoder_property_is_reported_as_it_is():
    clf = _BrokenEncoderClassifier(_three_class_net)
    with pytest.raises(AttributeError, match="no_such_setting"):
        clf.fit(X_SMALL, Y_THREE)
    assert "classes_" not in vars(clf)


def test_a_classifier_with_a_target_encoder_and_no_loss_is_refused_before_training():
    _TrainingStarts.started.clear()
    clf = _FunctionEncoderClassifier(_three_class_net, callbacks=[_TrainingStarts])
    with pytest.raises(ValueError, match=r"has a target_encoder and loss=None.*Pass loss="):
        clf.partial_fit(X_SMALL, Y_THREE, classes=[0, 1, 2])
    assert _TrainingStarts.started == []


# ------------------------------------- an encoder property that returns one cached instance


class _CachedEncoderClassifier(KerasClassifier):
    """``target_encoder`` and ``feature_encoder`` properties that return the same instance on
    every call (made on first use and cached on the estimator)."""

    def _cached(self, name, make):
        if name not in self.__dict__:
            self.__dict__[name] = make()
        return self.__dict__[name]

    @property
    def target_encoder(self):
        return self._cached("_target_encoder_instance", _OneHotLabels)

    @property
    def feature_encoder(self):
        return self._cached("_feature_encoder_instance", StandardScaler)


class _Interrupt(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        raise KeyboardInterrupt


def _failing_refit(clf, X, y, failure):
    """A refit of ``clf`` on ``X``, ``y`` that raises after the encoders were fitted."""
    if failure == "validation_data":
        with pytest.raises(ValueError, match="Invalid X_val in validation_data"):
            clf.fit(X, y, validation_data=(X[:, :2], y))
    elif failure == "builder":
        clf.set_params(model=_failing_builder)
        with pytest.raises(RuntimeError, match="builder failed"):
            clf.fit(X, y)
        clf.set_params(model=_softmax_net)
    else:
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y, callbacks=[_Interrupt()])


def _softmax_net(meta):
    return _dense_net(meta["n_features_in_"], meta["n_classes_"], "softmax")


def _failing_builder(meta):
    raise RuntimeError("builder failed")


@pytest.mark.parametrize("failure", ["validation_data", "builder", "interrupt"])
def test_a_failed_refit_leaves_cached_encoders_as_they_were_fitted(failure):
    y_two = np.minimum(Y_THREE, 1)
    clf = _CachedEncoderClassifier(_softmax_net, loss="categorical_crossentropy",
                                   random_state=0).fit(X_SMALL, y_two)
    target, features = clf.target_encoder_, clf.feature_encoder_
    proba, predicted = clf.predict_proba(X_SMALL), clf.predict(X_SMALL)
    mean = features.mean_.copy()
    _failing_refit(clf, X_SMALL * 10 + 3, Y_THREE + 5, failure)  # new classes, new scale
    assert clf.target_encoder_ is target and clf.feature_encoder_ is features
    assert clf.classes_.tolist() == [0, 1] and target.classes_.tolist() == [0, 1]
    np.testing.assert_array_equal(features.mean_, mean)
    np.testing.assert_array_equal(target.inverse_transform(np.eye(2)), [0, 1])
    np.testing.assert_array_equal(clf.predict(X_SMALL), predicted)
    np.testing.assert_allclose(clf.predict_proba(X_SMALL), proba, rtol=1e-6)


def test_a_refit_with_cached_encoders_fits_them_on_the_new_data():
    clf = _CachedEncoderClassifier(_softmax_net, loss="categorical_crossentropy",
                                   random_state=0).fit(X_SMALL, np.minimum(Y_THREE, 1))
    clf.fit(X_SMALL * 10 + 3, Y_THREE + 5)
    assert clf.classes_.tolist() == [5, 6, 7] and clf.predict_proba(X_SMALL).shape == (40, 3)
    np.testing.assert_allclose(clf.feature_encoder_.mean_, X_SMALL.mean(axis=0) * 10 + 3,
                               rtol=1e-5)
    assert set(clf.predict(X_SMALL * 10 + 3)) <= {5, 6, 7}


# ------------------------------------------- an encoder instance shared by several estimators
_SHARED_LABELS = _OneHotLabels()


class _SharedEncoderClassifier(KerasClassifier):
    """A ``target_encoder`` property that returns one module-level instance to every estimator
    (and every clone of one)."""

    @property
    def target_encoder(self):
        return _SHARED_LABELS


def test_estimators_sharing_an_encoder_instance_each_fit_their_own():
    first = _SharedEncoderClassifier(_softmax_net, loss="categorical_crossentropy",
                                     random_state=0).fit(X_SMALL, np.minimum(Y_THREE, 1))
    predicted = first.predict(X_SMALL)
    second = clone(first).fit(X_SMALL, Y_THREE + 5)
    assert not hasattr(_SHARED_LABELS, "classes_")  # the shared instance is never fitted
    assert first.target_encoder_ is not second.target_encoder_
    assert first.classes_.tolist() == [0, 1] and second.classes_.tolist() == [5, 6, 7]
    np.testing.assert_array_equal(first.predict(X_SMALL), predicted)  # still decoded as 0 / 1
    assert set(second.predict(X_SMALL)) <= {5, 6, 7}


class _LockedLabels(_OneHotLabels):
    """An encoder that ``copy.deepcopy`` refuses (it holds a lock)."""

    def __init__(self, categories="auto"):
        super().__init__(categories)
        self.lock = threading.Lock()


_LOCKED_LABELS = _LockedLabels()


class _LockedEncoderClassifier(KerasClassifier):
    @property
    def target_encoder(self):
        return _LOCKED_LABELS


def test_a_shared_encoder_that_cannot_be_copied_is_fitted_in_place():
    clf = _LockedEncoderClassifier(_softmax_net, loss="categorical_crossentropy",
                                   random_state=0).fit(X_SMALL, Y_THREE)
    assert clf.target_encoder_ is _LOCKED_LABELS and clf.classes_.tolist() == [0, 1, 2]
    assert set(clf.predict(X_SMALL)) <= {0, 1, 2}
