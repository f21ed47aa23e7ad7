"""A live session followed on a node that does not record it (README "City deployment": live events through Redis).

Every part a real process: PostgreSQL and Redis, two `bilu serve` nodes over one database and one shared home, a
room agent streaming a real microphone (a PulseAudio null sink) to node 1, and WebSocket clients on both nodes: one
on node 2 from the session's start, one on node 2 that joins once lines are stored, one on node 1 for comparison.
What is checked is the mechanism, never the words: each client gets exactly the lines node 1 stored, in order, none
twice; node 2 shows the recording's levels, and in GET /rooms the room whose agent node 1 holds; node 2 refuses the
accounts node 1 refuses; 结束录音 asked on node 2 stops the recording on node 1, audited once as the officer who
asked. And with Redis killed in the middle of a recording: the recording goes on whole (a WARNING in node 1's
log), a stop asked on node 2 is a 503 (not a stop claimed), and node 2's page still gets every line, from the
store.
"""
import json
import subprocess
import sys
import threading
import time

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from capture import decode_file
from cases import Store
from tests.agent.helpers import ROOM, Agent, Service, bilu_env
from tests.api.helpers import PASSWORD
from tests.audio_helpers import write_audio
from tests.capture.conftest import pulse  # noqa: F401  (the shared PulseAudio server fixture)
from tests.city import UNIT, city_store  # noqa: F401  (a fixture)
from tests.servers.redis import redis_server, stop_redis  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]  # node 1 runs the model

SEATS = "dev_room_2spk.seats.flac"
AUDIO_S = 12


class Follower(threading.Thread):
    """A WebSocket client of /ws/sessions/{id}: every message until the server closes."""

    def __init__(self, port: int, session_id: int, token: str):
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{port}/ws/sessions/{session_id}?token={token}"
        self.messages: list[dict] = []
        self.error: Exception | None = None
        self.start()

    def run(self) -> None:
        try:
            with connect(self.url, open_timeout=10, close_timeout=5) as websocket:
                for raw in websocket:
                    self.messages.append(json.loads(raw))
        except Exception as exc:  # kept for the assertion's message
            self.error = exc

    def line_ids(self) -> list[int]:
        return [m["utterance"]["id"] for m in self.messages if m["type"] == "utterance"]

    def lines(self) -> list[tuple[int, str]]:
        return [(m["utterance"]["id"], m["utterance"]["text"]) for m in self.messages if m["type"] == "utterance"]


@pytest.fixture
def city(tmp_path, city_store, data_dir):
    """The city (tests/city.py) and two `bilu serve` nodes over it; the room's opening to play."""
    nodes = [Service(city_store.home, env=city_store.env, name=f"node-{n}") for n in (1, 2)]
    opening = write_audio(tmp_path / "opening.wav",
                          decode_file(data_dir / SEATS).samples[: AUDIO_S * 16000], 16000)
    try:
        for node in nodes:
            node.start()
        yield city_store.home, city_store.env, city_store.token_file, nodes, opening
    finally:
        for node in nodes:
            node.stop()


def api_token(port: int, name: str) -> str:
    answer = httpx.post(f"http://127.0.0.1:{port}/auth/tokens", timeout=30,
                        json={"name": name, "password": PASSWORD, "label": "live"})
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def start_agent(tmp_path, node: Service, token_file, pulse, case_no: str,  # noqa: F811
                duration_s: float = AUDIO_S + 2) -> tuple[Agent, int]:
    agent = Agent(tmp_path / "room" / "home", ["--server", f"http://127.0.0.1:{node.port}", "--room", ROOM,
                                              "--token-file", token_file, "--case", case_no, "--device", "vmic_stereo",
                                              "--channels", "2", "--seat-roles", "讯问人,被讯问人",
                                              "--duration", duration_s], pulse.env)
    return agent, int(agent.first_line())


def stored_lines(home, database_url: str, session_id: int) -> list[tuple[int, str]]:
    with Store.open(home, database_url=database_url) as store:
        return sorted((u["id"], u["text"]) for u in store.utterances(session_id))


def wait_for_lines(home, database_url: str, session_id: int, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not stored_lines(home, database_url, session_id):
        assert time.monotonic() < deadline, "node 1 stored no line"
        time.sleep(0.3)


def test_a_page_on_node_2_follows_a_room_recorded_on_node_1(tmp_path, city, pulse):  # noqa: F811
    home, env, token_file, (node1, node2), opening = city
    token = api_token(node2.port, "officer")
    outsider = api_token(node1.port, "outsider")
    # Long enough that only the stop asked on node 2 (below, once all is played) ends it.
    agent, session_id = start_agent(tmp_path, node1, token_file, pulse, "城西-2026-1", duration_s=AUDIO_S + 60)
    early = Follower(node2.port, session_id, token)
    here = Follower(node1.port, session_id, token)
    time.sleep(0.5)
    pulse.play(opening, sink="vmic_stereo")
    played_at = time.monotonic()

    # Node 2 checks the account as node 1 does: no account, or a session outside the account's units, is refused.
    for node in (node1, node2):
        for query in ("", f"?token={outsider}"):
            with pytest.raises(InvalidStatus):
                with connect(f"ws://127.0.0.1:{node.port}/ws/sessions/{session_id}{query}", open_timeout=10):
                    pass

    # Node 2's live page shows the recording's levels (and the room agent's link) that node 1 publishes; its
    # GET /rooms shows the room as node 1 holds it (the agent recording this session, its clock, the levels).
    headers = {"Authorization": f"Bearer {token}"}
    statuses, listed = [], []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (any(s.get("levels_db") for s in statuses)
                                               and any(r.get("levels_db") for r in listed)):
        answer = httpx.get(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/live", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        statuses.append(answer.json())
        answer = httpx.get(f"http://127.0.0.1:{node2.port}/rooms", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        listed.extend(r for r in answer.json() if r["name"] == ROOM)
        time.sleep(0.5)
    shown = [s for s in statuses if s.get("levels_db")]
    assert shown, statuses
    assert shown[0]["recording"] and len(shown[0]["levels_db"]) == 2 and shown[0]["agent"] == "recording", shown
    assert shown[0]["channels"] == 2 and shown[0]["audio_age_s"] is not None
    room = next((r for r in listed if r.get("levels_db")), None)
    assert room is not None and listed[0]["agent"] == "recording", listed  # from the first look: never "not here"
    assert room["session_id"] == session_id and len(room["levels_db"]) == 2 and room["clock_offset_s"] is not None

    # A page that opens once lines are stored gets those from the store, then the rest from the channel.
    wait_for_lines(home, env["BILU_DATABASE_URL"], session_id)
    late = Follower(node2.port, session_id, token)

    # 结束录音 on node 2 once all is played: node 1 stops it (its agent sends the rest) and node 2 answers once it
    # has, with the session closed; audited once, as the officer who asked on node 2.
    while not late.messages and late.is_alive():
        time.sleep(0.2)
    time.sleep(max(0.0, played_at + AUDIO_S + 1 - time.monotonic()))
    answer = httpx.post(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/stop", headers=headers, timeout=200)
    assert answer.status_code == 200, answer.text + node1.log()[-4000:]
    assert answer.json()["status"] == "done" and AUDIO_S - 1 <= answer.json()["duration_s"] < AUDIO_S + 50, \
        answer.json()  # all that was played, and not the agent's own end
    assert agent.finish(120) == 0, agent.log() + node1.log()[-4000:]
    answer = httpx.post(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/stop", headers=headers, timeout=30)
    assert answer.status_code == 409, answer.text  # stopped: not recording anywhere
    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        stops = [row for row in store.audit_rows(session_id=session_id) if row["action"] == "session.recording_stopped"]
    assert [row["user"] for row in stops] == ["officer"], stops
    for follower in (early, here, late):
        follower.join(60)
        assert not follower.is_alive() and follower.error is None, (follower.error, follower.messages[-3:])

    stored = stored_lines(home, env["BILU_DATABASE_URL"], session_id)
    assert stored
    for follower in (here, early, late):  # every stored line, in the order stored, none twice, as stored
        assert follower.lines() == stored, (follower.url, follower.line_ids(), [i for i, _ in stored])
        assert follower.messages[0]["type"] == "state" and follower.messages[0]["state"] == "recording"
        assert follower.messages[-1]["type"] == "state" and follower.messages[-1]["state"] == "stopped"
        assert {m["session_id"] for m in follower.messages} == {session_id}
        speakers = [m["speaker"] for m in follower.messages if m["type"] == "speaker"]
        assert len(speakers) == len(set(speakers)) and speakers
        assert not any("run" in m or "seq" in m for m in follower.messages)  # the relay's counts stay inside
    assert late.messages[1]["type"] != "tentative"  # the catch-up comes before anything live
    assert "live events" not in node1.log() + node2.log()  # Redis was there throughout: no warning


def test_redis_lost_mid_recording_loses_no_line(tmp_path, city, pulse, redis_server):  # noqa: F811
    home, env, token_file, (node1, node2), opening = city
    token = api_token(node2.port, "officer")
    agent, session_id = start_agent(tmp_path, node1, token_file, pulse, "城西-2026-2")
    early = Follower(node2.port, session_id, token)
    time.sleep(0.5)
    pulse.play(opening, sink="vmic_stereo")
    wait_for_lines(home, env["BILU_DATABASE_URL"], session_id)
    stop_redis(redis_server)  # Redis is gone for the rest of the recording

    answer = httpx.get(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/live",
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert answer.status_code == 503 and answer.json()["code"] == "live_events_unavailable", answer.text
    answer = httpx.post(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/stop",
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 503 and answer.json()["code"] == "remote_stop_unavailable", answer.text
    answer = httpx.get(f"http://127.0.0.1:{node2.port}/rooms", headers={"Authorization": f"Bearer {token}"},
                       timeout=10)
    # Whether another node holds the room's agent is not known: said so, never shown as not connected.
    assert answer.status_code == 200, answer.text
    assert [room["agent"] for room in answer.json() if room["name"] == ROOM] == ["unknown"], answer.text
    assert agent.finish(120) == 0, agent.log() + node1.log()[-4000:]
    early.join(60)
    assert not early.is_alive() and early.error is None, (early.error, early.messages[-3:])

    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        session = store.get_session(session_id)
    assert session["status"] == "done" and session["duration_s"] >= AUDIO_S - 1, session
    stored = stored_lines(home, env["BILU_DATABASE_URL"], session_id)
    assert early.lines() == stored  # from the channel, then from the store: in order, none twice
    assert early.messages[-1]["type"] == "state" and early.messages[-1]["state"] == "stopped"
    assert "WARNING" in node1.log() and "live events: Redis at" in node1.log()
    assert "cannot be reached" in node2.log()


def test_a_page_follows_bilu_record_from_any_node(city):
    """`bilu record` publishes like a node's room: its page is live on every `bilu serve` node."""
    home, env, _, (_, node2), opening = city
    token = api_token(node2.port, "officer")
    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:  # a case of the officer's unit
        store.ensure_case("城西-2026-3")
        store.set_case_unit("城西-2026-3", UNIT)
    record = subprocess.Popen([sys.executable, "-m", "api", "record", "--case", "城西-2026-3", "--room", "二号室",
                               "--file", str(opening), "--seat-roles", "讯问人,被讯问人"],
                              env=bilu_env(home, env), text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    session_id = int(record.stdout.readline())
    follower = Follower(node2.port, session_id, token)
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 20
    shown = None
    while time.monotonic() < deadline and shown is None:
        status = httpx.get(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/live", headers=headers,
                           timeout=10).json()
        shown = status if status.get("levels_db") else None
        time.sleep(0.5)
    out, err = record.communicate(timeout=120)
    assert record.returncode == 0, err
    follower.join(60)
    assert not follower.is_alive() and follower.error is None, (follower.error, follower.messages[-3:])
    assert shown is not None and shown["recording"] and len(shown["levels_db"]) == 2, shown
    stored = stored_lines(home, env["BILU_DATABASE_URL"], session_id)
    assert stored and follower.lines() == stored
    assert len(out.splitlines()) == len(stored)  # the command still prints its lines (after the id, read above)
    assert follower.messages[-1]["type"] == "state" and follower.messages[-1]["state"] == "stopped"


def test_a_page_on_node_2_starts_a_room_whose_agent_stands_by_on_node_1(tmp_path, city, pulse):  # noqa: F811
    """开始录音 on a node the room's standing-by agent is not connected to: node 1 (which holds the agent) starts the
    session exactly as a local start, once, audited as the officer who asked on node 2; node 2 answers with its id
    and its page follows it. A room whose agent is connected nowhere is still 503 agent_offline, at once."""
    home, env, token_file, (node1, node2), opening = city
    token = api_token(node2.port, "officer")
    headers = {"Authorization": f"Bearer {token}"}
    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        store.add_room("二号讯问室", unit=UNIT)  # its agent never connects
    agent = Agent(tmp_path / "room" / "home", ["--server", f"http://127.0.0.1:{node1.port}", "--room", ROOM,
                                              "--token-file", token_file, "--device", "vmic_stereo", "--channels", "2"],
                  pulse.env)
    try:
        deadline = time.monotonic() + 60
        standing = None
        while standing != "standing_by":  # as node 1 publishes it, every second
            assert time.monotonic() < deadline, agent.log() + node1.log()[-2000:]
            time.sleep(0.3)
            answer = httpx.get(f"http://127.0.0.1:{node2.port}/rooms", headers=headers, timeout=10)
            standing = next(r["agent"] for r in answer.json() if r["name"] == ROOM)
        asked = time.monotonic()
        offline = httpx.post(f"http://127.0.0.1:{node2.port}/rooms/二号讯问室/sessions", headers=headers,
                             json={"case_no": "城西-2026-5"}, timeout=30)
        assert offline.status_code == 503 and offline.json()["code"] == "agent_offline", offline.text
        assert time.monotonic() - asked < 4  # connected nowhere: said at once, not after waiting for a taker

        started = httpx.post(f"http://127.0.0.1:{node2.port}/rooms/{ROOM}/sessions", headers=headers, timeout=120,
                             json={"case_no": "城西-2026-4", "channels": 2, "seat_roles": "讯问人,被讯问人"})
        assert started.status_code == 201, started.text + node1.log()[-4000:]
        session_id = started.json()["session_id"]
        assert started.json()["websocket"] == f"/ws/sessions/{session_id}"
        assert int(agent.first_line()) == session_id  # the agent records the session node 1 opened
        follower = Follower(node2.port, session_id, token)
        time.sleep(0.5)
        pulse.play(opening, sink="vmic_stereo")
        played_at = time.monotonic()
        wait_for_lines(home, env["BILU_DATABASE_URL"], session_id)
        busy = httpx.post(f"http://127.0.0.1:{node2.port}/rooms/{ROOM}/sessions", headers=headers, timeout=30,
                          json={"case_no": "城西-2026-4"})
        assert busy.status_code == 503, busy.text  # recording: not standing by anywhere, so nothing is asked
        time.sleep(max(0.0, played_at + AUDIO_S + 1 - time.monotonic()))
        stopped = httpx.post(f"http://127.0.0.1:{node2.port}/sessions/{session_id}/stop", headers=headers,
                             timeout=200)
        assert stopped.status_code == 200 and stopped.json()["status"] == "done", stopped.text
        follower.join(60)
        assert not follower.is_alive() and follower.error is None, (follower.error, follower.messages[-3:])
        deadline = time.monotonic() + 60
        while agent.log().count("等待在页面上开始录音") < 2:  # standing by again for the next session
            assert time.monotonic() < deadline, agent.log()
            time.sleep(0.2)
        agent.process.terminate()
        assert agent.finish(60) == 0, agent.log()
    finally:
        if agent.process.poll() is None:
            agent.process.kill()

    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        sessions = store.list_sessions("城西-2026-4")
        entries = store.audit_rows(session_id=session_id, with_data_entries=True)
        refused_case_kept = "城西-2026-5" in {case["case_no"] for case in store.list_cases()}
    assert [s["id"] for s in sessions] == [session_id]  # created once
    assert [(e["action"], e["user"]) for e in entries[:2]] == [
        ("session.created", "officer"), ("session.recording_started", "officer")]
    assert [e["action"] for e in entries].count("session.recording_started") == 1
    assert not refused_case_kept  # the case opened for the refused start was not kept
    stored = stored_lines(home, env["BILU_DATABASE_URL"], session_id)
    assert stored and follower.lines() == stored  # node 2's page: every line node 1 stored, once, in order
    assert follower.messages[0]["state"] == "recording" and follower.messages[-1]["state"] == "stopped"

