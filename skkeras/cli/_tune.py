"""``skkeras tune DATA --target COLUMN``: tune, refit, save and report on the user's table."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import _data, _storage, _workflow
from ._progress import Progress
from ._report import Section, write_report


def build_model(task: str, X, *, epochs: int, seed: int):
    """The preprocessing + MLP Pipeline that is tuned (``model__*`` parameters)."""
    from sklearn.pipeline import Pipeline

    from .. import KerasMLPClassifier, KerasMLPRegressor

    network = KerasMLPClassifier if task == "classification" else KerasMLPRegressor
    return Pipeline([
        ("preprocess", _data.build_preprocessor(X)),
        ("model", network(early_stopping=True, epochs=epochs, random_state=seed)),
    ])


def _load(args: argparse.Namespace):
    frame = _data.read_table(args.data)
    X, y = _data.split_target(frame, args.target, path=args.data)
    task = _data.detect_task(y, args.task)
    _data.check_target(y, task, target=args.target, cv=args.cv)
    _, categorical = _data.column_kinds(X)
    return _data.as_categorical_text(X, categorical), y, task, len(frame) - len(y)


def run_tune(args: argparse.Namespace) -> int:
    """Run ``skkeras tune``; returns the exit code."""
    progress = Progress(args.quiet)
    X, y, task, dropped = _load(args)
    scoring = _workflow.check_scoring(args.scoring, task, y, target=args.target)
    if args.storage:  # checked before the output folder exists, so a failure leaves none
        _storage.check_storage(args.storage)
    output = _workflow.prepare_output(args.output)
    storage = args.storage or _storage.default_storage(output)
    if not args.storage:
        _storage.check_storage(storage)
    study_name = args.study or _workflow.default_study_name(args.data, args.target)
    seed = args.seed
    progress.step(
        f"{Path(args.data).name}: {len(X)} rows, {X.shape[1]} feature columns, {task} of "
        f"{args.target!r}" + (f" ({dropped} rows without a target dropped)" if dropped else "")
    )
    _workflow.quiet_keras()
    model = build_model(task, X, epochs=args.epochs, seed=seed)
    search, already = _workflow.make_search(
        model, task=task, n_trials=args.trials, timeout=args.timeout, cv=args.cv,
        scoring=scoring, storage=storage, study_name=study_name, seed=seed,
        n_startup=min(5, max(2, args.trials // 3)), progress=progress,
    )
    progress.step(
        f"tuning: {args.trials} trials of {args.cv}-fold cross-validation, study "
        f"{study_name!r} ({already} trials so far) in {_storage.display_url(storage)}"
    )
    started = time.perf_counter()
    _workflow.fit_search(search, X, y)
    tuning_seconds = time.perf_counter() - started
    model_path = output / _workflow.MODEL_FILE
    progress.step(f"saving the refit model to {model_path}")
    _workflow.save_model(search.best_estimator_, model_path)
    results = _results(args, search, already, task, scoring, len(X), storage, tuning_seconds)
    results["model_path"] = str(model_path)
    index = _report(output, args, results)
    progress.summary(_summary(results, model_path, index))
    return 0


def _results(args, search, already, task, scoring, n_rows, storage, seconds) -> dict:
    return {
        "command": "tune",
        "data": str(Path(args.data).resolve()),
        "target": args.target,
        "task": task,
        "n_rows": n_rows,
        "scoring": scoring,
        "cv": args.cv,
        "storage": _storage.display_url(storage),
        "tuning": _workflow.tuning_results(search, already),
        "learning_curve": _workflow.learning_curve_results(search.best_estimator_),
        "timings_s": {"tuning_and_refit": seconds},
        "versions": _workflow.versions(),
    }


def _report(output: Path, args, results: dict) -> Path:
    tuning = results["tuning"]
    overview = Section(
        "Overview",
        f"{results['task'].capitalize()} of {args.target!r} from {Path(args.data).name} "
        f"({results['n_rows']} rows), scored by {results['scoring']} over {args.cv} folds. The "
        "model is a Pipeline: numeric columns median-imputed and standardized, categorical "
        "columns imputed and one-hot encoded, then a Keras MLP with early stopping.",
        headers=("", ""),
        rows=[("best score", tuning["best_score"]), ("trials in study",
                                                   tuning["n_trials_total"]),
              ("saved model", results["model_path"])],
    )
    sections = [overview, *_workflow.tuning_sections(
        tuning, results["learning_curve"], results["storage"])]
    return write_report(output, f"skkeras tune: {Path(args.data).name}",
                        f"target {args.target!r}", sections, results)


def _summary(results: dict, model_path: Path, index: Path) -> str:
    tuning = results["tuning"]
    lines = [
        f"best {results['scoring']}: {tuning['best_score']:.4f} "
        f"({tuning['n_trials_total']} trials in study {tuning['study_name']!r}: "
        f"{tuning['n_complete']} complete, {tuning['n_pruned']} pruned, "
        f"{tuning['n_failed']} failed)",
        "best parameters:",
        *(f"  {key} = {value}" for key, value in tuning["best_params"].items()),
        f"model:  {model_path}",
        f"report: {index}",
    ]
    return "\n".join(lines)
