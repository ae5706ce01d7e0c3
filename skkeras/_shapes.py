"""Per-sample shapes of sequence and image inputs: declared shapes (with one ``-1`` allowed,
as in ``numpy.reshape``) checked against the shape of ``X``."""

from __future__ import annotations

from numbers import Integral

import numpy as np


def check_declared_shape(declared, *, length: int, param: str, owner: str) -> tuple[int, ...]:
    """Validate a declared per-sample shape such as ``image_shape=(8, 8, 1)``."""
    is_sequence = isinstance(declared, list | tuple) or (
        isinstance(declared, np.ndarray) and declared.ndim == 1
    )
    entries = tuple(declared) if is_sequence else None
    valid = (
        entries is not None
        and len(entries) == length
        and all(
            isinstance(size, Integral) and not isinstance(size, bool) and (size >= 1 or size == -1)
            for size in entries
        )
        and sum(size == -1 for size in entries) <= 1
    )
    if not valid:
        raise ValueError(
            f"The {param!r} parameter of {owner} must be a tuple (or list or 1-D array) of "
            f"{length} positive ints, one of which may be -1 (inferred from the number of columns "
            f"of X). Got {declared!r} instead."
        )
    return tuple(int(size) for size in entries)


def infer_shape(declared: tuple[int, ...], n_values: int, *, param: str, owner: str):
    """Fill in the ``-1`` of ``declared`` so that the shape holds ``n_values`` numbers."""
    known = int(np.prod([size for size in declared if size != -1]))
    if -1 in declared and n_values % known != 0:
        raise ValueError(
            f"X has {n_values} columns but {param}={declared!r} needs a multiple of {known} "
            f"columns (the -1 is inferred from them); pass X whose number of columns is a "
            f"multiple of {known}, or the {param} of its samples."
        )
    if -1 in declared:
        declared = tuple(n_values // known if size == -1 else size for size in declared)
    if int(np.prod(declared)) != n_values:
        raise ValueError(
            f"X has {n_values} columns but {param}={declared!r} needs "
            f"{int(np.prod(declared))}; pass X of shape (n_samples, {int(np.prod(declared))}) "
            f"or the {param} of its samples."
        )
    return declared


def check_matches(actual: tuple[int, ...], declared, *, param: str, owner: str) -> None:
    """Refuse an ``X`` whose samples do not have the declared shape."""
    if declared is None:
        return
    matches = len(actual) == len(declared) and all(
        size == -1 or size == seen for size, seen in zip(declared, actual, strict=True)
    )
    if not matches:
        raise ValueError(
            f"X has samples of shape {actual} but {owner} was given {param}={tuple(declared)!r}; "
            f"pass matching data, or {param}=None to use the shape of X."
        )
