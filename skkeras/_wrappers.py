"""Generic wrappers around a user's Keras model, with the scikeras interface."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

from sklearn.utils._param_validation import Interval, InvalidParameterError

from ._classifier import KerasClassifierBase
from ._compile import make_loss, make_metrics, make_optimizer
from ._keras import import_keras
from ._ready_made import CLASS_WEIGHT_DOC
from ._regressor import KerasRegressorBase
from ._routing import accepted_kwargs, routed

_WRAPPER_CONSTRAINTS = {
    "model": "no_validation",
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "validation_batch_size": [Interval(Integral, 1, None, closed="left"), None],
    "run_eagerly": ["boolean"],
}


class _WrapperMixin:
    """Builds the network from the user's ``model`` (a builder callable or a model instance)."""

    _accepts_extra_params = True

    def _check_params(self) -> None:
        super()._check_params()
        model = self.model
        if model is not None and not callable(model):  # None: refused when the model is built
            raise InvalidParameterError(
                f"The 'model' parameter of {type(self).__name__} must be a function that "
                f"returns a keras.Model, or a keras.Model instance; got {model!r} "
                f"({type(model).__name__})."
            )

    def _build_keras_model(self, meta: dict[str, Any]):
        keras = import_keras()
        model = self.model
        if model is None:
            raise ValueError(
                f"The 'model' parameter of {type(self).__name__} is None; pass a function that "
                "returns a keras.Model, or a keras.Model instance."
            )
        if isinstance(model, keras.Model):
            return _fresh_copy(keras, model)
        return model(**accepted_kwargs(model, self._builder_arguments(meta)))

    def _builder_arguments(self, meta: dict[str, Any]) -> dict[str, Any]:
        """What a builder may ask for: parameters, ``meta``, ``compile_kwargs``, ``params``."""
        params = self.get_params(deep=False)
        extras = {
            key: value
            for key, value in self._extra_params().items()
            if "__" not in key
        }
        return {
            **params,
            **extras,
            **routed(params, "model"),
            "meta": dict(meta),
            "compile_kwargs": self._builder_compile_kwargs(params),
            "params": params,
        }

    def _builder_compile_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "optimizer": make_optimizer(
                self.optimizer, routed(params, "optimizer"), estimator_name=type(self).__name__
            ),
            "loss": make_loss(self.loss, routed(params, "loss")),
            "metrics": make_metrics(self.metrics, routed(params, "metrics")),
        }

    def _train(self, model, X, y, sample_weight, train_idx, validation, epochs, fit_params,
               template_ready=None, base_learning_rate=None):
        if self.validation_split and validation is None:
            fit_params = {"validation_split": self.validation_split, **fit_params}
        if self.validation_batch_size is not None:
            fit_params = {"validation_batch_size": self.validation_batch_size, **fit_params}
        return super()._train(
            model, X, y, sample_weight, train_idx, validation, epochs, fit_params,
            template_ready, base_learning_rate=base_learning_rate,
        )

    def _compile_kwargs(self, model, X, n_train_steps: int) -> dict[str, Any]:
        kwargs = super()._compile_kwargs(model, X, n_train_steps)
        if self.run_eagerly:
            kwargs["run_eagerly"] = True
        return kwargs


def _fresh_copy(keras, model):
    """An untrained copy of a model instance (same architecture and compile settings)."""
    clone = keras.models.clone_model(model)
    if model.compiled:
        clone.compile_from_config(model.get_compile_config())
    return clone


_COMMON_DOC = """
    model : callable or keras.Model, default=None
        A function returning a compiled or uncompiled ``keras.Model``, or a model instance (an
        untrained copy is made for each fit). The function receives the keyword arguments it
        declares, taken from this estimator's parameters (``hidden=16`` or routed
        ``model__hidden=16``), plus ``meta`` (fitted facts such as ``n_features_in_``,
        ``n_classes_``, ``X_shape_``), ``compile_kwargs`` and ``params`` if it asks for them.
    optimizer : str, keras optimizer class or instance, default="rmsprop"
        Used when the returned model is not compiled; ``optimizer__name=value`` sets its arguments.
    loss : str, callable or None, default=None
        Loss for an uncompiled model; ``None`` picks one from the target (see Notes).
        ``loss__name=value`` sets its arguments.
    metrics : list or None, default=None
        Keras metrics for an uncompiled model; ``metrics__name=value`` for metric classes.
    epochs : int, default=1
        Number of epochs (upper bound with early stopping).
    batch_size : int or None, default=None
        Mini-batch size; ``None`` means Keras's default of 32. A routed ``fit__batch_size``
        (likewise ``fit__shuffle``, ``fit__epochs``, ``fit__verbose``) overrides it.
    validation_batch_size : int or None, default=None
        Batch size for validation data.
    verbose : int, default=0
        Keras's ``fit`` verbosity.
    callbacks : list, dict or None, default=None
        Keras callbacks (instances are copied for each fit; classes are instantiated with routed
        ``callbacks__name=value`` arguments).
    validation_split : float, default=0.0
        Keras's own unshuffled validation split (the last fraction of the data). Prefer
        ``early_stopping=True`` with ``validation_fraction``, which is shuffled and stratified.
    shuffle : bool, default=True
        Shuffle the training data every epoch.
    run_eagerly : bool, default=False
        Run Keras eagerly (for debugging).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation split. An int gives
        identical predictions on refits; global random state is left as found.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit`` instead of rebuilding it.
        Changed ``optimizer``, ``optimizer__*``, ``metrics`` or ``compile__*`` parameters
        recompile it with a fresh optimizer (when the builder left it uncompiled; for a model
        the builder compiled they are builder inputs, refused like the others); unchanged,
        the optimizer's state carries on. Changed parameters the builder takes (``model``, its
        arguments, ``model__*``, ``loss``...) raise a ValueError: set ``warm_start=False`` to
        rebuild. ``partial_fit`` follows the same rules.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data given to ``fit`` (shuffled; stratified for
        classifiers) and stop when ``val_loss`` stops improving.
    validation_fraction : float, default=0.1
        Fraction of the training data held out when ``early_stopping=True``.
    patience : int or None, default=10
        Epochs without improvement of ``min_delta`` before stopping; ``None`` never stops.
    min_delta : float, default=0.0
        Minimum decrease of ``val_loss`` that counts as an improvement.
    restore_best_weights : bool, default=True
        With early stopping, keep the weights of the best epoch.
    distribution : tf.distribute.Strategy, keras.distribution.Distribution or None, default=None
        Build, compile and train the network inside ``distribution.scope()`` (data-parallel
        training on several devices: ``tf.distribute.MirroredStrategy`` on TensorFlow,
        ``keras.distribution.DataParallel`` on JAX).
    **kwargs : dict
        Extra builder arguments and routed ``prefix__name`` parameters. Any of these survives
        ``clone`` and can be searched by ``GridSearchCV``."""

_ATTRIBUTES_DOC = """
    model_ : keras.Model
        The trained network.
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``val_loss`` (with validation), metrics and ``learning_rate``.
    n_iter_ : int
        Number of epochs run.
    best_epoch_ : int
        Epoch (1-based) with the lowest ``val_loss``; ``n_iter_`` when there is no validation.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when ``X`` was a DataFrame with string column names.
    X_shape_ : tuple
        Shape of the training ``X``.
    n_outputs_ : int
        Number of targets."""


class KerasClassifier(_WrapperMixin, KerasClassifierBase):
    __doc__ = f"""A scikit-learn classifier around a Keras model (scikeras-compatible interface).

    Parameters
    ----------
    {_COMMON_DOC.strip()}
    {CLASS_WEIGHT_DOC.strip()}

    Attributes
    ----------
    {_ATTRIBUTES_DOC.strip()}
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_classes_ : int
        Number of classes.

    Notes
    -----
    With ``loss=None`` an uncompiled model gets ``binary_crossentropy`` when it has one output
    unit (or a multilabel target) and ``sparse_categorical_crossentropy`` otherwise. The target
    is encoded to match the loss: integer labels for sparse losses, one-hot columns for
    ``categorical_crossentropy``, a 0/1 column for a single sigmoid unit.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_iris
    >>> from skkeras import KerasClassifier
    >>> def build(hidden, meta):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(hidden, activation="relu"),
    ...         keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ...     ])
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = KerasClassifier(build, hidden=16, epochs=5, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints: dict = {
        **KerasClassifierBase._parameter_constraints,
        **_WRAPPER_CONSTRAINTS,
    }

    def __init__(
        self,
        model: Callable | Any = None,
        *,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        epochs: int = 1,
        batch_size: int | None = None,
        validation_batch_size: int | None = None,
        verbose: int = 0,
        callbacks: Any = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        run_eagerly: bool = False,
        class_weight: dict | str | None = None,
        random_state: Any = None,
        warm_start: bool = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        distribution: Any = None,
        **kwargs: Any,
    ):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.run_eagerly = run_eagerly
        self.class_weight = class_weight
        self.random_state = random_state
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.distribution = distribution
        vars(self).update(kwargs)


class KerasRegressor(_WrapperMixin, KerasRegressorBase):
    __doc__ = f"""A scikit-learn regressor around a Keras model (scikeras-compatible interface).

    Parameters
    ----------
    {_COMMON_DOC.strip()}

    Attributes
    ----------
    {_ATTRIBUTES_DOC.strip()}

    Notes
    -----
    With ``loss=None`` an uncompiled model is trained with mean squared error. ``predict``
    returns shape (n_samples,) for a 1-D ``y`` and (n_samples, n_outputs) otherwise.

    Examples
    --------
    >>> import keras
    >>> from sklearn.datasets import load_diabetes
    >>> from skkeras import KerasRegressor
    >>> def build(meta):
    ...     return keras.Sequential([
    ...         keras.Input((meta["n_features_in_"],)),
    ...         keras.layers.Dense(16, activation="relu"),
    ...         keras.layers.Dense(1),
    ...     ])
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = KerasRegressor(build, epochs=3, random_state=0).fit(X, y)
    >>> reg.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **KerasRegressorBase._parameter_constraints,
        **_WRAPPER_CONSTRAINTS,
    }

    def __init__(
        self,
        model: Callable | Any = None,
        *,
        optimizer: Any = "rmsprop",
        loss: Any = None,
        metrics: Any = None,
        epochs: int = 1,
        batch_size: int | None = None,
        validation_batch_size: int | None = None,
        verbose: int = 0,
        callbacks: Any = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        run_eagerly: bool = False,
        random_state: Any = None,
        warm_start: bool = False,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        min_delta: float = 0.0,
        restore_best_weights: bool = True,
        distribution: Any = None,
        **kwargs: Any,
    ):
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.metrics = metrics
        self.epochs = epochs
        self.batch_size = batch_size
        self.validation_batch_size = validation_batch_size
        self.verbose = verbose
        self.callbacks = callbacks
        self.validation_split = validation_split
        self.shuffle = shuffle
        self.run_eagerly = run_eagerly
        self.random_state = random_state
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.min_delta = min_delta
        self.restore_best_weights = restore_best_weights
        self.distribution = distribution
        vars(self).update(kwargs)
