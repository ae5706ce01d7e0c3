"""Tuning benchmark on digits: skkeras OptunaSearchCV with and without per-epoch pruning, and
optuna-integration's OptunaSearchCV over scikeras.

For each variant (in a fresh process): wall time and best CV score for the same number of trials,
then the process RSS after each trial over a longer run.

    python -m benchmarks.tuning                       # writes benchmarks/results/tuning.{json,md}
    python -m benchmarks.tuning --trials 20 --rss-trials 50 --epochs 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

from ._results import header, preamble, save

VERSIONS = ("keras", "tensorflow-cpu", "optuna", "optuna-integration", "scikeras",
            "scikit-learn", "numpy")
VARIANTS = ("skkeras_pruning", "skkeras_no_pruning", "optuna_integration_scikeras")


def _second_half_slope(rss: list[float]) -> float:
    half = rss[len(rss) // 2 :]
    return (half[-1] - half[0]) / max(1, len(half) - 1)


def _data():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype("float32"), y


def _space(prefixes):
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    rate, dropout, units = prefixes
    # The learning-rate range includes hopeless values, as real searches do.
    return {
        rate: FloatDistribution(1e-5, 1e-1, log=True),
        dropout: FloatDistribution(0.0, 0.5),
        units: CategoricalDistribution([32, 64, 128]),
    }


def _skkeras_search(n_trials, epochs, cv, pruning, callbacks):
    from skkeras import KerasMLPClassifier
    from skkeras.model_selection import OptunaSearchCV

    space = _space(("learning_rate", "dropout", "hidden_layer_sizes"))
    return OptunaSearchCV(
        KerasMLPClassifier(epochs=epochs, batch_size=32, patience=None, random_state=0),
        space,
        n_trials=n_trials,
        cv=cv,
        pruner="median" if pruning else None,
        refit=False,
        random_state=0,
        callbacks=callbacks,
    )


def _scikeras_model(units=64, dropout=0.0, meta=None):
    import keras

    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(units, activation="relu")(inputs)
    hidden = keras.layers.Dropout(dropout)(hidden)
    outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden)
    return keras.Model(inputs, outputs)


def _integration_search(n_trials, epochs, cv, callbacks):
    import optuna
    from optuna_integration import OptunaSearchCV
    from scikeras.wrappers import KerasClassifier

    estimator = KerasClassifier(
        model=_scikeras_model,
        loss="sparse_categorical_crossentropy",
        optimizer="adam",
        epochs=epochs,
        batch_size=32,
        verbose=0,
        random_state=0,
    )
    space = _space(("optimizer__learning_rate", "model__dropout", "model__units"))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    return OptunaSearchCV(
        estimator,
        space,
        n_trials=n_trials,
        cv=cv,
        refit=False,
        random_state=0,
        study=study,
        callbacks=callbacks,
    )


def run_variant(variant: str, n_trials: int, epochs: int, cv: int) -> dict:
    import optuna
    import psutil

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    X, y = _data()
    process = psutil.Process()
    rss: list[float] = []

    def record(study, trial):
        rss.append(process.memory_info().rss / 2**20)

    if variant == "optuna_integration_scikeras":
        search = _integration_search(n_trials, epochs, cv, [record])
    else:
        search = _skkeras_search(n_trials, epochs, cv, variant == "skkeras_pruning", [record])
    start = time.perf_counter()
    search.fit(X, y)
    wall = time.perf_counter() - start
    trials = search.study_.trials
    states = [trial.state.name for trial in trials]
    return {
        "variant": variant,
        "n_trials": n_trials,
        "wall_s": wall,
        "best_score": max(t.value for t in trials if t.value is not None),
        "pruned": states.count("PRUNED"),
        "failed": states.count("FAIL"),
        "rss_mib": rss,
    }


def _in_subprocess(variant: str, n_trials: int, epochs: int, cv: int) -> dict:
    command = [sys.executable, "-m", "benchmarks.tuning", "--variant", variant,
               "--trials", str(n_trials), "--epochs", str(epochs), "--cv", str(cv)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=root)
    return json.loads(output.stdout.strip().splitlines()[-1])


def _markdown(report: dict) -> str:
    lines = [
        *preamble("Tuning benchmark: digits", report),
        f"Digits (1,797 x 64), {report['cv']}-fold CV, MLP with one hidden layer, "
        f"{report['epochs']} epochs, "
        "batch size 32, TPE seeded with 0, space: learning rate log-uniform in [1e-5, 1e-1], "
        "dropout in [0, 0.5], 32/64/128 units. skkeras with pruning uses `pruner=\"median\"` "
        "(MedianPruner, 3 start-up trials, 2 warm-up epochs) on the fold-averaged held-out "
        "accuracy reported every epoch; optuna-integration's OptunaSearchCV runs without "
        "pruning (its pruning needs `partial_fit`, one epoch per call). One run each, each "
        "variant in a fresh process.",
        "",
        f"## Same number of trials ({report['trials']})",
        "",
        "| variant | wall time (s) | time ratio vs skkeras pruning | best CV accuracy | pruned |",
        "|---|---|---|---|---|",
    ]
    base = report["timing"]["skkeras_pruning"]["wall_s"]
    for variant in VARIANTS:
        row = report["timing"][variant]
        lines.append(
            f"| {variant} | {row['wall_s']:.1f} | {row['wall_s'] / base:.2f} | "
            f"{row['best_score']:.4f} | {row['pruned']} |"
        )
    lines += [
        "",
        f"## RSS after each trial ({report['rss_trials']} trials)",
        "",
        f"Same space and seeds, {report['rss_epochs']} epoch(s) per fit and "
        f"{report['rss_cv']}-fold CV to keep the run short: the point is growth across trials.",
        "",
        "| variant | after trial 1 (MiB) | median (MiB) | after last trial (MiB) | "
        "growth last-first (MiB) | growth, 2nd half (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        rss = report["memory"][variant]["rss_mib"]
        half = rss[len(rss) // 2 :]
        lines.append(
            f"| {variant} | {rss[0]:.0f} | {statistics.median(rss):.0f} | {rss[-1]:.0f} | "
            f"{rss[-1] - rss[0]:+.0f} | {half[-1] - half[0]:+.0f} |"
        )
    lines += [
        "",
        "Per-trial RSS series (MiB) are in `tuning.json`.",
        "",
        "Growth per trial in the second half, from the series above: "
        + ", ".join(
            f"{variant} {_second_half_slope(report['memory'][variant]['rss_mib']):+.2f} MiB per "
            "trial"
            for variant in VARIANTS
        )
        + ". The space here has three layer widths, so skkeras's compiled templates are reused "
        "after a few trials; `benchmarks/results/trial_memory.md` measures a new architecture "
        "in nearly every trial.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rss-trials", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rss-epochs", type=int, default=1)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--rss-cv", type=int, default=2)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.trials, args.epochs, args.cv)))
        return
    report = {
        **header("benchmarks.tuning", VERSIONS),
        "trials": args.trials,
        "epochs": args.epochs,
        "rss_trials": args.rss_trials,
        "rss_epochs": args.rss_epochs,
        "cv": args.cv,
        "rss_cv": args.rss_cv,
        "timing": {},
        "memory": {},
    }
    for variant in VARIANTS:
        report["timing"][variant] = _in_subprocess(variant, args.trials, args.epochs, args.cv)
        print(variant, report["timing"][variant]["wall_s"], flush=True)
    for variant in VARIANTS:
        report["memory"][variant] = _in_subprocess(
            variant, args.rss_trials, args.rss_epochs, args.rss_cv
        )
        print(variant, "rss done", flush=True)
    save("tuning", report, _markdown(report))


if __name__ == "__main__":
    main()
