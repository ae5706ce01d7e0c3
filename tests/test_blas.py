"""NumPy forward passes of fold-sized batches run on one BLAS thread, and leave BLAS as found."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.datasets import load_iris
from threadpoolctl import threadpool_info, threadpool_limits

from skkeras import KerasMLPClassifier, _blas, _numpy_forward


def _blas_threads() -> int:
    counts = {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}
    if len(counts) != 1:
        pytest.skip(f"BLAS libraries with different thread counts: {counts}")
    return counts.pop()


@pytest.fixture
def two_blas_threads():
    """BLAS set to two threads (skipped where it cannot have two)."""
    with threadpool_limits(2, user_api="blas"):
        if _blas_threads() != 2:
            pytest.skip("BLAS cannot use two threads on this machine")
        yield


def _probed_classifier(monkeypatch, seen):
    """A fitted classifier whose forward pass records, at its hidden layer, the batch size and
    BLAS's thread count."""
    X, y = load_iris(return_X_y=True)
    relu = _numpy_forward.IN_PLACE_ACTIVATIONS["relu"]

    def probe(x):
        seen.append((len(x), _blas_threads()))
        return relu(x)

    # forward passes are made at the first prediction after a fit: this one's uses the probe
    monkeypatch.setitem(_numpy_forward.IN_PLACE_ACTIVATIONS, "relu", probe)
    return KerasMLPClassifier((8,), epochs=1, random_state=0).fit(X, y)


def test_forward_passes_of_batches_up_to_max_rows_run_on_one_blas_thread(
    monkeypatch, two_blas_threads
):
    seen = []
    clf = _probed_classifier(monkeypatch, seen)
    rows = np.random.default_rng(0).standard_normal((_blas.MAX_ROWS + 1, 4))
    for n_rows in (1, 150, _blas.MAX_ROWS, _blas.MAX_ROWS + 1):
        clf.predict(rows[:n_rows])
        assert _blas_threads() == 2
    assert seen == [(1, 1), (150, 1), (_blas.MAX_ROWS, 1), (_blas.MAX_ROWS + 1, 2)]


@pytest.mark.parametrize("users_limit", [1, 2])
def test_the_thread_count_found_is_put_back(two_blas_threads, users_limit):
    with threadpool_limits(users_limit, user_api="blas"):
        with _blas.one_blas_thread(100):
            assert _blas_threads() == 1
        assert _blas_threads() == users_limit


def test_forward_passes_in_other_threads_leave_blas_alone(monkeypatch, two_blas_threads):
    seen = []
    clf = _probed_classifier(monkeypatch, seen)
    X = load_iris(return_X_y=True)[0]
    expected = clf.predict(X)
    results = []

    def predict_many():
        results.extend(np.array_equal(clf.predict(X), expected) for _ in range(20))

    threads = [threading.Thread(target=predict_many) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 60
    assert seen[0] == (150, 1)  # the main thread's
    assert set(seen[1:]) == {(150, 2)}
    assert _blas_threads() == 2
