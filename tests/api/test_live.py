"""Live recording end to end: `bilu record` from a replayed file and from a real PortAudio device (a PulseAudio
null sink), a kill -9 in the middle and `bilu recover`, and the service's rooms and WebSocket."""
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from capture import decode_file, read_segments, recover_segments
from cases import Store
from tests.audio_helpers import write_audio
from tests.capture.conftest import pulse  # noqa: F401  (the shared PulseAudio server fixture)
from transcribe.metrics import character_error_rate

SEATS = "dev_room_2spk.seats.flac"


def bilu_process(home: Path, *args, env: dict | None = None) -> subprocess.Popen:
    environment = {**os.environ, "BILU_HOME": str(home), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "api", *map(str, args)], env=environment, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def opening(tmp_path_factory, data_dir) -> Path:
    """The first 13 s of the two-seat mix (two turns, one per seat), as a 16 kHz stereo WAV."""
    audio = decode_file(data_dir / SEATS).samples[: 13 * 16000]
    return write_audio(tmp_path_factory.mktemp("clips") / "opening.wav", audio, 16000)


def test_record_a_replayed_file(tmp_path, opening, whisper_model):
    home = tmp_path / "home"
    process = bilu_process(home, "record", "--case", "L-1", "--room", "一号室", "--file", opening,
                           "--seat-roles", "讯问人,被讯问人")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    lines = out.splitlines()
    session_id = int(lines[0])  # the first line is the session id
    assert any("讯问人:" in line for line in lines[1:]) and any("被讯问人:" in line for line in lines[1:])
    with Store.open(home) as store:
        session = store.get_session(session_id)
        segments = store.audio_segments(session_id)
        utterances = store.utterances(session_id)
    assert session["kind"] == "live" and session["status"] == "done"
    assert session["duration_s"] == pytest.approx(13.0, abs=0.1)
    # The archive holds exactly what was played, sample for sample (16-bit).
    kept = read_segments(recover_segments(home / session["audio_path"]))
    played = decode_file(opening).samples
    assert kept.samples.shape == played.shape
    assert np.abs(kept.samples - played).max() < 1e-3
    assert sum(s["duration_s"] for s in segments) == pytest.approx(13.0, abs=0.1)
    # The page's player gets a 16 kHz mono mixdown of the whole session.
    playback = decode_file(home / session["audio_path"] / "playback.wav")
    assert playback.channels == 1 and playback.duration_s == pytest.approx(13.0, abs=0.05)
    np.testing.assert_allclose(playback.samples[:, 0], played.mean(axis=1), atol=2e-3)
    # Seats keep their roles, and the streaming transcript is close to the batch one of the same audio.
    assert {u["role"] for u in utterances} == {"讯问人", "被讯问人"}
    from transcribe import transcribe_samples

    batch, _ = transcribe_samples(whisper_model, played.mean(axis=1))
    assert character_error_rate("".join(u.text for u in batch), "".join(u["text"] for u in utterances)) < 0.3
    assert [f["key"] for f in session["findings"]][:1] == ["identify_officers"]


def test_kill_9_loses_at_most_a_second_and_recover_finishes_the_session(tmp_path, data_dir):
    home = tmp_path / "home"
    long_clip = data_dir / "funasr_long_25s.flac"
    process = bilu_process(home, "record", "--case", "K-1", "--room", "二号室", "--file", long_clip,
                           "--seat-roles", "被讯问人")
    session_id = int(process.stdout.readline())
    started = time.monotonic()  # the replay starts as the session id is printed
    time.sleep(9.0)
    process.send_signal(signal.SIGKILL)
    killed_after_s = time.monotonic() - started
    process.wait(10)
    with Store.open(home) as store:
        assert store.get_session(session_id)["status"] == "transcribing"  # left behind, as after a power cut
    result = subprocess.run([sys.executable, "-m", "api", "recover"], env={**os.environ, "BILU_HOME": str(home)},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert f"session {session_id}: recovered" in result.stdout
    with Store.open(home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
    assert session["status"] == "recovered"
    assert killed_after_s - 1.0 <= session["duration_s"] <= killed_after_s + 0.5
    kept = read_segments(recover_segments(home / session["audio_path"]), sample_rate=16000)
    original = decode_file(long_clip).mono()
    n = kept.samples.shape[0]
    assert np.abs(kept.samples[:, 0] - original[:n]).max() < 1e-2  # what was kept is what was played
    assert utterances and utterances[-1]["end_s"] > killed_after_s - 3.0  # the tail was transcribed
    with sqlite3.connect(home / "bilu.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # Nothing left to recover: a second run finds nothing.
    again = subprocess.run([sys.executable, "-m", "api", "recover"], env={**os.environ, "BILU_HOME": str(home)},
                           capture_output=True, text=True, timeout=120)
    assert "nothing to recover" in again.stdout


def test_record_from_a_real_device(tmp_path, opening, pulse):  # noqa: F811
    home = tmp_path / "home"
    process = bilu_process(home, "record", "--case", "D-1", "--room", "三号室", "--device", "vmic_stereo",
                           "--channels", "2", "--seat-roles", "讯问人,被讯问人", "--duration", "17", env=pulse.env)
    session_id = int(process.stdout.readline())
    time.sleep(1.5)  # the stream is open; let the first blocks arrive
    pulse.play(opening, sink="vmic_stereo")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    with Store.open(home) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
    assert session["channels"] == 2 and session["duration_s"] == pytest.approx(17.0, abs=0.2)
    assert {u["role"] for u in utterances} == {"讯问人", "被讯问人"}
    assert "".join(u["text"] for u in utterances)


def test_a_missing_device_is_a_clear_error(tmp_path, pulse):  # noqa: F811
    process = bilu_process(tmp_path / "home", "record", "--case", "E-1", "--room", "四号室", "--device",
                           "no-such-microphone", env=pulse.env)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "no-such-microphone" in err and "Traceback" not in err
    listed = subprocess.run([sys.executable, "-m", "api", "devices"], env={**os.environ, **pulse.env,
                            "BILU_HOME": str(tmp_path / "home")}, capture_output=True, text=True, timeout=60)
    assert "vmic_stereo" in listed.stdout


def test_service_room_with_websocket(tmp_path, opening, pulse):  # noqa: F811
    from api.app import create_app
    from engine.settings import Settings
    from tests.api.helpers import PASSWORD, bearer

    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        headers = bearer(client, "officer")
        started = client.post("/rooms/五号室/sessions", headers=headers,
                              json={"case_no": "W-1", "device": "vmic_stereo", "channels": 2,
                                    "seat_roles": "讯问人,被讯问人"})
        assert started.status_code == 201, started.text
        session_id = started.json()["session_id"]
        busy = client.post("/rooms/五号室/sessions", headers=headers, json={"case_no": "W-1", "device": "vmic_stereo"})
        assert busy.status_code == 409
        # A recording that cannot start leaves nothing behind, not even the new case it named.
        no_device = client.post("/rooms/六号室/sessions", headers=headers,
                                json={"case_no": "W-9", "device": "no-such-microphone"})
        assert 400 <= no_device.status_code < 500 and "no-such-microphone" in no_device.text, no_device.text
        assert client.get("/cases/W-9", headers=headers).status_code == 404
        token = headers["Authorization"].split()[1]
        with client.websocket_connect(f"/ws/sessions/{session_id}?token={token}") as ws:
            assert ws.receive_json()["state"] == "recording"
            time.sleep(1.0)
            pulse.play(opening, sink="vmic_stereo")
            stopped = client.post(f"/sessions/{session_id}/stop", headers=headers)
            assert stopped.status_code == 200 and stopped.json()["status"] == "done"
            messages = []
            while True:
                message = ws.receive_json()
                messages.append(message)
                if message["type"] == "state" and message["state"] == "stopped":
                    break
        kinds = {m["type"] for m in messages}
        assert {"utterance", "speaker", "checklist"} <= kinds
        checklist = [m for m in messages if m["type"] == "checklist"][-1]["findings"]
        assert [f["key"] for f in checklist][0] == "identify_officers"
        committed = [m["utterance"] for m in messages if m["type"] == "utterance"]
        stored = client.get(f"/sessions/{session_id}/utterances", headers=headers).json()
        assert [u["text"] for u in committed] == [u["text"] for u in stored]
        assert client.post(f"/sessions/{session_id}/stop", headers=headers).status_code == 409
        audio = client.get(f"/sessions/{session_id}/audio", headers={**headers, "Range": "bytes=0-43"})
        assert audio.status_code == 206 and audio.content[:4] == b"RIFF"
        with pytest.raises(Exception):
            with client.websocket_connect(f"/ws/sessions/{session_id}") as ws:  # no credentials
                ws.receive_json()
    with Store.open(settings.home) as store:
        entries = store.audit_rows(session_id=session_id, with_data_entries=True)
    # Who started it from the page is audited with the session's row, in its transaction, once.
    assert [(e["action"], e["user"]) for e in entries[:2]] == [
        ("session.created", "officer"), ("session.recording_started", "officer")]
    assert entries[1]["id"] == entries[0]["id"] + 1 and entries[1]["detail"] == {"room": "五号室"}
    assert sum(e["action"] == "session.recording_started" for e in entries) == 1


def test_a_room_on_the_services_devices_shows_seat_levels_and_takes_hotwords(tmp_path, opening, pulse):  # noqa: F811
    """The live read's level per seat (the page's meters) for a room on the service's own microphones, and the
    hotwords given to the start route in the session's passes and its options for recovery."""
    import threading

    from api.app import create_app
    from engine.settings import Settings
    from tests.api.helpers import PASSWORD, bearer

    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
    with TestClient(create_app(settings)) as client:
        headers = bearer(client, "officer")
        started = client.post("/rooms/七号室/sessions", headers=headers,
                              json={"case_no": "L-1", "device": "vmic_stereo", "channels": 2,
                                    "seat_roles": "讯问人,被讯问人", "hotwords": " 张三 李四 "})
        assert started.status_code == 201, started.text
        session_id = started.json()["session_id"]

        def levels(seconds: float) -> list[list[float]]:
            found, deadline = [], time.monotonic() + seconds
            while time.monotonic() < deadline:
                status = client.get(f"/sessions/{session_id}/live", headers=headers).json()
                assert "agent" not in status  # no room agent here
                if status.get("levels_db"):
                    found.append(status["levels_db"])
                time.sleep(0.25)
            return found

        silent = levels(1.5)
        player = threading.Thread(target=pulse.play, args=(opening,), kwargs={"sink": "vmic_stereo"}, daemon=True)
        player.start()
        speaking = levels(6.0)
        player.join(60)
        assert client.post(f"/sessions/{session_id}/stop", headers=headers).status_code == 200
        session = client.get(f"/sessions/{session_id}", headers=headers).json()
    assert silent and speaking and all(len(seats) == 2 for seats in silent + speaking)
    assert max(map(max, speaking)) >= max(map(max, silent)) + 30
    assert session["options"]["hotwords"] == "张三 李四" and session["options"]["resume"]["hotwords"] == "张三 李四"
    assert session["agent"] is None
