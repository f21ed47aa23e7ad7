"""One way to run a session (engine/session_run.py): a file resumed after kill -9 and the rest of a live recording
after kill -9 give what an uninterrupted run of the same audio gives, with the session's own options (hotwords
included).

Run against run on this machine, never against fixed words: every run is a real `bilu` process (the model each
loads is the same), the kills are SIGKILL, recovery is `bilu recover`.
"""
import time
import wave

import numpy as np
import pytest

from capture import decode_file, read_segments, recover_segments
from cases import Store
from engine.session_run import RESUME_KEY, SessionOptions
from engine.settings import Settings
from tests.audio_helpers import write_audio
from tests.crash_helpers import SEAT_ROLES, Child, bilu, duplicates
from transcribe.metrics import character_error_rate

pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]  # `bilu transcribe`, `bilu record --file` and `bilu recover` run the model
# mechanism: a resumed run equals an uninterrupted run on the same kernels, whatever the words

HOTWORDS = "张建华 城关派出所"
SEATS = "dev_room_2spk.seats.flac"


def transcript(home, session_id: int | None = None) -> tuple[dict, list[dict]]:
    with Store.open(home) as store:
        session = store.get_session(session_id or store.list_sessions()[0]["id"])
        return session, sorted(store.utterances(session["id"]), key=lambda u: u["id"])


def transcribe_args(clip, case_no: str) -> list[str]:
    return ["transcribe", str(clip), "--case", case_no, "--seat-roles", SEAT_ROLES, "--hotwords", HOTWORDS]


def as_stored(utterances: list[dict]) -> list[tuple]:
    """What a stored utterance is, but its role (given once the speakers are known, after the last one)."""
    return [(u["id"], u["start_s"], u["end_s"], u["speaker"], u["original_text"], str(u["words"])) for u in utterances]


def text(utterances: list[dict]) -> str:
    return "".join(u["text"] for u in utterances)


def test_a_file_resumed_after_kill_9_is_the_uninterrupted_transcript(tmp_path, data_dir):
    """Killed once its first utterances are stored (the 38.6 s two-seat file: Whisper's second 30 s window is
    still being recognised), then recovered: the transcript is the uninterrupted run's, utterance for utterance."""
    clip = data_dir / SEATS
    whole = Child(tmp_path / "whole", transcribe_args(clip, "RUN-1"))
    assert whole.finish(timeout_s=600) == 0, whole.log()[-2000:]
    _, reference = transcript(tmp_path / "whole")

    home = tmp_path / "crashed"
    crashed = Child(home, transcribe_args(clip, "RUN-1"))
    _, killed = crashed.kill_when_stored(home, 1)
    session, before = transcript(home)
    assert killed and session["status"] == "transcribing" and 1 <= len(before) < len(reference), crashed.log()
    recovered = bilu(home, "recover")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    session, after = transcript(home)

    assert session["status"] == "recovered"
    assert "is resumed at" not in recovered.stderr  # the window was given again as stored, not cut at the point
    assert as_stored(after[: len(before)]) == as_stored(before)  # what was stored is kept as it was
    assert character_error_rate(text(reference), text(after)) == 0.0
    assert [(u["start_s"], u["end_s"], u["speaker"], u["role"]) for u in after] == \
        [(u["start_s"], u["end_s"], u["speaker"], u["role"]) for u in reference]
    assert duplicates(after) == []
    # The recovery ran with the session's own options: those stored at its start, hotwords included.
    assert session["options"]["hotwords"] == HOTWORDS
    assert SessionOptions.of(session, Settings(home=home)).transcribe.hotwords == HOTWORDS
    with Store.open(home) as store:
        assert store.transcribed_until(session["id"]) >= after[-1]["end_s"]
    assert bilu(home, "verify", session["id"]).returncode == 0


@pytest.fixture(scope="module")
def opening(tmp_path_factory, data_dir):
    """The first 13 s of the two-seat recording (seat 1 speaks from 0.4 s to 6.4 s, seat 2 from 7.1 s to 12.1 s)."""
    audio = decode_file(data_dir / SEATS).samples[: 13 * 16000]
    return write_audio(tmp_path_factory.mktemp("clips") / "opening.wav", audio, 16000)


def test_the_rest_of_a_live_recording_after_kill_9_is_an_uninterrupted_run_of_it(tmp_path, opening):
    """`bilu record --file` killed while seat 2 is speaking (11 s in: seat 1's turn is committed, seat 2's not),
    then `bilu recover`: the rest of the recording, read from its segments, is transcribed as `bilu transcribe`
    transcribes the same audio, with the session's hotwords. (What was committed before the kill came from the
    streaming transcriber, which no batch run reproduces: the two are compared from the point of resumption.)"""
    home = tmp_path / "live"
    child = Child(home, ["record", "--file", str(opening), "--case", "RUN-2", "--room", "一号讯问室",
                         "--seat-roles", SEAT_ROLES, "--hotwords", HOTWORDS])
    while not child.stdout and child.process.poll() is None:  # the replay starts as the session id is printed
        time.sleep(0.05)
    assert child.stdout, child.log()[-2000:]
    _, killed = child.kill_at(child.stdout[0][0] + 11.0)
    session, before = transcript(home)
    assert killed and session["status"] == "transcribing", child.log()[-2000:]
    recovered = bilu(home, "recover")
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    session, after = transcript(home)
    assert session["status"] == "recovered" and after[: len(before)] == before  # live: roles given as they come
    from_s = max([u["end_s"] for u in before], default=0.0)
    added = after[len(before):]
    assert added and all(u["start_s"] >= from_s for u in added), (from_s, before, added)

    # The same audio from the same point, as a file, through `bilu transcribe` with the same options.
    segments = recover_segments(home / session["audio_path"])
    kept = read_segments(segments, sample_rate=16000).samples[int(round(from_s * 16000)):]
    rest = tmp_path / "rest.wav"
    with wave.open(str(rest), "wb") as out:  # 16-bit as recorded: the very samples the archive holds
        out.setnchannels(kept.shape[1]), out.setsampwidth(2), out.setframerate(16000)
        out.writeframes(np.rint(kept * 32768.0).clip(-32768, 32767).astype("<i2").tobytes())
    reference = Child(tmp_path / "reference", transcribe_args(rest, "RUN-2"))
    assert reference.finish(timeout_s=600) == 0, reference.log()[-2000:]
    _, uninterrupted = transcript(tmp_path / "reference")

    assert text(uninterrupted) and character_error_rate(text(uninterrupted), text(added)) == 0.0
    assert [(round(u["start_s"] + from_s, 3), u["speaker"], u["role"]) for u in uninterrupted] == \
        [(u["start_s"], u["speaker"], u["role"]) for u in added]
    # The hotwords reached the recovery: the session stored them for its passes and for the rest after a crash.
    assert session["options"]["hotwords"] == HOTWORDS and session["options"][RESUME_KEY]["hotwords"] == HOTWORDS
    options = SessionOptions.of(session, Settings(home=home)).transcribe
    assert options.hotwords == HOTWORDS and options.beam_size == Settings(home=home).asr_beam_size
    with Store.open(home) as store:
        assert store.transcribed_until(session["id"]) >= added[-1]["end_s"]
    assert bilu(home, "verify", session["id"]).returncode == 0


def test_a_window_that_comes_out_differently_is_resumed_at_the_point(settings, data_dir, whisper_model, caplog):
    """Resumed on a machine whose run differs from the one that died (another CPU: CTranslate2 picks other
    kernels), the window is not given again as stored: it is transcribed from the point of resumption, so
    nothing is stored twice and nothing after the point is lost. The other machine's utterance is made here:
    the one failure this machine cannot cause."""
    from engine.batch_recovery import recover_file_session
    from engine.pipeline import FileRequest, Pipeline
    from transcribe import Utterance, Word

    clip = data_dir / "funasr_long_25s.flac"
    with Store.open(settings.home) as store:
        prepared = Pipeline(settings, model=whisper_model).prepare(
            store, FileRequest(path=clip, case_no="RUN-3", num_speakers=1))
        prepared.lock.release()  # as the kernel releases it when the process dies
        other = Utterance.from_words([Word(0.2, 1.0, "另", 0.9), Word(1.0, 2.0, "一台机器", 0.9)], speaker="S1")
        store.add_utterance(prepared.session_id, other)
        summary = recover_file_session(settings, store, lambda: whisper_model, prepared.session_id)
        session, after = transcript(settings.home, prepared.session_id)
    assert summary["status"] == "recovered" and summary["transcribed_from_s"] == 2.0
    assert "is resumed at 2.0 s instead" in caplog.text
    assert after[0]["original_text"] == "另一台机器" and len(after) > 1
    assert all(u["start_s"] >= 2.0 for u in after[1:]) and duplicates(after) == []
    assert after[-1]["end_s"] > session["duration_s"] - 3.0
