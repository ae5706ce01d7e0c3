"""The estimators run unchanged on Keras's other backends.

``tests/test_backend_workflows.py`` runs in a fresh process with ``KERAS_BACKEND`` set (the
backend is chosen when Keras is first imported, so not in this process). The ``backends``
extra (scripts/test.sh installs it) brings JAX and PyTorch; without them these tests are skipped.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).with_name("test_backend_workflows.py")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_workflows_run_on_the_backend(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (pip install -e '.[backends]' installs it)")
    environment = {**os.environ, "KERAS_BACKEND": backend, "KERAS_HOME": str(tmp_path)}
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_TESTRUNUID", "PYTEST_CURRENT_TEST"):
        environment.pop(name, None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         str(WORKFLOWS), "--basetemp", str(tmp_path / "runs")],
        cwd=WORKFLOWS.parent.parent, env=environment, capture_output=True, text=True,
        timeout=900,
    )
    report = completed.stdout[-6000:] + completed.stderr[-3000:]
    assert completed.returncode == 0, report


# Two XLA CPU devices must be configured before JAX starts: run in a fresh interpreter.
_JAX_DATA_PARALLEL = """
import jax
import keras
import numpy as np
from sklearn.datasets import load_iris
from sklearn.preprocessing import StandardScaler
from skkeras import KerasMLPClassifier

X, y = load_iris(return_X_y=True)
X = StandardScaler().fit_transform(X).astype("float32")
distribution = keras.distribution.DataParallel(devices=jax.devices())
clf = KerasMLPClassifier((16,), epochs=10, batch_size=16, learning_rate=0.05, random_state=0,
                         distribution=distribution).fit(X, y)
kernel = clf.model_.trainable_variables[0].value
print("devices", len(jax.devices()), len(kernel.sharding.device_set))
print("accuracy", clf.score(X, y))
expected = np.asarray(clf.model_(X))
print("same", bool(np.allclose(clf.predict_proba(X), expected, rtol=1e-5, atol=1e-6)))
"""


@pytest.mark.slow
def test_jax_data_parallel_distribution_on_two_cpu_devices():
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install -e '.[backends]' installs it)")
    environment = {
        **os.environ, "KERAS_BACKEND": "jax",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
    }
    completed = subprocess.run(
        [sys.executable, "-c", _JAX_DATA_PARALLEL], env=environment, capture_output=True,
        text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if " " in line)
    assert lines["devices"] == "2 2"  # the network's variables live on both devices
    assert float(lines["accuracy"]) > 0.8
    assert lines["same"] == "True"
