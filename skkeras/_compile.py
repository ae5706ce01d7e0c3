"""Optimizer, loss and metric objects from strings, classes or instances plus routed kwargs."""

from __future__ import annotations

import functools
import inspect
import re

from ._keras import import_keras
from ._layers import OPTIMIZERS


def make_optimizer(optimizer, kwargs: dict, *, estimator_name: str):
    """A fresh optimizer object for one fit (never the user's instance, which may hold state).

    Optimizers made from a name or a class are named after their class (``adam``), not numbered
    (``adam_12``): the name prefixes its variables' names, and TensorFlow's runtime keeps a kernel
    for every variable name it meets (see :func:`skkeras._layers.build_mlp`).
    """
    keras = import_keras()
    try:
        if isinstance(optimizer, str):
            optimizer = _optimizer_classes().get(optimizer.lower()) or type(
                keras.optimizers.get(optimizer)  # builds a throwaway instance: aliases only
            )
        if inspect.isclass(optimizer):
            if optimizer.__module__.startswith("keras."):  # a user's class may take no name
                kwargs = {"name": optimizer.__name__.lower(), **kwargs}
            return optimizer(**kwargs)
        return type(optimizer).from_config({**optimizer.get_config(), **kwargs})
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"The 'optimizer' parameter of {estimator_name} could not be built from "
            f"{optimizer!r} with {kwargs}: {error}"
        ) from error


@functools.cache
def _optimizer_classes() -> dict:
    """The classes of the optimizers the ready-made estimators accept by name (``"adam"``...)."""
    keras = import_keras()
    classes = {
        value.__name__.lower(): value
        for value in vars(keras.optimizers).values()
        if inspect.isclass(value)
    }
    return {name: classes[name] for name in OPTIMIZERS if name in classes}


def _class_name(snake_name: str) -> str:
    return "".join(part.capitalize() for part in snake_name.split("_"))


def make_loss(loss, kwargs: dict):
    """The loss as Keras's ``compile`` takes it, with routed ``loss__*`` kwargs applied."""
    if loss is None or (not kwargs and not inspect.isclass(loss)):
        return loss
    try:
        return _built_loss(loss, kwargs)
    except (TypeError, ValueError) as error:
        cause = error.__context__ if error.__context__ is not None else error
        raise ValueError(
            f"The 'loss' parameter {loss!r} could not be built with the routed loss__ "
            f"arguments {kwargs}: {cause}"
        ) from error


def _built_loss(loss, kwargs: dict):
    keras = import_keras()
    if isinstance(loss, str):
        return keras.losses.get({"class_name": _class_name(loss), "config": kwargs})
    if inspect.isclass(loss):
        return loss(**kwargs)
    if hasattr(loss, "get_config"):
        return type(loss).from_config({**loss.get_config(), **kwargs})
    return loss


def make_metrics(metrics, kwargs: dict):
    """Metrics for ``compile``; metric classes are instantiated with routed kwargs."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return {name: make_metrics(value, kwargs) for name, value in metrics.items()}
    if isinstance(metrics, list | tuple):
        return [_make_metric(metric, kwargs) for metric in metrics]
    return [_make_metric(metrics, kwargs)]


def _make_metric(metric, kwargs: dict):
    if inspect.isclass(metric):
        accepted = inspect.signature(metric).parameters
        kwargs = {key: value for key, value in kwargs.items() if key in accepted}
        default = accepted["name"].default if "name" in accepted else ""
        if default is None and metric.__module__.startswith("keras."):
            # Keras numbers unnamed metrics (precision_1, precision_2...) for every instance the
            # process makes; named after the class, history_ keys are the same on every fit
            kwargs = {"name": _snake_case(metric.__name__), **kwargs}
        return metric(**kwargs)
    return metric


def _snake_case(name: str) -> str:
    """``Precision`` -> ``precision``, ``SparseCategoricalAccuracy`` ->
    ``sparse_categorical_accuracy``: the name Keras gives an unnamed metric (before numbering)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
