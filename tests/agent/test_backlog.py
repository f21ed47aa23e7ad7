"""A backlog is recognised in full: after an outage a room agent's audio arrives far faster than real time (and a
restarted service feeds a session's stored audio back at once), a minute and more in one batch, past the streaming
buffer's hard bound (25 s) and Whisper's 30 s window. Every spoken turn must still get its text, with the role of
its seat (the labeller must hear each line's own audio, though the batch is longer than the audio it keeps)."""
import json

import pytest

from capture import AudioChunk, decode_file
from cases import Store
from engine.live import LiveRequest, LiveSession
from engine.received import ReceivedAudio
from engine.settings import Settings

BACKLOG_S = 75.0


@pytest.mark.recognition
def test_a_backlog_arriving_at_once_is_transcribed_to_its_end(tmp_path, data_dir, whisper_model):
    samples = decode_file(data_dir / "dev_room_2spk.seats.flac").samples[: int(BACKLOG_S * 16000)]
    turns = [t for t in json.loads((data_dir / "dev_room_2spk.json").read_text())["turns"] if t["end_s"] <= BACKLOG_S]
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        session = LiveSession(settings, store, whisper_model, LiveRequest(case_no="B-1", room="一号讯问室",
                                                                          seat_roles=("讯问人", "被讯问人")))
        session.open(sample_rate=16000, channels=2, source_name="room agent")
        feed = ReceivedAudio()
        feed.put(AudioChunk(samples=samples[: 2 * 16000], sample_rate=16000, start_s=0.0))  # the link, then a cut
        feed.put(AudioChunk(samples=samples[2 * 16000:], sample_rate=16000, start_s=2.0))  # the rest, at once
        feed.end()
        assert session.run_received(feed) == "done"
        utterances = store.utterances(session.session_id)
    # Every spoken turn, to the last, has text over it; times increase; the seats keep their roles.
    heard = [t for t in turns if any(u["start_s"] < t["end_s"] and u["end_s"] > t["start_s"] for u in utterances)]
    assert len(heard) == len(turns), ([(t["start_s"], t["end_s"]) for t in turns if t not in heard],
                                      [(u["start_s"], u["end_s"]) for u in utterances])
    assert max(u["end_s"] for u in utterances) > turns[-1]["start_s"]
    assert all(a["start_s"] <= b["start_s"] for a, b in zip(utterances, utterances[1:]))
    # Each line has the role of the seat that spoke most of it: the labeller heard the line's own audio.
    roles = {"seat1": "讯问人", "seat2": "被讯问人"}
    wrong = []
    for u in utterances:
        overlap = {t["seat"]: 0.0 for t in turns}
        for t in turns:
            overlap[t["seat"]] += max(0.0, min(u["end_s"], t["end_s"]) - max(u["start_s"], t["start_s"]))
        seat = max(overlap, key=overlap.get)
        if overlap[seat] > 0.5 and u["role"] != roles[seat]:
            wrong.append((u["start_s"], u["end_s"], u["role"]))
    assert not wrong, wrong
