"""The training step of a fit: validation split, callbacks and the Keras training loop."""

from __future__ import annotations

import copy
import inspect
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from . import _fastpath
from ._keras import (
    backend_name,
    current_fit_seed,
    global_generators_seeded,
    import_keras,
    seed_tensorflow_for_keras_fit,
)


class TrainingDivergedError(ValueError):
    """Raised by ``fit`` and ``partial_fit`` when the training loss becomes NaN or infinite.

    A ``ValueError`` (``skkeras.TrainingDivergedError``): training stops at the end of the
    epoch whose loss was not finite. scikit-learn's searches record such a fit's scores as
    ``error_score``; ``OptunaSearchCV`` marks the trial failed and goes on.
    """


@dataclass
class TrainingResult:
    """What a training run produced."""

    history: dict
    epochs_run: int
    best_epoch: int
    #: The fast path's training-template key when the compiled epoch loop trained the model.
    template_key: str | None = None
    #: The trained variable values when the model was trained from a remembered start.
    values: list | None = None


def split_validation(n_samples: int, fraction: float, seed: int, stratify=None):
    """Indices of a shuffled (and, when possible, stratified) train/validation split."""
    n_validation = int(np.ceil(fraction * n_samples))
    if n_samples < 2 or n_validation >= n_samples:
        raise ValueError(
            f"validation_fraction={fraction} of {n_samples} samples leaves no data to train on "
            "or to validate with; pass more samples, a smaller validation_fraction, or "
            "early_stopping=False."
        )
    indices = np.arange(n_samples)
    if stratify is not None and not _can_stratify(stratify, n_validation, n_samples):
        stratify = None
    return train_test_split(
        indices, test_size=n_validation, random_state=seed, shuffle=True, stratify=stratify
    )


def _can_stratify(labels, n_validation: int, n_samples: int) -> bool:
    counts = np.bincount(labels)
    counts = counts[counts > 0]
    n_classes = len(counts)
    return counts.min() >= 2 and n_classes <= n_validation <= n_samples - n_classes


def instantiate_callbacks(callbacks, routed_kwargs: dict) -> list:
    """Fresh callback objects for one fit: instances are deep-copied, classes instantiated.

    ``callbacks`` may be one callback, a list or a ``{name: callback}`` dict; routed
    ``callbacks__name__arg`` (dict form) or ``callbacks__arg`` (classes in a list) keyword
    arguments are applied.
    """
    if callbacks is None:
        return []
    if not isinstance(callbacks, list | tuple | dict):  # one callback, as scikeras accepts
        callbacks = [callbacks]
    if isinstance(callbacks, dict):
        return [
            _instantiate_one(callback, _routed_for(routed_kwargs, name))
            for name, callback in callbacks.items()
        ]
    return [_instantiate_one(callback, routed_kwargs) for callback in callbacks]


def _routed_for(kwargs: dict, name: str) -> dict:
    head = name + "__"
    return {key[len(head) :]: value for key, value in kwargs.items() if key.startswith(head)}


def _instantiate_one(callback, kwargs: dict):
    if inspect.isclass(callback):
        accepted = inspect.signature(callback).parameters
        return callback(**{key: value for key, value in kwargs.items() if key in accepted})
    try:
        return copy.deepcopy(callback)
    except Exception as error:  # pragma: no cover - depends on the user's callback
        raise TypeError(
            f"callbacks: could not copy {callback!r} for this fit ({error}). Pass the callback "
            "class instead of an instance, with its arguments routed as callbacks__name=value."
        ) from error


def early_stopping_callback(*, monitor: str, patience: int, min_delta: float, restore: bool):
    import_keras()
    from .callbacks._stopping import FloatEarlyStopping

    return FloatEarlyStopping(
        monitor=monitor,
        patience=patience,
        min_delta=min_delta,
        restore_best_weights=restore,
        mode="min",
    )


def default_compile_options(n_train_steps: int) -> dict:
    """Compile options that cut Keras's per-step overhead on small tabular problems."""
    backend = backend_name()
    # XLA on TensorFlow/CPU costs ~0.5 s of compilation per model for no speed-up; on JAX,
    # jit_compile=False would run every operation eagerly (two orders of magnitude slower).
    options = {"jit_compile": False} if backend == "tensorflow" else {}
    if backend != "torch" and not _in_tf_distribution_scope():
        options["steps_per_execution"] = max(1, min(32, n_train_steps))
    return options


def _in_tf_distribution_scope() -> bool:
    """Whether a tf.distribute strategy is active (Keras's multi-step loop fails under one)."""
    if backend_name() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.distribute.has_strategy()


def run_training(
    model,
    X,
    y,
    *,
    sample_weight,
    validation_data,
    epochs: int,
    initial_epoch: int,
    batch_size: int | None,
    callbacks: list,
    monitor: str | None,
    verbose: int,
    shuffle: bool,
    fit_kwargs: dict,
    template_ready=None,
    compiled: bool = True,
    recorder=None,
) -> TrainingResult:
    """Train ``model`` and return the recorded history.

    On the TensorFlow backend, models the compiled epoch loop of :mod:`skkeras._fastpath` can
    train (no metrics, epoch-level callbacks only...) skip Keras's ``fit`` machinery; everything
    else goes through ``Model.fit`` (always, with ``compiled=False``). ``template_ready(key)`` is
    called once the fast path's template for the model is ready, before it trains.
    ``recorder`` (an :class:`~skkeras.callbacks.EpochRecorder`, a new one if None) records the
    epochs: if training raises, :func:`interrupted_result` reads those that trained from it.
    """
    recorder, callbacks = _with_recorder(callbacks, recorder)
    common = {
        "sample_weight": sample_weight,
        "validation_data": validation_data,
        "epochs": epochs,
        "initial_epoch": initial_epoch,
        "batch_size": batch_size,
        "callbacks": callbacks,
        "shuffle": shuffle,
    }
    trained = False
    key = _fastpath.training_key(model, callbacks, fit_kwargs, verbose) if compiled else None
    if key is not None:
        trained = _fastpath.train(model, X, y, key=key, template_ready=template_ready, **common)
    if not trained:
        _keras_fit(model, X, y, verbose=verbose, fit_kwargs=fit_kwargs, **common)
    return _result(recorder, monitor, template_key=key if trained else None)


def run_training_from_start(
    start,
    X,
    y,
    *,
    sample_weight,
    validation_data,
    epochs: int,
    batch_size: int | None,
    callbacks: list,
    monitor: str | None,
    shuffle: bool,
    publish_state=None,
    learning_rate: float | None = None,
) -> TrainingResult | None:
    """Train a network from a remembered :class:`~skkeras._reuse.Start`, without a Keras model of
    its own; None if its template is gone or busy, or its learning rate cannot be set (nothing
    was trained then). Model-free callbacks run after each epoch, once ``publish_state`` has
    been given its state."""
    starting_state = start.packed_for(learning_rate)
    if starting_state is None:
        return None
    recorder, callbacks = _with_recorder(callbacks)
    values = _fastpath.train_from_start(
        start.key,
        starting_state,
        X,
        y,
        sample_weight=sample_weight,
        validation_data=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        callbacks=callbacks,
        shuffle=shuffle,
        publish_state=publish_state,
    )
    if values is None:
        return None
    return _result(recorder, monitor, template_key=start.key, values=values)


def _with_recorder(callbacks: list, recorder=None):
    from .callbacks import EpochRecorder

    recorder = EpochRecorder() if recorder is None else recorder
    return recorder, [*callbacks, recorder]


def interrupted_result(recorder, monitor: str | None) -> TrainingResult:
    """The epochs a training that raised (a failing callback, an interruption, divergence)
    completed, as ``recorder`` has them: every epoch whose training reached the network,
    including one whose end a callback failed in."""
    recorder.record_held()
    return _recorded(recorder, monitor)


def _result(recorder, monitor: str | None, **extra) -> TrainingResult:
    if recorder.diverged_epoch is not None:
        raise TrainingDivergedError(
            f"Training diverged: the loss became {recorder.history['loss'][-1]} at epoch "
            f"{recorder.diverged_epoch}. Lower the learning_rate, scale X, or add "
            "batch_normalization."
        )
    return _recorded(recorder, monitor, **extra)


def _recorded(recorder, monitor: str | None, **extra) -> TrainingResult:
    """The epochs ``recorder`` recorded, with the best one by ``monitor``."""
    history = recorder.history
    epochs_run = len(history.get("loss", []))
    return TrainingResult(history, epochs_run, _best_epoch(history, monitor), **extra)


def _keras_fit(model, X, y, *, epochs, initial_epoch, fit_kwargs, **kwargs) -> None:
    """The plain path: Keras's own ``Model.fit``, with the global generators seeded from the
    fit's seed and first epoch (its data adapters may shuffle with NumPy's), put back after."""
    seed = current_fit_seed()
    seeding = nullcontext() if seed is None else global_generators_seeded(seed + initial_epoch)
    from .callbacks._history import with_epoch_holders

    kwargs["callbacks"] = with_epoch_holders(kwargs["callbacks"])
    with seeding:
        seed_tensorflow_for_keras_fit()
        model.fit(
            X, y, epochs=initial_epoch + epochs, initial_epoch=initial_epoch, **kwargs,
            **fit_kwargs,
        )


def _best_epoch(history: dict, monitor: str | None) -> int:
    """The 1-based epoch of ``history`` with the lowest ``monitor`` value (the last one without
    ``monitor``). NaN values are skipped, as Keras's ``EarlyStopping`` never takes them for an
    improvement; if every value is NaN (a validation loss that diverged from the first epoch),
    the first epoch, whose weights ``EarlyStopping`` keeps then."""
    values = history.get(monitor) if monitor else None
    if not values:
        return len(history.get("loss", []))
    values = np.asarray(values, dtype=float)
    if np.isnan(values).all():
        return 1
    return int(np.nanargmin(values)) + 1
