"""Shared studies: concurrent workers on SQLite and on a real PostgreSQL server, killed workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from optuna.trial import TrialState

from ._postgres import postgres_url  # noqa: F401  (fixture)

WORKER = os.path.join(os.path.dirname(__file__), "_optuna_worker.py")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _start_worker(url, study, *args):
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, WORKER, url, study, *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(process, timeout=240):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output
    return output


def _trials(url, study):
    return optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)


def _check_shared_study(url, study, n_workers, n_trials):
    """Workers opening an empty database at the same moment share one study, exactly."""
    start_at = time.time() + 4
    workers = [
        _start_worker(url, study, "--n-trials", n_trials, "--start-at", start_at)
        for _ in range(n_workers)
    ]
    for worker in workers:
        _finish(worker)
    trials = _trials(url, study)
    assert len(trials) == n_workers * n_trials
    assert all(trial.state == TrialState.COMPLETE for trial in trials)
    assert sorted(trial.number for trial in trials) == list(range(n_workers * n_trials))
    assert len({trial._trial_id for trial in trials}) == len(trials)
    # Workers draw from differently seeded samplers: no configuration is run twice.
    assert len({trial.params["alpha"] for trial in trials}) == len(trials)


@pytest.mark.slow
def test_sqlite_workers_share_a_study(tmp_path):
    _check_shared_study(f"sqlite:///{tmp_path / 'study.db'}", "shared", 3, 3)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_workers_share_a_study(postgres_url):  # noqa: F811
    _check_shared_study(postgres_url, "shared", 2, 4)


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_killed_worker_trial_is_failed_and_retried(postgres_url):  # noqa: F811
    study = "killed"
    victim = _start_worker(
        postgres_url, study, "--n-trials", 1, "--estimator", "mlp", "--epochs", 2000
    )
    running = _wait_for_running(postgres_url, study, victim)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    time.sleep(4)  # grace period (3 s) without heartbeats
    _finish(_start_worker(postgres_url, study, "--n-trials", 1, "--estimator", "mlp"))

    trials = {trial.number: trial for trial in _trials(postgres_url, study)}
    assert trials[running.number].state == TrialState.FAIL
    retries = [
        trial
        for trial in trials.values()
        if trial.system_attrs.get("failed_trial") == running.number
    ]
    assert len(retries) == 1
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == running.params
    assert not [trial for trial in trials.values() if trial.state == TrialState.RUNNING]


def _wait_for_running(url, study, process, timeout=180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        try:
            trials = _trials(url, study)
        except KeyError:  # the study is not created yet
            trials = []
        running = [trial for trial in trials if trial.state == TrialState.RUNNING]
        if running:
            time.sleep(2)  # well inside the trial: the network is training
            # read it again: the first snapshot may predate the sampled parameters
            return {trial.number: trial for trial in _trials(url, study)}[running[0].number]
        time.sleep(0.5)
    process.kill()
    raise AssertionError("the worker never started a trial")
