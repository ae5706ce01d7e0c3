"""Reading the user's table, choosing the task and building the preprocessing pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .._messages import plain
from ._errors import EXIT_DATAERR, EXIT_NOINPUT, CLIError

_READERS = {
    ".csv": lambda path: pd.read_csv(path),
    ".txt": lambda path: pd.read_csv(path),
    ".tsv": lambda path: pd.read_csv(path, sep="\t"),
    ".parquet": lambda path: pd.read_parquet(path),
    ".pq": lambda path: pd.read_parquet(path),
}
#: Integer targets with at most this many distinct values are classes under ``--task auto``.
MAX_AUTO_CLASSES = 20
#: Categories kept per one-hot encoded column; rarer ones share an "infrequent" column.
MAX_CATEGORIES = 50


def read_table(path: str, *, what: str = "data file") -> pd.DataFrame:
    """Read a CSV, TSV or Parquet file (compressed CSV too) into a DataFrame."""
    file = Path(path)
    if not file.exists():
        raise CLIError(f"{what} not found: {path}", EXIT_NOINPUT)
    if not file.is_file():
        raise CLIError(f"{what} is not a file: {path}", EXIT_NOINPUT)
    suffixes = [suffix.lower() for suffix in file.suffixes]
    suffix = suffixes[-2] if len(suffixes) > 1 and suffixes[-1] in {".gz", ".bz2", ".zip",
                                                                     ".xz", ".zst"} else (
        suffixes[-1] if suffixes else ""
    )
    reader = _READERS.get(suffix)
    if reader is None:
        raise CLIError(
            f"cannot read {path}: unsupported file type {suffix or '(none)'!r}; "
            "use .csv, .tsv or .parquet",
            EXIT_DATAERR,
        )
    try:
        frame = reader(file)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise CLIError(f"cannot read {path}: {_first_line(error)}", EXIT_DATAERR) from error
    except Exception as error:  # pyarrow raises its own exception types on bad files
        raise CLIError(f"cannot read {path}: {_first_line(error)}", EXIT_DATAERR) from error
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise CLIError(f"{what} {path} has no rows or no columns", EXIT_DATAERR)
    frame.columns = [str(column) for column in frame.columns]
    return frame


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def split_target(frame: pd.DataFrame, target: str, *, path: str) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target; rows without a target are dropped."""
    if target not in frame.columns:
        raise CLIError(
            f"unknown column {target!r} in {path}; its columns are: {_column_list(frame)}",
            EXIT_DATAERR,
        )
    known = frame[target].notna()
    if not known.any():
        raise CLIError(f"target column {target!r} of {path} has no values", EXIT_DATAERR)
    X = frame.loc[known].drop(columns=[target]).reset_index(drop=True)
    if X.shape[1] == 0:
        raise CLIError(f"{path} has no feature columns besides {target!r}", EXIT_DATAERR)
    return X, frame.loc[known, target].reset_index(drop=True)


def _column_list(frame: pd.DataFrame, limit: int = 12) -> str:
    names = [str(name) for name in frame.columns]
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def detect_task(y: pd.Series, task: str = "auto") -> str:
    """``"classification"`` or ``"regression"``: the user's choice, or guessed from ``y``."""
    if task != "auto":
        return task
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float)
    integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if integral and y.nunique() <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def check_target(y: pd.Series, task: str, *, target: str, cv: int) -> None:
    """Refuse targets no model can learn from: one class, too few rows per class, constant."""
    if task == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise CLIError(
                f"target column {target!r} has a single class ({plain(counts.index[0])!r}); "
                "a classifier needs at least two",
                EXIT_DATAERR,
            )
        if counts.min() < cv:
            raise CLIError(
                f"class {plain(counts.idxmin())!r} of target column {target!r} has {counts.min()} "
                f"row(s) but --cv {cv} needs at least {cv} per class; pass a smaller --cv",
                EXIT_DATAERR,
            )
        return
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        raise CLIError(
            f"target column {target!r} is not numeric ({y.dtype}); pass --task classification",
            EXIT_DATAERR,
        )
    if y.nunique() < 2:
        raise CLIError(f"target column {target!r} is constant; nothing to learn", EXIT_DATAERR)
    if len(y) < 2 * cv:
        raise CLIError(
            f"{len(y)} rows are too few for --cv {cv}; pass a smaller --cv", EXIT_DATAERR
        )


def column_kinds(X: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical column names (booleans and text are categorical)."""
    numeric, categorical, other = [], [], []
    for name in X.columns:
        dtype = X[name].dtype
        if pd.api.types.is_bool_dtype(dtype):
            categorical.append(name)
        elif pd.api.types.is_numeric_dtype(dtype):
            numeric.append(name)
        elif (
            pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
        ):
            categorical.append(name)
        else:
            other.append(f"{name} ({dtype})")
    if other:
        raise CLIError(
            f"columns of unsupported type: {', '.join(other)}; convert them to numbers or "
            "text, or drop them",
            EXIT_DATAERR,
        )
    return numeric, categorical


def build_preprocessor(X: pd.DataFrame):
    """Median-impute and scale numeric columns; impute and one-hot encode categorical ones."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = column_kinds(X)
    transformers = []
    if numeric:
        numeric_steps = Pipeline(
            [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
        )
        transformers.append(("numeric", numeric_steps, numeric))
    if categorical:
        categorical_steps = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value="(missing)")),
                (
                    "onehot",
                    OneHotEncoder(
                        handle_unknown="ignore",
                        max_categories=MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
            ]
        )
        transformers.append(("categorical", categorical_steps, categorical))
    return ColumnTransformer(transformers)


def as_categorical_text(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` as text (missing stays missing), so the encoder sees one type per column.

    A CSV column of ``True``/``False`` with gaps is read as a mix of booleans and floats, which
    scikit-learn's encoders refuse; ``tune`` and ``predict`` both pass categorical columns
    through this function.
    """
    X = X.copy()
    for name in columns:
        column = X[name]
        text = column.astype(object).map(str)
        X[name] = text.where(column.notna(), np.nan).astype(object)
    return X
