"""``skkeras demo``: the whole toolkit, end to end, on a dataset shipped with scikit-learn."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _plots, _storage, _workflow
from ._progress import Progress
from ._report import Section, write_report

_LOADERS = {
    "breast_cancer": ("load_breast_cancer", "classification"),
    "digits": ("load_digits", "classification"),
    "diabetes": ("load_diabetes", "regression"),
    "wine": ("load_wine", "classification"),
}


@dataclass(frozen=True)
class DemoConfig:
    """The sizes of a demo run (``--quick`` or default)."""

    trials: int
    cv: int  # folds of the tuning trials and of the model comparison
    epochs: int
    patience: int
    batch_size: int
    bootstrap_splits: int
    bootstrap_tol: float | None
    ensemble_folds: int
    stack_cv: int
    forest_trees: int


# Sized for 2 CPU cores: --quick about a minute, the default run under five. The tuned MLP's
# row of the comparison comes from its tuning trial (same folds), so it costs no extra fits.
QUICK = DemoConfig(trials=4, cv=2, epochs=12, patience=3, batch_size=64, bootstrap_splits=4,
                   bootstrap_tol=None, ensemble_folds=2, stack_cv=2, forest_trees=50)
FULL = DemoConfig(trials=10, cv=3, epochs=60, patience=8, batch_size=32, bootstrap_splits=12,
                  bootstrap_tol=0.005, ensemble_folds=3, stack_cv=3, forest_trees=200)


def load_dataset(name: str):
    """``X`` (DataFrame), ``y`` (class names where the dataset has them) and the task.

    The regression target (diabetes) is standardized, so the saved model predicts it in
    standard deviations from the mean.
    """
    import sklearn.datasets

    loader, task = _LOADERS[name]
    bunch = getattr(sklearn.datasets, loader)(as_frame=True)
    X, y = bunch.data, bunch.target
    if task == "classification" and name != "digits":
        y = y.map(dict(enumerate(str(label) for label in bunch.target_names)))
    if task == "regression":
        # A network learns a standardized target in a few epochs; r2 does not change.
        y = (y - y.mean()) / y.std()
    return X, y.rename("target"), task


def _network(task: str, config: DemoConfig, seed: int):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from .. import KerasMLPClassifier, KerasMLPRegressor

    network = KerasMLPClassifier if task == "classification" else KerasMLPRegressor
    return Pipeline([
        ("scale", StandardScaler()),
        ("mlp", network(early_stopping=True, epochs=config.epochs, patience=config.patience,
                        batch_size=config.batch_size, random_state=seed)),
    ])


def _forest(task: str, config: DemoConfig, seed: int):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    forest = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return forest(n_estimators=config.forest_trees, random_state=seed, n_jobs=1)


def _ensemble(task: str, network, config: DemoConfig):
    from sklearn.pipeline import Pipeline

    from ..ensemble import KFoldEnsembleClassifier, KFoldEnsembleRegressor

    ensemble = KFoldEnsembleClassifier if task == "classification" else KFoldEnsembleRegressor
    scale, mlp = network.steps[0][1], network.steps[-1][1]
    return Pipeline([("scale", scale), ("ensemble", ensemble(mlp, cv=config.ensemble_folds,
                                                             combine="mean"))])


def _stack(task: str, network, forest, config: DemoConfig):
    from sklearn.ensemble import StackingClassifier, StackingRegressor
    from sklearn.linear_model import LogisticRegression, RidgeCV

    if task == "classification":
        return StackingClassifier([("mlp", network), ("forest", forest)],
                                  final_estimator=LogisticRegression(max_iter=1000),
                                  cv=config.stack_cv)
    return StackingRegressor([("mlp", network), ("forest", forest)],
                             final_estimator=RidgeCV(), cv=config.stack_cv)


def _bootstrap(network, X, y, config: DemoConfig, scoring: str, seed: int, progress: Progress):
    from ..model_selection import bootstrap_evaluate

    result = bootstrap_evaluate(
        network, X, y, n_splits=config.bootstrap_splits, test_size=0.2, scoring=scoring,
        random_state=seed, tol=config.bootstrap_tol, verbose=int(progress.enabled),
    )
    scores = [float(score) for score in result.scores]
    mean, std = _plots.running_stats(scores)
    low, high = _confidence_interval(result)
    return {
        "n_splits": len(scores),
        "scores": scores,
        "epochs": [] if result.epochs is None else [int(epoch) for epoch in result.epochs],
        "mean": float(result.mean),
        "std": float(result.std),
        "ci_low": low,
        "ci_high": high,
        "running_mean": mean.tolist(),
        "running_std": std.tolist(),
    }


def _confidence_interval(result) -> tuple[float | None, float | None]:
    for name in ("ci", "confidence_interval", "ci_"):
        interval = getattr(result, name, None)
        if callable(interval):
            interval = interval()
        if interval is not None:
            low, high = interval
            return float(low), float(high)
    return None, None


def _row(name: str, scores, fit_times, source: str) -> dict:
    return {
        "model": name,
        "source": source,
        "scores": [float(score) for score in scores],
        "mean_score": float(np.mean(scores)),
        "std_score": float(np.std(scores)),
        "mean_fit_time_s": float(np.mean(fit_times)),
        "std_fit_time_s": float(np.std(fit_times)),
    }


def tuned_row(search, name: str) -> dict:
    """The best trial's own cross-validation scores and fit times (no new fits)."""
    results, best = search.cv_results_, search.best_index_
    n_splits = search.n_splits_
    scores = [results[f"split{i}_test_score"][best] for i in range(n_splits)]
    fit_time, fit_std = results["mean_fit_time"][best], results["std_fit_time"][best]
    row = _row(name, scores, [fit_time], "the best tuning trial (same folds)")
    row["std_fit_time_s"] = float(fit_std)
    return row


def _compare(models: dict[str, Any], X, y, task: str, config: DemoConfig, scoring: str,
             seed: int, progress: Progress) -> list[dict]:
    from sklearn.model_selection import cross_validate

    rows = []
    cv = _workflow.cv_splitter(task, config.cv, seed)
    for name, model in models.items():
        progress.detail(f"{name}: {config.cv}-fold cross-validation")
        scores = cross_validate(model, X, y, cv=cv, scoring=scoring, error_score="raise")
        rows.append(_row(name, scores["test_score"], scores["fit_time"], "cross_validate"))
        progress.detail(f"{name}: {rows[-1]['mean_score']:.4f} ± {rows[-1]['std_score']:.4f}")
    return rows


def _save_best(rows: list[dict], models: dict[str, Any], X, y, path: Path,
               progress: Progress) -> dict:
    """Save the best-scoring model that ``skkeras.save`` supports, fitted on all rows.

    ``models`` maps names to fitted models (used as they are) or unfitted ones (refit first).
    """
    from sklearn.base import clone
    from sklearn.utils.validation import check_is_fitted

    skipped = []
    for row in sorted(rows, key=lambda row: -row["mean_score"]):
        model = models[row["model"]]
        if _nests_network(model):
            skipped.append({"model": row["model"], "reason": (
                f"skkeras.save stores skkeras estimators and Pipelines of them, not a "
                f"{type(model).__name__} holding Keras networks")})
            progress.detail(f"{row['model']} cannot be saved: {skipped[-1]['reason']}")
            continue
        try:
            check_is_fitted(model)
        except Exception:
            progress.detail(f"refitting {row['model']} on all rows")
            model = clone(model).fit(X, y)
        try:
            _workflow.save_model(model, path)
        except (TypeError, ValueError, NotImplementedError) as error:
            reason = " ".join(str(error).split())
            skipped.append({"model": row["model"], "reason": reason[:300]})
            progress.detail(f"{row['model']} cannot be saved: {skipped[-1]['reason']}")
            continue
        return {"model": row["model"], "path": str(path), "skipped": skipped}
    return {"model": None, "path": None, "skipped": skipped}


def _is_skkeras(obj) -> bool:
    return type(obj).__module__.split(".")[0] == "skkeras"


def _nests_network(model) -> bool:
    """Whether a skkeras estimator sits inside a scikit-learn meta-estimator (a stack)."""
    if hasattr(model, "steps"):
        return any(_nests_network(step) for _, step in model.steps)
    if _is_skkeras(model) or not hasattr(model, "get_params"):
        return False
    return any(_is_skkeras(value) for value in model.get_params(deep=True).values())


def _search_space(network, quick: bool):
    """The MLP's built-in space; the quick run keeps its batch size fixed (fewer, larger steps)."""
    from ..model_selection import default_search_space

    space = default_search_space(network)
    if quick:
        space.pop("mlp__batch_size", None)
    return space


def run_demo(args: argparse.Namespace) -> int:
    """Run ``skkeras demo``; returns the exit code."""
    config = QUICK if args.quick else FULL
    if args.trials is not None:
        config = DemoConfig(**{**config.__dict__, "trials": args.trials})
    progress = Progress(args.quiet)
    output = _workflow.prepare_output(args.output)
    storage = _storage.default_storage(output)
    _storage.check_storage(storage)
    progress.step(f"demo on {args.dataset} ({'quick' if args.quick else 'full'} run), "
                  f"writing to {output}")
    _workflow.quiet_keras()
    X, y, task = load_dataset(args.dataset)
    scoring = "accuracy" if task == "classification" else "r2"
    seed = args.seed
    timings: dict[str, float] = {}

    clock = time.perf_counter()
    study_name = f"demo-{args.dataset}" + ("-quick" if args.quick else "")
    network = _network(task, config, seed)
    search, already = _workflow.make_search(
        network, task=task, n_trials=config.trials, timeout=None, cv=config.cv,
        scoring=scoring, storage=storage, study_name=study_name, seed=seed,
        n_startup=min(5, max(2, config.trials // 2)), progress=progress,
        param_distributions=_search_space(network, args.quick),
    )
    progress.step(f"1/5 tuning the MLP: {config.trials} trials, {config.cv}-fold CV, "
                  f"median pruning; study {study_name!r} has {already} trials so far")
    _workflow.fit_search(search, X, y)
    timings["tuning"] = time.perf_counter() - clock
    tuning = _workflow.tuning_results(search, already)
    curves = _workflow.learning_curve_results(search.best_estimator_)
    from sklearn.base import clone

    network = clone(search.estimator).set_params(**search.best_params_)

    clock = time.perf_counter()
    progress.step(f"2/5 bootstrapping the best configuration ({config.bootstrap_splits} splits)")
    bootstrap = _bootstrap(network, X, y, config, scoring, seed, progress)
    timings["bootstrap"] = time.perf_counter() - clock

    forest = _forest(task, config, seed)
    tuned_name = "MLP (tuned)"
    others = {
        f"k-fold ensemble ({config.ensemble_folds} MLPs)": _ensemble(task, network, config),
        "random forest": forest,
        "stack: MLP + random forest": _stack(task, network, forest, config),
    }
    clock = time.perf_counter()
    progress.step(f"3/5 comparing {len(others) + 1} models by {config.cv}-fold CV")
    rows = [tuned_row(search, tuned_name),
            *_compare(others, X, y, task, config, scoring, seed, progress)]
    timings["comparison"] = time.perf_counter() - clock

    clock = time.perf_counter()
    progress.step("4/5 saving the best model")
    models = {tuned_name: search.best_estimator_, **others}
    saved = _save_best(rows, models, X, y, output / _workflow.MODEL_FILE, progress)
    timings["save"] = time.perf_counter() - clock

    progress.step("5/5 writing the report")
    results = {
        "command": "demo",
        "dataset": args.dataset,
        "quick": bool(args.quick),
        "task": task,
        "n_samples": len(X),
        "n_features": int(X.shape[1]),
        "scoring": scoring,
        "config": config.__dict__,
        "storage": _storage.display_url(storage),
        "tuning": tuning,
        "learning_curve": curves,
        "bootstrap": bootstrap,
        "comparison": rows,
        "saved_model": saved,
        "timings_s": timings,
        "versions": _workflow.versions(),
    }
    index = _write(output, results)
    progress.summary(_summary(results, index))
    return 0


def _write(output: Path, results: dict) -> Path:
    rows, bootstrap = results["comparison"], results["bootstrap"]
    names = [row["model"] for row in rows]
    comparison = Section(
        "Model comparison",
        f"{results['config']['cv']}-fold cross-validated {results['scoring']} "
        "(mean ± std over folds) and mean fit time per fold; the tuned MLP's row is its best "
        "tuning trial, on the same folds.",
        _plots.model_comparison(names, [row["mean_score"] for row in rows],
                                [row["std_score"] for row in rows],
                                [row["mean_fit_time_s"] for row in rows]),
        "model_comparison.png",
        headers=("model", f"{results['scoring']} mean", "std", "fit time (s)"),
        rows=[(row["model"], row["mean_score"], row["std_score"], row["mean_fit_time_s"])
              for row in rows],
    )
    ci = ("" if bootstrap["ci_low"] is None else
          f", 95% confidence interval [{bootstrap['ci_low']:.4f}, {bootstrap['ci_high']:.4f}]")
    convergence = Section(
        "Bootstrap benchmark",
        f"The best configuration refit on {bootstrap['n_splits']} random train/test splits, each "
        f"early-stopped on a validation part of its training split: {bootstrap['mean']:.4f} ± "
        f"{bootstrap['std']:.4f}{ci}" + (f"; median epochs {np.median(bootstrap['epochs']):.0f}."
                                        if bootstrap["epochs"] else "."),
        _plots.bootstrap_convergence(bootstrap["scores"]), "bootstrap_convergence.png",
    )
    saved = results["saved_model"]
    saved_text = (f"{saved['model']} was refit on all rows and saved with skkeras.save to "
                  f"{saved['path']}." if saved["model"] else "No model could be saved.")
    saved_section = Section("Saved model", saved_text,
                            notes=[f"Not saved: {item['model']} ({item['reason']})"
                                   for item in saved["skipped"]])
    sections = [
        comparison,
        *_workflow.tuning_sections(results["tuning"], results["learning_curve"],
                                   results["storage"]),
        convergence,
        saved_section,
    ]
    subtitle = (f"{results['dataset']}: {results['n_samples']} samples, {results['n_features']} "
                f"features, {results['task']}")
    return write_report(output, "skkeras demo", subtitle, sections, results)


def format_table(rows: list[dict], scoring: str) -> str:
    """The comparison as a fixed-width terminal table."""
    width = max(len("model"), *(len(row["model"]) for row in rows))
    header = f"{'model':<{width}}  {scoring + ' (mean ± std)':>22}  {'fit time (s)':>14}"
    lines = [header, "-" * len(header)]
    for row in rows:
        score = f"{row['mean_score']:.4f} ± {row['std_score']:.4f}"
        fit = f"{row['mean_fit_time_s']:.2f} ± {row['std_fit_time_s']:.2f}"
        lines.append(f"{row['model']:<{width}}  {score:>22}  {fit:>14}")
    return "\n".join(lines)


def _summary(results: dict, index: Path) -> str:
    tuning, bootstrap, saved = results["tuning"], results["bootstrap"], results["saved_model"]
    lines = [
        format_table(results["comparison"], results["scoring"]),
        "",
        f"tuning: best {tuning['best_score']:.4f} over {tuning['n_trials_total']} trials "
        f"({tuning['n_pruned']} pruned) in study {tuning['study_name']!r}",
        f"bootstrap: {bootstrap['mean']:.4f} ± {bootstrap['std']:.4f} over "
        f"{bootstrap['n_splits']} splits",
        f"model:  {saved['path']} ({saved['model']})" if saved["model"] else "model: not saved",
        f"report: {index}",
    ]
    return "\n".join(lines)
