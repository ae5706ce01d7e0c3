"""Small module-level model builders (picklable) used across tests."""

from __future__ import annotations

import keras


def classifier_model(hidden=16, meta=None):
    """softmax over classes_, or one sigmoid unit per label for multilabel targets."""
    n_classes = meta["n_classes_"]
    multilabel = meta["target_type_"] == "multilabel-indicator"
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(n_classes, activation="sigmoid" if multilabel else "softmax"),
        ]
    )


def regressor_model(hidden=16, meta=None):
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(meta["n_outputs_"]),
        ]
    )


def seeded_classifier_model(hidden=8, seed=0, meta=None):
    """Like classifier_model, with explicitly seeded initializers.

    Keras draws the seed of an unseeded initializer from Python's global ``random`` module,
    which other threads of the process (a dask worker's event loop) may draw from as well; with
    explicit seeds the weights depend on nothing else.
    """
    return keras.Sequential(
        [
            keras.Input(meta["X_shape_"][1:]),
            keras.layers.Dense(
                hidden,
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
            ),
            keras.layers.Dense(
                meta["n_classes_"],
                activation="softmax",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1),
            ),
        ]
    )
