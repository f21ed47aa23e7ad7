"""Fixtures shared by every test package: the test audio, the real embedded model, a fresh BILU_HOME.

Network access is refused for the whole suite (pytest-socket, see pyproject.toml): only loopback is
allowed, so a test fails if the code tries to reach anything else.
"""
import json
import os
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
# The PulseAudio fixtures give child processes a HOME of their own; the assembled Whisper model stays where
# it is (transcribe.model looks in $XDG_CACHE_HOME/bilu/models) instead of being assembled again there.
os.environ.setdefault("XDG_CACHE_HOME", str(Path.home() / ".cache"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def manifest() -> dict[str, dict]:
    rows = [json.loads(line) for line in (DATA / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    return {row["file"]: row for row in rows}


@pytest.fixture(scope="session")
def whisper_model():
    """The real embedded Whisper base model, loaded once for the session."""
    from transcribe import ModelSpec, load_model

    return load_model(ModelSpec())


@pytest.fixture
def bilu_home(tmp_path: Path) -> Path:
    return tmp_path / "bilu-home"


@pytest.fixture
def settings(bilu_home: Path):
    from engine.settings import Settings

    return Settings(home=bilu_home)


def pytest_collection_modifyitems(config, items):
    """Mark `recognition` every test that uses the model in this process (through the whisper_model fixture,
    directly or under another fixture); modules that run it in a child process (`bilu transcribe`, `bilu
    record`, a room started over HTTP) carry the mark themselves. `make test` runs these again under another
    CPU's kernels (tests/kernels.py)."""
    for item in items:
        if "whisper_model" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.recognition)


# The store's two backends (tests/backends.py). A test that takes `backend` runs once on each; the PostgreSQL
# server starts once per run, at the first such test, and each test gets a fresh database from its template.

@pytest.fixture(scope="session")
def postgres_server():
    from cases import Store
    from tests.servers.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        server.prepare_template(lambda url: Store.open(Path(server.root) / "template-home", database_url=url).close())
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server):
    """The URL of a fresh, migrated PostgreSQL database of this test's own."""
    name = postgres_server.new_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    from tests.backends import Backend

    if request.param == "sqlite":
        return Backend("sqlite")
    return Backend("postgresql", request.getfixturevalue("postgres_url"), request.getfixturevalue("postgres_server"))
