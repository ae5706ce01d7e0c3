"""skkeras.save / skkeras.load: safe round trips, refusals, atomic writes; pickle stays exact."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import re
import tempfile
import warnings
import zipfile

import joblib
import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

import skkeras
from skkeras import (
    KerasClassifier,
    KerasMLPClassifier,
    KerasMLPRegressor,
    KerasRegressor,
)
from skkeras.callbacks import StepDecay


# ---------------------------------------------------------------------------- builders
def build_classifier(meta, hidden=6):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


def build_regressor(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


def absolute_error(y_true, y_pred):
    """A custom loss that is not registered with Keras."""
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


def build_with_lambda(meta):
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Lambda(lambda x: x * 0.5),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


def build_sequence_regressor(meta):
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Conv1D(2, 2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )


class Doubler(TransformerMixin, BaseEstimator):
    """A user transformer: not a type skops trusts by default."""

    def fit(self, X, y=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2.0


# ---------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    return frame, names[y]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:120], y[:120]


@pytest.fixture(scope="module")
def fitted(iris, diabetes):
    """One fitted estimator of each kind, with the data to predict on."""
    frame, labels = iris
    X = frame.to_numpy()
    Xr, yr = diabetes
    binary = np.where(np.asarray(labels) == "setosa", "yes", "no")
    return {
        "mlp_classifier_strings_dataframe": (
            KerasMLPClassifier(
                (6,), epochs=3, early_stopping=True, validation_fraction=0.2, random_state=0,
                callbacks=[StepDecay(milestones=(2,), factor=0.5)],
            ).fit(frame, labels),
            frame,
        ),
        "mlp_classifier_binary_multilabel_free": (
            KerasMLPClassifier((4,), epochs=2, random_state=1).fit(X, binary),
            X,
        ),
        "mlp_regressor_two_outputs": (
            KerasMLPRegressor((5,), epochs=2, learning_rate=0.01, random_state=0).fit(
                Xr, np.column_stack([yr, -yr]) / 100
            ),
            Xr,
        ),
        "wrapper_classifier": (
            KerasClassifier(
                build_classifier, hidden=5, epochs=2, random_state=0,
                optimizer=keras.optimizers.Adam(learning_rate=0.01), class_weight={"no": 1.0,
                                                                                   "yes": 2.0},
                cv=KFold(3, shuffle=True, random_state=0),
            ).fit(X, binary),
            X,
        ),
        "wrapper_regressor": (
            KerasRegressor(
                build_regressor, epochs=2, random_state=np.random.RandomState(3),
                optimizer=keras.optimizers.SGD, optimizer__learning_rate=0.001,
            ).fit(Xr, yr / 100),
            Xr,
        ),
        "mlp_classifier_multilabel": (
            KerasMLPClassifier((4,), epochs=2, random_state=0).fit(
                X, np.column_stack([binary == "yes", X[:, 0] > 0]).astype(int)
            ),
            X,
        ),
        "wrapper_regressor_3d_input": (
            KerasRegressor(build_sequence_regressor, epochs=2, random_state=0).fit(
                Xr[:, :8].reshape(-1, 4, 2), yr / 100
            ),
            Xr[:, :8].reshape(-1, 4, 2),
        ),
        "pipeline_scaler": (
            make_pipeline(StandardScaler(), KerasMLPRegressor((3,), epochs=2, random_state=0))
            .fit(Xr, yr / 100),
            Xr,
        ),
    }


ALL = [
    "mlp_classifier_strings_dataframe",
    "mlp_classifier_binary_multilabel_free",
    "mlp_regressor_two_outputs",
    "wrapper_classifier",
    "wrapper_regressor",
    "mlp_classifier_multilabel",
    "wrapper_regressor_3d_input",
    "pipeline_scaler",
]
TRUSTED = [build_classifier, build_regressor, build_sequence_regressor]


def _outputs(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X), estimator.predict(X)
    return (estimator.predict(X),)


def _final(estimator):
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _assert_same_params(original, loaded):
    expected, got = original.get_params(deep=False), loaded.get_params(deep=False)
    assert set(expected) == set(got)
    for key, value in expected.items():
        if isinstance(value, keras.optimizers.Optimizer):
            assert type(got[key]) is type(value)
            assert got[key].get_config() == value.get_config()
        elif isinstance(value, list):
            assert [type(item) for item in got[key]] == [type(item) for item in value], key
        elif isinstance(value, KFold | BaseEstimator):
            assert repr(got[key]) == repr(value), key
        elif isinstance(value, np.random.RandomState):
            assert isinstance(got[key], np.random.RandomState), key
        else:
            assert got[key] == value, key


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ALL)
def test_round_trip_is_exact(fitted, name, tmp_path):
    estimator, X = fitted[name]
    path = skkeras.save(estimator, tmp_path / "model.skkeras")
    assert path == tmp_path / "model.skkeras"
    loaded = skkeras.load(path, trusted=TRUSTED)
    assert type(loaded) is type(estimator)
    for expected, got in zip(_outputs(estimator, X), _outputs(loaded, X), strict=True):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    original, restored = _final(estimator), _final(loaded)
    _assert_same_params(original, restored)
    for attribute in ("n_features_in_", "X_shape_", "n_iter_", "best_epoch_", "history_",
                      "n_outputs_", "target_type_"):
        assert getattr(restored, attribute) == getattr(original, attribute), attribute
    assert type(restored.X_shape_) is tuple
    assert [layer.name for layer in restored.model_.layers] == [
        layer.name for layer in original.model_.layers
    ]
    for got, want in zip(restored.model_.get_weights(), original.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    if hasattr(original, "classes_"):
        assert restored.classes_.dtype == original.classes_.dtype
        np.testing.assert_array_equal(restored.classes_, original.classes_)
        assert restored.target_.encoding == original.target_.encoding
    assert os.listdir(tmp_path) == ["model.skkeras"]


def test_string_labels_and_feature_names_survive(fitted, tmp_path):
    estimator, frame = fitted["mlp_classifier_strings_dataframe"]
    loaded = skkeras.load(skkeras.save(estimator, tmp_path / "m.skkeras"))
    assert loaded.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert loaded.feature_names_in_.tolist() == list(frame.columns)
    assert set(loaded.predict(frame)) <= {"setosa", "versicolor", "virginica"}
    assert {"loss", "val_loss", "learning_rate"} <= set(loaded.history_)
    # StepDecay halved the rate after epoch 2: the recorded rates came back as saved.
    assert loaded.history_["learning_rate"] == estimator.history_["learning_rate"]
    assert isinstance(loaded.callbacks[0], StepDecay)
    assert loaded.callbacks[0].milestones == (2,) and loaded.callbacks[0].factor == 0.5
    with pytest.warns(UserWarning, match="feature names"):
        loaded.predict(frame.to_numpy()[:3])
    renamed = frame.rename(columns={"sepal_l": "other"})
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(renamed)


def test_loaded_estimator_keeps_training(fitted, iris, tmp_path):
    estimator, frame = fitted["mlp_classifier_strings_dataframe"]
    loaded = skkeras.load(skkeras.save(estimator, tmp_path / "m.skkeras"))
    loaded.set_params(warm_start=True, early_stopping=False, epochs=2)
    loaded.fit(frame, iris[1])
    assert loaded.n_iter_ == estimator.n_iter_ + 2
    assert len(loaded.history_["loss"]) == estimator.n_iter_ + 2
    assert estimator.n_iter_ == 3  # the original is untouched


def test_unfitted_round_trip(tmp_path):
    estimator = KerasMLPClassifier((3, 2), dropout=0.1, optimizer="sgd", class_weight="balanced")
    loaded = skkeras.load(skkeras.save(estimator, tmp_path / "u.skkeras"))
    assert loaded.get_params() == estimator.get_params()
    assert loaded.hidden_layer_sizes == (3, 2)
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded)


def test_several_estimators_in_one_file(fitted, tmp_path):
    """Lists of fitted estimators (an ensemble's estimators_) store one .keras member each."""
    first, X = fitted["mlp_classifier_binary_multilabel_free"]
    second, _ = fitted["mlp_classifier_strings_dataframe"]
    path = skkeras.save({"members": [first, second]}, tmp_path / "both.skkeras")
    loaded = skkeras.load(path)
    with zipfile.ZipFile(path) as archive:
        assert sum(name.endswith(".keras") for name in archive.namelist()) == 2
    np.testing.assert_array_equal(loaded["members"][0].predict_proba(X), first.predict_proba(X))
    frame = fitted["mlp_classifier_strings_dataframe"][1]
    np.testing.assert_array_equal(loaded["members"][1].predict(frame), second.predict(frame))


def test_pipeline_with_skops_steps(iris, tmp_path):
    frame, labels = iris
    frame = frame.assign(colour=np.where(frame["sepal_l"] > 0, "red", "blue"))
    frame.loc[::7, "petal_w"] = np.nan
    pipeline = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [
                        ("onehot", OneHotEncoder(), ["colour"]),
                        ("impute", SimpleImputer(), ["sepal_l", "sepal_w", "petal_l", "petal_w"]),
                    ]
                ),
            ),
            ("net", KerasMLPClassifier((4,), epochs=2, random_state=0)),
        ]
    ).fit(frame, labels)
    loaded = skkeras.load(skkeras.save(pipeline, tmp_path / "p.skkeras"))
    np.testing.assert_array_equal(loaded.predict_proba(frame), pipeline.predict_proba(frame))
    np.testing.assert_array_equal(loaded.predict(frame), pipeline.predict(frame))


def test_untrusted_transformer_needs_trust(diabetes, tmp_path):
    X, y = diabetes
    pipeline = make_pipeline(Doubler(), KerasMLPRegressor((2,), epochs=1, random_state=0))
    pipeline.fit(X, y / 100)
    path = skkeras.save(pipeline, tmp_path / "p.skkeras")
    with pytest.raises(ValueError, match=r"not trusted.*Doubler") as info:
        skkeras.load(path)
    assert str(path) in str(info.value)
    loaded = skkeras.load(path, trusted=[f"{Doubler.__module__}.Doubler"])
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def _assert_points_here(record, text):
    """The warning containing ``text`` points at the line of this file that called skkeras."""
    (warning,) = [w for w in record if text in str(w.message)]
    assert warning.filename == __file__, warning.filename


# ---------------------------------------------------------------------------- user code
def test_builder_is_not_imported_unless_trusted(fitted, tmp_path):
    estimator, X = fitted["wrapper_classifier"]
    path = skkeras.save(estimator, tmp_path / "w.skkeras")
    message = r"not trusted.*estimator\.model.*build_classifier"
    with pytest.warns(UserWarning, match=message) as record:
        loaded = skkeras.load(path)
    _assert_points_here(record, "not trusted")
    assert loaded.model is None
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    assert loaded.hidden == 5 and loaded.class_weight == {"no": 1.0, "yes": 2.0}
    with pytest.raises(ValueError, match="'model' parameter of KerasClassifier is None"):
        loaded.set_params(warm_start=False).fit(X, np.where(X[:, 0] > 0, "yes", "no"))
    restored = skkeras.load(path, trusted=[build_classifier])
    assert restored.model is build_classifier
    restored.fit(X, np.where(X[:, 0] > 0, "yes", "no"))
    assert restored.n_iter_ == 2


def test_keras_classes_are_trusted(fitted, tmp_path):
    estimator, _ = fitted["wrapper_regressor"]
    loaded = skkeras.load(skkeras.save(estimator, tmp_path / "r.skkeras"), trusted=TRUSTED)
    assert loaded.optimizer is keras.optimizers.SGD
    assert loaded.optimizer__learning_rate == 0.001
    assert isinstance(loaded.random_state, np.random.RandomState)
    for got, want in zip(loaded.random_state.get_state(), estimator.random_state.get_state(),
                         strict=True):
        np.testing.assert_array_equal(got, want)


def test_functions_need_trust_even_from_skkeras(saved, tmp_path):
    source, estimator, X = saved

    def sneak(manifest):
        params = manifest["estimator"]["params"]
        params["optimizer"] = {"__type__": "reference", "path": "skkeras:load"}
        params["activation"] = {"__type__": "reference", "path": "keras.activations:relu"}

    hacked = _rewrite_manifest(source, tmp_path / "fn.skkeras", sneak)
    with pytest.warns(UserWarning, match=r"set to None: estimator\.optimizer \(skkeras\.load\)"):
        loaded = skkeras.load(hacked)
    assert loaded.optimizer is None
    assert loaded.activation is keras.activations.relu
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    assert skkeras.load(hacked, trusted=["skkeras.load"]).optimizer is skkeras.load


def _keras_node(config):
    """A manifest entry for a Keras object with this (JSON) config, as the encoder writes it."""
    from skkeras._encoding import Encoder

    return {"__type__": "keras_object", "config": Encoder(".").encode(config, "config")}


def _function_entry(module, name):
    return {"module": module, "class_name": "function", "config": name, "registered_name": name}


@pytest.mark.parametrize(
    "where, config",
    [
        ("a function as the object", _function_entry("keras.config", "set_floatx")),
        ("a function inside a loss", {
            "module": "keras.src.losses.losses", "class_name": "LossFunctionWrapper",
            "config": {"fn": _function_entry("keras.config", "set_floatx")},
            "registered_name": "LossFunctionWrapper"}),
        ("a Keras class of another kind", {
            "module": "keras.callbacks", "class_name": "CSVLogger",
            "config": {"filename": "x.csv"}, "registered_name": None}),
        ("a class under another registered name", {
            "module": "keras.optimizers", "class_name": "Adam", "config": {},
            "registered_name": "Custom>Evil"}),
        ("a schedule of another kind inside an optimizer", {
            "module": "keras.optimizers", "class_name": "Adam",
            "config": {"learning_rate": {"module": "keras.layers", "class_name": "Lambda",
                                         "config": {}, "registered_name": None}},
            "registered_name": None}),
    ],
)
def test_keras_configs_refuse_other_functions_and_classes(saved, tmp_path, where, config):
    source, _, _ = saved
    set_floatx_before = keras.config.floatx()

    def sneak(manifest):
        manifest["estimator"]["params"]["optimizer"] = _keras_node(config)

    hacked = _rewrite_manifest(source, tmp_path / "k.skkeras", sneak)
    refused = r"estimator\.optimizer: .*(skkeras does not load|only built-in)"
    with pytest.raises(ValueError, match=refused):
        skkeras.load(hacked)
    assert keras.config.floatx() == set_floatx_before


def test_keras_configs_of_builtin_objects_load(fitted, tmp_path):
    estimator, X = fitted["wrapper_classifier"]
    source = skkeras.save(estimator, tmp_path / "wrapper.skkeras")
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    from keras.src.losses.losses import LossFunctionWrapper

    def builtin_objects(manifest):
        params = manifest["estimator"]["params"]
        for name, value in (("optimizer", keras.optimizers.Adam(schedule)),
                            ("loss", LossFunctionWrapper(keras.losses.binary_crossentropy))):
            params[name] = _keras_node(keras.saving.serialize_keras_object(value))

    hacked = _rewrite_manifest(source, tmp_path / "ok.skkeras", builtin_objects)
    loaded = skkeras.load(hacked, trusted=TRUSTED)
    stored_rate = keras.saving.serialize_keras_object(loaded.optimizer)["config"]["learning_rate"]
    assert stored_rate["class_name"] == "ExponentialDecay"
    assert loaded.loss.fn is keras.losses.binary_crossentropy
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


def test_unsupported_values_refused_before_writing(diabetes, tmp_path):
    target = tmp_path / "x.skkeras"
    with pytest.raises(TypeError, match=r"KerasRegressor\.model.*lambda"):
        skkeras.save(KerasRegressor(model=lambda meta: None), target)
    with pytest.raises(TypeError, match=r"callbacks\[0\].*CSVLogger.*routed"):
        skkeras.save(KerasMLPRegressor(callbacks=[keras.callbacks.CSVLogger("a.csv")]), target)
    with pytest.raises(TypeError, match=r"KerasRegressor\.thing.*cannot be saved safely"):
        skkeras.save(KerasRegressor(build_regressor, thing=object()), target)
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_unregistered_custom_loss_loads_for_prediction(diabetes, tmp_path):
    X, y = diabetes
    estimator = KerasRegressor(build_regressor, loss=absolute_error, epochs=1, random_state=0)
    estimator.fit(X, y / 100)
    path = skkeras.save(estimator, tmp_path / "loss.skkeras")
    message = r"loss\.skkeras.*without its training configuration"
    with pytest.warns(UserWarning, match=message) as record:
        loaded = skkeras.load(path, trusted=[build_regressor, absolute_error])
    _assert_points_here(record, "without its training configuration")
    assert loaded.loss is absolute_error
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    loaded.fit(X, y / 100)  # a fresh fit compiles a new network with the restored loss
    assert loaded.n_iter_ == 1 and loaded.model_.compiled


def test_model_instance_parameter_round_trip(diabetes, tmp_path):
    X, y = diabetes
    template = build_regressor({"n_features_in_": X.shape[1], "n_outputs_": 1})
    estimator = KerasRegressor(model=template, epochs=1, random_state=0).fit(X, y / 100)
    path = skkeras.save(estimator, tmp_path / "instance.skkeras")
    with zipfile.ZipFile(path) as archive:
        assert sum(name.endswith(".keras") for name in archive.namelist()) == 2
    loaded = skkeras.load(path)
    assert isinstance(loaded.model, keras.Model) and loaded.model is not loaded.model_
    for got, want in zip(loaded.model.get_weights(), template.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    loaded.fit(X, y / 100)  # the template builds a fresh network again
    assert loaded.n_iter_ == 1


def test_networks_inside_other_sklearn_objects_refused(tmp_path):
    search = GridSearchCV(KerasMLPClassifier(), {"dropout": [0.0, 0.1]})
    with pytest.raises(TypeError, match=r"GridSearchCV holds skkeras estimators.*best_estimator_"):
        skkeras.save(search, tmp_path / "search.skkeras")
    assert os.listdir(tmp_path) == []


def test_lambda_layer_refused_unless_safe_mode_off(diabetes, tmp_path):
    X, y = diabetes
    estimator = KerasRegressor(build_with_lambda, epochs=1, random_state=0).fit(X, y / 100)
    path = skkeras.save(estimator, tmp_path / "lambda.skkeras")
    with pytest.raises(ValueError, match=r"lambda\.skkeras.*Lambda.*safe_mode=False"):
        skkeras.load(path, trusted=[build_with_lambda])
    loaded = skkeras.load(path, safe_mode=False, trusted=[build_with_lambda])
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))


# ---------------------------------------------------------------------------- bad files
@pytest.fixture
def saved(fitted, tmp_path):
    estimator, X = fitted["mlp_classifier_binary_multilabel_free"]
    return skkeras.save(estimator, tmp_path / "good.skkeras"), estimator, X


def test_truncated_file_rejected(saved, tmp_path):
    path, _, _ = saved
    data = path.read_bytes()
    for size in (len(data) // 2, len(data) - 30, 10, 0):
        broken = tmp_path / f"cut{size}.skkeras"
        broken.write_bytes(data[:size])
        with pytest.raises(ValueError, match=rf"cut{size}\.skkeras.*(truncated|corrupted)"):
            skkeras.load(broken)


def test_random_bytes_rejected(tmp_path):
    path = tmp_path / "noise.skkeras"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match=r"noise\.skkeras is not an skkeras file"):
        skkeras.load(path)


def test_corrupted_member_rejected(saved, tmp_path):
    path, _, _ = saved
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(next(n for n in archive.namelist() if n.endswith(".keras")))
    start = info.header_offset + 30 + len(info.filename) + 200
    data[start : start + 64] = bytes(64)
    broken = tmp_path / "flipped.skkeras"
    broken.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"flipped\.skkeras.*models/\d+\.keras.*corrupted"):
        skkeras.load(broken)


def test_foreign_files_rejected(fitted, tmp_path):
    estimator, _ = fitted["mlp_classifier_binary_multilabel_free"]
    keras_file = tmp_path / "plain.keras"
    estimator.model_.save(keras_file)
    with pytest.raises(ValueError, match=r"plain\.keras is a zip archive but not an skkeras.*Ker"):
        skkeras.load(keras_file)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("skkeras.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match=r"other\.zip is not an skkeras estimator file"):
        skkeras.load(other)
    with pytest.raises(OSError, match=r"missing\.skkeras"):
        skkeras.load(tmp_path / "missing.skkeras")


def _rewrite_manifest(path, target, edit):
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as out:
        for name in source.namelist():
            data = source.read(name)
            if name == "skkeras.json":
                manifest = json.loads(data)
                edit(manifest)
                data = json.dumps(manifest).encode()
            out.writestr(name, data)
    return target


def test_version_mismatch_warns_with_both_versions(saved, tmp_path):
    path, estimator, X = saved

    def older(manifest):
        manifest["versions"]["keras"] = "3.0.0"
        manifest["versions"]["scikit-learn"] = "1.5.0"

    other = _rewrite_manifest(path, tmp_path / "old.skkeras", older)
    message = rf"keras 3\.0\.0 \(installed: {keras.__version__}\)"
    with pytest.warns(UserWarning, match=message) as record:
        loaded = skkeras.load(other)
    _assert_points_here(record, "was saved with")
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))


def test_newer_format_refused(saved, tmp_path):
    path, _, _ = saved
    newer = _rewrite_manifest(path, tmp_path / "new.skkeras",
                              lambda m: m.update(format_version=99))
    with pytest.raises(ValueError, match=r"new\.skkeras uses skkeras file format version 99"):
        skkeras.load(newer)


@pytest.mark.parametrize(
    "path",
    ["os:system", "sklearn.svm:SVC", "skkeras:KerasClassifier.__init__.__globals__",
     "skkeras._keras:import_keras"],
)
def test_arbitrary_classes_never_imported(saved, tmp_path, path):
    source, _, _ = saved
    hacked = _rewrite_manifest(source, tmp_path / "hacked.skkeras",
                               lambda m: m["estimator"].update({"class": path}))
    with pytest.raises(ValueError, match=r"hacked\.skkeras"):
        skkeras.load(hacked)


def test_object_arrays_hold_only_plain_values(saved, tmp_path):
    source, _, _ = saved

    def sneak(manifest):
        manifest["estimator"]["state"]["classes_"] = {
            "__type__": "ndarray", "dtype": "object", "shape": [1],
            "items": [{"__type__": "reference", "path": "keras.layers:Dense"}]}

    hacked = _rewrite_manifest(source, tmp_path / "obj.skkeras", sneak)
    with pytest.raises(ValueError, match=r"obj\.skkeras.*classes_.*only strings, numbers"):
        skkeras.load(hacked)


def test_dunder_references_refused(saved, tmp_path):
    source, _, _ = saved

    def sneak(manifest):
        manifest["estimator"]["params"]["optimizer"] = {
            "__type__": "reference", "path": "skkeras:save.__globals__"}

    hacked = _rewrite_manifest(source, tmp_path / "ref.skkeras", sneak)
    with pytest.raises(ValueError, match=r"ref\.skkeras.*not a valid import path"):
        skkeras.load(hacked)


# ---------------------------------------------------------------------------- atomic writes
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupt"])
def test_crash_mid_save_keeps_previous_file(saved, fitted, monkeypatch, error):
    path, estimator, X = saved
    before = path.read_bytes()
    other, _ = fitted["mlp_classifier_strings_dataframe"]
    real_writestr = zipfile.ZipFile.writestr
    calls = []

    def failing_writestr(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:  # after the first member is in the temporary file
            raise error
        return real_writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing_writestr)
    with pytest.raises(type(error)):
        skkeras.save(other, path)
    monkeypatch.undo()
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    np.testing.assert_array_equal(skkeras.load(path).predict_proba(X), estimator.predict_proba(X))


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (KeyboardInterrupt(), pytest.raises(KeyboardInterrupt)),
        # a full temporary disk is an OSError naming the network and the folder, not a
        # TypeError saying the model cannot be saved
        (OSError(errno.ENOSPC, "No space left on device"),
         pytest.raises(OSError, match=r"model_.*temporary folder .*work.*No space left")),
    ],
    ids=["interrupt", "disk-full"],
)
def test_failure_while_keras_writes_a_model_keeps_previous_file(
    saved, fitted, monkeypatch, tmp_path, failure, expected
):
    """Ctrl-C or a full disk while Keras writes a network into the save's work folder: the
    previous file is intact and loadable, and neither the work folder nor a temporary file is
    left behind."""
    path, estimator, X = saved
    before = path.read_bytes()
    other, _ = fitted["mlp_classifier_strings_dataframe"]
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))

    def failing_save(model, filepath, *args, **kwargs):
        with open(filepath, "wb") as file:
            file.write(b"PK half a model")
        raise failure

    monkeypatch.setattr(keras.Model, "save", failing_save)
    with expected as info:
        skkeras.save(other, path)
    monkeypatch.undo()
    if isinstance(failure, OSError):
        assert info.value.errno == errno.ENOSPC
        assert not isinstance(info.value, TypeError)
    assert path.read_bytes() == before
    assert sorted(os.listdir(path.parent)) == sorted([path.name, "work"])
    assert os.listdir(work) == []
    np.testing.assert_array_equal(skkeras.load(path).predict_proba(X), estimator.predict_proba(X))


def test_crash_before_rename_keeps_previous_file(saved, fitted, monkeypatch):
    path, estimator, X = saved
    other, _ = fitted["mlp_classifier_strings_dataframe"]

    def no_rename(source, target):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(OSError, match="simulated crash"):
        skkeras.save(other, path)
    monkeypatch.undo()
    assert os.listdir(path.parent) == [path.name]
    np.testing.assert_array_equal(skkeras.load(path).predict_proba(X), estimator.predict_proba(X))


def test_save_overwrites_atomically(saved, fitted):
    path, _, _ = saved
    other, frame = fitted["mlp_classifier_strings_dataframe"]
    skkeras.save(other, path)
    np.testing.assert_array_equal(skkeras.load(path).predict(frame), other.predict(frame))


# ---------------------------------------------------------------------------- pickle / joblib
@pytest.mark.parametrize("name", ALL)
def test_pickle_and_joblib_stay_exact(fitted, name):
    estimator, X = fitted[name]
    expected = _outputs(estimator, X)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
    buffer.seek(0)
    for copy in (pickle.loads(pickle.dumps(estimator)), joblib.load(buffer)):
        for want, got in zip(expected, _outputs(copy, X), strict=True):
            np.testing.assert_array_equal(got, want)
        assert _final(copy).history_ == _final(estimator).history_


def test_schedule_as_learning_rate_round_trips(iris, tmp_path):
    from sklearn.base import clone

    X, y = iris
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=5, decay_rate=0.5)
    estimator = KerasMLPClassifier((4,), optimizer="sgd", learning_rate=schedule, epochs=2,
                                   patience=None, random_state=0).fit(X, y)
    loaded = skkeras.load(skkeras.save(estimator, tmp_path / "schedule.skkeras"))
    assert isinstance(loaded.learning_rate, keras.optimizers.schedules.ExponentialDecay)
    assert loaded.learning_rate.get_config() == schedule.get_config()
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    refitted = clone(loaded).fit(X, y)
    np.testing.assert_allclose(refitted.history_["learning_rate"],
                               estimator.history_["learning_rate"], rtol=1e-6)
    loaded.set_params(warm_start=True).fit(X, y)  # continues, the schedule going on
    assert loaded.n_iter_ == 4


# ---------------------------------------------------------------------------- destinations
def _mode(path):
    return os.stat(path).st_mode & 0o777


def test_saved_files_follow_umask_and_keep_replaced_permissions(tmp_path):
    previous = os.umask(0o027)
    try:
        path = skkeras.save(KerasMLPClassifier(), tmp_path / "new.skkeras")
        assert _mode(path) == 0o640
        os.chmod(path, 0o604)
        skkeras.save(KerasMLPClassifier(), path)
        assert _mode(path) == 0o604
    finally:
        os.umask(previous)
    assert os.listdir(tmp_path) == ["new.skkeras"]


def test_bad_destinations_name_the_users_path(tmp_path):
    estimator = KerasMLPClassifier()
    with pytest.raises(FileNotFoundError, match=r"nope.m\.skkeras: the folder .*nope does not"):
        skkeras.save(estimator, tmp_path / "nope" / "m.skkeras")
    (tmp_path / "adir").mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot write to .*adir: it is a folder"):
        skkeras.save(estimator, tmp_path / "adir")
    with pytest.raises(ValueError, match=r"save: the path is empty"):
        skkeras.save(estimator, "")
    assert os.listdir(tmp_path) == ["adir"]
    assert os.listdir(tmp_path / "adir") == []


@pytest.mark.parametrize("path", [None, 5, b"m.skkeras"], ids=["none", "int", "bytes"])
@pytest.mark.parametrize("what", ["save", "load"])
def test_path_must_be_str_or_pathlike(tmp_path, monkeypatch, what, path):
    monkeypatch.chdir(tmp_path)
    call = (lambda: skkeras.save(KerasMLPClassifier(), path)) if what == "save" else (
        lambda: skkeras.load(path))
    with pytest.raises(TypeError, match=rf"The 'path' parameter of {what} must be a str or an "
                       r"os.PathLike \(such as 'model.skkeras' or a pathlib.Path\); got "
                       + re.escape(f"{path!r} ({type(path).__name__})")):
        call()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("trusted", "match"),
    [
        (5, r"must be None, an import path such as 'mymodule.build_model', or a list of import "
            r"paths and classes or functions; got 5 \(int\)"),
        (True, r"must be None, an import path .*; got True \(bool\)"),
        ([len, 5], r"must hold import paths \(str\) and classes or functions; it holds 5 "
                   r"\(int\)"),
        ([None], r"must hold import paths .*; it holds None \(NoneType\)"),
    ],
    ids=["int", "bool", "int-entry", "none-entry"],
)
def test_load_refuses_bad_trusted_before_reading(tmp_path, trusted, match):
    with pytest.raises(TypeError, match=r"The 'trusted' parameter of load " + match):
        skkeras.load(tmp_path / "not-read.skkeras", trusted=trusted)


def test_save_writes_through_a_symbolic_link(tmp_path):
    target = skkeras.save(KerasMLPClassifier(hidden_layer_sizes=(3,)), tmp_path / "v1.skkeras")
    os.chmod(target, 0o640)
    link = tmp_path / "latest.skkeras"
    link.symlink_to("v1.skkeras")
    assert skkeras.save(KerasMLPClassifier(hidden_layer_sizes=(7,)), link) == link
    assert link.is_symlink()
    assert skkeras.load(target).hidden_layer_sizes == (7,)
    assert _mode(target) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["latest.skkeras", "v1.skkeras"]


# ---------------------------------------------------------------------------- crafted files
def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_deeply_nested_manifest_is_a_value_error(tmp_path):
    head = '{"format":"skkeras-estimator","format_version":1,"estimator":'
    for depth, message in ((100_000, "skkeras.json is nested too deeply"),
                           (900, "estimator entry is nested too deeply")):
        path = _write_zip(tmp_path / f"deep{depth}.skkeras",
                          {"skkeras.json": head + "[" * depth + "]" * depth + "}"})
        with pytest.raises(ValueError, match=rf"deep{depth}\.skkeras: .*{message}"):
            skkeras.load(path)


def test_skops_node_on_a_non_skops_member_is_a_value_error(tmp_path):
    path = skkeras.save(KerasMLPClassifier(), tmp_path / "m.skkeras")
    edited = _rewrite_manifest(path, tmp_path / "edited.skkeras", lambda manifest: manifest[
        "estimator"]["params"].update(
            hidden_layer_sizes={"__type__": "skops", "file": "skkeras.json"}))
    with pytest.raises(ValueError, match=r"edited\.skkeras: .*'skkeras.json' is not a valid "
                                         r"skops file"):
        skkeras.load(edited)


def test_loaded_estimator_continues_its_step_decay_schedule(diabetes, tmp_path):
    X, y = diabetes
    X = StandardScaler().fit_transform(X)
    y = (y - y.mean()) / y.std()
    params = {"optimizer": "sgd", "learning_rate": 0.1, "patience": None, "random_state": 0,
              "callbacks": [StepDecay(milestones=(2, 4), factor=0.5)]}
    reg = KerasMLPRegressor((4,), epochs=3, warm_start=True, **params).fit(X, y)
    loaded = skkeras.load(skkeras.save(reg, tmp_path / "decay.skkeras")).fit(X, y)
    np.testing.assert_allclose(
        loaded.history_["learning_rate"], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6
    )
    # a warm fit with a new learning_rate (a fresh optimizer) saves the rate it started from
    reg.set_params(learning_rate=0.2, epochs=1).fit(X, y)
    loaded = skkeras.load(skkeras.save(reg, tmp_path / "decay.skkeras")).fit(X, y)
    np.testing.assert_allclose(loaded.history_["learning_rate"][3:], [0.1, 0.05], rtol=1e-6)


# ---------------------------------------------------------------- continued training after load
def build_compiled_regressor(meta, compile_kwargs):
    """A builder that compiles the model itself (its optimizer parameters define the network)."""
    model = build_regressor(meta)
    model.compile(loss="mse", optimizer=compile_kwargs["optimizer"])
    return model


def _images():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 6, 6, 1)).astype("float32")
    return X, np.where(X.mean(axis=(1, 2, 3)) > 0, "a", "b")


def _sequences():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 5, 1)).astype("float32")
    return X, X[:, -1, 0] - X[:, 0, 0]


def _tabular(kind):
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)[::5]
    return X, (y[::5] > 0 if kind == "classifier" else X[:, 0] * 2 + X[:, 1])


CONTINUED = {  # estimator, data, a changed network parameter, the change as the error shows it
    "mlp_classifier": (lambda: KerasMLPClassifier((4,)), lambda: _tabular("classifier"),
                       {"hidden_layer_sizes": (7,)}, r"hidden_layer_sizes: \(4,\) -> \(7,\)"),
    "mlp_regressor": (lambda: KerasMLPRegressor((4,)), lambda: _tabular("regressor"),
                      {"dropout": 0.5}, r"dropout: 0\.0 -> 0\.5"),
    "wrapper_classifier": (lambda: KerasClassifier(build_classifier, hidden=4),
                           lambda: _tabular("classifier"), {"hidden": 8}, r"hidden: 4 -> 8"),
    "wrapper_regressor": (lambda: KerasRegressor(build_regressor), lambda: _tabular("regressor"),
                          {"model": build_sequence_regressor},
                          r"model: .*build_regressor.* -> <function build_sequence"),
    "cnn_classifier": (lambda: skkeras.KerasCNNClassifier((2,), convs_per_block=1,
                                                          dense_units=()),
                       _images, {"filters": (3,)}, r"filters: \(2,\) -> \(3,\)"),
    "lstm_regressor": (lambda: skkeras.KerasLSTMRegressor(units=2), _sequences, {"units": 3},
                       r"units: 2 -> 3"),
}
TRUSTED_BUILDERS = [build_classifier, build_regressor, build_sequence_regressor,
                    build_compiled_regressor]


def _fitted_for_continuing(name):
    make, data, _, _ = CONTINUED[name]
    X, y = data()
    return make().set_params(epochs=1, random_state=0).fit(X, y), X, y


def _reloaded(estimator, path):
    return skkeras.load(skkeras.save(estimator, path), trusted=TRUSTED_BUILDERS)


@pytest.mark.parametrize("name", list(CONTINUED))
@pytest.mark.parametrize("when", ["after_load", "before_save"])
def test_loaded_estimator_refuses_network_changes_made_before_or_after_saving(
    name, when, tmp_path
):
    estimator, X, y = _fitted_for_continuing(name)
    changed, shown = CONTINUED[name][2], CONTINUED[name][3]
    original = {key: getattr(estimator, key) for key in changed}
    if when == "before_save":
        estimator.set_params(**changed)
    loaded = _reloaded(estimator, tmp_path / "m.skkeras")
    if when == "after_load":
        loaded.set_params(**changed)
    loaded.set_params(warm_start=True)
    for method in (loaded.fit, loaded.partial_fit):
        with pytest.raises(ValueError, match=shown + r".*Set warm_start=False"):
            method(X, y)
    assert loaded.n_iter_ == 1
    loaded.set_params(**original).fit(X, y)  # set back: the saved network trains on
    assert loaded.n_iter_ == 2


def test_pipeline_step_refuses_network_changes_made_before_or_after_saving(tmp_path):
    X, y = _tabular("regressor")
    pipeline = make_pipeline(StandardScaler(), KerasMLPRegressor((3,), epochs=1, random_state=0))
    pipeline.fit(X, y).set_params(kerasmlpregressor__hidden_layer_sizes=(5,))
    loaded = skkeras.load(skkeras.save(pipeline, tmp_path / "p.skkeras"))
    loaded.set_params(kerasmlpregressor__warm_start=True)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes: \(3,\) -> \(5,\)"):
        loaded.fit(X, y)
    loaded = skkeras.load(skkeras.save(pipeline.set_params(
        kerasmlpregressor__hidden_layer_sizes=(3,)), tmp_path / "p.skkeras"))
    loaded.set_params(kerasmlpregressor__warm_start=True, kerasmlpregressor__dropout=0.2)
    with pytest.raises(ValueError, match=r"dropout: 0\.0 -> 0\.2"):
        loaded.fit(X, y)


@pytest.mark.parametrize("when", ["after_load", "before_save"])
@pytest.mark.parametrize(
    ("make", "rate"),
    [(lambda: KerasMLPRegressor((4,), optimizer="sgd", learning_rate=0.01), "learning_rate"),
     (lambda: KerasRegressor(build_regressor, optimizer="sgd", optimizer__learning_rate=0.01),
      "optimizer__learning_rate")],
    ids=["mlp", "wrapper"],
)
def test_loaded_estimator_gets_a_fresh_optimizer_for_a_changed_learning_rate(
    make, rate, when, tmp_path
):
    X, y = _tabular("regressor")
    estimator = make().set_params(epochs=1, random_state=0, warm_start=True).fit(X, y)
    # unchanged parameters: the loaded optimizer (and its state) trains on
    loaded = _reloaded(estimator, tmp_path / "m.skkeras")
    optimizer = loaded.model_.optimizer
    loaded.fit(X, y)
    assert loaded.model_.optimizer is optimizer and int(optimizer.iterations) == 2
    if when == "before_save":
        estimator.set_params(**{rate: 0.05})
    loaded = _reloaded(estimator, tmp_path / "m.skkeras")
    if when == "after_load":
        loaded.set_params(**{rate: 0.05})
    optimizer = loaded.model_.optimizer
    loaded.fit(X, y)
    assert loaded.model_.optimizer is not optimizer  # a fresh one, made from the new rate
    assert int(loaded.model_.optimizer.iterations) == 1
    assert loaded.history_["learning_rate"] == pytest.approx([0.01, 0.05])


def test_loaded_estimator_compiled_by_its_builder_keeps_its_record(tmp_path):
    X, y = _tabular("regressor")
    estimator = KerasRegressor(build_compiled_regressor, epochs=1, random_state=0,
                               warm_start=True).fit(X, y)
    loaded = _reloaded(estimator, tmp_path / "m.skkeras")
    loaded.fit(X, y)  # nothing changed: trains on
    assert loaded.n_iter_ == 2
    loaded.set_params(optimizer="sgd")  # an input of the builder, which compiled the network
    with pytest.raises(ValueError, match=r"optimizer: 'rmsprop' -> 'sgd'"):
        loaded.fit(X, y)


def test_build_record_of_untrusted_or_unsaved_builders(tmp_path):
    X, y = _tabular("classifier")
    estimator = KerasClassifier(build_classifier, epochs=1, random_state=0).fit(X, y)
    path = skkeras.save(estimator, tmp_path / "m.skkeras")
    with pytest.warns(UserWarning, match="not trusted"):
        loaded = skkeras.load(path)  # the builder is not imported: model is None
    loaded.set_params(model=build_regressor, warm_start=True)
    with pytest.raises(ValueError, match=r"model: tests\.test_persistence\.build_classifier ->"):
        loaded.fit(X, y)
    loaded.set_params(model=build_classifier).fit(X, y)  # the same builder, by import path
    assert loaded.n_iter_ == 2
    # a builder that cannot be saved, replaced before saving: the file is written, and the
    # network it built counts as changed after loading
    local = lambda meta: build_classifier(meta)  # noqa: E731
    estimator = KerasClassifier(local, epochs=1, random_state=0).fit(X, y)
    with pytest.raises(TypeError, match=r"KerasClassifier\.model: .*cannot be saved"):
        skkeras.save(estimator, tmp_path / "lambda.skkeras")
    estimator.set_params(model=build_classifier)
    loaded = _reloaded(estimator, tmp_path / "lambda.skkeras")
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    loaded.set_params(warm_start=True)
    with pytest.raises(ValueError, match=r"model: <unsaved function> -> "):
        loaded.fit(X, y)
    loaded.set_params(warm_start=False).fit(X, y)
    assert loaded.n_iter_ == 1


def first_units(n):
    return n


def more_units(n):
    return n + 1


def build_units(meta, units=first_units):
    """A hidden layer of ``f(4)`` units for each function ``f`` in ``units`` (one function or
    a list of them): a network parameter that is a function, alone or in a list."""
    functions = units if isinstance(units, list) else [units]
    return keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            *[keras.layers.Dense(function(4), activation="relu") for function in functions],
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )


@pytest.mark.parametrize("how", ["initialize", "fit"])
@pytest.mark.parametrize("in_list", [False, True], ids=["function", "list_of_functions"])
def test_build_record_of_a_function_alone_or_in_a_list(how, in_list, tmp_path):
    """A function inside a list parameter is recorded as a function on its own is, by
    initialize and by fit, and the record keeps it through save/load, and through saving the
    loaded estimator again (where the untrusted function is only an import path)."""
    X, y = _tabular("classifier")
    wrap = (lambda value: [value]) if in_list else (lambda value: value)

    def built(units):
        estimator = KerasClassifier(build_units, model__units=units, epochs=1, random_state=0)
        return getattr(estimator, how)(X, y)

    estimator = built(wrap(first_units))
    estimator.set_params(warm_start=True, model__units=wrap(more_units))
    with pytest.raises(ValueError, match=r"model__units: \[?<function first_units .*\]? -> "):
        estimator.fit(X, y)
    estimator.set_params(warm_start=False, model__units=wrap(first_units))
    # the functions are not trusted: loaded as None, recorded by import path
    with pytest.warns(UserWarning, match="not trusted"):
        loaded = skkeras.load(skkeras.save(estimator, tmp_path / "a.skkeras"),
                              trusted=[build_units])
    assert loaded.get_params()["model__units"] == wrap(None)
    again = skkeras.load(skkeras.save(loaded, tmp_path / "b.skkeras"), trusted=[build_units])
    for estimator in (loaded, again):
        trained = estimator.n_iter_
        estimator.set_params(warm_start=True, model__units=wrap(more_units))
        with pytest.raises(
            ValueError, match=r"model__units: \[?tests\.test_persistence\.first_units\]? -> "
        ):
            estimator.fit(X, y)
        estimator.set_params(model__units=wrap(first_units)).fit(X, y)  # the same: trains on
        assert estimator.n_iter_ == trained + 1
    # a function that cannot be saved (a lambda), replaced before saving: changed after loading
    estimator = built(wrap(lambda n: n))
    with pytest.raises(TypeError, match=r"model__units.*cannot be saved"):
        skkeras.save(estimator, tmp_path / "c.skkeras")
    estimator.set_params(model__units=wrap(first_units))
    loaded = skkeras.load(skkeras.save(estimator, tmp_path / "c.skkeras"),
                          trusted=[build_units, first_units])
    loaded.set_params(warm_start=True)
    kind = "list" if in_list else "function"
    with pytest.raises(ValueError, match=rf"model__units: <unsaved {kind}> -> "):
        loaded.fit(X, y)


def test_build_record_file_version_and_version_1_files(tmp_path):
    X, y = _tabular("regressor")
    estimator = KerasMLPRegressor((4,), epochs=1, random_state=0).fit(X, y)
    path = skkeras.save(estimator, tmp_path / "m.skkeras")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("skkeras.json"))
    assert manifest["format_version"] == 2
    assert {"_built_with", "_compiled_by_builder"} <= set(manifest["estimator"]["state"])

    def as_version_1(manifest):
        manifest["format_version"] = 1
        for key in ("_built_with", "_compiled_by_builder"):
            del manifest["estimator"]["state"][key]

    old = skkeras.load(_rewrite_manifest(path, tmp_path / "v1.skkeras", as_version_1))
    np.testing.assert_array_equal(old.predict(X), estimator.predict(X))
    # no record: continued training compares with the parameters as loaded (as version 1 did)
    old.set_params(dropout=0.5, warm_start=True).fit(X, y)
    assert old.n_iter_ == 2

    def corrupt(manifest):
        manifest["estimator"]["state"]["_built_with"] = {"__type__": "build_record",
                                                         "groups": {"network": {}}}

    with pytest.raises(ValueError, match=r"bad\.skkeras: .*build record is corrupted"):
        skkeras.load(_rewrite_manifest(path, tmp_path / "bad.skkeras", corrupt))


def test_network_trained_from_a_remembered_start_saves_after_its_parameters_changed(tmp_path):
    X, y = _tabular("classifier")
    params = {"epochs": 1, "random_state": 0, "warm_start": True}
    KerasMLPClassifier((4,), **params).fit(X, y)
    clf = KerasMLPClassifier((4,), **params).fit(X, y)  # trains from the remembered start
    assert "_trained_state" in vars(clf)
    expected = clf.predict_proba(X)
    clf.set_params(hidden_layer_sizes=(9,), optimizer="sgd")
    loaded = _reloaded(clf, tmp_path / "m.skkeras")  # builds the Keras model it was trained as
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    assert isinstance(loaded.model_.optimizer, keras.optimizers.Adam)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes: \(4,\) -> \(9,\)"):
        loaded.fit(X, y)


def test_loaded_optimizer_instance_parameter_keeps_the_loaded_optimizer(tmp_path):
    X, y = _tabular("classifier")
    clf = KerasClassifier(build_classifier, optimizer=keras.optimizers.Adam(learning_rate=0.01),
                          epochs=1, random_state=0, warm_start=True).fit(X, y)
    loaded = _reloaded(clf, tmp_path / "m.skkeras")
    optimizer = loaded.model_.optimizer
    loaded.fit(X, y)  # the optimizer parameter is a new (equal) object after loading
    assert loaded.model_.optimizer is optimizer and int(optimizer.iterations) == 2
    loaded.set_params(optimizer=keras.optimizers.Adam(learning_rate=0.01)).fit(X, y)
    assert loaded.model_.optimizer is not optimizer  # another instance: a fresh optimizer


# ------------------------------------------------- networks loaded without training configuration
def mean_abs_error(y_true, y_pred):
    """A custom metric function that is not registered with Keras."""
    return keras.ops.mean(keras.ops.abs(y_true - y_pred), axis=-1)


def build_compiled_with_metric(meta):
    """A builder that compiles the model itself, with an unregistered custom metric."""
    model = build_regressor(meta)
    model.compile(loss="mse", optimizer="sgd", metrics=[mean_abs_error])
    return model


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_network_loaded_without_training_configuration_trains_on(how, tmp_path):
    """A custom metric function: Keras loads the network uncompiled; a continued fit compiles
    it again from the estimator's parameters and trains on from the loaded weights."""
    X, y = _tabular("regressor")
    # plain SGD keeps no state but its step count: continuing the loaded network with a fresh
    # optimizer trains exactly as continuing the saved one
    estimator = KerasRegressor(build_regressor, optimizer="sgd", metrics=[mean_abs_error],
                               epochs=2, random_state=0).fit(X, y)
    path = skkeras.save(estimator, tmp_path / "metric.skkeras")
    with pytest.warns(UserWarning, match=r"without its training configuration.*fresh optimizer"
                                         r".*optimizer's state .* is lost"):
        loaded = skkeras.load(path, trusted=[build_regressor, mean_abs_error])
    assert not loaded.model_.compiled and loaded.metrics == [mean_abs_error]
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    assert loaded.score(X, y) == estimator.score(X, y)

    def continued(model):
        if how == "warm_start":
            return model.set_params(warm_start=True).fit(X, y)
        return model.partial_fit(X, y)

    continued(loaded)
    continued(estimator)
    epochs = 4 if how == "warm_start" else 3
    assert loaded.n_iter_ == epochs and loaded.model_.compiled
    for key in ("loss", "mean_abs_error"):
        assert len(loaded.history_[key]) == epochs
        np.testing.assert_allclose(loaded.history_[key], estimator.history_[key], rtol=1e-5)
    np.testing.assert_allclose(loaded.predict(X), estimator.predict(X), rtol=1e-5, atol=1e-6)


#: How the builders below build: not parameters, so that a test can make a builder build
#: another network than the one it built when the estimator was fitted.
BUILT_UNITS = {"hidden": 4, "compiled": True}


def squared_error(y_true, y_pred):
    """A custom loss that is not registered with Keras."""
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def build_compiled_with_loss(meta):
    """A regressor builder that compiles the model itself, with an unregistered custom loss
    (plain SGD: it keeps no state but its step count)."""
    model = keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(BUILT_UNITS["hidden"], activation="relu"),
        keras.layers.Dense(meta["n_outputs_"]),
    ])
    if BUILT_UNITS["compiled"]:
        model.compile(loss=squared_error, optimizer=keras.optimizers.SGD(0.05))
    return model


def build_compiled_classifier(meta):
    """A binary classifier builder that compiles the model with an unregistered custom loss."""
    model = build_classifier(meta, hidden=BUILT_UNITS["hidden"])
    model.compile(loss=squared_error, optimizer=keras.optimizers.SGD(0.1))
    return model


# Keras cannot clone a model compiled with an unregistered function, so skkeras's compiled
# training loop (which trains a clone) never takes these networks: Keras's fit trains them.
BUILDER_COMPILED = {  # estimator, data
    "regressor-loss": (lambda: KerasRegressor(build_compiled_with_loss), "regressor"),
    "regressor-metric": (lambda: KerasRegressor(build_compiled_with_metric), "regressor"),
    "classifier-loss": (lambda: KerasClassifier(build_compiled_classifier), "classifier"),
}
BUILDER_TRUSTED = [build_compiled_with_loss, build_compiled_classifier,
                   build_compiled_with_metric]


def _saved_builder_compiled(case, tmp_path):
    """A fitted estimator whose builder compiled its network with an unregistered custom
    function, its data, and the file it is saved in."""
    make, kind = BUILDER_COMPILED[case]
    X, y = _tabular(kind)
    estimator = make().set_params(epochs=1, random_state=0).fit(X, y)
    return estimator, X, y, skkeras.save(estimator, tmp_path / "builder.skkeras")


def _load_uncompiled(path, **kwargs):
    with pytest.warns(UserWarning) as record:
        loaded = skkeras.load(path, **kwargs)
    assert any("without its training configuration" in str(w.message) for w in record)
    assert not loaded.model_.compiled and loaded._compiled_by_builder
    return loaded, record


@pytest.mark.parametrize("case", BUILDER_COMPILED)
def test_network_compiled_by_its_builder_trains_on_after_loading_without_configuration(
    case, tmp_path
):
    """Continued training builds the network again with its builder, as a fresh fit does,
    gives it the loaded weights and trains on with the builder's fresh optimizer: with plain
    SGD (no state but its step count), exactly as the saved estimator trains on."""
    estimator, X, y, path = _saved_builder_compiled(case, tmp_path)
    by_partial_fit, _ = _load_uncompiled(path, trusted=BUILDER_TRUSTED)
    by_warm_fit, _ = _load_uncompiled(path, trusted=BUILDER_TRUSTED)
    loaded_network = by_warm_fit.model_
    for got, want in zip(_outputs(by_warm_fit, X), _outputs(estimator, X), strict=True):
        np.testing.assert_array_equal(got, want)
    by_partial_fit.partial_fit(X, y)
    by_warm_fit.set_params(warm_start=True).fit(X, y)  # epochs=1: one epoch, as partial_fit
    estimator.partial_fit(X, y)
    steps = int(estimator.model_.optimizer.iterations) // 2
    for loaded in (by_partial_fit, by_warm_fit):
        assert loaded.n_iter_ == 2 and loaded.model_.compiled and loaded._compiled_by_builder
        assert int(loaded.model_.optimizer.iterations) == steps  # a fresh optimizer
        for key, values in estimator.history_.items():
            np.testing.assert_allclose(loaded.history_[key], values, rtol=1e-5)
        for got, want in zip(_outputs(loaded, X), _outputs(estimator, X), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert by_warm_fit.model_ is not loaded_network
    by_warm_fit.fit(X, y)  # the rebuilt network is compiled: trains on as it is
    assert by_warm_fit.n_iter_ == 3 and int(by_warm_fit.model_.optimizer.iterations) == 2 * steps


def _assert_unchanged(loaded, network, weights):
    assert loaded.model_ is network and not network.compiled
    assert loaded.n_iter_ == 1 and loaded._compiled_by_builder
    for got, want in zip(network.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(got, want)


def _assert_continuing_refused(loaded, X, y, match):
    """warm_start fit and partial_fit are refused before training, leaving the loaded
    network, its weights and the estimator as they were."""
    network, weights = loaded.model_, loaded.model_.get_weights()
    loaded.set_params(warm_start=True)
    for method in (loaded.fit, loaded.partial_fit):
        with pytest.raises(ValueError, match=match):
            method(X, y)
        _assert_unchanged(loaded, network, weights)


def test_loaded_network_rebuilt_as_another_architecture_is_refused(tmp_path, monkeypatch):
    _, X, y, path = _saved_builder_compiled("regressor-loss", tmp_path)
    loaded, _ = _load_uncompiled(path, trusted=BUILDER_TRUSTED)
    monkeypatch.setitem(BUILT_UNITS, "hidden", 5)
    _assert_continuing_refused(loaded, X, y, r"builder now returns another architecture: "
                                             r"weight 0 \(.*kernel\) has shape \(4, 4\) in the "
                                             r"loaded network but \(4, 5\).*warm_start=False")
    monkeypatch.setitem(BUILT_UNITS, "hidden", 4)
    loaded.partial_fit(X, y)
    assert loaded.n_iter_ == 2 and loaded.model_.compiled


def test_loaded_network_whose_builder_was_not_trusted_is_not_rebuilt(tmp_path):
    estimator, X, y, path = _saved_builder_compiled("regressor-loss", tmp_path)
    loaded, record = _load_uncompiled(path)
    assert any("not trusted" in str(warning.message) for warning in record)
    assert loaded.model is None
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    _assert_continuing_refused(loaded, X, y, r"parameter 'model' was not restored when loading "
                                             r".*trusted=\['tests\.test_persistence\.build_"
                                             r"compiled_with_loss'\].*warm_start=False")
    loaded.set_params(model=build_compiled_with_loss).partial_fit(X, y)
    assert loaded.n_iter_ == 2 and loaded.model_.compiled


def test_loaded_network_whose_builder_was_not_saved_is_not_rebuilt(tmp_path):
    X, y = _tabular("regressor")
    estimator = KerasRegressor(lambda meta: build_compiled_with_loss(meta), epochs=1,
                               random_state=0).fit(X, y)
    path = skkeras.save(estimator.set_params(model=None), tmp_path / "unsaved.skkeras")
    loaded, _ = _load_uncompiled(path)
    network, weights = loaded.model_, loaded.model_.get_weights()
    for model in (None, build_compiled_with_loss):
        loaded.set_params(model=model)
        with pytest.raises(ValueError, match=r"parameter 'model' was not saved \(a function "
                                             r"that cannot be imported.*module level.*"
                                             r"warm_start=False"):
            loaded.partial_fit(X, y)
        _assert_unchanged(loaded, network, weights)
    loaded.set_params(warm_start=False).fit(X, y)  # a new network, compiled by the builder
    assert loaded.n_iter_ == 1 and loaded.model_.compiled


def test_loaded_network_whose_builder_no_longer_compiles_it_is_refused(tmp_path, monkeypatch):
    _, X, y, path = _saved_builder_compiled("regressor-loss", tmp_path)
    loaded, _ = _load_uncompiled(path, trusted=BUILDER_TRUSTED)
    network, weights = loaded.model_, loaded.model_.get_weights()
    monkeypatch.setitem(BUILT_UNITS, "compiled", False)
    with pytest.raises(ValueError, match=r"builder now returns a model that is not compiled.*"
                                         r"warm_start=False"):
        loaded.partial_fit(X, y)
    _assert_unchanged(loaded, network, weights)


@pytest.mark.parametrize(
    "make",
    [lambda: KerasMLPRegressor((4,)), lambda: KerasRegressor(build_regressor)],
    ids=["mlp", "wrapper"],
)
def test_initialized_estimator_loads_without_optimizer_warning(make, tmp_path):
    """An initialized network's optimizer has no variables yet; Keras builds them on loading
    and warned that it skipped the saved ones."""
    X, y = _tabular("regressor")
    estimator = make().set_params(epochs=1, random_state=0, warm_start=True).initialize(X, y)
    path = skkeras.save(estimator, tmp_path / "init.skkeras")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = skkeras.load(path, trusted=[build_regressor])
    assert [str(warning.message) for warning in caught] == []
    np.testing.assert_array_equal(loaded.predict(X), estimator.predict(X))
    loaded.fit(X, y)  # trains the loaded network as the saved one would
    estimator.fit(X, y)
    assert loaded.n_iter_ == 1 and int(loaded.model_.optimizer.iterations) > 0
    np.testing.assert_allclose(loaded.history_["loss"], estimator.history_["loss"], rtol=1e-5)
    np.testing.assert_allclose(loaded.predict(X), estimator.predict(X), rtol=1e-5, atol=1e-6)
