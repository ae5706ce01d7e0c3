"""A whole fit in one compiled call: every epoch, validation and early stopping in the graph.

The fast path (:mod:`skkeras._fastpath`) otherwise runs one compiled call per epoch and the
callbacks in Python between them. For the small networks of a cross-validation that Python
work (a call's argument binding, the callbacks, reading the loss back) costs as much as a
fifth of the training. When the only callbacks are the ones an estimator adds itself, the
epoch recorder and its early stopping, their rules are simple enough to run in the graph:

* the recorder logs the loss, the validation loss and the learning rate of every epoch, and
  stops after the first epoch whose loss is not finite;
* :class:`~skkeras.callbacks._stopping.FloatEarlyStopping` (``baseline=None``,
  ``start_from_epoch=0``, minimizing ``loss`` or ``val_loss``) is Keras's ``EarlyStopping``:
  the first value is the best; a later one improves when ``value + |min_delta| < best`` (in
  float64, as the Python comparison); ``patience`` epochs without improvement stop training
  (never on epoch 0); with ``restore_best_weights`` the weights of the best epoch (or of the
  first, when none improved) are put back at the end.

The graph computes the same epochs as the per-epoch loop, in the same order, and returns the
final state and the per-epoch logs, which are then handed to the recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._packing import Layout

#: ``patience`` standing for "never stop" when no early stopping is asked for.
_NEVER = np.iinfo(np.int32).max


@dataclass(frozen=True)
class Plan:
    """How a fit whose callbacks the graph can replace is run.

    Attributes
    ----------
    recorder : EpochRecorder
        The fit's recorder, which receives the logs of the epochs run.
    patience : int
        Epochs without improvement before stopping (a huge number without early stopping).
    min_delta : float
        The smallest decrease counted as an improvement (non-negative).
    monitor_validation : bool
        Whether ``val_loss`` (else ``loss``) is monitored.
    restore : bool
        Whether the best epoch's weights are put back at the end.
    """

    recorder: object
    patience: int = _NEVER
    min_delta: float = 0.0
    monitor_validation: bool = False
    restore: bool = False


def plan(callbacks: list, *, has_validation: bool) -> Plan | None:
    """The :class:`Plan` replacing ``callbacks`` in the graph, or None when they must run in
    Python (a user's callback, a schedule callback, an early stopping the graph does not
    mirror)."""
    from .callbacks._history import EpochRecorder
    from .callbacks._stopping import FloatEarlyStopping

    if not callbacks or type(callbacks[-1]) is not EpochRecorder:
        return None
    recorder, others = callbacks[-1], callbacks[:-1]
    if not others:
        return Plan(recorder)
    if len(others) > 1 or type(others[0]) is not FloatEarlyStopping:
        return None
    stopping = others[0]
    monitored = {"loss": False, "val_loss": True}.get(stopping.monitor)
    if (
        monitored is None
        or (monitored and not has_validation)
        or stopping.mode not in ("min", "auto")
        or stopping.baseline is not None
        or stopping.start_from_epoch != 0
        or stopping.verbose
    ):
        return None
    return Plan(
        recorder,
        patience=int(stopping.patience),
        min_delta=abs(float(stopping.min_delta)),
        monitor_validation=monitored,
        restore=bool(stopping.restore_best_weights),
    )


def make_fit_fn(model, variables, positions, train_epoch, evaluate):
    """A function (to be traced by ``tf.function``) training ``model`` (a template) for a whole fit.

    ``variables`` are the template's variables in the templates' order, ``positions`` the
    indices of its weights among them (:func:`weight_positions`).
    ``train_epoch(X, y, weights, seed, shuffle, batch_size, use_weights)`` and
    ``evaluate(X, y, weights, batch_size, use_weights)`` are the graph bodies of one epoch and
    of the validation loss. The function takes the starting state packed as
    :func:`state_layout` says, the fit's shuffling ``seeds``, the call's :func:`settings`, the
    early-stopping :func:`rule` and ``carry`` (see :func:`first_carry`). It runs
    ``settings``' number of epochs (or fewer, when training stops) and returns the final state
    (packed), the per-epoch ``loss``, ``val_loss`` and learning rate of the epochs run, whether
    training stopped, and the new ``carry``. A fit may be split over several calls, each
    continuing where the last one ended; the best weights are put back after the last one
    (:func:`final_state`).
    """
    import tensorflow as tf

    weights_of = [variables[position] for position in positions]
    packed_state, packed_weights = state_layout(variables), weights_layout(variables, positions)
    optimizer = model.optimizer

    def learning_rate():
        return tf.cast(tf.convert_to_tensor(optimizer.learning_rate), tf.float32)

    def fit(state, X, y, weights, seeds, settings, use_weights, rule, validation, carry):
        shuffle, batch_size, first_epoch, first_seed, n_epochs = tf.unstack(settings, num=5)
        shuffle = shuffle > 0
        patience, min_delta, monitor_validation, restore = tf.unstack(rule, num=4)
        patience = tf.cast(patience, tf.int32)
        monitor_validation, restore = monitor_validation > 0, restore > 0
        for source, target in zip(packed_state.unpack_in_graph(state), variables, strict=True):
            target.assign(source)

        def run_epoch(epoch, stopped, logs, stopping, best_weights):
            loss = train_epoch(
                X, y, weights, seeds[first_seed + epoch], shuffle, batch_size, use_weights
            )
            losses, val_losses, rates = logs
            at = [[epoch]]
            losses = tf.tensor_scatter_nd_update(losses, at, [loss])
            rates = tf.tensor_scatter_nd_update(rates, at, [learning_rate()])
            monitored = loss
            if validation is not None:
                val_loss = evaluate(*validation[:3], batch_size, validation[3])
                val_losses = tf.tensor_scatter_nd_update(val_losses, at, [val_loss])
                monitored = tf.where(monitor_validation, val_loss, loss)
            # Keras's EarlyStopping.on_epoch_end, step by step
            best, have_best, wait, have_best_weights = stopping
            value = tf.cast(monitored, tf.float64)
            first_snapshot = restore & tf.logical_not(have_best_weights)
            wait += 1
            improved = tf.logical_not(have_best) | (value + min_delta < best)
            take = restore & (improved | first_snapshot)
            best_weights = [
                tf.where(take, weight, kept)
                for weight, kept in zip(weights_of, best_weights, strict=True)
            ]
            stopping = (
                tf.where(improved, value, best),
                have_best | improved,
                tf.where(improved, 0, wait),
                have_best_weights | take,
            )
            stop = tf.logical_not(improved) & (wait >= patience) & (first_epoch + epoch > 0)
            # the recorder stops after the first epoch whose loss is not finite
            stopped = stop | tf.logical_not(tf.math.is_finite(loss))
            return epoch + 1, stopped, (losses, val_losses, rates), stopping, best_weights

        def going_on(epoch, stopped, *_):
            return (epoch < n_epochs) & tf.logical_not(stopped)

        zeros = tf.zeros([n_epochs], tf.float32)
        stopping_vector, best_weights = carry
        best, have_best, wait, have_best_weights = tf.unstack(stopping_vector, num=4)
        stopping = (best, have_best > 0, tf.cast(wait, tf.int32), have_best_weights > 0)
        start = (
            0, tf.constant(False), (zeros, zeros, zeros), stopping,
            packed_weights.unpack_in_graph(best_weights),
        )
        n_run, stopped, logs, stopping, best_weights = tf.while_loop(going_on, run_epoch, start)
        final = packed_state.pack_in_graph(variables)  # read after the loop (its writes come first)
        losses, val_losses, rates = logs
        logs = (losses[:n_run], val_losses[:n_run], rates[:n_run])
        stopping_vector = tf.stack([tf.cast(part, tf.float64) for part in stopping])
        return final, logs, stopped, (stopping_vector, packed_weights.pack_in_graph(best_weights))

    return fit


def weight_positions(model) -> list[int]:
    """Positions, in the templates' variable order, of what ``EarlyStopping`` saves and restores
    (``get_weights``/``set_weights``: the model's weights, not its seed generators' states)."""
    weight_ids = {id(weight) for weight in model.weights}
    model_variables = [*model.trainable_variables, *model.non_trainable_variables]
    return [index for index, variable in enumerate(model_variables) if id(variable) in weight_ids]


def state_layout(variables) -> Layout:
    """How the whole-fit graph takes and returns the state of ``variables`` (the templates'
    order): one vector per dtype."""
    return Layout.of(variables)


def weights_layout(variables, positions: list[int]) -> Layout:
    """How the whole-fit graph carries the best epoch's weights between calls."""
    return Layout.of([variables[position] for position in positions])


@lru_cache(maxsize=64)
def first_carry(weights: Layout) -> tuple:
    """The early-stopping state before the first epoch: no best value yet, and zeros as the best
    weights (overwritten before they are ever used: the first epoch always improves)."""
    import tensorflow as tf

    # best value, whether there is one, epochs waited, whether best weights were taken
    no_best = tf.constant([np.inf, 0.0, 0.0, 0.0], tf.float64)
    return no_best, weights.tensors(np.zeros(size, dtype) for size, dtype in
                                    zip(weights.sizes, weights.dtypes, strict=True))


def final_state(state: list, carry: tuple, fit_plan: Plan, positions: list[int],
                weights: Layout) -> list:
    """The state a fit ends with: ``state`` (arrays), with the best epoch's weights put back if
    the plan restores them. Keras's ``EarlyStopping`` restores them when training ends,
    whatever ended it (its own patience, the last epoch, another callback), after every callback
    has seen the last epoch's weights."""
    stopping, best_weights = carry
    if not (fit_plan.restore and float(stopping[3]) > 0):
        return state
    final = list(state)
    for position, weight in zip(positions, weights.unpack(best_weights), strict=True):
        final[position] = weight
    return final


def settings(shuffle: bool, batch_size: int, first_epoch: int, first_seed: int,
             n_epochs: int):
    """A call's settings as the graph's ``settings`` argument: whether to shuffle, the batch
    size, the fit's epoch number of the call's first epoch, where its seeds start among the
    fit's, and how many epochs it runs (one tensor, remembered)."""
    return _settings(bool(shuffle), int(batch_size), int(first_epoch), int(first_seed),
                     int(n_epochs))


@lru_cache(maxsize=1024)
def _settings(*values: int):
    import tensorflow as tf

    return tf.constant(values, tf.int32)


def rule(fit_plan: Plan):
    """The plan's early-stopping rule as the graph's ``rule`` argument: patience, minimal
    improvement, whether ``val_loss`` is monitored, whether the best weights are restored."""
    return _rule(
        fit_plan.patience, fit_plan.min_delta, fit_plan.monitor_validation, fit_plan.restore
    )


@lru_cache(maxsize=64)
def _rule(patience: int, min_delta: float, monitor_validation: bool, restore: bool):
    import tensorflow as tf

    # every value is exact in float64 (patience is at most 2**31 - 1)
    return tf.constant(
        [patience, min_delta, float(monitor_validation), float(restore)], tf.float64
    )


def record(fit_plan: Plan, first_epoch: int, logs: list, has_validation: bool):
    """Hand the epochs' logs (each call's ``(losses, val_losses, rates)``) to the recorder, as
    its ``on_epoch_end`` would have received them."""
    recorder = fit_plan.recorder
    recorder.on_train_begin()
    losses, val_losses, rates = (
        np.concatenate([np.asarray(call[part]) for call in logs]) for part in range(3)
    )
    for index, loss in enumerate(losses):
        logs = {"loss": loss}
        if has_validation:
            logs["val_loss"] = val_losses[index]
        logs["learning_rate"] = rates[index]
        recorder.record_epoch(first_epoch + index, logs)
