"""The fast training and prediction paths compute what Keras's own ``fit``/``predict`` compute."""

from __future__ import annotations

import os
from functools import partial

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler

from skkeras import KerasClassifier, KerasMLPClassifier, KerasMLPRegressor, _fastpath, _reuse


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:200], y[:200]


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return X[:150], y[:150] / 100


def _fit_both(monkeypatch, estimator, X, y, **fit_kwargs):
    """Fit a clone with the fast path and one with Keras's ``fit``; return both."""
    from sklearn.base import clone

    calls = []
    real_train = _fastpath.train

    def spy(*args, **kwargs):
        result = real_train(*args, **kwargs)
        calls.append(result)
        return result

    monkeypatch.setattr(_fastpath, "train", spy)
    _reuse.forget_all()  # build the network, as Keras's fit below does
    fast = clone(estimator).fit(X, y, **fit_kwargs)
    assert calls == [True], "the fast path was not used"
    monkeypatch.setenv("SKKERAS_FASTPATH", "0")
    plain = clone(estimator).fit(X, y, **fit_kwargs)
    assert calls == [True], "the plain path used the fast path"
    monkeypatch.delenv("SKKERAS_FASTPATH")
    return fast, plain


def _assert_same_training(fast, plain, X):
    assert fast.n_iter_ == plain.n_iter_
    assert fast.best_epoch_ == plain.best_epoch_
    assert sorted(fast.history_) == sorted(plain.history_)
    for key in plain.history_:
        np.testing.assert_allclose(fast.history_[key], plain.history_[key], rtol=1e-4, atol=1e-6)
    for a, b in zip(fast.model_.get_weights(), plain.model_.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        fast.model_.predict_on_batch(X), plain.model_.predict_on_batch(X), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"dropout": 0.2, "l2": 1e-3},
        {"batch_normalization": True, "optimizer": "sgd"},
    ],
)
def test_fast_training_matches_keras_fit(monkeypatch, iris, params):
    X, y = iris
    estimator = KerasMLPClassifier(
        (8,), epochs=4, batch_size=16, shuffle=False, random_state=0, **params
    )
    fast, plain = _fit_both(monkeypatch, estimator, X, y)
    _assert_same_training(fast, plain, X)


def _optimizer(name):
    """Optimizers (instances, with options) for the compiled loop to match Keras's fit with."""
    import keras

    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=3, decay_rate=0.5)
    return {
        "amsgrad": keras.optimizers.Adam(0.02, amsgrad=True),
        "nesterov": keras.optimizers.SGD(0.05, momentum=0.8, nesterov=True),
        "adam_schedule": keras.optimizers.Adam(schedule),
        "adam_clipnorm": keras.optimizers.Adam(0.02, clipnorm=0.1),
        "rmsprop": keras.optimizers.RMSprop(0.01),
    }[name]


@pytest.mark.parametrize(
    "name", ["amsgrad", "nesterov", "adam_schedule", "adam_clipnorm", "rmsprop"]
)
def test_fast_training_matches_keras_fit_for_each_optimizer(monkeypatch, iris, name):
    X, y = iris
    estimator = KerasMLPClassifier(
        (8,), epochs=4, batch_size=16, shuffle=False, random_state=0, optimizer=_optimizer(name)
    )
    fast, plain = _fit_both(monkeypatch, estimator, X, y)
    _assert_same_training(fast, plain, X)


def test_fast_training_with_weights_and_early_stopping(monkeypatch, cancer):
    X, y = cancer
    weights = np.linspace(0.5, 2.0, len(y))
    estimator = KerasMLPClassifier(
        (6,), epochs=6, batch_size=32, shuffle=False, early_stopping=True, patience=2,
        random_state=1,
    )
    fast, plain = _fit_both(monkeypatch, estimator, X, y, sample_weight=weights)
    assert "val_loss" in fast.history_
    _assert_same_training(fast, plain, X)


@pytest.mark.parametrize("restore", [True, False])
def test_fast_early_stopping_stops_and_restores_like_keras_fit(monkeypatch, cancer, restore):
    X, y = cancer
    estimator = KerasMLPClassifier(
        (6,), epochs=40, batch_size=16, shuffle=False, early_stopping=True, patience=1,
        restore_best_weights=restore, learning_rate=0.05, random_state=3,
    )
    fast, plain = _fit_both(monkeypatch, estimator, X, y)
    assert fast.n_iter_ < 40, "early stopping did not stop: the test checks nothing"
    _assert_same_training(fast, plain, X)


def test_fast_training_regressor_ragged_last_batch(monkeypatch, diabetes):
    X, y = diabetes  # 150 rows, batch 64: the last batch has 22 rows
    estimator = KerasMLPRegressor((5,), epochs=3, batch_size=64, shuffle=False, random_state=2)
    fast, plain = _fit_both(monkeypatch, estimator, X, y)
    _assert_same_training(fast, plain, X)


def test_shuffled_fast_training_is_reproducible(iris):
    X, y = iris
    first = KerasMLPClassifier((8,), epochs=3, random_state=3).fit(X, y)
    second = KerasMLPClassifier((8,), epochs=3, random_state=3).fit(X, y)
    other = KerasMLPClassifier((8,), epochs=3, random_state=4).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert not np.allclose(first.predict_proba(X), other.predict_proba(X))


def test_fast_prediction_matches_model(iris):
    X, y = iris
    clf = KerasMLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    forward = _fastpath.forward_function(clf.model_)
    assert forward is not None
    expected = clf.model_.predict_on_batch(X)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    for n_rows in (1, 7, 150):  # one compiled graph serves every batch size
        np.testing.assert_allclose(
            np.asarray(forward(X[:n_rows])), expected[:n_rows], rtol=1e-6, atol=1e-7
        )


def test_models_in_use_are_not_disturbed(iris):
    """Fits sharing a template leave earlier models (and their predictions) intact."""
    X, y = iris
    first = KerasMLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    before = first.predict_proba(X)
    KerasMLPClassifier((8,), epochs=5, learning_rate=0.05, random_state=1).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), before)
    again = KerasMLPClassifier((8,), epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), before)


def _sequential_classifier(**params):
    from tests._builders import classifier_model

    return KerasClassifier(classifier_model, hidden=9, loss="sparse_categorical_crossentropy",
                           **params)


@pytest.mark.parametrize("make", [KerasMLPClassifier, _sequential_classifier])
def test_fit_reuses_the_template_of_an_architecture(iris, make):
    X, y = iris
    params = {"hidden_layer_sizes": (9,)} if make is KerasMLPClassifier else {}
    make(epochs=1, random_state=0, **params).fit(X, y)
    n_templates = len(_fastpath._templates)
    for seed in range(3):
        make(epochs=1, random_state=seed, **params).fit(X, y)
    assert len(_fastpath._templates) == n_templates


def test_ready_made_networks_reuse_their_variable_names(iris):
    # TensorFlow's runtime keeps a kernel for every variable name it meets, for good: numbered
    # names (dense_57, adam_12) would add a few hundred KiB per fit to the process. (Dropout's
    # seed generator is numbered by Keras with no way to name it; the periodic cache reset of
    # skkeras._keras.set_keras_seed bounds that one.)
    X, y = iris

    def names(estimator):
        model = estimator.fit(X, y).model_
        variables = [*model.variables, *model.optimizer.variables]
        return [v.value.name for v in variables if not v.path.startswith("seed_generator")]

    for params in [{"dropout": 0.1, "batch_normalization": True, "activation": "swish"},
                   {"activation": "prelu", "optimizer": "sgd"}]:
        first = names(KerasMLPClassifier((4, 3), epochs=1, **params))
        assert names(KerasMLPClassifier((4, 3), epochs=1, **params)) == first


def test_fast_fits_leave_tensorflow_global_seed_alone(monkeypatch, iris):
    """A user's own seeded TensorFlow random sequence is not reset by a fit in between."""
    import itertools

    import tensorflow as tf

    from skkeras import _keras

    monkeypatch.setattr(_keras, "_fits", itertools.count(1))  # not the periodic cache reset
    X, y = iris
    tf.random.set_seed(123)
    expected = [tf.random.uniform([3]).numpy() for _ in range(2)]
    tf.random.set_seed(123)
    first = tf.random.uniform([3]).numpy()
    KerasMLPClassifier((4,), epochs=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal([first, tf.random.uniform([3]).numpy()], expected)


def test_keras_fit_path_is_reproducible(monkeypatch, iris):
    monkeypatch.setenv("SKKERAS_FASTPATH", "0")
    X, y = iris

    def proba(seed):
        estimator = KerasMLPClassifier((6,), epochs=3, batch_size=16, random_state=seed)
        return estimator.fit(X, y).predict_proba(X)

    np.testing.assert_array_equal(proba(5), proba(5))
    assert not np.allclose(proba(5), proba(6))


def _traced_graphs() -> list:
    import gc

    gc.collect()
    return [obj for obj in gc.get_objects() if type(obj).__name__.endswith("FuncGraph")]


@pytest.mark.parametrize("activation", ["relu", "swish"])
def test_forgotten_templates_free_their_traced_graphs(iris, activation):
    # TensorFlow registers a gradient function, holding the whole traced training loop, for
    # every tf.custom_gradient it traces (Keras's gradient all-reduce, tf.nn.silu); the fast
    # path and the built-in networks must not use one, or the graphs of every architecture a
    # study tried stay in memory for good.
    X, y = iris
    _fastpath.clear_templates()
    before = _traced_graphs()  # held here, so that only this test's graphs are counted below

    def new_graphs():
        known = {id(graph) for graph in before}
        return [graph for graph in _traced_graphs() if id(graph) not in known]

    for width in (5, 6, 7):
        estimator = KerasMLPClassifier(
            (width,), activation=activation, epochs=2, random_state=0
        ).fit(X, y)
        estimator.predict(np.repeat(X, 5, axis=0))  # beyond the NumPy forward: compiled
        del estimator
    assert new_graphs()  # the templates hold their graphs...
    _fastpath.clear_templates()
    assert new_graphs() == []  # ...and nothing else does


@pytest.mark.parametrize(
    "per_epoch_fits_first, expected",
    [
        (0, [("built", True), ("from start", True), ("from start", True)]),
        # the first fits of an architecture take the per-epoch path: the later folds find the
        # first one's start, but build their network
        (100, [("built", True), ("from start", False), ("built", True), ("from start", False),
               ("built", True)]),
    ],
    ids=["whole_fit", "per_epoch"],
)
def test_folds_in_lockstep_share_the_fast_path(monkeypatch, iris, per_epoch_fits_first, expected):
    # Pruning trains a trial's folds in lockstep, epoch by epoch, in threads: every fold must
    # still take a compiled path (building the network, or starting from the first fold's
    # remembered state), and interleaving must not mix the folds' weights.
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    from skkeras import _reuse
    from skkeras.model_selection import OptunaSearchCV

    X, y = iris
    results = []
    real_train, real_train_from_start = _fastpath.train, _fastpath.train_from_start

    def spy(*args, **kwargs):
        results.append(("built", real_train(*args, **kwargs) is True))
        return results[-1][1]

    def spy_from_start(*args, **kwargs):
        values = real_train_from_start(*args, **kwargs)
        results.append(("from start", values is not None))
        return values

    monkeypatch.setattr(_fastpath, "train", spy)
    monkeypatch.setattr(_fastpath, "train_from_start", spy_from_start)
    monkeypatch.setattr(_fastpath, "_PER_EPOCH_FITS_FIRST", per_epoch_fits_first)
    _fastpath.clear_templates()  # no whole-fit graph traced by an earlier test
    _reuse.forget_all()
    estimator = KerasMLPClassifier(
        (7,), epochs=4, learning_rate=0.05, shuffle=False, patience=None, random_state=0
    )
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    search = OptunaSearchCV(
        estimator, {"batch_size": [16]}, n_trials=1, cv=cv, pruner="median", refit=False
    ).fit(X, y)
    assert sorted(results) == sorted(expected)  # in the order the folds' calls returned
    in_lockstep = [search.cv_results_[f"split{k}_test_score"][0] for k in range(3)]
    one_by_one = cross_val_score(estimator.set_params(batch_size=16), X, y, cv=cv)
    np.testing.assert_allclose(in_lockstep, one_by_one)


def test_metrics_and_batch_callbacks_take_keras_fit(iris):
    import keras

    X, y = iris

    def build(meta):
        model = keras.Sequential(
            [keras.Input((meta["n_features_in_"],)), keras.layers.Dense(meta["n_classes_"])]
        )
        return model

    class BatchCounter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.n_batches = getattr(self.model, "n_batches", 0) + 1

    with_metrics = KerasClassifier(build, loss="sparse_categorical_crossentropy",
                                   metrics=["accuracy"], epochs=2, random_state=0).fit(X, y)
    assert "accuracy" in with_metrics.history_
    counted = KerasClassifier(build, loss="sparse_categorical_crossentropy",
                              callbacks=[BatchCounter()], epochs=2, batch_size=50,
                              random_state=0).fit(X, y)
    assert counted.model_.n_batches >= 2


@pytest.mark.parametrize(
    "params",
    [
        {"activation": "tanh"},
        {"activation": "elu", "batch_normalization": True},
        {"activation": "prelu", "dropout": 0.3},
        {"activation": "leaky_relu"},
        {"activation": "gelu"},
        {"activation": "selu"},
        {"activation": "softplus"},
        {"activation": "swish"},
        {"activation": "softmax"},
    ],
)
def test_numpy_forward_matches_the_model(iris, params):
    from skkeras._numpy_forward import numpy_forward

    X, y = iris
    clf = KerasMLPClassifier((6, 5), epochs=3, random_state=0, **params).fit(X, y)
    forward = numpy_forward(clf.model_)
    assert forward is not None
    expected = np.asarray(clf.model_.predict_on_batch(X))
    np.testing.assert_allclose(forward(X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("first", ["relu", "softmax", "tanh", "sigmoid", "batch_normalization"])
def test_numpy_forward_leaves_the_input_alone(iris, first):
    """Activations overwrite the arrays the forward pass made, never the caller's."""
    import keras

    from skkeras._numpy_forward import numpy_forward

    X = iris[0]
    layer = (
        keras.layers.BatchNormalization()
        if first == "batch_normalization"
        else keras.layers.Activation(first)
    )
    model = keras.Sequential([
        keras.Input((4,)), layer, keras.layers.Dense(5), keras.layers.Activation("relu"),
        keras.layers.Activation("softmax"),
    ])
    X_copy = X.copy()
    forward = numpy_forward(model)
    np.testing.assert_allclose(
        forward(X), np.asarray(model.predict_on_batch(X)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(X, X_copy)


def test_numpy_forward_regressor_and_binary(cancer, diabetes):
    X, y = diabetes
    reg = KerasMLPRegressor((4,), epochs=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(
        reg.predict(X), np.asarray(reg.model_.predict_on_batch(X)).ravel(), rtol=1e-5, atol=1e-5
    )
    X, y = cancer
    clf = KerasMLPClassifier((4,), epochs=2, random_state=0).fit(X, y)
    expected = np.asarray(clf.model_.predict_on_batch(X)).ravel()
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], expected, rtol=1e-5, atol=1e-6)


def test_numpy_forward_sees_new_weights(iris):
    """Weights are read at every call: changing them changes the predictions."""
    X, y = iris
    clf = KerasMLPClassifier((6,), epochs=2, random_state=0).fit(X, y)
    clf.predict_proba(X)  # caches the forward function
    weights = [np.zeros_like(w) for w in clf.model_.get_weights()]
    clf.model_.set_weights(weights)
    np.testing.assert_allclose(clf.predict_proba(X), 1 / 3, rtol=1e-6)


def test_non_chain_model_uses_the_compiled_forward(iris):
    import keras

    from skkeras._numpy_forward import numpy_forward

    X, y = iris

    def build(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        hidden = keras.layers.Dense(5, activation="relu")(inputs)
        merged = keras.layers.Concatenate()([inputs, hidden])  # a skip connection
        return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(merged))

    clf = KerasClassifier(build, loss="sparse_categorical_crossentropy", epochs=2,
                          random_state=0).fit(X, y)
    assert numpy_forward(clf.model_) is None
    assert _fastpath.forward_function(clf.model_) is not None
    np.testing.assert_allclose(
        clf.predict_proba(X), clf.model_.predict_on_batch(X), rtol=1e-6, atol=1e-7
    )


def _threads_in_fresh_process(**env):
    import os
    import subprocess
    import sys

    code = (
        "import skkeras._keras as k; k.import_keras(); import tensorflow as tf; "
        "print(tf.config.threading.get_intra_op_parallelism_threads(), "
        "tf.config.threading.get_inter_op_parallelism_threads())"
    )
    environment = {
        key: value for key, value in os.environ.items()
        if key not in {"OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS",
                       "KERAS_BACKEND"}
    }
    completed = subprocess.run(
        [sys.executable, "-c", code], env={**environment, **env}, capture_output=True,
        text=True, check=True,
    )
    return completed.stdout.split()


@pytest.mark.slow
def test_tensorflow_threads_follow_the_joblib_budget():
    assert _threads_in_fresh_process(OMP_NUM_THREADS="1") == ["1", "1"]
    assert _threads_in_fresh_process(OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="2") == [
        "2", "1"
    ]
    assert _threads_in_fresh_process() == ["0", "0"]  # no budget: TensorFlow's defaults


def test_psutil_is_a_dependency():
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    unconditional = {
        requirement.name for requirement in map(Requirement, requires("skkeras"))
        if requirement.marker is None
    }
    assert "psutil" in unconditional


#: Runs six tasks, one after the other, in one joblib worker process (2 s in all) and prints
#: how many full garbage collections the worker ran after the first task started.
_WORKER_COLLECTIONS = """
import gc, time
from joblib.externals.loky import get_reusable_executor

def start_counting():
    def counter(phase, info):
        counter.full += phase == "start" and info["generation"] == 2
    counter.full = 0
    gc.callbacks.append(counter)

def count():
    return sum(getattr(callback, "full", 0) for callback in gc.callbacks)

executor = get_reusable_executor(max_workers=1)
executor.submit(start_counting).result()
for _ in range(4):
    executor.submit(time.sleep, 0.5).result()
print(executor.submit(count).result())
executor.shutdown()
"""


def _full_collections_in_a_worker(hide_psutil: bool, tmp_path) -> int:
    import subprocess
    import sys

    environment = dict(os.environ)
    if hide_psutil:
        (tmp_path / "psutil.py").write_text("raise ImportError('hidden by the test')\n")
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(tmp_path), *filter(None, [environment.get("PYTHONPATH")])]
        )
    completed = subprocess.run([sys.executable, "-c", _WORKER_COLLECTIONS], env=environment,
                               capture_output=True, text=True, check=True)
    return int(completed.stdout.split()[-1])


@pytest.mark.slow
def test_joblib_workers_check_memory_without_full_collections(tmp_path):
    """With psutil, a joblib worker process measures its memory after its tasks; without it, it
    runs a full garbage collection after a task every second, 0.2 s each once TensorFlow is
    loaded (``benchmarks/README.md``), which is why psutil is a dependency."""
    # one collection: joblib's reference measurement of the worker's memory after its first task
    assert _full_collections_in_a_worker(hide_psutil=False, tmp_path=tmp_path) <= 1
    assert _full_collections_in_a_worker(hide_psutil=True, tmp_path=tmp_path) >= 2


def test_import_skkeras_defers_heavy_imports():
    import subprocess
    import sys

    code = (
        "import sys, skkeras; heavy = {'sklearn', 'keras', 'tensorflow', 'scipy'}; "
        "print(sorted(heavy & set(sys.modules))); "
        "print(skkeras.KerasMLPClassifier.__name__, 'sklearn' in sys.modules)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.split("\n")[:2] == ["[]", "KerasMLPClassifier True"]


def test_lazy_public_names():
    import skkeras

    assert set(skkeras.__all__) <= set(dir(skkeras))
    with pytest.raises(AttributeError, match="no attribute 'NotThere'"):
        skkeras.NotThere  # noqa: B018


@pytest.mark.slow
def test_no_tensorflow_banner_on_stderr():
    import subprocess
    import sys

    code = (
        "import skkeras._keras as k; keras = k.import_keras(); "
        "print(float(keras.ops.sum(keras.ops.ones((2, 2)))))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "4.0"
    assert "oneDNN custom operations" not in completed.stderr
    assert "absl::InitializeLog" not in completed.stderr


@pytest.mark.slow
def test_no_retracing_warnings_when_keras_was_imported_first():
    import subprocess
    import sys

    code = (
        "import keras, numpy as np\n"
        "from skkeras import KerasMLPClassifier\n"
        "X = np.random.rand(300, 5).astype('float32'); y = np.arange(300) % 3\n"
        "for seed in range(3):\n"
        "    clf = KerasMLPClassifier((8,), epochs=1, random_state=seed).fit(X, y)\n"
        "    for n in (1, 100, 250, 7, 33): clf.predict(X[:n])\n"
    )
    env = {**os.environ, "SKKERAS_FASTPATH": "0"}  # Keras's own fit and predict
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, env=env)
    assert "retracing" not in completed.stderr


def test_large_batches_use_the_compiled_forward(iris, monkeypatch):
    X, y = iris
    monkeypatch.setattr(_fastpath, "_NUMPY_MAX_ROWS", 10)
    clf = KerasMLPClassifier((8,), epochs=1, random_state=0).fit(X, y)
    expected = np.asarray(clf.model_.predict_on_batch(X))
    np.testing.assert_allclose(clf.predict_proba(X[:5]), expected[:5], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(clf.predict_proba(X[:77]), expected[:77], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "params",
    [
        {"early_stopping": True, "patience": 2, "restore_best_weights": True},
        {"early_stopping": True, "patience": 1, "min_delta": 0.01},
        {"patience": 1, "min_delta": 0.02},  # stop on the training loss
        {"patience": None, "batch_normalization": True, "dropout": 0.2},
    ],
)
def test_whole_fit_in_one_call_matches_the_per_epoch_loop(cancer, params):
    """A fit with only the estimator's own callbacks is one compiled call, its early stopping
    decided in the graph; a user's callback makes it one call per epoch, the callbacks run in
    Python. Both train the same epochs (shuffled, weighted) and stop at the same one."""
    X, y = cancer
    weights = np.linspace(0.5, 2.0, len(y))
    estimator = KerasMLPClassifier(
        (6,), epochs=30, batch_size=16, learning_rate=0.05, random_state=0, **params
    )
    _reuse.forget_all()
    whole = clone(estimator).fit(X, y, sample_weight=weights)
    callback = _EpochCallback
    per_epoch = clone(estimator).set_params(callbacks=[callback]).fit(X, y, sample_weight=weights)
    if params["patience"] is not None:
        assert whole.n_iter_ < 30, "early stopping did not stop: the test checks nothing"
    assert whole.n_iter_ == per_epoch.n_iter_
    assert whole.best_epoch_ == per_epoch.best_epoch_
    assert sorted(whole.history_) == sorted(per_epoch.history_)
    for key, values in per_epoch.history_.items():
        np.testing.assert_allclose(whole.history_[key], values, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        whole.predict_proba(X), per_epoch.predict_proba(X), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    "params",
    [
        {"early_stopping": True, "patience": 3, "restore_best_weights": True},
        {"patience": 2, "min_delta": 0.02},
    ],
)
def test_a_fit_split_over_several_calls_trains_as_one_call(monkeypatch, cancer, params):
    """Long fits run in calls of about a second (Ctrl-C and other threads get a turn between
    them), early stopping's state carried from one call to the next."""
    X, y = cancer
    estimator = KerasMLPClassifier(
        (6,), epochs=30, batch_size=16, learning_rate=0.05, random_state=0, **params
    )
    _reuse.forget_all()
    one_call = clone(estimator).fit(X, y)
    calls = []
    real_call = _fastpath._call_training_graph

    def spy(graph, *arguments):
        result = real_call(graph, *arguments)
        calls.append(int(result[1][0].shape[0]))  # the epochs this call ran (its losses)
        return result

    monkeypatch.setattr(_fastpath, "_call_training_graph", spy)
    monkeypatch.setattr(_fastpath, "_SECONDS_PER_CALL", 1e-9)  # one epoch per call
    _reuse.forget_all()
    split = clone(estimator).fit(X, y)
    assert len(calls) == split.n_iter_ > 1 and set(calls) == {1}
    assert split.n_iter_ == one_call.n_iter_ < 30, "early stopping did not stop"
    assert split.best_epoch_ == one_call.best_epoch_
    for key, values in one_call.history_.items():
        np.testing.assert_allclose(split.history_[key], values, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        split.predict_proba(X), one_call.predict_proba(X), rtol=1e-5, atol=1e-6
    )


def test_whole_fit_stops_after_a_diverged_epoch(iris):
    from skkeras import TrainingDivergedError

    X, y = iris
    X = X * 1e30  # the loss overflows at once
    for callbacks in (None, [_EpochCallback]):
        estimator = KerasMLPClassifier(
            (6,), epochs=5, random_state=0, optimizer="sgd", learning_rate=1e3,
            callbacks=callbacks,
        )
        with pytest.raises(TrainingDivergedError, match="at epoch 1"):
            estimator.fit(X, y)


class _EpochCallback(keras.callbacks.Callback):
    """An epoch-level callback of the user's: the fit runs one compiled call per epoch."""

    def __init__(self):
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


@pytest.mark.parametrize(("callbacks", "graph"), [(None, "fit_fn"), ([_EpochCallback], "epoch_fn")])
def test_new_data_sizes_do_not_retrace(iris, callbacks, graph):
    """Fits on different numbers of rows (CV folds) reuse one traced graph."""
    X, y = iris
    make = partial(KerasMLPClassifier, (7,), epochs=1, random_state=0, callbacks=callbacks)
    make().fit(X, y)
    key = next(key for key in reversed(_fastpath._templates) if key[0] == "train")
    function = getattr(_fastpath._templates[key], graph)
    traced = function.experimental_get_tracing_count()
    for n_rows in (100, 120, 149):
        _reuse.forget_all()
        make().fit(X[:n_rows], y[:n_rows])
        make().fit(X[:n_rows], y[:n_rows])  # from the remembered start (no callbacks only)
    assert function.experimental_get_tracing_count() == traced


class _Halving(keras.layers.Layer):
    """A layer with control flow in its graph: halve the inputs while their norm exceeds 10."""

    def call(self, inputs):
        def shrink(_, x):
            return keras.ops.cond(keras.ops.norm(x) > 10.0, lambda: x / 2.0, lambda: x)

        return keras.ops.fori_loop(0, 3, shrink, inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


def _control_flow_model(meta):
    inputs = keras.Input((meta["n_features_in_"],))
    hidden = keras.layers.Dense(8, activation="relu")(_Halving(name="halving")(inputs * 10.0))
    return keras.Model(inputs, keras.layers.Dense(meta["n_classes_"], activation="softmax")(hidden))


def test_fast_training_of_a_model_with_control_flow_matches_keras_fit(monkeypatch, iris):
    """The fast path's graphs run on the calling thread; a model's own loops and conditions
    (functional control flow in its graph) train and predict as with Keras's fit."""
    X, y = iris
    estimator = KerasClassifier(
        _control_flow_model, loss="sparse_categorical_crossentropy", epochs=3, shuffle=False,
        random_state=0,
    )
    fast, plain = _fit_both(monkeypatch, estimator, X, y)
    _assert_same_training(fast, plain, X)
    assert _fastpath.forward_function(fast.model_) is not None
    np.testing.assert_allclose(
        fast.predict_proba(X), plain.model_.predict_on_batch(X), rtol=1e-4, atol=1e-5
    )


def test_users_compiled_functions_run_in_callbacks_between_epochs(iris):
    """The executor the fast path runs its graphs with is set only around its own calls: a
    function the user compiled before (its loop built for TensorFlow's default executor) still
    runs in a callback between epochs, and after the fit."""
    import tensorflow as tf

    @tf.function
    def count_to(n):
        return tf.while_loop(lambda i: i < n, lambda i: i + 1, [0])[0]

    class CallsUsersFunction(keras.callbacks.Callback):
        results = []  # a class attribute: the estimator trains with a copy of the callback

        def on_epoch_end(self, epoch, logs=None):
            self.results.append(int(count_to(3)))

    assert int(count_to(3)) == 3
    X, y = iris
    KerasMLPClassifier((5,), epochs=3, random_state=0, callbacks=[CallsUsersFunction()]).fit(X, y)
    assert CallsUsersFunction.results == [3, 3, 3]
    assert int(count_to(tf.constant(4))) == 4


@pytest.mark.parametrize("callbacks", [None, [_EpochCallback]])
def test_both_executors_train_alike(monkeypatch, iris, callbacks):
    """On machines with GPUs the fast path keeps TensorFlow's default executor; it trains and
    predicts exactly as the caller-thread executor used on CPUs."""
    X, y = iris
    make = partial(KerasMLPClassifier, (7,), epochs=3, random_state=0, callbacks=callbacks)
    results = []
    for cpu_only in (True, False):
        monkeypatch.setattr(_fastpath, "_cpu_only", lambda cpu_only=cpu_only: cpu_only)
        _fastpath.clear_templates()
        _reuse.forget_all()
        estimator = make().fit(X, y)
        results.append((estimator.history_["loss"], estimator.model_.get_weights()))
    (loss_cpu, weights_cpu), (loss_default, weights_default) = results
    np.testing.assert_array_equal(loss_cpu, loss_default)
    for cpu, default in zip(weights_cpu, weights_default, strict=True):
        np.testing.assert_array_equal(cpu, default)
