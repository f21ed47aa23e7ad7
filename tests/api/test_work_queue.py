"""Recognition on a queue (BILU_BROKER_URL): a real redis-server, real `bilu worker` processes, real kill -9.

What is checked is the mechanism (who runs a session, that it finishes once, whole, with nothing stored twice),
never the words: the tests whose workers run the model are marked `recognition` and `mechanism`, so `make test`
does not run them again under the other kernels.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from fastapi.testclient import TestClient

from cases import Store
from engine.settings import Settings
from engine.work_queue import DEFAULT_QUEUE, queue_for_case_unit
from tests.api.helpers import PASSWORD, bearer, wait_for_status
from tests.crash_helpers import DUPLICATE_OVERLAP_S, duplicates
from tests.servers.redis import free_port, redis_server  # noqa: F401  (a fixture)
from tests.worker_helpers import Worker, worker_env

SEATS = "dev_room_2spk.seats.flac"  # 38.6 s, two seats: its second 30 s window is recognised after the first
SHORT = "funasr_asr_example_zh.wav"
CENTRE = "中心A"


@pytest.fixture
def workers():
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def home(tmp_path) -> Path:
    home = tmp_path / "home"
    with Store.open(home) as store:
        store.add_unit("市局", level="city")
        store.add_unit(CENTRE, level="centre", parent="市局")
        store.add_unit("派出所A", level="unit", parent=CENTRE)
        store.add_user("officer", role="officer", unit="派出所A", password=PASSWORD)
    return home


def bilu(home: Path, broker_url: str, *args: str, timeout_s: float = 600, **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api", *args], env=worker_env(home, broker_url, **extra),
                          capture_output=True, text=True, timeout=timeout_s)


def stored_utterances(home: Path) -> int:
    with Store.open(home) as store:
        return sum(len(store.utterances(s["id"])) for s in store.list_sessions())


def assert_whole_and_once(home: Path, session_id: int) -> dict:
    """The session finished, its transcript covers the audio, and no speech is stored twice."""
    with Store.open(home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
        transcribed_until = store.transcribed_until(session_id)
    assert session["status"] in ("done", "recovered"), session
    assert utterances and duplicates(utterances) == [], utterances
    assert transcribed_until == pytest.approx(session["duration_s"], abs=0.01)
    assert max(u["end_s"] for u in utterances) > session["duration_s"] - 3.0
    assert all(0 <= u["start_s"] < u["end_s"] <= session["duration_s"] + DUPLICATE_OVERLAP_S for u in utterances)
    return session


def test_the_queue_of_a_case_is_its_centre(home):
    with Store.open(home) as store:
        units = store.list_units()
        default_unit = units[0]["name"]
    assert queue_for_case_unit(units, "派出所A") == f"bilu.{CENTRE}"
    assert queue_for_case_unit(units, CENTRE) == f"bilu.{CENTRE}"
    assert queue_for_case_unit(units, "市局") == DEFAULT_QUEUE
    assert queue_for_case_unit(units, default_unit) == DEFAULT_QUEUE
    assert queue_for_case_unit(units, None) == DEFAULT_QUEUE


@pytest.mark.recognition
@pytest.mark.mechanism
def test_bilu_transcribe_hands_the_file_to_a_worker_and_waits(home, redis_server, workers, data_dir, tmp_path):
    workers.append(Worker(home, redis_server.url, tmp_path / "worker.log"))
    workers[0].wait_ready()
    result = bilu(home, redis_server.url, "transcribe", str(data_dir / SHORT), "--case", "Q-2026-1")
    assert result.returncode == 0, result.stderr
    session_id = int(result.stdout.strip())
    assert f"session {session_id} sent to queue {DEFAULT_QUEUE}" in result.stderr
    # The worker ran it (the command did not load a model: it waited).
    assert "faster_whisper" not in result.stderr
    assert f"session {session_id}: done" in workers[0].log()
    session = assert_whole_and_once(home, session_id)
    assert session["status"] == "done"


@pytest.mark.recognition
@pytest.mark.mechanism
def test_a_worker_killed_mid_file_leaves_the_rest_to_another(home, redis_server, workers, data_dir, tmp_path):
    """Two workers; the one that took the job is killed (kill -9, pool and all) once the first utterances are
    stored. The job comes back from Redis (visibility timeout, 10 s here) to the other worker, which resumes after
    the last stored utterance: the session is finished whole, nothing stored twice."""
    short_visibility = {"BILU_BROKER_VISIBILITY_S": "10", "BILU_BROKER_BUSY_RETRY_S": "1"}
    for name in ("a", "b"):
        workers.append(Worker(home, redis_server.url, tmp_path / f"worker-{name}.log", **short_visibility))
    for worker in workers:
        worker.wait_ready()
    command = subprocess.Popen(
        [sys.executable, "-m", "api", "transcribe", str(data_dir / SEATS), "--case", "Q-2026-2",
         "--seat-roles", "讯问人,被讯问人"], env=worker_env(home, redis_server.url, **short_visibility),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while stored_utterances(home) < 1:
        assert command.poll() is None and time.monotonic() < deadline, command.communicate()
        time.sleep(0.05)
    holders = [w for w in workers if w.holds("session-1.lock")]
    assert len(holders) == 1, [w.log()[-2000:] for w in workers]  # one worker is at work on it, the other not
    killed, survivor = holders[0], next(w for w in workers if w is not holders[0])
    with Store.open(home) as store:
        before = len(store.utterances(1))
        assert store.get_session(1)["status"] == "transcribing"
    killed.kill_9()
    out, err = command.communicate(timeout=600)
    assert command.returncode == 0, err
    assert out.strip() == "1"
    session = assert_whole_and_once(home, 1)
    assert session["status"] == "recovered", session  # resumed from what was stored, not run again from 0
    with Store.open(home) as store:
        assert len(store.utterances(1)) > before
    assert "session 1: recovered" in survivor.log()
    verify = bilu(home, redis_server.url, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.recognition
@pytest.mark.mechanism
def test_a_pool_process_killed_mid_job_gives_the_job_back_at_once(home, redis_server, workers, data_dir, tmp_path):
    """Only the process running the job is killed: the worker's main process puts the job back at once
    (reject_on_worker_lost), without waiting for the visibility timeout (an hour here)."""
    workers.append(Worker(home, redis_server.url, tmp_path / "worker.log", BILU_BROKER_VISIBILITY_S="3600"))
    workers[0].wait_ready()
    command = subprocess.Popen(
        [sys.executable, "-m", "api", "transcribe", str(data_dir / SEATS), "--case", "Q-2026-3",
         "--seat-roles", "讯问人,被讯问人"], env=worker_env(home, redis_server.url),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while stored_utterances(home) < 1:
        assert command.poll() is None and time.monotonic() < deadline, command.communicate()
        time.sleep(0.05)
    pool = psutil.Process(workers[0].process.pid).children()
    assert len(pool) == 1
    pool[0].kill()
    out, err = command.communicate(timeout=600)
    assert command.returncode == 0, err
    session = assert_whole_and_once(home, int(out))
    assert session["status"] == "recovered", session
    assert workers[0].process.poll() is None  # the worker itself goes on, with a new pool process


@pytest.mark.recognition
@pytest.mark.mechanism
def test_an_upload_goes_to_the_centre_queue_and_a_worker_of_that_centre(home, redis_server, workers, data_dir,
                                                                         tmp_path):
    settings = Settings(home=home, broker_url=redis_server.url)
    workers.append(Worker(home, redis_server.url, tmp_path / "worker.log", "--queues", f"bilu.{CENTRE}"))
    workers[0].wait_ready()
    with TestClient(create_app_for(settings), base_url="https://testserver") as client:
        headers = bearer(client, "officer")
        response = client.post("/cases/U-2026-9/recordings", headers=headers,
                               files={"file": (SHORT, (data_dir / SHORT).read_bytes(), "audio/wav")})
        assert response.status_code == 202, response.text
        session_id = response.json()["session_id"]
        session = wait_for_status(client, session_id, headers, limit_s=300)
    assert session["status"] == "done", workers[0].log()[-3000:]
    assert f"session {session_id}: done" in workers[0].log()
    assert_whole_and_once(home, session_id)
    # The service itself loaded no model: the upload worker of the service never ran.
    assert client.app.state.pipeline._model is None


def create_app_for(settings: Settings):
    from api.app import create_app

    return create_app(settings)


def test_an_unreachable_broker_refuses_the_upload_and_keeps_nothing_transcribing(home, data_dir):
    settings = Settings(home=home, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app_for(settings), base_url="https://testserver") as client:
        headers = bearer(client, "officer")
        response = client.post("/cases/U-2026-10/recordings", headers=headers,
                               files={"file": (SHORT, (data_dir / SHORT).read_bytes(), "audio/wav")})
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "broker_unavailable"
    with Store.open(home) as store:
        sessions = store.list_sessions()
    assert [s["status"] for s in sessions] == ["failed"]
    assert "work queue" in sessions[0]["error"]
    assert (home / sessions[0]["audio_path"]).is_file()  # the audio is kept all the same


def test_bilu_worker_without_a_broker_says_what_to_set(home):
    result = subprocess.run([sys.executable, "-m", "api", "worker"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "BILU_HOME": str(home)})
    assert result.returncode == 1, result.stderr
    assert "BILU_BROKER_URL" in result.stderr


@pytest.mark.recognition
@pytest.mark.mechanism
def test_a_job_lost_with_redis_is_sent_again_and_runs_once(home, redis_server, workers, data_dir, tmp_path):
    """Redis loses the queued job (FLUSHALL, as a restart without its data would): `bilu recover` sends the session
    again, and so does the worker that starts; of the two jobs one runs it, the other finds it finished."""
    command = subprocess.Popen([sys.executable, "-m", "api", "transcribe", str(data_dir / SHORT), "--case", "Q-2026-4"],
                               env=worker_env(home, redis_server.url), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while redis_server.command("LLEN", DEFAULT_QUEUE) != ":1":
        assert command.poll() is None and time.monotonic() < deadline, command.communicate()
        time.sleep(0.1)
    assert redis_server.command("FLUSHALL") == "+OK"
    recover = bilu(home, redis_server.url, "recover")
    assert recover.returncode == 0, recover.stderr
    assert recover.stdout.strip() == "session 1: sent to the workers"
    workers.append(Worker(home, redis_server.url, tmp_path / "worker.log"))
    out, err = command.communicate(timeout=600)
    assert command.returncode == 0, err
    assert out.strip() == "1"
    session = assert_whole_and_once(home, 1)
    assert session["status"] == "done"
    deadline = time.monotonic() + 60
    while workers[0].log().count("bilu.run_session[") < 4:  # two received, two succeeded
        assert time.monotonic() < deadline, workers[0].log()[-3000:]
        time.sleep(0.2)
    assert "session 1: done" in workers[0].log() and "session 1: finished" in workers[0].log()
