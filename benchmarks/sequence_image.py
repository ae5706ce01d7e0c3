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

Per-epoch wall times come from a callback; the first epoch (which traces the graph) is
reported on its own and the median is taken over the others.
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
BATCH_SIZE = 32
LEARNING_RATE = 0.005
SEED = 0
RESULTS = Path(__file__).resolve().parent / "results" / "sequence_image.md"

#: Per-epoch times recorded by EpochTimer (a module-level list, since skkeras copies the
#: callbacks it is given for each fit).
_EPOCH_TIMES: list[float] = []


def _epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            _EPOCH_TIMES.clear()

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            _EPOCH_TIMES.append(time.perf_counter() - self._start)

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


def _row(name, times, total):
    steady = statistics.median(times[1:])
    return name, times[0], steady, total


def main() -> None:
    import keras
    import sklearn
    import tensorflow as tf

    lines = []
    for title, estimator, builder, loss, X, y in _cases():
        sk_times, sk_total, n_params = _time_estimator(estimator, X, y)
        raw_times, raw_total, raw_params = _time_raw(builder, loss, X, y, same_options=False)
        same_times, same_total, _ = _time_raw(builder, loss, X, y, same_options=True)
        assert raw_params == n_params, (raw_params, n_params)
        rows = [
            _row("skkeras", sk_times, sk_total),
            _row("raw keras (Keras's compile defaults)", raw_times, raw_total),
            _row("raw keras, skkeras's compile options", same_times, same_total),
        ]
        sk_median = rows[0][2]
        lines += [f"### {title}", "", f"{n_params:,} weights, {EPOCHS} epochs, batch size "
                  f"{BATCH_SIZE}.", "",
                  "| run | first epoch (s) | median epoch 2..N (s) | skkeras / this | "
                  "whole fit incl. build (s) |", "|---|---:|---:|---:|---:|"]
        for name, first, median, total in rows:
            lines.append(
                f"| {name} | {first:.3f} | {median:.4f} | {sk_median / median:.2f} | {total:.2f} |"
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
        "means skkeras is slower).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(header + lines))
    print(f"wrote {RESULTS}", file=sys.stderr)


LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"

if __name__ == "__main__":
    main()
