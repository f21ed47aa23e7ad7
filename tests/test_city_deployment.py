"""A centre as a city deploys it, every part a real process: PostgreSQL (BILU_DATABASE_URL) and Redis
(BILU_BROKER_URL) from Debian's packages, two `bilu serve` nodes and two `bilu worker` processes over one
database and one shared home (the audio), a room agent streaming a real microphone (a PulseAudio null sink) to
one node, and a file uploaded through the other.

What is checked is the mechanism, never the words: who ran each session, that both finished whole, nothing
stored twice, the room's archive byte for byte on the centre's side, a login made on one node honoured by the
other, and `bilu verify` intact over the shared database. Live rooms are recognised by the node the agent
streams to here (BILU_LIVE_ON_WORKERS unset, the default; tests/test_live_on_workers.py runs them on the workers).
"""
import subprocess
import sys
import time

import httpx
import pytest

from capture import decode_file
from cases import Store
from tests.agent.helpers import ROOM, Agent, Service, agent_segments, service_segments
from tests.api.helpers import PASSWORD, wait_for_status
from tests.audio_helpers import write_audio
from tests.capture.conftest import pulse  # noqa: F401  (the shared PulseAudio server fixture)
from tests.city import CENTRE, city_store  # noqa: F401  (a fixture)
from tests.crash_helpers import duplicates
from tests.servers.redis import redis_server  # noqa: F401  (a fixture)
from tests.worker_helpers import Worker, worker_env

pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]  # nodes and workers run the model

SEATS = "dev_room_2spk.seats.flac"
UPLOAD = "funasr_asr_example_zh.wav"


def test_two_nodes_two_workers_an_agent_and_an_upload(tmp_path, city_store, data_dir, pulse):  # noqa: F811
    home, env, token_file = city_store.home, city_store.env, city_store.token_file
    opening = write_audio(tmp_path / "opening.wav", decode_file(data_dir / SEATS).samples[: 10 * 16000], 16000)
    workers = [Worker(home, env["BILU_BROKER_URL"], tmp_path / f"worker-{n}.log", "--queues", f"bilu.{CENTRE}",
                      BILU_DATABASE_URL=env["BILU_DATABASE_URL"]) for n in (1, 2)]
    nodes = [Service(home, env=env, name=f"node-{n}") for n in (1, 2)]
    try:
        for worker in workers:
            worker.wait_ready()
        for node in nodes:
            node.start()
        agent_home = tmp_path / "room" / "home"
        agent = Agent(agent_home, ["--server", f"http://127.0.0.1:{nodes[0].port}", "--room", ROOM,
                                   "--token-file", token_file, "--case", "城东-2026-1", "--device", "vmic_stereo",
                                   "--channels", "2", "--seat-roles", "讯问人,被讯问人", "--duration", 12],
                      pulse.env)
        live_id = int(agent.first_line())
        time.sleep(0.5)
        pulse.play(opening, sink="vmic_stereo")

        # The officer logs in on node 1 and uploads through node 2: the token is in the shared database.
        with httpx.Client(base_url=f"http://127.0.0.1:{nodes[0].port}", timeout=60) as first, \
                httpx.Client(base_url=f"http://127.0.0.1:{nodes[1].port}", timeout=60) as second:
            login = first.post("/auth/tokens", json={"name": "officer", "password": PASSWORD, "label": "city"})
            assert login.status_code == 200, login.text
            headers = {"Authorization": f"Bearer {login.json()['token']}"}
            uploaded = second.post("/cases/城东-2026-2/recordings", headers=headers,
                                   files={"file": (UPLOAD, (data_dir / UPLOAD).read_bytes(), "audio/wav")})
            assert uploaded.status_code == 202, uploaded.text
            file_id = uploaded.json()["session_id"]
            file_session = wait_for_status(first, file_id, headers, limit_s=300)
            assert agent.finish(240) == 0, agent.log() + nodes[0].log()[-4000:]
            live_session = wait_for_status(second, live_id, headers, limit_s=300)
    finally:
        for node in nodes:
            node.stop()
        for worker in workers:
            worker.stop()

    logs = [worker.log() for worker in workers]
    assert file_session["status"] == "done", logs
    assert sum(f"session {file_id}: done" in log for log in logs) == 1, logs  # one worker ran it, once
    for node in nodes:  # no node transcribed the upload itself
        assert f"session {file_id}: done" not in node.log()
    assert live_session["status"] == "done" and live_session["room"] == ROOM, live_session

    with Store.open(home, database_url=env["BILU_DATABASE_URL"]) as store:
        file_lines = store.utterances(file_id)
        live_lines = store.utterances(live_id)
    assert file_lines and duplicates(file_lines) == []
    assert live_lines and duplicates(live_lines) == []
    assert {line["role"] for line in live_lines} <= {"讯问人", "被讯问人"}
    # The room's archive reached the shared home byte for byte.
    assert service_segments(home, live_id, database_url=env["BILU_DATABASE_URL"]) == agent_segments(agent_home)

    verified = subprocess.run([sys.executable, "-m", "api", "verify"], capture_output=True, text=True, timeout=300,
                              env=worker_env(home, env["BILU_BROKER_URL"],
                                             BILU_DATABASE_URL=env["BILU_DATABASE_URL"]))
    assert verified.returncode == 0, verified.stdout + verified.stderr
