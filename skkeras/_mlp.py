"""Ready-made multilayer perceptrons: the notebook's knobs as flat parameters."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from ._classifier import KerasClassifierBase
from ._layers import ACTIVATIONS, OPTIMIZERS, build_mlp
from ._ready_made import (
    ClassifierOutputMixin,
    OptimizerParamsMixin,
    RegressorOutputMixin,
    training_params_doc,
)
from ._regressor import KerasRegressorBase

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "dropout": [Interval(Real, 0.0, 1.0, closed="left")],
    "l1": [Interval(Real, 0.0, None, closed="left")],
    "l2": [Interval(Real, 0.0, None, closed="left")],
    "activity_l1": [Interval(Real, 0.0, None, closed="left")],
    "activity_l2": [Interval(Real, 0.0, None, closed="left")],
    "batch_normalization": ["boolean"],
    "optimizer": [StrOptions(set(OPTIMIZERS)), HasMethods(["apply_gradients"])],
    "learning_rate": [Interval(Real, 0.0, None, closed="neither")],
    "momentum": [Interval(Real, 0.0, 1.0, closed="both")],
}


class _MLPMixin(OptimizerParamsMixin):
    """Builds the MLP from flat parameters; stops on a training-loss plateau like sklearn."""

    _network_from_params = True
    _allow_nd = False
    _stop_on_training_loss = True

    def _check_params(self) -> None:
        super()._check_params()
        self._hidden_layer_sizes()

    def _hidden_layer_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
        if not all(isinstance(size, Integral) and size >= 1 for size in sizes):
            raise ValueError(
                f"The 'hidden_layer_sizes' parameter of {type(self).__name__} must contain "
                f"positive integers (units per hidden layer). Got {self.hidden_layer_sizes!r} "
                "instead."
            )
        return tuple(int(size) for size in sizes)

    def _build_keras_model(self, meta: dict[str, Any]):
        n_units, output_activation = self._output_spec()
        return build_mlp(
            input_shape=tuple(meta["X_shape_"][1:]),
            hidden_layer_sizes=self._hidden_layer_sizes(),
            n_outputs=n_units,
            output_activation=output_activation,
            activation=self.activation,
            dropout=self.dropout,
            l1=self.l1,
            l2=self.l2,
            activity_l1=self.activity_l1,
            activity_l2=self.activity_l2,
            batch_normalization=self.batch_normalization,
        )


_MLP_PARAMS_DOC = """
    hidden_layer_sizes : array-like of int, default=(100,)
        Units of each hidden layer (``()`` for none).
    activation : str, default="relu"
        Hidden-layer activation: relu, prelu (learned slope), leaky_relu, elu, selu, tanh,
        sigmoid, hard_sigmoid, exponential, linear, gelu, swish, silu, softplus, mish or relu6.
    dropout : float in [0, 1), default=0.0
        Dropout rate after each hidden layer.
    l1, l2 : float, default=0.0
        L1 and L2 penalties on each hidden layer's kernel.
    activity_l1, activity_l2 : float, default=0.0
        L1 and L2 penalties on each hidden layer's output (activity regularization).
    batch_normalization : bool, default=False
        Batch normalization between each dense layer and its activation."""

_MLP_PARAMS_DOC += training_params_doc(200)

_MLP_ATTRIBUTES_DOC = """
    model_ : keras.Model
        The trained network.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``val_loss`` (with early stopping) and ``learning_rate``.
    n_iter_ : int
        Number of epochs run.
    best_epoch_ : int
        Epoch (1-based) with the lowest ``val_loss`` (``n_iter_`` without validation).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    n_outputs_ : int
        Number of targets."""


class KerasMLPClassifier(_MLPMixin, ClassifierOutputMixin, KerasClassifierBase):
    __doc__ = f"""Multilayer perceptron classifier built with Keras.

    Binary targets get one sigmoid output unit, multiclass targets a softmax layer and
    multilabel (indicator) targets one sigmoid unit per label.

    Parameters
    ----------
    {_MLP_PARAMS_DOC.strip()}
    class_weight : dict, "balanced" or None, default=None
        Weights per class label, applied as sample weights.

    Attributes
    ----------
    {_MLP_ATTRIBUTES_DOC.strip()}
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skkeras import KerasMLPClassifier
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(
    ...     StandardScaler(),
    ...     KerasMLPClassifier(hidden_layer_sizes=(32,), epochs=20, random_state=0),
    ... ).fit(X, y)
    >>> round(clf.score(X, y), 1)
    1.0
    """

    _parameter_constraints: dict = {
        **KerasClassifierBase._parameter_constraints,
        **_MLP_CONSTRAINTS,
    }

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        *,
        dropout: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        activity_l1: float = 0.0,
        activity_l2: float = 0.0,
        batch_normalization: bool = False,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        batch_size: int = 32,
        epochs: int = 200,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.activity_l1 = activity_l1
        self.activity_l2 = activity_l2
        self.batch_normalization = batch_normalization
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


class KerasMLPRegressor(_MLPMixin, RegressorOutputMixin, KerasRegressorBase):
    __doc__ = f"""Multilayer perceptron regressor built with Keras (mean squared error loss).

    Parameters
    ----------
    {_MLP_PARAMS_DOC.strip()}

    Attributes
    ----------
    {_MLP_ATTRIBUTES_DOC.strip()}

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skkeras import KerasMLPRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KerasMLPRegressor(hidden_layer_sizes=(16,), epochs=5, random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {**KerasRegressorBase._parameter_constraints, **_MLP_CONSTRAINTS}

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "relu",
        *,
        dropout: float = 0.0,
        l1: float = 0.0,
        l2: float = 0.0,
        activity_l1: float = 0.0,
        activity_l2: float = 0.0,
        batch_normalization: bool = False,
        optimizer: Any = "adam",
        learning_rate: float = 0.001,
        momentum: float = 0.9,
        batch_size: int = 32,
        epochs: int = 200,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.l1 = l1
        self.l2 = l2
        self.activity_l1 = activity_l1
        self.activity_l2 = activity_l2
        self.batch_normalization = batch_normalization
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
