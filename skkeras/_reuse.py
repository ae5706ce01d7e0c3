"""Fits that skip building a Keras model: starting states remembered per network and seed.

A ready-made estimator's network depends only on its parameters, the shape of ``X``, the target
and the seed. The folds of a cross-validation, the candidates of a grid search sharing a network
and the refits of a study all build that same network, with the same starting weights, again
and again: about 15 ms of Keras bookkeeping and variable creation per fit on a small MLP,
often more than the training itself.

So the first such fit remembers its network's starting state (weights, optimizer slots, the
random generators' states after the build) as a :class:`Start`; the next fit with the same
signature and seed trains the fast path's template of that architecture directly from it and
keeps the result as a :class:`TrainedState`. The estimator builds its Keras model (``model_``)
only when something asks for it; predictions of plain layer stacks are computed from the
trained state without one.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ._keras import backend_name, import_keras
from ._packing import Layout

#: Starting states kept, all networks and seeds together (least recently used dropped first).
#: A cross-validation needs one; a study rarely meets a network and seed of an earlier trial.
_MAX_STARTS = 16
_MAX_BYTES = 16 * 2**20
#: Parameters that change how a network is trained but not the network or its starting state.
#: ``learning_rate`` (the ready-made estimators' optimizer learning rate) is the value of one
#: optimizer variable of the start: :meth:`Start.packed_for` sets it.
TRAINING_ONLY_PARAMS = frozenset(
    {
        "batch_size", "callbacks", "class_weight", "distribution", "early_stopping", "epochs",
        "learning_rate", "min_delta", "patience", "random_state", "restore_best_weights",
        "shuffle", "validation_fraction", "verbose", "warm_start",
    }
)
#: Fitted facts the networks do not depend on (the rows, the labels' values, feature names).
_META_IGNORED = frozenset({"X_shape_", "classes_", "feature_names_in_"})


@dataclass(frozen=True)
class Start:
    """The state of a freshly built and compiled network, before its first epoch.

    Attributes
    ----------
    key : str
        The fast path's training-template key of the network.
    values : list of ndarray or Zeros
        Every variable's value, in the template's order (weights, non-trainable variables,
        optimizer variables); all-zero ones (the optimizer's slots) are kept as :class:`Zeros`.
        :meth:`arrays` gives them all as arrays.
    facts : dict
        Fitted attributes the estimator derives from its built model (target encoding,
        parameter count), restored without the model.
    learning_rate : float or None
        The learning rate the network was built with.
    learning_rate_position : int or None
        Where the optimizer's learning-rate variable is among ``values`` (None if it has none).
    """

    key: str
    values: list
    facts: dict = field(default_factory=dict)
    learning_rate: float | None = None
    learning_rate_position: int | None = None

    @classmethod
    def of(cls, key: str, values: list, facts: dict, learning_rate: float | None = None,
           learning_rate_position: int | None = None) -> Start:
        """A start from the state ``values`` of a freshly built network."""
        kept = [value if value.any() else Zeros(value.shape, value.dtype) for value in values]
        return cls(key, kept, facts, learning_rate, learning_rate_position)

    def arrays(self) -> list:
        """Every variable's starting value as an array."""
        return [
            np.zeros(value.shape, value.dtype) if isinstance(value, Zeros) else value
            for value in self.values
        ]

    @cached_property
    def layout(self) -> Layout:
        """How the whole-fit graph takes this start's values (one vector per dtype)."""
        return Layout.of(self.values)

    @cached_property
    def packed(self) -> PackedStart:
        """Every variable's starting value packed into tensors, made on first use and kept: the
        fits starting here (a cross-validation's folds) share them instead of converting the
        arrays again."""
        return PackedStart(self.layout, self.layout.tensors(self.layout.pack(self.arrays())))

    def packed_for(self, learning_rate: float | None) -> PackedStart | None:
        """:attr:`packed`, the optimizer's learning rate set to ``learning_rate``: the state a
        network built with that learning rate starts from. None if it cannot be set (the
        optimizer keeps no learning-rate variable)."""
        if learning_rate is None or learning_rate == self.learning_rate:
            return self.packed
        position = self.learning_rate_position
        if position is None:
            return None
        import tensorflow as tf

        slot = self.layout.slots[position]
        vectors = list(self.packed.vectors)
        changed = np.array(vectors[slot.group])  # a copy: the shared vector stays as it is
        changed[slot.start : slot.stop] = learning_rate
        vectors[slot.group] = tf.convert_to_tensor(changed)
        return PackedStart(self.layout, tuple(vectors))

    @property
    def n_bytes(self) -> int:
        """The memory the start may hold: its arrays, and the packed tensors of every value
        (including the all-zero ones) once :attr:`packed` is used."""
        arrays = sum(value.nbytes for value in self.values if isinstance(value, np.ndarray))
        tensors = sum(
            int(np.prod(value.shape)) * np.dtype(value.dtype).itemsize for value in self.values
        )
        return arrays + tensors


@dataclass(frozen=True)
class PackedStart:
    """A starting state as the whole-fit graph takes it.

    Attributes
    ----------
    layout : Layout
        Where each variable's value lies in ``vectors``.
    vectors : tuple of tf.Tensor
        One vector per dtype.
    """

    layout: Layout
    vectors: tuple


@dataclass(frozen=True)
class Zeros:
    """An all-zero starting value, kept by shape and type only."""

    shape: tuple
    dtype: np.dtype


@dataclass(eq=False)
class TrainedState:
    """The trained state of a network that has no Keras model yet.

    Attributes
    ----------
    key : str
        The fast path's training-template key of the network.
    values : list of ndarray
        Every variable's trained value, in the template's order.
    seed : int
        The seed of the fit, used to build the model with the same names and random states.
    n_train_steps : int
        Batches per epoch of that fit (a compile option of the model).
    """

    key: str
    values: list
    seed: int
    n_train_steps: int


def signature(estimator_class: type, params: dict, meta: dict) -> str | None:
    """A description of the network an estimator builds from ``params`` and the fitted facts
    ``meta``, and so of its starting state for a given seed; None if a parameter is an object
    that cannot be described by value (an optimizer instance...)."""
    keras = import_keras()
    described = {
        "class": f"{estimator_class.__module__}.{estimator_class.__qualname__}",
        "params": {key: value for key, value in params.items() if key not in TRAINING_ONLY_PARAMS},
        "meta": {key: value for key, value in meta.items() if key not in _META_IGNORED},
        "sample_shape": list(meta["X_shape_"][1:]),
        "keras": {
            "backend": backend_name(),
            "dtype_policy": keras.config.dtype_policy().name,
            "floatx": keras.config.floatx(),
            "image_data_format": keras.config.image_data_format(),
        },
    }
    try:
        return json.dumps(described, sort_keys=True, default=_plain_json)
    except TypeError:
        return None


def _plain_json(value):
    """JSON form of the NumPy values a parameter may hold; anything else is refused."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, np.dtype):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a plain value")


_starts: OrderedDict = OrderedDict()
_lock = threading.Lock()


def recall(signature: str, seed: int) -> Start | None:
    """The remembered start of the network ``signature`` with ``seed``, if any."""
    with _lock:
        start = _starts.get((signature, seed))
        if start is not None:
            _starts.move_to_end((signature, seed))
        return start


def remember(signature: str, seed: int, start: Start) -> None:
    """Keep ``start`` for later fits of the network ``signature`` with ``seed``."""
    if start.n_bytes > _MAX_BYTES:
        return
    with _lock:
        _starts[(signature, seed)] = start
        while len(_starts) > _MAX_STARTS or _total_bytes() > _MAX_BYTES:
            _starts.popitem(last=False)


def _total_bytes() -> int:
    return sum(start.n_bytes for start in _starts.values())


def forget_all() -> None:
    """Drop every remembered start (the next fit of each network builds it again)."""
    with _lock:
        _starts.clear()
