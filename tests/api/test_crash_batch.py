"""kill -9 during `bilu transcribe`, at seeded random moments spread over the whole run, then `bilu recover`:
the database is intact, the kept audio is the source byte for byte, the session is finished with nothing stored
twice and the rest of the audio transcribed, and `bilu verify` finds the record intact (tests/crash_helpers.py;
bench/crash.py makes 20 such kills)."""
import pytest

from tests.crash_helpers import calibrate, crash_and_recover, kill_moment

pytestmark = pytest.mark.mechanism  # nothing lost or stored twice across a kill, whatever the words

CLIP = "funasr_long_25s.flac"
SEEDS = (101, 102, 103)  # one kill in each third of the run


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, data_dir):
    return calibrate("batch", data_dir / CLIP, tmp_path_factory.mktemp("calibration") / "home")


def test_an_uninterrupted_run_is_the_reference(uninterrupted):
    assert uninterrupted.utterances > 0 and uninterrupted.text
    assert uninterrupted.verify_exit == 0


@pytest.mark.parametrize("index, seed", list(enumerate(SEEDS)))
def test_kill_9_during_batch_transcription_then_recover(index, seed, uninterrupted, tmp_path, data_dir):
    moment_s = kill_moment(seed, index=index, runs=len(SEEDS), total_s=uninterrupted.total_s)
    run = crash_and_recover("batch", data_dir / CLIP, tmp_path / "home", seed=seed, kill_after_s=moment_s,
                            reference=uninterrupted)
    context = f"killed at {run.killed_at_s} s while {run.stage}: {run.recover_output}"
    assert run.integrity_after_kill in ("ok", "absent") and run.integrity_after_recover == "ok", context
    assert run.recover_exit == 0, context
    if run.session_id is None:  # killed before the session existed: nothing was stored, nothing to recover
        assert "nothing to recover" in run.recover_output, context
        return
    assert run.status in ("recovered", "done"), context
    if run.status_after_kill == "transcribing":
        assert f"session {run.session_id}: recovered" in run.recover_output, context
    assert run.audio_lost_s == 0.0, run.audio_detail
    assert run.duplicates == [], context
    assert run.utterances_after >= run.utterances_before
    # The whole file was transcribed: the recovered transcript is the uninterrupted one, up to re-segmentation
    # where the transcription resumed.
    assert run.transcript_end_s > run.audio_end_s - 3.0, context
    assert run.cer_vs_uninterrupted < 0.15, context
    assert run.verify_exit == 0, run.verify_output


def test_kill_9_between_stored_utterances_resumes_after_the_last_one(tmp_path, data_dir):
    """Killed once the first utterances are stored (the two-seat file: its second 30 s window is still being
    recognised): recovery keeps them and transcribes only what follows, so nothing is stored twice."""
    run = crash_and_recover("batch", data_dir / "dev_room_2spk.seats.flac", tmp_path / "home", seed=0,
                            kill_after_utterances=1)
    context = f"killed at {run.killed_at_s} s while {run.stage}: {run.recover_output}"
    assert run.killed and run.status_after_kill == "transcribing" and run.utterances_before >= 1, context
    assert run.integrity_after_kill == "ok" and run.recover_exit == 0 and run.status == "recovered", context
    assert run.utterances_after > run.utterances_before, context
    assert run.duplicates == [], context
    assert run.audio_lost_s == 0.0 and run.transcript_end_s > run.audio_end_s - 3.0, context
    assert run.verify_exit == 0, run.verify_output


def _prepared_then_abandoned(settings, data_dir, whisper_model):
    """A file session as a process leaves it when it dies right after creating it: kept audio, status
    "transcribing" (the real `prepare`); the caller lets its lock go, as the kernel does at a kill."""
    from engine.pipeline import FileRequest, Pipeline
    from cases import Store

    with Store.open(settings.home) as store:
        request = FileRequest(path=data_dir / "aishell1_BAC009S0724W0121.wav", case_no="R-1", seat_roles=("讯问人",))
        return Pipeline(settings, model=whisper_model).prepare(store, request)


def test_a_transcription_at_work_is_never_taken_for_abandoned(settings, data_dir, whisper_model):
    from engine.recovery import claim_abandoned
    from cases import Store

    prepared = _prepared_then_abandoned(settings, data_dir, whisper_model)
    with Store.open(settings.home) as store:
        assert claim_abandoned(store) == []  # its lock is held (flock: even by another handle in this process)
        prepared.lock.release()
        claims = claim_abandoned(store)
        assert [(kind, session_id) for kind, session_id, _ in claims] == [("file", prepared.session_id)]
        assert claim_abandoned(store) == []  # claimed: a second recoverer keeps off it
        for _, _, lock in claims:
            lock.release()


def test_the_service_recovers_an_abandoned_file_session_at_start_up(settings, data_dir, whisper_model):
    import time

    from fastapi.testclient import TestClient

    from api.app import create_app
    from cases import Store

    prepared = _prepared_then_abandoned(settings, data_dir, whisper_model)
    prepared.lock.release()
    with TestClient(create_app(settings, model=whisper_model)):
        deadline = time.monotonic() + 300
        with Store.open(settings.home) as store:
            while store.get_session(prepared.session_id)["status"] == "transcribing" and time.monotonic() < deadline:
                time.sleep(0.2)
            session = store.get_session(prepared.session_id)
            utterances = store.utterances(prepared.session_id)
    assert session["status"] == "recovered"
    assert utterances and all(u["role"] == "讯问人" for u in utterances)  # roles as the pipeline gives them
    assert session["findings"]  # the procedural check ran
