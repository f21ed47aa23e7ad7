"""Room agents end to end: the service and the agent as separate processes, a real PulseAudio null sink as the
room's microphone, a fault-injecting proxy between them (tests/agent/proxy.py), kill -9 of either side."""
import json
import random
import threading
import time
from pathlib import Path

import pytest

from capture import decode_file
from cases import Store
from tests.agent.helpers import ROOM, Agent, Service, add_room, agent_segments, service_segments
from tests.agent.proxy import FaultProxy
from tests.audio_helpers import write_audio
from tests.capture.conftest import pulse  # noqa: F401  (the shared PulseAudio server fixture)
from tests.crash_helpers import duplicates

SEATS = "dev_room_2spk.seats.flac"


@pytest.fixture(scope="module")
def opening(tmp_path_factory, data_dir) -> Path:
    """The first 13 s of the two-seat mix (two turns, one per seat), as a 16 kHz stereo WAV."""
    audio = decode_file(data_dir / SEATS).samples[: 13 * 16000]
    return write_audio(tmp_path_factory.mktemp("clips") / "opening.wav", audio, 16000)


def agent_args(port: int, token_file: Path, case_no: str, duration_s: float, room: str = ROOM) -> list:
    return ["--server", f"http://127.0.0.1:{port}", "--room", room, "--token-file", token_file, "--case", case_no,
            "--device", "vmic_stereo", "--channels", "2", "--seat-roles", "讯问人,被讯问人", "--duration", duration_s]


def play_later(pulse, clip: Path, after_s: float) -> threading.Thread:  # noqa: F811
    thread = threading.Thread(target=lambda: (time.sleep(after_s), pulse.play(clip, sink="vmic_stereo")), daemon=True)
    thread.start()
    return thread


@pytest.mark.recognition  # the service transcribes in its own process
@pytest.mark.mechanism  # nothing lost or stored twice across cuts and kills, whatever the words
def test_cuts_and_a_service_killed_lose_nothing_and_store_nothing_twice(tmp_path, opening, pulse):  # noqa: F811
    service_home, agent_home = tmp_path / "service" / "home", tmp_path / "room" / "home"
    service_home.mkdir(parents=True), agent_home.mkdir(parents=True)
    token_file = tmp_path / "room" / "token"
    token_file.write_text(add_room(service_home))
    service = Service(service_home).start()
    proxy = FaultProxy(service.port)
    try:
        agent = Agent(agent_home, agent_args(proxy.port, token_file, "N-1", 22), pulse.env)
        session_id = int(agent.first_line())
        started = time.monotonic()
        player = play_later(pulse, opening, 0.5)
        rng = random.Random(17)
        time.sleep(rng.uniform(2.0, 3.0))
        proxy.cut()  # a cable pulled
        time.sleep(rng.uniform(1.5, 2.5))
        service.kill9()  # the service dies mid-sentence ...
        killed_at_s = time.monotonic() - started
        time.sleep(1.0)
        service.start()  # ... and comes back (loading the model again) while the room goes on recording
        proxy.stall(rng.uniform(1.0, 2.0))  # a link that hangs
        time.sleep(2.5)
        proxy.down(rng.uniform(1.0, 2.0))  # the network away for a while
        player.join(60)
        assert agent.finish(240) == 0, agent.log() + service.log()[-4000:]
    finally:
        proxy.close()
        service.stop()
    assert agent.stdout[0] == str(session_id)
    with Store.open(service_home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
        outages = store.outages(session_id)
        audit = [row["action"] for row in store.audit_rows()]
    # The service's archive is the room's, byte for byte: every segment's sha256 equal, none missing.
    assert service_segments(service_home, session_id) == agent_segments(agent_home)
    assert session["status"] == "done" and session["duration_s"] == pytest.approx(22.0, abs=0.2)
    assert session["room"] == ROOM and session["channels"] == 2
    # Each outage is on the session, from before to after; nothing said is stored twice.
    assert len(outages) >= 2 and all(o["seconds"] > 0 for o in outages), outages
    assert duplicates(utterances) == []
    # The transcript goes on after the service's restart, speakers by seat.
    assert utterances and max(u["end_s"] for u in utterances) > killed_at_s + 1.0, (killed_at_s, utterances)
    assert {u["role"] for u in utterances} <= {"讯问人", "被讯问人"}
    assert audit.count("agent.connected") >= 3
    assert "taken up again" in service.log()  # the restarted service went on with the same session
    state = json.loads(next((agent_home / "agent" / ROOM).glob("*/state.json")).read_text())
    assert state["finished"] and state["session_id"] == session_id


@pytest.mark.recognition
@pytest.mark.mechanism
def test_an_agent_killed_and_started_again_takes_up_its_session(tmp_path, opening, pulse):  # noqa: F811
    service_home, agent_home = tmp_path / "service" / "home", tmp_path / "room" / "home"
    service_home.mkdir(parents=True), agent_home.mkdir(parents=True)
    token_file = tmp_path / "room" / "token"
    token_file.write_text(add_room(service_home))
    service = Service(service_home).start()
    try:
        args = agent_args(service.port, token_file, "K-1", 16)
        first = Agent(agent_home, args, pulse.env)
        session_id = int(first.first_line())
        player = play_later(pulse, opening, 0.3)
        time.sleep(5.0)
        first.kill9()
        with Store.open(service_home) as store:
            assert store.get_session(session_id)["status"] == "transcribing"
        second = Agent(agent_home, args, pulse.env)
        assert int(second.first_line()) == session_id  # the same session, from the room's own archive
        player.join(60)
        assert second.finish(240) == 0, second.log() + service.log()[-4000:]
    finally:
        service.stop()
    with Store.open(service_home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
        outages = store.outages(session_id)
    assert service_segments(service_home, session_id) == agent_segments(agent_home)
    assert session["status"] == "done" and session["duration_s"] == pytest.approx(16.0, abs=0.2)
    assert len(outages) == 1 and outages[0]["seconds"] > 0
    assert duplicates(utterances) == []
    assert utterances


def test_wrong_revoked_and_other_rooms_tokens_are_refused(tmp_path, pulse):  # noqa: F811
    service_home, agent_home = tmp_path / "service" / "home", tmp_path / "room" / "home"
    service_home.mkdir(parents=True), agent_home.mkdir(parents=True)
    token = add_room(service_home)
    other = add_room(service_home, "二号讯问室")
    with Store.open(service_home) as store:
        store.issue_room_token(ROOM)  # the first token is replaced: it no longer works
        store.revoke_room_token("二号讯问室")
        revoked = other
    service = Service(service_home).start()
    try:
        other_room_token = add_room(service_home, "三号讯问室")
        for name, value in (("wrong", "not-a-token"), ("replaced", token), ("revoked", revoked),
                            ("other", other_room_token)):
            token_file = tmp_path / name
            token_file.write_text(value)
            agent = Agent(agent_home, agent_args(service.port, token_file, "T-1", 30), pulse.env)
            assert agent.finish(60) == 2, (name, agent.log())
            assert "refused" in agent.log() and "Traceback" not in agent.log(), (name, agent.log())
            assert not agent.stdout, name  # no session was opened
    finally:
        service.stop()
    with Store.open(service_home) as store:
        assert store.list_sessions() == []
        refusals = [row["detail"]["reason"] for row in store.audit_rows() if row["action"] == "agent.refused"]
    assert sorted(refusals) == sorted(["unknown or revoked token"] * 3 + ["another room's token"])


@pytest.mark.recognition
@pytest.mark.mechanism
def test_a_standing_by_agent_records_what_the_page_starts_and_stops(tmp_path, opening, pulse):  # noqa: F811
    import httpx

    from tests.api.helpers import PASSWORD

    service_home, agent_home = tmp_path / "service" / "home", tmp_path / "room" / "home"
    service_home.mkdir(parents=True), agent_home.mkdir(parents=True)
    token_file = tmp_path / "room" / "token"
    token_file.write_text(add_room(service_home))
    add_room(service_home, "二号讯问室")  # its agent never connects
    with Store.open(service_home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
    service = Service(service_home).start()
    agent = Agent(agent_home, ["--server", f"http://127.0.0.1:{service.port}", "--room", ROOM, "--token-file",
                               token_file, "--device", "vmic_stereo", "--channels", "2"], pulse.env)
    try:
        deadline = time.monotonic() + 120
        while "等待在页面上开始录音" not in agent.log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "等待在页面上开始录音" in agent.log(), agent.log()
        with httpx.Client(base_url=f"http://127.0.0.1:{service.port}", timeout=180) as client:
            token = client.post("/auth/tokens", json={"name": "officer", "password": PASSWORD, "label": "t"}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            offline = client.post("/rooms/二号讯问室/sessions", headers=headers, json={"case_no": "P-2"})
            assert offline.status_code == 503 and "不在线" in offline.json()["detail"]
            standing = {r["name"]: r for r in client.get("/rooms", headers=headers).json()}
            assert standing[ROOM]["agent"] == "standing_by" and standing["二号讯问室"]["agent"] == "not_connected"
            # Measured while it stands by: on one machine the clocks agree, within the loopback's round trip.
            assert abs(standing[ROOM]["clock_offset_s"]) < 0.05 and 0 <= standing[ROOM]["clock_round_trip_s"] < 0.5
            started = client.post(f"/rooms/{ROOM}/sessions", headers=headers,
                                  json={"case_no": "P-1", "channels": 2, "seat_roles": "讯问人,被讯问人",
                                        "hotwords": "张三 李四"})
            assert started.status_code == 201, started.text
            session_id = started.json()["session_id"]
            assert int(agent.first_line()) == session_id
            silent = _live_levels(client, headers, session_id, seconds=1.5)  # the null sink plays nothing yet
            player = play_later(pulse, opening, 0.0)
            speaking = _live_levels(client, headers, session_id, seconds=8.0)
            recording = {r["name"]: r for r in client.get("/rooms", headers=headers).json()}[ROOM]
            player.join(60)
            stopped = client.post(f"/sessions/{session_id}/stop", headers=headers)
            assert stopped.status_code == 200 and stopped.json()["status"] == "done", stopped.text
            read = client.get(f"/sessions/{session_id}", headers=headers).json()
        deadline = time.monotonic() + 60
        while agent.log().count("等待在页面上开始录音") < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert agent.process.poll() is None  # standing by again for the next session
        agent.process.terminate()
        assert agent.finish(60) == 0, agent.log()
    finally:
        if agent.process.poll() is None:
            agent.process.kill()
        service.stop()
    with Store.open(service_home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
        entries = store.audit_rows(session_id=session_id, with_data_entries=True)
    # The officer who started it from the page is audited with the session's row that the agent's stream opened.
    assert [(e["action"], e["user"]) for e in entries[:2]] == [
        ("session.created", "officer"), ("session.recording_started", "officer")]
    assert entries[1]["detail"] == {"room": ROOM}
    assert service_segments(service_home, session_id) == agent_segments(agent_home)
    assert session["status"] == "done" and session["duration_s"] > 10.0
    assert {u["role"] for u in utterances} == {"讯问人", "被讯问人"}
    # The page's hotwords reached the streaming passes and the options kept for a restart.
    assert session["options"]["hotwords"] == "张三 李四" and session["options"]["resume"]["hotwords"] == "张三 李四"
    # The live read while it recorded: the agent online, one level per seat, speech well above the silent sink.
    assert all(s["agent"] == "recording" and len(s["levels_db"]) == 2 for s in silent + speaking), silent + speaking
    assert max(max(s["levels_db"]) for s in silent) <= -80
    assert max(max(s["levels_db"]) for s in speaking) >= max(max(s["levels_db"]) for s in silent) + 30
    assert recording["agent"] == "recording" and recording["session_id"] == session_id
    assert len(recording["levels_db"]) == 2
    # The agent clock as measured at its connection, kept with the session.
    assert read["agent"]["room"] == ROOM and abs(read["agent"]["clock_offset_s"]) < 0.05
    assert 0 <= read["agent"]["clock_round_trip_s"] < 0.5 and read["agent"]["ended_at"] is not None


def _live_levels(client, headers: dict, session_id: int, *, seconds: float) -> list[dict]:
    """GET /sessions/{id}/live every 0.25 s for `seconds`: the reads that had audio."""
    reads, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(f"/sessions/{session_id}/live", headers=headers).json()
        if status["recording"] and status.get("levels_db"):
            reads.append(status)
        time.sleep(0.25)
    assert reads, "no live read with audio"
    return reads
