"""Generic wrappers around a user's Keras model, with the scikeras interface."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError, Options
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.validation import check_is_fitted

from ._base import _as_numpy
from ._classifier import KerasClassifierBase
from ._compile import make_loss, make_metrics, make_optimizer
from ._data import check_predict_data
from ._keras import import_keras
from ._param_checks import (
    _predict_batch_size,
    _rows_per_batch,
    nested_leaves,
    rows_per_prediction_call,
)
from ._ready_made import CLASS_WEIGHT_DOC
from ._regressor import KerasRegressorBase
from ._routing import accepted_kwargs, routed
from ._scikeras_hooks import (
    DEFAULT_SCORERS,
    EncodedTarget,
    accuracy_scorer,
    encoder_metadata,
    input_dtype,
    input_ndim,
    r2_scorer,
)

_WRAPPER_CONSTRAINTS = {
    "model": "no_validation",
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "validation_batch_size": [
        Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None
    ],
    "run_eagerly": ["boolean"],
}


class _WrapperMixin:
    """Builds the network from the user's ``model`` (a builder callable or a model instance),
    or from a subclass's ``_keras_build_fn``; scikeras's subclassing hooks."""

    _accepts_extra_params = True

    def _onehot_as_classes(self) -> bool:
        # scikeras treats a one-hot y as one class per row whatever the loss
        return True

    # ------------------------------------------------------------------ scikeras hooks
    @property
    def target_encoder(self):
        """A scikit-learn transformer for ``y``, or None (the default) for skkeras's own
        encoding. Override it in a subclass to encode the target yourself: ``fit`` fits it on
        ``y`` (as ``target_encoder_``) and trains on its ``transform``; ``predict`` returns its
        ``inverse_transform`` of the network's outputs (a list for a multi-output network) and a
        classifier's ``predict_proba`` its ``inverse_transform(outputs, return_proba=True)``.
        The keys of its ``get_metadata()``, if it has one, become fitted attributes and ``meta``
        entries. It may return the same instance on every call (one it caches, or one shared by
        several estimators): ``fit`` then fits a copy of it, so that each estimator has its own
        fitted encoder and a refit that fails leaves the one it held as it was."""
        return None

    @property
    def feature_encoder(self):
        """A scikit-learn transformer for ``X``, or None (the default) to give the network
        ``X`` as validated. Override it in a subclass to transform ``X`` after validation: ``fit``
        fits it (as ``feature_encoder_``) and trains on its ``transform`` (which may return a
        list or dict of arrays for a multi-input network); prediction transforms ``X`` with it
        too. As for ``target_encoder``, an instance returned on every call is fitted as a copy."""
        return None

    def score(self, X, y, sample_weight=None) -> float:
        """The score of :meth:`predict` on ``X`` against ``y``: accuracy for a classifier,
        R^2 for a regressor, or what a subclass's ``scorer`` staticmethod returns (called as
        ``scorer(y, y_pred, sample_weight=sample_weight)``, as by scikeras).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        if type(self).scorer in DEFAULT_SCORERS:
            return super().score(X, y, sample_weight=sample_weight)
        return self.scorer(y, self.predict(X), sample_weight=sample_weight)

    def _check_params(self) -> None:
        super()._check_params()
        model = self.model
        if model is not None and not callable(model):  # None: refused when the model is built
            raise InvalidParameterError(
                f"The 'model' parameter of {type(self).__name__} must be a function that "
                f"returns a keras.Model, or a keras.Model instance; got {model!r} "
                f"({type(model).__name__})."
            )
        if model is not None and hasattr(self, "_keras_build_fn"):
            keras = import_keras()
            if not isinstance(model, keras.Model):
                raise ValueError(
                    f"{type(self).__name__} defines _keras_build_fn and was also given a "
                    f"builder as model={model!r}; pass model=None to build with "
                    "_keras_build_fn, or remove _keras_build_fn."
                )

    # ------------------------------------------------------------------ data and target
    def _check_fit_data(self, X, y, *, reset: bool):
        if not reset:
            return super()._check_fit_data(X, y, reset=reset)
        X_dtype, y_dtype, y_ndim = input_dtype(X), input_dtype(y), input_ndim(y)
        X, y = super()._check_fit_data(X, y, reset=reset)  # refuses y=None
        self.X_dtype_, self.y_dtype_, self.y_ndim_ = X_dtype, y_dtype, y_ndim
        self.__dict__.pop("feature_encoder_", None)  # the target's: in _fit_target
        self._expects_outputs = False
        encoder = _own_encoder(lambda: _hook(self, "feature_encoder"))
        if encoder is not None:
            fitted = encoder.fit(X)
            self.feature_encoder_ = encoder if fitted is None else fitted
            self._set_metadata(self.feature_encoder_, "feature_encoder")
        return X, y

    def _fit_target(self, y):
        self.__dict__.pop("target_encoder_", None)
        encoder = _own_encoder(self._target_encoder_for_fit)
        if encoder is None:
            self.n_outputs_expected_ = 1
            return super()._fit_target(y)
        target = EncodedTarget.fit(encoder, y, type(self).__name__)
        self.target_encoder_ = target.encoder
        self.n_outputs_ = target.n_outputs
        self.target_type_ = target.target_type
        self.n_outputs_expected_ = 1
        if hasattr(self, "class_weight"):  # a classifier: the encoder's metadata may set these
            self.n_classes_ = None if self.classes_ is None else len(self.classes_)
        self._set_metadata(target.encoder, "target_encoder")
        return target

    def _target_encoder_for_fit(self):
        """The ``target_encoder`` property, read as scikeras does for a new network: a
        classifier's ``classes_`` is then ``None`` (``fit``) or the sorted ``classes`` given to
        the first ``partial_fit``, so that a property can build its encoder from them. They stay
        ``classes_`` unless the encoder's ``get_metadata()`` gives its own; without an encoder
        (the default), the previous ``classes_`` are left for skkeras's own encoding to set."""
        if not hasattr(self, "class_weight"):
            return _hook(self, "target_encoder")
        missing = object()
        previous = self.__dict__.get("classes_", missing)
        classes = getattr(self, "_partial_fit_classes", None)
        self.classes_ = None if classes is None else np.unique(np.asarray(classes))
        encoder = None
        try:
            encoder = _hook(self, "target_encoder")
        finally:
            if encoder is None and previous is missing:
                del self.classes_
            elif encoder is None:
                self.classes_ = previous
        return encoder

    def _set_metadata(self, encoder, hook: str) -> None:
        metadata = encoder_metadata(encoder, hook)
        self._expects_outputs |= "n_outputs_expected_" in metadata
        vars(self).update(metadata)

    def _meta(self) -> dict[str, Any]:
        meta = super()._meta()
        facts = self.__dict__
        for key in ("X_dtype_", "y_dtype_", "y_ndim_", "n_outputs_expected_"):
            if key in facts:
                meta[key] = facts[key]
        if _has_encoders(facts):
            for key in ("target_encoder_", "feature_encoder_"):
                if key in facts:
                    meta[key] = facts[key]
                    meta.update(encoder_metadata(facts[key], key[:-1]))
        return meta

    def _model_facts(self, model, X) -> dict[str, Any]:
        if "target_encoder_" not in self.__dict__:
            return super()._model_facts(model, X)
        if self._expects_outputs and self.n_outputs_expected_ != len(model.outputs):
            raise ValueError(
                f"The target_encoder of {type(self).__name__} declares "
                f"n_outputs_expected_={self.n_outputs_expected_}, but the model built has "
                f"{len(model.outputs)} output(s)."
            )
        return {}  # the encoder, not skkeras, matches the target to the outputs

    def _apply_model_facts(self, facts: dict[str, Any]) -> None:
        if "target_encoder_" not in self.__dict__:
            super()._apply_model_facts(facts)

    def _check_continued_target(self, y) -> None:
        if "target_encoder_" not in self.__dict__:
            super()._check_continued_target(y)

    def _check_validation_target(self, y_val) -> None:
        if "target_encoder_" not in self.__dict__:  # an encoder's target is the encoder's
            super()._check_validation_target(y_val)

    def _sample_weight_for(self, y, sample_weight):
        if "target_encoder_" not in self.__dict__ or getattr(self, "class_weight", None) is None:
            return super()._sample_weight_for(y, sample_weight)
        weights = compute_sample_weight(self.class_weight, y)
        return weights if sample_weight is None else weights * sample_weight

    def _default_loss(self, n_units: int | None):
        if "target_encoder_" in self.__dict__ and hasattr(self, "class_weight"):
            raise ValueError(
                f"{type(self).__name__} has a target_encoder and loss=None: the loss for the "
                "encoder's target is not chosen for you (as in scikeras). Pass loss=, e.g. "
                "'categorical_crossentropy' for one-hot columns, "
                "'sparse_categorical_crossentropy' for class indices or "
                "'binary_crossentropy' for one sigmoid unit, or compile the model in its builder."
            )
        return super()._default_loss(n_units)

    def _stratify_labels(self, y):
        if "target_encoder_" in self.__dict__:
            return None  # the early-stopping split of an encoder's target is not stratified
        return super()._stratify_labels(y)

    def _training_inputs(
        self, X, y, sample_weight, train_idx, validation, extra_callbacks=(None, {})
    ) -> dict[str, Any]:
        if not _has_encoders(self.__dict__):
            return super()._training_inputs(
                X, y, sample_weight, train_idx, validation, extra_callbacks
            )
        if len(train_idx) != len(X):  # split before encoding: encoders may return lists
            X, y = X[train_idx], y[train_idx]
            sample_weight = None if sample_weight is None else sample_weight[train_idx]
        inputs = super()._training_inputs(
            X, y, sample_weight, np.arange(len(X)), validation, extra_callbacks
        )
        encoder = self.__dict__.get("feature_encoder_")
        if encoder is not None:
            inputs["data"] = (encoder.transform(inputs["data"][0]), inputs["data"][1])
            if inputs["validation_data"] is not None:
                X_val, *rest = inputs["validation_data"]
                inputs["validation_data"] = (encoder.transform(X_val), *rest)
        return inputs

    def _compiled_training(self) -> bool:
        # an encoder's arrays may have any shape: the compiled loop's graphs, shared by networks
        # of one architecture, assume skkeras's own target layout
        return not _has_encoders(self.__dict__)

    # ------------------------------------------------------------------ prediction
    def _predict_outputs(self, X, batch_size=None):
        if not _has_encoders(self.__dict__):
            return super()._predict_outputs(X, batch_size)
        check_is_fitted(self)
        batch_size = rows_per_prediction_call(self, batch_size)
        X = check_predict_data(self, X, allow_nd=self._allow_nd)
        encoder = self.__dict__.get("feature_encoder_")
        if encoder is not None:
            X = encoder.transform(X)
        batch_size = _rows_per_batch(batch_size, _num_rows(X))
        outputs = self.model_.predict(X, batch_size=batch_size, verbose=0)
        # a target encoder gets every output of a multi-output network
        return outputs if "target_encoder_" in self.__dict__ else _as_numpy(outputs)

    def predict(self, X, **kwargs):
        """Predictions for ``X``: labels for a classifier (an indicator matrix for multilabel
        targets), values of shape (n_samples,) or (n_samples, n_outputs) like ``y`` for a
        regressor; a subclass's ``target_encoder_.inverse_transform`` of the outputs.
        ``batch_size`` (rows per forward pass, -1 for all) may be given as a keyword."""
        encoder = self.__dict__.get("target_encoder_")
        if encoder is None:
            return super().predict(X, **kwargs)
        batch_size = _predict_batch_size(self, kwargs, "predict")
        return encoder.inverse_transform(self._predict_outputs(X, batch_size))

    # ------------------------------------------------------------------ building
    def _build_keras_model(self, meta: dict[str, Any]):
        keras = import_keras()
        model = self.model
        if model is None:
            builder = getattr(self, "_keras_build_fn", None)
            if builder is None:
                raise ValueError(
                    f"The 'model' parameter of {type(self).__name__} is None; pass a function "
                    "that returns a keras.Model, or a keras.Model instance (or, in a subclass, "
                    "define _keras_build_fn)."
                )
            model = builder
        if isinstance(model, keras.Model):
            return _trained_copy(keras, model)
        arguments = self._builder_arguments(meta, with_compile_kwargs=False)
        kwargs = accepted_kwargs(model, arguments)
        if "compile_kwargs" in accepted_kwargs(model, {"compile_kwargs": None}):
            # made only for a builder that asks: compiling again would make a second set of
            # metric objects (and an optimizer) for a model the builder left uncompiled
            kwargs["compile_kwargs"] = self._builder_compile_kwargs(arguments["params"])
        return model(**kwargs)

    def _builder_arguments(
        self, meta: dict[str, Any], *, with_compile_kwargs: bool = True
    ) -> dict[str, Any]:
        """What a builder may ask for: parameters, ``meta``, ``compile_kwargs``, ``params``."""
        params = self.get_params(deep=False)
        extras = {
            key: value
            for key, value in self._extra_params().items()
            if "__" not in key
        }
        arguments = {
            **params,
            **extras,
            **routed(params, "model"),
            "meta": dict(meta),
            "params": params,
        }
        if with_compile_kwargs:
            arguments["compile_kwargs"] = self._builder_compile_kwargs(params)
        return arguments

    def _builder_compile_kwargs(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "optimizer": make_optimizer(
                self.optimizer, routed(params, "optimizer"), estimator_name=type(self).__name__
            ),
            "loss": make_loss(self.loss, routed(params, "loss")),
            "metrics": make_metrics(self.metrics, routed(params, "metrics")),
        }

    def _train(self, model, X, y, sample_weight, train_idx, validation, epochs, fit_params,
               template_ready=None, base_learning_rate=None, recorder=None):
        if self.validation_split and validation is None:
            fit_params = {"validation_split": self.validation_split, **fit_params}
        if self.validation_batch_size is not None:
            fit_params = {"validation_batch_size": self.validation_batch_size, **fit_params}
        if fit_params.get("validation_batch_size") == -1:  # scikeras: all rows of X
            fit_params = {**fit_params, "validation_batch_size": max(1, len(X))}
        return super()._train(
            model, X, y, sample_weight, train_idx, validation, epochs, fit_params,
            template_ready, base_learning_rate=base_learning_rate, recorder=recorder,
        )

    def _compile_kwargs(self, model, X, n_train_steps: int) -> dict[str, Any]:
        kwargs = super()._compile_kwargs(model, X, n_train_steps)
        if self.run_eagerly:
            kwargs["run_eagerly"] = True
        return kwargs


def _own_encoder(read: Callable[[], Any]):
    """The encoder a new network's fit fits, from ``read`` (the property, read as fit reads it).

    A property that returns one instance on every call (one it caches, the encoder the
    estimator already holds, or one shared by several estimators such as a search's clones)
    gives a copy, so that each fit fits its own: a refit that fails then leaves the encoder the
    estimator held as it was fitted, and estimators that share the property's instance do not
    refit each other's encoder (in a search's threads, not even at once). A property that makes
    a new encoder per call (scikeras's pattern) is read twice and not copied. An instance that
    cannot be copied (``copy.deepcopy`` raises) is fitted in place, as scikeras does.
    """
    encoder = read()
    if encoder is None or read() is not encoder:
        return encoder
    try:
        return copy.deepcopy(encoder)
    except Exception:  # e.g. it holds a lock or an open file
        return encoder


def _hook(estimator, name: str):
    """The value of the ``target_encoder`` / ``feature_encoder`` property. Read through its
    descriptor: an AttributeError raised inside a subclass's property (e.g. an attribute it
    reads that is not set) would otherwise be hidden by the estimator's ``__getattr__``, which
    reports the property itself as missing."""
    descriptor = inspect.getattr_static(type(estimator), name)
    getter = getattr(descriptor, "__get__", None)
    return descriptor if getter is None else getter(estimator, type(estimator))


def _has_encoders(attributes: dict) -> bool:
    """Whether a subclass's ``target_encoder`` or ``feature_encoder`` was fitted (two lookups:
    the default prediction path pays nothing more)."""
    return "target_encoder_" in attributes or "feature_encoder_" in attributes


def _trained_copy(keras, model):
    """A copy of a model instance with its architecture, compile settings and current weights
    (trainable and not: a pretrained network's starting point), so that fitting trains the copy
    and leaves the user's instance as it was. The optimizer starts afresh. The instance's own
    losses, metrics and optimizer class are found by name while its compile settings are copied,
    so that a plain function (not registered with Keras) compiles the copy as it compiled the
    instance."""
    with keras.saving.custom_object_scope(_compile_objects(model)):
        try:
            clone = keras.models.clone_model(model)
            _copy_weights(model, clone)
            if model.compiled:
                clone.compile_from_config(model.get_compile_config())
        except (TypeError, ValueError) as error:
            if _compile_config_readable(keras, model):
                raise
            raise ValueError(
                f"Could not copy the compile settings (loss, metrics, optimizer) of the model "
                f"passed as model= ({model.name!r}): {error} Compile it with named functions "
                "or classes (a lambda cannot be copied; two different objects of one name are "
                "ambiguous), register them with keras.saving.register_keras_serializable, or "
                "pass a function that builds and compiles the model instead."
            ) from error
    return clone


def _copy_weights(model, clone) -> None:
    weights = model.get_weights()
    if weights:
        if len(clone.weights) != len(weights):
            raise ValueError(
                f"Could not copy the weights of the model passed as model= ({model.name!r}): "
                f"it has {len(weights)} weights, its clone {len(clone.weights)}. Pass a "
                "function that builds the model (and loads its weights) instead."
            )
        clone.set_weights(weights)


def _compile_objects(model) -> dict[str, Any]:
    """The functions and classes of the losses, metrics and optimizer ``model`` was compiled
    with, by the names its compile config gives them (a name two of them share is left out)."""
    # the objects compile received: Keras keeps no public handle on the metrics
    config = getattr(getattr(model, "_compile_config", None), "config", None) or {}
    found: dict[str, set] = {}
    for _, value in nested_leaves(config):
        if value is None or isinstance(value, str | bool | Real):
            continue
        obj = value if inspect.isroutine(value) or isinstance(value, type) else type(value)
        name = getattr(obj, "__name__", None)
        if isinstance(name, str):
            found.setdefault(name, set()).add(obj)
    return {name: objects.pop() for name, objects in found.items() if len(objects) == 1}


def _compile_config_readable(keras, model) -> bool:
    """Whether ``model``'s compile config deserializes (under the caller's object scope)."""
    if not model.compiled:
        return True
    try:
        keras.saving.deserialize_keras_object(model.get_compile_config())
    except Exception:
        return False
    return True


_COMMON_DOC = """
    model : callable or keras.Model, default=None
        A function returning a compiled or uncompiled ``keras.Model``, or a model instance: each
        fit (and :meth:`initialize`) trains a copy of it with its architecture, compile settings
        and current weights (pretrained weights are the starting point; the optimizer starts
        afresh). Its losses and metrics may be plain functions or classes not registered with
        Keras (a lambda, or two different ones of one name, are refused before training). The
        instance itself is not trained, unlike in scikeras: ``model_ is not
        model``, and ``clone`` gives independent estimators. ``None`` in a subclass that
        defines ``_keras_build_fn``: that method is the builder. A function (or
        ``_keras_build_fn``) receives the keyword arguments it declares, taken from this
        estimator's parameters (``hidden=16`` or routed ``model__hidden=16``), plus ``meta``
        (fitted facts such as ``n_features_in_``, ``n_classes_``, ``X_shape_``, ``X_dtype_``,
        ``y_dtype_``, ``y_ndim_``), ``compile_kwargs`` and ``params`` if it asks for them.
    optimizer : str, keras optimizer class or instance, default="rmsprop"
        Used when the returned model is not compiled; ``optimizer__name=value`` sets its arguments.
    loss : str, callable or None, default=None
        Loss for an uncompiled model; ``None`` picks one from the target (see Notes).
        ``loss__name=value`` sets its arguments (refused with ``loss=None``: name the loss
        they are for).
    metrics : list or None, default=None
        Keras metrics for an uncompiled model; ``metrics__name=value`` for metric classes.
    epochs : int, default=1
        Number of epochs (upper bound with early stopping).
    batch_size : int or None, default=None
        Mini-batch size; ``None`` means Keras's default of 32, -1 all training rows in one
        batch (as in scikeras; likewise ``predict__batch_size=-1`` and
        ``validation_batch_size=-1``). A routed ``fit__batch_size``
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
        rebuild. ``partial_fit`` follows the same rules. A network :func:`skkeras.load` loaded
        without its training configuration is compiled again (a model the builder compiled is
        built again by the builder and given the loaded weights), with a fresh optimizer.
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
        Number of targets.
    X_dtype_ : numpy.dtype
        dtype of ``X`` as given to ``fit`` (the network gets float32).
    y_dtype_ : numpy.dtype
        dtype of ``y`` as given to ``fit``.
    y_ndim_ : int
        Number of dimensions of ``y`` as given to ``fit``.
    n_outputs_expected_ : int
        Number of network outputs expected: 1, unless a ``target_encoder``'s
        ``get_metadata()`` says otherwise.
    target_encoder_ : transformer
        The fitted ``target_encoder``, only in a subclass that overrides it.
    feature_encoder_ : transformer
        The fitted ``feature_encoder``, only in a subclass that overrides it.
    initialized_ : bool
        Whether there is a network (after :meth:`initialize` or ``fit``).
    current_epoch : int
        Epochs trained so far, ``len(history_["loss"])``."""


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

    A one-hot ``y`` (0/1 with exactly one 1 per row) is, as in scikeras, one class per row:
    ``classes_`` are the column indices, ``n_outputs_`` is 1, ``predict`` returns one-hot rows
    of ints (the argmax of ``predict_proba``) and ``class_weight`` weights each row by its
    class. ``target_type_`` stays ``"multilabel-indicator"`` (scikeras's value). The ready-made
    estimators keep such a ``y`` multilabel (one sigmoid unit per column).

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

    #: ``score``'s metric, called as ``scorer(y_true, y_pred, sample_weight=...)``; override
    #: it (a staticmethod) in a subclass to change ``score``, as in scikeras.
    scorer = staticmethod(accuracy_scorer)

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

    #: ``score``'s metric, called as ``scorer(y_true, y_pred, sample_weight=...)``; override
    #: it (a staticmethod) in a subclass to change ``score``, as in scikeras.
    scorer = staticmethod(r2_scorer)

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


def _num_rows(X) -> int:
    """Rows of a feature encoder's output (an array, or a list or dict of arrays)."""
    first = next(iter(X.values())) if isinstance(X, dict) else X[0] if isinstance(X, list) else X
    return len(first)
