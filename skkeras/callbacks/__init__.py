"""Keras callbacks for skkeras estimators: learning-rate schedules and training records.

Importing this module imports Keras.
"""

from ._history import EpochRecorder
from ._schedules import StepDecay

__all__ = ["EpochRecorder", "StepDecay"]
