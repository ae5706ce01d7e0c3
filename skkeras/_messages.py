"""How values are shown in error messages."""

from __future__ import annotations

import numpy as np


def plain(value):
    """A NumPy scalar as the Python value it holds, so that messages show ``2`` and ``True``
    rather than NumPy 2's ``np.int64(2)`` and ``np.True_`` (anything else as it is)."""
    return value.item() if isinstance(value, np.generic) else value
