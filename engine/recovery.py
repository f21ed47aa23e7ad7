"""Finishing sessions whose process died (kill -9, power loss): keep their audio, transcribe the rest.

A recording in progress holds an exclusive lock on its folder's lock file, a file transcription one on
BILU_HOME/locks/session-N.lock (engine/session_locks.py); the kernel drops a lock when its process dies, however it
dies. So a session still marked "transcribing" whose lock can be taken was left behind. For a live session,
recovery repairs the last segment's header (capture.recover_segments), records the segments the database had
not heard of, and runs the audio after the last committed utterance through the one session runner
(engine/session_run.py), which marks the session "recovered"; a file session is resumed by
engine/batch_recovery.py, through the same runner. Recovery holds the session's lock while it works.
"""
import fcntl
import logging
import threading

from capture import recover_segments
from cases import Store
from cases.segments import segments_digest

from engine.audio_files import remove_stale_staged
from engine.batch_recovery import recover_file_session
from engine.live import LOCK_NAME, write_playback
from engine.session_run import archive_audio, resume_point, run_session
from engine.session_locks import SessionLock, creating_file_sessions, try_lock, try_lock_file_session
from engine.settings import Settings

log = logging.getLogger(__name__)


def is_abandoned(store: Store, session: dict) -> bool:
    """True when no recorder holds the session's lock (it died); False while one is still recording."""
    lock_path = store.home / session["audio_path"] / LOCK_NAME
    try:
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(lock, fcntl.LOCK_UN)
            return True
    except BlockingIOError:
        return False
    except FileNotFoundError:
        return True


_RECORDER_DIED = "the recorder stopped unexpectedly; recovered from its audio segments"


def recover_session(settings: Settings, store: Store, model_loader, session_id: int, *, status: str = "recovered",
                    error: str = _RECORDER_DIED) -> dict:
    """Recover one abandoned live session; returns a summary (seconds of audio, utterances added). It is finished
    with `status` and `error` (a room agent's that never came back: engine/abandoned.py).

    The rest of the recording (after the last committed utterance) goes through the one session runner
    (engine/session_run.py), read from the segment archive a window at a time, with the options the session
    stored at its start (hotwords included); the model is loaded only if there is audio left."""
    session = store.get_session(session_id)
    folder = store.home / session["audio_path"]
    known = {s["seq"] for s in store.audio_segments(session_id)}
    segments = recover_segments(folder) if folder.is_dir() else []
    for segment in segments:
        if segment.index not in known:
            store.add_audio_segment(session_id, seq=segment.index, path=segment.path.relative_to(store.home).as_posix(),
                                    start_s=segment.start_s, duration_s=segment.duration_s, frames=segment.frames,
                                    sample_rate=segment.sample_rate, channels=segment.channels, sha256=segment.sha256)
    kept = len(store.utterances(session_id))
    from_s = resume_point(store, session_id)
    if segments:  # before the session is finished: finishing it records the playback copy's sha256
        write_playback(folder)
    stored = store.audio_segments(session_id)
    duration_s = max((s["start_s"] + s["duration_s"] for s in stored), default=0.0)
    result = run_session(
        store, session_id, archive_audio(segments, from_s=from_s, window_s=settings.file_window_s),
        settings=settings, model_loader=model_loader, from_s=from_s, status=status,
        total_key="recover_total_s", error=error,
        finish={"duration_s": duration_s, "audio_sha256": segments_digest(stored) if stored else "",
                "audio_bytes": sum((store.home / s["path"]).stat().st_size for s in stored)})
    log.info("session %d recovered: %.1f s of audio, %d utterances added", session_id, duration_s, result.added)
    return {"session_id": session_id, "kind": "live", "status": status, "duration_s": duration_s,
            "transcribed_from_s": from_s, "utterances_before": kept, "utterances_added": result.added,
            "error": None}


def recover_abandoned(settings: Settings, store: Store, model_loader) -> list[dict]:
    """Recover every abandoned session, live and file; the model is loaded only if one needs it.

    Returns one summary per session (`session_id`, `kind`, `status`: recovered, or failed when a file
    session's kept audio is gone, `duration_s`, `transcribed_from_s`, `utterances_before`, `utterances_added`)."""
    return recover_claimed(settings, store, model_loader, claim_abandoned(store))


def recover_claimed(settings: Settings, store: Store, model_loader,
                    claims: list[tuple[str, int, SessionLock | None]]) -> list[dict]:
    """Recover the sessions `claim_abandoned` returned, releasing each claim at the end."""
    summaries = []
    try:
        for kind, session_id, _ in claims:
            if kind == "live":
                summaries.append(recover_session(settings, store, model_loader, session_id))
            else:
                summaries.append(recover_file_session(settings, store, model_loader, session_id))
    finally:
        for _, _, lock in claims:
            if lock is not None:
                lock.release()
    return summaries


def claim_abandoned(store: Store) -> list[tuple[str, int, SessionLock | None]]:
    """Lock every session whose process died, live ones first; the locks are held until recovery is done.
    Staged copies a dead process left in audio/.incoming are deleted on the way."""
    if removed := remove_stale_staged(store.audio_dir):
        log.info("deleted %d stale staged cop%s in audio/.incoming", removed, "y" if removed == 1 else "ies")
    claims: list[tuple[str, int, SessionLock | None]] = []
    streamed = store.open_agent_sessions()  # taken up when their room's agent reconnects (agent/receiver.py)
    for session_id in store.unfinished_sessions("live"):
        if session_id in streamed:
            continue
        folder = store.home / store.get_session(session_id)["audio_path"]
        if not folder.is_dir():  # nothing was ever recorded there: no recorder can be at work on it
            claims.append(("live", session_id, None))
        elif (lock := try_lock(folder / LOCK_NAME)) is not None:
            claims.append(("live", session_id, lock))
    with creating_file_sessions(store.home):  # no file session is between its creation and its lock
        for session_id in store.unfinished_sessions("file"):
            if (lock := try_lock_file_session(store.home, session_id)) is not None:
                claims.append(("file", session_id, lock))
    abandoned = []
    for kind, session_id, lock in claims:
        # Its process may have finished it (and let its lock go) between the listing and the lock.
        if store.get_session(session_id)["status"] == "transcribing":
            abandoned.append((kind, session_id, lock))
        elif lock is not None:
            lock.release()
    return abandoned


def start_recovery(settings: Settings, model_loader) -> threading.Thread | None:
    """At a service's start-up: claim the abandoned sessions now (before anything new can start), and finish
    them in a background thread, so the service answers meanwhile. None when there is nothing to recover."""
    with settings.open_store() as store:
        claims = claim_abandoned(store)
    if not claims:
        return None
    thread = threading.Thread(target=_recover_in_background, args=(settings, model_loader, claims),
                              name="recovery", daemon=True)
    thread.start()
    return thread


def _recover_in_background(settings: Settings, model_loader, claims) -> None:
    try:
        with settings.open_store() as store:
            for s in recover_claimed(settings, store, model_loader, claims):
                log.warning("session %d (%s) was left by a process that stopped: %s", s["session_id"], s["kind"],
                            "recovered" if s["status"] == "recovered" else s["error"])
    except Exception:  # the service goes on; `bilu recover` can be run by hand
        log.exception("recovering the sessions left by a stopped process failed")
    finally:
        for _, _, lock in claims:  # already released unless recover_claimed never ran
            if lock is not None:
                lock.release()


__all__ = ["claim_abandoned", "is_abandoned", "recover_abandoned", "recover_claimed", "recover_session",
           "start_recovery"]
