"""Where the time of ``GridSearchCV(n_jobs=2)`` goes, against ``n_jobs=1``.

The benchmark's grid (``GridSearchCV(cv=3)`` over two learning rates and two batch sizes, the
MLP of ``benchmarks/_libs.py``, 20 epochs) runs with ``n_jobs=1`` and ``n_jobs=2`` (joblib's
worker processes) in turns, after one warm-up search of each, skkeras's and scikit-learn's
taking turns in one process (so that the machine's load weighs on both alike), on digits and
on the 20k-row table. scikit-learn's MLP is the reference for what the machine's two cores
give two processes that each compute: its fits share the cores' caches and memory bandwidth
as skkeras's do, which the stand-in of ``benchmarks/_stand_in.py`` (it only waits) does not.
Each
search is split with what scikit-learn records itself (``cv_results_``'s fit and score times,
``refit_time_``):

* ``work``: the fits and scores of the cross-validation, summed over its 12 tasks;
* ``refit``: the final fit on the whole training set, which runs in the calling process after
  the cross-validation;
* ``other``: the rest of the search's wall time once the refit and the work shared by
  ``n_jobs`` workers are taken away (``total - refit - work / n_jobs``): joblib's dispatch,
  the wait for the last task, scikit-learn's own bookkeeping, and any uneven split of the work
  between the workers.

``bound`` is the speed-up two workers would give if they split the ``n_jobs=1`` search's work
evenly at no cost: ``total_1 / (work_1 / 2 + refit_1 + other_1)``. The calling process's CPU
time during the search is also reported (it shares the two cores with the workers).

Each turn also runs the cross-validation's 12 fits one after the other in joblib's worker
processes, outside any search: in one worker while the other waits (``alone``), and in both
workers at once (``in pairs``, each worker's sum, averaged). Their ratio is what two fits at
once cost each other on this machine (shared caches and memory bandwidth, the host's other
load), apart from joblib's dispatch and the search's refit.

    python -m benchmarks.grid_parts              # writes benchmarks/results/grid_parts.*
    python -m benchmarks.grid_parts --turns 8 --synthetic-turns 0 --name scratch
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

from ._measure import cpu_seconds, load_table, search_grid, summary
from ._results import cell, header, preamble, save, speedup, table

VERSIONS = ("keras", "tensorflow-cpu", "scikit-learn", "joblib", "psutil", "numpy")
LIBRARIES = ("skkeras", "sklearn")
PARTS = ("total", "work", "refit", "other", "fits", "caller_cpu")



def timed_search(library: str, X, y, n_jobs: int) -> dict:
    """One search's wall time and its parts (see the module's docstring)."""
    from sklearn.model_selection import GridSearchCV

    from . import _libs

    searcher = GridSearchCV(_libs.make(library, 20), search_grid(library), cv=3, n_jobs=n_jobs)
    cpu, start = cpu_seconds(), time.perf_counter()
    searcher.fit(X, y)
    total = time.perf_counter() - start
    results = searcher.cv_results_
    n_splits = searcher.n_splits_
    fits = float(results["mean_fit_time"].sum() * n_splits)
    work = fits + float(results["mean_score_time"].sum() * n_splits)
    return {
        "total": total,
        "work": work,
        "fits": fits,
        "refit": searcher.refit_time_,
        "other": total - searcher.refit_time_ - work / n_jobs,
        "caller_cpu": cpu_seconds() - cpu,
    }


@functools.cache
def _grid_fits_data(table: str):
    """The table's training rows and the cross-validation's splits (kept by each worker)."""
    from sklearn.model_selection import StratifiedKFold

    X, _, y, _ = load_table(table)
    return X, y, list(StratifiedKFold(3).split(X, y))


def grid_fits(library: str, table: str) -> float:
    """Seconds the grid's 12 cross-validation fits take one after the other in this process
    (a worker): the fits of :func:`timed_search`'s search, without scoring or refit."""
    from sklearn.model_selection import ParameterGrid

    from . import _libs

    X, y, splits = _grid_fits_data(table)
    seconds = 0.0
    for params in ParameterGrid(search_grid(library)):
        for train, _ in splits:
            model = _libs.make(library, 20).set_params(**params)
            start = time.perf_counter()
            model.fit(X[train], y[train])
            seconds += time.perf_counter() - start
    return seconds


def concurrent_fits(library: str, table: str) -> dict:
    """:func:`grid_fits` in one of joblib's two workers (``alone``) and in both at once
    (``pairs``: each worker's seconds, averaged)."""
    from joblib import Parallel, delayed

    # by the module's name, which the workers import (not ``__main__``'s copy under ``-m``)
    from . import grid_parts

    def in_workers(count: int) -> float:
        calls = (delayed(grid_parts.grid_fits)(library, table) for _ in range(count))
        return statistics.mean(Parallel(n_jobs=2)(calls))

    return {"alone": in_workers(1), "pairs": in_workers(2)}


def measure(libraries: list[str], table: str, turns: int) -> list[dict]:
    """A warm-up search of each library with each ``n_jobs``, then ``turns`` turns in which
    every library searches with ``n_jobs=1`` and then ``n_jobs=2``: the libraries take turns,
    so that the machine's load weighs on them alike."""
    X, _, y, _ = load_table(table)
    for library in libraries:
        for n_jobs in (1, 2):
            timed_search(library, X, y, n_jobs)
        concurrent_fits(library, table)
    searches = {library: {1: [], 2: []} for library in libraries}
    pairs = {library: [] for library in libraries}
    for _ in range(turns):
        for library in libraries:
            for n_jobs in (1, 2):
                searches[library][n_jobs].append(timed_search(library, X, y, n_jobs))
            pairs[library].append(concurrent_fits(library, table))
    return [_case(library, table, turns, searches[library], pairs[library])
            for library in libraries]


def _case(library: str, table: str, turns: int, searches: dict, pairs: list[dict]) -> dict:
    one, two = searches[1], searches[2]
    turn_pairs = list(zip(one, two, strict=True))
    bounds = [s["total"] / (s["work"] / 2 + s["refit"] + s["other"]) for s in one]
    return {
        "library": library,
        "table": table,
        "turns": turns,
        "n_jobs_1": {part: summary([s[part] for s in one]) for part in PARTS},
        "n_jobs_2": {part: summary([s[part] for s in two]) for part in PARTS},
        "speedup": statistics.median(s["total"] for s in one)
        / statistics.median(s["total"] for s in two),
        "speedup_per_turn": summary([a["total"] / b["total"] for a, b in turn_pairs]),
        "bound": summary(bounds),
        "fit_inflation": summary([b["fits"] / a["fits"] for a, b in turn_pairs]),
        "fits_alone": summary([turn["alone"] for turn in pairs]),
        "fits_in_pairs": summary([turn["pairs"] for turn in pairs]),
        "pair_inflation": summary([turn["pairs"] / turn["alone"] for turn in pairs]),
    }


def _markdown(report: dict) -> str:
    lines = [
        *preamble("Where GridSearchCV(n_jobs=2)'s time goes", report),
        "`GridSearchCV(cv=3)`, 4 candidates (learning rate 1e-3 / 3e-3, batch size 32 / 64), "
        "20 epochs; `n_jobs=1` and `n_jobs=2` (joblib's worker processes) in turns after one "
        "warm-up search of each, the libraries of a table taking turns in one process. "
        "Medians over "
        "the turns, in seconds. "
        "work: the cross-validation's fits and scores summed (scikit-learn's `cv_results_`); "
        "refit: `refit_time_`; other: total - refit - work / n_jobs; caller CPU: the calling "
        "process's CPU time during the search. bound: the `n_jobs=1` search's total over "
        "(work / 2 + refit + other), the speed-up of an even, free split of its work. Fit "
        "inflation: the fits' sum with `n_jobs=2` over that with `n_jobs=1`, per turn. "
        "Fits alone / in pairs: the 12 fits one after the other in one of joblib's two "
        "workers while the other waits, and in both at once (each worker's sum), outside any "
        "search; pair inflation: their ratio, per turn.",
        "",
    ]
    parts = []
    for case in report["cases"]:
        for n_jobs in (1, 2):
            medians = case[f"n_jobs_{n_jobs}"]
            parts.append([case["library"], case["table"], case["turns"], n_jobs,
                          *(f"{medians[part]['median']:.3f}" for part in
                            ("total", "work", "refit", "other", "caller_cpu"))])
    lines += table(["library", "table", "turns", "n_jobs", "total", "work", "refit", "other",
                    "caller CPU"], parts)
    speedups = [
        [case["library"], case["table"], speedup(case["speedup"], case["speedup_per_turn"]),
         speedup(case["bound"]["median"], case["bound"]),
         cell(case["fit_inflation"])]
        for case in report["cases"]
    ]
    lines += ["", *table(["library", "table", "speed-up (per turn)", "bound (per turn)",
                          "fit inflation (per turn)"], speedups)]
    concurrency = [
        [case["library"], case["table"], cell(case["fits_alone"]), cell(case["fits_in_pairs"]),
         cell(case["pair_inflation"])]
        for case in report["cases"]
    ]
    lines += ["", *table(["library", "table", "fits alone, s", "fits in pairs, s",
                          "pair inflation (per turn)"], concurrency)]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=16, help="turns on digits")
    parser.add_argument("--synthetic-turns", type=int, default=4,
                        help="turns on the 20k-row table; 0 skips it")
    parser.add_argument("--libraries", default="skkeras,sklearn",
                        help="comma-separated, among " + ", ".join(LIBRARIES))
    parser.add_argument("--name", default="grid_parts", help="results/<name>.json and .md")
    args = parser.parse_args()
    libraries = [name for name in args.libraries.split(",") if name]
    unknown = sorted(set(libraries) - set(LIBRARIES))
    if unknown:
        parser.error(f"--libraries: got {unknown}; choose among {list(LIBRARIES)}")
    tables = [("digits", args.turns)]
    if args.synthetic_turns:
        tables.append(("synthetic", args.synthetic_turns))
    results = []
    for table_name, turns in tables:
        for case in measure(libraries, table_name, turns):
            results.append(case)
            print(case["library"], table_name, f"{case['speedup']:.2f}x", flush=True)
    report = {**header("benchmarks.grid_parts", VERSIONS), "cases": results}
    save(args.name, report, _markdown(report))


if __name__ == "__main__":
    main()
