"""RSS across OptunaSearchCV trials: in one process, or in fresh worker processes.

Commands::

    python -m benchmarks.trial_memory N             # N = templates kept by skkeras._fastpath
    python -m benchmarks.trial_memory --trials-per-process K

Digits, KerasMLPClassifier(epochs=2) with the default search space, 50 trials, 2-fold CV. In one
process, RSS is read after every trial. With ``trials_per_process=K`` the trials run in worker
processes of K trials each: the peak RSS of the largest worker and this process's RSS at the
end are reported instead, with the wall time of both runs.
"""

from __future__ import annotations

import argparse
import resource
import time

import optuna
import psutil
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import skkeras._fastpath as fastpath
from skkeras import KerasMLPClassifier
from skkeras.model_selection import OptunaSearchCV

N_TRIALS = 50


def _search(**params) -> OptunaSearchCV:
    return OptunaSearchCV(
        KerasMLPClassifier(epochs=2, random_state=0), None, n_trials=N_TRIALS, cv=2,
        random_state=0, verbose=0, refit=False, **params,
    )


def in_one_process(max_templates: int) -> None:
    fastpath._MAX_TEMPLATES = max_templates
    X, y = _digits()
    process = psutil.Process()
    rss: list[float] = []

    def record(study, trial):
        rss.append(process.memory_info().rss / 2**20)

    start = time.perf_counter()
    _search(callbacks=[record]).fit(X, y)
    wall = time.perf_counter() - start
    marks = ", ".join(f"after trial {n}: {rss[n - 1]:.0f} MiB" for n in (1, 10, 20, 30, 40, 50))
    slope = (rss[49] - rss[9]) / 40
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"templates kept: {max_templates}; {marks}; trials 10-50: {slope:+.2f} MiB per trial; "
          f"peak RSS {peak:.0f} MiB; wall {wall:.0f} s")
    print("RSS after each trial (MiB): " + " ".join(f"{value:.0f}" for value in rss))


def in_fresh_processes(trials_per_process: int) -> None:
    X, y = _digits()
    start = time.perf_counter()
    search = _search(trials_per_process=trials_per_process).fit(X, y)
    wall = time.perf_counter() - start
    # Linux reports ru_maxrss in KiB: the largest peak RSS among finished child processes
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    here = psutil.Process().memory_info().rss / 2**20
    workers = len({trial.user_attrs["worker"] for trial in search.study_.trials})
    print(f"trials_per_process: {trials_per_process}; {search.n_trials_} trials in {workers} "
          f"worker processes; largest worker peak RSS {worker_peak:.0f} MiB; this process "
          f"{here:.0f} MiB at the end; wall {wall:.0f} s")


def _digits():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("max_templates", nargs="?", type=int, default=16)
    parser.add_argument("--trials-per-process", type=int, default=None)
    args = parser.parse_args()
    if args.trials_per_process is None:
        in_one_process(args.max_templates)
    else:
        in_fresh_processes(args.trials_per_process)


if __name__ == "__main__":
    main()
