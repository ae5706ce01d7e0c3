"""skkeras: Keras 3 networks as first-class scikit-learn estimators.

Keras (and its backend) is imported on first use, not by ``import skkeras``; so is
scikit-learn: the public names below are loaded when first accessed (PEP 562), which keeps
``import skkeras`` (and ``skkeras --help``) fast.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

# Quiet TensorFlow's C++ start-up logs unless the user asked for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from ._version import __version__

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._cnn import KerasCNNClassifier, KerasCNNRegressor
    from ._export import export
    from ._lstm import KerasLSTMClassifier, KerasLSTMRegressor
    from ._mlp import KerasMLPClassifier, KerasMLPRegressor
    from ._persistence import load, save
    from ._training import TrainingDivergedError
    from ._wrappers import KerasClassifier, KerasRegressor

#: Public name -> private module defining it, imported on first access.
_LAZY = {
    "KerasClassifier": "._wrappers",
    "KerasRegressor": "._wrappers",
    "KerasMLPClassifier": "._mlp",
    "KerasMLPRegressor": "._mlp",
    "KerasLSTMClassifier": "._lstm",
    "KerasLSTMRegressor": "._lstm",
    "KerasCNNClassifier": "._cnn",
    "KerasCNNRegressor": "._cnn",
    "save": "._persistence",
    "load": "._persistence",
    "export": "._export",
    "TrainingDivergedError": "._training",
}

__all__ = [
    "KerasCNNClassifier",
    "KerasCNNRegressor",
    "KerasClassifier",
    "KerasLSTMClassifier",
    "KerasLSTMRegressor",
    "KerasMLPClassifier",
    "KerasMLPRegressor",
    "KerasRegressor",
    "TrainingDivergedError",
    "__version__",
    "export",
    "load",
    "save",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skkeras' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
