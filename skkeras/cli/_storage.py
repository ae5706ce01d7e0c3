"""The Optuna study storage of ``tune`` and ``demo``: an SQLite file by default, any RDB URL."""

from __future__ import annotations

from pathlib import Path

from ..model_selection._storage import check_postgresql_driver
from ._errors import EXIT_CANTCREAT, EXIT_UNAVAILABLE, EXIT_USAGE, CLIError

#: Seconds to wait for a database server before giving up.
CONNECT_TIMEOUT = 10


def default_storage(directory: Path) -> str:
    """``sqlite:///DIR/study.db`` with an absolute path."""
    return f"sqlite:///{(directory / 'study.db').resolve()}"


def display_url(url: str) -> str:
    """``url`` with its password masked, for messages and reports."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def check_storage(url: str) -> None:
    """Connect once to ``url`` so that an unreachable database fails now, in one line.

    Raises
    ------
    CLIError
        With exit code 2 for a malformed URL, 69 for a database that cannot be reached, 73 for
        an SQLite file that cannot be created.
    """
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception as error:
        raise CLIError(
            f"--storage {url!r} is not a database URL (expected e.g. "
            "sqlite:///study.db or postgresql+psycopg2://user:password@host/db)",
            EXIT_USAGE,
        ) from error
    shown = parsed.render_as_string(hide_password=True)
    try:
        check_postgresql_driver(url)
    except ImportError as error:
        raise CLIError(f"--storage: {error}", EXIT_USAGE) from error
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_folder(parsed.database, shown)
    connect_args = {}
    if parsed.get_backend_name() in {"postgresql", "mysql"}:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    try:
        engine = create_engine(parsed, connect_args=connect_args)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as error:
        raise CLIError(
            f"cannot reach the study storage {shown}: {_reason(error)}", EXIT_UNAVAILABLE
        ) from error


def _check_sqlite_folder(database: str | None, shown: str) -> None:
    if not database or database == ":memory:":
        return
    folder = Path(database).expanduser().resolve().parent
    if not folder.is_dir():
        raise CLIError(
            f"cannot create the study storage {shown}: folder {folder} does not exist",
            EXIT_CANTCREAT,
        )


def _reason(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    text = str(original).strip() or type(original).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__
