"""skkeras's NumPy forward passes with one BLAS thread (its default) and with BLAS's own threads.

skkeras computes the forward pass of a batch of up to ``skkeras._blas.MAX_ROWS`` rows in the
main thread with the BLAS libraries limited to one thread (``skkeras/_blas.py`` says why).
This measures, in one process, with the limit and without it (``MAX_ROWS`` set to -1), in
turns:

* ``predict_proba`` alone on 128 to 8,192 rows (the benchmark MLP fitted on digits and on the
  20k-row table; the median of 200 calls after a warm-up);
* the benchmark's ``GridSearchCV(cv=3)`` (4 candidates, 20 epochs) in one process, on digits
  and on the 20k-row table: wall time and the process's CPU time;
* the same search on digits in two threads (joblib's threading backend), without a BLAS limit
  of the user's own (skkeras sets its limit only in the main thread: this checks that the
  threads' search is not slowed).

    python -m benchmarks.blas_threads          # writes benchmarks/results/blas_threads.*
    python -m benchmarks.blas_threads --turns 2 --synthetic-turns 1 --name scratch
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

import numpy as np

from ._measure import cpu_seconds, load_table, search_grid, summary
from ._results import cell, header, preamble, save, table

VERSIONS = ("keras", "tensorflow-cpu", "scikit-learn", "threadpoolctl", "numpy")
ROWS = (128, 512, 2048, 8192)
SETTINGS = ("one_blas_thread", "blas_threads")


@contextlib.contextmanager
def limit(setting: str):
    """skkeras's limit as it is (``one_blas_thread``) or switched off (``blas_threads``)."""
    from skkeras import _blas

    saved = _blas.MAX_ROWS
    if setting == "blas_threads":
        _blas.MAX_ROWS = -1
    try:
        yield
    finally:
        _blas.MAX_ROWS = saved



def predict_ms(estimator, rows: np.ndarray, calls: int = 200) -> float:
    estimator.predict_proba(rows)
    seconds = []
    for _ in range(calls):
        start = time.perf_counter()
        estimator.predict_proba(rows)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1e3


def search(X, y, backend: str | None = None) -> dict:
    from joblib import parallel_config
    from sklearn.model_selection import GridSearchCV

    from . import _libs

    searcher = GridSearchCV(_libs.make("skkeras", 20), search_grid("skkeras"), cv=3,
                            n_jobs=2 if backend else 1)
    context = parallel_config(backend=backend) if backend else contextlib.nullcontext()
    cpu, start = cpu_seconds(), time.perf_counter()
    with context:
        searcher.fit(X, y)
    return {"wall": time.perf_counter() - start, "cpu": cpu_seconds() - cpu}


def measure_predictions(table: str, rounds: int = 3) -> dict:
    from . import _libs

    X, X_test, y, _ = load_table(table)
    estimator = _libs.make("skkeras", 20).fit(X, y)
    rows = np.resize(X_test, (max(ROWS), X_test.shape[1])).astype(np.float32)
    times = {(setting, n): [] for setting in SETTINGS for n in ROWS}
    for _ in range(rounds):
        for n in ROWS:
            for setting in SETTINGS:
                with limit(setting):
                    times[setting, n].append(predict_ms(estimator, rows[:n]))
    return {
        setting: {str(n): summary(times[setting, n]) for n in ROWS} for setting in SETTINGS
    }


def measure_searches(table: str, turns: int, backend: str | None = None) -> dict:
    X, _, y, _ = load_table(table)
    for setting in SETTINGS:
        with limit(setting):
            search(X, y, backend)
    runs = {setting: [] for setting in SETTINGS}
    for _ in range(turns):
        for setting in SETTINGS:
            with limit(setting):
                runs[setting].append(search(X, y, backend))
    result = {
        setting: {part: summary([run[part] for run in runs[setting]]) for part in ("wall", "cpu")}
        for setting in SETTINGS
    }
    result["turns"] = turns
    return result



def _markdown(report: dict) -> str:
    lines = [
        *preamble("skkeras's forward passes on one BLAS thread against BLAS's own threads", report),
        "one BLAS thread: skkeras as it is (batches of up to "
        f"{report['max_rows']} rows computed with BLAS limited to one thread, in the main "
        "thread); BLAS threads: the limit switched off. The two alternate in one process.",
        "",
        "## predict_proba alone (ms, median of 200 calls; median (min-max) over 3 rounds)",
        "",
    ]
    predictions = []
    for table_name, result in report["predict"].items():
        for n in ROWS:
            one, threads = (result[setting][str(n)] for setting in SETTINGS)
            predictions.append([table_name, n, cell(one), cell(threads),
                                f"{one['median'] / threads['median']:.2f}"])
    lines += table(["table", "rows", "one BLAS thread", "BLAS threads", "ratio"], predictions)
    searches = []
    for name, result in report["search"].items():
        one, threads = (result[setting] for setting in SETTINGS)
        searches.append([name, result["turns"], cell(one["wall"]), cell(threads["wall"]),
                         f"{one['wall']['median'] / threads['wall']['median']:.2f}",
                         cell(one["cpu"]), cell(threads["cpu"])])
    lines += [
        "",
        "## GridSearchCV(cv=3), 4 candidates, 20 epochs (s, median (min-max) over the turns)",
        "",
        *table(["search", "turns", "wall, one BLAS thread", "wall, BLAS threads", "ratio",
                "CPU, one BLAS thread", "CPU, BLAS threads"], searches),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=8, help="turns of the digits searches")
    parser.add_argument("--synthetic-turns", type=int, default=3,
                        help="turns of the 20k-row search; 0 skips it")
    parser.add_argument("--name", default="blas_threads", help="results/<name>.json and .md")
    args = parser.parse_args()
    from skkeras import _blas

    report = {**header("benchmarks.blas_threads", VERSIONS), "max_rows": _blas.MAX_ROWS}
    report["predict"] = {table: measure_predictions(table) for table in ("digits", "synthetic")}
    print("predictions measured", flush=True)
    searches = {"digits, one process": ("digits", args.turns, None),
                "digits, two threads": ("digits", args.turns, "threading")}
    if args.synthetic_turns:
        searches["20k rows, one process"] = ("synthetic", args.synthetic_turns, None)
    report["search"] = {}
    for name, (table_name, turns, backend) in searches.items():
        report["search"][name] = measure_searches(table_name, turns, backend)
        print(name, "measured", flush=True)
    save(args.name, report, _markdown(report))


if __name__ == "__main__":
    main()
