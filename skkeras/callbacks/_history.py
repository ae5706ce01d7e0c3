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
        self._held: tuple[int, dict] | None = None

    def on_train_begin(self, logs=None):
        self.diverged_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        if self.record_epoch(epoch, self._with_rate(logs)):
            self.model.stop_training = True

    def _with_rate(self, logs) -> dict:
        logs = dict(logs or {})
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            logs.setdefault("learning_rate", current_learning_rate(optimizer))
        return logs

    def hold(self, epoch: int, logs) -> None:
        """Keep the logs of 0-based ``epoch``, which has trained, until the recorder's own
        ``on_epoch_end`` records them; :meth:`record_held` records them if a callback before
        it raised."""
        self._held = (epoch, dict(logs or {}))

    def record_held(self) -> None:
        """Record the held epoch, if a failure kept its ``on_epoch_end`` from recording it."""
        if self._held is not None:
            epoch, logs = self._held
            self.record_epoch(epoch, self._with_rate(logs))

    def record_epoch(self, epoch: int, logs: dict) -> bool:
        """Append one epoch's ``logs`` (0-based ``epoch``); return whether training diverged."""
        self._held = None
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.diverged_epoch = epoch + 1
            return True
        return False


class _EpochHolder(keras.callbacks.Callback):
    """Hands each epoch's logs to ``recorder.hold`` before any other callback's epoch end."""

    def __init__(self, recorder: EpochRecorder):
        super().__init__()
        self.recorder = recorder

    def on_epoch_end(self, epoch, logs=None):
        self.recorder.hold(epoch, logs)


def with_epoch_holders(callbacks: list) -> list:
    """``callbacks`` preceded by an :class:`_EpochHolder` for each :class:`EpochRecorder` among
    them: an epoch that trained is recorded even if a callback fails at its end."""
    holders = [_EpochHolder(c) for c in callbacks if isinstance(c, EpochRecorder)]
    return [*holders, *callbacks]
