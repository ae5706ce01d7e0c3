"""Exporting a fitted estimator as a serving artifact (TensorFlow SavedModel, ONNX).

The exported function takes the raw float feature matrix and returns what ``predict_proba``
(classifiers) or ``predict`` (regressors) returns. It is built as a Keras functional model around
the fitted network: affine preprocessing steps of a Pipeline first, then the network, then the
same output post-processing as the estimator. Keras's own exporter writes the artifact.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._keras import import_keras
from ._persistence import _fsync_folder, atomic_write, destination_path
from ._targets import BINARY, MULTILABEL

FORMATS = ("tf_saved_model", "onnx")


def export(estimator: Any, path: str | os.PathLike, format: str = "tf_saved_model") -> Path:
    """Export a fitted estimator for serving without scikit-learn or skkeras.

    The artifact's default signature (``serving_default``, also callable as ``serve``) takes a
    float32 matrix ``X`` of shape (n_samples, n_features) (or the sample shape the estimator was
    fitted on) and returns one output: ``predict_proba`` of shape (n_samples, n_classes) for a
    classifier, columns in the order of ``classes_`` (a binary network with one sigmoid unit
    gives two columns), or ``predict`` for a regressor.

    Parameters
    ----------
    estimator : estimator
        A fitted skkeras estimator, or a fitted ``Pipeline`` whose steps before the skkeras
        estimator are ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler`` or
        ``"passthrough"``.
    path : str or path-like
        A folder for ``"tf_saved_model"``, a file for ``"onnx"``. Missing parent folders are
        created (TensorFlow Serving wants ``<base>/<version>``). An existing folder is replaced
        only if it is empty or a SavedModel (holds ``saved_model.pb``); see Notes.
    format : {"tf_saved_model", "onnx"}, default="tf_saved_model"
        ``"onnx"`` needs the ``tf2onnx`` and ``onnx`` packages (TensorFlow backend).

    Returns
    -------
    path : pathlib.Path
        Where the artifact was written.

    Raises
    ------
    FileExistsError
        If ``path`` (or ``<path>.previous``, see Notes) exists and is a file, or a folder that
        is neither empty nor a SavedModel; nothing is written or deleted then.

    Notes
    -----
    The SavedModel is written to a hidden temporary folder next to ``path``, then moved into
    place. On Linux an existing export is exchanged with the new one atomically. Elsewhere the
    old export is first renamed to ``<path>.previous`` and deleted once the new one is in place:
    if the process is killed between these two renames, ``path`` is missing and the previous
    export is intact in ``<path>.previous`` (rename it back, or export again, which removes it).
    The ONNX file is written atomically like :func:`skkeras.save`'s files.

    Examples
    --------
    >>> import os, tempfile
    >>> import tensorflow as tf
    >>> from sklearn.datasets import load_iris
    >>> import skkeras
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = skkeras.KerasMLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    >>> folder = skkeras.export(clf, os.path.join(tempfile.mkdtemp(), "iris"))
    >>> serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    >>> serve(X=tf.constant(X[:2], "float32"))["predict_proba"].shape
    TensorShape([2, 3])
    """
    if format not in FORMATS:
        raise ValueError(
            f"The 'format' parameter of export must be one of {FORMATS}. Got {format!r} instead."
        )
    path = destination_path(path, "export")
    serving_model = serving_model_for(estimator)
    path.parent.mkdir(parents=True, exist_ok=True)
    if format == "onnx":
        _export_onnx(serving_model, path)
    else:
        _export_saved_model(serving_model, path)
    return path


def serving_model_for(estimator):
    """A Keras functional model computing ``predict_proba``/``predict`` from raw features."""
    keras = import_keras()
    steps, final = _split_pipeline(estimator)
    check_is_fitted(final)
    inputs = keras.Input(shape=_sample_shape(final), dtype="float32", name="X")
    x = inputs
    for name, step in steps:
        x = _affine_step(keras, name, step, x)
    return keras.Model(inputs, serving_outputs(final, x), name=f"{type(final).__name__}_serving")


def serving_outputs(estimator, x) -> dict:
    """``{"predict_proba": tensor}`` or ``{"predict": tensor}`` for a symbolic input ``x``.

    An estimator that is not one network post-processed like a skkeras classifier or regressor
    (an ensemble, say) defines ``_serving_outputs(self, x)`` returning such a dict; it can call
    this function on each of its members and combine the results with ``keras.ops``. A
    ``Pipeline`` (a member, say) applies its scaler steps to ``x`` first.
    """
    steps, estimator = _split_pipeline(estimator)
    for name, step in steps:
        x = _affine_step(import_keras(), name, step, x)
    hook = getattr(estimator, "_serving_outputs", None)
    if hook is not None:
        return hook(x)
    return _default_outputs(import_keras(), estimator, x)


def _sample_shape(estimator) -> tuple:
    """Shape of one sample: from ``X_shape_``, else the first member's, else ``n_features_in_``."""
    if hasattr(estimator, "X_shape_"):
        return tuple(estimator.X_shape_[1:])
    members = getattr(estimator, "estimators_", None)
    if members and hasattr(members[0], "X_shape_"):
        return tuple(members[0].X_shape_[1:])
    if hasattr(estimator, "n_features_in_"):
        return (int(estimator.n_features_in_),)
    raise TypeError(
        f"export cannot tell the input shape of {type(estimator).__name__}: it has neither "
        "X_shape_ nor n_features_in_."
    )


def _split_pipeline(estimator):
    from sklearn.pipeline import Pipeline

    if not isinstance(estimator, Pipeline):
        return [], estimator
    steps = [(name, step) for name, step in estimator.steps[:-1]]
    return steps, estimator.steps[-1][1]


def _affine_step(keras, name: str, step, x):
    """Apply a fitted linear scaler as ``x * scale + offset`` (then clip for MinMaxScaler)."""
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    if step is None or (isinstance(step, str) and step == "passthrough"):
        return x
    ops = keras.ops
    if type(step) is StandardScaler:
        mean = step.mean_ if step.with_mean else 0.0
        scale = step.scale_ if step.with_std else 1.0
        return ops.divide(ops.subtract(x, _const(mean)), _const(scale))
    if type(step) is MaxAbsScaler:
        return ops.divide(x, _const(step.scale_))
    if type(step) is MinMaxScaler:
        x = ops.add(ops.multiply(x, _const(step.scale_)), _const(step.min_))
        if step.clip:
            x = ops.clip(x, *step.feature_range)
        return x
    raise TypeError(
        f"export supports Pipeline steps StandardScaler, MinMaxScaler, MaxAbsScaler and "
        f"'passthrough' before the skkeras estimator; step {name!r} is "
        f"{type(step).__name__}. Apply that step before calling the served model, or fold it "
        "into the network."
    )


def _const(values) -> np.ndarray:
    return np.asarray(values, dtype="float32")


def _default_outputs(keras, estimator, x) -> dict:
    from sklearn.base import is_classifier

    ops = keras.ops
    model = getattr(estimator, "model_", None)
    if model is None:
        raise TypeError(
            f"export needs a skkeras estimator with a fitted model_; {type(estimator).__name__} "
            "has none. An estimator combining several networks must define "
            "_serving_outputs(x) (see skkeras._export.serving_outputs)."
        )
    outputs = model(x, training=False)
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    if isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    outputs = ops.cast(outputs, "float32")
    if not is_classifier(estimator):
        target = estimator.target_
        shape = (-1,) if target.one_dimensional else (-1, target.n_outputs)
        return {"predict": ops.reshape(outputs, shape)}
    return {"predict_proba": _probabilities(ops, estimator.target_, outputs)}


def _probabilities(ops, target, outputs):
    """The same transform as ``ClassifierTarget.probabilities``, as tensor operations."""
    n_units = int(np.prod(outputs.shape[1:])) if None not in outputs.shape[1:] else None
    if target.encoding == MULTILABEL:
        return ops.reshape(outputs, (-1, target.n_classes))
    if target.encoding == BINARY or n_units == 1:
        positive = ops.clip(ops.reshape(outputs, (-1,)), 0.0, 1.0)
        return ops.stack([1.0 - positive, positive], axis=1)
    outputs = ops.maximum(ops.reshape(outputs, (-1, target.n_classes)), 0.0)
    totals = ops.sum(outputs, axis=1, keepdims=True)
    totals = ops.where(ops.equal(totals, 0.0), ops.ones_like(totals), totals)
    return ops.divide(outputs, totals)


def _export_saved_model(serving_model, path: Path) -> None:
    """Write the SavedModel to a hidden sibling folder, then swap it in place of ``path``."""
    _check_replaceable(path)
    backup = _backup_path(path)
    _check_replaceable(backup)
    folder = path.parent if str(path.parent) else Path(".")
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder))
    try:
        target = staging / "saved_model"
        serving_model.export(str(target), format="tf_saved_model", verbose=False)
        _replace_folder(target, path, backup)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # A backup left by an export that was killed mid-swap is obsolete once ``path`` is new.
    if backup.exists():
        shutil.rmtree(backup, ignore_errors=True)
    _fsync_folder(folder)


def _backup_path(path: Path) -> Path:
    """Where the previous export waits while the new one is moved in: ``<path>.previous``."""
    return path.with_name(f"{path.name}.previous")


def _check_replaceable(path: Path) -> None:
    """Refuse to replace anything at ``path`` but an empty folder or a SavedModel folder."""
    if not os.path.lexists(path):
        return
    if path.is_symlink():
        raise FileExistsError(
            f"{path} is a symbolic link; export replaces only a real SavedModel folder. Remove "
            "the link or export to its target."
        )
    if not path.is_dir():
        raise FileExistsError(
            f"{path} exists and is not a folder; a SavedModel is a folder. Remove it or export "
            "to another path."
        )
    if any(path.iterdir()) and not (path / "saved_model.pb").is_file():
        raise FileExistsError(
            f"{path} is a folder that is neither empty nor a SavedModel (it has no "
            "saved_model.pb); export replaces only those, so that nothing else is deleted. "
            "Export to a new or empty folder, e.g. <base>/<version> for TensorFlow Serving."
        )


def _replace_folder(source: Path, path: Path, backup: Path) -> None:
    """Move ``source`` to ``path``, replacing the SavedModel there if any.

    On Linux the two folders are exchanged atomically (``renameat2`` with
    ``RENAME_EXCHANGE``). Elsewhere, or where the file system cannot exchange, the previous
    export is first renamed to ``backup`` (``<path>.previous``): a crash between the two renames
    leaves it there, and the next export removes it. If the second rename fails or is
    interrupted (``KeyboardInterrupt``), the previous export is put back at ``path``.
    """
    if not path.exists():
        os.replace(source, path)
        return
    if _exchange(source, path):
        return
    os.replace(path, backup)
    try:
        os.replace(source, path)
    except BaseException:  # an error, or Ctrl-C: the previous export goes back in place
        os.replace(backup, path)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Atomically swap two paths with Linux's ``renameat2``; False where that is unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                       rename_exchange)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _export_onnx(serving_model, path: Path) -> None:
    keras = import_keras()
    needed = ("tf2onnx", "onnx") if keras.backend.backend() == "tensorflow" else ("onnx",)
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"export(format='onnx') needs the {' and '.join(missing)} package(s), which are not "
            f"installed; install them with `pip install {' '.join(needed)}`, or export "
            "format='tf_saved_model'."
        )
    # Keras's ONNX exporter wants a model that has been called once.
    serving_model(np.zeros((1, *serving_model.input_shape[1:]), dtype="float32"))
    with tempfile.TemporaryDirectory(prefix="skkeras-onnx-") as workdir:
        target = os.path.join(workdir, "model.onnx")
        serving_model.export(target, format="onnx", verbose=False)
        with open(target, "rb") as file:
            data = file.read()
    atomic_write(path, lambda file: file.write(data))

