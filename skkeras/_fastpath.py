"""Fast training and prediction on the TensorFlow backend.

For small tabular networks almost all of a Keras ``fit`` is overhead: tracing a new
``tf.function`` for every model, the per-epoch data pipeline, per-step dispatch. This module
removes it while computing the same thing as ``Model.fit`` / ``Model.predict_on_batch``:

* **Training.** One private *template* copy (model + optimizer) is kept per architecture, with
  its compiled graphs. Each training step is exactly Keras's own train step (forward pass with
  ``training=True``, ``compute_loss``, ``GradientTape``, ``optimizer.apply_gradients``), the
  batches of an epoch visited in a ``tf.while_loop``. Fits of the same architecture (CV folds,
  search trials, clones) reuse the traced graphs: no per-fit tracing and no per-model graphs
  that accumulate in memory.

  - When the only callbacks are the estimator's own (the epoch recorder and its early
    stopping), the *whole fit* is one compiled call (:mod:`skkeras._compiled_fit`): the
    estimator's state goes in, every epoch, validation loss and early-stopping decision runs in
    the graph, and the trained state and the epochs' logs come out. (Fits longer than about a
    second are split into calls of about a second, the early-stopping state carried over.)
  - Callbacks that need no model (per-epoch pruning's reporter,
    :class:`~skkeras.callbacks._model_free.ModelFreeCallback`) run between one-epoch calls of
    that same graph, once the epoch's state is where the estimator predicts from (after the
    first few such fits of an architecture, which take the per-epoch path below: its graph is
    quicker to trace).
  - Otherwise each *epoch* is one call: the estimator's model and optimizer state is copied
    into the template before it and back after it, so callbacks (a user's, learning-rate
    schedules) see and change the real model as usual between epochs.
* **Training from a remembered start** (:mod:`skkeras._reuse`). A fit whose network and seed
  were built before needs no model of its own: the whole-fit graph takes the remembered
  starting state as its input and returns the trained state.
* **Prediction.** Plain layer stacks (every ready-made MLP) are computed in NumPy
  (:mod:`skkeras._numpy_forward`); other single-input models get a cached ``tf.function`` per
  architecture running the template's stateless forward pass on the model's own variables, for
  any number of rows (no retracing per batch size).

Anything the fast path does not cover (other backends, metrics, batch-level callbacks,
multi-input models, distribution strategies, extra ``fit`` arguments...) goes through Keras's
``fit``. ``SKKERAS_FASTPATH=0`` turns both fast paths off.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from functools import cache, lru_cache

import numpy as np

from . import _compiled_fit
from ._keras import backend_name, current_fit_seed, import_keras, isolated_generators
from ._numpy_forward import numpy_forward

#: Architectures whose templates (model, optimizer and traced graphs: about 10 MiB each for the
#: default search space's networks, measured with ``benchmarks.trial_memory``) are kept.
_MAX_TEMPLATES = 8
#: Batches up to this many rows are predicted in NumPy; larger ones by TensorFlow's kernels,
#: which are faster there. (The benchmark MLP, with and without batch normalization, on the
#: three benchmark tables and 2 cores: NumPy took 0.3-0.4x TensorFlow's time at 600 rows,
#: 0.7-0.9x at 10,000 and 1.0-1.3x at 65,536.)
_NUMPY_MAX_ROWS = 16384
#: A whole fit is split into compiled calls of about this many seconds: Python (Ctrl-C, other
#: threads' fits of the architecture) gets a turn between them.
_SECONDS_PER_CALL = 1.0
#: At most this many copies of one architecture's training template train at once: fits in
#: several threads (``n_jobs`` threads, a threading joblib backend) each get a copy of their own
#: while there are cores for them, instead of queueing for one.
_MAX_COPIES = max(1, os.cpu_count() or 1)
#: Fits with model-free callbacks an architecture trains on the per-epoch path before its
#: whole-fit graph is traced for them. That graph takes about 100 ms longer to trace than the
#: per-epoch one (a small MLP), and pays for itself once fits start from a remembered state
#: instead of building their network (about 28 ms each): a study of one architecture gets there
#: in its second trial, a study that tries a new architecture in every trial never does.
_PER_EPOCH_FITS_FIRST = 4
#: The TensorFlow executor the fast path's graphs are traced for and run by, on a machine
#: without accelerators: every kernel runs on the calling thread. The default executor hands
#: each of the thousands of tiny ops of a small network's fit to the inter-op thread pool, and
#: those hand-offs cost more than the ops (digits, the benchmark's 4x3 grid search on 2 cores:
#: 0.68-0.72 s against 1.15-1.20 s, the same scores). It runs functional control flow
#: (``tf.while_loop`` traced under it is not lowered to the low-level form it does not
#: support) but not graphs split over devices, hence CPU only.
_CALLER_THREAD_EXECUTOR = "SINGLE_THREADED_EXECUTOR"
_templates: OrderedDict = OrderedDict()
_templates_lock = threading.Lock()
_forwards: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_trained_forwards: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_batch_begin",
    "on_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


def enabled() -> bool:
    """Whether the fast paths may be used (TensorFlow backend, not switched off)."""
    return not _switched_off() and backend_name() == "tensorflow"


def _switched_off() -> bool:
    return os.environ.get("SKKERAS_FASTPATH", "1").lower() in {"0", "false", "no", "off"}


# ---------------------------------------------------------------------------------- eligibility
def training_key(model, callbacks, fit_kwargs: dict, verbose: int) -> str | None:
    """The key of ``model``'s training template if the compiled epoch loop can train it with
    these settings, else None. Pass it to :func:`train`."""
    if fit_kwargs or verbose or not enabled() or not _single_io(model):
        return None
    import tensorflow as tf

    if tf.distribute.has_strategy():
        return None
    if getattr(model, "run_eagerly", False) or getattr(model, "jit_compile", False):
        return None
    if not _loss_only(model) or not all(_epoch_level(callback) for callback in callbacks):
        return None
    return _architecture_key(model, training=True)


def _single_io(model) -> bool:
    try:
        return len(model.inputs) == 1 and len(model.outputs) == 1
    except (AttributeError, ValueError):
        return False


def _loss_only(model) -> bool:
    """The model is compiled with a loss and an optimizer but no metrics or loss weights."""
    if not model.compiled or model.optimizer is None or model.loss is None:
        return False
    config = model.get_compile_config() or {}
    return not any(config.get(key) for key in ("metrics", "weighted_metrics", "loss_weights"))


def _epoch_level(callback) -> bool:
    keras = import_keras()
    base = keras.callbacks.Callback
    return all(getattr(type(callback), hook) is getattr(base, hook) for hook in _BATCH_HOOKS)


def _architecture_key(model, *, training: bool) -> str | None:
    """A string identifying everything a traced graph depends on, or None if unknowable."""
    keras = import_keras()
    try:
        parts = {"model": _anonymous(model.get_config(), model), "class": type(model).__name__}
        if training:
            parts["optimizer"] = _optimizer_config(model.optimizer)
            parts["loss"] = keras.saving.serialize_keras_object(model.loss)
        return json.dumps(parts, sort_keys=True, default=repr)
    except Exception:  # any model we cannot describe takes Keras's own path
        return None


def _anonymous(config, model):
    """``config`` with layer and model names replaced by their positions (names vary per fit)."""
    layer_names = [layer.name for layer in model.layers]
    # a Sequential model's input layer is in its config but not in model.layers
    for entry in config.get("layers", []) if isinstance(config, dict) else []:
        name = entry.get("config", {}).get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name not in layer_names:
            layer_names.append(name)
    names = {name: f"<layer {index}>" for index, name in enumerate(layer_names)}
    names[model.name] = "<model>"

    def rename(value):
        if isinstance(value, dict):
            return {key: rename(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [rename(item) for item in value]
        if isinstance(value, str):
            return names.get(value, value)
        return value

    return rename(config)


def _optimizer_config(optimizer) -> dict:
    config = dict(optimizer.get_config())
    if isinstance(config.get("learning_rate"), float):
        config.pop("learning_rate")  # a variable, copied in at each epoch
    config.pop("name", None)
    return config


# ---------------------------------------------------------------------------------- templates
class _Template:
    """A private model + optimizer of one architecture, with its compiled graphs.

    A training template trains one fit at a time (its ``lock``); fits in other threads meanwhile
    train on spare copies of it (:func:`_free_copy`).
    """

    def __init__(self, model, *, training: bool):
        with isolated_generators():  # cloning draws initial weights: not from the user's RNGs
            self.model = _compiled_copy(model) if training else _copy(model)
        self.lock = threading.Lock()
        # per-epoch graphs (fits with callbacks of their own) and the whole-fit graph, each by
        # kind of data
        self.epoch_fn = self.eval_fn = self.fit_fn = None
        self.epoch_graphs: dict = {}
        self.fit_graphs: dict = {}
        # seconds per row and epoch of the architecture's last whole-fit call, on any copy
        # (see _epochs_per_call)
        self.seconds_per_row_epoch: float | None = None
        # where the weights that early stopping restores are among the template's variables,
        # and how the whole-fit graph packs the state and those weights
        self.weight_positions = self.state_layout = self.weights_layout = None
        if training:
            variables = self.state_of(self.model, with_optimizer=True)
            self.weight_positions = _compiled_fit.weight_positions(self.model)
            self.state_layout = _compiled_fit.state_layout(variables)
            self.weights_layout = _compiled_fit.weights_layout(variables, self.weight_positions)
        # fits with model-free callbacks trained on the per-epoch path (see _whole_fit_for)
        self.per_epoch_fits = 0
        self.spares: list[_Template] = []
        self.spares_lock = threading.Lock()

    def acquire_free_copy(self) -> _Template:
        """Lock and return this template if it is free, else a free spare copy (made if there
        are fewer than :data:`_MAX_COPIES`), else wait for this one."""
        if self.lock.acquire(blocking=False):
            return self
        with self.spares_lock:
            for spare in self.spares:
                if spare.lock.acquire(blocking=False):
                    return spare
            if len(self.spares) + 1 < _MAX_COPIES:
                spare = _Template(self.model, training=True)
                spare.lock.acquire()
                self.spares.append(spare)
                return spare
        self.lock.acquire()
        return self

    @staticmethod
    def state_of(model, with_optimizer: bool) -> list:
        state = [*model.trainable_variables, *model.non_trainable_variables]
        if with_optimizer:
            state += list(model.optimizer.variables)
        return [variable.value for variable in state]

    def matches(self, model, with_optimizer: bool) -> bool:
        ours, theirs = (self.state_of(m, with_optimizer) for m in (self.model, model))
        return len(ours) == len(theirs) and all(
            a.shape == b.shape and a.dtype == b.dtype for a, b in zip(ours, theirs, strict=True)
        )


def _copy(model):
    return import_keras().models.clone_model(model)


def _compiled_copy(model):
    """An untrained copy of a compiled ``model``, compiled alike, its optimizer built."""
    copy = _copy(model)
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    copy.compile(optimizer=optimizer, loss=model.loss, jit_compile=False)
    optimizer.build(copy.trainable_variables)
    return copy


@contextmanager
def _free_copy(template: _Template):
    """Hold a free copy of ``template`` (see :meth:`_Template.acquire_free_copy`).

    The compiled graphs take a fit's state as their input and hand the trained state back, so
    any copy of the architecture can run any call of any fit.
    """
    copy = template.acquire_free_copy()
    try:
        yield copy
    finally:
        copy.lock.release()


def _assign_all(sources, targets):
    for source, target in zip(sources, targets, strict=True):
        target.assign(source)
    return 0


def _template_for(model, *, training: bool, key: str | None = None) -> _Template | None:
    key = key or _architecture_key(model, training=training)
    if key is None:
        return None
    key = ("train" if training else "predict", key)
    with _templates_lock:
        template = _templates.get(key)
        if template is not None:
            _templates.move_to_end(key)
            return template
    try:
        template = _Template(model, training=training)
    except (TypeError, ValueError):
        # the model cannot be re-created from its config (a Python lambda refused by Keras's
        # safe mode, an unregistered custom function...): use Keras's own loops instead
        return None
    with _templates_lock:
        template = _templates.setdefault(key, template)
        while len(_templates) > _MAX_TEMPLATES:
            _templates.popitem(last=False)
    return template


def clear_templates() -> None:
    """Forget every cached template and compiled graph (frees their memory)."""
    with _templates_lock:
        _templates.clear()


def _cached_template(key: str) -> _Template | None:
    with _templates_lock:
        template = _templates.get(("train", key))
        if template is not None:
            _templates.move_to_end(("train", key))
        return template


# ---------------------------------------------------------------------------------- training
def train(
    model,
    X,
    y,
    *,
    key: str,
    sample_weight,
    validation_data,
    epochs: int,
    initial_epoch: int,
    batch_size: int | None,
    callbacks: list,
    shuffle: bool,
    template_ready=None,
):
    """Train ``model`` like ``Model.fit`` would; return None if no template could be used.

    ``key`` is :func:`training_key`'s answer for this model and these settings. When the only
    callbacks are the estimator's own (:func:`skkeras._compiled_fit.plan`), the whole fit is
    one compiled call; otherwise each epoch is one, with the callbacks run between them.
    Model-free callbacks run between one-epoch calls of the whole-fit graph once that pays
    (:func:`_whole_fit_for`). ``template_ready(key)`` is called once the template is there,
    before training.
    """
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    template = _template_for(model, training=True, key=key)
    if template is None or not template.matches(model, with_optimizer=True):
        return None
    if template_ready is not None:
        template_ready(key)
    data = _tensors(X, y, sample_weight)
    validation = _validation_tensors(validation_data)
    settings = {"epochs": epochs, "batch_size": batch_size or 32, "shuffle": shuffle}
    listeners, others = _model_free_split(callbacks)
    fit_plan = _compiled_fit.plan(others, has_validation=validation is not None)
    kind = _data_kind(data[0], data[1], data[3], validation)
    if listeners and fit_plan is not None and not _whole_fit_for(template, kind):
        template.per_epoch_fits += 1
        fit_plan = None
    if fit_plan is None:
        _run_epochs(
            template, model, data, validation, initial_epoch=initial_epoch, callbacks=callbacks,
            **settings,
        )
        return True
    variables = template.state_of(model, with_optimizer=True)
    layout = template.state_layout
    state = layout.tensors(layout.pack([variable.numpy() for variable in variables]))

    def load(values):
        for variable, value in zip(variables, values, strict=True):
            variable.assign(value)

    after_epoch = _listening(listeners, load, initial_epoch) if listeners else None
    final = _fit_whole(
        template, fit_plan, state, data, validation, initial_epoch, kind=kind,
        after_epoch=after_epoch, interrupted=load, **settings,
    )
    load(final)
    return True


def state_values(model) -> list:
    """NumPy copies of every variable of a compiled ``model``, optimizer's included, in the
    templates' order (the optimizer is built first if it is not yet)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    return [value.numpy().copy() for value in _Template.state_of(model, with_optimizer=True)]


def learning_rate_position(model) -> int | None:
    """Where the optimizer's learning-rate variable is in :func:`state_values`'s order; None if
    it has none (a schedule)."""
    rate = model.optimizer.learning_rate
    variables = [
        *model.trainable_variables, *model.non_trainable_variables, *model.optimizer.variables
    ]
    return next(
        (index for index, variable in enumerate(variables) if variable is rate), None
    )


def load_state(model, values: list, *, with_optimizer: bool = True) -> None:
    """Set every variable of a compiled ``model`` (optimizer included) from ``values``, given
    in :func:`state_values`'s order; without ``with_optimizer``, only the network's weights,
    from the first of ``values`` (the optimizer keeps its fresh state)."""
    if with_optimizer and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    state = _Template.state_of(model, with_optimizer=with_optimizer)
    values = values if with_optimizer else values[: len(state)]
    if [tuple(variable.shape) for variable in state] != [tuple(np.shape(v)) for v in values]:
        raise ValueError("the network's variables do not match the given values")
    for variable, value in zip(state, values, strict=True):
        variable.assign(value)


def train_from_start(
    key: str,
    start,
    X,
    y,
    *,
    sample_weight,
    validation_data,
    epochs: int,
    batch_size: int | None,
    callbacks: list,
    shuffle: bool,
    publish_state=None,
):
    """Train a model of the architecture ``key`` from ``start`` (a
    :class:`~skkeras._reuse.PackedStart`: a state in :func:`state_values`'s order, packed) and
    return the trained state (arrays); None if the architecture's template is gone, its layout
    is not the start's, or the callbacks need a model (nothing happened then).

    The template's compiled fit graph takes the starting state as its input and returns the
    trained one (one call, or a few for a fit of more than about a second): no Keras model is
    involved. :class:`~skkeras.callbacks._model_free.ModelFreeCallback` callbacks need none
    either: once the whole-fit graph pays for them (:func:`_whole_fit_for`; else None), the fit
    runs one epoch per call, hands each epoch's state (arrays) to ``publish_state`` (which
    lets the estimator predict from it) and runs them after it.
    """
    import tensorflow as tf

    template = _cached_template(key)
    if (
        template is None
        or tf.distribute.has_strategy()
        or template.state_layout != start.layout
    ):
        return None
    listeners, others = _model_free_split(callbacks)
    validation = _validation_tensors(validation_data)
    data = _tensors(X, y, sample_weight)
    kind = _data_kind(data[0], data[1], data[3], validation)
    fit_plan = _compiled_fit.plan(others, has_validation=validation is not None)
    if fit_plan is None or (
        listeners and (publish_state is None or not _whole_fit_for(template, kind))
    ):
        return None
    after_epoch = _listening(listeners, publish_state, 0) if listeners else None
    return _fit_whole(
        template, fit_plan, start.vectors, data, validation, 0, kind=kind,
        epochs=epochs, batch_size=batch_size or 32, shuffle=shuffle, after_epoch=after_epoch,
    )


def _whole_fit_for(template, kind: tuple) -> bool:
    """Whether a fit with model-free callbacks runs in the whole-fit graph: once that graph is
    traced for this :func:`_data_kind`, or once the architecture has trained
    :data:`_PER_EPOCH_FITS_FIRST` such fits on the per-epoch path."""
    return kind in template.fit_graphs or template.per_epoch_fits >= _PER_EPOCH_FITS_FIRST


def _model_free_split(callbacks: list) -> tuple[list, list]:
    """``callbacks`` split into the model-free ones (run between one-epoch calls of the whole-fit
    graph) and the others."""
    from .callbacks._model_free import is_model_free

    free, others = [], []
    for callback in callbacks:
        (free if is_model_free(callback) else others).append(callback)
    return free, others


def _listening(listeners: list, publish_state, first_epoch: int):
    """``after_epoch(state, logs) -> stop`` for :func:`_fit_whole`: publish the epoch's state,
    then run every listener's epoch end, as Keras runs every callback before looking at
    ``stop_training``."""
    epoch = [first_epoch]

    def after_epoch(state, logs) -> bool:
        publish_state(state)
        stop = False
        for listener in listeners:
            stop = bool(listener.epoch_ended(epoch[0], dict(logs))) or stop
        epoch[0] += 1
        return stop

    return after_epoch


def _fit_whole(template, fit_plan, state, data, validation, initial_epoch, *, kind, epochs,
               batch_size, shuffle, after_epoch=None, interrupted=None):
    """Run the whole fit in the template's compiled fit graph from ``state`` (tensors packed as
    the template's ``state_layout`` says); hand the epochs' logs to the plan's recorder; return
    the final state (arrays in the templates' order).

    Long fits are split into calls of about :data:`_SECONDS_PER_CALL` each, so that
    ``KeyboardInterrupt`` and other threads' fits of the architecture get a turn between them.
    With ``after_epoch(state, logs) -> stop`` each call is one epoch (``state`` as arrays), and
    training ends early when it answers True. ``kind`` is the data's :func:`_data_kind`.
    If a call or ``after_epoch`` raises, the epochs that ran are recorded and, when at least one
    did, ``interrupted(state)`` gets their state (arrays) before the exception propagates.
    """
    seeds = _epoch_seeds(epochs, shuffle, initial_epoch)
    progress = {  # the state and carry the calls so far reached, and their logs
        "state": state, "carry": _compiled_fit.first_carry(template.weights_layout), "logs": [],
    }
    has_validation = validation is not None
    try:
        _fit_calls(template, progress, data, validation, initial_epoch, kind=kind, epochs=epochs,
                   batch_size=batch_size, shuffle=shuffle, after_epoch=after_epoch, seeds=seeds,
                   rule=_compiled_fit.rule(fit_plan))
    except BaseException:
        if progress["logs"]:
            _compiled_fit.record(fit_plan, initial_epoch, progress["logs"], has_validation)
            if interrupted is not None:
                interrupted(template.state_layout.unpack(progress["state"]))
        raise
    _compiled_fit.record(fit_plan, initial_epoch, progress["logs"], has_validation)
    return _compiled_fit.final_state(
        template.state_layout.unpack(progress["state"]), progress["carry"], fit_plan,
        template.weight_positions, template.weights_layout,
    )


def _fit_calls(template, progress: dict, data, validation, initial_epoch, *, kind, epochs,
               batch_size, shuffle, after_epoch, seeds, rule) -> None:
    """The calls of :func:`_fit_whole`, each one's state, carry and logs put in ``progress``
    once it has returned."""
    X, y, weights, use_weights = data
    done = 0
    while done < epochs:
        count = 1 if after_epoch else _epochs_per_call(template, epochs - done, int(X.shape[0]))
        settings = _compiled_fit.settings(shuffle, batch_size, initial_epoch + done, done, count)
        arguments = (
            progress["state"], X, y, weights, seeds, settings, use_weights, rule, validation,
            progress["carry"],
        )
        with _free_copy(template) as copy, _graph_executor():
            graph = _fit_graph(copy, arguments, kind)
            started = time.perf_counter()
            state, call_logs, stopped, carry = _call_training_graph(graph, *arguments)
            seconds = time.perf_counter() - started
            n_run = int(call_logs[0].shape[0])
            template.seconds_per_row_epoch = seconds / max(1, n_run * int(X.shape[0]))
        progress.update(state=state, carry=carry)
        progress["logs"].append(call_logs)
        done += n_run
        stop_asked = after_epoch is not None and n_run and after_epoch(
            template.state_layout.unpack(state), _epoch_logs(call_logs, validation is not None)
        )
        if stop_asked or bool(stopped):
            break


def _epoch_logs(call_logs, has_validation: bool) -> dict:
    """The logs Keras hands the callbacks at the end of a one-epoch call's epoch."""
    losses, val_losses, _ = call_logs
    logs = {"loss": float(losses.numpy()[0])}
    if has_validation:
        logs["val_loss"] = float(val_losses.numpy()[0])
    return logs


def _epochs_per_call(template, remaining: int, n_rows: int) -> int:
    """How many epochs the next call runs: as many as fit in :data:`_SECONDS_PER_CALL` at the
    architecture's last measured speed; one when it was never measured (the first call also
    prepares the graph, so the estimate then grows over a few calls)."""
    seconds = template.seconds_per_row_epoch
    if seconds is None:
        return 1
    return max(1, min(remaining, int(_SECONDS_PER_CALL / max(seconds * n_rows, 1e-9))))


def _fit_graph(template, arguments, kind: tuple):
    """The template's whole-fit graph for these arguments, of the :func:`_data_kind` ``kind``
    (traced once per architecture and kind of data, for any number of rows; looked up without
    TensorFlow's signature matching, which costs a noticeable share of a small fit)."""
    graph = template.fit_graphs.get(kind)
    if graph is None:
        if template.fit_fn is None:
            model = template.model
            template.fit_fn = tf_function(
                _compiled_fit.make_fit_fn(
                    model, _Template.state_of(model, with_optimizer=True),
                    template.weight_positions, _epoch_trainer(model), _evaluator(model),
                )
            )
        graph = template.fit_graphs[kind] = template.fit_fn.get_concrete_function(
            *_specs(arguments)
        )
    return graph


def _data_kind(X, y, use_weights, validation) -> tuple:
    """What a traced training graph depends on in a fit's data: the types of the arrays with any
    number of rows, and whether sample weights (training and validation) are used."""
    kind = (_spec(X), _spec(y), use_weights)
    if validation is not None:
        kind += (_spec(validation[0]), _spec(validation[1]), validation[3])
    return kind


def _call_training_graph(graph, *arguments):
    """Every compiled training call (an epoch, a validation, a whole fit) goes through here."""
    return graph(*arguments)


def _graph_executor():
    """The context the fast path's graphs are traced and called in: TensorFlow's executor that
    runs every kernel on the calling thread (:data:`_CALLER_THREAD_EXECUTOR`) when only CPUs are
    visible. The setting is the calling thread's own; other TensorFlow work is left alone."""
    if not _cpu_only():
        return nullcontext()
    import tensorflow as tf

    return tf.experimental.function_executor_type(_CALLER_THREAD_EXECUTOR)


@cache
def _cpu_only() -> bool:
    import tensorflow as tf

    return all(device.device_type == "CPU" for device in tf.config.list_physical_devices())


def _epoch_seeds(epochs: int, shuffle: bool, initial_epoch: int):
    """Each epoch's shuffling seed (an ``(epochs, 2)`` int64 tensor), from a generator of the
    running fit's seed and first epoch (fresh entropy outside a fit): never from the global
    generators, which other threads' fits may be using."""
    if not shuffle:
        return _unshuffled_seeds(epochs)
    seed = current_fit_seed()
    if seed is None:
        return _seeds_tensor(_drawn_seeds(None, epochs))
    return _seeded_seeds(seed, initial_epoch, epochs)


# Remembered: a cross-validation's folds share their seed, and drawing the seeds and making
# their tensor costs a tenth of a millisecond a fit.
@lru_cache(maxsize=256)
def _seeded_seeds(seed: int, initial_epoch: int, epochs: int):
    return _seeds_tensor(_drawn_seeds([seed, initial_epoch], epochs))


@lru_cache(maxsize=64)
def _unshuffled_seeds(epochs: int):
    return _seeds_tensor(np.zeros((epochs, 2), dtype=np.int64))


def _seeds_tensor(seeds: np.ndarray):
    import tensorflow as tf

    return tf.constant(seeds)


def _drawn_seeds(entropy, epochs: int) -> np.ndarray:
    generator = np.random.default_rng(entropy)
    return generator.integers(0, 2**31 - 1, size=(epochs, 2), dtype=np.int64)


def _specs(arguments):
    """The whole-fit graph's argument types, data with any number of rows and epochs (so new
    data sizes reuse the traced graph), the state and early-stopping carry as they are."""
    import tensorflow as tf

    def spec(value):
        if isinstance(value, list | tuple):
            return type(value)(spec(item) for item in value)
        if isinstance(value, tf.Tensor) and value.shape.rank:
            return _spec(value)
        return value

    state, *data, carry = arguments
    return [state, *(spec(argument) for argument in data), carry]


def _validation_tensors(validation_data):
    if validation_data is None:
        return None
    return _tensors(*_unpack_validation(validation_data))


def _tensors(X, y, sample_weight):
    import tensorflow as tf

    X = tf.convert_to_tensor(np.asarray(X, dtype=np.float32))
    y = np.asarray(y)
    y = tf.convert_to_tensor(y.astype(np.float32) if y.dtype.kind == "f" else y)
    if sample_weight is None:  # the graphs read no weights then
        return X, y, _no_weights(), False
    return X, y, tf.convert_to_tensor(np.asarray(sample_weight, dtype=np.float32)), True


@cache
def _no_weights():
    """The weights argument of an unweighted fit (never read)."""
    import tensorflow as tf

    return tf.zeros([0], dtype=tf.float32)


@cache
def _flag(value: bool):
    import tensorflow as tf

    return tf.constant(value)


@lru_cache(maxsize=64)
def _int32(value: int):
    import tensorflow as tf

    return tf.constant(value, tf.int32)


def _epoch_graphs(template: _Template, arguments, validation) -> tuple:
    """The template's epoch graph and validation graph (None without validation data) for
    these arguments' types: traced once per architecture and kind of data, for any number of
    rows, then looked up without TensorFlow's signature matching."""
    state, X, y, weights, seed, shuffled, batch, use_weights = arguments
    kind = _data_kind(X, y, use_weights, validation)
    graphs = template.epoch_graphs.get(kind)
    if graphs is None:
        if template.epoch_fn is None:
            template.epoch_fn = _make_epoch_fn(template.model)
            template.eval_fn = tf_function(_evaluator(template.model))
        epoch_graph = template.epoch_fn.get_concrete_function(
            state, _spec(X), _spec(y), _spec(weights), seed, shuffled, batch, use_weights
        )
        eval_graph = None
        if validation is not None:
            val_x, val_y, val_w, val_use = validation
            eval_graph = template.eval_fn.get_concrete_function(
                _spec(val_x), _spec(val_y), _spec(val_w), batch, val_use
            )
        graphs = template.epoch_graphs[kind] = (epoch_graph, eval_graph)
    return graphs


def tf_function(function):
    """``tf.function`` without AutoGraph: the graph bodies write their loops with
    ``tf.while_loop`` themselves, and converting them would cost about half a second per
    process (AutoGraph rewrites each function's source on first use)."""
    import tensorflow as tf

    return tf.function(function, reduce_retracing=True, autograph=False)


def _epoch_trainer(model):
    """The graph body of one epoch of Keras's train step on ``model``:
    ``train_epoch(X, y, weights, seed, shuffle, batch_size, use_weights) -> mean loss``, the
    rows visited in the order ``seed`` shuffles them to (if ``shuffle``)."""
    import tensorflow as tf

    def step(x, y, weights, use_weights):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=weights if use_weights else None,
                training=True,
            )
            scaled = model.optimizer.scale_loss(loss)
        variables = model.trainable_variables
        gradients = tape.gradient(scaled, variables)
        _apply_in_cross_replica_context(model.optimizer, gradients, variables)
        return loss

    def train_epoch(X, y, weights, seed, shuffle, batch_size, use_weights):
        n_samples = tf.shape(X)[0]
        rows = tf.range(n_samples)
        order = tf.where(shuffle, tf.random.experimental.stateless_shuffle(rows, seed), rows)
        n_steps = (n_samples + batch_size - 1) // batch_size

        def train_step(index, total):
            batch = order[index * batch_size : (index + 1) * batch_size]
            batch_weights = tf.gather(weights, batch) if use_weights else None
            loss = step(tf.gather(X, batch), tf.gather(y, batch), batch_weights, use_weights)
            return index + 1, total + tf.cast(loss, tf.float32) * tf.cast(
                tf.shape(batch)[0], tf.float32
            )

        _, total = tf.while_loop(
            lambda index, total: index < n_steps, train_step, (0, tf.constant(0.0, tf.float32))
        )
        return total / tf.cast(n_samples, tf.float32)

    return train_epoch


def _make_epoch_fn(model):
    """One compiled call = one epoch: the estimator's model and optimizer state is copied into
    the template ``model``, trained for an epoch and copied back."""
    train_epoch = _epoch_trainer(model)
    template_state = _Template.state_of(model, with_optimizer=True)

    def epoch(state, X, y, weights, seed, shuffle, batch_size, use_weights):
        _assign_all(state, template_state)
        loss = train_epoch(X, y, weights, seed, shuffle, batch_size, use_weights)
        _assign_all(template_state, state)
        return loss

    return tf_function(epoch)


def _apply_in_cross_replica_context(optimizer, gradients, variables) -> None:
    """``optimizer.apply_gradients`` without the default strategy's gradient all-reduce.

    In a replica context Keras sums the gradients over replicas; with TensorFlow's default
    (single-replica) strategy that sum is the identity, but it is built with a
    ``tf.custom_gradient`` that TensorFlow registers globally, holding the whole traced graph
    forever: one graph lost per traced training loop, megabytes per architecture over a study.
    A merge call applies the update in the cross-replica context, where there is nothing to sum.
    """
    import tensorflow as tf

    def apply(strategy):
        optimizer.apply_gradients(zip(gradients, variables, strict=True))

    tf.distribute.get_replica_context().merge_call(apply)


def _spec(tensor):
    """The tensor's type with any number of rows, so new data sizes reuse the traced graph."""
    import tensorflow as tf

    return tf.TensorSpec([None, *tensor.shape[1:]], tensor.dtype)


def _evaluator(model):
    """The graph body of the mean validation loss (batch losses weighted by batch size, as
    ``Model.evaluate``): ``evaluate(X, y, weights, batch_size, use_weights)``."""
    import tensorflow as tf

    def evaluate(X, y, weights, batch_size, use_weights):
        n_samples = tf.shape(X)[0]
        n_steps = (n_samples + batch_size - 1) // batch_size

        def evaluate_batch(index, total):
            start, stop = index * batch_size, tf.minimum((index + 1) * batch_size, n_samples)
            x = X[start:stop]
            loss = model.compute_loss(
                x=x, y=y[start:stop], y_pred=model(x, training=False),
                sample_weight=weights[start:stop] if use_weights else None, training=False,
            )
            return index + 1, total + tf.cast(loss, tf.float32) * tf.cast(stop - start, tf.float32)

        _, total = tf.while_loop(
            lambda index, total: index < n_steps, evaluate_batch, (0, tf.constant(0.0, tf.float32))
        )
        return total / tf.cast(n_samples, tf.float32)

    return evaluate


def _run_epochs(template, model, data, validation, *, epochs, initial_epoch, batch_size,
                callbacks, shuffle):
    """Train ``model`` one compiled call per epoch, running ``callbacks`` between them."""
    keras = import_keras()
    from .callbacks._history import with_epoch_holders

    X, y, weights, use_weights = data
    callback_list = keras.callbacks.CallbackList(
        with_epoch_holders(callbacks), model=model, epochs=initial_epoch + epochs, steps=None,
        verbose=0,
    )
    model.stop_training = False
    batch, shuffled = _int32(batch_size), _flag(shuffle)
    state = template.state_of(model, with_optimizer=True)
    seeds = _epoch_seeds(epochs, shuffle, initial_epoch)
    arguments = (state, X, y, weights, seeds[0], shuffled, batch, use_weights)

    def run_epoch(seed):
        # An epoch call copies this model's state into a copy of the template, trains and
        # copies it back; validation reads that copy's weights. Holding the copy for exactly
        # that lets fits of one architecture interleave epoch by epoch (folds trained in
        # lockstep, trials in threads) without ever seeing each other's weights.
        with _free_copy(template) as copy, _graph_executor():
            epoch_graph, eval_graph = _epoch_graphs(copy, arguments, validation)
            loss = _call_training_graph(
                epoch_graph, state, X, y, weights, seed, shuffled, batch, use_weights
            )
            logs = {"loss": float(loss)}
            if eval_graph is not None:
                val_x, val_y, val_w, val_use = validation
                val_loss = _call_training_graph(eval_graph, val_x, val_y, val_w, batch, val_use)
                logs["val_loss"] = float(val_loss)
        return logs

    callback_list.on_train_begin()
    for index, epoch in enumerate(range(initial_epoch, initial_epoch + epochs)):
        callback_list.on_epoch_begin(epoch)
        logs = run_epoch(seeds[index])
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()


def _unpack_validation(validation_data):
    if len(validation_data) == 3:
        return validation_data
    return (*validation_data, None)


# ---------------------------------------------------------------------------------- prediction
def forward_function(model):
    """A cached compiled forward pass ``f(X) -> outputs`` for ``model``, or None."""
    cached = _forwards.get(model)
    if cached is not None:
        return cached
    if _switched_off() or not _single_io(model) or _distributed(model):
        return None
    in_numpy = numpy_forward(model)  # any backend
    if in_numpy is not None and enabled():
        forward = _by_size(in_numpy, weakref.ref(model))
    else:
        forward = in_numpy or (_compiled_forward(model) if enabled() else None)
    if forward is not None:
        _forwards[model] = forward
    return forward


def _by_size(small, model_reference):
    """NumPy for small batches (no graph call), the compiled graph (made on first use) for large
    ones. The model is held by a weak reference: the cache must not keep it alive."""
    large = []

    def forward(X):
        if len(X) <= _NUMPY_MAX_ROWS:
            return small(X)
        if not large:
            large.append(_compiled_forward(model_reference()) or small)
        return large[0](X)

    return forward


def _compiled_forward(model):
    template = _template_for(model, training=False)
    if template is None or not template.matches(model, with_optimizer=False):
        return None
    trainable = [variable.value for variable in model.trainable_variables]
    non_trainable = [variable.value for variable in model.non_trainable_variables]
    return _bind(_forward_fn_of(template), trainable, non_trainable, model.inputs[0].shape)


def _forward_fn_of(template: _Template):
    if getattr(template, "forward_fn", None) is None:
        template.forward_fn = _make_forward_fn(template.model)
    return template.forward_fn


def trained_forward(trained):
    """A forward pass ``f(X) -> outputs`` computed from a :class:`~skkeras._reuse.TrainedState`
    (no Keras model of its own), or None when its architecture's template is gone."""
    cached = _trained_forwards.get(trained)
    if cached is not None:
        return cached
    template = _cached_template(trained.key)
    if template is None or _switched_off():
        return None
    model = template.model
    n_trainable = len(model.trainable_variables)
    weights = trained.values[: n_trainable + len(model.non_trainable_variables)]
    by_variable = {
        id(variable): value
        for variable, value in zip(
            [*model.trainable_variables, *model.non_trainable_variables], weights, strict=True
        )
    }
    small = numpy_forward(model, values=by_variable)
    large = []

    def compiled(X):
        if not large:
            import tensorflow as tf

            tensors = [tf.constant(value) for value in weights]
            large.append(
                _bind(
                    _forward_fn_of(template), tensors[:n_trainable], tensors[n_trainable:],
                    model.inputs[0].shape,
                )
            )
        return large[0](X)

    def forward(X):
        if small is not None and len(X) <= _NUMPY_MAX_ROWS:
            return small(X)
        return compiled(X)

    _trained_forwards[trained] = forward
    return forward


def predict_function(model):
    """The fastest correct way to compute ``model``'s outputs for an array of rows."""
    forward = forward_function(model)
    if forward is not None:
        return forward
    if _distributed(model):
        # predict_on_batch would run the whole batch on every replica and concatenate the
        # copies; predict splits the rows between replicas
        return lambda X: model.predict(X, batch_size=256, verbose=0)
    return model.predict_on_batch


def _distributed(model) -> bool:
    """Whether ``model`` was built under a tf.distribute strategy (its variables are mirrored)."""
    if backend_name() != "tensorflow":
        return False
    import tensorflow as tf

    strategy = getattr(model, "distribute_strategy", None)
    return strategy is not None and strategy is not tf.distribute.get_strategy()


def _make_forward_fn(template_model):

    def forward(trainable, non_trainable, x):
        outputs, _ = template_model.stateless_call(trainable, non_trainable, x, training=False)
        return outputs

    return tf_function(forward)


def _bind(forward_fn, trainable, non_trainable, input_shape):
    """``forward_fn`` on these weights (variables or constant tensors)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, *input_shape[1:]], tf.float32)
    # traced for any number of rows, and called directly (no per-call signature matching)
    with _graph_executor():
        graph = forward_fn.get_concrete_function(trainable, non_trainable, spec)

    def forward(X):
        with _graph_executor():
            return graph(trainable, non_trainable, tf.convert_to_tensor(X, dtype=tf.float32))

    return forward
