"""Save Optuna's optimization-history and parameter-importance plots as image files."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import optuna

from .._persistence import atomic_write


def _study(search_or_study) -> optuna.Study:
    if isinstance(search_or_study, optuna.Study):
        return search_or_study
    study = getattr(search_or_study, "study_", None)
    if study is None:
        raise ValueError(
            "Expected a fitted OptunaSearchCV or an optuna.Study; got "
            f"{type(search_or_study).__name__} without a study_ (call fit first)."
        )
    return study


def _save(plot, study, path, **kwargs) -> str:
    """Draw ``plot`` of ``study`` and write it to ``path`` atomically: an interrupted or failing
    write leaves a file already there intact and no temporary file behind."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        axes = plot(study, **kwargs)
    figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
    path = os.fspath(path)
    # the format follows the path's suffix, as savefig(path) infers it (a file object has none)
    image_format = Path(path).suffix[1:].lower() or plt.rcParams["savefig.format"]
    try:
        figure.tight_layout()
        atomic_write(Path(path), lambda file: figure.savefig(file, format=image_format, dpi=100))
    finally:
        plt.close(figure)
    return path


def save_optimization_history(search_or_study, path) -> str:
    """Save the score of every trial and the best score so far as an image.

    Parameters
    ----------
    search_or_study : OptunaSearchCV or optuna.Study
        A fitted search, or its ``study_``.
    path : str or path-like
        Where to write the image; its suffix gives the format (``.png``, ``.svg``, ``.pdf``...;
        PNG without one). A file already there is replaced atomically: an interrupted or
        failing write leaves it as it was.

    Returns
    -------
    path : str
        The path written.

    Examples
    --------
    >>> import optuna, os, tempfile
    >>> from skkeras.model_selection import save_optimization_history
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(lambda t: -t.suggest_float("x", -1, 1) ** 2, n_trials=5)
    >>> path = save_optimization_history(study, os.path.join(tempfile.mkdtemp(), "h.png"))
    >>> os.path.getsize(path) > 0
    True
    """
    from optuna.visualization.matplotlib import plot_optimization_history

    return _save(plot_optimization_history, _study(search_or_study), path)


def save_param_importances(search_or_study, path) -> str:
    """Save the importance of each sampled parameter (fANOVA over completed trials) as an
    image.

    Needs at least two completed trials that differ in their parameters.

    Parameters
    ----------
    search_or_study : OptunaSearchCV or optuna.Study
        A fitted search, or its ``study_``.
    path : str or path-like
        Where to write the image; its suffix gives the format (``.png``, ``.svg``, ``.pdf``...;
        PNG without one). A file already there is replaced atomically: an interrupted or
        failing write leaves it as it was.

    Returns
    -------
    path : str
        The path written.

    Examples
    --------
    >>> import optuna, os, tempfile
    >>> from skkeras.model_selection import save_param_importances
    >>> study = optuna.create_study(direction="maximize")
    >>> study.optimize(
    ...     lambda t: t.suggest_float("x", 0, 1) - t.suggest_float("y", 0, 1) / 10, n_trials=8
    ... )
    >>> path = save_param_importances(study, os.path.join(tempfile.mkdtemp(), "i.png"))
    >>> os.path.getsize(path) > 0
    True
    """
    from optuna.visualization.matplotlib import plot_param_importances

    return _save(plot_param_importances, _study(search_or_study), path)
