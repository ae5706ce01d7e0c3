"""The report's figures, drawn from plain numbers (the same ones written to results.json).

Each function returns PNG bytes. Matplotlib's object API is used (no pyplot), so nothing global
is touched and no display is needed.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

_BLUE, _ORANGE, _GREY, _RED = "#1f77b4", "#ff7f0e", "#7f7f7f", "#d62728"


def _figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return figure, figure.add_subplot()


def _integer_ticks(axes) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def _png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def learning_curves(history: Mapping[str, Sequence[float]], best_epoch: int | None) -> bytes:
    """Training and validation loss per epoch, with the epoch early stopping kept."""
    figure, axes = _figure()
    for key, color, label in (("loss", _BLUE, "training loss"), ("val_loss", _ORANGE,
                                                                 "validation loss")):
        values = history.get(key) or []
        if values:
            axes.plot(np.arange(1, len(values) + 1), values, color=color, label=label)
    if best_epoch:
        axes.axvline(best_epoch, color=_GREY, linestyle="--",
                     label=f"early-stopping point (epoch {best_epoch})")
    _integer_ticks(axes)
    axes.set_xlabel("epoch")
    axes.set_ylabel("loss")
    axes.set_title("Learning curves of the tuned network")
    axes.legend(loc="upper right")
    return _png(figure)


def optimization_history(values: Sequence[float | None], states: Sequence[str],
                         *, maximize: bool = True) -> bytes:
    """Each trial's score (pruned and failed trials marked) and the best score so far."""
    figure, axes = _figure()
    numbers = np.arange(len(values))
    complete = [
        i for i, state in enumerate(states) if state == "COMPLETE" and values[i] is not None
    ]
    pruned = [i for i, state in enumerate(states) if state == "PRUNED"]
    failed = [i for i, state in enumerate(states) if state == "FAIL"]
    if complete:
        scores = np.array([values[i] for i in complete], dtype=float)
        axes.scatter(numbers[complete], scores, color=_BLUE, label="complete trial", zorder=3)
        best = np.maximum.accumulate(scores) if maximize else np.minimum.accumulate(scores)
        axes.step(numbers[complete], best, where="post", color=_RED, label="best so far")
    low = axes.get_ylim()[0] if complete else 0.0
    if pruned:
        axes.scatter(numbers[pruned], [low] * len(pruned), marker="x", color=_GREY,
                     label="pruned trial", zorder=3)
    if failed:
        axes.scatter(numbers[failed], [low] * len(failed), marker="v", color=_ORANGE,
                     label="failed trial", zorder=3)
    _integer_ticks(axes)
    axes.set_xlabel("trial")
    axes.set_ylabel("cross-validated score")
    axes.set_title("Optimization history")
    axes.legend(loc="lower right")
    return _png(figure)


def param_importances(importances: Mapping[str, float]) -> bytes:
    """Horizontal bars of each hyperparameter's importance (fANOVA), largest on top."""
    names = list(importances)[::-1]
    figure, axes = _figure(height=max(2.0, 0.45 * len(names) + 1.0))
    axes.barh(names, [importances[name] for name in names], color=_BLUE)
    axes.set_xlabel("importance for the score")
    axes.set_title("Hyperparameter importances")
    return _png(figure)


def running_stats(scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of the first 1, 2, ... scores."""
    scores = np.asarray(scores, dtype=float)
    counts = np.arange(1, len(scores) + 1)
    mean = np.cumsum(scores) / counts
    square = np.cumsum(scores**2) / counts
    return mean, np.sqrt(np.maximum(square - mean**2, 0.0))


def bootstrap_convergence(scores: Sequence[float]) -> bytes:
    """Each split's score and the running mean ± standard deviation converging."""
    mean, std = running_stats(scores)
    splits = np.arange(1, len(mean) + 1)
    figure, axes = _figure()
    axes.scatter(splits, scores, color=_GREY, s=12, label="split score")
    axes.plot(splits, mean, color=_BLUE, label="running mean")
    axes.fill_between(splits, mean - std, mean + std, color=_BLUE, alpha=0.2,
                      label="running mean ± std")
    _integer_ticks(axes)
    axes.set_xlabel("bootstrap split")
    axes.set_ylabel("held-out score")
    axes.set_title("Bootstrap benchmark of the best configuration")
    axes.legend(loc="lower right")
    return _png(figure)


def model_comparison(names: Sequence[str], means: Sequence[float], stds: Sequence[float],
                     fit_times: Sequence[float]) -> bytes:
    """Cross-validated score ± std per model, and mean fit time per model."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8.0, max(2.4, 0.5 * len(names) + 1.2)), dpi=100,
                    layout="constrained")
    score_axes, time_axes = figure.subplots(1, 2, sharey=True)
    positions = np.arange(len(names))
    score_axes.barh(positions, means, xerr=stds, color=_BLUE, capsize=4)
    score_axes.set_yticks(positions, list(names))
    score_axes.invert_yaxis()
    low = min(m - s for m, s in zip(means, stds, strict=True))
    high = max(m + s for m, s in zip(means, stds, strict=True))
    margin = max(0.05 * (high - low), 1e-3)
    score_axes.set_xlim(low - margin, high + margin)
    score_axes.set_xlabel("cross-validated score (mean ± std)")
    time_axes.barh(positions, fit_times, color=_ORANGE)
    time_axes.set_xlabel("mean fit time (s)")
    figure.suptitle("Model comparison")
    return _png(figure)
