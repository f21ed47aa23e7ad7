"""Recognition on a queue: Celery over Redis, chosen by BILU_BROKER_URL (unset: everything runs in-process).

The service (`bilu serve`) and `bilu transcribe` keep the audio and create the session first, then send a job
that names the session (engine/session_jobs.py runs it on a worker). A job is acknowledged only once the
session's results are stored (`acks_late`); a worker process that dies mid-job gives its job back at once
(`reject_on_worker_lost`), a whole worker host that dies gives it back after BILU_BROKER_VISIBILITY_S (Redis's
visibility timeout), and a worker starting up sends a job for every session nobody holds, so a restarted worker
takes them up at once. Each worker process takes one job at a time (prefetch 1): a long file never holds a second
one back. Jobs are idempotent, keyed by session id: the session's lock decides who works on it.

With BILU_LIVE_ON_WORKERS a room agent's live session is such a job too (engine/live_job.py): it holds one worker
process for the length of the recording, and a second delivery of it (the visibility timeout passing during a long
recording) waits BUSY until the session is stored, or takes over if the first worker died.

Queues follow the city's topology: a session's job goes to its case's centre, queue `bilu.<centre name>`
(`bilu` for a case filed under no centre); `bilu worker --queues` says which a worker takes.
"""
import logging

from cases import Scope, Store
from error_kinds import Unavailable

from engine.settings import Settings

log = logging.getLogger(__name__)

TASK_NAME = "bilu.run_session"
DEFAULT_QUEUE = "bilu"
QUEUE_PREFIX = "bilu."


class BrokerUnavailable(Unavailable):
    """The work queue cannot be reached, or Celery is not installed (503 / exit 1)."""

    code = "broker_unavailable"


def celery_app(settings: Settings):
    """A Celery application for BILU_BROKER_URL, with the delivery rules above; no result backend (results are
    in the store)."""
    if not settings.broker_url:
        raise BrokerUnavailable("BILU_BROKER_URL is not set: the work queue is a Redis URL, e.g. "
                                "redis://127.0.0.1:6379/0")
    try:
        from celery import Celery
    except ImportError:  # pragma: no cover - celery is a dependency; a trimmed install may lack it
        raise BrokerUnavailable("BILU_BROKER_URL is set but Celery is not installed: pip install 'celery[redis]'")
    app = Celery("bilu", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # acknowledged when the task returns: its results are stored by then
        task_reject_on_worker_lost=True,  # a worker process killed mid-job puts the job back at once
        worker_prefetch_multiplier=1,  # one job per process: a second waits in the queue for whoever is free
        task_acks_on_failure_or_timeout=True,  # a job that raised marked its session failed (or left it to a sweep)
        broker_transport_options={"visibility_timeout": settings.broker_visibility_s},
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=DEFAULT_QUEUE,
        worker_hijack_root_logger=False,  # `bilu` set up logging already (BILU_LOG_LEVEL)
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        enable_utc=True,
    )
    return app


def queue_for_case_unit(units: list[dict], unit_name: str | None) -> str:
    """`bilu.<centre>` for a case filed in a centre or a unit under one; `bilu` otherwise (the city bureau, the
    default unit)."""
    by_name = {u["name"]: u for u in units}
    unit = by_name.get(unit_name) if unit_name else None
    while unit is not None and unit["level"] != "centre":
        unit = by_name.get(unit["parent"]) if unit["parent"] else None
    return QUEUE_PREFIX + unit["name"] if unit is not None else DEFAULT_QUEUE


def session_queue(store: Store, session_id: int) -> str:
    case_no = store.get_session(session_id)["case_no"]
    return queue_for_case_unit(store.list_units(), store.case_in_scope(case_no, Scope("all"))["unit"])


class WorkQueue:
    """Sends session jobs to the workers. One per process (the service, a command)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.app = celery_app(settings)

    def submit(self, store: Store, session_id: int) -> str:
        """Send the job that runs `session_id`; returns the queue it went to. The session must exist and its
        audio be kept before this is called (the job names nothing else)."""
        queue = session_queue(store, session_id)
        try:
            self.app.send_task(TASK_NAME, args=[session_id], queue=queue, routing_key=queue,
                               retry=True, retry_policy={"max_retries": 3, "interval_start": 0.2,
                                                         "interval_step": 0.5, "interval_max": 2.0})
        except Exception as exc:  # kombu's OperationalError and friends: the broker is down or unreachable
            raise BrokerUnavailable(f"the work queue (BILU_BROKER_URL) cannot be reached: {type(exc).__name__}: "
                                    f"{exc}"[:300]) from exc
        log.info("session %d sent to queue %s", session_id, queue)
        return queue

    def submit_prepared(self, store: Store, prepared) -> str:
        """Send the job of a session `Pipeline.prepare` opened (audio kept, session "transcribing"), letting its
        lock go first: the worker takes it. If the job cannot be sent, the session is marked failed, saying so."""
        if prepared.lock is not None:
            prepared.lock.release()
        try:
            return self.submit(store, prepared.session_id)
        except BaseException as exc:
            store.fail_session(prepared.session_id, error=f"{type(exc).__name__}: {exc}"[:500])
            raise

    def submit_abandoned(self, store: Store) -> list[int]:
        """A job for every session still "transcribing" that nobody holds (see session_jobs.abandoned_sessions)."""
        from engine.session_jobs import abandoned_sessions

        sent = abandoned_sessions(store)
        for session_id in sent:
            self.submit(store, session_id)
        if sent:
            log.warning("%d session(s) nobody was working on sent to the workers: %s", len(sent), sent)
        return sent

    def close(self) -> None:
        self.app.close()


def work_queue(settings: Settings) -> WorkQueue | None:
    """The work queue when BILU_BROKER_URL is set; None: recognition runs in this process."""
    return WorkQueue(settings) if settings.broker_url else None


def register_worker_task(app, settings: Settings) -> None:
    """The task a worker runs: `engine.session_jobs.run_session_job` in this process, with one pipeline (one
    loaded model) per worker process."""
    from engine.pipeline import Pipeline
    from engine.session_jobs import BUSY, run_session_job

    from engine.live_events import EventRelay

    pipelines: dict[str, Pipeline] = {}  # per process: a prefork child loads its own model on its first job
    relays: dict[str, EventRelay] = {}  # per process too: a live room's events, for the pages on every node

    def publish(message: dict) -> None:
        if "relay" not in relays:
            relays["relay"] = EventRelay(settings.broker_url)
        relays["relay"].publish(message)

    @app.task(name=TASK_NAME, bind=True, max_retries=None)
    def run_session_task(task, session_id: int) -> str:
        pipeline = pipelines.setdefault("pipeline", Pipeline(settings))
        with settings.open_store() as store:
            outcome = run_session_job(settings, store, pipeline, session_id, on_event=publish)
        log.info("session %d: %s", session_id, outcome)
        if outcome == BUSY:  # another process holds it: look again later, and take over if it died
            raise task.retry(countdown=settings.broker_busy_retry_s,
                             queue=task.request.delivery_info.get("routing_key") or DEFAULT_QUEUE)
        return outcome


__all__ = ["BrokerUnavailable", "DEFAULT_QUEUE", "QUEUE_PREFIX", "TASK_NAME", "WorkQueue", "celery_app",
           "queue_for_case_unit", "register_worker_task", "session_queue", "work_queue"]
