"""The agent clock's offset (measured as NTP does, stored, shown), the rooms' read, and the refusals of finishing an
agent's session that is not waiting for its agent. Real SQLite and the real app; no recognition."""
import time

import pytest

from agent.protocol import ProtocolError, clock_offset
from agent.receiver import _checked_clock
from cases import Store, StreamNotOpen
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session


@pytest.mark.parametrize("skew_s", [-3600.0, -0.25, 0.0, 12.5, 86000.0])
@pytest.mark.parametrize("there_s, work_s, back_s", [(0.004, 0.2, 0.004), (0.3, 0.0, 0.3), (0.05, 1.5, 0.05)])
def test_the_offset_is_the_skew_whatever_the_service_takes_to_answer(skew_s, there_s, work_s, back_s):
    """The agent's clock runs `skew_s` behind the service's; symmetric ways there and back: the offset is exact,
    and the round trip counts the wire only, not the service's work before answering."""
    sent = 1_800_000_000.0  # agent clock
    received = sent + skew_s + there_s  # service clock
    answered = received + work_s
    back = answered - skew_s + back_s  # agent clock
    offset, round_trip = clock_offset(sent_s=sent, received_s=received, answered_s=answered, back_s=back)
    assert offset == pytest.approx(skew_s, abs=1e-6)
    assert round_trip == pytest.approx(there_s + back_s, abs=1e-6)


def test_an_asymmetric_link_is_off_by_at_most_half_the_round_trip():
    sent, skew = 1_800_000_000.0, 7.0
    received = sent + skew + 0.9  # 0.9 s there, 0.1 s back
    back = received - skew + 0.1
    offset, round_trip = clock_offset(sent_s=sent, received_s=received, answered_s=received, back_s=back)
    assert round_trip == pytest.approx(1.0)
    assert abs(offset - skew) <= round_trip / 2 + 1e-9 and offset != pytest.approx(skew)


@pytest.mark.parametrize("message", [{"type": "clock", "offset_s": 2e5, "round_trip_s": 0.1},
                                     {"type": "clock", "offset_s": 0.0, "round_trip_s": -1},
                                     {"type": "clock", "offset_s": 0.0, "round_trip_s": 120},
                                     {"type": "clock", "offset_s": "soon", "round_trip_s": 0.1},
                                     {"type": "segment"}])
def test_a_clock_message_that_is_no_measure_is_refused(message):
    with pytest.raises((ProtocolError, ValueError, KeyError)):
        _checked_clock(message)


def _agent_session(store: Store, case_no: str, room: str, stream: str) -> int:
    session_id = store.create_session(case_no=case_no, room=room, kind="live", source_name="room agent",
                                      audio_path=f"audio/live/{stream}", audio_sha256="", audio_bytes=0,
                                      duration_s=0.0, sample_rate=16000, channels=2, diarizer="channel",
                                      model="base", options={})
    store.add_agent_stream(session_id, room=room, stream_key=stream, clock_offset_s=0.4)
    return session_id


def test_the_clock_is_in_the_session_read_and_the_rooms_read(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_unit("二中心", level="centre", parent="默认单位")
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        store.add_user("other", role="officer", unit="二中心", password=PASSWORD)
        store.add_user("prosecutor", role="prosecutor", unit="默认单位", password=PASSWORD)
        store.add_room("一号讯问室", unit="默认单位")
        store.add_room("九号讯问室", unit="二中心")
        streamed = _agent_session(store, "C-1", "一号讯问室", "0123456789abcdef")
        store.set_agent_clock_offset(streamed, -2.5, round_trip_s=0.012)
        uploaded = stored_session(store, "C-2", [(0.0, 1.0, "S1", "你好")])
        audit = [(r["action"], r["detail"]) for r in store.audit_rows() if r["action"] == "agent.clock_offset"]
    assert audit == [("agent.clock_offset", {"clock_offset_ms": -2500, "clock_round_trip_ms": 12})]
    with client_for(settings) as client:
        officer = bearer(client, "officer")
        agent = client.get(f"/sessions/{streamed}", headers=officer).json()["agent"]
        assert agent["room"] == "一号讯问室" and agent["clock_offset_s"] == -2.5
        assert agent["clock_round_trip_s"] == 0.012 and agent["ended_at"] is None and agent["abandoned_at"] is None
        assert client.get(f"/sessions/{uploaded}", headers=officer).json()["agent"] is None
        rooms = client.get("/rooms", headers=officer).json()
        assert [r["name"] for r in rooms] == ["一号讯问室"]  # the officer's unit only
        assert rooms[0]["agent"] == "not_connected" and rooms[0]["session_id"] is None
        assert rooms[0]["last_session_id"] == streamed and rooms[0]["clock_offset_s"] == -2.5
        assert "token" not in str(rooms[0]).replace("has_token", "").replace("token_issued_at", "").replace(
            "token_revoked_at", "")  # nothing of a token but whether there is one
        assert [r["name"] for r in client.get("/rooms", headers=bearer(client, "other")).json()] == ["九号讯问室"]
        assert client.get("/rooms", headers=bearer(client, "prosecutor")).json() == []


def test_finishing_what_is_not_waiting_for_its_agent_is_refused(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("admin", role="admin", unit="默认单位", password=PASSWORD)
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        store.add_room("一号讯问室", unit="默认单位")
        streamed = _agent_session(store, "F-1", "一号讯问室", "fedcba9876543210")
        store.end_agent_stream(streamed)  # its agent sent everything
        uploaded = stored_session(store, "F-2", [(0.0, 1.0, "S1", "你好")])
        before = len(store.audit_rows())
    with client_for(settings) as client:
        admin, officer = bearer(client, "admin"), bearer(client, "officer")
        assert client.post(f"/sessions/{streamed}/finish-abandoned", headers=officer).status_code == 403
        for session_id in (streamed, uploaded):
            answer = client.post(f"/sessions/{session_id}/finish-abandoned", headers=admin)
            assert answer.status_code == 409 and answer.json()["code"] == "agent_stream_not_open", answer.text
        assert client.post("/sessions/999999/finish-abandoned", headers=admin).status_code == 404
    with Store.open(settings.home) as store:
        assert not [r for r in store.audit_rows()[before:] if r["action"] == "agent.stream_abandoned"]
        with pytest.raises(StreamNotOpen):
            store.abandon_agent_stream(streamed, from_epoch_s=time.time() - 5, to_epoch_s=time.time())
        assert store.outages(streamed) == []


def test_a_room_token_reads_nothing(tmp_path):
    """A room's token lets its agent stream that room, nothing else: no case, session, room list or live events."""
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_room("一号讯问室", unit="默认单位")
        token = store.issue_room_token("一号讯问室")
        session_id = stored_session(store, "R-1", [(0.0, 1.0, "S1", "你好")])
    headers = {"Authorization": f"Bearer {token}"}
    with client_for(settings) as client:
        for path in ("/cases", "/cases/R-1", f"/sessions/{session_id}", f"/sessions/{session_id}/utterances",
                     f"/sessions/{session_id}/export?format=txt", "/rooms", "/search?q=你好"):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 401, (path, answer.status_code)
        assert client.post("/rooms/一号讯问室/sessions", headers=headers, json={"case_no": "R-2"}).status_code == 401
        with pytest.raises(Exception):
            with client.websocket_connect(f"/ws/sessions/{session_id}?token={token}") as ws:
                ws.receive_json()
