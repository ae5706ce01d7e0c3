"""The ``distribution`` parameter: build, compile and fit inside a strategy's scope."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.datasets import load_iris

from skkeras import KerasMLPClassifier, KerasMLPRegressor

# Logical CPU devices must be configured before TensorFlow starts: run in a fresh interpreter.
_MIRRORED = textwrap.dedent(
    """
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    from sklearn.base import clone
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler
    from skkeras import KerasClassifier, KerasMLPClassifier
    import keras

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    clf = KerasMLPClassifier((16,), epochs=10, batch_size=16, learning_rate=0.05,
                             random_state=0, distribution=strategy).fit(X, y)
    variable = clf.model_.trainable_variables[0].value
    print("replicas", strategy.num_replicas_in_sync)
    print("mirrored", type(variable).__name__)
    print("accuracy", clf.score(X, y))
    proba = clf.predict_proba(X)
    expected = clf.model_.predict(X, verbose=0)
    print("proba_matches", proba.shape == (150, 3) and np.allclose(proba, expected, atol=1e-6))
    print("clone_accuracy", clone(clf).fit(X, y).score(X, y))

    def build(meta):
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                 keras.layers.Dense(3, activation="softmax")])

    wrapper = KerasClassifier(build, loss="sparse_categorical_crossentropy", optimizer="adam",
                              epochs=2, distribution=strategy, random_state=0).fit(X, y)
    print("wrapper_fitted", wrapper.n_iter_)
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices():
    completed = subprocess.run(
        [sys.executable, "-c", _MIRRORED], capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in completed.stdout.strip().splitlines())
    assert lines["replicas"] == "2"
    assert lines["mirrored"] == "MirroredVariable"
    assert float(lines["accuracy"]) > 0.8
    assert lines["proba_matches"] == "True"
    assert float(lines["clone_accuracy"]) > 0.8
    assert lines["wrapper_fitted"] == "2"


class _RecordingScope:
    """A stand-in distribution that records what runs inside its scope."""

    def __init__(self):
        self.entered = 0

    def scope(self):
        from contextlib import contextmanager

        @contextmanager
        def scope():
            self.entered += 1
            yield

        return scope()


@pytest.mark.parametrize("estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_fit_runs_inside_the_distribution_scope(estimator):
    X, y = load_iris(return_X_y=True)
    distribution = _RecordingScope()
    fitted = estimator((4,), epochs=1, distribution=distribution, random_state=0).fit(X, y)
    assert distribution.entered == 1
    assert fitted.get_params()["distribution"] is distribution
    assert np.isfinite(fitted.history_["loss"]).all()


def test_distribution_must_have_a_scope():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="'distribution' parameter of KerasMLPClassifier"):
        KerasMLPClassifier(distribution="mirrored").fit(X, y)
