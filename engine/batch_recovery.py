"""Finishing a file session whose transcription died (kill -9, power loss): resume it, delete nothing.

What a dead `transcribe_file` can leave: the kept audio (copied in, fsynced and named by its sha256 before the
session exists), perhaps the diarizer's speaker turns (stored in one transaction), and the utterances stored so
far (each in its own transaction). Recovery checks the kept audio against the session's sha256, diarizes again
only if no turns were stored, transcribes the audio after the last stored utterance (so nothing is stored
twice), gives speakers their roles as the pipeline does, runs the procedural checker and marks the session
"recovered". A long file is read in windows as the pipeline reads it (engine/file_windows.py): windows before the
point of resumption are decoded and skipped. The caller holds the session's lock (engine/session_locks.py)
throughout.
"""
import dataclasses
import hashlib
import logging
import time
from pathlib import Path

from capture import AudioDecodeError
from cases import Store
from diarize import SpeakerTurn, exclusive_turns, make_diarizer, speaker_roles
from transcribe import TranscribeOptions

from engine.checking import check_session
from engine.file_windows import decode_checked, diarize_windows, transcribe_windows, window_source
from engine.settings import Settings

log = logging.getLogger(__name__)

_BLOCK = 1 << 20


def recover_file_session(settings: Settings, store: Store, model_loader, session_id: int) -> dict:
    """Resume one abandoned file session; returns a summary (status, seconds, utterances before and added).

    The model is loaded (`model_loader()`) only if there is audio left to transcribe. A kept audio file that is
    missing or no longer matches its sha256 cannot be transcribed: the session is then marked failed, saying so.
    A file longer than settings.file_window_s is read a window at a time, as the pipeline reads it.
    """
    started = time.perf_counter()
    session = store.get_session(session_id)
    audio_path = store.home / session["audio_path"]
    problem = _kept_audio_problem(audio_path, session["audio_sha256"])
    if problem is None:
        try:
            audio, duration_s, _, _ = decode_checked(audio_path, window_s=settings.file_window_s)
        except AudioDecodeError as exc:
            problem = f"the kept audio cannot be decoded ({exc})"
    if problem is not None:
        log.error("session %d cannot be recovered: %s", session_id, problem)
        store.fail_session(session_id, error=f"the transcription stopped unexpectedly and cannot be resumed: {problem}")
        return _summary(session, status="failed", from_s=0.0, before=0, added=0, error=problem)

    record = session["options"]
    num_speakers = record.get("num_speakers")
    seat_roles = tuple(record.get("seat_roles") or ())  # stored with the session by the pipeline
    timings: dict[str, float] = {}
    stored = store.utterances(session_id)
    # As the pipeline: the turns as heard (seats may overlap) are stored; words go by exclusive turns.
    heard = [SpeakerTurn(t["start_s"], t["end_s"], t["speaker"], t["channel"]) for t in store.speaker_turns(session_id)]
    turns = exclusive_turns(heard)
    windows = window_source(audio_path, window_s=settings.file_window_s, audio=audio)
    if num_speakers == 1:  # one assumed speaker, never stored as a turn
        turns = [SpeakerTurn(0.0, duration_s, "S1")]
    elif not heard and not stored and duration_s > 0:  # it died before the turns were stored
        t = time.perf_counter()
        diarizer = make_diarizer(session["diarizer"], pipeline_dir=settings.pyannote_pipeline)
        turns, heard = diarize_windows(diarizer, windows, duration_s=duration_s, num_speakers=num_speakers)
        store.add_speaker_turns(session_id, heard)
        timings["diarize_s"] = time.perf_counter() - t

    # Resume after the last utterance stored, whether or not transcribed_until was moved past it.
    from_s = max([u["end_s"] for u in stored] + [store.transcribed_until(session_id)])
    t = time.perf_counter()
    added = 0
    if from_s < duration_s:
        model = model_loader()
        if session["model"] != settings.asr_model:
            log.warning("session %d was started with model %s and is resumed with %s", session_id,
                        session["model"], settings.asr_model)
        options = _options_from_record(record)
        # Overlaps of seats wholly in the rest get each seat's own words, as in the pipeline; one that began
        # before the crash keeps what was stored, and its rest comes from the mixdown.
        for utterance in transcribe_windows(windows(), turns=turns, heard=heard, model=model, options=options,
                                            model_name=settings.asr_model, from_s=from_s):
            store.add_utterance(session_id, utterance)
            store.set_transcribed_until(session_id, utterance.end_s)
            added += 1
    timings["transcribe_s"] = time.perf_counter() - t

    speakers = {u["speaker"] for u in store.utterances(session_id) if u["speaker"]}
    roles = speaker_roles(turns, seat_roles)
    store.set_speaker_roles(session_id, {s: roles.get(s) for s in speakers}, {t.speaker: t.channel for t in turns})
    t = time.perf_counter()
    check_session(store, session_id, settings)
    timings["check_s"] = time.perf_counter() - t
    timings["recover_total_s"] = time.perf_counter() - started
    store.finish_session(session_id, status="recovered", timings={k: round(v, 3) for k, v in timings.items()},
                         error=f"the transcription stopped unexpectedly; recovered: {len(stored)} utterances were "
                               f"kept, the audio after {from_s:.1f} s was transcribed again")
    log.info("file session %d recovered: %d utterances kept, %d added after %.1f s", session_id, len(stored), added,
             from_s)
    return _summary(session, status="recovered", from_s=from_s, before=len(stored), added=added)


def _kept_audio_problem(path: Path, sha256: str) -> str | None:
    """None when the kept file is there with the content the session was created with; else what is wrong."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as kept:
            while block := kept.read(_BLOCK):
                digest.update(block)
    except FileNotFoundError:
        return f"the kept audio {path.name} is missing"
    if digest.hexdigest() != sha256:
        return f"the kept audio {path.name} no longer matches its sha256"
    return None


def _options_from_record(record: dict) -> TranscribeOptions:
    """The recognition options the session was started with (its stored record), for the rest of it."""
    names = {f.name for f in dataclasses.fields(TranscribeOptions)}
    return TranscribeOptions(**{k: v for k, v in record.items() if k in names})


def _summary(session: dict, *, status: str, from_s: float, before: int, added: int, error: str | None = None) -> dict:
    return {"session_id": session["id"], "kind": "file", "status": status, "duration_s": session["duration_s"],
            "transcribed_from_s": from_s, "utterances_before": before, "utterances_added": added, "error": error}


__all__ = ["recover_file_session"]
