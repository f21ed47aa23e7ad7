"""A real PostgreSQL 15 server for the tests: Debian's `postgresql` package, a data folder in a temporary folder,
listening on 127.0.0.1 at a free port (and a socket in that folder), stopped and removed at the end.

PostgreSQL refuses to run as root: as root, initdb and pg_ctl run as the `postgres` user the package creates
(`runuser -u postgres --`), and the temporary folder is theirs. Authentication is `trust` on loopback only: a
test server holding test data, gone when the tests end. fsync is off (nothing here must survive a power cut);
every other setting is the server's default.

Each test gets a database of its own, copied from a template that holds the migrated schema
(`CREATE DATABASE … TEMPLATE`, a file copy: milliseconds), and dropped after it.
"""
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("BILU_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
SERVICE_USER = "postgres"
TEMPLATE = "bilu_template"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One temporary server: `start()`, `url(name)`, `new_database()`, `drop_database(name)`, `stop()`."""

    def __init__(self) -> None:
        if not (PG_BIN / "pg_ctl").is_file():
            raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}/pg_ctl missing): `make test` installs "
                               "the Debian package postgresql (or: apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="bilu-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        self._started = False

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if self._as_root else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")

    def start(self) -> "PostgresServer":
        if self._as_root:
            shutil.chown(self.root, user=SERVICE_USER, group=SERVICE_USER)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "--auth=trust", "--username=postgres",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options,
                  "-w", "-t", "60", "start")
        self._started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(statement)

    def prepare_template(self, migrate) -> None:
        """Create the template database and let `migrate(url)` bring its schema up to date (once per run)."""
        self.admin(f"CREATE DATABASE {TEMPLATE}")
        migrate(self.url(TEMPLATE))

    def new_database(self, *, template: str = TEMPLATE) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self.admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self._started:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)
