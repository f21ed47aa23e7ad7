"""What a recognition worker does with a job: run the session a job names, from what the store holds.

A job carries a session id and nothing else (the audio is on disk and the session row is written before the job
is sent), so running one twice, or after a worker died in the middle of it, is safe:
- a session no longer "transcribing" was finished by an earlier delivery: nothing to do;
- a session whose lock (engine/session_locks.py) another process holds is being worked on: BUSY, and the queue
  brings the job back later, in case that process dies before it finishes;
- a file session with nothing stored yet runs as a fresh file ("done");
- a file session with something stored (a worker killed in the middle of it) resumes after the last stored
  utterance through the batch recovery path ("recovered"): nothing is stored twice;
- a live session whose recorder died has the rest of its archive transcribed ("recovered"); one whose room agent
  has not finished sending is left to the service that takes the agent back (agent/receiver.py);
- a room agent's session recognised on the workers (BILU_LIVE_ON_WORKERS) runs here until its agent has sent
  everything, from what is stored (engine/live_job.py: "done"; BUSY while another worker holds it).
The lock is held from before the status is read until the final status is stored.
"""
import logging
import time
from collections.abc import Callable
from pathlib import Path

from cases import Store

from engine.batch_recovery import recover_file_session
from engine.file_windows import decode_checked
from engine.live import LOCK_NAME, recognised_on_workers
from engine.live_job import run_live_job
from engine.pipeline import Pipeline
from engine.recovery import recover_session
from engine.session_locks import SessionLock, creating_file_sessions, try_lock, try_lock_file_session
from engine.session_run import ProgressCallback, file_audio, run_session
from engine.settings import Settings

log = logging.getLogger(__name__)

FINISHED = "finished"  # finished before this job (an earlier delivery, or recovery elsewhere)
BUSY = "busy"  # another process holds the session: try again later
LEFT = "left"  # a room agent's session: the service that takes the agent back finishes it
DONE = "done"
RECOVERED = "recovered"
FAILED = "failed"


def run_session_job(settings: Settings, store: Store, pipeline: Pipeline, session_id: int, *,
                    progress: ProgressCallback | None = None, on_event: Callable[[dict], None] | None = None) -> str:
    """Run session `session_id` if nobody else is at work on it; returns one of the outcomes above. `on_event`: a
    live session's events (the worker's EventRelay)."""
    session = store.get_session(session_id)
    if session["status"] != "transcribing":
        return FINISHED
    if recognised_on_workers(session):
        return run_live_job(settings, store, lambda: pipeline.model, session_id, on_event=on_event)
    if session["kind"] == "live" and session_id in store.open_agent_sessions():
        return LEFT
    lock = _lock(store, session)
    if lock is False:
        return BUSY
    try:
        session = store.get_session(session_id)  # read again under the lock: it may have been finished meanwhile
        if session["status"] != "transcribing":
            return FINISHED
        if session["kind"] == "live":
            return recover_session(settings, store, lambda: pipeline.model, session_id)["status"]
        if _nothing_stored(store, session_id):
            return _run_fresh_file(settings, store, pipeline, session, progress=progress)
        return recover_file_session(settings, store, lambda: pipeline.model, session_id)["status"]
    finally:
        if lock is not None:
            lock.release()


def abandoned_sessions(store: Store) -> list[int]:
    """Sessions still "transcribing" that nobody holds: waiting in the queue, or left by a process that died.

    Nothing is claimed: a sweep sends a job for each (a session already queued gets a second job, which finds
    it finished or busy), so a session left by a worker that died is taken up without waiting for the broker
    to give its job back."""
    found = []
    streamed = store.open_agent_sessions()
    for session_id in store.unfinished_sessions("live"):
        session = store.get_session(session_id)
        # A room agent's session is its receiving node's, unless a worker recognises it (then a free lock means
        # that worker died: the session goes back to the queue).
        if (session_id not in streamed or recognised_on_workers(session)) and _free(_lock(store, session)):
            found.append(session_id)
    with creating_file_sessions(store.home):  # no file session is between its creation and its lock
        for session_id in store.unfinished_sessions("file"):
            if _free(_lock(store, store.get_session(session_id))):
                found.append(session_id)
    return sorted(found)


def _free(lock: SessionLock | None | bool) -> bool:
    if lock is False:
        return False
    if lock is not None:
        lock.release()
    return True


def _lock(store: Store, session: dict) -> SessionLock | None | bool:
    """The session's lock, now held; None when there is nothing to lock (a live session that never recorded);
    False while another process holds it."""
    if session["kind"] == "file":
        lock = try_lock_file_session(store.home, session["id"])
    else:
        folder = store.home / session["audio_path"]
        if not folder.is_dir():  # nothing was ever recorded there: no recorder can be at work on it
            return None
        lock = try_lock(folder / LOCK_NAME)
    return False if lock is None else lock


def _nothing_stored(store: Store, session_id: int) -> bool:
    return (not store.utterances(session_id) and not store.speaker_turns(session_id)
            and store.transcribed_until(session_id) == 0)


def _run_fresh_file(settings: Settings, store: Store, pipeline: Pipeline, session: dict, *,
                    progress: ProgressCallback | None) -> str:
    """The file's first run, as `bilu transcribe` runs it in its own process.

    An error of the file or the machine marks the session failed, as in-process; an interruption (the worker
    stopped, SystemExit) does not: the job comes back and resumes from what was stored."""
    started = time.perf_counter()
    session_id = session["id"]
    audio_path = store.home / session["audio_path"]
    name = session.get("source_name") or Path(session["audio_path"]).name
    try:
        audio, duration_s, _, _ = decode_checked(audio_path, window_s=settings.file_window_s, name=name)
        source = file_audio(audio_path, duration_s=duration_s, window_s=settings.file_window_s, name=name,
                            audio=audio)
        timings = {"decode_s": time.perf_counter() - started}
        result = run_session(store, session_id, source, settings=settings, model_loader=lambda: pipeline.model,
                             diarizer=pipeline.diarizer(session["diarizer"]), progress=progress,
                             timings=timings, started=started)
    except Exception as exc:
        store.fail_session(session_id, error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    log.info("session %d transcribed by a worker: %d utterances", session_id, result.added)
    return DONE


__all__ = ["BUSY", "DONE", "FAILED", "FINISHED", "LEFT", "RECOVERED", "abandoned_sessions", "run_session_job"]
