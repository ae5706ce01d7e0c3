"""``GridSearchCV(n_jobs=2)`` in joblib's worker processes with psutil installed and without.

Without psutil, each of joblib's worker processes runs a full garbage collection after a task
once a second has passed since the last one (loky's fallback memory check); with psutil it
reads the process's memory instead and collects only when that grew by 300 MB. A process that
has loaded TensorFlow holds many Python objects, so each of those collections takes a while.
This runs the benchmark's digits grid (and, with ``--synthetic-turns``, the 20k-row one) with
``n_jobs=1`` and ``n_jobs=2`` in turns, in fresh processes, with psutil importable and hidden
(a ``psutil`` module that fails to import, put first on ``PYTHONPATH``), in alternating rounds.

    python -m benchmarks.joblib_workers            # writes benchmarks/results/joblib_workers.*
    python -m benchmarks.joblib_workers --turns 6 --rounds 2 --synthetic-turns 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from ._measure import load_table, summary
from ._results import cell, header, preamble, save, speedup, table

VERSIONS = ("keras", "tensorflow-cpu", "scikit-learn", "joblib", "psutil", "numpy")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_child(library: str, table: str, turns: int) -> dict:
    """One process: a warm-up search of each kind, then ``turns`` turns of both."""
    import joblib.externals.loky.process_executor as loky_executor
    from sklearn.model_selection import GridSearchCV

    from . import _libs
    from ._measure import search_grid

    X, _, y, _ = load_table(table)
    grid = search_grid(library)

    def search(n_jobs):
        searcher = GridSearchCV(_libs.make(library, 20), grid, cv=3, n_jobs=n_jobs)
        start = time.perf_counter()
        searcher.fit(X, y)
        return time.perf_counter() - start

    for n_jobs in (1, 2):
        search(n_jobs)
    seconds = {"n_jobs_1": [], "n_jobs_2": []}
    for _ in range(turns):
        for n_jobs in (1, 2):
            seconds[f"n_jobs_{n_jobs}"].append(search(n_jobs))
    start = time.perf_counter()
    gc.collect()
    return {"psutil": loky_executor._USE_PSUTIL, "full_collection_s": time.perf_counter() - start,
            **seconds}


def _in_subprocess(library: str, table: str, turns: int, hide_psutil: bool) -> dict:
    environment = dict(os.environ)
    with tempfile.TemporaryDirectory() as hidden:
        if hide_psutil:
            with open(os.path.join(hidden, "psutil.py"), "w") as file:
                file.write("raise ImportError('psutil hidden by benchmarks.joblib_workers')\n")
            environment["PYTHONPATH"] = os.pathsep.join(
                [hidden, *filter(None, [environment.get("PYTHONPATH")])]
            )
        command = [sys.executable, "-m", "benchmarks.joblib_workers", "--child", library, table,
                   str(turns)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT,
                                env=environment)
    result = json.loads(output.stdout.strip().splitlines()[-1])
    if result["psutil"] == hide_psutil:
        raise RuntimeError(f"psutil was {'not ' * hide_psutil}hidden as asked.")
    return result


def _summarize(runs: list[dict]) -> dict:
    one = [s for run in runs for s in run["n_jobs_1"]]
    two = [s for run in runs for s in run["n_jobs_2"]]
    return {
        "n_jobs_1_s": summary(one),
        "n_jobs_2_s": summary(two),
        "speedup": statistics.median(one) / statistics.median(two),
        "speedup_per_turn": summary([a / b for a, b in zip(one, two, strict=True)]),
        "full_collection_s": summary([run["full_collection_s"] for run in runs]),
    }



def _markdown(report: dict) -> str:
    lines = [
        *preamble("GridSearchCV in joblib's worker processes, with and without psutil", report),
        "`GridSearchCV(cv=3)` over learning rate (1e-3, 3e-3) and batch size (32, 64), the MLP "
        "of `benchmarks/_libs.py`, 20 epochs. Each row: fresh processes, one per round "
        f"({report['rounds']} rounds, psutil importable and hidden alternating), each running "
        "one warm-up search with `n_jobs=1` and one with `n_jobs=2` (starting joblib's "
        "workers), then the turns, `n_jobs=1` and `n_jobs=2` one after the other. Times: "
        "median (min-max) over every turn of every round; speed-up: ratio of the medians "
        "(range of each turn's ratio). Full collection: one `gc.collect()` in the calling "
        "process after its searches.",
        "",
    ]
    rows = []
    for case in report["cases"]:
        for state in ("installed", "hidden"):
            row = case[state]
            rows.append([case["library"], case["table"], state,
                         f"{case['turns']} x {report['rounds']}", cell(row["n_jobs_1_s"]),
                         cell(row["n_jobs_2_s"]), speedup(row["speedup"], row["speedup_per_turn"]),
                         cell(row["full_collection_s"])])
    lines += table(["library", "table", "psutil", "turns", "n_jobs=1 s", "n_jobs=2 s",
                    "speed-up", "full collection s"], rows)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("LIBRARY", "TABLE", "TURNS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--turns", type=int, default=6, help="turns per process on digits")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--synthetic-turns", type=int, default=2,
                        help="turns per process on the 20k-row table (skkeras); 0 skips it")
    args = parser.parse_args()
    if args.child:
        library, table, turns = args.child
        print(json.dumps(run_child(library, table, int(turns))))
        return
    cases = [("skkeras", "digits", args.turns), ("sklearn", "digits", args.turns)]
    if args.synthetic_turns:
        cases.append(("skkeras", "synthetic", args.synthetic_turns))
    runs = {(case, hidden): [] for case in cases for hidden in (False, True)}
    for _ in range(args.rounds):
        for case in cases:
            for hidden in (False, True):
                runs[case, hidden].append(_in_subprocess(*case, hide_psutil=hidden))
                print(case, "psutil hidden" if hidden else "psutil", flush=True)
    report = {
        **header("benchmarks.joblib_workers", VERSIONS),
        "rounds": args.rounds,
        "cases": [
            {"library": library, "table": table, "turns": turns,
             "installed": _summarize(runs[(library, table, turns), False]),
             "hidden": _summarize(runs[(library, table, turns), True])}
            for library, table, turns in cases
        ],
    }
    save("joblib_workers", report, _markdown(report))


if __name__ == "__main__":
    main()
