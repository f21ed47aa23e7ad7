"""Faults under the running service (uvicorn on a loopback port, rooms recording from PulseAudio null sinks).

- The disk of the live recordings fills up (a real tmpfs of 256 KiB mounted over BILU_HOME/audio/live; the
  database stays on the roomy disk): the session ends "interrupted" with an error naming the full disk, every
  closed segment re-reads with its stored sha256, the service keeps answering (health, login, lists, search),
  a new room refuses clearly while the disk is full, and records again once the disk has room.
- The audio device disappears mid-session (the PulseAudio server is stopped): the session ends "interrupted",
  the audio up to the loss is kept, the WebSocket said "device_lost", and the page in Chromium says so.
Mounting needs root (CI has it); without it the disk test is skipped and says why.
"""
import contextlib
import json
import subprocess
import threading
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from engine.settings import Settings
from capture import decode_file, read_segments, recover_segments
from capture.recorder import file_sha256
from cases import Store
from tests.api.helpers import PASSWORD
from tests.api.browser import log_in, serving
from tests.audio_helpers import write_audio
from tests.capture.conftest import private_pulse, pulse  # noqa: F401  (PulseAudio servers)

SEATS = "dev_room_2spk.seats.flac"


def officer_client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=150)
    token = client.post("/auth/tokens", json={"name": "officer", "password": PASSWORD, "label": "faults"})
    assert token.status_code == 200, token.text
    client.headers["Authorization"] = f"Bearer {token.json()['token']}"
    return client


def home_with_officer(home: Path) -> Settings:
    settings = Settings(home=home)
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
    return settings


def wait_until_finished(client: httpx.Client, session_id: int, *, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        session = client.get(f"/sessions/{session_id}").json()
        if session["status"] != "transcribing":
            return session
        time.sleep(0.2)
    pytest.fail(f"session {session_id} was still recording after {timeout_s} s")


def assert_archive_intact(home: Path, session_id: int) -> list[dict]:
    """Every stored segment is a readable WAV with its stored sha256, numbered and timed without gaps."""
    with Store.open(home) as store:
        segments = store.audio_segments(session_id)
    assert segments, "no segment was kept"
    assert [s["seq"] for s in segments] == list(range(len(segments)))
    for previous, segment in zip(segments, segments[1:]):
        assert segment["start_s"] == pytest.approx(previous["start_s"] + previous["duration_s"], abs=2e-3)
    for segment in segments:
        path = home / segment["path"]
        assert file_sha256(path) == segment["sha256"]
        with wave.open(str(path)) as wav:
            assert wav.getnframes() == segment["frames"] and wav.getsampwidth() == 2
            assert len(wav.readframes(segment["frames"])) == segment["frames"] * 2 * wav.getnchannels()
    return segments


def similarity(recorded: np.ndarray, played: np.ndarray) -> float:
    """How closely the best-aligned stretch of `recorded` matches `played` (1.0: the same, up to loudness)."""
    n = len(recorded) + len(played)
    correlation = np.fft.irfft(np.fft.rfft(recorded, n) * np.conj(np.fft.rfft(played, n)), n)
    lag = int(np.argmax(correlation))
    lag = lag - n if lag > len(recorded) else lag  # negative: the first ms of the clip never reached the sink
    window = recorded[max(0, lag): max(0, lag) + len(played)]
    played = played[max(0, -lag): max(0, -lag) + len(window)]
    return float(window @ played / (np.linalg.norm(window) * np.linalg.norm(played) + 1e-12))


@pytest.fixture
def clip(tmp_path, data_dir) -> Path:
    """13 s of real speech (the two-seat mix's opening, mixed to mono) as a 16 kHz WAV to play into a sink."""
    audio = decode_file(data_dir / SEATS).samples[: 13 * 16000].mean(axis=1, keepdims=True)
    return write_audio(tmp_path / "opening_mono.wav", audio, 16000)


@pytest.fixture
def small_live_disk(tmp_path) -> Iterator[Path]:
    """BILU_HOME whose live-recording folder is a 256 KiB tmpfs (about 3 s of the sink's audio)."""
    home = tmp_path / "home"
    live = home / "audio" / "live"
    live.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(live)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 256 KiB tmpfs to fill (needs root and mount rights): {mounted.stderr.strip()}")
    try:
        yield home
    finally:
        subprocess.run(["umount", "--lazy", str(live)], check=False)


def test_a_full_disk_interrupts_the_recording_and_the_service_keeps_serving(small_live_disk, pulse, clip):  # noqa: F811
    home = small_live_disk
    settings = home_with_officer(home)
    with serving(settings, stop_timeout_s=150) as url, contextlib.closing(officer_client(url)) as client:
        started = client.post("/rooms/一号室/sessions", json={"case_no": "F-1", "device": "vmic_mono"})
        assert started.status_code == 201, started.text
        session_id = started.json()["session_id"]
        player = threading.Thread(target=pulse.play, args=(clip,), kwargs={"sink": "vmic_mono"}, daemon=True)
        player.start()
        session = wait_until_finished(client, session_id, timeout_s=90)

        assert session["status"] == "interrupted"
        assert "no space" in session["error"].lower() and "kept" in session["error"], session["error"]
        segments = assert_archive_intact(home, session_id)
        assert session["duration_s"] == pytest.approx(segments[-1]["start_s"] + segments[-1]["duration_s"], abs=0.01)
        assert session["duration_s"] > 1.0  # the disk held seconds of audio before it filled

        # The service keeps serving: health, a new login, the lists, search, the session's page.
        assert client.get("/health").json() == {"status": "ok"}
        with contextlib.closing(officer_client(url)) as second_login:
            assert second_login.get("/auth/me").status_code == 200
        assert session_id in [s["id"] for s in client.get("/sessions").json()]
        assert client.get("/search", params={"q": "讯问"}).status_code == 200
        assert client.get(f"/sessions/{session_id}/utterances").status_code == 200
        page = client.get(f"/sessions/{session_id}/page")
        assert page.status_code == 200 and "录音因错误中断" in page.text

        # While the disk is full a new recording is refused clearly, and nothing is stored for it.
        sessions_before = len(client.get("/sessions").json())
        refused = client.post("/rooms/二号室/sessions", json={"case_no": "F-1", "device": "vmic_mono"})
        assert refused.status_code == 503 and "no space" in refused.json()["detail"].lower(), refused.text
        assert len(client.get("/sessions").json()) == sessions_before
        # The player's copy could not be written at the close: asking for it says why, the archive is untouched.
        no_copy = client.get(f"/sessions/{session_id}/audio")
        assert no_copy.status_code == 503 and "no space" in no_copy.json()["detail"], no_copy.text
        assert_archive_intact(home, session_id)

        # The operator gives the disk room (without restarting anything): the next room records normally,
        # and the interrupted session's player gets its audio once there is room to prepare it.
        subprocess.run(["mount", "-o", "remount,size=16m", str(home / "audio" / "live")], check=True)
        again = client.post("/rooms/二号室/sessions", json={"case_no": "F-1", "device": "vmic_mono", "duration_s": 3})
        assert again.status_code == 201, again.text
        second = wait_until_finished(client, again.json()["session_id"], timeout_s=90)
        assert second["status"] == "done" and second["duration_s"] == pytest.approx(3.0, abs=0.2)
        assert_archive_intact(home, second["id"])
        audio = client.get(f"/sessions/{session_id}/audio", headers={"Range": "bytes=0-43"})
        assert audio.status_code == 206 and audio.content[:4] == b"RIFF"
        player.join(timeout=30)


def test_a_lost_device_interrupts_the_session_keeps_its_audio_and_the_page_says_so(
        tmp_path, private_pulse, browser, clip):  # noqa: F811
    settings = home_with_officer(tmp_path / "home")
    with serving(settings, stop_timeout_s=150) as url, contextlib.closing(officer_client(url)) as client:
        started = client.post("/rooms/三号室/sessions", json={"case_no": "D-1", "device": "vmic_mono"})
        assert started.status_code == 201, started.text
        session_id = started.json()["session_id"]

        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=url, locale="zh-CN")
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            received: list[dict] = []  # what the page's WebSocket was sent
            page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: received.append(json.loads(frame))))
            log_in(page)
            page.goto(f"/sessions/{session_id}/page")
            assert "正在录音" in page.locator("#live-state").text_content()
            private_pulse.play(clip, sink="vmic_mono")  # 13 s of speech, then the sound server goes away
            private_pulse.stop()

            banner = page.locator("#interruption")
            banner.wait_for(timeout=30_000)  # the page reloads once the session is closed
            assert "录音设备中断" in banner.text_content() and banner.is_visible()
            assert page.locator("#session-status").text_content() == "已中断"
        finally:
            context.close()

        states = [m["state"] for m in received if m.get("type") == "state"]
        assert "device_lost" in states and states[-1] == "interrupted", states
        lost = next(m for m in received if m.get("state") == "device_lost")
        assert "vmic_mono" in lost["message"]
        session = client.get(f"/sessions/{session_id}").json()
        assert session["status"] == "interrupted" and "device" in session["error"], session
        segments = assert_archive_intact(settings.home, session_id)
        assert session["duration_s"] == pytest.approx(segments[-1]["start_s"] + segments[-1]["duration_s"], abs=0.01)
        assert session["duration_s"] >= 13.0  # everything played before the loss is kept
        kept = read_segments(recover_segments(settings.home / session["audio_path"]), sample_rate=16000)
        assert similarity(kept.samples[:, 0], decode_file(clip).samples[:, 0]) > 0.9  # the speech played is in it
        audio = client.get(f"/sessions/{session_id}/audio", headers={"Range": "bytes=0-43"})
        assert audio.status_code == 206 and audio.content[:4] == b"RIFF"
