"""Steps shared by ``tune`` and ``demo``: the search, saving, and the report sections."""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from ._errors import EXIT_CANTCREAT, EXIT_USAGE, CLIError
from ._progress import Progress
from ._report import Section

MODEL_FILE = "model.skkeras"


def quiet_keras():
    """Import Keras with TensorFlow's C++ start-up chatter on standard error silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            from .._keras import import_keras

            keras = import_keras()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return keras


def prepare_output(path: str) -> Path:
    """Create the output folder (and parents), or fail in one line."""
    directory = Path(path).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CLIError(
            f"cannot create output folder {path}: {error.strerror or error}", EXIT_CANTCREAT
        ) from error
    if not os.access(directory, os.W_OK):
        raise CLIError(f"output folder {path} is not writable", EXIT_CANTCREAT)
    return directory


def check_scoring(name: str | None, task: str, y, *, target: str) -> str:
    """The scorer name (``accuracy`` or ``r2`` by default), refused early when unknown, of the
    other task, or unable to score the classes of ``y`` (the target column ``target``)."""
    from sklearn.metrics import get_scorer_names

    if name is None:
        return "accuracy" if task == "classification" else "r2"
    classes = _classes(y) if task == "classification" else None
    examples = _examples(classes)
    if name not in get_scorer_names():
        raise CLIError(
            f"unknown --scoring {name!r}; use a scikit-learn scorer name such as {examples}",
            EXIT_USAGE,
        )
    if _scores_regression(name) != (task == "regression"):
        kind = "regression" if task == "classification" else "classification (or clustering)"
        raise CLIError(
            f"--scoring {name!r} is a {kind} metric but the target is a {task} target; use "
            f"a {task} scorer such as {examples}",
            EXIT_USAGE,
        )
    if classes is not None:
        _check_scores_classes(name, classes, target)
    return name


#: Classification scorers the error messages suggest, those that can score the target's classes.
_CLASSIFICATION_EXAMPLES = ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "roc_auc_ovr")
_REGRESSION_EXAMPLES = "r2, neg_mean_absolute_error, neg_root_mean_squared_error"


def _classes(y):
    """The distinct labels of a classification target, as the search sees them."""
    import numpy as np

    return np.unique(np.asarray(y))


def _examples(classes) -> str:
    if classes is None:
        return _REGRESSION_EXAMPLES
    usable = [name for name in _CLASSIFICATION_EXAMPLES if _scoring_failure(name, classes) is None]
    return ", ".join(usable[:4])


def _check_scores_classes(name: str, classes, target: str) -> None:
    """Refuse a scorer that raises on these classes (``roc_auc``, ``f1``... on a multiclass
    target), naming the scorers of its family that can score them."""
    from sklearn.metrics import get_scorer_names

    failure = _scoring_failure(name, classes)
    if failure is None:
        return
    import numpy as np

    n_classes = len(classes)
    if n_classes > 2 and _scoring_failure(name, np.array([0, 1])) is None:
        problem = f"scores binary targets only but target column {target!r} has {n_classes} classes"
    else:
        reason = failure.splitlines()[0].rstrip(".")
        problem = f"cannot score target column {target!r} ({n_classes} classes): {reason}"
    family = [
        other for other in sorted(get_scorer_names())
        if other.startswith(f"{name}_") and _scoring_failure(other, classes) is None
    ]
    allowed = ", ".join(family) if family else _examples(classes)
    raise CLIError(f"--scoring {name!r} {problem}; use a scorer such as {allowed}", EXIT_USAGE)


def _scoring_failure(name: str, classes) -> str | None:
    """Why scikit-learn's scorer ``name`` raises on a target of ``classes`` (``None`` when it
    does not): it scores a prior-predicting ``DummyClassifier`` on one row per class."""
    import warnings

    import numpy as np
    from sklearn.dummy import DummyClassifier
    from sklearn.metrics import get_scorer

    X = np.zeros((len(classes), 1))
    dummy = DummyClassifier(strategy="prior").fit(X, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined-metric warnings of a constant prediction
        try:
            get_scorer(name)(dummy, X, classes)
        except (ValueError, TypeError) as error:
            return str(error) or type(error).__name__
    return None


def _scores_regression(name: str) -> bool:
    """Whether the scikit-learn scorer ``name`` computes a regression metric."""
    from sklearn.metrics import get_scorer

    function = getattr(get_scorer(name), "_score_func", None)
    return getattr(function, "__module__", "") == "sklearn.metrics._regression"


def default_study_name(data: str, target: str) -> str:
    """A study name from the data file's stem and the target column."""
    stem = Path(data).name.split(".")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{stem}-{target}")


def existing_trials(storage: str, study_name: str) -> int:
    """Number of trials already in the study (0 when it does not exist yet)."""
    import optuna

    try:
        summaries = optuna.study.get_all_study_summaries(storage=storage)
    except Exception:
        return 0
    for summary in summaries:
        if summary.study_name == study_name:
            return int(summary.n_trials)
    return 0


def cv_splitter(task: str, n_splits: int, seed: int):
    """Shuffled k-fold, stratified for classification."""
    from sklearn.model_selection import KFold, StratifiedKFold

    splitter = StratifiedKFold if task == "classification" else KFold
    return splitter(n_splits=n_splits, shuffle=True, random_state=seed)


def make_search(
    estimator, *, task: str, n_trials: int, timeout: float | None, cv: int, scoring: str,
    storage: str, study_name: str, seed: int, n_startup: int, progress: Progress,
    param_distributions=None,
):
    """An ``OptunaSearchCV`` with TPE, a median pruner and an RDB storage."""
    import optuna

    from ..model_selection import OptunaSearchCV

    already = existing_trials(storage, study_name)
    search = OptunaSearchCV(
        estimator,
        param_distributions,
        n_trials=n_trials,
        timeout=timeout,
        cv=cv_splitter(task, cv, seed),
        scoring=scoring,
        # Seeded TPE; for a stored study OptunaSearchCV mixes in the trial count and the
        # process, so a resumed run or a second worker does not replay the same points.
        sampler="tpe",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=n_startup, n_warmup_steps=3),
        storage=storage,
        study_name=study_name,
        refit=True,
        random_state=seed,
        callbacks=[progress.trial_callback(n_trials)],
        verbose=0,
    )
    return search, already


def fit_search(search, X, y):
    """Run the search; a study where no trial finished becomes a one-line error."""
    try:
        search.fit(X, y)
    except ValueError as error:
        text = str(error)
        if "trial" in text.lower() and ("fail" in text.lower() or "no " in text.lower()):
            raise CLIError(text.splitlines()[0]) from error
        raise
    return search


def save_model(estimator, path: Path) -> None:
    """``skkeras.save`` the estimator, or fail in one line."""
    from .. import save

    try:
        save(estimator, path)
    except OSError as error:
        raise CLIError(f"cannot write the model {path}: {error}", EXIT_CANTCREAT) from error


def versions() -> dict[str, str]:
    """Versions of Python and the libraries behind a run (recorded in results.json)."""
    import keras
    import optuna
    import sklearn

    from .._version import __version__

    return {
        "skkeras": __version__,
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "scikit-learn": sklearn.__version__,
        "optuna": optuna.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def final_step(estimator):
    """The network at the end of a Pipeline (or the estimator itself)."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def tuning_results(search, already: int) -> dict[str, Any]:
    """What the study holds: every trial, the best one, counts by state, importances."""
    import optuna

    study = search.study_
    trials = study.get_trials(deepcopy=False)
    states = [trial.state.name for trial in trials]
    results: dict[str, Any] = {
        "study_name": study.study_name,
        "direction": study.direction.name.lower(),
        "n_trials_before": already,
        "n_trials_total": len(trials),
        "n_complete": states.count("COMPLETE"),
        "n_pruned": states.count("PRUNED"),
        "n_failed": states.count("FAIL"),
        "best_score": float(search.best_score_),
        "best_params": {key: _plain(value) for key, value in search.best_params_.items()},
        "trials": [
            {
                "number": trial.number,
                "state": trial.state.name,
                "value": trial.value,
                "params": {key: _plain(value) for key, value in trial.params.items()},
                "duration_s": None if trial.duration is None else trial.duration.total_seconds(),
                "epochs_reported": len(trial.intermediate_values),
            }
            for trial in trials
        ],
    }
    try:
        importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):
        importances = {}
    results["param_importances"] = {key: float(value) for key, value in importances.items()}
    return results


def _plain(value):
    if isinstance(value, tuple):
        return list(value)
    return value


def learning_curve_results(estimator) -> dict[str, Any]:
    """Per-epoch losses of the refit network and its early-stopping point."""
    network = final_step(estimator)
    history = getattr(network, "history_", {}) or {}
    return {
        "loss": list(history.get("loss", [])),
        "val_loss": list(history.get("val_loss", [])),
        "learning_rate": list(history.get("learning_rate", [])),
        "best_epoch": int(getattr(network, "best_epoch_", 0) or 0),
        "n_iter": int(getattr(network, "n_iter_", 0) or 0),
    }


def tuning_sections(tuning: dict[str, Any], curves: dict[str, Any], storage_shown: str) -> list:
    """Report sections: learning curves, optimization history, importances, best parameters."""
    from . import _plots

    sections = []
    if curves["loss"]:
        sections.append(Section(
            "Learning curves",
            f"The refit network trained {curves['n_iter']} epochs; early stopping kept the "
            f"weights of epoch {curves['best_epoch']} (lowest validation loss).",
            _plots.learning_curves(curves, curves["best_epoch"]), "learning_curves.png",
        ))
    trials = tuning["trials"]
    sections.append(Section(
        "Optimization history",
        f"Study {tuning['study_name']!r} in {storage_shown}: {tuning['n_trials_total']} trials "
        f"({tuning['n_trials_before']} before this run), {tuning['n_complete']} complete, "
        f"{tuning['n_pruned']} pruned by the median pruner, {tuning['n_failed']} failed.",
        _plots.optimization_history(
            [trial["value"] for trial in trials], [trial["state"] for trial in trials],
            maximize=tuning["direction"] == "maximize",
        ),
        "optimization_history.png",
    ))
    if tuning["param_importances"]:
        sections.append(Section(
            "Hyperparameter importances",
            "How much of the score's variation each hyperparameter explains (fANOVA over the "
            "complete trials).",
            _plots.param_importances(tuning["param_importances"]), "param_importances.png",
        ))
    sections.append(Section(
        "Best configuration",
        f"Best cross-validated score {tuning['best_score']:.4f}.",
        headers=("parameter", "value"),
        rows=[(key, _short(value)) for key, value in tuning["best_params"].items()],
    ))
    return sections


def _short(value) -> Any:
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value if isinstance(value, int | str) else str(value)
