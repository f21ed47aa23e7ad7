"""A room agent that never comes back (killed -9, its machine lost): an administrator finishes its session from what
arrived, through the running service (POST /sessions/{id}/finish-abandoned) or, the service stopped, from the
command line (bilu rooms finish). Separate processes, a PulseAudio null sink as the room's microphone."""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from capture import read_segments, recover_segments
from cases import Store
from engine.abandoned import ABANDONED_ERROR
from tests.agent.helpers import ROOM, Agent, Service, add_room, bilu_env
from tests.agent.test_agent import agent_args, opening, play_later  # noqa: F401  (the clip fixture)
from tests.capture.conftest import pulse  # noqa: F401  (the shared PulseAudio server fixture)
from tests.crash_helpers import duplicates

# The service transcribes in its own process; what is checked (what is kept, recorded, refused) is a mechanism.
pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]


def _start(tmp_path: Path, pulse, case_no: str):  # noqa: F811
    service_home, agent_home = tmp_path / "service" / "home", tmp_path / "room" / "home"
    service_home.mkdir(parents=True), agent_home.mkdir(parents=True)
    token_file = tmp_path / "room" / "token"
    token_file.write_text(add_room(service_home))
    service = Service(service_home).start()
    args = agent_args(service.port, token_file, case_no, 60)
    agent = Agent(agent_home, args, pulse.env)
    return service, agent, args, service_home, agent_home


def _finish_cli(home: Path, session_id: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api", "rooms", "finish", str(session_id)], env=bilu_env(home),
                          capture_output=True, text=True, timeout=300)


def _room_audio(agent_home: Path) -> tuple[np.ndarray, int]:
    """The room's own recording: samples at the device's rate, and that rate."""
    folder = next(p for p in (agent_home / "agent" / ROOM).iterdir() if p.is_dir())
    segments = recover_segments(folder)
    return read_segments(segments).samples, segments[0].sample_rate


def _check_finished(service_home: Path, agent_home: Path, session_id: int, *, actor: str) -> dict:
    """`actor`: who the audit entry names (the administrator; the command line's "cli:" and the OS user)."""
    with Store.open(service_home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
        outages = store.outages(session_id)
        agent = store.session_agent(session_id)
        stored = store.audio_segments(session_id)
        abandoned = [r for r in store.audit_rows() if r["action"] == "agent.stream_abandoned"]
    assert session["status"] == "interrupted" and session["error"].startswith(ABANDONED_ERROR), session["error"]
    assert agent["ended_at"] is not None and agent["abandoned_at"] is not None
    assert len(abandoned) == 1 and abandoned[0]["user"].startswith(actor), abandoned
    assert abandoned[0]["session_id"] == session_id
    assert outages and outages[-1]["seconds"] > 0  # from its last audio here to the giving up
    # Everything that arrived is kept, the open segment too: the service's audio is the start of the room's,
    # sample for sample, and reaches about where the agent was killed (~7 s; at most a message or two short).
    served = read_segments(recover_segments(service_home / session["audio_path"])).samples
    room, rate = _room_audio(agent_home)
    assert 5.0 <= served.shape[0] / rate <= room.shape[0] / rate, (served.shape, room.shape)
    assert np.array_equal(served, room[: served.shape[0]])
    assert session["duration_s"] == pytest.approx(served.shape[0] / rate, abs=0.01)
    assert len(stored) == len(recover_segments(service_home / session["audio_path"]))
    assert utterances and duplicates(utterances) == []
    return session


def test_the_running_service_finishes_a_session_whose_agent_is_gone(tmp_path, opening, pulse):  # noqa: F811
    import httpx

    from tests.api.helpers import PASSWORD

    service, agent, args, service_home, agent_home = _start(tmp_path, pulse, "AB-1")
    with Store.open(service_home) as store:
        store.add_user("admin", role="admin", unit="默认单位", password=PASSWORD)
    try:
        session_id = int(agent.first_line())
        play_later(pulse, opening, 0.3)
        time.sleep(7.0)
        with httpx.Client(base_url=f"http://127.0.0.1:{service.port}", timeout=300) as client:
            token = client.post("/auth/tokens", json={"name": "admin", "password": PASSWORD, "label": "t"}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            online = client.post(f"/sessions/{session_id}/finish-abandoned", headers=headers)
            assert online.status_code == 409 and online.json()["code"] == "agent_online", online.text
            agent.kill9()  # the room's machine is gone
            deadline = time.monotonic() + 30
            while client.get(f"/sessions/{session_id}/live", headers=headers).json().get("agent") != "offline":
                assert time.monotonic() < deadline, "the service did not notice the agent gone"
                time.sleep(0.3)
            busy = _finish_cli(service_home, session_id)  # the running service holds the session
            assert busy.returncode == 2 and "running service" in busy.stderr, busy.stderr
            finished = client.post(f"/sessions/{session_id}/finish-abandoned", headers=headers)
            assert finished.status_code == 200, finished.text
            assert finished.json()["status"] == "interrupted" and finished.json()["outage_s"] > 0
            assert client.get(f"/sessions/{session_id}/live", headers=headers).json()["recording"] is False
            again = client.post(f"/sessions/{session_id}/finish-abandoned", headers=headers)
            assert again.status_code == 409
        _check_finished(service_home, agent_home, session_id, actor="admin")
        # The agent started again: it hears the session is closed, stops, and keeps its recording.
        back = Agent(agent_home, args, pulse.env)
        assert int(back.first_line()) == session_id
        assert back.finish(60) == 0, back.log()
        assert "已结束" in back.log()
    finally:
        service.stop()
    room, rate = _room_audio(agent_home)
    assert room.shape[0] / rate > 6.0


def test_the_command_finishes_it_with_the_service_stopped(tmp_path, opening, pulse):  # noqa: F811
    service, agent, _, service_home, agent_home = _start(tmp_path, pulse, "AB-2")
    try:
        session_id = int(agent.first_line())
        play_later(pulse, opening, 0.3)
        time.sleep(7.0)
        agent.kill9()
        time.sleep(1.0)
    finally:
        service.stop()  # SIGTERM: the session stays open, waiting for its agent
    with Store.open(service_home) as store:
        assert store.get_session(session_id)["status"] == "transcribing"
    done = _finish_cli(service_home, session_id)
    assert done.returncode == 0, done.stderr
    assert f"session {session_id}: finished without its agent" in done.stdout
    _check_finished(service_home, agent_home, session_id, actor="cli:")
    again = _finish_cli(service_home, session_id)
    assert again.returncode == 2 and "Traceback" not in again.stderr

