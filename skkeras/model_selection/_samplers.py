"""Optuna samplers and pruners chosen by name or given as instances."""

from __future__ import annotations

from functools import partial

import numpy as np
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
    return _named_sampler(_checked_name(sampler), seed, space)


def _checked_name(sampler) -> str:
    """The sampler's name (``None`` is TPE), once its optional dependency is known present."""
    name = "tpe" if sampler is None else sampler
    if name not in SAMPLERS:
        raise ValueError(
            f"The 'sampler' parameter must be one of {list(SAMPLERS)}, an optuna sampler or "
            f"None; got {sampler!r}."
        )
    if name == "gp":
        _require("torch", "sampler='gp'")
    if name == "cmaes":
        _require("cmaes", "sampler='cmaes'")
    return name


def make_trial_seeded_sampler(sampler, seed: int | None, space) -> optuna.samplers.BaseSampler:
    """Like :func:`make_sampler`, but a named sampler draws each trial from its own seed.

    The seed of trial ``n`` is derived from ``(seed, n)``. Trial numbers are unique within a
    study, even across processes sharing a stored one, so a seeded search is reproducible, a
    rerun continuing a stored study does not replay the first run's start-up points, and
    workers sharing a study never draw the same ones. Unseeded names, ``"grid"`` (its seed
    shuffles the grid once, and the study records which grid points were run) and sampler
    instances are returned as :func:`make_sampler` returns them.
    """
    if seed is None or sampler == "grid" or isinstance(sampler, optuna.samplers.BaseSampler):
        return make_sampler(sampler, seed, space)
    name = _checked_name(sampler)
    # A partial, not a lambda: a fitted search (its study_ holds this sampler) must pickle.
    return TrialSeededSampler(partial(_named_sampler, name, space=space), seed)


class TrialSeededSampler(optuna.samplers.BaseSampler):
    """Delegates each trial to a fresh sampler seeded from the study's seed and the trial number.

    Optuna's built-in samplers keep what they learn in the study's storage, not in the
    sampler, so a fresh instance per trial samples as the long-lived one would, apart from
    its random stream. Trials running at once in threads each have their own instance.
    """

    def __init__(self, factory, seed: int) -> None:
        self._factory = factory
        self._seed = seed
        self._by_trial: dict[int, optuna.samplers.BaseSampler] = {}

    def trial_seed(self, number: int) -> int:
        """The seed of trial ``number``."""
        return int(np.random.SeedSequence([self._seed, number]).generate_state(1)[0])

    def _sampler(self, trial) -> optuna.samplers.BaseSampler:
        sampler = self._by_trial.get(trial.number)
        if sampler is None:
            sampler = self._by_trial[trial.number] = self._factory(self.trial_seed(trial.number))
        return sampler

    def infer_relative_search_space(self, study, trial):
        return self._sampler(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._sampler(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._sampler(trial).sample_independent(
            study, trial, param_name, param_distribution
        )

    def before_trial(self, study, trial) -> None:
        self._sampler(trial).before_trial(study, trial)

    def after_trial(self, study, trial, state, values) -> None:
        sampler = self._sampler(trial)
        try:
            sampler.after_trial(study, trial, state, values)
        finally:
            self._by_trial.pop(trial.number, None)

    def reseed_rng(self) -> None:
        """Nothing to do: every trial already has a seed of its own."""


def _named_sampler(name: str, seed: int | None, space) -> optuna.samplers.BaseSampler:
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    return optuna.samplers.GridSampler(space.grid(), seed=seed)


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
