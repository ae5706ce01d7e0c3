"""Shared test configuration: quiet TensorFlow, small datasets, recording estimators."""

from __future__ import annotations

import os
from typing import ClassVar

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler

from skkeras import KerasMLPClassifier


@pytest.fixture(autouse=True)
def _seed_numpy():
    """Make any test that draws from NumPy's global RNG reproducible."""
    np.random.seed(0)


@pytest.fixture(scope="session")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X).astype("float32"), y


@pytest.fixture(scope="session")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X).astype("float32"), y


@pytest.fixture(scope="session")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X).astype("float32"), (y - y.mean()) / y.std()


class RecordingMLPClassifier(KerasMLPClassifier):
    """KerasMLPClassifier that records the rows each fit trained and validated on.

    ``fits`` gets one ``(training rows, validation rows or None)`` pair per fit, in fit order.
    """

    fits: ClassVar[list] = []

    def _split(self, X, *args, **kwargs):
        train_idx, validation = super()._split(X, *args, **kwargs)
        self.fits.append((X[train_idx], None if validation is None else validation[0]))
        return train_idx, validation


def _row_indices(rows, X) -> np.ndarray:
    """Index in ``X`` of each row of ``rows`` (compared as float32, as the network sees them)."""
    lookup = {row.tobytes(): i for i, row in enumerate(np.asarray(X, dtype=np.float32))}
    assert len(lookup) == len(X), "rows of X must be unique"
    return np.array([lookup[row.tobytes()] for row in np.asarray(rows, dtype=np.float32)])


@pytest.fixture(scope="session")
def recording_classifier():
    """A factory of RecordingMLPClassifier subclasses, each with its own empty ``fits``."""

    def make() -> type[RecordingMLPClassifier]:
        return type("RecordingMLPClassifier", (RecordingMLPClassifier,), {"fits": []})

    return make


@pytest.fixture(scope="session")
def row_indices():
    """A function mapping rows back to their indices in X."""
    return _row_indices
