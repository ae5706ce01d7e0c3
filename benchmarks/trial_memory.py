"""RSS after each OptunaSearchCV trial, with the fast path's template cache capped at N.

Command: ``python -m benchmarks.trial_memory N`` (N = templates kept by skkeras._fastpath).
Digits, KerasMLPClassifier(epochs=2) with the default search space, 50 trials, 2-fold CV.
"""

from __future__ import annotations

import sys

import optuna
import psutil
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import skkeras._fastpath as fastpath
from skkeras import KerasMLPClassifier
from skkeras.model_selection import OptunaSearchCV


def main(max_templates: int) -> None:
    fastpath._MAX_TEMPLATES = max_templates
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    process = psutil.Process()
    rss: list[float] = []

    def record(study, trial):
        rss.append(process.memory_info().rss / 2**20)

    OptunaSearchCV(
        KerasMLPClassifier(epochs=2, random_state=0), None, n_trials=50, cv=2, random_state=0,
        callbacks=[record], verbose=0,
    ).fit(X, y)
    marks = ", ".join(f"after trial {n}: {rss[n - 1]:.0f} MiB" for n in (1, 10, 20, 30, 40, 50))
    slope = (rss[49] - rss[9]) / 40
    print(f"templates kept: {max_templates}; {marks}; trials 10-50: {slope:+.2f} MiB per trial")
    print("RSS after each trial (MiB): " + " ".join(f"{value:.0f}" for value in rss))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 16)
