"""What a saved file may name: import paths, and which classes and functions are trusted.

Loading imports nothing the file names unless it is on an allow-list here (skkeras estimators and
data classes, a few scikit-learn scalers, ``Pipeline``) or trusted: by default skkeras and Keras
classes of a few modules and Keras activation/loss/metric functions; anything else only when the
user lists it in ``load(..., trusted=[...])``. Import paths never contain dunder parts.
"""

from __future__ import annotations

import importlib
import re

#: Extra types the skops loader may create: plain data holders with no code on load.
SKOPS_EXTRA_TRUSTED = (
    "numpy.dtype",
    "sklearn.model_selection._split.KFold",
    "sklearn.model_selection._split.StratifiedKFold",
    "sklearn.model_selection._split.RepeatedKFold",
    "sklearn.model_selection._split.RepeatedStratifiedKFold",
    "sklearn.model_selection._split.ShuffleSplit",
    "sklearn.model_selection._split.StratifiedShuffleSplit",
    "sklearn.model_selection._split.GroupKFold",
    "sklearn.model_selection._split.StratifiedGroupKFold",
    "sklearn.model_selection._split.TimeSeriesSplit",
    "sklearn.model_selection._split.LeaveOneOut",
)

#: scikit-learn classes skkeras stores itself (parameters + array state), without skops.
NATIVE_SKLEARN_CLASSES = frozenset(
    {
        "sklearn.pipeline:Pipeline",
        "sklearn.preprocessing:LabelEncoder",
        "sklearn.preprocessing:StandardScaler",
        "sklearn.preprocessing:MinMaxScaler",
        "sklearn.preprocessing:MaxAbsScaler",
    }
)

#: Public Keras modules whose classes and functions are trusted as parameter values by default
#: (they build network pieces and never touch files or the network).
_TRUSTED_KERAS_MODULES = (
    "keras.optimizers",
    "keras.losses",
    "keras.metrics",
    "keras.regularizers",
    "keras.initializers",
    "keras.constraints",
    "keras.activations",
    "keras.layers",
)
#: Modules whose *functions* (not only classes) are trusted by default: pure math.
_TRUSTED_FUNCTION_MODULES = ("keras.activations", "keras.losses", "keras.metrics")
_UNTRUSTED_FUNCTION_NAMES = frozenset({"get", "serialize", "deserialize"})
_TRUSTED_KERAS_NAMES = (
    "keras.callbacks.EarlyStopping",
    "keras.callbacks.ReduceLROnPlateau",
    "keras.callbacks.TerminateOnNaN",
)
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_PRIVATE_IDENTIFIER = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*$")


# ---------------------------------------------------------------------------- import paths
def public_path(obj) -> str | None:
    """``"module:qualname"`` of a class or function, using the shortest module that exports it.

    ``skkeras._mlp.KerasMLPClassifier`` becomes ``"skkeras:KerasMLPClassifier"`` and
    ``keras.src.optimizers.adam.Adam`` becomes ``"keras.optimizers:Adam"``. ``None`` when the
    object cannot be found again by importing (lambdas, local functions).
    """
    module_name = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module_name or not qualname or "<" in qualname:
        return None
    for candidate in _candidate_modules(module_name):
        try:
            found = _walk(importlib.import_module(candidate), qualname)
        except (ImportError, AttributeError):
            continue
        if found is obj:
            return f"{candidate}:{qualname}"
    return None


def _candidate_modules(module_name: str) -> list[str]:
    parts = module_name.split(".")
    public = [part for part in parts if part != "src" and not part.startswith("_")]
    candidates = [".".join(public[:n]) for n in range(1, len(public) + 1)]
    return [*candidates, module_name]


def _walk(module, qualname: str):
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def dotted(path: str) -> str:
    """``"module:qualname"`` as the dotted name users write in ``trusted``."""
    return path.replace(":", ".")


def resolve_path(path: str, *, allow_private: bool = False):
    """Import ``"module:qualname"``; only plain identifiers, never dunder attributes."""
    module_name, sep, qualname = path.partition(":")
    pattern = _PRIVATE_IDENTIFIER if allow_private else IDENTIFIER
    parts = [*module_name.split("."), *qualname.split(".")]
    module_ok = module_name == "__main__" or all(
        _PRIVATE_IDENTIFIER.match(part) for part in module_name.split(".")
    )
    if not sep or not module_ok:
        raise ValueError(f"{path!r} is not a valid import path.")
    if not all(pattern.match(part) for part in qualname.split(".")) or any(
        "__" in part for part in parts if part != "__main__"
    ):
        raise ValueError(f"{path!r} is not a valid import path.")
    return _walk(importlib.import_module(module_name), qualname)


def is_trusted_reference(path: str, trusted: frozenset[str]) -> bool:
    """Whether a stored class/function reference may be imported without the user's say-so."""
    name = dotted(path)
    if name in trusted or name in _TRUSTED_KERAS_NAMES:
        return True
    module_name = path.partition(":")[0]
    if module_name == "skkeras" or module_name.startswith("skkeras."):
        return True
    return any(
        module_name == prefix or module_name.startswith(prefix + ".")
        for prefix in _TRUSTED_KERAS_MODULES
    )


def is_state_name(cls, name: str) -> bool:
    """Fitted attributes that are stored: public ``name_`` ones and the listed private ones."""
    # listed by any class of the hierarchy (a subclass's own list does not drop the base's)
    if any(name in vars(klass).get("_persisted_private_attributes", ()) for klass in cls.__mro__):
        return True
    return bool(IDENTIFIER.match(name)) and name.endswith("_")


def is_trusted_function(path: str, trusted: frozenset[str]) -> bool:
    module_name, _, qualname = path.partition(":")
    if dotted(path) in trusted:
        return True
    return module_name in _TRUSTED_FUNCTION_MODULES and qualname not in _UNTRUSTED_FUNCTION_NAMES


def is_skkeras_class(cls) -> bool:
    return cls.__module__ == "skkeras" or cls.__module__.startswith("skkeras.")


def is_stored_as_estimator(obj) -> bool:
    """Estimators whose parameters and state skkeras encodes itself (recursively)."""
    from sklearn.base import BaseEstimator

    cls = type(obj)
    return isinstance(obj, BaseEstimator) and (
        is_skkeras_class(cls) or public_path(cls) in NATIVE_SKLEARN_CLASSES
    )
