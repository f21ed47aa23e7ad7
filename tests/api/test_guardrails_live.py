"""Live guardrail alerts: a room recording (a real replayed recording through the real live path and Whisper)
in a case whose summons reaches its warning time during the recording: the `alert` event of kind guardrail
comes within GUARD_POLL_S (+ margin) of the condition, once; the guardrail list is sent; the stored verdicts
after the end say the same."""
import threading
import time
from datetime import datetime

import pytest

from capture import decode_file
from capture.replay import replay_file
from cases import Store
from engine.guardrails import GUARD_POLL_S
from engine.live import LiveRequest, LiveSession
from engine.settings import Settings
from tests.audio_helpers import write_audio

# The outcome rests on a mechanism (what is sealed and checked, when an alert comes), not on the model's words.
pytestmark = pytest.mark.mechanism

HOUR = 3600.0


@pytest.fixture(scope="module")
def opening(tmp_path_factory, data_dir):
    audio = decode_file(data_dir / "dev_room_2spk.seats.flac").samples[: 8 * 16000]
    return write_audio(tmp_path_factory.mktemp("clips") / "opening.wav", audio, 16000)


def test_a_summons_nearing_its_limit_alerts_during_the_recording(tmp_path, opening, whisper_model):
    settings = Settings(home=tmp_path / "home")
    events: list[tuple[float, dict]] = []
    lock = threading.Lock()

    def collect(message: dict) -> None:
        with lock:
            events.append((time.time(), message))

    with Store.open(settings.home) as store:
        store.ensure_case("L-20")
        condition_at = time.time() + 3.0  # the 30-minute warning time is reached 3 s into the recording
        summons = condition_at - (12 * HOUR - 30 * 60)
        store.set_case_procedure("L-20", {"summons_kind": "拘传", "summons_at": datetime.fromtimestamp(summons)
                                          .isoformat(timespec="milliseconds")})
        live = LiveSession(settings, store, whisper_model,
                           LiveRequest(case_no="L-20", room="一号讯问室", seat_roles=("讯问人", "被讯问人")),
                           on_event=collect)
        status = live.run(replay_file(opening, realtime=True))
        stored = {f["key"]: f for f in store.guardrail_findings(live.session_id)}
    assert status == "done"
    alerts = [(at, m) for at, m in events if m["type"] == "alert" and m.get("kind") == "guardrail"]
    summons_alerts = [(at, m) for at, m in alerts if m["key"] == "summons_duration"]
    assert [m["status"] for _, m in summons_alerts] == ["warning"]  # once, not every second
    at, message = summons_alerts[0]
    assert 0 <= at - condition_at <= GUARD_POLL_S + 1.0  # within 2 s of the condition
    assert "拘传" in message["message"] and "刑事诉讼法 第119条" in message["message"]
    assert any(m["type"] == "guardrails" for _, m in events)
    assert stored["summons_duration"]["status"] == "ok"  # judged again at the end: it ended in time
    assert stored["two_officers"]["status"] == "violated"  # one officer seat heard, none set
