"""What continued training (``warm_start=True``, ``partial_fit``) compares: the parameters a
fitted network was built and compiled with against the current ones."""

from __future__ import annotations

import numpy as np

from . import _reuse

#: Parameters that change how the network is trained, not the network or its compilation.
_TRAINING_PARAMS = (_reuse.TRAINING_ONLY_PARAMS - {"learning_rate"}) | {
    "validation_split", "validation_batch_size", "run_eagerly",
}
#: Routed parameters (by prefix) that only affect training or prediction.
_TRAINING_PREFIXES = frozenset({"fit", "predict", "callbacks"})
#: Parameters (and routed prefixes) the estimator compiles the network with.
_COMPILE_PARAMS = frozenset({"optimizer", "learning_rate", "momentum", "metrics", "compile"})


class UnsavedValue:
    """A recorded build parameter that could not be saved (a lambda builder replaced by None
    before saving, say): it equals nothing, so a continued fit after loading reports the
    parameter as changed, as it would have before saving."""

    def __init__(self, kind: str):
        self.kind = kind

    def __eq__(self, other) -> bool:
        return False

    __hash__ = None

    def __repr__(self) -> str:
        return f"<unsaved {self.kind}>"


class SavedReference:
    """A recorded class or function, kept by import path without importing it (the loaded build
    record is only compared with): it equals the object with that import path."""

    def __init__(self, path: str):
        self.path = path

    def __eq__(self, other) -> bool:
        if isinstance(other, SavedReference):
            return other.path == self.path
        from ._references import public_path

        return public_path(other) == self.path

    __hash__ = None

    def __repr__(self) -> str:
        return self.path.replace(":", ".")


def _snapshot(value):
    """``value`` as kept to compare with later: containers copied (they may be changed in
    place), other objects by reference."""
    if isinstance(value, list):
        return [_snapshot(item) for item in value]
    if isinstance(value, dict):
        return {key: _snapshot(item) for key, item in value.items()}
    return value


def _changes(before: dict, after: dict) -> list[str]:
    """The keys whose values differ between ``before`` and ``after`` (or are in only one)."""
    return [
        key for key in sorted(set(before) | set(after), key=str)
        if key not in before or key not in after or not _same(before[key], after[key])
    ]


def _shown(params: dict, key: str) -> str:
    return repr(params[key]) if key in params else "(not set)"


def _same(a, b) -> bool:
    """Whether two parameter values are equal (sequences element by element, objects without
    a meaningful ``==`` by identity)."""
    if a is b:
        return True
    sequences = (list, tuple, np.ndarray)
    if isinstance(a, sequences) and isinstance(b, sequences):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    try:
        equal = a == b
        return bool(equal) if np.ndim(equal) == 0 else False
    except Exception:  # an object whose == fails or is ambiguous: not known to be equal
        return False


def unrestored(recorded, current) -> bool:
    """Whether a recorded build parameter could not be restored when loading: it was not saved
    (an :class:`UnsavedValue`), or a recorded class or function was not trusted (loaded as
    None), on its own or inside a list, tuple or dict."""
    if isinstance(recorded, UnsavedValue):
        return True
    if isinstance(recorded, SavedReference):
        return current is None
    if isinstance(recorded, list | tuple) and isinstance(current, list | tuple):
        return len(recorded) == len(current) and any(map(unrestored, recorded, current))
    if isinstance(recorded, dict) and isinstance(current, dict):
        return recorded.keys() == current.keys() and any(
            unrestored(recorded[key], current[key]) for key in recorded
        )
    return False


def copy_weights(source, target, estimator_name: str) -> None:
    """Give ``target`` (a network just built again) the weights of ``source`` (the loaded
    one); refuse, naming the first difference, networks whose weights differ in number or
    shape."""
    if not target.built and source.built:
        target.build_from_config(source.get_build_config())
    loaded, rebuilt = source.weights, target.weights
    problem = None
    if len(loaded) != len(rebuilt):
        problem = f"the loaded one has {len(loaded)} weights, the rebuilt one {len(rebuilt)}"
    else:
        for index, (old, new) in enumerate(zip(loaded, rebuilt, strict=True)):
            if tuple(old.shape) != tuple(new.shape):
                problem = (
                    f"weight {index} ({old.path}) has shape {tuple(old.shape)} in the loaded "
                    f"network but {tuple(new.shape)} in the rebuilt one ({new.path})"
                )
                break
    if problem is not None:
        raise ValueError(
            f"{estimator_name} continues training a loaded network by building it again with "
            f"its model builder, but the builder now returns another architecture: {problem}. "
            "The builder must build the network it built when the estimator was fitted; or "
            "call fit with warm_start=False to train a new network."
        )
    target.set_weights(source.get_weights())
