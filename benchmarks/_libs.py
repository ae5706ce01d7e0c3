"""The contenders: one MLP (hidden layers 64 and 32, Adam, batch 64) in each library.

Every factory returns an object with ``fit(X, y)``, ``predict(X)`` and ``score(X, y)``, built
from scratch for each fit. scikeras is imported only on request, because importing it changes
Keras (it registers hooks on Keras classes) and so must come after the others are measured.
"""

from __future__ import annotations

import numpy as np

HIDDEN = (64, 32)
BATCH_SIZE = 64
LEARNING_RATE = 1e-3
LIBRARIES = ("sklearn", "skkeras", "skkeras_plain", "keras", "scikeras")
#: Libraries measured with skkeras's fast paths switched off (``SKKERAS_FASTPATH=0``).
PLAIN = {"skkeras_plain"}


def keras_network(n_features: int, n_classes: int):
    import keras

    return keras.Sequential(
        [
            keras.Input((n_features,)),
            *[keras.layers.Dense(units, activation="relu") for units in HIDDEN],
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )


class RawKeras:
    """Raw Keras with its defaults: ``Model.fit`` and ``Model.predict``."""

    def __init__(self, epochs: int, seed: int = 0):
        self.epochs, self.seed = epochs, seed

    def get_params(self, deep=True):
        return {"epochs": self.epochs, "seed": self.seed}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def fit(self, X, y):
        import keras

        keras.utils.set_random_seed(self.seed)
        self.model_ = keras_network(X.shape[1], int(np.max(y)) + 1)
        self.model_.compile(
            optimizer=keras.optimizers.Adam(LEARNING_RATE),
            loss="sparse_categorical_crossentropy",
        )
        self.model_.fit(X, y, batch_size=BATCH_SIZE, epochs=self.epochs, verbose=0)
        return self

    def predict(self, X):
        return np.argmax(self.model_.predict(X, verbose=0), axis=1)

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y))


def make(library: str, epochs: int, seed: int = 0):
    """A fresh, unfitted MLP classifier of ``library``."""
    if library == "sklearn":
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(
            HIDDEN, batch_size=BATCH_SIZE, learning_rate_init=LEARNING_RATE, max_iter=epochs,
            alpha=0.0, tol=0.0, n_iter_no_change=epochs + 1, random_state=seed,
        )
    if library in {"skkeras", "skkeras_plain"}:
        from skkeras import KerasMLPClassifier

        return KerasMLPClassifier(
            HIDDEN, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, epochs=epochs,
            patience=None, random_state=seed,
        )
    if library == "keras":
        return RawKeras(epochs, seed)
    if library == "scikeras":
        return _scikeras(epochs, seed)
    raise ValueError(f"library must be one of {LIBRARIES}; got {library!r}.")


def _scikeras(epochs: int, seed: int):
    from scikeras.wrappers import KerasClassifier

    def build(meta):
        return keras_network(meta["n_features_in_"], meta["n_classes_"])

    return KerasClassifier(
        model=build, loss="sparse_categorical_crossentropy", optimizer="adam",
        optimizer__learning_rate=LEARNING_RATE, epochs=epochs, batch_size=BATCH_SIZE,
        verbose=0, random_state=seed,
    )
