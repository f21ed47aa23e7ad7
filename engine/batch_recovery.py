"""Finishing a file session whose transcription died (kill -9, power loss): resume it, delete nothing.

What a dead `transcribe_file` can leave: the kept audio (copied in, fsynced and named by its sha256 before the
session exists), perhaps the diarizer's speaker turns (stored in one transaction), and the utterances stored so
far (each in its own transaction). Recovery checks the kept audio against the session's sha256 and hands the
session to the one session runner (engine/session_run.py) from after the last stored utterance, with the options
the session stored at its start (hotwords included): it diarizes again only if no turns were stored, transcribes
the rest (nothing stored twice; the transcript an uninterrupted run gives), gives speakers their roles, runs the
procedural checker and marks the session "recovered". The caller holds the session's lock
(engine/session_locks.py) throughout.
"""
import hashlib
import logging
import time
from pathlib import Path

from capture import AudioDecodeError
from cases import Store

from engine.file_windows import decode_checked
from engine.session_run import file_audio, resume_point, run_session
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

    from_s = resume_point(store, session_id)
    before = len(store.utterances(session_id))
    source = file_audio(audio_path, duration_s=duration_s, window_s=settings.file_window_s, audio=audio)
    result = run_session(store, session_id, source, settings=settings, model_loader=model_loader, from_s=from_s,
                         status="recovered", total_key="recover_total_s", started=started,
                         error=f"the transcription stopped unexpectedly; recovered: {before} utterances were "
                               f"kept, the audio after {from_s:.1f} s was transcribed again")
    log.info("file session %d recovered: %d utterances kept, %d added after %.1f s", session_id, before,
             result.added, from_s)
    return _summary(session, status="recovered", from_s=from_s, before=before, added=result.added)


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


def _summary(session: dict, *, status: str, from_s: float, before: int, added: int, error: str | None = None) -> dict:
    return {"session_id": session["id"], "kind": "file", "status": status, "duration_s": session["duration_s"],
            "transcribed_from_s": from_s, "utterances_before": before, "utterances_added": added, "error": error}


__all__ = ["recover_file_session"]
