"""Every ```python block of every docs page runs, page by page, and the site builds strictly."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
PAGES = sorted(DOCS.glob("*.md"))
EXAMPLE_PAGES = [*PAGES, ROOT / "README.md"]  # the README's examples run too


def python_blocks(page: Path) -> list[str]:
    """The page's top-level ```python blocks; indented ones are refused (they would not run)."""
    text = page.read_text(encoding="utf-8")
    blocks = PYTHON_BLOCK.findall(text)
    opened = len(re.findall(r"```python", text))
    assert opened == len(blocks), (
        f"{page.name}: {opened - len(blocks)} ```python block(s) are indented or unclosed; "
        "put code blocks at the start of a line so that CI runs them"
    )
    return blocks


def test_docs_exist():
    names = {page.name for page in PAGES}
    assert {"index.md", "estimators.md", "early-stopping.md", "learning-rate-schedules.md",
            "cross-validation.md", "coming-from-scikeras.md", "api.md"} <= names


@pytest.mark.parametrize("page", [p for p in EXAMPLE_PAGES if "```python" in p.read_text()],
                         ids=lambda page: page.name)
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples write files only here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs.{page.stem}"}
    for number, block in enumerate(python_blocks(page), start=1):
        code = compile(block, f"{page.name} (python block {number})", "exec")
        exec(code, namespace)


def test_mkdocs_build_is_strict_and_clean(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs is not installed; CI installs the 'docs' extra")
        pytest.skip("mkdocs is not installed (pip install 'skkeras[docs]')")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT), "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "hidden_layer_sizes" in api  # docstrings were rendered, not just headings
    for page in PAGES:
        assert (site / ("" if page.stem == "index" else page.stem) / "index.html").exists()
