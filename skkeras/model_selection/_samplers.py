"""Optuna samplers and pruners chosen by name or given as instances."""

from __future__ import annotations

import optuna

SAMPLERS = ("tpe", "gp", "random", "cmaes", "grid")
PRUNERS = ("median", "successive_halving", "hyperband", "none")


def make_sampler(sampler, seed: int | None, space) -> optuna.samplers.BaseSampler:
    """An Optuna sampler from a name (seeded with ``seed``) or an instance (used as is).

    ``None`` is TPE. ``"gp"`` is Optuna's Gaussian-process Bayesian optimization (needs
    ``torch``), ``"cmaes"`` needs ``cmaes``, and ``"grid"`` enumerates ``space``.
    """
    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler
    name = "tpe" if sampler is None else sampler
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        _require("torch", "sampler='gp'")
        return optuna.samplers.GPSampler(seed=seed)
    if name == "cmaes":
        _require("cmaes", "sampler='cmaes'")
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "grid":
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    raise ValueError(
        f"The 'sampler' parameter must be one of {list(SAMPLERS)}, an optuna sampler or None; "
        f"got {sampler!r}."
    )


def make_pruner(pruner) -> optuna.pruners.BasePruner:
    """An Optuna pruner from a name or an instance; ``None`` means no pruning."""
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    raise ValueError(
        f"The 'pruner' parameter must be one of {list(PRUNERS)}, an optuna pruner or None; "
        f"got {pruner!r}."
    )


def _require(module: str, what: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ImportError(f"{what} needs the {module!r} package: pip install {module}")
