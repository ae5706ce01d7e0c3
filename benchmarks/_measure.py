"""Measure every library on one table, in this one process (``python -m benchmarks._measure``).

Libraries are measured in the order of ``_libs.LIBRARIES``; scikeras comes last because
importing it changes Keras for the rest of the process.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from . import _libs

PREDICT_ROWS = (1, 100, 10_000)


def load_table(name: str):
    """``(X_train, X_test, y_train, y_test)`` as float32 / int arrays."""
    from sklearn.datasets import load_breast_cancer, load_digits, make_classification
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if name == "synthetic":
        X, y = make_classification(
            25_000, 40, n_informative=20, n_classes=3, random_state=0
        )
    elif name == "digits":
        X, y = load_digits(return_X_y=True)
    elif name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
    else:
        raise ValueError(f"table must be synthetic, digits or breast_cancer; got {name!r}.")
    test_size = 5_000 if name == "synthetic" else 0.25
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=0, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    return (
        scaler.transform(X_train).astype(np.float32),
        scaler.transform(X_test).astype(np.float32),
        y_train,
        y_test,
    )


def summary(values) -> dict:
    values = [float(value) for value in values]
    return {
        "median": float(np.median(values)),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def cpu_seconds() -> float:
    """This process's CPU time so far (user and system, all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


def measure_fits(library, data, epochs, repeats):
    X_train, X_test, y_train, y_test = data
    times, scores, model = [], [], None
    for seed in range(repeats + 1):  # the first fit of an architecture is reported apart
        model = _libs.make(library, epochs, seed)
        start = time.perf_counter()
        model.fit(X_train, y_train)
        times.append(time.perf_counter() - start)
        scores.append(model.score(X_test, y_test))
    steady = times[1:]
    return model, {
        "first_fit_s": times[0],
        "fit_s": summary(steady),
        "epoch_ms": summary([1000 * t / epochs for t in steady]),
        "accuracy": summary(scores),
    }


def measure_predict(model, X_test, calls):
    result = {}
    for n_rows in PREDICT_ROWS:
        X = np.resize(X_test, (n_rows, X_test.shape[1]))
        model.predict(X)  # warm-up (compiles graphs where there are any)
        times = []
        for _ in range(calls if n_rows < 10_000 else max(5, calls // 20)):
            start = time.perf_counter()
            model.predict(X)
            times.append(1000 * (time.perf_counter() - start))
        result[f"{n_rows}_rows_ms"] = summary(times)
    return result


def measure_cv(library, data, epochs):
    from sklearn.model_selection import KFold, cross_validate

    X_train, _, y_train, _ = data
    start = time.perf_counter()
    if library == "keras":
        fold_times = []
        for train, _test in KFold(5, shuffle=True, random_state=0).split(X_train):
            fold_start = time.perf_counter()
            _libs.make(library, epochs).fit(X_train[train], y_train[train])
            fold_times.append(time.perf_counter() - fold_start)
    else:
        with _training_step_timer(library) as step_times:
            fold_times = cross_validate(
                _libs.make(library, epochs), X_train, y_train,
                cv=KFold(5, shuffle=True, random_state=0),
            )["fit_time"]
    result = {
        "total_s": time.perf_counter() - start,
        "first_fold_fit_s": float(fold_times[0]),
        "later_folds_fit_s": summary(fold_times[1:]),
    }
    if library == "keras" or not step_times:
        return result
    # fit time of folds 2-5 over the time their compiled training calls took (pure training)
    ratios = [fit / steps for fit, steps in zip(fold_times[1:], step_times[1:], strict=True)]
    result["later_folds_steps_s"] = summary(step_times[1:])
    result["later_folds_fit_over_steps"] = summary(ratios)
    return result


@contextlib.contextmanager
def _training_step_timer(library):
    """For skkeras's fast path: seconds each fit spent in its compiled training calls (the whole
    fit in one call, or one call per epoch and validation)."""
    per_fit: list[float] = []
    if library != "skkeras":
        yield per_fit
        return
    from skkeras import _fastpath

    real_call, real_train, real_train_from_start = (
        _fastpath._call_training_graph, _fastpath.train, _fastpath.train_from_start
    )
    current = [0.0]

    def timed_call(*args):
        start = time.perf_counter()
        try:
            return real_call(*args)
        finally:
            current[0] += time.perf_counter() - start

    def per_fit_of(train):  # the fast path's entry points, one call per fit
        def call(*args, **kwargs):
            current[0] = 0.0
            result = train(*args, **kwargs)
            per_fit.append(current[0])
            return result

        return call

    _fastpath._call_training_graph = timed_call
    _fastpath.train = per_fit_of(real_train)
    _fastpath.train_from_start = per_fit_of(real_train_from_start)
    try:
        yield per_fit
    finally:
        _fastpath._call_training_graph, _fastpath.train, _fastpath.train_from_start = (
            real_call, real_train, real_train_from_start
        )


GRID = {
    "sklearn": ("learning_rate_init", "batch_size"),
    "skkeras": ("learning_rate", "batch_size"),
    "scikeras": ("optimizer__learning_rate", "batch_size"),
}


#: The libraries whose grid searches each table measures (not ``--quick`` for ``synthetic``):
#: on the 20k-row table a search takes about 7 s in one process, long enough for joblib's
#: fixed costs to weigh little. scikit-learn's (about 20 s, some 7 minutes of the run) is the
#: reference for what two worker processes that compute get from the machine's two cores.
GRID_TABLES = {"digits": set(GRID), "synthetic": {"skkeras", "sklearn"}}
#: Libraries whose searches are also run over a stand-in (``_stand_in.StandIn``) that spends
#: the same time per fit and score: the most speed-up joblib allows a search of that size.
STAND_IN = {"sklearn", "skkeras"}


def search_grid(library: str, quick: bool = False) -> dict:
    """The benchmark's grid in ``library``'s parameter names: two learning rates and two batch
    sizes (4 candidates), or the learning rates alone (2) when ``quick``."""
    rate, batch = GRID[library]
    grid = {rate: [1e-3, 3e-3]}
    if not quick:
        grid[batch] = [32, 64]
    return grid


def grid_turns(one_search_s: float) -> int:
    """Turns of the repeated searches: 10 for a search under 2 s in one process, down to 3 for
    longer ones (the shorter the search, the more the machine's noise and joblib's fixed
    costs weigh on one turn's ratio, and the cheaper more turns are)."""
    return max(3, min(10, int(20.0 / one_search_s)))


def measure_grid(library, data, epochs, quick):
    """``GridSearchCV(cv=3)`` with ``n_jobs=1`` and ``n_jobs=2`` (joblib's worker processes, and
    two threads of this process), each first called once (starting the workers, tracing, making
    the threads' copies) and then again, ``repeats`` times in turns so that the machine's load
    weighs on every setting alike. For ``STAND_IN`` libraries each turn also runs the search
    over a stand-in that spends the time the turn's ``n_jobs=1`` search measured, with
    ``n_jobs=1`` and ``n_jobs=2``."""
    from joblib import parallel_config
    from joblib.externals.loky import get_reusable_executor
    from sklearn.model_selection import GridSearchCV
    from threadpoolctl import threadpool_limits

    from ._stand_in import StandIn, seconds_of

    if library not in GRID:
        return None
    X_train, _, y_train, _ = data
    grid = search_grid(library, quick)

    def search(estimator, n_jobs=1, backend="loky", blas_threads=None, refit=True):
        searcher = GridSearchCV(estimator, grid, cv=3, n_jobs=n_jobs, refit=refit)
        limit = (threadpool_limits(blas_threads, user_api="blas") if blas_threads
                 else contextlib.nullcontext())
        start = time.perf_counter()
        with parallel_config(backend=backend), limit:
            searcher.fit(X_train, y_train)
        return time.perf_counter() - start, searcher

    settings = {
        "n_jobs_1": {},
        "n_jobs_2": {"n_jobs": 2},
        # two threads of this process: no workers to start; the fits run in parallel wherever
        # they release the GIL
        "threads_2": {"n_jobs": 2, "backend": "threading"},
        # the same with one BLAS thread per search thread (docs/performance.md, "Searching in
        # threads"): NumPy's idle BLAS threads otherwise spin after each product
        "threads_2_blas_1": {"n_jobs": 2, "backend": "threading", "blas_threads": 1},
    }
    if library in STAND_IN:
        # the cross-validation alone, without the refit that runs in the calling process after
        # it: how well the parallel part scales
        settings["no_refit_1"] = {"refit": False}
        settings["no_refit_2"] = {"n_jobs": 2, "refit": False}
    result = {}
    # fresh workers: those of an earlier library would be restarted anyway, by loky's
    # memory-leak check, once TensorFlow's import grows them by more than 300 MB
    get_reusable_executor().shutdown(wait=True)
    for name in ("n_jobs_1", "n_jobs_2", "threads_2"):
        seconds, searcher = search(_libs.make(library, epochs), **settings[name])
        result[f"{name}_first_s"] = seconds
        result["n_candidates"] = len(searcher.cv_results_["params"])
    again = {name: [] for name in settings}
    stand_in = {"stand_in_1": [], "stand_in_2": []} if library in STAND_IN else {}
    for _ in range(1 if quick else grid_turns(result["n_jobs_1_first_s"])):
        for name, setting in settings.items():
            seconds, searcher = search(_libs.make(library, epochs), **setting)
            again[name].append(seconds)
            if name == "n_jobs_1" and stand_in:
                measured = StandIn(seconds_of(searcher), len(X_train))
                stand_in["stand_in_1"].append(search(measured)[0])
                stand_in["stand_in_2"].append(search(measured, n_jobs=2)[0])
    again.update(stand_in)
    for name, seconds in again.items():
        result[f"{name}_again_s"] = summary(seconds)
    result["speedup_first"] = result["n_jobs_1_first_s"] / result["n_jobs_2_first_s"]
    result["threads_speedup_first"] = result["n_jobs_1_first_s"] / result["threads_2_first_s"]
    pairs = [("n_jobs_1", "n_jobs_2", "speedup"), ("n_jobs_1", "threads_2", "threads_speedup"),
             ("n_jobs_1", "threads_2_blas_1", "threads_blas_1_speedup")]
    if stand_in:
        pairs += [("stand_in_1", "stand_in_2", "stand_in_speedup"),
                  ("no_refit_1", "no_refit_2", "no_refit_speedup")]
    for one, other, key in pairs:
        result[key] = (result[f"{one}_again_s"]["median"]
                       / result[f"{other}_again_s"]["median"])
        # each repeat's ratio to the n_jobs=1 search of the same turn
        result[f"{key}_per_repeat"] = summary(
            [a / b for a, b in zip(again[one], again[other], strict=True)]
        )
    return result


def measure_memory(library, data, rounds, epochs):
    from sklearn.base import clone

    X_train, _, y_train, _ = data
    template = _libs.make(library, epochs)
    readings = []
    for index in range(rounds):
        model = clone(template) if library != "keras" else _libs.make(library, epochs, index)
        model.fit(X_train, y_train)
        del model
        gc.collect()
        readings.append(rss_mib())
    return {
        "rounds": rounds,
        "rss_after_first_mib": readings[0],
        "rss_after_last_mib": readings[-1],
        "growth_mib": readings[-1] - readings[0],
        "growth_per_fit_kib": 1024 * (readings[-1] - readings[0]) / max(1, rounds - 1),
    }


def run(table, libraries, quick):
    data = load_table(table)
    epochs = 20
    repeats = 3 if quick else 5
    calls = 50 if quick else 200
    results = {}
    for library in libraries:
        print(f"[{table}] {library}", flush=True)
        if library in _libs.PLAIN:
            os.environ["SKKERAS_FASTPATH"] = "0"
        else:
            os.environ.pop("SKKERAS_FASTPATH", None)
        if library != "sklearn":  # the first fit should not include importing Keras
            import keras  # noqa: F401
        _libs.make(library, epochs)
        model, result = measure_fits(library, data, epochs, repeats)
        result["predict"] = measure_predict(model, data[1], calls)
        if table != "synthetic" or not quick:
            result["cv"] = measure_cv(library, data, epochs)
        if library in GRID_TABLES.get(table, ()) and not (quick and table != "digits"):
            result["grid_search"] = measure_grid(library, data, epochs, quick)
        if table == "breast_cancer":
            # the target is for skkeras over 200 rounds; the slow alternatives get the 50 rounds
            # the issue measured them with (10 when quick), which show their growth as well
            slow = library in {"keras", "scikeras", "skkeras_plain"}
            rounds = (10 if slow else 100) if quick else (50 if slow else 200)
            result["memory"] = measure_memory(library, data, rounds, 5)
        results[library] = result
        del model
        gc.collect()
    return {
        "table": table,
        "n_train": int(data[0].shape[0]),
        "n_test": int(data[1].shape[0]),
        "n_features": int(data[0].shape[1]),
        "epochs": epochs,
        "repeats": repeats,
        "results": results,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True)
    parser.add_argument("--libraries", default=",".join(_libs.LIBRARIES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    libraries = args.libraries.split(",")
    if "scikeras" in libraries:  # scikeras changes Keras on import: always measure it last
        libraries = [name for name in libraries if name != "scikeras"] + ["scikeras"]
    result = run(args.table, libraries, args.quick)
    with open(args.output, "w") as handle:
        json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
