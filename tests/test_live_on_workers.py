"""Live rooms recognised on the workers (BILU_LIVE_ON_WORKERS; README "Live rooms on the workers").

Every part a real process: PostgreSQL and Redis, a `bilu serve` node over one database and one shared home, `bilu
worker` processes, a room agent streaming a real microphone (a PulseAudio null sink) to the node, a WebSocket
client of the node's page. What is checked is the mechanism, never the words: who recognised the room (a worker,
not the node), that the page on the node got every stored line from the worker through Redis, that 结束录音 on
the page reached the agent and the end reached the worker, the archive byte for byte as the room's, nothing
stored twice; with the worker that holds the room killed (kill -9, pool and all) mid-recording, another worker
takes it over from what was stored and the transcript goes on to the end; with the node the agent streams to
killed and started again, the worker keeps the room and nothing is lost.
"""
import re
import threading
import time

import httpx
import pytest

from capture import decode_file
from cases import Store
from tests.agent.helpers import ROOM, Agent, Service, agent_segments, service_segments
from tests.audio_helpers import write_audio
from tests.capture.conftest import pulse  # noqa: F401  (the shared PulseAudio server fixture)
from tests.city import CENTRE, city_store  # noqa: F401  (a fixture)
from tests.crash_helpers import duplicates
from tests.servers.redis import redis_server  # noqa: F401  (a fixture)
from tests.test_live_across_nodes import Follower, api_token
from tests.worker_helpers import Worker

pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]  # the workers run the model

SEATS = "dev_room_2spk.seats.flac"
LOCK = ".recording.lock"
TAKEN_UP = re.compile(r"session (\d+): recognised on this worker from ([0-9.]+) s")


@pytest.fixture
def centre(city_store):  # noqa: F811
    """The city (tests/city.py) with live rooms on the workers; the nodes and workers a test starts are stopped."""
    home, token_file = city_store.home, city_store.token_file
    env = {**city_store.env, "BILU_LIVE_ON_WORKERS": "1"}
    started: dict[str, list] = {"workers": [], "nodes": []}
    yield home, env, token_file, started
    for node in started["nodes"]:
        node.stop()
    for worker in started["workers"]:
        worker.stop()


def start(home, env, started, tmp_path, workers: int, **worker_env) -> tuple[Service, list[Worker]]:
    for n in range(workers):
        started["workers"].append(Worker(home, env["BILU_BROKER_URL"], tmp_path / f"worker-{n + 1}.log", "--queues",
                                         f"bilu.{CENTRE}", BILU_DATABASE_URL=env["BILU_DATABASE_URL"], **worker_env))
    for worker in started["workers"]:
        worker.wait_ready()
    node = Service(home, env=env, name="node-1").start()
    started["nodes"].append(node)
    return node, started["workers"]


def start_agent(tmp_path, node: Service, token_file, pulse, case_no: str, duration_s: float) -> tuple[Agent, int]:  # noqa: F811
    agent = Agent(tmp_path / "room" / "home", ["--server", f"http://127.0.0.1:{node.port}", "--room", ROOM,
                                              "--token-file", token_file, "--case", case_no, "--device", "vmic_stereo",
                                              "--channels", "2", "--seat-roles", "讯问人,被讯问人",
                                              "--duration", duration_s], pulse.env)
    return agent, int(agent.first_line())


def lines_of(home, database_url: str, session_id: int) -> list[dict]:
    with Store.open(home, database_url=database_url) as store:
        return sorted(store.utterances(session_id), key=lambda u: u["id"])


def wait_for_first_lines(home, env, session_id: int, *services, poll_s: float = 0.2) -> None:
    """Until the room's first lines are stored (2 minutes at most; the services' logs if not)."""
    deadline = time.monotonic() + 120
    while not lines_of(home, env["BILU_DATABASE_URL"], session_id):
        assert time.monotonic() < deadline, "".join(service.log()[-3000:] for service in services)
        time.sleep(poll_s)


def play_in_background(pulse, clip) -> threading.Thread:
    player = threading.Thread(target=pulse.play, args=(clip,), kwargs={"sink": "vmic_stereo"}, daemon=True)
    player.start()
    return player


def test_a_room_is_recognised_on_a_worker_and_stopped_from_the_page(tmp_path, centre, data_dir, pulse):  # noqa: F811
    home, env, token_file, started = centre
    node, (worker,) = start(home, env, started, tmp_path, workers=1)
    audio_s = 12
    opening = write_audio(tmp_path / "opening.wav", decode_file(data_dir / SEATS).samples[: audio_s * 16000], 16000)
    token = api_token(node.port, "officer")
    # Long enough that only the stop on the page (below, once all is played) ends it.
    agent, session_id = start_agent(tmp_path, node, token_file, pulse, "城南-2026-1", duration_s=audio_s + 60)
    page = Follower(node.port, session_id, token)  # the page on the very node the agent streams to
    time.sleep(0.5)
    pulse.play(opening, sink="vmic_stereo")
    played_at = time.monotonic()

    wait_for_first_lines(home, env, session_id, worker, node, poll_s=0.3)
    assert worker.holds(LOCK)  # the worker holds the room while it records

    # 结束录音 on the page: the node tells the agent, the agent sends the rest and ends, the end reaches the worker,
    # which stores the last words and closes the session before the page gets its answer.
    time.sleep(max(0.0, played_at + audio_s + 1 - time.monotonic()))
    answer = httpx.post(f"http://127.0.0.1:{node.port}/sessions/{session_id}/stop",
                        headers={"Authorization": f"Bearer {token}"}, timeout=400)
    assert answer.status_code == 200, answer.text + node.log()[-4000:]
    assert answer.json()["status"] == "done" and audio_s - 1 <= answer.json()["duration_s"] < audio_s + 50, \
        answer.json()
    assert agent.finish(120) == 0, agent.log() + node.log()[-4000:]
    page.join(60)
    assert not page.is_alive() and page.error is None, (page.error, page.messages[-3:])

    # The worker recognised it, from the start; the node did not.
    taken = [(int(i), float(s)) for i, s in TAKEN_UP.findall(worker.log())]
    assert taken == [(session_id, 0.0)], worker.log()[-3000:]
    assert f"session {session_id}: done" in worker.log()
    assert not TAKEN_UP.search(node.log())
    lines = lines_of(home, env["BILU_DATABASE_URL"], session_id)
    assert lines and duplicates(lines) == []
    assert {line["role"] for line in lines} <= {"讯问人", "被讯问人"}
    # The page on the node got every stored line, in order, none twice, from the worker through Redis.
    assert page.lines() == [(u["id"], u["text"]) for u in lines], (page.line_ids(), [u["id"] for u in lines])
    assert page.messages[0]["type"] == "state" and page.messages[0]["state"] == "recording"
    assert page.messages[-1]["type"] == "state" and page.messages[-1]["state"] == "stopped"
    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        stops = [row["user"] for row in store.audit_rows(session_id=session_id)
                 if row["action"] == "session.recording_stopped"]
        session = store.get_session(session_id)
    assert stops == ["officer"]
    assert session["options"]["on_workers"] is True
    assert service_segments(home, session_id, database_url=env["BILU_DATABASE_URL"]) == \
        agent_segments(tmp_path / "room" / "home")


def test_a_worker_killed_mid_room_leaves_it_to_another(tmp_path, centre, data_dir, pulse):  # noqa: F811
    """Two workers; the one holding the room is killed (kill -9, pool and all) once lines are stored. Its job comes
    back from Redis (visibility timeout, 10 s here) to the other, which takes the room over from what was stored."""
    home, env, token_file, started = centre
    node, workers = start(home, env, started, tmp_path, workers=2, BILU_BROKER_VISIBILITY_S="10",
                          BILU_BROKER_BUSY_RETRY_S="1")
    audio_s = 30
    clip = write_audio(tmp_path / "clip.wav", decode_file(data_dir / SEATS).samples[: audio_s * 16000], 16000)
    agent, session_id = start_agent(tmp_path, node, token_file, pulse, "城南-2026-2", duration_s=audio_s + 2)
    time.sleep(0.5)
    player = play_in_background(pulse, clip)

    deadline = time.monotonic() + 120
    while len(stored := lines_of(home, env["BILU_DATABASE_URL"], session_id)) < 2:
        assert time.monotonic() < deadline and agent.process.poll() is None, \
            [w.log()[-2000:] for w in workers] + [node.log()[-2000:]]
        time.sleep(0.2)
    holders = [w for w in workers if w.holds(LOCK)]
    assert len(holders) == 1, [w.log()[-2000:] for w in workers]
    killed, survivor = holders[0], next(w for w in workers if w is not holders[0])
    killed.kill_9()
    seen_before_kill = max(u["end_s"] for u in stored)

    player.join(120)
    assert agent.finish(400) == 0, agent.log() + node.log()[-4000:]
    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        session = store.get_session(session_id)
    assert session["status"] == "done", (session, survivor.log()[-3000:])
    lines = lines_of(home, env["BILU_DATABASE_URL"], session_id)

    # The survivor took the room over from where the killed worker's last stored line ended (not from 0, not later).
    taken = [(int(i), float(s)) for i, s in TAKEN_UP.findall(survivor.log())]
    assert len(taken) == 1 and taken[0][0] == session_id, survivor.log()[-3000:]
    from_s = taken[0][1]
    assert from_s >= seen_before_kill - 0.002
    assert any(abs(u["end_s"] - from_s) <= 0.002 for u in lines), (from_s, [(u["start_s"], u["end_s"]) for u in lines])
    # Nothing stored twice; the transcript goes on after the take-over to the end of what was played.
    assert duplicates(lines) == [], [(u["start_s"], u["end_s"], u["speaker"]) for u in lines]
    later = [u for u in lines if u["start_s"] >= from_s - 0.05]
    assert later, [(u["start_s"], u["end_s"]) for u in lines]
    assert max(u["end_s"] for u in lines) > audio_s - 5
    assert all(a["start_s"] <= b["start_s"] for a, b in zip(lines, lines[1:]))
    # The archive is the room's, byte for byte, and the session's length is all of it.
    assert service_segments(home, session_id, database_url=env["BILU_DATABASE_URL"]) == \
        agent_segments(tmp_path / "room" / "home")
    assert session["duration_s"] == pytest.approx(audio_s + 2, abs=0.3)


def test_the_receiving_node_killed_mid_room_loses_nothing(tmp_path, centre, data_dir, pulse):  # noqa: F811
    """The node the agent streams to is killed (kill -9) and started again mid-recording: the worker keeps the room
    (it waits for the stream), the agent resends to the restarted node, which takes the session up without
    recognising anything and references what its folder holds; the session ends whole, nothing stored twice."""
    home, env, token_file, started = centre
    node, (worker,) = start(home, env, started, tmp_path, workers=1)
    audio_s = 16
    clip = write_audio(tmp_path / "clip.wav", decode_file(data_dir / SEATS).samples[: audio_s * 16000], 16000)
    agent, session_id = start_agent(tmp_path, node, token_file, pulse, "城南-2026-3", duration_s=audio_s + 2)
    time.sleep(0.5)
    player = play_in_background(pulse, clip)
    wait_for_first_lines(home, env, session_id, worker, node)
    node.kill9()
    time.sleep(1.0)
    node.start()
    player.join(120)
    assert agent.finish(400) == 0, agent.log() + node.log()[-4000:]

    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        session = store.get_session(session_id)
    assert session["status"] == "done", (session, worker.log()[-3000:])
    # The worker recognised the whole room, once, from the start: the node's restart did not move it.
    assert [(int(i), float(s)) for i, s in TAKEN_UP.findall(worker.log())] == [(session_id, 0.0)]
    assert not TAKEN_UP.search(node.log())
    lines = lines_of(home, env["BILU_DATABASE_URL"], session_id)
    assert lines and duplicates(lines) == []
    assert max(u["end_s"] for u in lines) > audio_s - 5
    assert service_segments(home, session_id, database_url=env["BILU_DATABASE_URL"]) == \
        agent_segments(tmp_path / "room" / "home")
    assert session["duration_s"] == pytest.approx(audio_s + 2, abs=0.3)


def test_a_room_whose_agent_is_gone_is_let_go_by_its_worker_and_finished(tmp_path, centre, data_dir, pulse):  # noqa: F811
    """The agent is killed for good mid-recording; the administrator gives up on it on the node that held it
    (POST /sessions/{id}/finish-abandoned): the worker sees it, lets go of the session, and the node finishes it
    from the audio that arrived ("interrupted", nothing stored twice)."""
    home, env, token_file, started = centre
    node, (worker,) = start(home, env, started, tmp_path, workers=1)
    clip = write_audio(tmp_path / "clip.wav", decode_file(data_dir / SEATS).samples[: 16 * 16000], 16000)
    agent, session_id = start_agent(tmp_path, node, token_file, pulse, "城南-2026-4", duration_s=60)
    time.sleep(0.5)
    player = play_in_background(pulse, clip)
    wait_for_first_lines(home, env, session_id, worker, node)
    agent.kill9()
    time.sleep(1.0)
    token = api_token(node.port, "admin")
    answer = httpx.post(f"http://127.0.0.1:{node.port}/sessions/{session_id}/finish-abandoned",
                        headers={"Authorization": f"Bearer {token}"}, timeout=400)
    assert answer.status_code == 200, answer.text + worker.log()[-3000:]
    assert answer.json()["status"] == "interrupted", answer.json()
    assert f"session {session_id}: left" in worker.log()
    assert not worker.holds(LOCK)
    lines = lines_of(home, env["BILU_DATABASE_URL"], session_id)
    assert lines and duplicates(lines) == []
    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        session = store.get_session(session_id)
        assert store.session_agent(session_id)["abandoned_at"] is not None
    assert session["status"] == "interrupted" and session["duration_s"] > 2.0
    player.join(60)
