"""Deferred Keras import and seeding helpers.

Keras and its backend are imported on first use so that ``import skkeras`` stays fast.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import sys
import tempfile
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Integral

import numpy as np

_MAX_SEED = 2**31 - 1


_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def cap_tensorflow_threads() -> None:
    """Give TensorFlow's thread pools the thread budget that ``OMP_NUM_THREADS`` sets.

    joblib's process workers (``n_jobs=2`` in a search) get ``OMP_NUM_THREADS`` = cores / jobs,
    which NumPy's BLAS honours but TensorFlow ignores: every worker would start one thread per
    core and the workers would fight over the cores. Before TensorFlow starts, the same budget
    is copied into ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS`` (values already set
    by the user win; nothing happens once TensorFlow is imported).
    """
    budget = os.environ.get("OMP_NUM_THREADS", "")
    if "tensorflow" in sys.modules or not budget.isdigit() or int(budget) < 1:
        return
    for name in _THREAD_VARIABLES:
        os.environ.setdefault(name, budget)
    if os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    import tensorflow as tf

    intra, inter = (os.environ[name] for name in _THREAD_VARIABLES)
    if intra.isdigit():
        tf.config.threading.set_intra_op_parallelism_threads(int(intra))
    if inter.isdigit():
        tf.config.threading.set_inter_op_parallelism_threads(int(inter))


_keras_module = None


def import_keras():
    """Import and return the ``keras`` module (quietly)."""
    global _keras_module
    if _keras_module is not None:
        return _keras_module
    if "keras" not in sys.modules:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with _without_startup_banners():
            cap_tensorflow_threads()
            import keras  # noqa: F401
    # TensorFlow's Python logger warns about retracing for every new model; skkeras builds
    # models on purpose, so only errors are shown (unless the user chose a level), also when
    # the user imported Keras first.
    logger = logging.getLogger("tensorflow")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.ERROR)
    _keras_module = sys.modules["keras"]
    return _keras_module


#: Informational lines TensorFlow's C++ runtime prints on import whatever TF_CPP_MIN_LOG_LEVEL says.
_BANNERS = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on")


@contextmanager
def _without_startup_banners():
    """Drop TensorFlow's start-up banners from stderr; every other line is written through.

    Active only while ``TF_CPP_MIN_LOG_LEVEL`` asks for no info messages (skkeras's default).
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in {"", "0"}:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr file descriptor (some notebooks)
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            kept = [line for line in text.splitlines(keepends=True)
                    if not any(banner in line for banner in _BANNERS)]
            if kept:
                sys.stderr.write("".join(kept))


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


#: One fit in this many empties TensorFlow's kernel cache (see :func:`set_keras_seed`).
_FITS_PER_CACHE_RESET = 64
_fits = itertools.count()
#: The seed of the fit running in this thread (see :func:`fit_seed`).
_fit_seed: ContextVar[int | None] = ContextVar("skkeras_fit_seed", default=None)
#: Held while a fit seeds the process-wide generators and builds its network, so that fits in
#: other threads neither draw from them meanwhile nor leave them changed.
_seeding_lock = threading.RLock()


@contextmanager
def fit_seed(seed: int):
    """Make ``seed`` the running fit's seed in this thread (see :func:`current_fit_seed`)."""
    token = _fit_seed.set(seed)
    try:
        yield
    finally:
        _fit_seed.reset(token)


def current_fit_seed() -> int | None:
    """The seed of the fit running in this thread, or None outside a fit."""
    return _fit_seed.get()


@contextmanager
def seeded(seed: int):
    """Seed Keras and the backend for building a network, leaving Python's and NumPy's global
    RNGs as found.

    Keras's initializers and dropout layers draw their seeds from Python's global ``random``,
    which every thread shares; the span is held under a process-wide lock, so that networks
    built in several threads at once (``n_jobs`` threads, a threading joblib backend) get the
    weights they would get alone. Keep it short: training runs outside it.

    Only the seeding functions are used (no op determinism switch), so later unseeded code keeps
    working.
    """
    with _seeding_lock, global_generators_seeded(seed, keras_seed=True):
        yield


@contextmanager
def isolated_generators():
    """Run code that draws from the global generators (cloning a network draws its initial
    weights) without changing them for the user, and without racing networks being built in
    other threads."""
    with _seeding_lock, global_generators_seeded(0):
        yield


class _UsersGenerators:
    """The global generators' states from before the first of the seeded spans now running in
    any thread, put back when the last one ends.

    Spans in different threads may overlap without nesting (fits through Keras's own ``fit``
    seed the generators for their whole training, outside the build lock): if each put back what
    it found, the one ending last could leave another fit's seeded state behind.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.active = 0
        self.saved = None
        self.thread = threading.local()

    def enter(self) -> tuple | None:
        """Record a span starting in this thread; a nested one gets the states to put back."""
        if getattr(self.thread, "depth", 0):
            self.thread.depth += 1
            return random.getstate(), np.random.get_state()
        self.thread.depth = 1
        with self.lock:
            if self.active == 0:
                self.saved = random.getstate(), np.random.get_state()
            self.active += 1
        return None

    def leave(self, nested_states: tuple | None) -> None:
        self.thread.depth -= 1
        if nested_states is not None:
            random.setstate(nested_states[0])
            np.random.set_state(nested_states[1])
            return
        with self.lock:
            self.active -= 1
            if self.active == 0:
                random.setstate(self.saved[0])
                np.random.set_state(self.saved[1])
                self.saved = None


_users_generators = _UsersGenerators()


@contextmanager
def global_generators_seeded(seed: int, *, keras_seed: bool = False):
    """Seed Python's and NumPy's global generators (and Keras's, if ``keras_seed``) with
    ``seed``; put the first two back as the user left them once no seeded span is running."""
    nested_states = _users_generators.enter()
    try:
        if keras_seed:
            set_keras_seed(seed)
        else:
            random.seed(seed)
            np.random.seed(seed)
        yield
    finally:
        _users_generators.leave(nested_states)


def set_keras_seed(seed: int) -> None:
    """``keras.utils.set_random_seed(seed)``, leaving TensorFlow's own global seed alone.

    Setting TensorFlow's global seed empties its runtime's cache of instantiated kernels and
    functions, so the next call of every compiled graph is prepared again: about 80 ms for a
    small network's training loop, once per fit. Keras's layers and initializers draw from
    Keras's seed (and Python's ``random``), never from TensorFlow's; only the ``tf.data``
    shuffling of Keras's own ``fit`` reads it, and :func:`seed_tensorflow_for_keras_fit` sets it
    just before such a fit. Other backends, or a Keras laid out differently, get
    ``keras.utils.set_random_seed`` itself.

    That cache also keeps a kernel for every variable name it meets, and Keras numbers the
    layers of every new model (``dense_57``): networks from a user's builder would grow it by
    tens of KiB per variable per fit. So one fit in ``_FITS_PER_CACHE_RESET`` does set
    TensorFlow's seed, which empties the cache (the ready-made networks name their layers and
    barely add to it).
    """
    keras = import_keras()
    if keras.backend.backend() != "tensorflow" or next(_fits) % _FITS_PER_CACHE_RESET == 0:
        keras.utils.set_random_seed(seed)
        return
    try:
        from keras.src.backend.common import global_state
        from keras.src.random.seed_generator import GLOBAL_SEED_GENERATOR
        from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED
    except ImportError:
        keras.utils.set_random_seed(seed)
        return
    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(GLOBAL_SEED_GENERATOR, None)  # re-made from the seed
    random.seed(seed)
    np.random.seed(seed)


def seed_tensorflow_for_keras_fit() -> None:
    """Give TensorFlow the running fit's seed before Keras's own ``fit`` shuffles with it (the
    process-wide seed: fits in other threads at the same moment may draw from it too)."""
    seed = _fit_seed.get()
    if seed is not None and backend_name() == "tensorflow":
        import tensorflow as tf

        tf.random.set_seed(seed)
