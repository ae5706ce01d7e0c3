"""A callback that records per-epoch logs, the learning rate and divergence."""

from __future__ import annotations

import math

import keras
import numpy as np


def current_learning_rate(optimizer) -> float:
    """The optimizer's learning rate as a Python float (schedules evaluated at the current step)."""
    rate = optimizer.learning_rate
    if isinstance(rate, keras.Variable):
        try:
            return float(rate)  # a third of the time of converting to NumPy first
        except TypeError:  # a distributed (mirrored) variable has no float()
            pass
    if callable(rate) and not hasattr(rate, "numpy"):
        rate = rate(optimizer.iterations)
    return float(np.asarray(keras.ops.convert_to_numpy(rate)))


class EpochRecorder(keras.callbacks.Callback):
    """Record every epoch's logs plus ``learning_rate``; stop training when the loss is not finite.

    Attributes
    ----------
    history : dict of str to list of float
        Per-epoch values of each logged metric (``loss``, ``val_loss``, ``learning_rate``...).
    diverged_epoch : int or None
        1-based epoch at which the training loss stopped being finite, if it did.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.diverged_epoch: int | None = None

    def on_train_begin(self, logs=None):
        self.diverged_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            logs.setdefault("learning_rate", current_learning_rate(optimizer))
        if self.record_epoch(epoch, logs):
            self.model.stop_training = True

    def record_epoch(self, epoch: int, logs: dict) -> bool:
        """Append one epoch's ``logs`` (0-based ``epoch``); return whether training diverged."""
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_epoch = epoch + 1
            return True
        return False
