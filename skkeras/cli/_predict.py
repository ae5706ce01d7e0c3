"""``skkeras predict MODEL DATA``: predictions (and class probabilities) of a saved model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .._persistence import atomic_write
from . import _data, _workflow
from ._errors import EXIT_CANTCREAT, EXIT_DATAERR, EXIT_NOINPUT, CLIError
from ._progress import Progress


def load_model(path: str):
    """``skkeras.load`` the file, or fail in one line (it never unpickles anything)."""
    file = Path(path)
    if not file.is_file():
        raise CLIError(f"model file not found: {path}", EXIT_NOINPUT)
    _workflow.quiet_keras()
    from .. import load

    try:
        return load(file)
    except (OSError, ValueError, TypeError, KeyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CLIError(f"cannot load model {path}: {reason}", EXIT_DATAERR) from error


def categorical_columns(model) -> list[str]:
    """Columns a ``tune`` model one-hot encodes (read as text before predicting)."""
    from sklearn.compose import ColumnTransformer

    columns: list[str] = []
    for _, step in getattr(model, "steps", []):
        if isinstance(step, ColumnTransformer):
            for name, _, selected in getattr(step, "transformers_", []):
                if name == "categorical":
                    columns.extend(str(column) for column in selected)
    return columns


def select_features(model, frame, *, path: str):
    """The model's input columns from ``frame`` (in training order; extra columns ignored)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        expected = getattr(model, "n_features_in_", frame.shape[1])
        if frame.shape[1] != expected:
            raise CLIError(
                f"{path} has {frame.shape[1]} columns but the model expects {expected}",
                EXIT_DATAERR,
            )
        return frame
    names = [str(name) for name in names]
    missing = [name for name in names if name not in frame.columns]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:8])
        raise CLIError(
            f"{path} lacks column(s) the model was trained on: {shown}"
            + (f" and {len(missing) - 8} more" if len(missing) > 8 else ""),
            EXIT_DATAERR,
        )
    return _data.as_categorical_text(frame[names], categorical_columns(model))


def predictions_frame(model, X):
    """A DataFrame with ``prediction`` and, for classifiers, ``proba_<class>`` columns."""
    import pandas as pd
    from sklearn.base import is_classifier

    result = pd.DataFrame({"prediction": np.asarray(model.predict(X)).tolist()})
    if is_classifier(model) and hasattr(model, "predict_proba"):
        probabilities = np.asarray(model.predict_proba(X))
        for index, label in enumerate(model.classes_):
            result[f"proba_{label}"] = probabilities[:, index]
    return result


def run_predict(args: argparse.Namespace) -> int:
    """Run ``skkeras predict``; returns the exit code."""
    progress = Progress(args.quiet)
    if not Path(args.model).is_file():
        raise CLIError(f"model file not found: {args.model}", EXIT_NOINPUT)
    frame = _data.read_table(args.data)
    progress.step(f"loading {args.model}")
    model = load_model(args.model)
    X = select_features(model, frame, path=args.data)
    progress.step(f"predicting {len(X)} rows")
    result = predictions_frame(model, X)
    if args.output is None:
        result.to_csv(sys.stdout, index=False)
        return 0
    try:
        # atomically, as skkeras.save: Ctrl-C or a full disk keeps a previous file intact
        atomic_write(Path(args.output), lambda file: result.to_csv(file, index=False))
    except OSError as error:
        raise CLIError(
            f"cannot write {args.output}: {error.strerror or error}", EXIT_CANTCREAT
        ) from error
    if not args.quiet:
        print(f"wrote {len(result)} predictions to {args.output}", file=sys.stderr)
    return 0
