"""The city the multi-process tests deploy (tests/test_live_across_nodes.py, tests/test_city_deployment.py,
tests/test_live_on_workers.py), in one place: a PostgreSQL database and a Redis server of the test's own, a city bureau over one case-handling centre with
two grassroots units, an officer in each, an administrator, and a room of the first unit with its agent's token in a file. Every
process the test starts gets the same settings (`env`) and the same shared home (the audio).

A test module imports the fixture `city_store` and the `redis_server` fixture it builds on.
"""
from dataclasses import dataclass
from pathlib import Path

import pytest

from cases import Store
from tests.agent.helpers import ROOM
from tests.api.helpers import PASSWORD

CENTRE = "城西办案中心"
UNIT = "城西派出所"
OTHER_UNIT = "城北派出所"
OFFICERS = {"officer": UNIT, "outsider": OTHER_UNIT}
"""Account names and their units (password tests.api.helpers.PASSWORD)."""


@dataclass(frozen=True)
class CityStore:
    home: Path  # the shared home: BILU_HOME of every node and worker
    env: dict  # BILU_DATABASE_URL, BILU_BROKER_URL and the settings every process gets
    token_file: Path  # the room agent's token

    @property
    def database_url(self) -> str:
        return self.env["BILU_DATABASE_URL"]


@pytest.fixture
def city_store(tmp_path, postgres_url, redis_server) -> CityStore:
    home = tmp_path / "shared" / "home"
    with Store.open(home, database_url=postgres_url) as store:
        store.add_unit("市局", level="city")
        store.add_unit(CENTRE, level="centre", parent="市局")
        for unit in (UNIT, OTHER_UNIT):
            store.add_unit(unit, level="unit", parent=CENTRE)
        for name, unit in OFFICERS.items():
            store.add_user(name, role="officer", unit=unit, password=PASSWORD)
        store.add_user("admin", role="admin", unit="市局", password=PASSWORD)
        store.add_room(ROOM, unit=UNIT)
        token = store.issue_room_token(ROOM)
    token_file = tmp_path / "room" / "token"
    token_file.parent.mkdir(parents=True)
    token_file.write_text(token)
    return CityStore(home, {"BILU_DATABASE_URL": postgres_url, "BILU_BROKER_URL": redis_server.url,
                            "BILU_ASR_THREADS": "1"}, token_file)
