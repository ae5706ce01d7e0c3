"""Ready-made recurrent estimators: stacked (bidirectional) LSTM layers and an output layer."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval

from ._classifier import KerasClassifierBase
from ._keras import import_keras
from ._layers import output_layer
from ._ready_made import (
    ATTRIBUTES_DOC,
    CLASS_WEIGHT_DOC,
    CLASSES_DOC,
    OPTIMIZER_CONSTRAINTS,
    TRAINING_PARAMS_DOC,
    ClassifierOutputMixin,
    OptimizerParamsMixin,
    ParameterCountMixin,
    RegressorOutputMixin,
)
from ._regressor import KerasRegressorBase
from ._shapes import check_declared_shape, check_matches, infer_shape

_LSTM_CONSTRAINTS = {
    "units": ["array-like", Interval(Integral, 1, None, closed="left")],
    "bidirectional": ["boolean"],
    "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
    "recurrent_dropout": [Interval(Real, 0.0, 1.0, closed="left")],
    "sequence_shape": ["array-like", None],
    **OPTIMIZER_CONSTRAINTS,
}


def build_lstm(
    input_shape: tuple[int, ...],
    sequence_shape: tuple[int, int],
    units: Sequence[int],
    n_outputs: int,
    output_activation: str,
    *,
    bidirectional: bool,
    dropout: float,
    recurrent_dropout: float,
):
    """A functional network: (reshape to ``sequence_shape``) -> LSTM layers -> output layer.

    Every LSTM layer but the last returns its whole output sequence, which the next one reads;
    the last returns its final state only. Every layer has a fixed name, as in
    :func:`skkeras._layers.build_mlp`.
    """
    keras = import_keras()
    inputs = keras.Input(shape=input_shape, name="X")
    x = inputs
    if tuple(input_shape) != tuple(sequence_shape):
        x = keras.layers.Reshape(sequence_shape, name="to_sequences")(x)
    for index, n_units in enumerate(units):
        layer = keras.layers.LSTM(
            int(n_units),
            return_sequences=index < len(units) - 1,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            name=f"lstm_{index + 1}",  # fixed names: see skkeras._layers.build_mlp
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index + 1}")
        x = layer(x)
    return keras.Model(inputs, output_layer(x, n_outputs, output_activation))


class _LSTMMixin(ParameterCountMixin, OptimizerParamsMixin):
    """Builds the LSTM network from flat parameters."""

    _network_from_params = True
    _allow_nd = True
    _stop_on_training_loss = True

    def _check_params(self) -> None:
        super()._check_params()
        self._units()
        if self.sequence_shape is not None:
            check_declared_shape(
                self.sequence_shape, length=2, param="sequence_shape", owner=type(self).__name__
            )

    def _units(self) -> tuple[int, ...]:
        units = (self.units,) if isinstance(self.units, Integral) else tuple(self.units)
        if not units or not all(
            isinstance(size, Integral) and not isinstance(size, bool) and size >= 1
            for size in units
        ):
            raise ValueError(
                f"The 'units' parameter of {type(self).__name__} must be a positive int or a "
                f"non-empty tuple of positive ints (units per LSTM layer). Got {self.units!r} "
                "instead."
            )
        return tuple(int(size) for size in units)

    def _sequence_shape(self, X_shape: tuple[int, ...]) -> tuple[int, int]:
        """The (timesteps, n_features) of one sample, from X's shape and ``sequence_shape``."""
        owner = type(self).__name__
        declared = self.sequence_shape
        if declared is not None:
            declared = check_declared_shape(declared, length=2, param="sequence_shape", owner=owner)
        if len(X_shape) == 3:
            check_matches(tuple(X_shape[1:]), declared, param="sequence_shape", owner=owner)
            return tuple(X_shape[1:])
        if len(X_shape) == 2:
            declared = (-1, 1) if declared is None else declared
            return infer_shape(declared, X_shape[1], param="sequence_shape", owner=owner)
        raise ValueError(
            f"{owner} expects X of shape (n_samples, timesteps, n_features), or 2-D X of shape "
            f"(n_samples, timesteps) read as one feature per step; got {len(X_shape)}-D X of "
            f"shape {tuple(X_shape)}."
        )

    def _build_keras_model(self, meta: dict[str, Any]):
        X_shape = tuple(meta["X_shape_"])
        n_units, output_activation = self._output_spec()
        return build_lstm(
            input_shape=X_shape[1:],
            sequence_shape=self._sequence_shape(X_shape),
            units=self._units(),
            n_outputs=n_units,
            output_activation=output_activation,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
        )


_LSTM_PARAMS_DOC = """
    units : int or tuple of int, default=32
        Units of each LSTM layer; a tuple stacks several layers, each but the last passing its
        whole output sequence to the next.
    bidirectional : bool, default=False
        Wrap each LSTM layer in ``keras.layers.Bidirectional`` (reads the sequence both ways;
        doubles the layer's outputs).
    dropout : float in [0, 1), default=0.0
        Dropout rate on the inputs of each LSTM layer.
    recurrent_dropout : float in [0, 1), default=0.0
        Dropout rate on the recurrent state (disables the fused cuDNN kernel on GPUs).
    sequence_shape : tuple (timesteps, n_features) or None, default=None
        How to read a 2-D ``X``: each row is reshaped (step by step, features fastest) to this
        shape inside the network, so the estimator can follow a scaler in a ``Pipeline``. One
        entry may be -1. ``None`` reads a 2-D ``X`` as ``(timesteps=n_columns, 1)``. With a 3-D
        ``X`` it is only checked against ``X.shape[1:]``."""

_LSTM_INPUT_DOC = """
    ``X`` is 3-D, ``(n_samples, timesteps, n_features)`` (see
    :func:`skkeras.preprocessing.to_sequences`), or 2-D and reshaped by ``sequence_shape``."""


class KerasLSTMRegressor(_LSTMMixin, RegressorOutputMixin, KerasRegressorBase):
    __doc__ = f"""Recurrent (LSTM) regressor built with Keras (mean squared error loss).
    {_LSTM_INPUT_DOC}

    Parameters
    ----------
    {_LSTM_PARAMS_DOC.strip()}
    {TRAINING_PARAMS_DOC.strip()}

    Attributes
    ----------
    {ATTRIBUTES_DOC.strip()}

    Examples
    --------
    >>> import numpy as np
    >>> from skkeras import KerasLSTMRegressor
    >>> from skkeras.preprocessing import to_sequences
    >>> X, y = to_sequences(np.sin(np.arange(200) / 5), window=10)
    >>> reg = KerasLSTMRegressor(units=8, epochs=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **KerasRegressorBase._parameter_constraints,
        **_LSTM_CONSTRAINTS,
    }

    def __init__(
        self,
        units: int | tuple[int, ...] = 32,
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        sequence_shape: tuple[int, int] | None = None,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        batch_size: int = 32,
        epochs: int = 100,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_delta: float = 1e-4,
        restore_best_weights: bool = True,
        callbacks: Any = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
        shuffle: bool = True,
        distribution: Any = None,
    ):
        self.units = units
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.sequence_shape = sequence_shape
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.distribution = distribution


class KerasLSTMClassifier(_LSTMMixin, ClassifierOutputMixin, KerasClassifierBase):
    __doc__ = f"""Recurrent (LSTM) classifier built with Keras.
    {_LSTM_INPUT_DOC}

    Binary targets get one sigmoid output unit, multiclass targets a softmax layer and
    multilabel (indicator) targets one sigmoid unit per label.

    Parameters
    ----------
    {_LSTM_PARAMS_DOC.strip()}
    {TRAINING_PARAMS_DOC.strip()}
    {CLASS_WEIGHT_DOC.strip()}

    Attributes
    ----------
    {ATTRIBUTES_DOC.strip()}
    {CLASSES_DOC.strip()}

    Examples
    --------
    >>> import numpy as np
    >>> from skkeras import KerasLSTMClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5, 1))
    >>> y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    >>> clf = KerasLSTMClassifier(units=4, epochs=2, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **KerasClassifierBase._parameter_constraints,
        **_LSTM_CONSTRAINTS,
    }

    def __init__(
        self,
        units: int | tuple[int, ...] = 32,
        *,
        bidirectional: bool = False,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        sequence_shape: tuple[int, int] | None = None,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        batch_size: int = 32,
        epochs: int = 100,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_delta: float = 1e-4,
        restore_best_weights: bool = True,
        callbacks: Any = None,
        class_weight: dict | str | None = None,
        random_state: Any = None,
        verbose: int = 0,
        warm_start: bool = False,
        shuffle: bool = True,
        distribution: Any = None,
    ):
        self.units = units
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.sequence_shape = sequence_shape
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.callbacks = callbacks
        self.class_weight = class_weight
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.shuffle = shuffle
        self.distribution = distribution
