"""Rooms, their agents' tokens, streams and outages in the store; `bilu rooms ...` on the command line."""
import time

import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import AccountExists, RoomNotFound, UnitNotFound
from cases.errors import StoreError


@pytest.fixture
def store(tmp_path, backend):
    with backend.open(tmp_path) as opened:
        yield opened


def test_a_token_streams_only_its_room_and_stops_when_replaced_or_revoked(store):
    store.add_room("一号室", unit="默认单位")
    store.add_room("二号室", unit="默认单位")
    first = store.issue_room_token("一号室")
    assert store.room_for_token(first)["name"] == "一号室"
    second = store.issue_room_token("一号室")
    assert store.room_for_token(first) is None and store.room_for_token(second)["name"] == "一号室"
    assert store.revoke_room_token("一号室") is True
    assert store.room_for_token(second) is None
    assert store.revoke_room_token("一号室") is False  # nothing left to revoke
    assert store.room_for_token("") is None and store.room_for_token("x" * 500) is None
    # Only the hash is kept.
    stored = [row[0] for row in store._db.execute("SELECT token_sha256 FROM rooms").fetchall()]
    assert second not in stored and first not in stored
    actions = [row["action"] for row in store.audit_rows()]
    assert actions.count("room.added") == 2 and actions.count("room.token_issued") == 2
    assert actions.count("room.token_revoked") == 1


def test_bad_rooms_are_refused_with_their_reason(store):
    store.add_room("一号室", unit="默认单位")
    with pytest.raises(AccountExists, match="exists already"):
        store.add_room("一号室", unit="默认单位")
    with pytest.raises(UnitNotFound):
        store.add_room("二号室", unit="没有的单位")
    with pytest.raises(RoomNotFound, match="bilu rooms list"):
        store.issue_room_token("三号室")


def test_outages_are_kept_once_each_and_streams_name_their_session(store):
    store.add_room("一号室", unit="默认单位")
    session_id = store.create_session(case_no="C-1", room="一号室", kind="live", source_name="room agent",
                                      audio_path="audio/live/x", audio_sha256="", audio_bytes=0, duration_s=0.0,
                                      sample_rate=16000, channels=1, diarizer="voice", model="base", options={})
    store.add_agent_stream(session_id, room="一号室", stream_key="abcdef0123456789", clock_offset_s=0.25)
    assert store.agent_stream("abcdef0123456789")["session_id"] == session_id
    assert store.open_agent_sessions() == {session_id}
    now = time.time()
    assert store.add_outage(session_id, from_epoch_s=now - 5, to_epoch_s=now) is True
    assert store.add_outage(session_id, from_epoch_s=now - 5, to_epoch_s=now) is False  # told twice
    with pytest.raises(StoreError, match="forwards"):
        store.add_outage(session_id, from_epoch_s=now, to_epoch_s=now - 1)
    assert [round(o["seconds"]) for o in store.outages(session_id)] == [5]
    store.end_agent_stream(session_id)
    assert store.open_agent_sessions() == set()


def test_rooms_commands(tmp_path, backend):
    """The commands on either backend: with BILU_DATABASE_URL set, `bilu` keeps the rooms in PostgreSQL."""
    env = {"BILU_HOME": str(tmp_path), "BILU_DATABASE_URL": backend.url}

    def bilu(*args):
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    assert "no rooms yet" in bilu("rooms", "list").output
    assert bilu("rooms", "add", "一号室", "--unit", "默认单位").exit_code == 0
    issued = bilu("rooms", "token", "一号室")
    token = issued.output.strip()
    assert issued.exit_code == 0 and len(token) >= 40
    assert "token issued" in bilu("rooms", "list").output
    assert "revoked the token" in bilu("rooms", "revoke", "一号室").output
    assert "token revoked" in bilu("rooms", "list").output
    unknown = bilu("rooms", "token", "二号室")
    assert unknown.exit_code == 2 and "no room named" in unknown.output
    if backend.url is not None:  # nothing went to a SQLite file beside the audio
        assert not (tmp_path / "bilu.db").exists()
    with backend.open(tmp_path) as store:
        assert store.room_for_token(token) is None
        assert [r["user"].startswith("cli:") for r in store.audit_rows() if r["action"].startswith("room.")] == [True] * 3
