"""Bad input fails before training, with a message naming the parameter or array."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError

import skkeras._base
from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor, KerasRegressor

from ._builders import classifier_model, regressor_model


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts (Keras's or skkeras's own loop): errors must come
    before it."""
    _refuse_training(monkeypatch)


@pytest.fixture
def no_training_keeping_keras_fit(monkeypatch):
    """As ``no_training``, through skkeras's own training entry points only (every Keras
    ``Model.fit`` call goes through them): ``keras.Model.fit`` keeps its signature, which the
    check of fit's keyword arguments reads."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was validated")

    monkeypatch.setattr(skkeras._base, "run_training", refuse)
    monkeypatch.setattr(skkeras._base, "run_training_from_start", refuse)


def _refuse_training(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was validated")

    monkeypatch.setattr(keras.Model, "fit", refuse)
    monkeypatch.setattr(skkeras._base, "run_training", refuse)
    monkeypatch.setattr(skkeras._base, "run_training_from_start", refuse)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"dropout": 1.5}, r"'dropout' parameter of KerasMLPClassifier must be a float in the "
         r"range \[0.0, 1.0\)\. Got 1.5"),
        ({"hidden_layer_sizes": (16, 0)}, "'hidden_layer_sizes' parameter .* positive integers"),
        ({"activation": "sigmoidal"}, "'activation' parameter .* Got 'sigmoidal'"),
        ({"optimizer": "adamm"}, "'optimizer' parameter .* Got 'adamm'"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter .* Got 1.0"),
        ({"learning_rate": -0.1}, "'learning_rate' parameter .* Got -0.1"),
        ({"epochs": 0}, "'epochs' parameter .* Got 0"),
        ({"class_weight": "balance"}, "'class_weight' parameter"),
    ],
)
def test_out_of_range_parameters(no_training, iris, params, match):
    X, y = iris
    with pytest.raises(ValueError, match=match):
        KerasMLPClassifier(**params).fit(X, y)


@pytest.mark.parametrize("kind", [KerasMLPClassifier, KerasMLPRegressor])
@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"learning_rate": True}, r"'learning_rate' parameter of {kind} must be a float in the "
         r"range \(0.0, inf\) or a keras.optimizers.schedules.LearningRateSchedule, not a bool. "
         r"Got True instead."),
        ({"optimizer": "sgd", "momentum": True}, r"'momentum' parameter of {kind} must be a "
         r"float in the range \[0.0, 1.0\], not a bool. Got True instead."),
        ({"momentum": False}, r"'momentum' parameter of {kind} .* not a bool. Got False"),
    ],
    ids=["learning_rate-true", "momentum-true", "momentum-false"],
)
def test_bool_learning_rate_or_momentum_is_refused_under_its_own_name(
        no_training, iris, kind, params, match):
    """True passed the constraints as 1 and Keras refused it, in a message naming 'optimizer'."""
    X, y = iris
    with pytest.raises(ValueError, match=match.format(kind=kind.__name__)):
        kind(**params).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_x_or_y(no_training, diabetes, bad):
    X, y = diabetes
    X_bad = X.copy()
    X_bad[3, 2] = bad
    with pytest.raises(ValueError, match="Input X contains"):
        KerasMLPRegressor().fit(X_bad, y)
    y_bad = y.copy()
    y_bad[5] = bad
    with pytest.raises(ValueError, match="Input y contains"):
        KerasMLPRegressor().fit(X, y_bad)


ALL_KINDS = [
    lambda: KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0),
    lambda: KerasMLPRegressor(hidden_layer_sizes=(4,), epochs=1, random_state=0),
    lambda: KerasClassifier(classifier_model, epochs=1, random_state=0),
    lambda: KerasRegressor(regressor_model, epochs=1, random_state=0),
]
KIND_IDS = ["mlp-classifier", "mlp-regressor", "classifier", "regressor"]


BEYOND_FLOAT32 = r"Input X contains a value too large for float32: -1e\+39 at index \(4, 1\)"


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
@pytest.mark.parametrize(
    ("as_given", "match"),
    [
        (np.asarray, BEYOND_FLOAT32 + r".*within \+-3\.4028235e\+38"),
        (sp.csr_matrix, BEYOND_FLOAT32),
        # a list has no dtype: scikit-learn converts it to float32 and refuses it itself
        (np.ndarray.tolist, r"Input X contains infinity or a value too large for dtype"),
    ],
    ids=["ndarray", "sparse", "list"],
)
def test_x_beyond_float32_is_refused_before_training(no_training, make, as_given, match):
    X = np.random.RandomState(0).randn(20, 3)
    y = np.arange(20) % 2
    X[4, 1] = -1e39  # finite in float64, -inf once cast to the network's float32
    with pytest.raises(ValueError, match=match):
        make().fit(as_given(X), y)


@pytest.mark.parametrize("make", ALL_KINDS[1::2], ids=KIND_IDS[1::2])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_y_beyond_float32_is_refused_before_training(no_training, make, method):
    X = np.random.RandomState(0).randn(20, 3).astype(np.float32)
    y = np.linspace(0, 1, 20)
    y[7] = 1e39
    with pytest.raises(ValueError, match=r"Input y contains a value too large for float32: "
                       r"1e\+39 at index 7"):
        getattr(make(), method)(X, y)
    with pytest.raises(ValueError, match=r"Input y contains a value too large .* index \(7, 1\)"):
        make().fit(X, np.column_stack([y * 0, y]))


@pytest.mark.parametrize("make", ALL_KINDS[1::2], ids=KIND_IDS[1::2])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_sparse_y_is_refused_by_regressors(no_training, diabetes, make, n_outputs):
    """As scikit-learn's MLPRegressor: a regression target must be dense."""
    X, y = diabetes
    Y = sp.csr_matrix(np.column_stack([y] * n_outputs))
    with pytest.raises(TypeError, match=rf"Sparse data was passed for y \(csr_matrix of shape "
                       rf"\({len(X)}, {n_outputs}\)\).*dense target.*y\.toarray\(\)"):
        make().fit(X, Y)
    with pytest.raises(TypeError, match=r"Sparse data was passed for y_val .*y_val\.toarray"):
        make().fit(X, y, validation_data=(X[:10], sp.csr_matrix(y[:10, None])))


def _dense_model(units: int, activation: str | None = None):
    def build(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        return keras.Sequential([inputs, keras.layers.Dense(units, activation=activation)])

    return build


def _targets():
    X = np.random.RandomState(0).randn(30, 4).astype(np.float32)
    labels = np.arange(30) % 3
    return X, {
        "binary": labels % 2,
        "multiclass": labels,
        "multilabel": np.column_stack([labels == 0, labels == 1, labels == 2]).astype(int)[:, :2],
        "one-hot": np.eye(3, dtype=int)[labels],
        "1-D": X[:, 0].astype(np.float64),
        "2 outputs": X[:, :2].astype(np.float64),
    }


@pytest.mark.parametrize(
    ("target", "units", "activation", "match"),
    [
        ("binary", 3, "softmax", r"has 3 output values per sample, but y is a binary target "
         r"with 2 classes \[0, 1\]: the output layer needs 1 sigmoid unit or 2 softmax units"),
        ("multiclass", 1, "sigmoid", r"has 1 output values per sample, but y is a multiclass "
         r"target with 3 classes \[0, 1, 2\]: the output layer needs 3 softmax units"),
        ("multiclass", 2, "softmax", r"has 2 output values .* needs 3 softmax units"),
        ("multilabel", 3, "sigmoid", r"has 3 output values per sample, but y is a "
         r"multilabel-indicator target with 2 labels \[0, 1\]: the output layer needs 2 "
         r"sigmoid units"),
        ("one-hot", 2, "softmax", r"has 2 output values per sample, but y is a one-hot target "
         r"with 3 classes \[0, 1, 2\]: the output layer needs 3 softmax units"),
    ],
)
def test_classifier_output_layer_must_match_y_before_training(no_training, target, units,
                                                              activation, match):
    X, targets = _targets()
    with pytest.raises(ValueError, match=match + r".*meta\['n_classes_'\]"):
        KerasClassifier(_dense_model(units, activation), random_state=0).fit(X, targets[target])


@pytest.mark.parametrize(
    ("target", "units", "match"),
    [
        ("1-D", 3, r"has 3 output values per sample, but y of shape \(n_samples,\) has 1: the "
         r"output layer needs 1 unit\. Build it from meta\['n_outputs_'\]"),
        ("2 outputs", 1, r"has 1 output values per sample, but y of shape \(n_samples, 2\) has 2: "
         r"the output layer needs 2 units"),
    ],
)
def test_regressor_output_layer_must_match_y_before_training(no_training, target, units, match):
    X, targets = _targets()
    with pytest.raises(ValueError, match=match):
        KerasRegressor(_dense_model(units), random_state=0).fit(X, targets[target])


@pytest.mark.parametrize(
    ("target", "units", "activation", "loss"),
    [
        ("binary", 1, "sigmoid", None),
        ("binary", 2, "softmax", None),
        ("binary", 2, "softmax", "categorical_crossentropy"),
        ("multiclass", 3, "softmax", None),
        ("multiclass", 3, "softmax", "categorical_crossentropy"),
        ("multilabel", 2, "sigmoid", None),
        ("one-hot", 3, "softmax", "categorical_crossentropy"),
        ("1-D", 1, None, None),
        ("2 outputs", 2, None, None),
    ],
)
def test_matching_output_layers_reach_training(no_training, target, units, activation, loss):
    X, targets = _targets()
    kind = KerasRegressor if target in ("1-D", "2 outputs") else KerasClassifier
    estimator = kind(_dense_model(units, activation), loss=loss, random_state=0)
    with pytest.raises(AssertionError, match="training started"):
        estimator.fit(X, targets[target])


def test_largest_float32_values_are_accepted(no_training):
    """Values up to float32's largest are no error, even where their float32 sum overflows."""
    big = float(np.finfo(np.float32).max)
    X = np.full((20, 3), big)
    with pytest.raises(AssertionError, match="training started"):
        KerasMLPRegressor(epochs=1).fit(X, np.full(20, big))


def test_non_numeric_x(no_training):
    X = np.array([["a", "b"], ["c", "d"]], dtype=object)
    with pytest.raises(ValueError, match=r"X must contain only numbers.*OneHotEncoder"):
        KerasMLPClassifier().fit(X, [0, 1])


def test_empty_x(no_training):
    with pytest.raises(ValueError, match="0 sample"):
        KerasMLPClassifier().fit(np.empty((0, 3)), [])


def test_single_class(no_training, iris):
    X, _ = iris
    with pytest.raises(ValueError, match=r"at least 2 classes.*only one class"):
        KerasMLPClassifier().fit(X, np.zeros(len(X)))


def test_continuous_target_for_classifier(no_training, diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="Unknown label type"):
        KerasMLPClassifier().fit(X, y)


def test_missing_model_and_old_build_fn(no_training, iris):
    X, y = iris
    with pytest.raises(ValueError, match="'model' parameter of KerasClassifier is None"):
        KerasClassifier().fit(X, y)
    with pytest.raises(TypeError, match="build_fn"):
        KerasClassifier(build_fn=classifier_model).fit(X, y)


def test_validation_fraction_too_large_for_data(no_training):
    X, y = np.arange(6, dtype=float).reshape(3, 2), [0, 1, 0]
    with pytest.raises(ValueError, match=r"validation_fraction=0\.9 of 3 samples"):
        KerasMLPClassifier(early_stopping=True, validation_fraction=0.9).fit(X, y)


def test_wrong_number_of_features_and_not_fitted(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        KerasMLPClassifier().predict(X)
    clf = KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but KerasMLPClassifier is expecting 4"):
        clf.predict(X[:, :3])


def _unfitted(estimator) -> bool:
    return not hasattr(estimator, "history_") and "model_" not in vars(estimator)


def test_partial_fit_refuses_early_stopping(iris):
    X, y = iris
    clf = KerasMLPClassifier((4,), early_stopping=True, random_state=0)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert _unfitted(clf)


@pytest.mark.parametrize(
    ("class_weight", "shown"),
    [({0: -1.0, 1: 1.0, 2: 1.0}, r"-1\.0 for class 0"),
     ({0: 1.0, 1: np.nan, 2: 1.0}, r"nan for class 1"),
     ({0: 1.0, 1: 1.0, 2: np.inf}, r"inf for class 2"),
     ({0: 1.0, 1: "2", 2: 1.0}, r"'2' for class 1")],
)
def test_class_weight_values_are_validated(iris, class_weight, shown):
    X, y = iris
    for clf in (KerasMLPClassifier((4,), epochs=1, class_weight=class_weight),
                KerasClassifier(classifier_model, class_weight=class_weight)):
        with pytest.raises(ValueError, match=r"class_weight .*non-negative finite.*" + shown):
            clf.fit(X, y)
        assert _unfitted(clf)


def test_partial_fit_refuses_other_classes_and_balanced_weights(iris):
    X, y = iris
    clf = KerasMLPClassifier((4,), random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"`classes=\[0, 1, 2, 3\]` is not the same as on last "
                                         r"call to partial_fit, was: \[0, 1, 2\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    assert clf.n_iter_ == 2
    balanced = KerasMLPClassifier((4,), class_weight="balanced")
    with pytest.raises(ValueError, match=r"class_weight='balanced' is not supported by "
                                         r"partial_fit.*compute_class_weight"):
        balanced.partial_fit(X, y, classes=[0, 1, 2])
    assert _unfitted(balanced)


@pytest.mark.parametrize("value", [0, -2, 2.5, "8", True])
def test_predict_batch_size_is_validated(iris, value):
    X, y = iris
    match = (r"'predict__batch_size' must be a positive int, -1 \(all rows in one batch\) or "
             r"None; got " + repr(value))
    clf = KerasClassifier(classifier_model, predict__batch_size=value)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert _unfitted(clf)
    fitted = KerasClassifier(classifier_model, random_state=0).fit(X, y)
    fitted.set_params(predict__batch_size=value)
    with pytest.raises(ValueError, match=match):
        fitted.predict(X)
    fitted.set_params(predict__batch_size=7)
    assert fitted.predict(X).shape == y.shape


@pytest.mark.parametrize("rate", [-1.0, 0.0, float("nan"), float("inf"), True, np.True_])
def test_routed_learning_rate_is_validated(iris, rate):
    X, y = iris
    clf = KerasClassifier(classifier_model, optimizer="sgd", optimizer__learning_rate=rate)
    with pytest.raises(ValueError, match="'optimizer__learning_rate' must be a positive finite"):
        clf.fit(X, y)
    assert _unfitted(clf)


@pytest.mark.parametrize(
    ("params", "match"),
    [({"fit__batch_size": 0}, "'fit__batch_size' parameter of KerasClassifier"),
     ({"fit__shuffle": "no"}, "'fit__shuffle' parameter of KerasClassifier"),
     ({"fit__epochs": 0}, "'fit__epochs' parameter of KerasClassifier"),
     ({"fit__callbacks": ["no"]}, "'fit__callbacks' parameter of KerasClassifier must hold"),
     ({"fit__initial_epoch": 2}, r"fit arguments \['initial_epoch'\]")],
)
def test_routed_fit_arguments_are_validated(iris, params, match):
    X, y = iris
    clf = KerasClassifier(classifier_model, **params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)
    assert _unfitted(clf)


@pytest.mark.parametrize("route", ["mlp-fit", "wrapper-fit", "wrapper-routed"])
def test_unknown_fit_arguments_are_refused_before_training(no_training_keeping_keras_fit, iris,
                                                          route):
    """A misspelt fit argument is refused naming it, before the network is built, instead of
    by Keras's Model.fit once it is."""
    X, y = iris
    clf = {
        "mlp-fit": KerasMLPClassifier((4,), epochs=1),
        "wrapper-fit": KerasClassifier(classifier_model),
        "wrapper-routed": KerasClassifier(classifier_model, fit__validaton_split=0.1),
    }[route]
    kwargs = {} if route == "wrapper-routed" else {"validaton_split": 0.1}
    with pytest.raises(TypeError, match=r"fit\(\) got unexpected keyword arguments "
                       r"\['validaton_split'\].*Did you mean 'validation_split'\?"):
        clf.fit(X, y, **kwargs)
    assert _unfitted(clf)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"validation_split": 2.0}, r"'fit__validation_split' parameter .* Got 2.0"),
     ({"steps_per_epoch": -1}, r"'fit__steps_per_epoch' parameter .* Got -1"),
     ({"validation_freq": 0}, r"'fit__validation_freq' parameter .* Got 0"),
     ({"class_weight": "balanced"}, r"'fit__class_weight' parameter .* Got 'balanced'")],
)
def test_keras_fit_arguments_passed_on_are_validated(no_training, iris, kwargs, match):
    """Keras's Model.fit would train with these (validation_split=2 ran out of data)."""
    X, y = iris
    with pytest.raises(ValueError, match=match):
        KerasMLPClassifier((4,), epochs=1).fit(X, y, **kwargs)


def test_valid_keras_fit_arguments_and_callback_arguments_reach_training(
        no_training_keeping_keras_fit, iris):
    X, y = iris
    clf = KerasClassifier(classifier_model, callbacks={"stop": keras.callbacks.EarlyStopping})
    with pytest.raises(AssertionError, match="training started"):
        clf.fit(X, y, validation_split=0.2, steps_per_epoch=2, callbacks__stop__patience=1)


def test_unknown_routed_compile_arguments_are_refused(no_training_keeping_keras_fit, iris):
    X, y = iris
    clf = KerasClassifier(classifier_model, compile__jit_compiel=False)
    with pytest.raises(TypeError, match=r"routed parameters \['compile__jit_compiel'\] that "
                       r"keras.Model.compile does not take; compile__ accepts .*'jit_compile'"):
        clf.fit(X, y)
    assert _unfitted(clf)


@pytest.mark.parametrize(
    ("params", "match"),
    [({"loss": "msee"}, r"'loss' parameter of KerasClassifier got an unknown Keras loss name: "
      r"loss is 'msee'.*Did you mean 'mse'"),
     ({"metrics": ["accuracy", "aucc"]}, r"'metrics' parameter of KerasClassifier got an "
      r"unknown Keras metric name: metrics\[1\] is 'aucc'"),
     ({"metrics": {"out": ["acc", "nope"]}}, r"metrics\['out'\]\[1\] is 'nope'")],
)
def test_unknown_loss_and_metric_names_are_refused_before_training(no_training, iris, params,
                                                                  match):
    """Keras resolves these names only in the first training step."""
    X, y = iris
    with pytest.raises(ValueError, match=match):
        KerasClassifier(classifier_model, **params).fit(X, y)


def test_keras_loss_and_metric_names_reach_training(no_training, iris):
    X, y = iris
    clf = KerasClassifier(classifier_model, loss="crossentropy",
                          metrics=["acc", "AUC", "sparse_categorical_accuracy"])
    with pytest.raises(AssertionError, match="training started"):
        clf.fit(X, y)


def test_routed_loss_arguments_the_loss_does_not_take(no_training, iris):
    X, y = iris
    clf = KerasClassifier(classifier_model, loss="sparse_categorical_crossentropy",
                          loss__from_logit=True)
    with pytest.raises(ValueError, match=r"'loss' parameter 'sparse_categorical_crossentropy' "
                       r"could not be built with the routed loss__ arguments \{'from_logit': "
                       r"True\}: .*unexpected keyword argument 'from_logit'"):
        clf.fit(X, y)


def test_routed_loss_arguments_without_a_loss_are_refused(no_training, iris):
    """loss=None compiles with the target's default loss: routed loss__ arguments would be
    silently dropped."""
    X, y = iris
    clf = KerasClassifier(classifier_model, loss__ignore_class=0)
    with pytest.raises(ValueError, match=r"routed loss__ arguments \{'ignore_class': 0\} "
                       r"but loss=None.*loss='sparse_categorical_crossentropy'"):
        clf.fit(X, y)
    clf.set_params(loss="sparse_categorical_crossentropy")
    with pytest.raises(AssertionError, match="training started"):
        clf.fit(X, y)


def test_non_numeric_regression_target_and_sample_weight(no_training, diabetes):
    X, y = diabetes
    labels = np.where(y > 0, "high", "low")
    with pytest.raises(ValueError, match=r"y must contain only numbers for a regressor; "
                       r"converting it to float failed: .*'(high|low)'"):
        KerasMLPRegressor(epochs=1).fit(X, labels)
    with pytest.raises(ValueError, match=r"sample_weight must contain only numbers; converting "
                       r"it to float failed"):
        KerasMLPRegressor(epochs=1).fit(X, y, sample_weight=labels)


def test_learning_rate_must_be_a_number_or_a_schedule(iris):
    X, y = iris
    clf = KerasMLPClassifier((4,), learning_rate=keras.layers.Dense(1))
    with pytest.raises(ValueError, match=r"'learning_rate' parameter of KerasMLPClassifier must "
                                         r"be a float > 0 or a keras.*LearningRateSchedule"):
        clf.fit(X, y)
    assert _unfitted(clf)


@pytest.mark.parametrize("model", [42, "my_model", [classifier_model]])
def test_model_that_is_not_a_builder_or_keras_model(no_training, iris, model):
    X, y = iris
    with pytest.raises(ValueError, match=rf"The 'model' parameter of KerasClassifier must be a "
                       rf"function that returns a keras.Model, or a keras.Model instance; got "
                       rf"{re.escape(repr(model))} \({type(model).__name__}\)"):
        KerasClassifier(model=model).fit(X, y)


@pytest.mark.parametrize("kind", [KerasMLPClassifier, lambda **kw: KerasClassifier(
    classifier_model, **kw)], ids=["mlp", "wrapper"])
@pytest.mark.parametrize(
    ("callbacks", "match"),
    [
        ([keras.callbacks.History(), object()], r"callbacks\[1\] is <object object at .*> "
         r"\(object\)"),
        ({"stop": keras.callbacks.EarlyStopping, "bad": dict}, r"callbacks\['bad'\] is <class "
         r"'dict'> \(type\)"),
        ((len,), r"callbacks\[0\] is <built-in function len>"),
    ],
    ids=["instance", "class", "function"],
)
def test_callbacks_that_are_not_keras_callbacks(no_training, iris, kind, callbacks, match):
    X, y = iris
    with pytest.raises(ValueError, match=r"The 'callbacks' parameter of Keras\w*Classifier must "
                       r"hold keras.callbacks.Callback instances or subclasses; " + match):
        kind(callbacks=callbacks).fit(X, y)


@pytest.mark.parametrize(
    ("callbacks", "routed"),
    [
        ([keras.callbacks.EarlyStopping(monitor="loss")], {}),
        ([keras.callbacks.EarlyStopping], {"callbacks__monitor": "loss"}),
        ({"stop": keras.callbacks.EarlyStopping}, {"callbacks__stop__monitor": "loss"}),
        ((), {}),
    ],
    ids=["instance", "class", "dict", "empty"],
)
def test_keras_callbacks_reach_training(no_training, iris, callbacks, routed):
    X, y = iris
    with pytest.raises(AssertionError, match="training started"):
        KerasClassifier(classifier_model, callbacks=callbacks, **routed).fit(X, y)


def _stop_on_val_loss():
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)


#: A callback monitoring a validation quantity, given in each way an estimator takes
#: callbacks: (estimator parameters, fit arguments, where and what the message names).
VALIDATION_MONITOR_CASES = {
    "constructor": ({"callbacks": [_stop_on_val_loss()]}, {},
                    r"EarlyStopping\(monitor='val_loss'\) in callbacks\[0\]"),
    "class-default-monitor": ({"callbacks": [keras.callbacks.ReduceLROnPlateau]}, {},
                              r"ReduceLROnPlateau\(monitor='val_loss'\) in callbacks\[0\]"),
    "routed-monitor": ({"callbacks": {"stop": keras.callbacks.EarlyStopping},
                        "callbacks__stop__monitor": "val_accuracy"}, {},
                       r"EarlyStopping\(monitor='val_accuracy'\) in callbacks\['stop'\]"),
    "best-checkpoint": ({"callbacks": {"best": keras.callbacks.ModelCheckpoint},
                         "callbacks__best__filepath": "best.keras",
                         "callbacks__best__save_best_only": True}, {},
                        r"ModelCheckpoint\(monitor='val_loss'\) in callbacks\['best'\]"),
    "fit": ({}, {"callbacks": [_stop_on_val_loss()]},
            r"EarlyStopping\(monitor='val_loss'\) in fit__callbacks\[0\]"),
    "routed-fit": ({"fit__callbacks": [_stop_on_val_loss()]}, {},
                   r"EarlyStopping\(monitor='val_loss'\) in fit__callbacks\[0\]"),
}


@pytest.mark.parametrize("partial", [False, True], ids=["fit", "partial_fit"])
@pytest.mark.parametrize(("params", "fit_kwargs", "match"), VALIDATION_MONITOR_CASES.values(),
                         ids=VALIDATION_MONITOR_CASES)
def test_callback_monitoring_validation_needs_validation_data(
        no_training, iris, params, fit_kwargs, match, partial):
    """Keras would warn at every epoch that val_loss is not available, and never act."""
    X, y = iris
    clf = KerasClassifier(classifier_model, **params)
    train = clf.partial_fit if partial else clf.fit
    with pytest.raises(ValueError, match=r"KerasClassifier got " + match + r", but this fit has "
                       r"no validation data: .*validation_data=\(X_val, y_val\) or "
                       r"validation_split .*early_stopping=True"):
        train(X, y, **fit_kwargs)
    assert not hasattr(clf, "model_")


#: Fits with validation data (estimator parameters, fit arguments; "iris": the training data).
WITH_VALIDATION_CASES = {
    "validation_split": ({}, {"validation_split": 0.2}),
    "routed-validation_split": ({"fit__validation_split": 0.2}, {}),
    # scikeras's constructor parameter
    "constructor-validation_split": ({"validation_split": 0.2}, {}),
    "early_stopping": ({"early_stopping": True}, {}),
    "validation_data": ({}, {"validation_data": "iris"}),
    # a ModelCheckpoint saving every epoch does not read its monitor
    "checkpoint-every-epoch": ({"callbacks": {"every": keras.callbacks.ModelCheckpoint},
                                "callbacks__every__filepath": "every.keras"}, {}),
}


@pytest.mark.parametrize(
    ("params", "fit_kwargs", "partial"),
    [(*case, partial) for case in WITH_VALIDATION_CASES.values() for partial in (False, True)
     if not (partial and case[0].get("early_stopping"))],  # partial_fit refuses early_stopping
    ids=[f"{name}-{method}" for name, case in WITH_VALIDATION_CASES.items()
         for method in ("fit", "partial_fit")
         if not (method == "partial_fit" and case[0].get("early_stopping"))],
)
def test_callback_monitoring_validation_with_validation_data_reaches_training(
        no_training_keeping_keras_fit, iris, params, fit_kwargs, partial):
    X, y = iris
    fit_kwargs = {key: (X, y) if value == "iris" else value for key, value in fit_kwargs.items()}
    params = {"callbacks": [_stop_on_val_loss()], **params}
    clf = KerasClassifier(classifier_model, **params)
    train = clf.partial_fit if partial else clf.fit
    with pytest.raises(AssertionError, match="training started"):
        train(X, y, **fit_kwargs)


# ---------------------------------------------------------------- validation_data


def _small():
    X = np.random.RandomState(0).randn(20, 3).astype(np.float32)
    return X, np.arange(20) % 2


def _with_value(a, index, value):
    a = np.array(a, dtype=np.float64)
    a[index] = value
    return a


X_VAL_CASES = {
    "features": (lambda X: X[:, :2], r"X_val in validation_data: X has 2 features, but \w+ is "
                                     r"expecting 3"),
    "nan": (lambda X: _with_value(X, (3, 1), np.nan), r"X_val in validation_data: Input X "
                                                       r"contains NaN"),
    "inf": (lambda X: _with_value(X, (3, 1), np.inf), r"X_val in validation_data: Input X "
                                                       r"contains infinity"),
    "beyond-float32": (lambda X: _with_value(X, (3, 1), 1e39),
                       r"X_val in validation_data: Input X contains a value too large for "
                       r"float32: 1e\+39 at index \(3, 1\)"),
}


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("case", X_VAL_CASES)
def test_validation_data_x_val_is_checked_naming_it(no_training, make, case):
    X, y = _small()
    bad, match = X_VAL_CASES[case]
    with pytest.raises(ValueError, match="Invalid " + match):
        make().fit(X, y, validation_data=(bad(X), y))


REGRESSOR_Y_VAL_CASES = {
    "nan": (lambda y: _with_value(y, 3, np.nan), ValueError, r"Input y_val contains NaN"),
    "inf": (lambda y: _with_value(y, 3, -np.inf), ValueError, r"Input y_val contains infinity"),
    "beyond-float32": (lambda y: _with_value(y, 3, 1e39), ValueError,
                       r"Input y_val contains a value too large for float32: 1e\+39 at index 3"
                       r".*TransformedTargetRegressor"),
    "beyond-float32-2d": (lambda y: _with_value(np.column_stack([y]), (3, 0), -1e39), ValueError,
                          r"too large for float32: -1e\+39 at index \(3, 0\)"),
    "text": (lambda y: np.array(["a"] * len(y)), ValueError, r"could not convert"),
    "outputs": (lambda y: np.column_stack([y, y]), ValueError,
                r"y_val has shape \(20, 2\), with 2 output\(s\), but \w+ is fitted on y with 1"),
    "3d": (lambda y: np.zeros((len(y), 1, 1)), ValueError, r"Found array with dim 3"),
}


@pytest.mark.parametrize("make", ALL_KINDS[1::2], ids=KIND_IDS[1::2])
@pytest.mark.parametrize("case", REGRESSOR_Y_VAL_CASES)
def test_regressor_validation_data_y_val_is_checked_naming_it(no_training, make, case):
    X, y = _small()
    y = y.astype(np.float64)
    bad, error, match = REGRESSOR_Y_VAL_CASES[case]
    with pytest.raises(error, match="Invalid y_val in validation_data: .*" + match):
        make().fit(X, y, validation_data=(X, bad(y)))


CLASSIFIER_Y_VAL_CASES = {
    "nan": (lambda y: _with_value(y, 3, np.nan), r"Input y_val contains NaN"),
    "unseen": (lambda y: np.where(np.arange(len(y)) == 3, 7, y),
               r"y_val contains classes \[7\] that are not among the fitted classes_=\[0, 1\]"),
    "2d": (lambda y: np.column_stack([y, y]),
           r"y_val has shape \(20, 2\) but \w+ is fitted on one label per sample"),
    "3d": (lambda y: y.reshape(-1, 1, 1), r"Found array with dim 3"),
}


@pytest.mark.parametrize("make", ALL_KINDS[0::2], ids=KIND_IDS[0::2])
@pytest.mark.parametrize("case", CLASSIFIER_Y_VAL_CASES)
def test_classifier_validation_data_y_val_is_checked_naming_it(no_training, make, case):
    X, y = _small()
    bad, match = CLASSIFIER_Y_VAL_CASES[case]
    with pytest.raises(ValueError, match="Invalid y_val in validation_data: .*" + match):
        make().fit(X, y, validation_data=(X, bad(y)))


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
def test_validation_data_column_vector_y_val_reaches_training(no_training, make):
    X, y = _small()
    with pytest.raises(AssertionError, match="training started"):
        make().fit(X, y, validation_data=(X, y.reshape(-1, 1)))


def test_onehot_and_multilabel_y_val_must_match_the_fitted_target(no_training):
    X, y = _small()
    onehot = np.eye(2)[y]
    clf = KerasClassifier(_dense_model(2, "softmax"), loss="categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Invalid y_val in validation_data: .*one-hot"):
        clf.fit(X, onehot, validation_data=(X, y))
    multilabel = np.column_stack([y, 1 - y, y])
    clf = KerasClassifier(_dense_model(3, "sigmoid"), loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"y_val has shape \(20, 2\) but \w+ is fitted on a "
                                         r"multilabel y with 3 labels"):
        clf.fit(X, multilabel, validation_data=(X, multilabel[:, :2]))
    with pytest.raises(ValueError, match=r"y_val contains \[2\]; a multilabel indicator"):
        clf.fit(X, multilabel, validation_data=(X, multilabel * 2))


WEIGHT_CASES = {
    "negative": (lambda w: _with_value(w, 2, -1.0), r"Negative values in data passed to "
                                                    r"`sample_weight`"),
    "nan": (lambda w: _with_value(w, 2, np.nan), r"Input sample_weight contains NaN"),
    "length": (lambda w: w[:5], r"sample_weight.shape == \(5,\), expected \(20,\)"),
    "zeros": (lambda w: w * 0, r"at least one non-zero number"),
    "beyond-float32": (lambda w: _with_value(w, 2, 1e39), r"Input sample_weight contains a "
                                                          r"value too large for float32"),
}


@pytest.mark.parametrize("make", ALL_KINDS, ids=KIND_IDS)
@pytest.mark.parametrize("case", WEIGHT_CASES)
def test_validation_data_sample_weight_is_checked_naming_it(no_training, make, case):
    X, y = _small()
    bad, match = WEIGHT_CASES[case]
    with pytest.raises(ValueError, match="Invalid sample_weight in validation_data: .*" + match):
        make().fit(X, y, validation_data=(X, y, bad(np.ones(20))))


@pytest.mark.parametrize("make", ALL_KINDS[2:], ids=KIND_IDS[2:])
def test_routed_and_partial_fit_validation_data_are_checked(no_training, make):
    X, y = _small()
    y_val = _with_value(y, 3, np.nan)
    with pytest.raises(ValueError, match=r"Invalid y_val in validation_data: .*contains NaN"):
        make().set_params(fit__validation_data=(X, y_val)).fit(X, y)
    with pytest.raises(ValueError, match=r"Invalid y_val in validation_data: .*contains NaN"):
        make().partial_fit(X, y, validation_data=(X, y_val))


def test_column_vector_y_val_trains_with_a_categorical_loss():
    X, y = _small()
    clf = KerasClassifier(_dense_model(2, "softmax"), loss="categorical_crossentropy",
                          random_state=0)
    clf.fit(X, y, validation_data=(X, y.reshape(-1, 1)))
    assert len(clf.history_["val_loss"]) == 1 and np.isfinite(clf.history_["val_loss"][0])


# ---------------------------------------------------------------- refused refits


def _assert_unchanged(estimator, state: dict) -> None:
    """``estimator`` holds the very attributes of ``state`` (a copy of its ``__dict__``)."""
    assert sorted(estimator.__dict__) == sorted(state)
    assert [key for key in state if estimator.__dict__[key] is not state[key]] == []


def _refused_refit(monkeypatch, estimator, X, y, refit, error, match, **params):
    """Fit ``estimator``, set ``params``, then check that ``refit(estimator)`` raises before
    training and leaves it as it was: its target, shapes and network, so its predictions."""
    estimator.fit(X, y).set_params(**params)
    predicted = estimator.predict(X)
    state = dict(estimator.__dict__)
    _refuse_training(monkeypatch)
    with pytest.raises(error, match=match):
        refit(estimator)
    _assert_unchanged(estimator, state)
    np.testing.assert_array_equal(estimator.predict(X), predicted)


def _three_classes():
    X = np.random.RandomState(0).randn(30, 3).astype(np.float32)
    return X, np.arange(30) % 3


CLASSIFIER_REFITS = {
    "classes-y_val": (
        lambda clf, X, y: clf.fit(X, y + 5, validation_data=(X, np.full(len(y), 9))),
        r"y_val contains classes \[9\]",
    ),
    "features-X_val": (
        lambda clf, X, y: clf.fit(np.c_[X, X], y + 5, validation_data=(X, y + 5)),
        r"Invalid X_val in validation_data: X has 3 features, but \w+ is expecting 6",
    ),
    "features-weights": (
        lambda clf, X, y: clf.fit(np.c_[X, X], y + 5, sample_weight=np.zeros(len(y))),
        r"at least one non-zero number",
    ),
    "multilabel-class_weight": (
        lambda clf, X, y: clf.fit(X, np.eye(3)[y][:, :2]),
        r"class_weight is not supported for multilabel targets",
    ),
}


@pytest.mark.parametrize("make", ALL_KINDS[0::2], ids=KIND_IDS[0::2])
@pytest.mark.parametrize("case", CLASSIFIER_REFITS)
def test_refused_classifier_refit_leaves_the_fitted_estimator_as_it_was(monkeypatch, make, case):
    X, y = _three_classes()
    refit, match = CLASSIFIER_REFITS[case]
    clf = make().set_params(class_weight="balanced")
    _refused_refit(monkeypatch, clf, X, y, lambda clf: refit(clf, X, y), ValueError, match)


REGRESSOR_REFITS = {
    "outputs-y_val": (
        lambda reg, X, y: reg.fit(X, np.c_[y, y], validation_data=(X, y)),
        r"y_val has shape \(30,\), with 1 output\(s\), but \w+ is fitted on y with 2",
    ),
    "features-weights": (
        lambda reg, X, y: reg.fit(np.c_[X, X], np.c_[y, y], sample_weight=np.zeros(len(y))),
        r"at least one non-zero number",
    ),
}


@pytest.mark.parametrize("make", ALL_KINDS[1::2], ids=KIND_IDS[1::2])
@pytest.mark.parametrize("case", REGRESSOR_REFITS)
def test_refused_regressor_refit_leaves_the_fitted_estimator_as_it_was(monkeypatch, make, case):
    X, y = _three_classes()
    y = y.astype(np.float64)
    refit, match = REGRESSOR_REFITS[case]
    _refused_refit(monkeypatch, make(), X, y, lambda reg: refit(reg, X, y), ValueError, match)


def _failing_builder(meta):
    raise RuntimeError("builder failed")


@pytest.mark.parametrize("method", ["fit", "initialize"])
def test_wrapper_refit_refused_by_its_output_layer_changes_nothing(monkeypatch, method):
    X, y = _three_classes()
    clf = KerasClassifier(_dense_model(3, "softmax"), epochs=1, random_state=0)
    four_classes = np.where(y == 2, 3 + np.arange(30) % 2, y)  # three output units are too few
    refit = getattr(type(clf), method)
    _refused_refit(monkeypatch, clf, X, y, lambda clf: refit(clf, X, four_classes), ValueError,
                   r"needs 4 softmax units")


@pytest.mark.parametrize("method", ["fit", "initialize"])
def test_wrapper_refit_refused_by_its_builder_changes_nothing(monkeypatch, method):
    X, y = _three_classes()
    reg = KerasRegressor(regressor_model, epochs=1, random_state=0)
    refit = getattr(type(reg), method)
    _refused_refit(monkeypatch, reg, X, y.astype(float), lambda reg: refit(reg, X, np.c_[y, y]),
                   RuntimeError, "builder failed", model=_failing_builder)


def test_refused_first_fit_leaves_the_estimator_unfitted():
    X, y = _three_classes()
    clf = KerasMLPClassifier(hidden_layer_sizes=(4,), epochs=1, random_state=0)
    with pytest.raises(ValueError, match=r"y_val contains classes \[9\]"):
        clf.fit(X, y, validation_data=(X, np.full(len(y), 9)))
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


# ---------------------------------------------------------------- continued targets

CONTINUED = r".*Training continues the fitted network .*call fit with warm_start=False"


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize(
    ("target", "bad", "match"),
    [
        ("labels", lambda y: np.c_[y, y],
         r"y has shape \(30, 2\) but \w+ is fitted on one label per sample; pass y of shape "
         r"\(n_samples,\)"),
        ("labels", lambda y: np.where(y == 2, 7, y),
         r"y contains classes \[7\] that are not among the fitted classes_=\[0, 1, 2\]"),
        ("onehot", lambda y: y,
         r"y has shape \(30,\) but \w+ is fitted on a one-hot y with 3 columns \(one per "
         r"class\); pass y of shape \(n_samples, 3\)"),
        ("onehot", lambda y: np.eye(3)[y][:, :2],
         r"y has shape \(30, 2\) but \w+ is fitted on a one-hot y with 3 columns"),
        ("onehot", lambda y: np.ones((len(y), 3)),
         r"y must be one-hot encoded like the y \w+ is fitted on: 0/1 values with exactly one 1 "
         r"per row"),
        ("multilabel", lambda y: y,
         r"y has shape \(30,\) but \w+ is fitted on a multilabel y with 3 labels \(columns\); "
         r"pass y of shape \(n_samples, 3\)"),
        ("multilabel", lambda y: _multilabel(y) * 2,
         r"y contains \[2\]; a multilabel indicator y holds 0 and 1 only"),
    ],
)
def test_continued_classifier_fit_refuses_another_target(monkeypatch, how, target, bad, match):
    X, labels = _three_classes()
    y = {"labels": labels, "onehot": np.eye(3)[labels], "multilabel": _multilabel(labels)}[target]
    loss = {"labels": None, "onehot": "categorical_crossentropy",
            "multilabel": "binary_crossentropy"}[target]
    units, activation = (3, "sigmoid") if target == "multilabel" else (3, "softmax")
    clf = KerasClassifier(_dense_model(units, activation), loss=loss, epochs=1, random_state=0,
                          warm_start=True)
    clf.fit(X, y)
    _refuse_training(monkeypatch)
    continued = clf.fit if how == "warm_start" else clf.partial_fit
    with pytest.raises(ValueError, match=match + CONTINUED):
        continued(X, bad(labels))


def _multilabel(labels):
    return np.c_[labels == 0, labels != 1, labels == 2].astype(int)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
@pytest.mark.parametrize(
    ("fitted", "bad", "match"),
    [
        (1, lambda y: np.c_[y, y],
         r"y has shape \(30, 2\), with 2 output\(s\), but \w+ is fitted on y with 1: pass y "
         r"of shape \(n_samples,\) or \(n_samples, 1\)"),
        (2, lambda y: y[:, 0],
         r"y has shape \(30,\), with 1 output\(s\), but \w+ is fitted on y with 2: pass y of "
         r"shape \(n_samples, 2\)"),
    ],
)
@pytest.mark.parametrize("make", ALL_KINDS[1::2], ids=KIND_IDS[1::2])
def test_continued_regressor_fit_refuses_another_number_of_outputs(
    monkeypatch, make, how, fitted, bad, match
):
    X, labels = _three_classes()
    y = labels.astype(np.float64) if fitted == 1 else np.c_[labels, -labels].astype(np.float64)
    reg = make().set_params(warm_start=True).fit(X, y)
    _refuse_training(monkeypatch)
    continued = reg.fit if how == "warm_start" else reg.partial_fit
    with pytest.raises(ValueError, match=match + CONTINUED):
        continued(X, bad(y))
