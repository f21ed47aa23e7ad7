"""Uploaded recordings are transcribed one at a time, in the background, by one worker thread.

The route checks and keeps the file and opens its session ("transcribing"), then hands it here and answers
at once; the service stays responsive while the model works (two CPU cores are busy enough with one file).
`GET /sessions/{id}` shows "transcribing", then "done" or "failed". The queue holds only what `run` needs
(no decoded samples: an hour of audio is 230 MB). Stopping the service stops the worker: the file being
transcribed stops at its next utterance and is marked failed, as is every file still waiting, with a message
saying to upload it again; nothing stays "transcribing" for ever.
"""
import logging
import queue
import threading

from cases import Store
from error_kinds import Unavailable

from engine.pipeline import Pipeline, Prepared
from engine.settings import Settings

log = logging.getLogger(__name__)

STOPPED_MESSAGE = "the service stopped before this recording was transcribed: upload it again"


class WorkerStopped(Unavailable):
    """Raised inside a transcription when the service is stopping (503: try again once it is back)."""

    code = "service_stopping"


class UploadWorker:
    def __init__(self, settings: Settings, *, pipeline: Pipeline) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self._queue: queue.Queue[Prepared | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping.clear()
                self._thread = threading.Thread(target=self._work, name="upload-worker", daemon=True)
                self._thread.start()

    def submit(self, prepared: Prepared) -> None:
        """Queue a prepared session; it is transcribed after those already waiting."""
        if self._stopping.is_set():
            raise WorkerStopped("the service is stopping: no new transcriptions are accepted")
        self.start()  # started lazily too, so an app used without its lifespan still works
        self._queue.put(prepared)

    def pending(self) -> int:
        return self._queue.qsize()

    def stop(self, *, wait_s: float = 60.0) -> None:
        """Stop after the current utterance; the sessions not finished are marked failed."""
        self._stopping.set()
        self._queue.put(None)
        thread = self._thread
        if thread is not None:
            thread.join(wait_s)
            if thread.is_alive():
                log.warning("the upload worker did not stop within %.0f s", wait_s)
        self._fail_waiting()

    def _work(self) -> None:
        # this thread's own connection
        store = self.settings.open_store()
        try:
            while not self._stopping.is_set():
                prepared = self._queue.get()
                if prepared is None:
                    break
                self._transcribe(store, prepared)
        finally:
            store.close()

    def _transcribe(self, store: Store, prepared: Prepared) -> None:
        def progress(stage: str, done_s: float, total_s: float) -> None:
            if self._stopping.is_set():  # raised through run(), which marks the session failed
                raise WorkerStopped(STOPPED_MESSAGE)

        try:
            result = self.pipeline.run(store, prepared, progress=progress)
            log.info("session %d transcribed: %d utterances", result.session_id, result.utterances)
        except WorkerStopped:
            log.warning("session %d: stopped with the service", prepared.session_id)
        except Exception:  # run() has marked the session failed; the worker goes on with the next file
            log.exception("session %d: transcription failed", prepared.session_id)

    def _fail_waiting(self) -> None:
        waiting: list[Prepared] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                waiting.append(item)
        if not waiting:
            return
        with self.settings.open_store() as store:
            for prepared in waiting:
                discard(store, prepared, error=STOPPED_MESSAGE)


def discard(store: Store, prepared: Prepared, *, error: str) -> None:
    """Mark a prepared session that will not be run failed, and let its lock go."""
    try:
        store.fail_session(prepared.session_id, error=error)
    finally:
        if prepared.lock is not None:
            prepared.lock.release()


__all__ = ["STOPPED_MESSAGE", "UploadWorker", "WorkerStopped", "discard"]
