"""Callbacks that need no Keras model: a fit from a remembered start may run them without one."""

from __future__ import annotations

import keras


class ModelFreeCallback(keras.callbacks.Callback):
    """An epoch-end callback that reads the epoch's logs, may ask training to stop, and touches
    no model.

    A fit from a remembered starting state (:mod:`skkeras._reuse`) trains without a Keras model.
    It can still run these callbacks: it trains one epoch per compiled call and, after each,
    lets the estimator predict from that epoch's weights, then calls :meth:`epoch_ended`. Any
    other fit runs them as ordinary Keras callbacks. Subclasses implement :meth:`epoch_ended`
    only; ``on_train_begin``, ``on_train_end`` and batch hooks are not called without a model.
    """

    def on_epoch_end(self, epoch, logs=None):
        if self.epoch_ended(epoch, dict(logs or {})):
            self.model.stop_training = True

    def epoch_ended(self, epoch: int, logs: dict) -> bool:
        """Act on the end of 0-based ``epoch`` with its ``logs`` (``loss``, ``val_loss``);
        return True to stop training."""
        raise NotImplementedError
