"""The HTML report: ``DIR/index.html`` (self-contained) and ``DIR/results.json``.

The page embeds its PNG figures as base64 ``data:`` URIs and its style inline, so it opens from
disk, offline, and can be mailed as one file; the figures are also written to ``DIR/plots/``.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .._persistence import atomic_write

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1d232a; background: #f6f7f9; }
main { max-width: 960px; margin: 0 auto; padding: 24px; }
h1 { margin-bottom: 4px; } .sub { color: #5b6470; margin-top: 0; }
section { background: white; border-radius: 8px; padding: 16px 20px; margin: 16px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h2 { margin-top: 4px; font-size: 1.2em; }
img { max-width: 100%; height: auto; display: block; margin: 8px auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: .92em; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 4px 10px; text-align: left; }
th { background: #f0f2f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #5b6470; font-size: .9em; }
code { background: #f0f2f5; padding: 1px 4px; border-radius: 3px; }
"""


@dataclass
class Section:
    """One block of the report: a heading, a paragraph, an optional figure and table."""

    title: str
    text: str = ""
    figure: bytes | None = None
    figure_name: str | None = None
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[Any]] = ()
    notes: list[str] = field(default_factory=list)


def json_ready(value: Any) -> Any:
    """``value`` with NumPy scalars/arrays as Python ones and NaN/inf as ``None``."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def write_text(path: Path, text: str | bytes) -> None:
    """Write a file atomically (UTF-8 for text), as :func:`skkeras.save` does: a failure or
    Ctrl-C leaves the previous file intact and no temporary file behind."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    atomic_write(path, lambda file: file.write(data))


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f'<td class="num">{value:.4g}</td>'
    if isinstance(value, int | np.integer):
        return f'<td class="num">{value}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(header))}</th>" for header in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section_html(section: Section) -> str:
    parts = [f"<section><h2>{html.escape(section.title)}</h2>"]
    if section.text:
        parts.append(f"<p>{html.escape(section.text)}</p>")
    if section.figure is not None:
        encoded = base64.b64encode(section.figure).decode("ascii")
        parts.append(
            f'<img alt="{html.escape(section.title)}" src="data:image/png;base64,{encoded}">'
        )
    if section.rows:
        parts.append(_table(section.headers, section.rows))
    parts.extend(f'<p class="note">{html.escape(note)}</p>' for note in section.notes)
    parts.append("</section>")
    return "".join(parts)


def render_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole page as one string."""
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "".join(_section_html(section) for section in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{html.escape(title)}</h1>"
        f'<p class="sub">{html.escape(subtitle)} · written {created}</p>{body}'
        '<p class="note">Numbers behind every figure: <code>results.json</code> next to this '
        "page. Made by skkeras.</p></main></body></html>\n"
    )


def write_report(
    directory: Path, title: str, subtitle: str, sections: Sequence[Section],
    results: dict[str, Any],
) -> Path:
    """Write ``index.html``, ``results.json`` and ``plots/*.png`` into ``directory``.

    Returns
    -------
    path : Path
        The path of ``index.html``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    plots = directory / "plots"
    plots.mkdir(exist_ok=True)
    for section in sections:
        if section.figure is not None and section.figure_name:
            write_text(plots / section.figure_name, section.figure)
    write_text(
        directory / "results.json", json.dumps(json_ready(results), indent=2, allow_nan=False)
    )
    index = directory / "index.html"
    write_text(index, render_html(title, subtitle, sections))
    return index
