"""The scikeras quickstart runs unchanged except for the import, under both libraries.

scikeras is run in a subprocess: importing it monkey-patches Keras classes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

QUICKSTART = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    import keras
    {import_line}

    X, y = make_classification(1000, 20, n_informative=10, random_state=0)
    X = X.astype(np.float32)
    y = y.astype(np.int64)

    def get_model(hidden_layer_dim, meta):
        n_features_in_ = meta["n_features_in_"]
        X_shape_ = meta["X_shape_"]
        n_classes_ = meta["n_classes_"]
        model = keras.models.Sequential()
        model.add(keras.layers.Input(shape=X_shape_[1:]))
        model.add(keras.layers.Dense(n_features_in_))
        model.add(keras.layers.Activation("relu"))
        model.add(keras.layers.Dense(hidden_layer_dim))
        model.add(keras.layers.Activation("relu"))
        model.add(keras.layers.Dense(n_classes_))
        model.add(keras.layers.Activation("softmax"))
        return model

    clf = KerasClassifier(
        get_model,
        loss="sparse_categorical_crossentropy",
        hidden_layer_dim=100,
        optimizer__learning_rate=0.005,
        epochs=5,
        verbose=0,
    )
    clf.fit(X, y)
    y_proba = clf.predict_proba(X)
    search = GridSearchCV(clf, {{"hidden_layer_dim": [10, 50]}}, cv=2).fit(X, y)
    print(json.dumps({{
        "proba_shape": list(y_proba.shape),
        "accuracy": float(clf.score(X, y)),
        "best": search.best_params_["hidden_layer_dim"],
    }}))
    """
)


def _run(import_line: str) -> dict:
    code = QUICKSTART.format(import_line=import_line)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_scikeras_quickstart_runs_unchanged_with_skkeras():
    pytest.importorskip("scikeras")
    ours = _run("from skkeras import KerasClassifier")
    theirs = _run("from scikeras.wrappers import KerasClassifier")
    assert ours["proba_shape"] == theirs["proba_shape"] == [1000, 2]
    assert ours["best"] in (10, 50)
    assert ours["accuracy"] > 0.85
    assert abs(ours["accuracy"] - theirs["accuracy"]) < 0.1
