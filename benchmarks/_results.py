"""What every benchmark's report starts with, and where it is written."""

from __future__ import annotations

import json
import os
import platform
import sys

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def header(module: str, packages) -> dict:
    """The command that ran ``module`` (``benchmarks.<name>``), the machine, Python and the
    installed versions of ``packages``."""
    from importlib.metadata import version

    return {
        "command": f"python -m {module} " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "versions": {name: version(name) for name in packages},
    }


def preamble(title: str, report: dict) -> list[str]:
    """A report's first markdown lines: its ``title``, then the command, machine and versions
    :func:`header` recorded."""
    return [
        f"# {title}",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {report['machine']}; Python {report['python']}; "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".",
        "",
    ]


def cell(values: dict, digits: int = 3) -> str:
    """A summary (``_measure.summary``) as ``median (min-max)``."""
    return f"{values['median']:.{digits}f} ({values['min']:.{digits}f}-{values['max']:.{digits}f})"


def speedup(ratio: float, per_turn: dict) -> str:
    """A speed-up (the ratio of the medians) and the range of each turn's ratio."""
    return f"{ratio:.2f}x ({per_turn['min']:.2f}-{per_turn['max']:.2f})"


def table(header, rows) -> list[str]:
    """A markdown table's lines: ``header`` (cell texts) and ``rows`` (lists of cells)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def save(name: str, report: dict, markdown: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md``."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as file:
        json.dump(report, file, indent=1)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as file:
        file.write(markdown)
