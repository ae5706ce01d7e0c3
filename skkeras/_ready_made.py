"""Pieces shared by the ready-made estimators (MLP, LSTM, CNN): optimizer arguments, output
layers, the weights count and the documentation of the training parameters."""

from __future__ import annotations

from numbers import Real
from typing import Any

from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    InvalidParameterError,
    StrOptions,
)

from ._layers import MOMENTUM_OPTIMIZERS, OPTIMIZERS

#: Constraints of the optimizer parameters every ready-made estimator takes.
OPTIMIZER_CONSTRAINTS = {
    "optimizer": [StrOptions(set(OPTIMIZERS)), HasMethods(["apply_gradients"])],
    "learning_rate": [
        Interval(Real, 0.0, None, closed="neither"),
        HasMethods(["__call__", "get_config"]),
    ],
    "momentum": [Interval(Real, 0.0, 1.0, closed="both")],
}


class OptimizerParamsMixin:
    """The optimizer is built from the flat ``learning_rate`` (and ``momentum``) parameters when
    it is given by name or class; an optimizer instance keeps its own."""

    def _check_params(self) -> None:
        super()._check_params()
        _refuse_bools(self, {"learning_rate": "(0.0, inf) or a keras.optimizers.schedules."
                             "LearningRateSchedule", "momentum": "[0.0, 1.0]"})
        check_learning_rate(self.learning_rate, type(self).__name__)

    def _optimizer_kwargs(self) -> dict[str, Any]:
        if not isinstance(self.optimizer, str | type):
            return {}  # an instance: its learning rate, schedule and momentum are the user's
        kwargs: dict[str, Any] = {"learning_rate": self.learning_rate}
        if _takes_momentum(self.optimizer):
            kwargs["momentum"] = self.momentum
        return kwargs


def _refuse_bools(estimator, allowed: dict[str, str]) -> None:
    """Refuse True or False for the number parameters in ``allowed`` (their constraints take
    True as 1: Keras would then refuse it as an argument of the 'optimizer')."""
    for name, what in allowed.items():
        value = getattr(estimator, name)
        if isinstance(value, bool):
            raise InvalidParameterError(
                f"The {name!r} parameter of {type(estimator).__name__} must be a float in the "
                f"range {what}, not a bool. Got {value!r} instead."
            )


def _takes_momentum(optimizer) -> bool:
    """Whether the optimizer (a name or a class) is one ``momentum`` applies to."""
    name = optimizer if isinstance(optimizer, str) else optimizer.__name__
    return name.lower() in MOMENTUM_OPTIMIZERS


def check_learning_rate(learning_rate, owner: str) -> None:
    """Refuse a ``learning_rate`` that is neither a positive number (checked by the
    constraints) nor a ``keras.optimizers.schedules.LearningRateSchedule``."""
    if isinstance(learning_rate, Real):
        return
    from ._keras import import_keras

    if not isinstance(learning_rate, import_keras().optimizers.schedules.LearningRateSchedule):
        raise ValueError(
            f"The 'learning_rate' parameter of {owner} must be a float > 0 or a "
            "keras.optimizers.schedules.LearningRateSchedule; got "
            f"{type(learning_rate).__name__}: {learning_rate!r}."
        )


class ClassifierOutputMixin:
    """Output layer of a ready-made classifier: sigmoid for binary and multilabel, else softmax."""

    def _output_spec(self) -> tuple[int, str]:
        if self.target_type_ == "multilabel-indicator":
            return self.n_classes_, "sigmoid"
        if self.n_classes_ == 2:
            return 1, "sigmoid"
        return self.n_classes_, "softmax"


class RegressorOutputMixin:
    """Output layer of a ready-made regressor: one linear unit per target."""

    def _output_spec(self) -> tuple[int, str]:
        return self.n_outputs_, "linear"


class ParameterCountMixin:
    """Records ``n_parameters_``, the number of weights of the built network."""

    def _model_facts(self, model, X) -> dict[str, Any]:
        facts = super()._model_facts(model, X)
        facts["n_parameters_"] = int(model.count_params())
        return facts

    def _apply_model_facts(self, facts: dict[str, Any]) -> None:
        super()._apply_model_facts(facts)
        self.n_parameters_ = facts["n_parameters_"]


_TRAINING_PARAMS_TEMPLATE = """
    optimizer : str or keras optimizer, default="adam"
        adam, sgd, rmsprop, adagrad, adadelta, adamw, nadam, adamax, ftrl or lion, or a Keras
        optimizer instance, which keeps its own learning rate (or schedule) and momentum
        (``learning_rate`` and ``momentum`` are not applied to it). Changed between fits with
        ``warm_start=True``, it (like ``learning_rate`` and ``momentum``) takes effect with a
        fresh optimizer.
    learning_rate : float > 0 or keras.optimizers.schedules.LearningRateSchedule, default=0.001
        The learning rate of an optimizer given by name: a number, or a schedule such as
        ``keras.optimizers.schedules.ExponentialDecay`` (evaluated at every step).
    momentum : float in [0, 1], default=0.9
        Momentum for sgd and rmsprop given by name (ignored by the others).
    batch_size : int, default=32
        Mini-batch size.
    epochs : int, default={epochs}
        Maximum number of epochs.
    early_stopping : bool, default=False
        If True, hold out ``validation_fraction`` of the training data (shuffled with
        ``random_state``; stratified for classifiers) and stop once ``val_loss`` has not improved
        by ``min_delta`` for ``patience`` epochs. If False, stop once the training loss has not
        improved by ``min_delta`` for ``patience`` epochs, as scikit-learn's MLP does.
    validation_fraction : float in (0, 1), default=0.1
        Fraction held out for early stopping.
    patience : int or None, default=10
        Epochs without improvement before stopping; ``None`` always trains ``epochs`` epochs.
    min_delta : float, default=1e-4
        Minimum decrease of the monitored loss that counts as an improvement.
    restore_best_weights : bool, default=True
        With early stopping, keep the weights of the epoch with the best ``val_loss``.
    callbacks : list, dict or None, default=None
        Extra Keras callbacks (e.g. :class:`skkeras.callbacks.StepDecay`), copied for each fit.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, every random step of training (dropout, augmentation,
        shuffling) and the validation split.
    verbose : int, default=0
        Keras's ``fit`` verbosity.
    warm_start : bool, default=False
        Continue training the fitted network on the next ``fit``. Changed optimizer parameters
        (``optimizer``, ``learning_rate``, ``momentum``) take effect with a fresh optimizer (as
        in scikit-learn's MLP); unchanged, the optimizer's state carries on. Changed parameters
        that define the network (layers, activation, dropout, penalties...) raise a ValueError:
        set ``warm_start=False`` to build a new network with them. ``partial_fit`` follows the
        same rules.
    shuffle : bool, default=True
        Shuffle the training data every epoch.
    distribution : tf.distribute.Strategy, keras.distribution.Distribution or None, default=None
        Build, compile and train the network inside ``distribution.scope()`` (data-parallel
        training on several devices: ``tf.distribute.MirroredStrategy`` on TensorFlow,
        ``keras.distribution.DataParallel`` on JAX)."""


def training_params_doc(default_epochs: int) -> str:
    """The numpydoc entries of the training parameters every ready-made estimator shares."""
    return _TRAINING_PARAMS_TEMPLATE.format(epochs=default_epochs)


TRAINING_PARAMS_DOC = training_params_doc(100)

CLASS_WEIGHT_DOC = """
    class_weight : dict, "balanced" or None, default=None
        Weights per class label (non-negative finite numbers), multiplied into the sample
        weights. Weights are relative, as in scikit-learn's MLP: the training rows' combined
        weights are scaled to a mean of 1 before training, so ``{0: 50, 1: 50}`` trains like
        ``{0: 1, 1: 1}``. ``"balanced"`` is refused by ``partial_fit`` (each batch would be
        balanced on its own); pass the weights of
        ``sklearn.utils.class_weight.compute_class_weight("balanced", ...)`` as a dict instead."""

ATTRIBUTES_DOC = """
    model_ : keras.Model
        The trained network. After a fit that started from a remembered state (an integer
        ``random_state`` seen before with the same network), it is built when first read.
    n_parameters_ : int
        Number of weights of the network (trainable and not, e.g. batch-normalization
        statistics).
    history_ : dict of str to list of float
        Per-epoch ``loss``, ``val_loss`` (with early stopping) and ``learning_rate``.
    n_iter_ : int
        Number of epochs run.
    best_epoch_ : int
        Epoch (1-based) with the lowest ``val_loss`` (``n_iter_`` without validation).
    n_features_in_ : int
        Number of features seen in ``fit`` (the size of ``X``'s second axis).
    n_outputs_ : int
        Number of targets."""

CLASSES_DOC = """
    classes_ : ndarray of shape (n_classes,)
        Class labels."""
