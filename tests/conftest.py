"""Shared test helpers for the model-selection and ensemble tests."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from skkeras import KerasMLPClassifier


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
