"""The estimator core: parameters, the fit skeleton and prediction, shared by every estimator.

The base class owns the loop (validate -> split -> build -> compile -> train -> record);
subclasses provide the target handling (classifier or regressor) and ``_build_keras_model``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import cache
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from . import _fastpath, _reuse
from ._compile import make_loss, make_metrics, make_optimizer
from ._continued import (
    _COMPILE_PARAMS,
    _TRAINING_PARAMS,
    _TRAINING_PREFIXES,
    UnsavedValue,
    _changes,
    _shown,
    _snapshot,
    copy_weights,
    unrestored,
)
from ._data import check_fit_data, check_predict_data, check_validation_data, check_weights
from ._keras import fit_seed, import_keras, resolve_seed, seeded
from ._param_checks import (
    _callback_items,
    _check_builder_loss,
    _check_callback_entries,
    _check_compile_arguments,
    _check_fit_arguments,
    _check_loss_and_metrics,
    _check_predict_batch_size,
    _check_routed_learning_rate,
    _check_validation_monitors,
    _rows_per_batch,
    rows_per_prediction_call,
)
from ._routing import ROUTING_PREFIXES, is_routed_name, routed
from ._training import (
    default_compile_options,
    early_stopping_callback,
    instantiate_callbacks,
    interrupted_result,
    run_training,
    run_training_from_start,
    split_validation,
)

#: Keras ``fit`` arguments that, given as ``fit__name`` (or to ``fit``), override the
#: estimator's parameter of that name for the fit, with that parameter's constraints.
_FIT_OVERRIDES = {
    "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
    "shuffle": ["boolean"],
    "epochs": [Interval(Integral, 1, None, closed="left")],
    "verbose": ["verbose"],
}
#: Other Keras ``fit`` arguments, passed on to ``Model.fit`` with these constraints (Keras
#: would accept a ``validation_split`` of 2 or a ``steps_per_epoch`` of -1 and train on them).
_FIT_PASSED_ON = {
    "validation_split": [Interval(Real, 0, 1, closed="left")],
    "validation_batch_size": [
        Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None
    ],
    "steps_per_epoch": [Interval(Integral, 1, None, closed="left"), None],
    "validation_steps": [Interval(Integral, 1, None, closed="left"), None],
    "validation_freq": [Interval(Integral, 1, None, closed="left")],
    "class_weight": [dict, None],
}
#: Keras ``fit`` arguments the estimator sets itself, with what to do instead.
_FIT_RESERVED = {
    "x": "X is fit's own argument",
    "y": "y is fit's own argument",
    "sample_weight": "sample_weight is fit's own argument",
    "initial_epoch": (
        "epochs are numbered from the fitted history_ (training continues from the last epoch "
        "with warm_start=True or partial_fit, and starts at 0 otherwise)"
    ),
}
#: The end of the message refusing a continued fit's ``y`` unlike the fitted target.
CONTINUED_TARGET_ADVICE = (
    " Training continues the fitted network (warm_start=True or partial_fit); to train on "
    "another target, build a new network: call fit with warm_start=False."
)
#: Fitted attributes not ending in ``_``: the trained network without a Keras model, what it
#: was built and compiled with (see :meth:`BaseKerasEstimator._forget_fit`).
_FITTED_PRIVATE = frozenset(
    {"_trained_state", "_built_with", "_compiled_by_builder", "_optimizer_base_rate",
     "_expects_outputs"}
)

class BaseKerasEstimator(BaseEstimator):
    """Shared machinery of every skkeras estimator. Not meant to be used directly."""

    _parameter_constraints: dict = {
        "optimizer": [str, HasMethods(["apply_gradients"]), type],
        "loss": [str, callable, None],
        "metrics": [list, tuple, dict, str, None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        # -1: all training rows in one batch (scikeras's spelling)
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1}), None],
        "verbose": ["verbose"],
        "callbacks": [list, tuple, dict, HasMethods(["set_model"]), None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 0, None, closed="left"), None],
        "min_delta": [Interval(Real, 0, None, closed="left")],
        "restore_best_weights": ["boolean"],
        "shuffle": ["boolean"],
        "distribution": [HasMethods(["scope"]), None],
    }

    #: Whether X may have more than two dimensions (sequences, images).
    _allow_nd = True
    #: Private fitted attributes that :func:`skkeras.save` stores: the learning rate a fresh
    #: optimizer made by a warm fit started with (where continued schedules count from), and
    #: what continued training compares with (the parameters the network was built and compiled
    #: with, and whether its builder compiled it); see ``_check_continued_params``.
    _persisted_private_attributes = ("_optimizer_base_rate", "_built_with", "_compiled_by_builder")
    #: Whether, without early stopping, training stops when the training loss plateaus
    #: (scikit-learn's MLP behaviour) instead of always running ``epochs``.
    _stop_on_training_loss = False
    #: Whether the constructor takes extra (builder and routed) keyword arguments.
    _accepts_extra_params = False
    #: Whether the network is built from the estimator's parameters alone (the ready-made
    #: estimators), so that fits with equal parameters, data shapes and seeds start from the same
    #: state and may skip building it (see :mod:`skkeras._reuse`).
    _network_from_params = False
    _y_numeric = False

    # ------------------------------------------------------------------ parameters
    @classmethod
    def _get_param_names(cls) -> list[str]:
        # scikit-learn inspects the constructor's signature at every call (several times a
        # fit); a class's signature does not change, so it is read once
        return list(_constructor_param_names(cls))

    def _extra_params(self) -> dict[str, Any]:
        declared = set(self._get_param_names())
        return {
            key: value
            for key, value in vars(self).items()
            if key not in declared and not key.startswith("_") and not key.endswith("_")
        }

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Get parameters, including extra builder and routed (``prefix__name``) ones."""
        params = super().get_params(deep=deep)
        params.update(self._extra_params())
        return params

    def set_params(self, **params) -> BaseKerasEstimator:
        """Set parameters; routed ``prefix__name`` parameters may be added to wrappers."""
        valid = set(self._get_param_names()) | set(self._extra_params())
        for key, value in params.items():
            routed_ok = self._accepts_extra_params and is_routed_name(key)
            if key not in valid and not routed_ok:
                raise ValueError(self._invalid_parameter_message(key, valid))
            setattr(self, key, value)
        return self

    def _invalid_parameter_message(self, key: str, valid: set[str]) -> str:
        message = (
            f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
            f"Valid parameters are: {sorted(valid)!r}."
        )
        if self._accepts_extra_params:
            prefixes = ", ".join(f"'{prefix}__'" for prefix in ROUTING_PREFIXES)
            message += f" Routed parameters start with one of {prefixes}."
        return message

    # ------------------------------------------------------------------ hooks
    def _fit_target(self, y):  # pragma: no cover - provided by the classifier/regressor bases
        raise NotImplementedError

    def _build_keras_model(self, meta: dict[str, Any]):  # pragma: no cover - subclass hook
        raise NotImplementedError

    def _default_loss(self, n_units: int | None):  # pragma: no cover - subclass hook
        raise NotImplementedError

    def _optimizer_kwargs(self) -> dict[str, Any]:
        return routed(self.get_params(deep=False), "optimizer")

    def _sample_weight_for(self, y, sample_weight):
        return sample_weight

    def _stratify_labels(self, y):
        return None

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None, **fit_params) -> BaseKerasEstimator:
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features) or (n_samples, ...)
            Training data; converted to float32.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights (non-negative). They are relative, as in scikit-learn's MLP:
            combined with ``class_weight``, the training rows' weights are scaled to a mean of
            1 before training (the validation rows split off for early stopping by the same
            factor), so multiplying every weight by one number does not change the fit.
        **fit_params : dict
            ``validation_data=(X_val, y_val)`` or ``(X_val, y_val, sample_weight)`` fixes the
            validation set used for early stopping (checked like ``X``, ``y`` and
            ``sample_weight``);
            ``batch_size``, ``shuffle``, ``epochs`` and ``verbose`` (also as routed
            ``fit__name`` parameters) override the estimator's own for this fit; other keys
            are passed to Keras's ``Model.fit`` (a key it does not take is refused before
            training, as are ``validation_split``, ``steps_per_epoch``, ``validation_steps``,
            ``validation_batch_size``, ``validation_freq`` and ``class_weight`` values it would
            misuse).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        skkeras.TrainingDivergedError
            A ``ValueError``: the training loss became NaN or infinite. Training stops at the
            end of that epoch.

        Notes
        -----
        A fit that builds a new network and raises (refused input, a failing builder or
        callback, an interruption, divergence) leaves the estimator as it was before the call:
        a fitted one keeps its network with its own ``classes_``, ``n_outputs_``, shapes and
        fitted ``target_encoder_`` / ``feature_encoder_``.

        A fit that continues training (``warm_start=True``) and raises keeps what it trained,
        as Keras's ``Model.fit`` does:

        - The epochs that completed are in the network and counted in ``history_``,
          ``n_iter_`` and ``current_epoch``; an epoch whose end a callback failed in
          completed.
        - An epoch interrupted between its steps (a ``KeyboardInterrupt`` or an error in a
          callback's ``on_train_batch_end``, which trains through Keras's own ``fit``) is not
          counted, but the steps it ran are in the weights. ``predict`` uses those weights, and
          a further ``fit`` or :meth:`partial_fit` continues from them. ``best_epoch_`` names
          the best of the epochs this fit completed; when none did, it keeps its value.
        - An epoch whose loss diverged completed: it is counted, with its non-finite loss, and
          its steps are in the weights. With ``early_stopping=True`` and
          ``restore_best_weights=True``, the weights of the best epoch of this fit
          (``best_epoch_``) are put back, as at the end of any fit. A new fit
          (``warm_start=False``) starts over.
        """
        reinitialize = not (self.warm_start and self._is_fitted())
        fit_params = self._merged_fit_params(fit_params)
        epochs = fit_params.pop("epochs", self.epochs)
        return self._fit(X, y, sample_weight, fit_params, epochs, reinitialize)

    def partial_fit(self, X, y, sample_weight=None, **fit_params) -> BaseKerasEstimator:
        """Train for one epoch, building the network first if it is not fitted yet.

        ``sample_weight`` is scaled to a mean of 1 over each call's rows (as scikit-learn's MLP
        averages each batch's loss with its weights): weights are relative within a call, not
        across calls. ``early_stopping=True`` is refused, as by scikit-learn's MLP.

        Parameters
        ----------
        X, y, sample_weight, **fit_params
            As in :meth:`fit` (``epochs`` is refused: one epoch per call).

        Returns
        -------
        self : object
            The estimator, trained for one more epoch.

        Raises
        ------
        skkeras.TrainingDivergedError
            A ``ValueError``: the epoch's training loss became NaN or infinite.

        Notes
        -----
        A call that raises keeps what it trained, as a continued :meth:`fit` does: an epoch
        that completed, or diverged, is in the weights and counted in ``history_``, ``n_iter_``
        and ``current_epoch``; an epoch interrupted between its steps (``KeyboardInterrupt``
        in a callback's ``on_train_batch_end``) is not counted, but the steps it ran are in the
        weights. The first call, which builds the network, leaves the estimator as it was
        before (unfitted) instead.
        """
        self._check_partial_fit()
        if "epochs" in fit_params:
            raise ValueError(
                f"partial_fit trains one epoch; got epochs={fit_params['epochs']!r}. Call it "
                "again for more epochs, or use fit."
            )
        fit_params = self._merged_fit_params(fit_params)
        fit_params.pop("epochs", None)  # a routed fit__epochs sets fit's epochs
        return self._fit(X, y, sample_weight, fit_params, 1, not self._is_fitted())

    @property
    def initialized_(self) -> bool:
        """Whether the estimator has a network (built by :meth:`initialize` or ``fit``)."""
        return self._is_fitted()

    @property
    def current_epoch(self) -> int:
        """The number of epochs trained so far (``len(history_["loss"])``; 0 before ``fit``),
        as scikeras's ``current_epoch``."""
        return len(self.__dict__.get("history_", {}).get("loss", []))

    def initialize(self, X, y=None) -> BaseKerasEstimator:
        """Build (and compile) the network and set the fitted attributes, without training.

        As scikeras's ``initialize``: ``predict`` works right after, with the untrained network
        (for a wrapper given a pretrained ``keras.Model`` as ``model=``, with a copy of its
        weights). A later ``fit`` builds a new network, unless ``warm_start=True``: it then
        trains this one (``partial_fit`` too).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Samples of the input the network will get (for ``n_features_in_``, ``X_shape_``).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets (for the classes of a classifier, the number of outputs of a regressor);
            required, unlike scikeras's ``BaseWrapper.initialize``.

        Returns
        -------
        self : object
            The estimator, ready to predict.
        """
        with self._replacing_network():  # a refused call leaves the estimator as it was
            self._validate_params()
            self._check_params()
            X, y = self._check_fit_data(X, y, reset=True)
            self.target_ = self._fit_target(y)
            self.X_shape_ = tuple(X.shape)
            self.history_ = {}
            self.__dict__.pop("best_epoch_", None)
            seed = resolve_seed(self.random_state)
            distribution = _distribution_scope(getattr(self, "distribution", None))
            # compiled for the steps of a fit on X, as fit compiles it: a warm fit after
            # initialize then runs several steps per graph execution as well
            n_train = len(self._split(X, y, None, None, seed)[0])
            with fit_seed(seed), distribution, seeded(seed):
                model = self._make_model(X, _steps_per_epoch(self.batch_size, n_train))
                facts = self._model_facts(model, X)
            self._built_with = self._build_params()
            self._apply_model_facts(facts)
            self.model_ = model
            self.n_iter_ = 0
        return self

    def _merged_fit_params(self, fit_params: dict) -> dict:
        """The routed ``fit__*`` parameters updated with those given to ``fit``, the values
        that override the estimator's own (:data:`_FIT_OVERRIDES`) checked."""
        merged = {**routed(self.get_params(deep=False), "fit"), **fit_params}
        reserved = sorted(set(_FIT_RESERVED).intersection(merged))
        if reserved:
            reasons = "; ".join(_FIT_RESERVED[key] for key in reserved)
            raise ValueError(
                f"fit arguments {reserved} are set by {type(self).__name__} itself ({reasons}); "
                "remove them from the fit__ parameters and fit's keyword arguments."
            )
        _check_fit_arguments(self, merged, reserved=_FIT_RESERVED)
        if merged.get("callbacks") is not None:
            _check_callback_entries(merged["callbacks"], "fit__callbacks", type(self).__name__)
        constraints = {**_FIT_OVERRIDES, **_FIT_PASSED_ON}
        given = {f"fit__{key}": merged[key] for key in constraints if key in merged}
        validate_parameter_constraints(
            {f"fit__{key}": value for key, value in constraints.items()},
            given,
            caller_name=type(self).__name__,
        )
        return merged

    def _check_partial_fit(self) -> None:
        """Refuse settings ``partial_fit`` cannot honour, before any training."""
        self._validate_params()
        if self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True (it would hold out "
                "validation_fraction of every batch); set early_stopping=False, or use fit."
            )

    def _is_fitted(self) -> bool:
        return "model_" in self.__dict__ or "_trained_state" in self.__dict__

    def _has_built_model(self) -> bool:
        """Whether a Keras model exists (a fit from a remembered start builds none until
        ``model_`` is read)."""
        return "model_" in self.__dict__

    def __getattr__(self, name: str):
        # the Keras model of a network trained from a remembered start is built on first use
        if name == "model_" and "_trained_state" in self.__dict__:
            return self._materialize_model()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _ensure_model(self) -> None:
        """Make the network ready to be saved: build ``model_`` now if the network was trained
        without one, and build its optimizer's variables if they are not yet (a network from
        :meth:`initialize` has an optimizer that never trained: Keras builds its variables when
        it loads the model, then skips the saved ones, fewer, with a warning)."""
        if "_trained_state" in self.__dict__:
            self._materialize_model()
        model = self.__dict__.get("model_")
        optimizer = getattr(model, "optimizer", None) if model is not None else None
        if optimizer is not None and model.compiled and not optimizer.built:
            with _distribution_scope(getattr(self, "distribution", None)):
                optimizer.build(model.trainable_variables)

    def _materialize_model(self, *, fresh_optimizer: bool = False):
        """Build ``model_`` from the trained state; with ``fresh_optimizer``, compiled from the
        current parameters and given only the trained weights (not the optimizer's state)."""
        trained = self.__dict__["_trained_state"]
        built = self.__dict__.get("_built_with") or {"network": {}, "compile": {}}
        # the network the state was trained with, whatever the parameters were set to since
        recorded = {**built["network"], **({} if fresh_optimizer else built["compile"])}
        try:
            with seeded(trained.seed), _parameters_as(self, recorded):
                model = self._make_model(None, trained.n_train_steps)
            _fastpath.load_state(model, trained.values, with_optimizer=not fresh_optimizer)
        except AttributeError as error:  # would read as "no attribute model_" from __getattr__
            raise RuntimeError(f"Could not build the trained network's model: {error}") from error
        self.__dict__["model_"] = model
        del self.__dict__["_trained_state"]
        return model

    def _fit(self, X, y, sample_weight, fit_params, epochs, reinitialize):
        if not reinitialize:  # training continues: the fitted target and shapes stay
            return self._fit_checked(X, y, sample_weight, fit_params, epochs, reinitialize)
        with self._replacing_network():
            return self._fit_checked(X, y, sample_weight, fit_params, epochs, reinitialize)

    @contextmanager
    def _replacing_network(self) -> Iterator[None]:
        """Set the previous network aside for a new one; if the new fit raises (a refused
        call, a builder failing, an interrupted training), leave the estimator as it was, not
        with the new call's target (``classes_``, ``n_outputs_``), shapes or feature names next
        to the previous network. A previous network the failed fit trained itself (a builder
        returning that same model) cannot be kept: the estimator is then left unfitted."""
        previous = dict(self.__dict__)
        for key in ("model_", "_trained_state", "_optimizer_base_rate"):
            self.__dict__.pop(key, None)  # _optimizer_base_rate: the rate of epoch 0
        try:
            yield
        except BaseException:
            network = previous.get("model_")
            retrained = network is not None and self.__dict__.get("model_") is network
            self.__dict__.clear()
            self.__dict__.update(previous)
            if retrained:
                self._forget_fit()
            raise

    def _forget_fit(self) -> None:
        """Remove every fitted attribute: ``predict`` raises ``NotFittedError``."""
        params = set(self.get_params(deep=False))
        for key in list(self.__dict__):
            fitted = key.endswith("_") and not key.startswith("__") and key not in params
            if fitted or key in _FITTED_PRIVATE:
                del self.__dict__[key]

    def _fit_checked(self, X, y, sample_weight, fit_params, epochs, reinitialize):
        self._validate_params()
        self._check_params()
        self._check_monitors_have_validation(fit_params)
        compile_changed = False if reinitialize else self._check_continued()
        X, y = self._check_fit_data(X, y, reset=reinitialize)
        sample_weight = check_weights(sample_weight, X)
        fit_params = dict(fit_params)
        validation_data = fit_params.pop("validation_data", None)
        if reinitialize:
            self.target_ = self._fit_target(y)
            self.X_shape_ = tuple(X.shape)
            self.history_ = {}
        else:
            self._check_continued_target(y)
        sample_weight = self._sample_weight_for(y, sample_weight)
        seed = resolve_seed(self.random_state)
        train_idx, validation = self._split(X, y, sample_weight, validation_data, seed)
        sample_weight, validation = _relative_weights(
            sample_weight, train_idx, validation, split=validation_data is None
        )
        n_steps = _steps_per_epoch(fit_params.get("batch_size", self.batch_size), len(train_idx))
        data = (X, y, sample_weight, train_idx, validation, epochs)
        # the network is built under `seeded`; training needs only the seed (its shuffling
        # draws from a generator of its own), so fits in other threads can train meanwhile
        with fit_seed(seed), _distribution_scope(getattr(self, "distribution", None)):
            if reinitialize:
                result = self._fit_new_network(data, fit_params, seed, n_steps)
            else:
                model = self._recompiled(X, n_steps, seed) if compile_changed else self.model_
                result = self._continue_training(model, data, fit_params)
        self._record(result)
        return self

    def _continue_training(self, model, data, fit_params: dict):
        """Train the fitted network further. It is trained in place, so a training that raises
        (a failing callback, an interruption, divergence) still records the epochs that reached
        the network: ``history_``, ``n_iter_`` and ``current_epoch`` describe the network
        ``predict`` uses, as after Keras's own interrupted ``Model.fit``."""
        from .callbacks import EpochRecorder

        recorder = EpochRecorder()
        try:
            return self._train(model, *data, fit_params, recorder=recorder,
                               base_learning_rate=self._base_learning_rate())
        except BaseException:
            monitor = "val_loss" if data[4] is not None else None
            self._record(interrupted_result(recorder, monitor))
            raise

    def _check_fit_data(self, X, y, *, reset: bool):
        """``X`` and ``y`` validated and converted for a fit (``reset``: a new network)."""
        return check_fit_data(
            self, X, y, reset=reset, allow_nd=self._allow_nd, y_numeric=self._y_numeric
        )

    def _fit_new_network(self, data, fit_params: dict, seed: int, n_steps: int):
        """Build (or start from a remembered state) and train a new network."""
        signature = self._start_signature(fit_params)
        start = _reuse.recall(signature, seed) if signature is not None else None
        if start is not None:
            self._compiled_by_builder = False  # a ready-made network, compiled by skkeras
            self._built_with = self._build_params()
            result = self._train_from_start(start, seed, n_steps, *data)
            if result is not None:
                self._trained_state = _reuse.TrainedState(start.key, result.values, seed, n_steps)
                return result
        X = data[0]
        with seeded(seed):
            model = self._make_model(X, n_steps)
            facts = self._model_facts(model, X)
            initial = _fastpath.state_values(model) if signature is not None else None
        self._built_with = self._build_params()
        self._apply_model_facts(facts)
        self.model_ = model

        def remember_start(key: str) -> None:
            # as soon as the fast path's template is ready, not when this fit ends: folds
            # trained in lockstep (per-epoch pruning) start before the first one ends
            start = _reuse.Start.of(
                key, initial, facts, getattr(self, "learning_rate", None),
                _fastpath.learning_rate_position(model),
            )
            _reuse.remember(signature, seed, start)

        return self._train(
            model, *data, fit_params, template_ready=remember_start if initial is not None else None
        )

    def _start_signature(self, fit_params: dict) -> str | None:
        """The :func:`~skkeras._reuse.signature` of the network this fit builds, if a remembered
        start may replace building it; else None."""
        if not self._network_from_params or fit_params or self.verbose:
            return None
        if self.callbacks and not _model_free(self.callbacks):
            return None
        if not isinstance(self.random_state, Integral) or not _fastpath.enabled():
            return None
        if getattr(self, "distribution", None) is not None:
            return None
        if not isinstance(getattr(self, "learning_rate", None), Real | None):
            return None  # a schedule: a start's learning rate is one variable's value
        return _reuse.signature(type(self), self.get_params(deep=False), self._meta())

    def _train_from_start(self, start, seed, n_steps, X, y, sample_weight, train_idx, validation,
                          epochs):
        self._apply_model_facts(start.facts)
        inputs = self._training_inputs(X, y, sample_weight, train_idx, validation)

        def publish_state(state):
            # model-free callbacks score the estimator between epochs: it predicts from the
            # epoch's state, as it will from the final one
            values = list(state)
            self._trained_state = _reuse.TrainedState(start.key, values, seed, n_steps)

        return run_training_from_start(
            start,
            *inputs["data"],
            sample_weight=inputs["sample_weight"],
            validation_data=inputs["validation_data"],
            epochs=epochs,
            batch_size=_rows_per_batch(self.batch_size, len(train_idx)),
            callbacks=inputs["callbacks"],
            monitor=inputs["monitor"],
            shuffle=self.shuffle,
            publish_state=publish_state,
            learning_rate=getattr(self, "learning_rate", None),
        )

    def _model_facts(self, model, X) -> dict[str, Any]:
        """Fitted facts derived from the built ``model`` (restored without it on later fits)."""
        return {}

    def _apply_model_facts(self, facts: dict[str, Any]) -> None:
        """Set the fitted attributes described by :meth:`_model_facts`."""

    def _check_params(self) -> None:
        """Checks beyond ``_parameter_constraints``; raise before any training."""
        extra = self._extra_params()
        if "build_fn" in extra:
            raise TypeError(
                f"{type(self).__name__} takes the model builder as `model=`; `build_fn=` is the "
                "old scikeras spelling."
            )
        _check_predict_batch_size(extra.get("predict__batch_size"))
        if "optimizer__learning_rate" in extra:
            _check_routed_learning_rate(extra["optimizer__learning_rate"])
        _check_compile_arguments(self, routed(extra, "compile"))
        _check_loss_and_metrics(self)
        self._check_callbacks()

    def _check_callbacks(self) -> None:
        """Refuse ``callbacks`` entries that are neither a Keras callback nor a callback class
        (Keras would fail on them only once training starts)."""
        if self.callbacks is None:
            return
        _check_callback_entries(self.callbacks, "callbacks", type(self).__name__)
        for key, callback in _callback_items(self.callbacks):
            self._check_step_decay(key, callback)

    def _check_step_decay(self, key, callback) -> None:
        """Refuse a StepDecay with an optimizer whose learning rate is a schedule (Keras
        cannot set such a rate: training would fail at the first milestone)."""
        from .callbacks._schedules import StepDecay

        is_step_decay = isinstance(callback, StepDecay) or (
            isinstance(callback, type) and issubclass(callback, StepDecay)
        )
        where = _uses_schedule(self) if is_step_decay else None
        if where is not None:
            schedule = type(getattr(self, where)).__name__
            raise ValueError(
                f"{type(self).__name__} got a StepDecay in callbacks[{key!r}] and a "
                f"LearningRateSchedule in {where} ({schedule}): StepDecay sets the learning "
                "rate at its milestones, which Keras does not allow for a schedule. Use one or "
                "the other: remove the StepDecay, or give a number as the learning rate."
            )

    def _check_monitors_have_validation(self, fit_params: dict) -> None:
        """Refuse, in a fit without validation data (no ``validation_data``, no
        ``validation_split`` given to the fit or, for the scikeras-style wrappers, to the
        estimator, no early stopping split), a callback in ``callbacks`` or the fit's own that
        monitors a validation quantity: it would never act."""
        has_validation = (
            fit_params.get("validation_data") is not None
            or bool(fit_params.get("validation_split"))
            or bool(getattr(self, "validation_split", 0.0))
            or self.early_stopping
        )
        if has_validation:
            return
        owner = type(self).__name__
        params = self.get_params(deep=False)
        _check_validation_monitors(self.callbacks, routed(params, "callbacks"), "callbacks", owner)
        _check_validation_monitors(
            fit_params.get("callbacks"), routed(fit_params, "callbacks"), "fit__callbacks", owner
        )

    def _check_continued_target(self, y) -> None:
        """Hook: refuse targets that do not fit an already trained network."""

    def _split(self, X, y, sample_weight, validation_data, seed):
        """Training indices and the validation tuple (or ``None``)."""
        n_samples = len(X)
        if validation_data is not None:
            return np.arange(n_samples), self._check_validation_data(validation_data)
        if not self.early_stopping:
            return np.arange(n_samples), None
        train_idx, val_idx = split_validation(
            n_samples, self.validation_fraction, seed, stratify=self._stratify_labels(y)
        )
        weights = None if sample_weight is None else sample_weight[val_idx]
        return train_idx, (X[val_idx], y[val_idx], weights)

    def _check_validation_data(self, validation_data):
        return check_validation_data(
            self, validation_data, allow_nd=self._allow_nd, y_numeric=self._y_numeric
        )

    def _check_validation_target(self, y_val) -> None:
        """Hook: refuse a checked ``validation_data`` target that does not match the fitted
        target (its classes, its number of outputs)."""

    def _make_model(self, X, n_train_steps: int):
        keras = import_keras()
        meta = self._meta()
        model = self._build_keras_model(meta)
        if not isinstance(model, keras.Model):
            raise TypeError(
                f"The model builder of {type(self).__name__} must return a keras.Model; "
                f"got {type(model).__name__}."
            )
        self._compiled_by_builder = bool(model.compiled)
        if model.compiled:
            _check_builder_loss(self, model)
        else:
            model.compile(**self._compile_kwargs(model, X, n_train_steps))
        return model

    # ------------------------------------------------------------------ continued training
    def _build_params(self) -> dict[str, dict[str, Any]]:
        """The current parameters that define the network (``"network"``) and those the
        estimator compiles it with (``"compile"``: the optimizer, metrics, compile options),
        to tell what changed when training continues. Training-only parameters are left out."""
        groups: dict[str, dict[str, Any]] = {"network": {}, "compile": {}}
        # a model the builder compiled took the optimizer parameters as builder inputs
        by_builder = self.__dict__.get("_compiled_by_builder", False)
        for key, value in self.get_params(deep=False).items():
            if key in _TRAINING_PARAMS or key.partition("__")[0] in _TRAINING_PREFIXES:
                continue
            head = key.partition("__")[0]
            group = "compile" if head in _COMPILE_PARAMS and not by_builder else "network"
            groups[group][key] = _snapshot(value)
        return groups

    def _check_continued_params(self) -> bool:
        """Before training continues (``warm_start`` or ``partial_fit``): refuse parameters
        that define the network changed since it was built; True when the optimizer or
        compile parameters changed (the network then gets a fresh optimizer made from them)."""
        built = self.__dict__.get("_built_with")
        current = self._build_params()
        if built is None:
            # A file saved by skkeras before format version 2 has no build record: assume the
            # network was built with the current parameters (changes made before saving, or
            # after loading, go unnoticed), as those versions did.
            self._built_with = current
            return False
        changed = _changes(built["network"], current["network"])
        if changed:
            listed = "; ".join(
                f"{key}: {_shown(built['network'], key)} -> {_shown(current['network'], key)}"
                for key in changed
            )
            raise ValueError(
                f"{type(self).__name__} continues training the fitted network (warm_start=True "
                "or partial_fit), but parameters that define the network changed since it was "
                f"built ({listed}). Set warm_start=False (or call fit without warm_start) to "
                "build a new network with them, or set them back."
            )
        return bool(_changes(built["compile"], current["compile"]))

    def _check_continued(self) -> bool:
        """Before training continues: refuse what the fitted network cannot continue with;
        True when it must be compiled again (a loaded network without its training
        configuration, or changed compile parameters)."""
        uncompiled = self._check_loaded_uncompiled()
        return self._check_continued_params() or uncompiled

    def _check_loaded_uncompiled(self) -> bool:
        """Before training continues: True when ``model_`` has no training configuration (Keras
        loaded it without, see :func:`skkeras.load`: a custom loss or metric that is not
        registered with Keras), so it must be compiled again, with a fresh optimizer: from the
        estimator's parameters, or, when its builder compiled it, by building it again with the
        builder (see :meth:`_rebuilt`). Refused when a builder input was not restored when
        loading (not trusted, or not saved)."""
        model = self.__dict__.get("model_")
        if model is None or model.compiled:
            return False
        if self.__dict__.get("_compiled_by_builder", False):
            self._check_builder_inputs_restored()
        return True

    def _check_builder_inputs_restored(self) -> None:
        """Refuse, before training, to build a loaded network again when a parameter it was
        built with could not be restored when loading."""
        built = self.__dict__.get("_built_with")
        if built is None:
            return
        params = self.get_params(deep=False)
        missing = [key for key, recorded in built["network"].items()
                   if unrestored(recorded, params.get(key))]
        if not missing:
            return
        key = missing[0]
        recorded = built["network"][key]
        if isinstance(recorded, UnsavedValue):
            reason, fix = (
                f"was not saved (a {recorded.kind} that cannot be imported by name, such as a "
                "lambda, replaced before saving)",
                "save the estimator again with it defined at module level",
            )
        else:
            reason, fix = (
                f"was not restored when loading ({recorded!r} was not trusted: {key} is None)",
                f"load the file with skkeras.load(..., trusted=[{str(recorded)!r}]) or set "
                f"{key} to it again",
            )
        raise ValueError(
            f"{type(self).__name__} continues training the fitted network (warm_start=True "
            "or partial_fit). Its Keras model was loaded without its training configuration (a "
            "custom loss or metric not registered with Keras) and its builder compiled it, so "
            f"the network is built again with the builder, but the parameter {key!r} "
            f"{reason}. To continue training, {fix}; or call fit with warm_start=False to "
            "build a new network."
        )

    def _recompiled(self, X, n_train_steps: int, seed: int):
        """``model_`` compiled again from the current optimizer and compile parameters (a
        fresh optimizer, as scikit-learn's MLP makes on each warm fit), or built again by its
        builder when the builder compiled it; the weights stay."""
        if "_trained_state" in self.__dict__:
            model = self._materialize_model(fresh_optimizer=True)
        elif self.__dict__.get("_compiled_by_builder", False):
            model = self._rebuilt(X, n_train_steps, seed)
        else:
            model = self.model_
            model.compile(**self._compile_kwargs(model, X, n_train_steps))
        self._built_with = self._build_params()
        self._optimizer_base_rate = _settable_rate(model.optimizer)
        return model

    def _rebuilt(self, X, n_train_steps: int, seed: int):
        """The network built again by its builder, as a fresh fit builds it (the build record
        guarantees the same builder inputs), compiled by the builder (with a fresh optimizer)
        and given the weights of ``model_``, which replaces it. ``model_`` stays if this
        raises."""
        try:
            with seeded(seed):
                model = self._make_model(X, n_train_steps)
            if not self._compiled_by_builder:
                raise ValueError(
                    f"{type(self).__name__} continues training a loaded network that its model "
                    "builder compiled, by building it again with the builder, but the builder "
                    "now returns a model that is not compiled. The builder must compile the "
                    "model as it did when the estimator was fitted; or call fit with "
                    "warm_start=False to build a new network."
                )
            copy_weights(self.model_, model, type(self).__name__)
        finally:  # _make_model set it for the new model: the loaded one's builder compiled it
            self._compiled_by_builder = True
        self.model_ = model
        return model

    def _base_learning_rate(self) -> float | None:
        """The learning rate the network's optimizer started with, from which a
        :class:`~skkeras.callbacks.StepDecay` of a continued fit counts its milestones: the
        rate of a fresh optimizer made by a warm fit, else the rate of the first epoch (None if
        unknown: the schedule then starts from the optimizer's current rate)."""
        base = self.__dict__.get("_optimizer_base_rate")
        if base is not None:
            return base
        rates = self.history_.get("learning_rate")
        return float(rates[0]) if rates else None

    def _compile_kwargs(self, model, X, n_train_steps: int) -> dict[str, Any]:
        params = self.get_params(deep=False)
        loss_kwargs = routed(params, "loss")
        loss = make_loss(getattr(self, "loss", None), loss_kwargs)
        if loss is None:
            loss = self._default_loss(_output_units(model, X))
            if loss_kwargs:  # they would be dropped: the default loss is chosen by the target
                raise ValueError(
                    f"{type(self).__name__} got the routed loss__ arguments {loss_kwargs} but "
                    f"loss=None, so it compiles the network with the loss its target calls for "
                    f"({loss!r}), which they would not reach. Name the loss they are for, e.g. "
                    f"loss={loss!r}, or remove them."
                )
        return {
            "optimizer": make_optimizer(
                self.optimizer, self._optimizer_kwargs(), estimator_name=type(self).__name__
            ),
            "loss": loss,
            "metrics": make_metrics(getattr(self, "metrics", None), routed(params, "metrics")),
            **default_compile_options(n_train_steps),
            **routed(params, "compile"),
        }

    def _meta(self) -> dict[str, Any]:
        meta = {
            "n_features_in_": self.n_features_in_,
            "X_shape_": self.X_shape_,
            "X_dtype_": np.dtype("float32"),
            "target_type_": self.target_.target_type,
            "n_outputs_": self.target_.n_outputs,
            "n_outputs_expected_": 1,
        }
        if hasattr(self, "feature_names_in_"):
            meta["feature_names_in_"] = self.feature_names_in_
        return meta

    def _train(self, model, X, y, sample_weight, train_idx, validation, epochs, fit_params,
               template_ready=None, base_learning_rate=None, recorder=None):
        # routed fit__ values override the estimator's own (as in scikeras); fit__callbacks
        # (or fit's callbacks=) are added to the estimator's callbacks for this fit
        fit_kwargs = dict(fit_params)
        extra = (
            fit_kwargs.pop("callbacks", None),
            {key[len("callbacks__"):]: fit_kwargs.pop(key)
             for key in list(fit_kwargs) if key.startswith("callbacks__")},
        )
        inputs = self._training_inputs(
            X, y, sample_weight, train_idx, validation, extra_callbacks=extra
        )
        _start_schedules(inputs["callbacks"], base_learning_rate)
        settings = {
            key: fit_kwargs.pop(key, getattr(self, key)) for key in ("batch_size", "shuffle")
        }
        settings["batch_size"] = _rows_per_batch(settings["batch_size"], len(train_idx))
        return run_training(
            model,
            *inputs["data"],
            sample_weight=inputs["sample_weight"],
            validation_data=inputs["validation_data"],
            epochs=epochs,
            initial_epoch=len(self.history_.get("loss", [])),
            callbacks=inputs["callbacks"],
            monitor=inputs["monitor"],
            verbose=int(fit_kwargs.pop("verbose", self.verbose)),
            fit_kwargs=fit_kwargs,
            template_ready=template_ready,
            compiled=self._compiled_training(),
            recorder=recorder,
            **settings,
        )

    def _compiled_training(self) -> bool:
        """Whether the compiled epoch loop of :mod:`skkeras._fastpath` may train the network
        (when it can); False sends every fit through Keras's ``Model.fit``."""
        return True

    def _training_inputs(
        self, X, y, sample_weight, train_idx, validation, extra_callbacks=(None, {})
    ) -> dict[str, Any]:
        """The encoded training rows, validation data and callbacks of a fit
        (``extra_callbacks``: the fit's own callbacks and their routed arguments)."""
        encoded = self.target_.encode(y)
        weights = None if sample_weight is None else sample_weight[train_idx]
        if len(train_idx) != len(X):
            X, encoded = X[train_idx], encoded[train_idx]
        keras_validation = None
        if validation is not None:
            X_val, y_val, w_val = validation
            encoded_val = self.target_.encode(y_val)
            keras_validation = (X_val, encoded_val, w_val) if w_val is not None else (
                X_val,
                encoded_val,
            )
        callbacks, monitor = self._callbacks(
            has_validation=validation is not None, extra=extra_callbacks
        )
        return {
            "data": (X, encoded),
            "sample_weight": weights,
            "validation_data": keras_validation,
            "callbacks": callbacks,
            "monitor": monitor,
        }

    def _callbacks(self, *, has_validation: bool, extra=(None, {})):
        """The fit's callbacks: copies of ``callbacks``, then of ``extra`` (a fit's own callbacks
        and their routed arguments), then the estimator's early stopping; and the monitor."""
        params = self.get_params(deep=False)
        callbacks = instantiate_callbacks(self.callbacks, routed(params, "callbacks"))
        callbacks += instantiate_callbacks(*extra)
        monitor = "val_loss" if has_validation else None
        if self.early_stopping and self.patience is not None:
            callbacks.append(
                early_stopping_callback(
                    monitor="val_loss",
                    patience=self.patience,
                    min_delta=self.min_delta,
                    restore=self.restore_best_weights,
                )
            )
        elif self._stop_on_training_loss and self.patience is not None:
            callbacks.append(
                early_stopping_callback(
                    monitor="loss", patience=self.patience, min_delta=self.min_delta, restore=False
                )
            )
        return callbacks, monitor

    def _record(self, result) -> None:
        for key, values in result.history.items():
            self.history_.setdefault(key, []).extend(values)
        self.n_iter_ = len(self.history_.get("loss", []))
        if not result.epochs_run:
            return  # a continued fit interrupted in its first epoch: the best epoch stays
        offset = self.n_iter_ - result.epochs_run
        self.best_epoch_ = offset + result.best_epoch

    # ------------------------------------------------------------------ prediction
    def _predict_outputs(self, X, batch_size=None) -> np.ndarray:
        """Raw network outputs for ``X`` (validated), computed in large batches
        (``batch_size`` rows at a time if given, else ``predict__batch_size``; -1: all)."""
        check_is_fitted(self)
        chunk = rows_per_prediction_call(self, batch_size)
        X = check_predict_data(self, X, allow_nd=self._allow_nd)
        chunk = _rows_per_batch(chunk, len(X))
        trained = self.__dict__.get("_trained_state")
        predict = _fastpath.trained_forward(trained) if trained is not None else None
        if predict is None:
            predict = _fastpath.predict_function(self.model_)
        outputs = [
            _as_numpy(predict(X[start : start + chunk])) for start in range(0, len(X), chunk)
        ]
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=0)

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.three_d_array = self._allow_nd
        tags.target_tags.multi_output = True
        return tags


@contextmanager
def _parameters_as(estimator, values: dict[str, Any]):
    """``estimator``'s parameters set to ``values`` for the duration of the block."""
    missing = object()
    previous = {key: estimator.__dict__.get(key, missing) for key in values}
    try:
        for key, value in values.items():
            setattr(estimator, key, value)
        yield
    finally:
        for key, value in previous.items():
            if value is missing:
                estimator.__dict__.pop(key, None)
            else:
                setattr(estimator, key, value)


@cache
def _constructor_param_names(cls) -> tuple[str, ...]:
    return tuple(BaseEstimator._get_param_names.__func__(cls))


def _steps_per_epoch(batch_size, n_train: int) -> int:
    """Training steps of an epoch over ``n_train`` rows (Keras's default batch of 32 when
    ``batch_size`` is None; scikeras's -1 is one batch of all rows)."""
    return max(1, int(np.ceil(n_train / (_rows_per_batch(batch_size, n_train) or 32))))


def _relative_weights(sample_weight, train_idx, validation, *, split: bool):
    """The weights scaled so that the training rows' mean is 1 (scikit-learn's MLP treats
    weights as relative: multiplying them all by one number changes nothing).

    Keras divides a batch's weighted loss sum by the batch size, so unscaled weights would act as
    a learning-rate multiplier and change the penalties' relative strength. The validation rows
    split off ``sample_weight`` (``split``) are scaled by the same factor, so ``val_loss`` keeps
    its meaning; a ``validation_data`` given to ``fit`` keeps its own weights.
    """
    if sample_weight is None:
        return None, validation
    mean = float(np.mean(sample_weight[train_idx]))
    if not mean > 0:
        raise ValueError(
            "sample_weight (combined with class_weight) is zero for every training row; at "
            "least one training row needs a positive weight."
        )
    if split and validation is not None and validation[2] is not None:
        validation = (*validation[:2], validation[2] / mean)
    return sample_weight / mean, validation


def _settable_rate(optimizer) -> float | None:
    """The optimizer's learning rate if it is a number (not a schedule), else None."""
    keras = import_keras()
    if isinstance(getattr(optimizer, "_learning_rate", None),
                  keras.optimizers.schedules.LearningRateSchedule):
        return None
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


def _start_schedules(callbacks: list, base_rate: float | None) -> None:
    """Give this fit's :class:`~skkeras.callbacks.StepDecay` copies the rate their schedule
    starts from: ``base_rate`` when training continues, else (None) the optimizer's rate when
    training starts, whatever a copied instance remembered from an earlier use."""
    from .callbacks._schedules import StepDecay

    for callback in callbacks:
        if isinstance(callback, StepDecay):
            callback._initial_rate = base_rate


def _uses_schedule(estimator) -> str | None:
    """The parameter holding a LearningRateSchedule the optimizer is made with, if any."""
    keras = import_keras()
    schedule = keras.optimizers.schedules.LearningRateSchedule
    if isinstance(getattr(estimator, "learning_rate", None), schedule):
        return "learning_rate"
    if isinstance(getattr(estimator, "optimizer__learning_rate", None), schedule):
        return "optimizer__learning_rate"
    optimizer = getattr(estimator, "optimizer", None)
    if isinstance(getattr(optimizer, "_learning_rate", None), schedule):
        return "optimizer"
    return None


def _model_free(callbacks) -> bool:
    """Whether every callback (a list, or a dict's values; instances or classes) is a
    :class:`~skkeras.callbacks._model_free.ModelFreeCallback`."""
    from .callbacks._model_free import is_model_free

    if not isinstance(callbacks, list | tuple | dict):
        callbacks = [callbacks]
    values = callbacks.values() if isinstance(callbacks, dict) else callbacks
    return all(is_model_free(callback) for callback in values)


def _distribution_scope(distribution):
    """``distribution.scope()`` (a tf.distribute strategy or a Keras distribution), or nothing."""
    return nullcontext() if distribution is None else distribution.scope()


def _as_numpy(outputs) -> np.ndarray:
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    if isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    return np.asarray(outputs)


def _output_shape(model, X) -> tuple:
    """Shape of the model's (first) output, batch dimension included."""
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        shape = _as_numpy(model(X[:1])).shape
    if isinstance(shape, dict):
        shape = next(iter(shape.values()))
    if isinstance(shape, list):
        shape = shape[0]
    return tuple(shape)


def _output_units(model, X) -> int | None:
    """Number of units of the model's (first) output."""
    shape = _output_shape(model, X)
    return None if shape[-1] is None else int(shape[-1])


def _output_size(model, X) -> int | None:
    """Number of values per sample of the model's (first) output, as prediction sees them;
    None when a dimension is not known before the model is run."""
    dims = _output_shape(model, X)[1:]
    return None if any(dim is None for dim in dims) else int(np.prod(dims, dtype=np.int64))
