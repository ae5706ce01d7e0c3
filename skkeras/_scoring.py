"""Sample weights for a scorer without metadata routing, as scikit-learn's searches pass them.

With metadata routing disabled (scikit-learn's default), ``GridSearchCV.fit(X, y,
sample_weight=w)`` (scikit-learn 1.9) gives each fold's part of ``w`` to its scorer exactly when
the scorer accepts a ``sample_weight`` argument, and warns otherwise. A scorer accepts it when:

- it was made by ``make_scorer`` (or is a string scorer) whose metric has a ``sample_weight``
  parameter;
- it is the estimator's ``score`` (``scoring=None``) and that method has one;
- it is a plain callable with a parameter named ``sample_weight`` (``**kwargs`` is not enough).

``cross_validate`` and ``cross_val_score`` never pass them without routing.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ._warnings import warn_at_caller

#: How the warning of :func:`unrouted_score_params` starts (a ``warnings`` filter pattern).
_UNWEIGHTED_WARNING = r"scoring=.* takes no sample_weight argument, so "


def scorer_accepts_sample_weight(scorer) -> bool:
    """Whether ``GridSearchCV`` would pass ``sample_weight`` to ``scorer`` (routing disabled)."""
    accepts = getattr(scorer, "_accept_sample_weight", None)
    if callable(accepts):
        return bool(accepts())
    try:
        return "sample_weight" in inspect.signature(scorer).parameters
    except (TypeError, ValueError):  # no signature to read: pass nothing, as when it lacks one
        return False


def unrouted_score_params(scorer, sample_weight, *, owner: str) -> dict[str, Any]:
    """The scorer's keyword arguments from ``fit``'s ``sample_weight``, routing disabled.

    ``{"sample_weight": sample_weight}`` when ``scorer`` accepts it
    (:func:`scorer_accepts_sample_weight`), ``{}`` when there are no weights or it does not;
    then a ``UserWarning``, pointing at the user's ``fit`` call, says the scores are
    unweighted, as ``GridSearchCV`` warns.
    """
    if sample_weight is None:
        return {}
    if scorer_accepts_sample_weight(scorer):
        return {"sample_weight": sample_weight}
    warn_at_caller(
        f"scoring={scorer!r} takes no sample_weight argument, so {owner} scores the held-out "
        "folds without the sample_weight given to fit (as GridSearchCV does), which may give "
        "statistically incorrect results. Use a scorer that takes sample_weight (such as "
        "'accuracy', or make_scorer of a metric with a sample_weight parameter) to weight them."
    )
    return {}


@contextmanager
def unweighted_scores_warning_silenced() -> Iterator[None]:
    """Silence :func:`unrouted_score_params`'s warning inside the block.

    For the parts of one search that run elsewhere (``OptunaSearchCV``'s worker processes):
    the search that started them has warned once already, in the caller's process.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_UNWEIGHTED_WARNING, category=UserWarning)
        yield
