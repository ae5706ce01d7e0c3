"""Run the whole benchmark: ``python -m benchmarks.run [--quick]`` (see README.md).

Each table is measured in its own subprocess (``benchmarks._measure``); import times are
measured in fresh interpreters. Results go to ``benchmarks/results/benchmark[_quick].json|md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from . import _libs
from ._report import markdown

TABLES = ("synthetic", "digits", "breast_cancer")
IMPORTS = {
    "skkeras": "import skkeras",
    "skkeras + first model": "import skkeras, skkeras._keras as k; k.import_keras()",
    "sklearn MLP": "import sklearn.neural_network",
    "keras": "import keras",
    "scikeras": "import scikeras.wrappers",
}
RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    cpu = "unknown"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as info:
            models = [line.split(":", 1)[1].strip() for line in info if line.startswith("model")
                      and line.split(":", 1)[0].strip() == "model name"]
        cpu = models[0] if models else cpu
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def versions() -> dict:
    names = ("skkeras", "keras", "tensorflow-cpu", "tensorflow", "scikit-learn", "numpy",
             "scikeras", "jax", "torch")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["keras_backend"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    return found


def import_times(repeats: int) -> dict:
    """Seconds to import each module in a fresh interpreter (median, min, max)."""
    from ._measure import summary

    result = {}
    for label, statement in IMPORTS.items():
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        runs = []
        for _ in range(repeats):
            completed = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            )
            runs.append(float(completed.stdout.strip().splitlines()[-1]))
        result[label] = summary(runs)
    return result


def measure_table(table: str, libraries, quick: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / f"{table}.json"
        command = [sys.executable, "-m", "benchmarks._measure", "--table", table,
                   "--libraries", ",".join(libraries), "--output", str(output)]
        if quick:
            command.append("--quick")
        subprocess.run(command, check=True)
        return json.loads(output.read_text())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and rounds")
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--libraries", default=",".join(_libs.LIBRARIES))
    parser.add_argument("--name", default=None, help="results file name (default: benchmark)")
    args = parser.parse_args(argv)
    started = time.time()
    report = {
        "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
        "machine": machine(),
        "versions": versions(),
        "import_s": import_times(3 if args.quick else 7),
        "tables": [measure_table(table, args.libraries.split(","), args.quick)
                   for table in args.tables.split(",")],
    }
    report["wall_s"] = time.time() - started
    name = args.name or ("benchmark_quick" if args.quick else "benchmark")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{name}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
