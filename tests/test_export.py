"""skkeras.export: SavedModel serving signatures reproduce predict_proba / predict."""

from __future__ import annotations

import importlib.util
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, OneHotEncoder, StandardScaler

import skkeras
from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor, KerasRegressor
from skkeras._export import serving_outputs


def build_softmax_categorical(meta):
    model = keras.Sequential(
        [
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(5, activation="tanh"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def build_sigmoid(meta):
    return keras.Sequential(
        [keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1, activation="sigmoid")]
    )


def build_linear(meta):
    return keras.Sequential([keras.Input((meta["n_features_in_"],)), keras.layers.Dense(1)])


def build_sequence_regressor(meta):
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Conv1D(2, 2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )


@pytest.fixture(scope="module")
def data():
    X, y = load_iris(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    labels = np.array(["a", "b", "c"], dtype=object)[y]
    return X, labels, Xr[:100], yr[:100] / 100


def _serve(folder):
    loaded = tf.saved_model.load(str(folder))
    return loaded, loaded.signatures["serving_default"]


CASES = {
    "mlp_multiclass": lambda X, y, Xr, yr: (
        KerasMLPClassifier((6,), epochs=2, random_state=0).fit(X, y), X, "predict_proba", 3),
    "mlp_binary_one_sigmoid_unit": lambda X, y, Xr, yr: (
        KerasMLPClassifier((4,), epochs=2, random_state=0).fit(X, y == "a"), X,
        "predict_proba", 2),
    "wrapper_one_hot": lambda X, y, Xr, yr: (
        KerasClassifier(build_softmax_categorical, epochs=2, random_state=0).fit(X, y), X,
        "predict_proba", 3),
    "wrapper_sigmoid": lambda X, y, Xr, yr: (
        KerasClassifier(build_sigmoid, epochs=2, random_state=0).fit(X, y == "b"), X,
        "predict_proba", 2),
    "mlp_multilabel": lambda X, y, Xr, yr: (
        KerasMLPClassifier((4,), epochs=2, random_state=0).fit(
            X, np.column_stack([y == "a", y == "b", X[:, 0] > 5]).astype(int)), X,
        "predict_proba", 3),
    "wrapper_regressor_3d_input": lambda X, y, Xr, yr: (
        KerasRegressor(build_sequence_regressor, epochs=2, random_state=0).fit(
            Xr[:, :8].reshape(-1, 4, 2), yr), Xr[:, :8].reshape(-1, 4, 2), "predict", None),
    "mlp_regressor_two_outputs": lambda X, y, Xr, yr: (
        KerasMLPRegressor((4,), epochs=2, random_state=0).fit(Xr, np.column_stack([yr, yr])),
        Xr, "predict", 2),
    "pipeline_scalers_regressor": lambda X, y, Xr, yr: (
        make_pipeline(
            StandardScaler(with_mean=False), StandardScaler(), MinMaxScaler(clip=True),
            MaxAbsScaler(), "passthrough",
            KerasRegressor(build_linear, epochs=2, random_state=0),
        ).fit(Xr * 10 + 3, yr),  # not centred: the with_mean=False scaler must not centre
        Xr * 10 + 3, "predict", None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_saved_model_matches_estimator(data, tmp_path, name):
    estimator, X, method, n_columns = CASES[name](*data)
    folder = skkeras.export(estimator, tmp_path / "served")
    assert folder == tmp_path / "served"
    assert (folder / "saved_model.pb").exists()
    loaded, signature = _serve(folder)
    expected = getattr(estimator, method)(X)
    outputs = signature(X=tf.constant(X, dtype=tf.float32))
    assert list(outputs) == [method]
    got = outputs[method].numpy()
    assert got.shape == expected.shape
    if n_columns is not None:
        assert got.shape == (len(X), n_columns)
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)
    np.testing.assert_allclose(loaded.serve(X.astype("float32"))[method].numpy(), got)
    if method == "predict_proba" and name != "mlp_multilabel":
        np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    assert os.listdir(tmp_path) == ["served"]


class PlainAveragingRegressor(RegressorMixin, BaseEstimator):
    """A minimal ensemble of networks, without a serving hook."""

    def __init__(self, seeds=(0, 1)):
        self.seeds = seeds

    def fit(self, X, y):
        self.estimators_ = [
            KerasMLPRegressor((3,), epochs=1, random_state=seed).fit(X, y) for seed in self.seeds
        ]
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return np.mean([member.predict(X) for member in self.estimators_], axis=0)


class AveragingRegressor(PlainAveragingRegressor):
    """The same ensemble, exported through the ``_serving_outputs`` hook."""

    def _serving_outputs(self, x):
        members = [serving_outputs(member, x)["predict"] for member in self.estimators_]
        return {"predict": keras.ops.mean(keras.ops.stack(members), axis=0)}


def test_serving_outputs_hook_for_ensembles(data, tmp_path):
    _, _, Xr, yr = data
    ensemble = AveragingRegressor().fit(Xr, yr)
    _, signature = _serve(skkeras.export(ensemble, tmp_path / "ensemble"))
    got = signature(X=tf.constant(Xr, tf.float32))["predict"].numpy()
    np.testing.assert_allclose(got, ensemble.predict(Xr), atol=1e-5, rtol=0)
    assert np.abs(got - ensemble.estimators_[0].predict(Xr)).max() > 1e-4
    plain = PlainAveragingRegressor()
    vars(plain).update(vars(ensemble))
    with pytest.raises(TypeError, match=r"PlainAveragingRegressor has none.*_serving_outputs"):
        skkeras.export(plain, tmp_path / "again")
    assert os.listdir(tmp_path) == ["ensemble"]


def test_export_replaces_an_existing_folder(data, tmp_path):
    X, y, _, _ = data
    first = KerasMLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    second = KerasMLPClassifier((3,), epochs=1, random_state=5).fit(X, y)
    skkeras.export(first, tmp_path / "served")
    skkeras.export(second, tmp_path / "served")
    _, signature = _serve(tmp_path / "served")
    got = signature(X=tf.constant(X, tf.float32))["predict_proba"].numpy()
    np.testing.assert_allclose(got, second.predict_proba(X), atol=1e-5, rtol=0)
    assert np.abs(got - first.predict_proba(X)).max() > 1e-3
    assert os.listdir(tmp_path) == ["served"]


def test_export_refusals(data, tmp_path):
    X, y, _, _ = data
    fitted = KerasMLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"'format' parameter of export.*'tflite'"):
        skkeras.export(fitted, tmp_path / "a", format="tflite")
    with pytest.raises(NotFittedError):
        skkeras.export(KerasMLPClassifier(), tmp_path / "b")
    pipeline = make_pipeline(OneHotEncoder(handle_unknown="ignore"), KerasMLPClassifier(
        (2,), epochs=1, random_state=0)).fit(X.round(), y)
    with pytest.raises(TypeError, match=r"step 'onehotencoder' is OneHotEncoder"):
        skkeras.export(pipeline, tmp_path / "c")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(FileExistsError, match="not a folder"):
        skkeras.export(fitted, tmp_path / "file")
    with pytest.raises(ValueError, match="export: the path is empty"):
        skkeras.export(fitted, "")
    assert sorted(os.listdir(tmp_path)) == ["file"]


@pytest.mark.parametrize("path", [None, 3, b"exported"], ids=["none", "int", "bytes"])
def test_export_path_must_be_str_or_pathlike(tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TypeError, match=r"The 'path' parameter of export must be a str or an "
                       r"os.PathLike \(such as 'exported/1' or a pathlib.Path\); got "
                       + re.escape(f"{path!r} ({type(path).__name__})")):
        skkeras.export(KerasMLPClassifier(), path)
    assert os.listdir(tmp_path) == []


def test_onnx_without_tf2onnx_says_what_to_install(data, tmp_path, monkeypatch):
    X, y, _, _ = data
    fitted = KerasMLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == "tf2onnx" else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match=r"pip install tf2onnx onnx"):
        skkeras.export(fitted, tmp_path / "model.onnx", format="onnx")
    assert os.listdir(tmp_path) == []
    monkeypatch.undo()


@pytest.mark.filterwarnings("ignore::FutureWarning")  # raised inside Keras's tf2onnx patch
def test_onnx_matches_estimator(data, tmp_path):
    pytest.importorskip("tf2onnx")
    runtime = pytest.importorskip("onnxruntime")
    X, y, _, _ = data
    fitted = KerasMLPClassifier((4,), epochs=1, random_state=0).fit(X, y == "a")
    previous = os.umask(0o027)
    try:
        path = skkeras.export(fitted, tmp_path / "model.onnx", format="onnx")
    finally:
        os.umask(previous)
    assert os.stat(path).st_mode & 0o777 == 0o640  # like open(), not mkstemp's 0o600
    session = runtime.InferenceSession(str(path))
    (got,) = session.run(None, {session.get_inputs()[0].name: X.astype("float32")})
    np.testing.assert_allclose(got, fitted.predict_proba(X), atol=1e-5, rtol=0)


class _FakeServingModel:
    """Stands in for the Keras serving model: ``export`` writes a marked SavedModel folder."""

    def __init__(self, marker):
        self.marker = marker

    def export(self, target, format, verbose):
        os.makedirs(target)
        with open(os.path.join(target, "saved_model.pb"), "w") as file:
            file.write(self.marker)


def _marker(folder):
    with open(os.path.join(folder, "saved_model.pb")) as file:
        return file.read()


def test_export_refuses_to_replace_a_folder_that_is_not_a_saved_model(data, tmp_path):
    X, y, _, _ = data
    fitted = KerasMLPClassifier((3,), epochs=1, random_state=0).fit(X, y)
    base = tmp_path / "iris"
    skkeras.export(fitted, base / "1")
    (base / "NOTES.txt").write_text("my notes")
    with pytest.raises(FileExistsError, match=r"iris is a folder that is neither empty nor a "
                                              r"SavedModel \(it has no saved_model.pb\)"):
        skkeras.export(fitted, base)
    assert sorted(os.listdir(base)) == ["1", "NOTES.txt"]
    assert (base / "1" / "saved_model.pb").is_file()
    assert os.listdir(tmp_path) == ["iris"]
    (tmp_path / "empty").mkdir()
    assert skkeras.export(fitted, tmp_path / "empty") == tmp_path / "empty"
    assert (tmp_path / "empty" / "saved_model.pb").is_file()


def test_export_swaps_atomically_and_leaves_nothing_behind(tmp_path):
    from skkeras._export import _export_saved_model

    path = tmp_path / "served"
    _export_saved_model(_FakeServingModel("old"), path)
    _export_saved_model(_FakeServingModel("new"), path)
    assert _marker(path) == "new"
    assert os.listdir(tmp_path) == ["served"]


def test_export_killed_between_renames_keeps_the_previous_export_visible(tmp_path, monkeypatch):
    import skkeras._export as export_module

    path = tmp_path / "served"
    export_module._export_saved_model(_FakeServingModel("old"), path)
    monkeypatch.setattr(export_module, "_exchange", lambda first, second: False)
    real_replace = os.replace

    class Killed(BaseException):
        pass

    def replace(source, destination):
        real_replace(source, destination)
        if str(destination).endswith("served.previous"):
            raise Killed  # as if the process died right after moving the old export aside

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(Killed):
        export_module._export_saved_model(_FakeServingModel("new"), path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert not path.exists()
    assert _marker(tmp_path / "served.previous") == "old"
    # The next export puts its model in place and removes the obsolete backup.
    export_module._export_saved_model(_FakeServingModel("newer"), path)
    assert _marker(path) == "newer"
    assert os.listdir(tmp_path) == ["served"]
    # Without the crash the fallback swap also leaves only the new export.
    export_module._export_saved_model(_FakeServingModel("newest"), path)
    assert _marker(path) == "newest"
    assert os.listdir(tmp_path) == ["served"]


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(28, "No space left")],
                         ids=["interrupt", "error"])
def test_export_interrupted_moving_the_new_export_in_puts_the_previous_one_back(
    tmp_path, monkeypatch, error
):
    """Without an atomic exchange, the previous export is moved aside first: Ctrl-C (or an
    error) while the new one is moved in puts it back, and leaves nothing else behind."""
    import skkeras._export as export_module

    path = tmp_path / "served"
    export_module._export_saved_model(_FakeServingModel("old"), path)
    monkeypatch.setattr(export_module, "_exchange", lambda first, second: False)
    real_replace = os.replace

    def replace(source, destination):
        if str(destination) == str(path) and str(source).endswith("saved_model"):
            raise error
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(type(error)):
        export_module._export_saved_model(_FakeServingModel("new"), path)
    monkeypatch.setattr(os, "replace", real_replace)
    assert _marker(path) == "old"
    assert os.listdir(tmp_path) == ["served"]


@pytest.mark.parametrize("atomic", [True, False], ids=["exchange", "renames"])
def test_export_interrupted_while_writing_keeps_the_previous_export(tmp_path, monkeypatch,
                                                                    atomic):
    """Ctrl-C while Keras writes the new SavedModel: the previous export is untouched and the
    half-written one is removed."""
    import skkeras._export as export_module

    class Interrupted(_FakeServingModel):
        def export(self, target, format, verbose):
            super().export(target, format, verbose)
            raise KeyboardInterrupt

    path = tmp_path / "served"
    export_module._export_saved_model(_FakeServingModel("old"), path)
    if not atomic:
        monkeypatch.setattr(export_module, "_exchange", lambda first, second: False)
    with pytest.raises(KeyboardInterrupt):
        export_module._export_saved_model(Interrupted("new"), path)
    assert _marker(path) == "old"
    assert os.listdir(tmp_path) == ["served"]


def test_export_refuses_a_foreign_folder_at_the_backup_path(tmp_path):
    from skkeras._export import _export_saved_model

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to("real")
    with pytest.raises(FileExistsError, match=r"link is a symbolic link"):
        _export_saved_model(_FakeServingModel("new"), tmp_path / "link")
    (tmp_path / "link").unlink()
    (tmp_path / "real").rmdir()
    (tmp_path / "served.previous").mkdir()
    (tmp_path / "served.previous" / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match=r"served.previous is a folder that is neither"):
        _export_saved_model(_FakeServingModel("new"), tmp_path / "served")
    assert sorted(os.listdir(tmp_path)) == ["served.previous"]


@pytest.mark.parametrize("combine", ["mean", "best", "refit"])
def test_kfold_ensembles_export_like_they_predict(data, tmp_path, combine):
    from skkeras.ensemble import KFoldEnsembleClassifier, KFoldEnsembleRegressor

    X, y, Xr, yr = data
    # The first fold leaves class "c" out of its training and test rows: that member serves
    # two probability columns, placed under classes_ like predict_proba does.
    rows = np.arange(len(y))
    without_c = rows[y != "c"]
    splits = [(without_c[::2], without_c[1::2]), (rows[::2], rows[1::2])]
    member = make_pipeline(StandardScaler(), KerasMLPClassifier((4,), epochs=1, random_state=0))
    classifier = KFoldEnsembleClassifier(member, cv=splits, combine=combine,
                                         random_state=0).fit(X, y)
    assert [len(m.classes_) for m in classifier.estimators_] == [2, 3]
    _, signature = _serve(skkeras.export(classifier, tmp_path / "classifier"))
    got = signature(X=tf.constant(X, tf.float32))["predict_proba"].numpy()
    np.testing.assert_allclose(got, classifier.predict_proba(X), atol=1e-5, rtol=0)
    regressor = KFoldEnsembleRegressor(KerasMLPRegressor((4,), epochs=1, random_state=0), cv=2,
                                       combine=combine, random_state=0).fit(Xr, yr)
    _, signature = _serve(skkeras.export(regressor, tmp_path / "regressor"))
    got = signature(X=tf.constant(Xr, tf.float32))["predict"].numpy()
    np.testing.assert_allclose(got, regressor.predict(Xr), atol=1e-5, rtol=0)
