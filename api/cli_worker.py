"""`bilu worker`: a recognition worker on the work queue (BILU_BROKER_URL), and how the other commands wait for one."""
import os
import socket
import time

import click

from engine.settings import Settings
from error_kinds import Unavailable

# How often `bilu transcribe` looks at the store while a worker runs its session, and after how long without a
# worker taking it it says so.
POLL_S = 0.5
WAITING_NOTE_S = 10.0


class TranscriptionFailed(Unavailable):
    """The worker that ran the session marked it failed (exit 1; the session's error says why)."""

    code = "transcription_failed"


@click.command()
@click.option("--queues", default=None,
              help="Queues to take, comma separated: bilu.<centre> for a centre's cases, bilu for cases under no "
                   "centre (default: bilu).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes, each running one job with its own model: about one per core "
                   "(with BILU_ASR_THREADS=1).")
@click.pass_obj
def worker(settings: Settings, queues: str | None, concurrency: int) -> None:
    """Run recognition jobs from the work queue (BILU_BROKER_URL): file transcriptions and recoveries."""
    from engine.work_queue import DEFAULT_QUEUE, WorkQueue, register_worker_task

    names = [q.strip() for q in (queues or DEFAULT_QUEUE).split(",") if q.strip()]
    if not names:
        raise click.BadParameter("give at least one queue name, e.g. bilu or bilu.<centre>", param_hint="--queues")
    queue = WorkQueue(settings)  # BrokerUnavailable (exit 1) when BILU_BROKER_URL is not set
    # Sessions nobody holds (a worker that died, a node that stopped before sending): a job for each, now.
    with settings.open_store() as store:
        swept = queue.submit_abandoned(store)
    if swept:
        click.echo(f"bilu worker: sent {len(swept)} session(s) nobody was working on back to the queue", err=True)
    register_worker_task(queue.app, settings)
    click.echo(f"bilu worker: taking {', '.join(names)} with {concurrency} process(es)", err=True)
    queue.app.worker_main([
        "worker", "--queues", ",".join(names), "--concurrency", str(concurrency), "--pool", "prefork",
        "--hostname", f"bilu-{os.getpid()}@{socket.gethostname()}", "--loglevel", settings.log_level.upper(),
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ])


def wait_for_worker(settings: Settings, session_id: int, queue_name: str, *, progress) -> dict:
    """Wait until a worker has finished `session_id`, showing its progress from the store; the finished session.

    The stages a worker goes through are not sent back: the bar shows the audio transcribed so far
    (`transcribed_until`), which the worker moves with every utterance it stores."""

    started = time.monotonic()
    noted = False
    with settings.open_store() as store:
        while True:
            session = store.get_session(session_id)
            if session["status"] != "transcribing":
                break
            done_s = store.transcribed_until(session_id)
            progress.update("transcribing", done_s, session["duration_s"])
            if not noted and done_s == 0 and time.monotonic() - started > WAITING_NOTE_S:
                click.echo(f"bilu: session {session_id} is waiting in queue {queue_name} for a worker "
                           f"(bilu worker --queues {queue_name})", err=True)
                noted = True
            time.sleep(POLL_S)
    if session["status"] == "failed":
        raise TranscriptionFailed(f"session {session_id} failed on the worker: {session.get('error') or 'no reason given'}")
    progress.update("transcribing", session["duration_s"], session["duration_s"])
    return session



def send_abandoned(settings: Settings, store, *, announce: bool = True) -> list[int]:
    """A job for every session nobody holds (left by a process that died); one line on stderr per session unless
    the caller reports them itself."""
    from engine.work_queue import WorkQueue

    queue = WorkQueue(settings)
    try:
        sent = queue.submit_abandoned(store)
    finally:
        queue.close()
    for session_id in sent if announce else ():
        click.echo(f"session {session_id}, left by a process that stopped: sent to the workers", err=True)
    return sent
