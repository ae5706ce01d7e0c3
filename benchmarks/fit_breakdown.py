"""Where a skkeras fit's time goes, and what each fast-path measure buys.

``python -m benchmarks.fit_breakdown [--fits N] [--rounds R]``

The benchmark MLP (64-32, Adam, batch 64, 20 epochs; the estimator's default training-loss
early stopping) on digits and breast cancer: the median time of fits after the first of an
architecture (the folds of a CV, the trials of a study), with every measure on, and with each
one switched off in turn (patched in this process):

* ``tf seed every fit``: the fit sets TensorFlow's global seed, as ``keras.utils.set_random_seed``
  does; that empties TensorFlow's kernel cache, so the training graph is prepared again.
* ``numbered names``: Keras's numbered layer and optimizer names (``dense_57``, ``adam_12``).
* ``keras early stopping``: Keras's ``EarlyStopping``, which compares with backend operations
  (and, not being the estimator's own callback, makes the fit run one call per epoch).
* ``one compiled call per epoch``: the fit runs one compiled call per epoch with its callbacks in
  Python between them, instead of the whole fit in one call with early stopping in the graph.

Those fits each take a new seed, so each builds its network. The row ``same seed every fit``
gives every fit the warm-up's seed, as the folds of a cross-validation have: from the second fit
on, the fits train from the remembered starting state without building a Keras model
(``skkeras/_reuse.py``).

Two more rows fit the same network from a user's ``Sequential`` builder in ``KerasClassifier``
(Keras's numbered layer names, no early stopping), as is and with a new architecture key every
fit (``Sequential builder, new key every fit``: what such builders got before session 3).

Variants run in blocks (templates cleared, one warm-up fit, then ``--fits`` timed fits), and the
sequence of blocks is repeated ``--rounds`` times so that machine noise hits all of them.
With every measure on, the time is also split into model building, the compiled calls,
callbacks and the rest. Results go to ``benchmarks/results/fit_breakdown.md|json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from . import _libs
from ._measure import load_table

RESULTS = Path(__file__).parent / "results"
TABLES = ("digits", "breast_cancer")


@contextlib.contextmanager
def _patched(owner, name, value):
    saved = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, saved)


@contextlib.contextmanager
def _tf_seed_every_fit():
    import keras

    from skkeras import _keras

    with _patched(_keras, "set_keras_seed", keras.utils.set_random_seed):
        yield


@contextlib.contextmanager
def _numbered_names():
    import keras

    from skkeras import _base, _mlp

    build_mlp, make_optimizer = _mlp.build_mlp, _base.make_optimizer

    def renumbered(layer):
        return type(layer).from_config({**layer.get_config(), "name": None})

    def numbered_mlp(*args, **kwargs):
        return keras.models.clone_model(build_mlp(*args, **kwargs), clone_function=renumbered)

    def numbered_optimizer(*args, **kwargs):
        optimizer = make_optimizer(*args, **kwargs)
        return type(optimizer).from_config({**optimizer.get_config(), "name": None})

    with _patched(_mlp, "build_mlp", numbered_mlp), \
            _patched(_base, "make_optimizer", numbered_optimizer):
        yield


@contextlib.contextmanager
def _keras_early_stopping():
    import keras

    from skkeras import _base

    def keras_callback(*, monitor, patience, min_delta, restore):
        return keras.callbacks.EarlyStopping(
            monitor=monitor, patience=patience, min_delta=min_delta,
            restore_best_weights=restore, mode="min",
        )

    with _patched(_base, "early_stopping_callback", keras_callback):
        yield


@contextlib.contextmanager
def _new_key_every_fit():
    """Every fit gets a new architecture key, so its training graph is traced anew: what a
    builder's ``Sequential`` model got before session 3, whose numbered input layer
    (``input_layer_57``) was part of the key."""
    import itertools

    from skkeras import _fastpath

    anonymous, fits = _fastpath._anonymous, itertools.count()

    def distinct(config, model):
        return {"fit": next(fits), **anonymous(config, model)}

    with _patched(_fastpath, "_anonymous", distinct):
        yield


@contextlib.contextmanager
def _call_per_epoch():
    """Every fit runs one compiled call per epoch, its callbacks in Python between them (what
    every fit did before session 5; fits with callbacks of the user's still do)."""
    from skkeras import _compiled_fit

    with _patched(_compiled_fit, "plan", lambda callbacks, has_validation: None):
        yield


VARIANTS = {
    "all measures": contextlib.nullcontext,
    "one compiled call per epoch": _call_per_epoch,
    "tf seed every fit": _tf_seed_every_fit,
    "numbered names": _numbered_names,
    "keras early stopping": _keras_early_stopping,
}


def _estimator(seed: int):
    from skkeras import KerasMLPClassifier

    return KerasMLPClassifier(
        _libs.HIDDEN, batch_size=_libs.BATCH_SIZE, learning_rate=_libs.LEARNING_RATE,
        epochs=20, random_state=seed,
    )


def _sequential_builder(meta):
    import keras

    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        *[keras.layers.Dense(units, activation="relu") for units in _libs.HIDDEN],
        keras.layers.Dense(meta["n_classes_"], activation="softmax"),
    ])


def _builder_estimator(seed: int):
    """The same network from a user's builder (numbered layer names), in ``KerasClassifier``."""
    from skkeras import KerasClassifier

    return KerasClassifier(
        _sequential_builder, loss="sparse_categorical_crossentropy", optimizer="adam",
        optimizer__learning_rate=_libs.LEARNING_RATE, batch_size=_libs.BATCH_SIZE, epochs=20,
        random_state=seed,
    )


SAME_SEED = "same seed every fit (starts from the remembered state)"
#: Rows measured on the builder estimator: (label, variant).
BUILDER_VARIANTS = {
    "Sequential builder": contextlib.nullcontext,
    "Sequential builder, new key every fit": _new_key_every_fit,
}


def _time_fits(X, y, n_fits: int, make=_estimator, same_seed: bool = False) -> list[float]:
    from skkeras import _fastpath, _reuse

    _fastpath.clear_templates()
    _reuse.forget_all()
    make(0).fit(X, y)  # the first fit of the architecture traces its graphs
    times = []
    for seed in range(1, n_fits + 1):
        start = time.perf_counter()
        make(0 if same_seed else seed).fit(X, y)
        times.append(time.perf_counter() - start)
    return times


class _Split:
    """Accumulates the time spent in a few functions of a fit, by wrapping them."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self._stack = contextlib.ExitStack()

    def wrap(self, owner, name, label):
        function = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        self._stack.enter_context(_patched(owner, name, timed))

    def __enter__(self):
        import keras

        from skkeras import _base, _fastpath

        self.wrap(_base.BaseKerasEstimator, "_make_model", "fit: build and compile the model")
        self.wrap(_fastpath, "train", "fit: fast path (template, training loop)")
        self.wrap(_fastpath, "_fit_whole", "fast path: whole fit in one compiled call")
        self.wrap(_fastpath, "_run_epochs", "fast path: one compiled call per epoch")
        self.wrap(keras.callbacks.CallbackList, "on_epoch_end", "training loop: callbacks")
        self.wrap(_fastpath, "_call_training_graph", "training loop: compiled calls")
        return self

    def __exit__(self, *exc):
        self._stack.close()


def split_of_a_fit(X, y, n_fits: int) -> dict:
    from skkeras import _fastpath

    _fastpath.clear_templates()
    with _Split() as split:
        _estimator(0).fit(X, y)
        split.seconds.clear()
        start = time.perf_counter()
        for seed in range(1, n_fits + 1):
            _estimator(seed).fit(X, y)
        total = time.perf_counter() - start
    _fastpath.clear_templates()
    ms = {"whole fit": 1000 * total / n_fits}
    for prefix in ("fit:", "fast path:", "training loop:"):  # each part after what contains it
        for label in sorted(split.seconds):
            if label.startswith(prefix):
                ms[label] = 1000 * split.seconds[label] / n_fits
    return ms


def measure(table: str, n_fits: int, rounds: int) -> dict:
    X, _, y, _ = load_table(table)
    times = defaultdict(list)
    for _ in range(rounds):
        for name, variant in VARIANTS.items():
            with variant():
                times[name] += _time_fits(X, y, n_fits)
        times[SAME_SEED] += _time_fits(X, y, n_fits, same_seed=True)
        for name, variant in BUILDER_VARIANTS.items():
            with variant():
                times[name] += _time_fits(X, y, n_fits, make=_builder_estimator)
    sklearn = _libs.make("sklearn", 20)
    sklearn.fit(X, y)
    sklearn_times = []
    for _ in range(n_fits):
        start = time.perf_counter()
        _libs.make("sklearn", 20).fit(X, y)
        sklearn_times.append(time.perf_counter() - start)
    return {
        "table": table,
        "n_train": int(X.shape[0]),
        "fit_ms": {name: [1000 * t for t in values] for name, values in times.items()},
        "sklearn_fit_ms": [1000 * t for t in sklearn_times],
        "split_ms": split_of_a_fit(X, y, n_fits),
    }


def _cell(values) -> str:
    return f"{np.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def report(results: list, command: str) -> str:
    lines = ["# Where a skkeras fit's time goes", "", f"Command: `{command}`", "",
             "Fit times in ms, median (min-max); ratios are the median divided by the median "
             "with all measures on (the builder rows: of the builder as is).", ""]
    for result in results:
        fits = result["fit_ms"]
        reference = float(np.median(fits["all measures"]))
        builder = float(np.median(fits.get("Sequential builder", [np.nan])))
        lines += [f"## {result['table']} ({result['n_train']} rows, 20 epochs)", "",
                  "| variant | fit ms | ratio |", "|---|---|---|"]
        for name, values in fits.items():
            base = builder if name in BUILDER_VARIANTS else reference
            lines.append(f"| {name} | {_cell(values)} | {np.median(values) / base:.2f}x |")
        sklearn = result["sklearn_fit_ms"]
        lines.append(f"| scikit-learn MLPClassifier | {_cell(sklearn)} | "
                     f"{np.median(sklearn) / reference:.2f}x |")
        lines += ["", "With all measures on, one fit (ms, mean over the fits; \"a: b\" is a "
                  "part of a):", "",
                  "| part | ms |", "|---|---|"]
        lines += [f"| {part} | {ms:.1f} |" for part, ms in result["split_ms"].items()]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=8, help="timed fits per block")
    parser.add_argument("--rounds", type=int, default=2, help="repeats of the block sequence")
    args = parser.parse_args(argv)
    command = f"python -m benchmarks.fit_breakdown --fits {args.fits} --rounds {args.rounds}"
    results = [measure(table, args.fits, args.rounds) for table in TABLES]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fit_breakdown.json").write_text(json.dumps(results, indent=1))
    text = report(results, command)
    (RESULTS / "fit_breakdown.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
