"""Finishing a room agent's session whose agent is gone for good (the room's machine lost, its disk wiped).

The service keeps such a session open, waiting for the agent to come back and resend (agent/receiver.py); start-up
recovery leaves it alone for that reason. When it will not come back, an administrator gives up on it
(`bilu rooms finish SESSION`, `POST /sessions/{id}/finish-abandoned`): its stream ends, the outage from the last
audio that arrived to now is recorded, and the audio that arrived is transcribed from the session's folder through
the one session runner (engine/recovery.py) and the session closed as "interrupted", with the cause. Nothing
received is dropped: every segment on this disk is recorded and transcribed. What the room's machine recorded
after the link went down stays there (its agent, if it ever returns, hears that the session is closed).
"""
import logging
import time
from collections.abc import Callable

from cases import Store, StreamNotOpen
from error_kinds import Conflict

from engine.live import LOCK_NAME, recognised_on_workers
from engine.recovery import recover_session
from engine.session_locks import try_lock
from engine.settings import Settings

log = logging.getLogger(__name__)

ABANDONED_ERROR = "the room agent did not come back"
WORKER_LETS_GO_S = 60.0  # a worker notices within 3 s, then recognises what it was fed before it lets go


class SessionBusy(Conflict):
    """Another process (a running service) holds the session's recording."""

    code = "session_busy"


def finish_abandoned(settings: Settings, store: Store, model_loader: Callable[[], object], session_id: int, *,
                     actor, detach: Callable[[int, Callable[[], None]], bool] | None = None) -> dict:
    """Give up on the agent of `session_id` and finish the session from what arrived; returns the recovery
    summary (engine/recovery.py) with `outage_s`. `detach(session_id, give_up)`: the running service's hold on the
    session (agent/receiver.py StreamReceiver.detach), None from the command line. Raises StreamNotOpen for a
    session that is not an agent's open one, SessionBusy when another process holds it, and the receiver's
    AgentOnline when its agent is connected."""
    session = store.get_session(session_id)
    agent = store.session_agent(session_id)
    if agent is None or agent["ended_at"] is not None or session["status"] != "transcribing":
        raise StreamNotOpen(f"session {session_id} is not a room agent's recording still waiting for its agent "
                            f"(status {session['status']})")
    folder = store.home / session["audio_path"]
    outage: dict = {}

    def give_up() -> None:
        # From the last audio that reached this disk (the agent was online until then) to now.
        from_s = _last_audio_epoch(folder)
        to_s = max(from_s, time.time())
        store.abandon_agent_stream(session_id, from_epoch_s=from_s, to_epoch_s=to_s, actor=actor)
        outage["seconds"] = round(to_s - from_s, 3)

    detached = detach(session_id, give_up) if detach is not None else False
    lock = try_lock(folder / LOCK_NAME)
    if lock is None and detached and recognised_on_workers(session):
        # The worker recognising it sees the agent given up on within a few seconds, and lets go of it.
        deadline = time.monotonic() + WORKER_LETS_GO_S
        while lock is None and time.monotonic() < deadline:
            time.sleep(0.2)
            lock = try_lock(folder / LOCK_NAME)
    if lock is None:
        raise SessionBusy(f"session {session_id} is held by a running service: finish it there "
                          f"(POST /sessions/{session_id}/finish-abandoned) or stop the service first",
                          zh=f"会话 {session_id} 正由运行中的服务处理：请在服务上结束，或先停止服务")
    try:
        if not detached:
            give_up()
        error = (f"{ABANDONED_ERROR}: given up after {outage['seconds']:.0f} s without its audio; finished with "
                 "the audio that had arrived (the rest, if any, is on the room's machine)")
        summary = recover_session(settings, store, model_loader, session_id, status="interrupted", error=error)
    finally:
        lock.release()
    log.warning("session %d: its room agent was given up on; finished with %.1f s of audio", session_id,
                summary["duration_s"])
    return {**summary, "outage_s": outage["seconds"]}


def _last_audio_epoch(folder) -> float:
    """When the last audio of the session reached this disk (its newest segment's modification time)."""
    times = [p.stat().st_mtime for p in folder.glob("segment_*.wav")]
    return max(times) if times else folder.stat().st_mtime


__all__ = ["ABANDONED_ERROR", "SessionBusy", "finish_abandoned"]
