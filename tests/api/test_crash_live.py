"""kill -9 during `bilu record --file` (a real-time replay through the live path), at seeded random moments spread
over the whole run (start-up, recording, closing), then `bilu recover`: the database is intact, the archive holds
what was played up to at most a second before the kill, sample for sample, nothing is stored twice, the session
is finished and `bilu verify` finds it intact (tests/crash_helpers.py; bench/crash.py makes 20 such kills)."""
import pytest

from capture import decode_file
from tests.audio_helpers import write_audio
from tests.crash_helpers import MAX_LIVE_LOSS_S, calibrate, crash_and_recover, kill_moment

pytestmark = [pytest.mark.recognition, pytest.mark.mechanism]  # `bilu record --file` and `bilu recover` run the model in child processes
# mechanism: nothing lost or stored twice across a kill, whatever the words

SEEDS = (201, 202, 203)  # one kill in each third of the run


@pytest.fixture(scope="module")
def opening(tmp_path_factory, data_dir):
    """The first 13 s of the two-seat recording (one channel per seat, two turns), kept short for the suite."""
    audio = decode_file(data_dir / "dev_room_2spk.seats.flac").samples[: 13 * 16000]
    return write_audio(tmp_path_factory.mktemp("clips") / "opening.wav", audio, 16000)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, opening):
    return calibrate("live", opening, tmp_path_factory.mktemp("calibration") / "home")


@pytest.mark.parametrize("index, seed", list(enumerate(SEEDS)))
def test_kill_9_during_live_recording_then_recover(index, seed, uninterrupted, opening, tmp_path):
    moment_s = kill_moment(seed, index=index, runs=len(SEEDS), total_s=uninterrupted.total_s)
    run = crash_and_recover("live", opening, tmp_path / "home", seed=seed, kill_after_s=moment_s)
    context = f"killed at {run.killed_at_s} s while {run.stage}: {run.recover_output}"
    assert run.integrity_after_kill in ("ok", "absent") and run.integrity_after_recover == "ok", context
    assert run.recover_exit == 0, context
    if run.session_id is None:  # killed during start-up: no session, no audio yet
        assert "nothing to recover" in run.recover_output, context
        return
    assert run.status in ("recovered", "done"), context
    if run.status_after_kill == "transcribing":
        assert f"session {run.session_id}: recovered" in run.recover_output, context
    assert run.audio_lost_s <= MAX_LIVE_LOSS_S, run.audio_detail
    assert "not what was played" not in run.audio_detail, run.audio_detail
    assert run.duplicates == [], context
    assert run.utterances_after >= run.utterances_before
    if run.audio_end_s > 8.0:  # the first seat's turn is over: its words were transcribed, before or after
        assert run.utterances_after > 0 and run.transcript_end_s > 3.0, context
    assert run.verify_exit == 0, run.verify_output
