"""Parameter routing in the scikeras style: ``optimizer__learning_rate=0.01`` and friends."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

#: Prefixes whose ``prefix__name`` parameters are routed to one destination.
ROUTING_PREFIXES = (
    "model",
    "optimizer",
    "loss",
    "metrics",
    "fit",
    "predict",
    "compile",
    "callbacks",
)


def routed(params: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Return the ``prefix__*`` entries of ``params`` with the prefix removed."""
    head = prefix + "__"
    return {key[len(head) :]: value for key, value in params.items() if key.startswith(head)}


def is_routed_name(name: str) -> bool:
    """Whether ``name`` is a routed parameter name such as ``optimizer__momentum``."""
    prefix, sep, rest = name.partition("__")
    return bool(sep) and bool(rest) and prefix in ROUTING_PREFIXES


def accepted_kwargs(func: Callable, available: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``available`` that ``func`` declares (all if it takes ``**kwargs``)."""
    signature = inspect.signature(func)
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return dict(available)
    names = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    }
    return {key: value for key, value in available.items() if key in names}
