"""A search worker process for the distributed tests: ``python _optuna_worker.py URL STUDY ...``.

Waits until the wall-clock time ``--start-at`` (so that several workers open an empty database
at the same moment), then runs ``--n-trials`` trials of a shared study.
"""

from __future__ import annotations

import argparse
import time

from optuna.distributions import FloatDistribution
from sklearn.datasets import load_iris
from sklearn.linear_model import RidgeClassifier
from sklearn.preprocessing import StandardScaler

from skkeras.model_selection import OptunaSearchCV, make_rdb_storage


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("study_name")
    parser.add_argument("--n-trials", type=int, required=True)
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--estimator", choices=["ridge", "mlp"], default="ridge")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--heartbeat", type=int, default=1)
    parser.add_argument("--grace", type=int, default=3)
    args = parser.parse_args()

    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype("float32")
    if args.estimator == "mlp":
        from skkeras import KerasMLPClassifier

        estimator = KerasMLPClassifier((8,), epochs=args.epochs, patience=None, random_state=0)
        space = {"learning_rate": FloatDistribution(1e-3, 1e-1, log=True)}
    else:
        estimator = RidgeClassifier()
        space = {"alpha": FloatDistribution(1e-3, 1e3, log=True)}
    time.sleep(max(0.0, args.start_at - time.time()))
    storage = make_rdb_storage(
        args.url, heartbeat_interval=args.heartbeat, grace_period=args.grace
    )
    OptunaSearchCV(
        estimator,
        space,
        n_trials=args.n_trials,
        cv=2,
        storage=storage,
        study_name=args.study_name,
        refit=False,
        random_state=0,
    ).fit(X, y)


if __name__ == "__main__":
    main()
