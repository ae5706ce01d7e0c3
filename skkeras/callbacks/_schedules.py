"""Learning-rate schedules usable in an estimator's ``callbacks=``."""

from __future__ import annotations

from collections.abc import Sequence

import keras


class StepDecay(keras.callbacks.Callback):
    """Multiply the learning rate by ``factor`` at each milestone epoch.

    The CIFAR schedule from the notebook: ``StepDecay(milestones=(80, 120, 160, 180),
    factor=0.1)`` trains at the initial rate for 80 epochs, then at a tenth of it, and so on.

    Parameters
    ----------
    milestones : sequence of int, default=(80, 120, 160, 180)
        Epoch counts (1-based: ``80`` means "after 80 epochs") at which the rate is decayed.
    factor : float, default=0.1
        Multiplier applied at each milestone; must be in (0, 1].
    verbose : int, default=0
        Print a line when the rate changes.

    Examples
    --------
    >>> from skkeras import KerasMLPClassifier
    >>> from skkeras.callbacks import StepDecay
    >>> clf = KerasMLPClassifier(epochs=6, callbacks=[StepDecay(milestones=(2, 4), factor=0.5)])
    """

    def __init__(
        self,
        milestones: Sequence[int] = (80, 120, 160, 180),
        factor: float = 0.1,
        verbose: int = 0,
    ):
        super().__init__()
        milestones = tuple(milestones)
        if any(int(m) != m or m < 1 for m in milestones):
            raise ValueError(
                f"StepDecay milestones must be positive epoch counts; got {milestones!r}."
            )
        if not 0 < factor <= 1:
            raise ValueError(f"StepDecay factor must be in (0, 1]; got {factor!r}.")
        self.milestones = tuple(sorted(int(m) for m in milestones))
        self.factor = float(factor)
        self.verbose = verbose
        self._initial_rate: float | None = None

    def rate_at(self, epoch: int) -> float:
        """Learning rate used during ``epoch`` (0-based)."""
        passed = sum(1 for milestone in self.milestones if epoch >= milestone)
        return self._initial_rate * self.factor**passed

    def on_train_begin(self, logs=None):
        if self._initial_rate is None:
            self._initial_rate = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )

    def on_epoch_begin(self, epoch, logs=None):
        new_rate = self.rate_at(epoch)
        optimizer = self.model.optimizer
        old_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        if abs(new_rate - old_rate) > 1e-12 * max(abs(old_rate), 1.0):
            optimizer.learning_rate = new_rate
            if self.verbose:
                print(f"Epoch {epoch + 1}: StepDecay sets learning rate to {new_rate:.3g}.")

    def get_config(self):
        return {"milestones": self.milestones, "factor": self.factor, "verbose": self.verbose}
