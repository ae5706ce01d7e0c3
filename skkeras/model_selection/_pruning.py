"""Per-epoch pruning: the folds of a trial trained in lockstep, one epoch at a time.

Each fold is trained by one ordinary ``fit`` call of its own estimator (so early stopping,
restored weights, learning-rate schedules and the training-loss plateau rule behave exactly as
outside the search). The call runs in a helper thread used as a coroutine: a small Keras callback
scores the fold's held-out part at the end of every epoch, hands the score to the coordinating
thread and waits. Only one fold runs at any moment, in a fixed order, so a trial is as
reproducible as sequential training. Once every fold has finished epoch ``t``, the coordinator
reports the mean held-out score to the trial at step ``t`` and asks the pruner; a fold that
already stopped contributes its final score. If the trial is pruned, every fold is told to stop
(``model.stop_training = True``) and :class:`optuna.TrialPruned` is raised.
"""

from __future__ import annotations

import math
import random
import threading
import time

import keras
import numpy as np
import optuna

from ..callbacks._model_free import ModelFreeCallback
from ._objective import FoldRun, _Channel

_CONTINUE, _STOP = "continue", "stop"



class EpochReporter(ModelFreeCallback):
    """Hand the fold's held-out score to the coordinator each epoch and wait for its decision.

    It needs no model of its own (it scores through the estimator), so folds of a network
    built before train from its remembered start without building one.
    """

    def __init__(self, channel: _Channel, score):
        super().__init__()
        self._channel = channel
        self._score = score

    def __deepcopy__(self, memo):
        # Estimators copy their callbacks for each fit; the copy must keep talking to the
        # same coordinator.
        return type(self)(self._channel, self._score)

    def epoch_ended(self, epoch: int, logs: dict) -> bool:
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            return False  # diverged: the estimator stops and raises TrainingDivergedError
        self._channel.from_fold.put(("epoch", float(self._score())))
        return self._channel.to_fold.get() == _STOP


def run_in_lockstep(folds: list[FoldRun], trial: optuna.Trial) -> None:
    """Train ``folds`` in lockstep, reporting the mean held-out score every epoch.

    Raises :class:`optuna.TrialPruned` when the pruner stops the trial, and the first fold's
    exception if a fold fails.
    """
    policy = keras.config.dtype_policy()
    # Each fit seeds and restores the global RNGs; interleaved fits would leave them changed.
    rng_states = random.getstate(), np.random.get_state()
    active = list(folds)
    step = 0
    try:
        while active:
            reported = False
            for fold in list(active):
                message = _advance(fold, policy)
                if message[0] == "epoch":
                    fold.epochs, fold.last_score, reported = fold.epochs + 1, message[1], True
                    continue
                active.remove(fold)
                if message[1] is not None:
                    raise message[1]
                _score_final(fold)
            if reported:
                step += 1
                trial.report(_mean([fold.last_score for fold in folds]), step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"Pruned after epoch {step}.")
    finally:
        _stop(active)
        random.setstate(rng_states[0])
        np.random.set_state(rng_states[1])


def _advance(fold: FoldRun, policy) -> tuple:
    """Let ``fold`` train until its next epoch end (or its end) and return its message."""
    begin = time.perf_counter()
    if fold.started:
        fold.channel.to_fold.put(_CONTINUE)
    else:
        fold.started = True
        threading.Thread(target=_train, args=(fold, policy), daemon=True).start()
    message = fold.channel.from_fold.get()
    # Includes the per-epoch scoring of the held-out part: the price of pruning.
    fold.fit_time += time.perf_counter() - begin
    return message


def _train(fold: FoldRun, policy) -> None:
    try:
        # Keras keeps its global dtype policy per thread.
        keras.config.set_dtype_policy(policy)
        fold.fit()
    except BaseException as error:  # handed to the coordinator, which re-raises it
        fold.channel.from_fold.put(("end", error))
    else:
        fold.channel.from_fold.put(("end", None))


def _score_final(fold: FoldRun) -> None:
    begin = time.perf_counter()
    fold.final_score = fold.last_score = float(fold.score())
    fold.score_time = time.perf_counter() - begin


def _stop(active: list[FoldRun]) -> None:
    """Tell every unfinished fold to stop, and wait for each one's training to end."""
    for fold in active:
        if not fold.started:
            continue
        fold.channel.to_fold.put(_STOP)
        while fold.channel.from_fold.get()[0] != "end":
            fold.channel.to_fold.put(_STOP)


def _mean(values) -> float:
    return float(sum(values) / len(values))
