"""Checks of parameters and arguments that the estimators share: prediction batch sizes,
routed learning rates, callbacks and a builder's compiled loss. Each raises before training
(or predicting) with the parameter's name, what it got and what is allowed."""

from __future__ import annotations

import inspect
from difflib import get_close_matches
from functools import cache
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


def _check_validation_monitors(callbacks, routed_kwargs: dict, name: str, owner: str) -> None:
    """Refuse, in a fit without validation data, a callback that acts on a validation quantity
    (its ``monitor`` starts with ``val_``): Keras would warn at every epoch that the quantity
    is not available, and the callback would never act. A callback class is judged by the
    ``monitor`` it would be instantiated with (``routed_kwargs``: its routed arguments)."""
    if callbacks is None:
        return
    for key, callback in _callback_items(callbacks):
        head = f"{key}__"
        kwargs = routed_kwargs if not isinstance(callbacks, dict) else {
            arg[len(head):]: value for arg, value in routed_kwargs.items() if arg.startswith(head)
        }
        monitor = _callback_setting(callback, "monitor", kwargs)
        if not (isinstance(monitor, str) and monitor.startswith("val_")):
            continue
        checkpoint = import_keras().callbacks.ModelCheckpoint
        is_checkpoint = isinstance(callback, checkpoint) or (
            isinstance(callback, type) and issubclass(callback, checkpoint)
        )
        if is_checkpoint and not _callback_setting(callback, "save_best_only", kwargs):
            continue  # it saves at every epoch, whatever its monitor
        kind = callback.__name__ if isinstance(callback, type) else type(callback).__name__
        raise ValueError(
            f"{owner} got {kind}(monitor={monitor!r}) in {name}[{key!r}], but this fit has no "
            f"validation data: Keras would warn at every epoch that {monitor!r} is not "
            "available, and the callback would never act. Give the fit validation data: "
            "validation_data=(X_val, y_val) or validation_split (to fit or partial_fit), or "
            "early_stopping=True (fit only; it holds out validation_fraction of the training "
            "data); or monitor a training quantity such as 'loss'."
        )


def _callback_setting(callback, setting: str, kwargs: dict):
    """The value of ``setting`` of a callback instance, or the one a callback class would get
    when instantiated with ``kwargs`` (its default unless given); None if it has none."""
    if not isinstance(callback, type):
        return getattr(callback, setting, None)
    try:
        parameter = inspect.signature(callback).parameters.get(setting)
    except (TypeError, ValueError):  # pragma: no cover - a signature Python cannot read
        return None
    if parameter is None or parameter.kind is inspect.Parameter.VAR_KEYWORD:
        return None
    default = None if parameter.default is inspect.Parameter.empty else parameter.default
    return kwargs.get(setting, default)


def _check_routed_learning_rate(value) -> None:
    """Refuse a routed ``optimizer__learning_rate`` that is a negative, zero or non-finite
    number or a bool (schedules and other objects are left to the optimizer)."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(
            "The routed parameter 'optimizer__learning_rate' must be a positive finite number "
            f"(or a learning-rate schedule), not a bool; got {bool(value)!r}."
        )
    if not isinstance(value, Real):
        return
    if not (np.isfinite(value) and value > 0):
        raise ValueError(
            f"The routed parameter 'optimizer__learning_rate' must be a positive finite number "
            f"(or a learning-rate schedule); got {value!r}."
        )


def _check_fit_arguments(estimator, fit_params: dict, reserved) -> None:
    """Refuse ``fit`` keyword arguments (and routed ``fit__`` parameters) that Keras's
    ``Model.fit`` does not take, before the network is built (Keras would refuse them only
    then); ``callbacks__name`` arguments are routed to the callbacks. ``reserved``: those
    the estimator sets itself (refused on their own), left out of the accepted ones shown."""
    signature = _keras_signature("fit")
    if signature is None:
        return
    accepted = sorted(signature - set(reserved))
    unknown = sorted(
        key for key in fit_params
        if key not in accepted and key not in reserved and not key.startswith("callbacks__")
    )
    if unknown:
        close = get_close_matches(unknown[0], accepted, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise TypeError(
            f"{type(estimator).__name__}.fit() got unexpected keyword arguments {unknown} "
            f"(given to fit or as routed fit__ parameters); accepted are {accepted} (passed "
            f"to keras.Model.fit) and callbacks__<name> arguments for the callbacks.{hint}"
        )


def _check_compile_arguments(estimator, compile_params: dict) -> None:
    """Refuse routed ``compile__`` parameters that Keras's ``Model.compile`` does not take."""
    accepted = _keras_signature("compile")
    if accepted is None:
        return
    unknown = sorted(set(compile_params) - accepted)
    if unknown:
        raise TypeError(
            f"{type(estimator).__name__} got routed parameters "
            f"{[f'compile__{key}' for key in unknown]} that keras.Model.compile does not take; "
            f"compile__ accepts {sorted(accepted)}."
        )


def _keras_signature(method: str) -> frozenset[str] | None:
    """The keyword arguments of ``keras.Model.<method>``; None when it takes any (``**kwargs``,
    e.g. replaced by a wrapper)."""
    return _keyword_arguments(getattr(import_keras().Model, method))


@cache
def _keyword_arguments(function) -> frozenset[str] | None:
    parameters = inspect.signature(function).parameters.values()
    if any(parameter.kind is parameter.VAR_KEYWORD for parameter in parameters):
        return None
    return frozenset(parameter.name for parameter in parameters if parameter.name != "self")


#: Names Keras's ``compile`` resolves itself from the target and output shapes, not through
#: ``keras.losses.get`` / ``keras.metrics.get``.
_SHAPE_RESOLVED = {"loss": {"crossentropy", "ce"}, "metrics": {"accuracy", "acc"}}


def _check_loss_and_metrics(estimator) -> None:
    """Refuse, before any training, a ``loss`` or ``metrics`` name that Keras does not know
    (Keras would fail on it only in the first training step)."""
    owner = type(estimator).__name__
    for param in ("loss", "metrics"):
        for where, name in _named_entries(getattr(estimator, param, None), param):
            _check_keras_name(param, where, name, owner)


def _named_entries(value, where: str):
    """``(position, name)`` for each string in ``value`` (a string, or a list, tuple or dict of
    them, nested per output); ``position`` spells where it is, e.g. ``metrics['out'][1]``."""
    return ((position, item) for position, item in nested_leaves(value, where)
            if isinstance(item, str))


def nested_leaves(value, where: str = ""):
    """``(position, leaf)`` for each value nested in the dicts, lists and tuples of ``value``;
    ``position`` spells where it is from ``where``, e.g. ``metrics['out'][1]``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nested_leaves(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from nested_leaves(item, f"{where}[{index}]")
    else:
        yield where, value


def _check_keras_name(param: str, where: str, name: str, owner: str) -> None:
    if name.lower() in _SHAPE_RESOLVED[param]:
        return
    module_name = "metrics" if param == "metrics" else "losses"
    try:
        _known_keras_name(module_name, name)
        return
    except (ValueError, TypeError):
        pass
    module = getattr(import_keras(), module_name)
    known = sorted(
        {n for n in dir(module) if not n.startswith("_") and n not in _NOT_NAMES}
        | _ALIASES | _SHAPE_RESOLVED[param]
    )
    close = get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    kind = "loss" if param == "loss" else "metric"
    raise ValueError(
        f"The '{param}' parameter of {owner} got an unknown Keras {kind} name: {where} is "
        f"{name!r}. Pass a name keras.{module_name}.get accepts (such "
        f"as {_EXAMPLES[param]}), a function or a keras {kind} object.{hint}"
    )


@cache
def _known_keras_name(module_name: str, name: str) -> None:
    """Raise unless ``keras.<module_name>.get`` knows ``name``; remembered once known, as
    ``get`` makes a metric object for a name ('auc' builds its variables: about 5 ms for
    ``metrics=["auc", "precision"]``), which every fit would otherwise pay again."""
    getattr(import_keras(), module_name).get(name)


_NOT_NAMES = {"get", "serialize", "deserialize", "Loss", "Metric"}
#: Short names Keras accepts that its modules do not list.
_ALIASES = {"mse", "mae", "mape", "msle"}
_EXAMPLES = {
    "loss": "'binary_crossentropy', 'sparse_categorical_crossentropy' or 'mse'",
    "metrics": "'accuracy', 'auc' or 'mae'",
}
