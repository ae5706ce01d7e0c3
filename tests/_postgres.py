"""A throwaway PostgreSQL server for tests: ``postgres_url`` fixture (import it in a test module).

The server is Debian's ``postgresql`` package (``initdb``/``pg_ctl`` from
``/usr/lib/postgresql/*/bin`` or ``PATH``), run as the ``postgres`` OS user from a temporary
data folder, listening only on 127.0.0.1 on a free port. Without the binaries the tests are
skipped, except when the ``CI`` environment variable is set: then they fail, so that CI cannot
silently stop testing the distributed mode.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

_USER = "postgres"


def _find_binaries() -> str | None:
    """Folder holding ``initdb`` and ``pg_ctl``, newest PostgreSQL first."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2])
    )
    for folder in reversed(candidates):
        if os.path.exists(os.path.join(folder, "initdb")):
            return folder
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(initdb))
    return None


def _unavailable(reason: str):
    message = f"PostgreSQL tests need a local server: {reason} (apt-get install -y postgresql)."
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run ``command`` as the postgres user (PostgreSQL refuses to run as root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", _USER, "--", *command]
    # Otherwise run as ourselves: initdb accepts any non-root user.
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def postgres_url():
    """URL of a fresh database on a throwaway server; the server is removed afterwards."""
    binaries = _find_binaries()
    if binaries is None:
        _unavailable("initdb/pg_ctl not found")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(_USER)
        except KeyError:
            _unavailable(f"no {_USER!r} OS user")
    root = tempfile.mkdtemp(prefix="skkeras-pg-")
    data, sockets = os.path.join(root, "data"), os.path.join(root, "run")
    os.makedirs(sockets)
    if os.geteuid() == 0:
        os.chmod(root, 0o755)
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    user = _USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    port = _free_port()
    pg_ctl = os.path.join(binaries, "pg_ctl")
    try:
        _as_postgres(
            [os.path.join(binaries, "initdb"), "-D", data, "-U", user, "-A", "trust", "-E", "UTF8"]
        )
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=100"
        _as_postgres(
            [pg_ctl, "-D", data, "-o", options, "-l", os.path.join(root, "log"), "-w", "start"]
        )
    except subprocess.CalledProcessError as error:
        shutil.rmtree(root, ignore_errors=True)
        _unavailable(f"the server did not start: {error.stderr.strip()}")
    try:
        _wait_ready(port)
        createdb = os.path.join(binaries, "createdb")
        _as_postgres([createdb, "-h", "127.0.0.1", "-p", str(port), "-U", user, "skkeras"])
        yield f"postgresql+psycopg2://{user}@127.0.0.1:{port}/skkeras"
    finally:
        try:
            _as_postgres([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(root, ignore_errors=True)


def _wait_ready(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
