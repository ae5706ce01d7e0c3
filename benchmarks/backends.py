"""skkeras on the active Keras backend: ``KERAS_BACKEND=jax python -m benchmarks.backends``.

Fits the benchmark MLP on digits (first fit, then the median of later fits), times a one-row
``predict``, and checks that a wrapped Keras model with metrics and ``cross_val_score`` work.
"""

from __future__ import annotations

import time

import numpy as np


def main() -> None:
    import keras
    from sklearn.datasets import load_digits
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    from skkeras import KerasClassifier, KerasMLPClassifier

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    times = []
    for seed in range(3):
        start = time.perf_counter()
        clf = KerasMLPClassifier(
            (64, 32), batch_size=64, epochs=20, patience=None, random_state=seed
        ).fit(X, y)
        times.append(time.perf_counter() - start)
    latencies = []
    for _ in range(50):
        start = time.perf_counter()
        clf.predict(X[:1])
        latencies.append(time.perf_counter() - start)

    def build(meta):
        return keras.Sequential([
            keras.Input((meta["n_features_in_"],)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(meta["n_classes_"], activation="softmax"),
        ])

    wrapped = KerasClassifier(build, loss="sparse_categorical_crossentropy", optimizer="adam",
                              metrics=["accuracy"], epochs=3, random_state=0).fit(X, y)
    scores = cross_val_score(KerasMLPClassifier((16,), epochs=3, random_state=0), X, y, cv=3)
    print(f"backend {keras.backend.backend()}")
    print(f"digits fit s: first {times[0]:.2f}, later median {np.median(times[1:]):.2f}")
    print(f"training accuracy {clf.score(X, y):.3f}")
    print(f"predict 1 row ms {1000 * np.median(latencies):.3f}")
    print(f"wrapper with metrics: history keys {sorted(wrapped.history_)}")
    print(f"cross_val_score {np.round(scores, 3).tolist()}")


if __name__ == "__main__":
    main()
