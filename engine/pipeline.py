"""The file path through Bilu: keep the audio, decode, open the session; then the one session runner
(engine/session_run.py) diarizes, transcribes, stores and checks it.

Utterances are stored as recognition yields them, so a long file shows progress in the store (and on
the progress bar) while it runs; a failure leaves the session marked failed with what was stored. A file
longer than one window (BILU_FILE_WINDOW_S, 10 minutes) is decoded, diarized and transcribed a window at a time
(engine/file_windows.py), so time and memory stay flat however long the questioning.
"""
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from capture import AudioDecodeError, DecodedAudio
from cases import SYSTEM_ACTOR, Actor, Store, check_case_no
from cases.checks import check_room_name
from diarize import choose_diarizer, make_diarizer
from transcribe import ModelSpec, TranscribeOptions, load_model

from engine import audio_files
from engine.checking import DEFAULT_RULE_SET, rule_set_for
from engine.file_windows import decode_checked
from engine.session_run import ProgressCallback, file_audio, run_session
from engine.session_locks import SessionLock, create_locked_file_session
from engine.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileRequest:
    path: Path
    case_no: str
    room: str | None = None
    num_speakers: int | None = None
    seat_roles: tuple[str, ...] = ()
    diarizer: str | None = None  # None: the setting (auto: by channel count)
    hotwords: str | None = None
    rule_set: str = DEFAULT_RULE_SET
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A copy in audio/.incoming, flushed to disk, not yet kept (see engine.audio_files)."""
    path: Path
    sha256: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Prepared:
    """A file checked, kept and given its session ("transcribing"): what `Pipeline.run` needs to finish it."""
    session_id: int
    request: FileRequest
    audio_path: Path  # the kept copy
    diarizer_name: str
    options: TranscribeOptions
    # The samples of a file that fits one window; None: `run` decodes the kept copy again (a long file, a
    # queued upload: neither holds samples in memory).
    audio: DecodedAudio | None
    started: float  # time.perf_counter() when preparing began
    timings: dict[str, float]
    # Held from the session's creation until `run` ends: a session "transcribing" whose lock is free was left
    # by a process that died, and recovery resumes it (engine/session_locks.py, engine/batch_recovery.py).
    lock: SessionLock | None = None
    duration_s: float | None = None  # of the decoded audio; None: learnt by decoding it again


@dataclass(frozen=True, slots=True)
class FileResult:
    session_id: int
    duration_s: float
    utterances: int
    speakers: int


class Pipeline:
    """Holds the loaded model and diarizers, so a service transcribes many files with one load."""

    def __init__(self, settings: Settings, *, model=None):
        self.settings = settings
        # Files longer than this (plus capture.windows' search span) go through in windows (BILU_FILE_WINDOW_S).
        self.window_s = float(settings.file_window_s)
        self._model = model  # an already loaded WhisperModel may be shared (tests, benchmarks)
        self._model_lock = threading.Lock()
        self._diarizers: dict[str, object] = {}

    @property
    def model(self):
        # Rooms, uploads and start-up recovery share one pipeline from different threads: load the model once.
        with self._model_lock:
            if self._model is None:
                spec = ModelSpec(self.settings.asr_model, self.settings.asr_compute, self.settings.asr_threads,
                                 self.settings.asr_device)
                self._model = load_model(spec, cache_dir=self.settings.model_cache)
            return self._model

    def options(self, *, hotwords: str | None = None) -> TranscribeOptions:
        # Batched (BILU_ASR_BATCH_SIZE): a file is all there from the start, so its speech chunks can be
        # recognised together. Stored with the session, so a resumed run recognises it the same way.
        return TranscribeOptions(beam_size=self.settings.asr_beam_size, hotwords=hotwords,
                                 batch_size=self.settings.asr_batch_size)

    def transcribe_file(
        self, store: Store, request: FileRequest, *, progress: ProgressCallback | None = None
    ) -> FileResult:
        return self.run(store, self.prepare(store, request), progress=progress)

    def prepare(self, store: Store, request: FileRequest, *, staged: StagedFile | None = None,
                actor: Actor = SYSTEM_ACTOR, started_as: str | None = None) -> Prepared:
        """Check the request, keep the audio, decode it and open its session ("transcribing").

        Everything that can be wrong with the request fails here, before anything is stored. `staged`: a copy
        already in audio/.incoming (an upload streamed there), instead of copying `request.path`. `actor` opens the
        session; `started_as` ("session.uploaded" for the service's uploads) is audited with its row, with the
        recording's size.
        """
        started = time.perf_counter()
        check_case_no(request.case_no)
        if request.room is not None:
            check_room_name(request.room)
        rule_set_for(self.settings, request.rule_set, request.conditions)  # a bad rule set fails before storing
        diarizer_name = request.diarizer or self.settings.diarizer
        if staged is None:
            staged = StagedFile(*audio_files.stage_copy(request.path, store.audio_dir))
        try:
            audio, duration_s, channels, source_rate = decode_checked(staged.path, window_s=self.window_s,
                                                                         name=str(request.path))
            if diarizer_name == "auto":
                diarizer_name = choose_diarizer(channels)
            diarizer = self.diarizer(diarizer_name)  # an unknown name fails here, before anything is stored
        except BaseException:
            audio_files.discard(staged.path)
            raise
        kept = audio_files.keep(staged.path, staged.sha256, staged.size_bytes, home=store.home)
        options = self.options(hotwords=request.hotwords)
        session_id, lock = create_locked_file_session(
            store,
            case_no=request.case_no,
            room=request.room,
            kind="file",
            source_name=request.path.name,
            audio_path=kept.relative_path,
            audio_sha256=kept.sha256,
            audio_bytes=kept.size_bytes,
            duration_s=duration_s,
            sample_rate=source_rate,
            channels=channels,
            diarizer=diarizer.name,
            model=self.settings.asr_model,
            # With what recovery after a crash needs to go on as the pipeline would.
            options={**options.as_record(), "num_speakers": request.num_speakers,
                     "seat_roles": list(request.seat_roles)},
            actor=actor, started_as=started_as,
            started_detail=None if started_as is None else {"bytes": kept.size_bytes},
        )
        try:
            store.set_rule_set(session_id, request.rule_set, request.conditions)
        except BaseException as exc:
            store.fail_session(session_id, error=f"{type(exc).__name__}: {exc}"[:500])
            lock.release()
            raise
        log.info("session %d: %.1f s of audio, %d channel(s), diarizer %s", session_id, duration_s,
                 channels, diarizer.name)
        return Prepared(session_id=session_id, request=request, audio_path=kept.path, diarizer_name=diarizer_name,
                        options=options, audio=audio, started=started,
                        timings={"decode_s": time.perf_counter() - started}, lock=lock, duration_s=duration_s)

    def run(self, store: Store, prepared: Prepared, *, progress: ProgressCallback | None = None) -> FileResult:
        """Diarize, transcribe, check and store a prepared session (engine/session_run.py); a failure marks it
        failed."""
        try:
            audio, duration_s = prepared.audio, prepared.duration_s
            if audio is not None:
                duration_s = audio.duration_s
            elif duration_s is None or duration_s <= self.window_s * 1.25:
                # A queued upload keeps no samples: decode the kept copy again, whole if it fits one window
                # (then it is read once, not once per stage).
                audio, duration_s, _, _ = decode_checked(prepared.audio_path, window_s=self.window_s,
                                                            name=str(prepared.request.path))
            # A long file is read once to diarize and once more to transcribe: the stages follow each other,
            # each with its bar from 0 to the file's length, as for a short one.
            source = file_audio(prepared.audio_path, duration_s=duration_s, window_s=self.window_s,
                                name=str(prepared.request.path), audio=audio)
            result = run_session(store, prepared.session_id, source, settings=self.settings,
                                 model_loader=lambda: self.model, diarizer=self.diarizer(prepared.diarizer_name),
                                 progress=progress, timings=prepared.timings, started=prepared.started)
            return FileResult(session_id=prepared.session_id, duration_s=duration_s, utterances=result.added,
                              speakers=result.speakers)
        except BaseException as exc:  # Ctrl-C included: the session must not stay "transcribing"
            store.fail_session(prepared.session_id, error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        finally:  # after the final status is stored
            if prepared.lock is not None:
                prepared.lock.release()

    def diarizer(self, name: str):
        """The diarizer of that name, made once per pipeline."""
        if name not in self._diarizers:
            self._diarizers[name] = make_diarizer(name, pipeline_dir=self.settings.pyannote_pipeline)
        return self._diarizers[name]

    def check_diarizer(self) -> None:
        """Load the configured diarizer now, so a broken pyannote folder stops start-up, not a recording."""
        if self.settings.diarizer not in ("auto", "channel", "voice"):
            self.diarizer(self.settings.diarizer)


__all__ = ["AudioDecodeError", "FileRequest", "FileResult", "Pipeline", "Prepared", "StagedFile"]
