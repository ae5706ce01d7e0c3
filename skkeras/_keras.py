"""Deferred Keras import and seeding helpers.

Keras and its backend are imported on first use so that ``import skkeras`` stays fast.
"""

from __future__ import annotations

import logging
import os
import random
from contextlib import contextmanager
from numbers import Integral

import numpy as np

_MAX_SEED = 2**31 - 1


def import_keras():
    """Import and return the ``keras`` module (quietly)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # TensorFlow's Python logger warns about retracing for every new model; skkeras builds
    # models on purpose, so only errors are shown.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    import keras

    return keras


def backend_name() -> str:
    """Name of the active Keras backend (``"tensorflow"``, ``"jax"``, ``"torch"``...)."""
    return import_keras().backend.backend()


def resolve_seed(random_state) -> int:
    """Turn a scikit-learn ``random_state`` into one integer seed for a fit.

    ``None`` draws fresh OS entropy so that unseeded fits vary; an int is used as is; a
    ``RandomState`` instance is drawn from, as scikit-learn does.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0] % _MAX_SEED)
    if isinstance(random_state, Integral):
        return int(random_state) % _MAX_SEED
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, _MAX_SEED))
    raise ValueError(
        f"random_state must be None, an int or a numpy RandomState; got {random_state!r}."
    )


@contextmanager
def seeded(seed: int):
    """Seed Keras and the backend for a fit, leaving Python's and NumPy's global RNGs as found.

    Only the seeding functions are used (no op determinism switch), so later unseeded code keeps
    working.
    """
    keras = import_keras()
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
