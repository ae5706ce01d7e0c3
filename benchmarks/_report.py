"""Markdown tables (medians, min-max and ratios) from a benchmark run's JSON."""

from __future__ import annotations

from ._results import cell, speedup
from ._results import table as markdown_table

REFERENCE = "skkeras"


def _ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "-"


def _table(header, rows) -> list[str]:
    return [*markdown_table(header, rows), ""]


def _fit_rows(results: dict) -> list:
    reference = results.get(REFERENCE, {}).get("fit_s", {}).get("median")
    rows = []
    for library, result in results.items():
        fit = result["fit_s"]
        rows.append([
            library, f"{result['first_fit_s']:.2f}", cell(fit, 2), cell(result["epoch_ms"], 1),
            cell(result["accuracy"], 3),
            _ratio(fit["median"], reference) if reference else "-",
        ])
    return rows


def _predict_rows(results: dict) -> list:
    rows = []
    for library, result in results.items():
        predict = result["predict"]
        rows.append([library, *(cell(predict[key], 3) for key in predict)])
    return rows


def _cv_rows(results: dict) -> list:
    return [
        [library, f"{r['cv']['total_s']:.2f}", f"{r['cv']['first_fold_fit_s']:.2f}",
         cell(r["cv"]["later_folds_fit_s"], 2),
         cell(r["cv"]["later_folds_steps_s"], 2) if "later_folds_steps_s" in r["cv"] else "",
         (cell(r["cv"]["later_folds_fit_over_steps"], 2) + "x")
         if "later_folds_fit_over_steps" in r["cv"] else ""]
        for library, r in results.items() if r.get("cv")
    ]


def _grid_rows(results: dict) -> list:
    return [
        [library, g["n_candidates"], g["n_jobs_1_again_s"].get("n", ""),
         f"{g['n_jobs_1_first_s']:.2f}",
         f"{g['n_jobs_2_first_s']:.2f}", f"{g['speedup_first']:.2f}x",
         cell(g["n_jobs_1_again_s"], 2), cell(g["n_jobs_2_again_s"], 2), _speedup(g, "speedup")]
        for library, r in results.items() if (g := r.get("grid_search"))
    ]


def _threaded_grid_rows(results: dict) -> list:
    return [
        [library, f"{g['threads_2_first_s']:.2f}", f"{g['threads_speedup_first']:.2f}x",
         cell(g["threads_2_again_s"], 2), _speedup(g, "threads_speedup"),
         cell(g["threads_2_blas_1_again_s"], 2), _speedup(g, "threads_blas_1_speedup")]
        for library, r in results.items() if (g := r.get("grid_search"))
    ]


def _stand_in_rows(results: dict) -> list:
    return [
        [library, cell(g["n_jobs_1_again_s"], 2), cell(g["stand_in_1_again_s"], 2),
         cell(g["stand_in_2_again_s"], 2), _speedup(g, "stand_in_speedup"),
         _speedup(g, "speedup"), *_no_refit_cells(g)]
        for library, r in results.items()
        if (g := r.get("grid_search")) and "stand_in_speedup" in g
    ]


def _no_refit_cells(grid: dict) -> list[str]:
    if "no_refit_speedup" not in grid:  # results of earlier runs
        return ["", "", ""]
    return [cell(grid["no_refit_1_again_s"], 2), cell(grid["no_refit_2_again_s"], 2),
            _speedup(grid, "no_refit_speedup")]


def _speedup(grid: dict, key: str) -> str:
    """The ratio of the medians, and the range of the per-repeat ratios."""
    return speedup(grid[key], grid[f"{key}_per_repeat"])


def _memory_rows(results: dict) -> list:
    return [
        [library, m["rounds"], f"{m['rss_after_first_mib']:.0f}", f"{m['rss_after_last_mib']:.0f}",
         f"{m['growth_mib']:+.1f}", f"{m['growth_per_fit_kib']:+.0f}"]
        for library, r in results.items() if (m := r.get("memory"))
    ]


def markdown(report: dict) -> str:
    machine, versions = report["machine"], report["versions"]
    lines = [
        "# skkeras benchmark results", "",
        f"Command: `{report['command']}` (wall time {report['wall_s']:.0f} s)", "",
        f"Machine: {machine['nproc']} CPUs, {machine['cpu']}, {machine['platform']}, "
        f"Python {machine['python']}, load average at start "
        f"{', '.join(f'{x:.1f}' for x in machine['load_average_at_start'])}", "",
        "Versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()), "",
        "Cells are median (min-max); ratios are the median divided by skkeras's median.", "",
        "## Import time (s, fresh interpreter)", "",
    ]
    lines += _table(["import", "seconds"],
                    [[name, cell(summary, 3)] for name, summary in report["import_s"].items()])
    for table in report["tables"]:
        results = table["results"]
        lines += [
            f"## {table['table']} ({table['n_train']} x {table['n_features']} train, "
            f"{table['n_test']} test, {table['epochs']} epochs, {table['repeats']} repeats)", "",
            "### Fit (2nd and later fits of the architecture)", "",
        ]
        lines += _table(["library", "first fit s", "fit s", "ms / epoch", "test accuracy",
                         "fit vs skkeras"], _fit_rows(results))
        lines += ["### Predict latency (ms, `predict`)", ""]
        lines += _table(["library", "1 row", "100 rows", "10k rows"], _predict_rows(results))
        if cv := _cv_rows(results):
            lines += ["### 5-fold cross-validation (s)", ""]
            lines += _table(["library", "total", "fold 1 fit", "folds 2-5 fit",
                             "folds 2-5 compiled calls", "folds 2-5 fit / compiled calls"], cv)
        if grid := _grid_rows(results):
            lines += ["### GridSearchCV, 3 folds (s)", ""]
            lines += ["First call: joblib starts its worker processes (each imports TensorFlow) "
                      "and models are traced; again: the same search repeated in the same "
                      "process (`turns` times, in turns with the threaded searches below: "
                      "once with `--quick`, else 10 times for a search under 2 s in one "
                      "process, down to 3 for longer ones), reusing both. Speed-ups: the "
                      "ratio of the medians (the range of each turn's ratio).", ""]
            lines += _table(["library", "candidates", "turns", "n_jobs=1 first",
                             "n_jobs=2 first",
                             "speed-up first", "n_jobs=1 again", "n_jobs=2 again",
                             "speed-up again"], grid)
            if stand_in := _stand_in_rows(results):
                lines += ["What the search's size allows: the same searches over a stand-in "
                          "estimator that learns nothing and keeps a core busy, in each fit "
                          "and score, for as long as the library's took in the `n_jobs=1` "
                          "search of the same turn (`benchmarks/_stand_in.py`). Its speed-up "
                          "is the most `n_jobs=2` can give a search of this size with joblib's "
                          "worker processes, whose refit runs in the calling process. The "
                          "last three columns time the library's search with `refit=False`: "
                          "the cross-validation alone, the part that runs in parallel.", ""]
                lines += _table(["library", "n_jobs=1 again", "stand-in n_jobs=1",
                                 "stand-in n_jobs=2", "stand-in speed-up",
                                 "library's speed-up", "no refit, n_jobs=1",
                                 "no refit, n_jobs=2", "no refit, speed-up"], stand_in)
            lines += ["The same `n_jobs=2` searches on joblib's threading backend "
                      "(`with joblib.parallel_config(backend=\"threading\")`): two threads "
                      "of the benchmark process, no workers to start; then with one BLAS "
                      "thread per search thread (`threadpoolctl.threadpool_limits(1, "
                      "user_api=\"blas\")`). Speed-ups against the `n_jobs=1` searches "
                      "above.", ""]
            lines += _table(["library", "threads first", "speed-up first", "threads again",
                             "speed-up again", "threads, 1 BLAS thread, again", "speed-up"],
                            _threaded_grid_rows(results))
        if memory := _memory_rows(results):
            lines += ["### RSS over clone-and-fit rounds (MiB; 5 epochs each)", ""]
            lines += _table(["library", "rounds", "after 1st", "after last", "growth",
                             "KiB / fit"], memory)
    return "\n".join(lines)
