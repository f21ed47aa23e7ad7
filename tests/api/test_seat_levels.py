"""A level meter per seat while a room records (issue 16, item 7; built with issue 17's room agents:
AudioChunk.levels_db, GET /sessions/{id}/live `levels_db`, static/live.js and common.js showLevels).

In Debian's Chromium, with a PulseAudio device: one seat's real microphone (tests/data/dev_room_2spk.seats.flac)
speaking on seat 1 and nothing on seat 2 shows as a full meter beside an empty one, each with its level.
"""
import threading
import wave

import numpy as np
import pytest

from capture import decode_file
from cases import Store
from engine.settings import Settings
from tests.api.browser import chromium, log_in, serving
from tests.api.helpers import PASSWORD
from tests.capture.conftest import pulse  # noqa: F401  (the PulseAudio server)
from tests.capture.pulse import SINK_RATE

CASE = "A-2026-0600"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        store.add_user("wang", role="officer", unit="默认单位", password=PASSWORD)
        store.ensure_case(CASE)
    return settings


def one_seat_speaking(data_dir, path):
    """A stereo WAV for the sink: the room's first seat on the left, nothing on the right."""
    voice = decode_file(data_dir / "dev_room_2spk.seats.flac").samples[: 12 * 16000, 0]
    stereo = np.stack([voice, np.zeros_like(voice)], axis=1)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SINK_RATE)
        out.writeframes((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())


@pytest.mark.recognition  # the room is transcribed in the service's process
@pytest.mark.mechanism  # what the page shows, not which words the model writes
def test_the_live_page_shows_a_meter_per_seat(world, pulse, data_dir, tmp_path):  # noqa: F811
    wav = tmp_path / "seat1.wav"
    one_seat_speaking(data_dir, wav)
    with serving(world, stop_timeout_s=60) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=url, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(20_000)
        log_in(page, "wang")
        csrf = next(c["value"] for c in context.cookies() if c["name"] == "bilu_csrf")
        started = page.request.post("/rooms/八号室/sessions", headers={"X-CSRF-Token": csrf},
                                    data={"case_no": CASE, "device": "vmic_stereo", "channels": 2})
        assert started.status == 201, started.text()
        session_id = started.json()["session_id"]
        page.goto(f"/sessions/{session_id}/page")
        meters = "document.querySelectorAll('#seat-levels .seat-level')"
        page.wait_for_function(f"{meters}.length === 2")
        # Before anyone speaks: both at the floor (the null sink plays digital silence).
        page.wait_for_function(f"Array.from({meters}).every(m => Number(m.dataset.db) <= -80)")
        player = threading.Thread(target=pulse.play, args=(wav,), kwargs={"sink": "vmic_stereo"})
        player.start()
        try:
            # Seat 1 speaking shows well above the floor while seat 2 stays at it, at the same reading.
            page.wait_for_function(f"() => {{ const [one, two] = {meters};"
                                   " return Number(one.dataset.db) > -45 && Number(two.dataset.db) <= -80; }")
            one, two = page.locator("#seat-levels .seat-level").all()
            assert one.text_content().startswith("座位1") and two.text_content().startswith("座位2")
            widths = [float(m.locator(".bar").evaluate("bar => parseFloat(bar.style.width)")) for m in (one, two)]
            assert widths[0] > 20 and widths[1] == 0, widths
            status = page.request.get(f"/sessions/{session_id}/live").json()
            assert status["recording"] and len(status["levels_db"]) == 2
        finally:
            player.join()
        assert page.request.post(f"/sessions/{session_id}/stop", headers={"X-CSRF-Token": csrf}).ok
        context.close()
