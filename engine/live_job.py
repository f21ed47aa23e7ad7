"""A room agent's live session recognised on a worker (BILU_LIVE_ON_WORKERS): the job engine/session_jobs.py runs
for a session whose options say `on_workers`.

The node the agent streams to keeps the audio (on shared storage) and appends a reference to each piece to the
session's Redis stream (engine/live_feed.py); the job runs the one LiveSession over that stream: `resume` takes the
session's folder lock (held until the session is stored, so the job is acknowledged only then) and goes on from
what is stored (speakers, roles, the checklist, the point after the last stored utterance), and `run_received`
recognises, labels, stores and publishes (through the worker's EventRelay, so pages on every node see it) until
the stream's end entry, then closes the session. The first delivery starts at 0; a delivery after a worker died
takes over from what that one stored: nothing stored twice, the archive re-read from that point, then the stream.

A session whose agent is given up on (`bilu rooms finish`, engine/abandoned.py) is let go of ("left"): the worker
notices within a few seconds, stops, and leaves the session open for that finishing. A session whose agent has
finished but whose stream is gone (Redis lost its data) is finished from the archive,
which is then whole (engine/recovery.py).
"""
import logging
from collections.abc import Callable

from cases import Store

from engine.live import LOCK_NAME, LiveRequest, LiveSession
from engine.live_feed import FeedReader, delete_feed, feed_exists
from engine.recovery import recover_session
from engine.session_locks import try_lock
from engine.session_run import SessionOptions
from engine.settings import Settings

log = logging.getLogger(__name__)

BUSY, DONE, FINISHED, LEFT, RECOVERED = "busy", "done", "finished", "left", "recovered"  # as engine/session_jobs.py
_FEED_LOST = "its audio's stream to the workers was lost (Redis); finished from its audio segments"


def run_live_job(settings: Settings, store: Store, model_loader: Callable[[], object], session_id: int, *,
                 on_event: Callable[[dict], None] | None = None) -> str:
    """Recognise `session_id` here until its agent's end entry; BUSY while another process holds it."""
    session = store.get_session(session_id)
    folder = store.home / session["audio_path"]
    lock = try_lock(folder / LOCK_NAME)  # a first look: no model work for a session another worker holds
    if lock is None:
        return BUSY
    try:
        session = store.get_session(session_id)
        if session["status"] != "transcribing":
            return FINISHED
        agent = store.session_agent(session_id)
        if agent is not None and agent["abandoned_at"] is not None:  # engine/abandoned.py finishes it
            return LEFT
        if (agent is None or agent["ended_at"] is not None) and not feed_exists(settings.broker_url, session_id):
            recover_session(settings, store, model_loader, session_id, error=_FEED_LOST)
            return RECOVERED
    finally:
        lock.release()  # LiveSession.resume takes it again (a process cannot hold two flocks on one file)

    options = SessionOptions.of(session, settings)
    request = LiveRequest(case_no=session["case_no"], room=session["room"], seat_roles=options.seat_roles,
                          rule_set=options.rule_set, conditions=options.conditions, on_workers=True)
    live = LiveSession(settings, store, model_loader(), request, on_event=on_event)
    try:
        from_s = live.resume(session_id)
    except BlockingIOError:  # taken between the look above and now
        return BUSY
    if store.get_session(session_id)["status"] != "transcribing":
        live.let_go()
        return FINISHED
    log.info("session %d: recognised on this worker from %.3f s", session_id, from_s)
    feed = FeedReader(settings.broker_url, session_id, live.folder, sample_rate=live.sample_rate,
                      channels=live.channels, from_s=from_s, on_notice=live.notify,
                      given_up=lambda: _given_up(store, session_id))
    status = live.run_received(feed)
    delete_feed(settings.broker_url, session_id)
    if status == "suspended":  # its agent was given up on: the session is finished from its archive there
        log.warning("session %d: its room agent was given up on; left for finishing", session_id)
        return LEFT
    return DONE if status == "done" else status


def _given_up(store: Store, session_id: int) -> bool:
    agent = store.session_agent(session_id)
    return agent is not None and agent["abandoned_at"] is not None


__all__ = ["run_live_job"]
