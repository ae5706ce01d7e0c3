"""Time per epoch of the LSTM and CNN estimators against the same network in raw Keras.

Run from the repository root::

    python -m benchmarks.sequence_image

Writes ``benchmarks/results/sequence_image.md``. For each estimator the same network (built by
the same builder function, same seed) is trained for ``EPOCHS`` epochs three ways:

* ``skkeras``: the estimator's ``fit`` (validation, target encoding, its compile options:
  ``jit_compile=False``, ``steps_per_execution=min(32, steps per epoch)``);
* ``raw keras``: ``model.compile(optimizer, loss)`` with Keras's defaults and ``model.fit``;
* ``raw keras, same options``: raw Keras compiled with skkeras's options, which isolates the
  wrapper's own cost from the compile options.

Per-epoch wall-clock and process CPU times come from a callback; the first epoch of each fit
(which traces the graph) is reported on its own and the medians are taken over the others. The
three variants are run ``ROUNDS`` times, interleaved, so that a change in the machine's load
affects them alike. CPU time (all threads of this process) is less sensitive than wall time to
other jobs on a shared machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

EPOCHS = 6
ROUNDS = 2
BATCH_SIZE = 32
LEARNING_RATE = 0.005
SEED = 0
RESULTS = Path(__file__).resolve().parent / "results" / "sequence_image.md"

#: Per-epoch (wall, cpu) times recorded by EpochTimer (a module-level list, since skkeras
#: copies the callbacks it is given for each fit).
_EPOCH_TIMES: list[tuple[float, float]] = []


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            _EPOCH_TIMES.clear()

        def on_epoch_begin(self, epoch, logs=None):
            self._start = (time.perf_counter(), time.process_time())

        def on_epoch_end(self, epoch, logs=None):
            wall, cpu = self._start
            _EPOCH_TIMES.append((time.perf_counter() - wall, time.process_time() - cpu))

    return EpochTimer()


def _sine_windows():
    from skkeras.preprocessing import to_sequences

    rng = np.random.default_rng(SEED)
    steps = np.arange(3000)
    series = np.sin(2 * np.pi * steps / 50) + rng.normal(scale=0.1, size=steps.size)
    X, y = to_sequences(series, window=30)
    return X.astype("float32"), y.astype("float32")


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).reshape(-1, 8, 8, 1).astype("float32"), y


def _cases():
    from skkeras import KerasCNNClassifier, KerasLSTMRegressor
    from skkeras._cnn import build_cnn
    from skkeras._lstm import build_lstm

    X_seq, y_seq = _sine_windows()
    X_img, y_img = _digits()
    common = {
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "patience": None,
        "random_state": SEED,
    }
    lstm = KerasLSTMRegressor(units=32, **common)
    lstm_builder = lambda: build_lstm(  # noqa: E731
        (30, 1), (30, 1), (32,), 1, "linear", bidirectional=False, dropout=0.0,
        recurrent_dropout=0.0,
    )
    cnn_options = {
        "filters": (32, 64),
        "kernel_size": 3,
        "convs_per_block": 2,
        "pooling": "max",
        "residual": True,
        "dense_units": (64,),
    }
    cnn = KerasCNNClassifier(**cnn_options, **common)
    cnn_builder = lambda: build_cnn(  # noqa: E731
        (8, 8, 1), (8, 8, 1), (32, 64), 10, "softmax", augmentation=None, pooling="max",
        dense_units=(64,), dropout=0.0, activation="relu", batch_normalization=False,
        kernel_size=(3, 3), strides=(1, 1), padding="same", convs=2, residual=True,
    )
    return [
        ("KerasLSTMRegressor(units=32), sine windows 2969x30x1", lstm, lstm_builder,
         "mean_squared_error", X_seq, y_seq),
        ("KerasCNNClassifier(filters=(32, 64), residual=True), digits 1797x8x8x1", cnn,
         cnn_builder, "sparse_categorical_crossentropy", X_img, y_img),
    ]


def _time_estimator(estimator, X, y):
    start = time.perf_counter()
    estimator.set_params(callbacks=[_epoch_timer()]).fit(X, y)
    total = time.perf_counter() - start
    assert estimator.n_iter_ == EPOCHS
    return list(_EPOCH_TIMES), total, estimator.n_parameters_


def _time_raw(builder, loss, X, y, *, same_options: bool):
    import keras

    from skkeras._training import default_compile_options

    start = time.perf_counter()
    keras.utils.set_random_seed(SEED)
    model = builder()
    options = {}
    if same_options:
        options = default_compile_options(int(np.ceil(len(X) / BATCH_SIZE)))
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, **options)
    model.fit(
        X, y, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0, callbacks=[_epoch_timer()]
    )
    total = time.perf_counter() - start
    return list(_EPOCH_TIMES), total, model.count_params()


def _summary(runs):
    """First-epoch and steady-state medians over the fits of one variant."""
    firsts = [times[0][0] for times, _ in runs]
    steady_wall = [wall for times, _ in runs for wall, _ in times[1:]]
    steady_cpu = [cpu for times, _ in runs for _, cpu in times[1:]]
    return (
        statistics.median(firsts),
        statistics.median(steady_wall),
        statistics.median(steady_cpu),
        statistics.median(total for _, total in runs),
    )


def _benchmark_case(estimator, builder, loss, X, y):
    runs = {"skkeras": [], "raw": [], "same": []}
    n_params = None
    for _ in range(ROUNDS):
        times, total, n_params = _time_estimator(estimator, X, y)
        runs["skkeras"].append((times, total))
        times, total, raw_params = _time_raw(builder, loss, X, y, same_options=False)
        assert raw_params == n_params, (raw_params, n_params)
        runs["raw"].append((times, total))
        times, total, _ = _time_raw(builder, loss, X, y, same_options=True)
        runs["same"].append((times, total))
    return n_params, {key: _summary(value) for key, value in runs.items()}


_NAMES = {
    "skkeras": "skkeras",
    "raw": "raw keras (Keras's compile defaults)",
    "same": "raw keras, skkeras's compile options",
}


def main() -> None:
    import keras
    import sklearn
    import tensorflow as tf

    lines = []
    for title, estimator, builder, loss, X, y in _cases():
        n_params, summaries = _benchmark_case(estimator, builder, loss, X, y)
        _, sk_wall, sk_cpu, _ = summaries["skkeras"]
        lines += [
            f"### {title}",
            "",
            f"{n_params:,} weights, {EPOCHS} epochs per fit, {ROUNDS} fits per variant, "
            f"batch size {BATCH_SIZE}.",
            "",
            "| run | first epoch, wall (s) | median epoch 2..N, wall (s) | skkeras / this, wall "
            "| median epoch 2..N, CPU (s) | skkeras / this, CPU | whole fit incl. build, "
            "wall (s) |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for key, (first, wall, cpu, total) in summaries.items():
            lines.append(
                f"| {_NAMES[key]} | {first:.3f} | {wall:.4f} | {sk_wall / wall:.2f} | "
                f"{cpu:.4f} | {sk_cpu / cpu:.2f} | {total:.2f} |"
            )
        lines.append("")
        print("\n".join(lines[-8:]), flush=True)

    header = [
        "# Sequence and image estimators: time per epoch vs raw Keras",
        "",
        "Command: `python -m benchmarks.sequence_image` (one run).",
        "",
        f"- Python {platform.python_version()}, keras {keras.__version__}, "
        f"tensorflow {tf.__version__} (backend {keras.backend.backend()}), "
        f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
        f"- Machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"load average before the run {LOAD_BEFORE}, after {os.getloadavg()[0]:.1f} "
        "(other jobs were running; absolute times are noisy, compare within a table)",
        "",
        "\"skkeras / this\" is the ratio of the median epoch times (1.00 = same speed; > 1 "
        "means skkeras is slower). Medians over the epochs after the first of every fit.",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(header + lines))
    print(f"wrote {RESULTS}", file=sys.stderr)


LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"

if __name__ == "__main__":
    main()
