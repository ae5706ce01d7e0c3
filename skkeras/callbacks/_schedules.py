"""Learning-rate schedules usable in an estimator's ``callbacks=``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real

import keras
from sklearn.utils._param_validation import InvalidParameterError

from .._messages import plain


class StepDecay(keras.callbacks.Callback):
    """Multiply the learning rate by ``factor`` at each milestone epoch.

    The CIFAR schedule from the notebook: ``StepDecay(milestones=(80, 120, 160, 180),
    factor=0.1)`` trains at the initial rate for 80 epochs, then at a tenth of it, and so on.

    Parameters
    ----------
    milestones : sequence of int, default=(80, 120, 160, 180)
        Distinct positive epoch counts, in any order (1-based: ``80`` means "after 80
        epochs"), at which the rate is decayed; one milestone is a one-element sequence
        (``[5]``), not ``5``.
    factor : float, default=0.1
        Multiplier applied at each milestone; must be in (0, 1].
    verbose : int, default=0
        Print a line when the rate changes.

    Notes
    -----
    The rate at epoch ``e`` is the base rate times ``factor`` to the number of milestones
    ``<= e``. The base rate is the optimizer's rate when training starts; in an skkeras
    estimator that continues training (``warm_start=True``, ``partial_fit``, or a loaded
    estimator trained further) it is the rate the network's optimizer started with, so
    continued training follows the schedule of one long fit. The optimizer's learning rate must
    be a number: an optimizer whose ``learning_rate`` is a
    ``keras.optimizers.schedules.LearningRateSchedule`` is refused when training starts.

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
        milestones = _checked_milestones(milestones)
        if len(set(milestones)) != len(milestones):
            raise ValueError(
                f"StepDecay milestones must be distinct epoch counts; got {milestones!r} (give "
                "factor**2 for a larger decay at one milestone)."
            )
        if isinstance(factor, bool) or not isinstance(factor, Real) or not 0 < factor <= 1:
            raise ValueError(
                f"StepDecay factor must be a number in (0, 1]; got {plain(factor)!r}."
            )
        self.milestones = tuple(sorted(int(m) for m in milestones))
        self.factor = float(factor)
        self.verbose = verbose
        self._initial_rate: float | None = None

    def rate_at(self, epoch: int) -> float:
        """Learning rate used during ``epoch`` (0-based)."""
        passed = sum(1 for milestone in self.milestones if epoch >= milestone)
        return self._initial_rate * self.factor**passed

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if isinstance(getattr(optimizer, "_learning_rate", None),
                      keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "StepDecay sets the optimizer's learning rate at its milestones, but the "
                f"optimizer ({type(optimizer).__name__}) has a LearningRateSchedule as its "
                "learning_rate, which cannot be set. Use either the StepDecay callback or the "
                "schedule, with a number as the learning rate."
            )
        if self._initial_rate is None:
            self._initial_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))

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


def _checked_milestones(milestones) -> tuple:
    """``milestones`` as a tuple of plain numbers, or an error naming what is wrong with it:
    not a sequence (one epoch count, a string), or an entry that is not a positive whole
    number."""
    if isinstance(milestones, str | bytes) or not isinstance(milestones, Iterable):
        raise InvalidParameterError(
            "StepDecay milestones must be a sequence of positive epoch counts, such as "
            f"(80, 120) or [5]; got {plain(milestones)!r} ({type(milestones).__name__})."
        )
    values = tuple(plain(value) for value in milestones)
    for position, value in enumerate(values):
        if not _is_epoch_count(value):
            raise ValueError(
                "StepDecay milestones must be positive whole epoch counts (1-based: 80 means "
                f"after 80 epochs); milestones[{position}] is {value!r} in {values!r}."
            )
    return values


def _is_epoch_count(value) -> bool:
    """Whether ``value`` is a positive whole number (an int, or a float such as ``2.0``)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return False
    return (isinstance(value, Integral) or float(value).is_integer()) and value >= 1
