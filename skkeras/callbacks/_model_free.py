"""Callbacks that need no Keras model: a fit from a remembered start may run them without one."""

from __future__ import annotations

import keras


class ModelFreeCallback(keras.callbacks.Callback):
    """An epoch-end callback that reads the epoch's logs, may ask training to stop, and touches
    no model.

    The fast path (:mod:`skkeras._fastpath`) runs them between one-epoch calls of its whole-fit
    graph: after each epoch it puts that epoch's weights where the estimator predicts from (the
    model's variables, or, for a fit from a remembered starting state (:mod:`skkeras._reuse`),
    which has no Keras model, a trained state), then calls :meth:`epoch_ended`. So a fit with
    only such callbacks may start from a remembered state, and needs no per-epoch graph of its
    own. Other fits run them as ordinary Keras callbacks. Subclasses implement
    :meth:`epoch_ended` only; ``on_train_begin``, ``on_train_end`` and batch hooks are not
    called on the fast path.
    """

    def on_epoch_end(self, epoch, logs=None):
        if self.epoch_ended(epoch, dict(logs or {})):
            self.model.stop_training = True

    def epoch_ended(self, epoch: int, logs: dict) -> bool:
        """Act on the end of 0-based ``epoch`` with its ``logs`` (``loss``, ``val_loss``);
        return True to stop training."""
        raise NotImplementedError


def is_model_free(callback) -> bool:
    """Whether ``callback`` (an instance, or a class an estimator instantiates) is a
    :class:`ModelFreeCallback`."""
    return isinstance(callback, ModelFreeCallback) or (
        isinstance(callback, type) and issubclass(callback, ModelFreeCallback)
    )
