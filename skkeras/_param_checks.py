"""Checks of parameters and arguments that the estimators share: prediction batch sizes,
routed learning rates, callbacks and a builder's compiled loss. Each raises before training
(or predicting) with the parameter's name, what it got and what is allowed."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

from ._keras import import_keras

#: Rows predicted per forward pass unless ``predict__batch_size`` says otherwise.
_PREDICT_CHUNK = 65536


def _check_predict_batch_size(value, name: str = "predict__batch_size") -> int:
    """The rows predicted per call for the routed ``predict__batch_size`` (a positive int, -1
    for all rows at once, or None for the default); refuse anything else."""
    if value is None:
        return _PREDICT_CHUNK
    if isinstance(value, Integral) and not isinstance(value, bool) and (value >= 1 or value == -1):
        return int(value)
    raise ValueError(
        f"The {'routed parameter' if '__' in name else 'argument'} {name!r} must be a positive "
        f"int, -1 (all rows in one batch) or None; got {value!r}."
    )


def rows_per_prediction_call(estimator, batch_size) -> int:
    """The rows each forward pass of a prediction takes: the ``batch_size`` keyword given to
    ``predict`` if any, else the routed ``predict__batch_size``, checked under its own name
    (-1, all rows, is left for the caller to replace)."""
    if batch_size is not None:
        return _check_predict_batch_size(batch_size, "batch_size")
    # routed parameters are plain attributes; reading them directly avoids ``get_params``'s
    # signature inspection, which costs more than predicting one row
    return _check_predict_batch_size(getattr(estimator, "predict__batch_size", None))


def _predict_batch_size(estimator, kwargs: dict, method: str):
    """The ``batch_size`` keyword given to ``predict``/``predict_proba`` (None if absent);
    refuse any other keyword (scikeras passes them to ``Model.predict``, which skkeras does
    not call)."""
    others = sorted(set(kwargs) - {"batch_size"})
    if others:
        raise TypeError(
            f"{type(estimator).__name__}.{method}() got unexpected keyword arguments {others}; "
            "only batch_size is accepted (or the routed predict__batch_size parameter)."
        )
    return kwargs.get("batch_size")


def _rows_per_batch(batch_size, n_rows: int):
    """``batch_size`` with scikeras's -1 ("all rows in one batch") replaced by ``n_rows``."""
    return max(1, n_rows) if batch_size == -1 else batch_size


def _check_builder_loss(estimator, model) -> None:
    """Refuse, before training, a ``loss`` parameter that names another loss than the one the
    builder compiled ``model`` with (scikeras's check: the parameter would silently not apply,
    and the data may have been encoded for it)."""
    given = getattr(estimator, "loss", None)
    if given is None:
        return
    given_name, compiled_name = _canonical_loss(given), _canonical_loss(model.loss)
    if given_name is None or compiled_name is None or given_name == compiled_name:
        return
    raise ValueError(
        f"loss={given!r} but the model builder of {type(estimator).__name__} compiled the model "
        f"with loss={model.loss!r}; data may not match the loss function. Pass the same loss "
        "to both (a builder can compile with compile_kwargs['loss']), or set loss=None to use "
        "the builder's."
    )


def _canonical_loss(loss) -> str | None:
    """A name shared by a loss's spellings ("mse", "mean_squared_error", MeanSquaredError, its
    class or function); None for a loss that cannot be compared (a list, a dict, an unknown
    name or a class that cannot be instantiated without arguments)."""
    losses = import_keras().losses
    try:
        if isinstance(loss, type):
            loss = loss()
        if isinstance(loss, str):
            loss = losses.get(loss)
    except (TypeError, ValueError):
        return None
    if isinstance(loss, losses.Loss):
        name = type(loss).__name__
    elif callable(loss):
        name = getattr(loss, "__name__", "")
    else:
        return None
    name = name.replace("_", "").lower()
    return name or None


def _callback_items(callbacks):
    """``(key, callback)`` pairs of a ``callbacks`` value: a dict's items, a list's or tuple's
    positions, or a single callback at position 0."""
    if isinstance(callbacks, dict):
        return list(callbacks.items())
    if isinstance(callbacks, list | tuple):
        return list(enumerate(callbacks))
    return [(0, callbacks)]


def _check_callback_entries(callbacks, name: str, owner: str) -> None:
    """Refuse a ``callbacks`` (or ``fit__callbacks``) value that is not a Keras callback, a
    callback class, or a list, tuple or dict of them."""
    callback_type = import_keras().callbacks.Callback

    def is_callback(value) -> bool:
        is_class = isinstance(value, type) and issubclass(value, callback_type)
        return is_class or isinstance(value, callback_type)

    if not isinstance(callbacks, list | tuple | dict):
        if is_callback(callbacks):
            return
        raise InvalidParameterError(
            f"The '{name}' parameter of {owner} must be a keras.callbacks.Callback instance or "
            f"subclass, or a list, tuple or dict of them; got {callbacks!r} "
            f"({type(callbacks).__name__})."
        )
    for key, callback in _callback_items(callbacks):
        if not is_callback(callback):
            raise InvalidParameterError(
                f"The '{name}' parameter of {owner} must hold keras.callbacks.Callback "
                f"instances or subclasses; {name}[{key!r}] is {callback!r} "
                f"({type(callback).__name__})."
            )


def _check_routed_learning_rate(value) -> None:
    """Refuse a routed ``optimizer__learning_rate`` that is a negative, zero or non-finite
    number (schedules and other objects are left to the optimizer)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return
    if not (np.isfinite(value) and value > 0):
        raise ValueError(
            f"The routed parameter 'optimizer__learning_rate' must be a positive finite number "
            f"(or a learning-rate schedule); got {value!r}."
        )
