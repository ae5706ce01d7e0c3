"""Study storage: in memory, SQLite or PostgreSQL (Optuna's RDB storage with heartbeats).

Several workers opening the same empty database at once race on creating the schema and the
study (PostgreSQL: ``duplicate key ... pg_type_typname_nsp_index``; SQLite: ``UNIQUE constraint
failed: alembic_version``). :func:`open_study` loads the study when it exists, creates it once
otherwise, and retries with a randomized back-off when it loses that race.
"""

from __future__ import annotations

import random
import time
import warnings
from pathlib import Path

import optuna

#: Seconds between heartbeats of a running trial, and before a silent trial is declared dead.
HEARTBEAT_INTERVAL = 30
GRACE_PERIOD = 120
_ATTEMPTS = 10
_JITTER = random.SystemRandom()


def make_rdb_storage(
    url: str,
    *,
    heartbeat_interval: int = HEARTBEAT_INTERVAL,
    grace_period: int | None = GRACE_PERIOD,
    max_retry: int | None = 3,
    engine_kwargs: dict | None = None,
) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage with heartbeats, so that trials of killed workers are retried.

    A trial whose worker stops sending heartbeats for ``grace_period`` seconds is marked FAIL
    by the next worker that starts a trial, and a copy with the same parameters is queued
    (at most ``max_retry`` times per original trial).

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///study.db`` or
        ``postgresql+psycopg2://user:password@host:5432/db``.
    heartbeat_interval : int, default=30
        Seconds between heartbeats of a running trial.
    grace_period : int or None, default=120
        Seconds without a heartbeat after which a running trial is declared failed
        (``None``: twice ``heartbeat_interval``).
    max_retry : int or None, default=3
        How many times a failed trial is queued again (``None``: no limit).
    engine_kwargs : dict or None, default=None
        Passed to SQLAlchemy's ``create_engine``.

    Returns
    -------
    storage : optuna.storages.RDBStorage

    Examples
    --------
    >>> import tempfile, os
    >>> from skkeras.model_selection import make_rdb_storage
    >>> path = os.path.join(tempfile.mkdtemp(), "study.db")
    >>> storage = make_rdb_storage(f"sqlite:///{path}", heartbeat_interval=10)
    >>> storage.get_heartbeat_interval()
    10
    """
    check_storage_url(url)
    with warnings.catch_warnings():
        # Heartbeats have been "experimental" since Optuna 2.x; they are what makes workers safe.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
        return _retrying(
            lambda: optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat_interval,
                grace_period=grace_period,
                heartbeat_stale_trial_callback=callback,
            )
        )


def check_storage_url(url: str) -> None:
    """Refuse, in one line naming it, a storage URL that SQLAlchemy cannot parse, whose
    database kind it does not know, or an SQLite file in a folder that does not exist (Optuna
    would raise SQLAlchemy's own errors, the last after retrying)."""
    from sqlalchemy.engine import make_url

    example = "e.g. sqlite:///study.db or postgresql+psycopg2://user:password@host/db"
    try:
        parsed = make_url(url)
    except Exception as error:
        raise ValueError(f"The storage URL {url!r} is not a database URL ({example}).") from error
    shown = parsed.render_as_string(hide_password=True)
    try:
        parsed.get_dialect()
    except Exception as error:
        raise ValueError(
            f"The storage URL {shown} names a database kind SQLAlchemy does not know "
            f"({parsed.drivername!r}: {error}); use {example}."
        ) from error
    check_postgresql_driver(url)
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        folder = Path(database).expanduser().resolve().parent
        if not folder.is_dir():
            raise FileNotFoundError(
                f"The storage URL {shown} names an SQLite file in the folder {folder}, which "
                "does not exist; create it first."
            )


def check_postgresql_driver(url: str) -> None:
    """Refuse a ``postgresql://`` URL whose default driver is missing while psycopg2 is there.

    SQLAlchemy 2.1 reads a plain ``postgresql://`` URL as ``postgresql+psycopg://`` (psycopg 3),
    whereas skkeras's tests and docs install ``psycopg2-binary``; SQLAlchemy would only say
    ``No module named 'psycopg'``.
    """
    import importlib.util

    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        if parsed.drivername != "postgresql":
            return
        driver = parsed.get_dialect().driver
    except Exception:  # a malformed URL: SQLAlchemy says so when the storage is created
        return
    if importlib.util.find_spec(driver) is None and importlib.util.find_spec("psycopg2"):
        shown = parsed.render_as_string(hide_password=True)
        fixed = parsed.set(drivername="postgresql+psycopg2").render_as_string(
            hide_password=True
        )
        raise ImportError(
            f"The storage URL {shown} uses SQLAlchemy's default PostgreSQL driver, {driver}, "
            f"which is not installed; psycopg2 is. Name it in the URL: {fixed} (or install "
            f"{driver})."
        )


def resolve_storage(storage):
    """``None`` (in memory), a URL (RDB storage with heartbeats) or an Optuna storage."""
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, str):
        return make_rdb_storage(storage)
    raise TypeError(
        "The 'storage' parameter must be None, a database URL such as 'sqlite:///study.db', "
        f"or an optuna storage; got {type(storage).__name__}."
    )


def open_study(*, storage, study_name, sampler, pruner, direction="maximize") -> optuna.Study:
    """Load ``study_name`` from ``storage`` or create it once, surviving concurrent creators."""

    def attempt():
        if storage is not None and study_name is not None:
            try:
                return optuna.load_study(
                    study_name=study_name, storage=storage, sampler=sampler, pruner=pruner
                )
            except KeyError:
                pass
        return optuna.create_study(
            storage=storage,
            study_name=study_name,
            sampler=sampler,
            pruner=pruner,
            direction=direction,
            load_if_exists=True,
        )

    return _retrying(attempt)


def _retrying(action):
    """Run ``action``, retrying with a randomized back-off when it loses a schema race."""
    import sqlalchemy.exc

    races = (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError,
             sqlalchemy.exc.ProgrammingError, optuna.exceptions.DuplicatedStudyError)
    for attempt in range(_ATTEMPTS):
        try:
            return action()
        except races:
            if attempt == _ATTEMPTS - 1:
                raise
            # System entropy: workers seeded alike must not back off in step.
            time.sleep(_JITTER.uniform(0.05, 0.2) * 2 ** min(attempt, 4))
    raise AssertionError("unreachable")  # pragma: no cover
