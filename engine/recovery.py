"""Finishing sessions whose process died (kill -9, power loss): keep their audio, transcribe the rest.

A recording in progress holds an exclusive lock on its folder's lock file, a file transcription one on
BILU_HOME/locks/session-N.lock (engine/session_locks.py); the kernel drops a lock when its process dies, however it
dies. So a session still marked "transcribing" whose lock can be taken was left behind. For a live session,
recovery repairs the last segment's header (capture.recover_segments), records the segments the database had
not heard of, transcribes the audio after the last committed utterance, and marks the session "recovered"; a
file session is resumed by engine/batch_recovery.py. Recovery holds the session's lock while it works.
"""
import fcntl
import logging
import threading

from capture import read_segments, recover_segments
from cases import Store
from cases.segments import segments_digest
from diarize import ChannelDiarizer, SpeakerTurn, assign_speakers, make_online_labeller, speaker_roles
from transcribe import TranscribeOptions, transcribe_samples

from engine.audio_files import remove_stale_staged
from engine.batch_recovery import recover_file_session
from engine.checking import check_session
from engine.live import LOCK_NAME, write_playback
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


def recover_session(settings: Settings, store: Store, model, session_id: int) -> dict:
    """Recover one abandoned live session; returns a summary (seconds of audio, utterances added)."""
    session = store.get_session(session_id)
    folder = store.home / session["audio_path"]
    known = {s["seq"] for s in store.audio_segments(session_id)}
    segments = recover_segments(folder) if folder.is_dir() else []
    for segment in segments:
        if segment.index not in known:
            store.add_audio_segment(session_id, seq=segment.index, path=segment.path.relative_to(store.home).as_posix(),
                                    start_s=segment.start_s, duration_s=segment.duration_s, frames=segment.frames,
                                    sample_rate=segment.sample_rate, channels=segment.channels, sha256=segment.sha256)
    kept = store.utterances(session_id)
    # An utterance may have been stored just before the kill, without transcribed_until moving past it.
    from_s = max([u["end_s"] for u in kept] + [store.transcribed_until(session_id)])
    added = 0
    if segments:
        added = _transcribe_rest(settings, store, model, session, segments, from_s)
    if segments:
        write_playback(folder)
    stored = store.audio_segments(session_id)
    duration_s = max((s["start_s"] + s["duration_s"] for s in stored), default=0.0)
    store.finish_session(session_id, status="recovered", duration_s=duration_s,
                         audio_sha256=segments_digest(stored) if stored else "",
                         audio_bytes=sum((store.home / s["path"]).stat().st_size for s in stored),
                         error="the recorder stopped unexpectedly; recovered from its audio segments")
    check_session(store, session_id, settings)
    log.info("session %d recovered: %.1f s of audio, %d utterances added", session_id, duration_s, added)
    return {"session_id": session_id, "kind": "live", "status": "recovered", "duration_s": duration_s,
            "transcribed_from_s": from_s, "utterances_before": len(kept), "utterances_added": added, "error": None}


def _transcribe_rest(settings, store, model, session, segments, from_s: float) -> int:
    audio = read_segments(segments, from_s=from_s, sample_rate=16000)
    if audio.samples.shape[0] == 0:
        return 0
    mono = audio.samples.mean(axis=1, dtype="float32")
    options = TranscribeOptions(beam_size=settings.asr_beam_size)
    utterances, _ = transcribe_samples(model, mono, options=options, offset_s=audio.start_s)
    if session["diarizer"] == "channel" and audio.channels >= 2:
        turns = [SpeakerTurn(t.start_s + audio.start_s, t.end_s + audio.start_s, t.speaker, t.channel)
                 for t in ChannelDiarizer().diarize(audio.samples, 16000)]
        labelled = list(assign_speakers(utterances, turns))
    else:
        # Voices are told apart afresh over the rest: a speaker's label may differ from before the crash.
        labeller = make_online_labeller("voice")
        labelled = [piece for u in utterances for piece in labeller.label(u, audio.samples, audio.start_s)]
    known = [s["label"] for s in store.get_session(session["id"])["speakers"]]
    seat_roles = tuple(session["options"].get("seat_roles", ()))  # kept with the session when it started
    for u in labelled:
        if u.speaker and u.speaker not in known:
            # Seats by channel; voices by order of first speaking, counting those heard before the crash.
            earlier = [SpeakerTurn(0.0, 0.0, label, None) for label in known]
            turns = earlier + [SpeakerTurn(u.start_s, u.end_s, u.speaker, u.channel)]
            role = speaker_roles(turns if u.channel is None else turns[-1:], seat_roles).get(u.speaker)
            store.set_speaker_roles(session["id"], {u.speaker: role}, {u.speaker: u.channel})
            known.append(u.speaker)
        store.add_utterance(session["id"], u)
        store.set_transcribed_until(session["id"], u.end_s)
    return len(labelled)


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
                summaries.append(recover_session(settings, store, model_loader(), session_id))
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
    for session_id in store.unfinished_sessions("live"):
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
    with Store.open(settings.home) as store:
        claims = claim_abandoned(store)
    if not claims:
        return None
    thread = threading.Thread(target=_recover_in_background, args=(settings, model_loader, claims),
                              name="recovery", daemon=True)
    thread.start()
    return thread


def _recover_in_background(settings: Settings, model_loader, claims) -> None:
    try:
        with Store.open(settings.home) as store:
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
