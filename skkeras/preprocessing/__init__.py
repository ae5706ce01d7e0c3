"""Preparing sequences for the recurrent estimators.

Nothing here imports Keras.
"""

from ._sequences import to_sequences

__all__ = ["to_sequences"]
