"""skkeras: Keras 3 networks as first-class scikit-learn estimators.

Keras (and its backend) is imported on first use, not by ``import skkeras``.
"""

from __future__ import annotations

import os

# Quiet TensorFlow's C++ start-up logs unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._export import export
from ._mlp import KerasMLPClassifier, KerasMLPRegressor  # noqa: E402
from ._persistence import load, save
from ._version import __version__  # noqa: E402
from ._wrappers import KerasClassifier, KerasRegressor  # noqa: E402

__all__ = [
    "KerasClassifier",
    "KerasMLPClassifier",
    "KerasMLPRegressor",
    "KerasRegressor",
    "__version__",
    "export",
    "load",
    "save",
]
