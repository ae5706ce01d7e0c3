"""Search spaces: Optuna distributions mapped to estimator parameters, and the built-in spaces.

A search space is a ``{estimator_param: dimension}`` dict. A dimension is an Optuna distribution,
a list of choices, or a composite such as :class:`LayerPyramid` that samples several Optuna
parameters and turns them into one estimator parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from numbers import Integral, Real
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.utils._param_validation import InvalidParameterError

from .._messages import plain

_PRIMITIVES = (type(None), bool, int, float, str)


class LayerPyramid:
    """The hidden layers as a pyramid: a first-layer width and a shrink factor.

    Two scalars are searched, ``<name>:first_units`` (log-uniform integer) and
    ``<name>:shrink`` (uniform float). Layer ``k`` has ``round(first_units * shrink**k)`` units;
    layers are added until the next one would fall below ``min_units`` or ``max_layers`` is
    reached, so the depth follows from the two scalars.

    Parameters
    ----------
    first_units : tuple of (int, int), default=(16, 256)
        Range of the first layer's width (sampled on a log scale).
    shrink : tuple of (float, float), default=(0.25, 1.0)
        Range of the ratio between consecutive layer widths.
    min_units : int, default=8
        Narrowest layer allowed; the pyramid stops before a layer would be narrower.
    max_layers : int, default=3
        Deepest pyramid allowed.

    Examples
    --------
    >>> from skkeras.model_selection import LayerPyramid
    >>> LayerPyramid(min_units=8, max_layers=4).layers(first_units=64, shrink=0.5)
    (64, 32, 16, 8)
    """

    def __init__(
        self,
        first_units: tuple[int, int] = (16, 256),
        shrink: tuple[float, float] = (0.25, 1.0),
        *,
        min_units: int = 8,
        max_layers: int = 3,
    ):
        first_units = _pair(first_units, "first_units", Integral, "ints")
        shrink = _pair(shrink, "shrink", Real, "numbers")
        min_units = _whole(min_units, "min_units")
        max_layers = _whole(max_layers, "max_layers")
        if not 1 <= min_units <= first_units[0] <= first_units[1]:
            raise ValueError(
                "LayerPyramid needs 1 <= min_units <= first_units[0] <= first_units[1]; got "
                f"min_units={min_units}, first_units={first_units}."
            )
        if not 0 < shrink[0] <= shrink[1] <= 1 or max_layers < 1:
            raise ValueError(
                "LayerPyramid needs 0 < shrink[0] <= shrink[1] <= 1 and max_layers >= 1; got "
                f"shrink={shrink}, max_layers={max_layers}."
            )
        self.first_units = first_units
        self.shrink = shrink
        self.min_units = min_units
        self.max_layers = max_layers

    def distributions(self, name: str) -> dict[str, BaseDistribution]:
        """The Optuna parameters this dimension samples."""
        return {
            f"{name}:first_units": IntDistribution(*self.first_units, log=True),
            f"{name}:shrink": FloatDistribution(*self.shrink),
        }

    def value(self, name: str, params: Mapping[str, Any]) -> tuple[int, ...]:
        """The estimator parameter for sampled Optuna ``params``."""
        return self.layers(params[f"{name}:first_units"], params[f"{name}:shrink"])

    def layers(self, first_units: int, shrink: float) -> tuple[int, ...]:
        """Layer widths for a first-layer width and shrink factor."""
        sizes = [int(first_units)]
        while len(sizes) < self.max_layers:
            units = round(first_units * shrink ** len(sizes))
            if units < self.min_units:
                break
            sizes.append(int(units))
        return tuple(sizes)

    def __repr__(self) -> str:
        return (
            f"LayerPyramid(first_units={self.first_units}, shrink={self.shrink}, "
            f"min_units={self.min_units}, max_layers={self.max_layers})"
        )


def _pair(value, name: str, kind: type, kind_name: str) -> tuple:
    """``value`` (a LayerPyramid range) as a ``(low, high)`` tuple of plain numbers of ``kind``;
    anything else is refused with an error naming the argument."""
    pair = tuple(plain(v) for v in value) if isinstance(value, tuple | list | np.ndarray) else None
    if pair is None or len(pair) != 2 or not all(
        isinstance(v, kind) and not isinstance(v, bool) for v in pair
    ):
        raise InvalidParameterError(
            f"LayerPyramid's {name} must be a (low, high) pair of {kind_name}, such as "
            f"{_PAIR_EXAMPLES[name]}; got {plain(value)!r} ({type(value).__name__})."
        )
    return pair


def _whole(value, name: str) -> int:
    """``value`` (a LayerPyramid count) as a plain int; anything else is refused."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidParameterError(
            f"LayerPyramid's {name} must be an int; got {value!r} ({type(value).__name__})."
        )
    return value


#: The default of each LayerPyramid range, shown in the message refusing a bad one.
_PAIR_EXAMPLES = {"first_units": "(16, 256)", "shrink": "(0.25, 1.0)"}


class _Choice:
    """A list of choices; non-primitive choices (tuples...) are sampled by their ``repr``."""

    def __init__(self, choices):
        self.choices = list(choices)
        if not self.choices:
            raise ValueError("A list of choices in param_distributions must not be empty.")
        self._by_label = {
            choice if isinstance(choice, _PRIMITIVES) else repr(choice): choice
            for choice in self.choices
        }

    def distributions(self, name: str) -> dict[str, BaseDistribution]:
        return {name: CategoricalDistribution(list(self._by_label))}

    def value(self, name: str, params: Mapping[str, Any]):
        return self._by_label[params[name]]


class _Single:
    """One Optuna distribution used as it is."""

    def __init__(self, distribution: BaseDistribution):
        self.distribution = distribution

    def distributions(self, name: str) -> dict[str, BaseDistribution]:
        return {name: self.distribution}

    def value(self, name: str, params: Mapping[str, Any]):
        return params[name]


class SearchSpace:
    """Turns Optuna trials into estimator parameters.

    Parameters
    ----------
    dimensions : dict or callable
        ``{estimator_param: dimension}`` where a dimension is an Optuna distribution, a list of
        choices, or an object with ``distributions(name)`` and ``value(name, params)`` methods
        (such as :class:`LayerPyramid`). A callable ``f(trial) -> dict`` is a define-by-run space:
        it calls ``trial.suggest_*`` itself and returns the estimator parameters.
    """

    def __init__(self, dimensions: Mapping[str, Any] | Callable):
        self.define_by_run = callable(dimensions) and not isinstance(dimensions, Mapping)
        self._function = dimensions if self.define_by_run else None
        self._dimensions = {} if self.define_by_run else _as_dimensions(dimensions)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        """All Optuna parameters, by name (empty for a define-by-run space)."""
        result: dict[str, BaseDistribution] = {}
        for name, dimension in self._dimensions.items():
            result.update(dimension.distributions(name))
        return result

    def identity(self) -> list[str] | str:
        """What makes trials of two spaces comparable: the sorted estimator parameter names,
        or the function's import path for a define-by-run space."""
        if self.define_by_run:
            function = self._function
            module = getattr(function, "__module__", None) or "?"
            name = getattr(function, "__qualname__", None) or type(function).__qualname__
            return f"function {module}.{name}"
        return sorted(self._dimensions)

    def suggest(self, trial) -> dict[str, Any]:
        """Sample a trial's Optuna parameters and return the estimator parameters.

        ``trial`` may also be a finished ``FrozenTrial``: its stored values are read back.
        """
        if self.define_by_run:
            return dict(self._function(trial))
        values = {name: suggest(trial, name, dist) for name, dist in self.distributions.items()}
        return {
            name: dimension.value(name, values) for name, dimension in self._dimensions.items()
        }

    def grid(self) -> dict[str, list]:
        """The space as a ``GridSampler`` grid; every Optuna parameter must be enumerable."""
        if self.define_by_run:
            raise ValueError(
                "sampler='grid' needs param_distributions as a dict, not a callable."
            )
        return {name: _enumerate(name, dist) for name, dist in self.distributions.items()}


def suggest(trial, name: str, distribution: BaseDistribution):
    """Sample ``name`` from an Optuna ``distribution`` with the public ``suggest_*`` methods."""
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    raise TypeError(f"Unsupported Optuna distribution for {name!r}: {distribution!r}.")


def _as_dimensions(space: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(space, Mapping):
        raise TypeError(
            "param_distributions must be a dict {parameter: distribution}, a callable "
            f"f(trial) -> dict, or None; got {type(space).__name__}."
        )
    return {name: _as_dimension(name, value) for name, value in space.items()}


def _as_dimension(name: str, value):
    if isinstance(value, BaseDistribution):
        return _Single(value)
    if isinstance(value, list | tuple):
        return _Choice(value)
    if hasattr(value, "distributions") and hasattr(value, "value"):
        return value
    raise TypeError(
        f"param_distributions[{name!r}] must be an optuna distribution (FloatDistribution, "
        "IntDistribution, CategoricalDistribution), a list of choices or a LayerPyramid; "
        f"got {value!r}."
    )


def _enumerate(name: str, distribution: BaseDistribution) -> list:
    if isinstance(distribution, CategoricalDistribution):
        return list(distribution.choices)
    if isinstance(distribution, IntDistribution):  # a log scale has step 1: still enumerable
        return list(range(distribution.low, distribution.high + 1, distribution.step))
    step = getattr(distribution, "step", None)
    if step is not None:
        # multiples of the step, rounded to its decimals (no 0.30000000000000004)
        count = round((distribution.high - distribution.low) / step) + 1
        digits = max(_decimals(step), _decimals(distribution.low))
        return [round(distribution.low + k * step, digits) for k in range(count)]
    raise ValueError(
        f"sampler='grid' cannot enumerate {name!r} ({distribution!r}); give it as a list of "
        "values or a distribution with a step."
    )


def _decimals(value: float) -> int:
    """Decimal places of ``value`` as written (``0.1`` -> 1, ``2.5e-3`` -> 4, ``3.0`` -> 0)."""
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


# ---------------------------------------------------------------------- built-in spaces
def mlp_search_space() -> dict[str, Any]:
    """The default space of :class:`~skkeras.KerasMLPClassifier` and ``KerasMLPRegressor``.

    Learning rate (log scale), dropout in [0, 0.5), the layer pyramid, L2 (log scale), batch
    size and activation.
    """
    return {
        "learning_rate": FloatDistribution(1e-4, 3e-2, log=True),
        "dropout": FloatDistribution(0.0, float(np.nextafter(0.5, 0.0))),
        "hidden_layer_sizes": LayerPyramid(),
        "l2": FloatDistribution(1e-7, 1e-2, log=True),
        "batch_size": [16, 32, 64, 128],
        "activation": ["relu", "elu", "tanh", "swish"],
    }


def _default_factories() -> dict[type, Callable[[], dict[str, Any]]]:
    from .._mlp import KerasMLPClassifier, KerasMLPRegressor

    return {KerasMLPClassifier: mlp_search_space, KerasMLPRegressor: mlp_search_space}


def default_search_space(estimator) -> dict[str, Any]:
    """A fresh copy of the built-in search space of ``estimator``, to use, extend or override.

    For a :class:`~sklearn.pipeline.Pipeline`, the space of its final step with
    ``step__param`` names. An estimator may also provide a ``_default_search_space()`` method.

    Parameters
    ----------
    estimator : estimator instance
        A ready-made skkeras estimator, or a pipeline ending in one.

    Returns
    -------
    space : dict
        ``{parameter: dimension}``, ready for ``OptunaSearchCV(param_distributions=...)``.

    Examples
    --------
    >>> from optuna.distributions import FloatDistribution
    >>> from skkeras import KerasMLPClassifier
    >>> from skkeras.model_selection import default_search_space
    >>> space = default_search_space(KerasMLPClassifier())
    >>> space["l1"] = FloatDistribution(1e-6, 1e-2, log=True)
    >>> sorted(space)[:3]
    ['activation', 'batch_size', 'dropout']
    """
    prefix, final = "", estimator
    while hasattr(final, "steps"):
        name, final = final.steps[-1]
        prefix += f"{name}__"
    space = _own_space(final)
    if space is None:
        raise ValueError(
            f"{type(final).__name__} has no built-in search space (the parameters of a model "
            "builder are the user's); pass param_distributions={'param': distribution, ...}."
        )
    return {prefix + name: dimension for name, dimension in space.items()}


def _own_space(estimator) -> dict[str, Any] | None:
    method = getattr(estimator, "_default_search_space", None)
    if callable(method):
        return dict(method())
    for cls, factory in _default_factories().items():
        if isinstance(estimator, cls):
            return factory()
    return None
