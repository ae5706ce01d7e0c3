"""skkeras: Keras 3 networks as first-class scikit-learn estimators.

Keras (and its backend) is imported on first use, not by ``import skkeras``.
"""

from __future__ import annotations

import os

# Quiet TensorFlow's C++ start-up logs unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._mlp import KerasMLPClassifier, KerasMLPRegressor
from ._version import __version__
from ._wrappers import KerasClassifier, KerasRegressor

__all__ = [
    "KerasClassifier",
    "KerasMLPClassifier",
    "KerasMLPRegressor",
    "KerasRegressor",
    "__version__",
]
