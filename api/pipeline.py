"""The file path through Bilu: keep the audio, decode, diarize, transcribe, store.

Utterances are stored as recognition yields them, so a long file shows progress in the store (and on
the progress bar) while it runs; a failure leaves the session marked failed with what was stored.
"""
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from capture import AudioDecodeError, decode_file
from cases import Store, check_case_no
from diarize import SpeakerTurn, assign_speakers, choose_diarizer, make_diarizer, speaker_roles
from transcribe import ModelSpec, TranscribeOptions, load_model, transcribe_samples

from api import audio_files
from api.checking import DEFAULT_RULE_SET, check_session, rule_set_for
from api.settings import Settings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float, float], None]
"""Called with the stage ("diarizing", "transcribing"), the seconds of audio done in it, and the total."""


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
class FileResult:
    session_id: int
    duration_s: float
    utterances: int
    speakers: int


class Pipeline:
    """Holds the loaded model and diarizers, so a service transcribes many files with one load."""

    def __init__(self, settings: Settings, *, model=None):
        self.settings = settings
        self._model = model  # an already loaded WhisperModel may be shared (tests, benchmarks)
        self._diarizers: dict[str, object] = {}

    @property
    def model(self):
        if self._model is None:
            spec = ModelSpec(self.settings.asr_model, self.settings.asr_compute, self.settings.asr_threads)
            self._model = load_model(spec, cache_dir=self.settings.model_cache)
        return self._model

    def options(self, *, hotwords: str | None = None) -> TranscribeOptions:
        return TranscribeOptions(beam_size=self.settings.asr_beam_size, hotwords=hotwords)

    def transcribe_file(
        self, store: Store, request: FileRequest, *, progress: ProgressCallback | None = None
    ) -> FileResult:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        check_case_no(request.case_no)
        rule_set_for(self.settings, request.rule_set, request.conditions)  # a bad rule set fails before storing
        diarizer_name = request.diarizer or self.settings.diarizer
        staged, sha256, size = audio_files.stage_copy(request.path, store.audio_dir)
        try:
            audio = decode_file(staged, name=str(request.path))
            if diarizer_name == "auto":
                diarizer_name = choose_diarizer(audio.channels)
            diarizer = self._diarizer(diarizer_name)  # an unknown name fails here, before anything is stored
        except BaseException:
            audio_files.discard(staged)
            raise
        kept = audio_files.keep(staged, sha256, size, home=store.home)
        timings["decode_s"] = time.perf_counter() - started
        options = self.options(hotwords=request.hotwords)
        session_id = store.create_session(
            case_no=request.case_no,
            room=request.room,
            kind="file",
            source_name=request.path.name,
            audio_path=kept.relative_path,
            audio_sha256=kept.sha256,
            audio_bytes=kept.size_bytes,
            duration_s=audio.duration_s,
            sample_rate=audio.source_rate,
            channels=audio.channels,
            diarizer=diarizer.name,
            model=self.settings.asr_model,
            options=options.as_record(),
        )
        store.set_rule_set(session_id, request.rule_set, request.conditions)
        log.info("session %d: %.1f s of audio, %d channel(s), diarizer %s", session_id, audio.duration_s,
                 audio.channels, diarizer.name)
        try:
            return self._run(store, session_id, audio, diarizer, request, options, timings, started, progress)
        except BaseException as exc:  # Ctrl-C included: the session must not stay "transcribing"
            store.fail_session(session_id, error=f"{type(exc).__name__}: {exc}"[:500])
            raise

    def _run(self, store, session_id, audio, diarizer, request, options, timings, started, progress) -> FileResult:
        report = progress or (lambda stage, done_s, total_s: None)
        t = time.perf_counter()
        turns: list[SpeakerTurn] = []
        if request.num_speakers == 1:  # nothing to tell apart: one speaker over the whole recording
            turns = [SpeakerTurn(0.0, audio.duration_s, "S1")]
        elif audio.duration_s > 0:
            turns = diarizer.diarize(
                audio.samples,
                audio.sample_rate,
                num_speakers=request.num_speakers,
                progress=lambda fraction: report("diarizing", fraction * audio.duration_s, audio.duration_s),
            )
        timings["diarize_s"] = time.perf_counter() - t
        if request.num_speakers != 1:  # the one-speaker "turn" is an assumption, not something heard
            store.add_speaker_turns(session_id, turns)
        roles = speaker_roles(turns, request.seat_roles)
        channels = {turn.speaker: turn.channel for turn in turns}

        t = time.perf_counter()
        mono = audio.mono()
        utterances, _ = transcribe_samples(self.model, mono, options=options, model_name=self.settings.asr_model)
        count = 0
        speakers: set[str] = set()
        for utterance in assign_speakers(utterances, turns):
            store.add_utterance(session_id, utterance)
            count += 1
            if utterance.speaker:
                speakers.add(utterance.speaker)
            report("transcribing", utterance.end_s, audio.duration_s)
        report("transcribing", audio.duration_s, audio.duration_s)
        timings["transcribe_s"] = time.perf_counter() - t
        store.set_speaker_roles(session_id, {s: roles.get(s) for s in speakers}, channels)
        t = time.perf_counter()
        check_session(store, session_id, self.settings)
        timings["check_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        store.finish_session(session_id, status="done", timings={k: round(v, 3) for k, v in timings.items()})
        return FileResult(session_id=session_id, duration_s=audio.duration_s, utterances=count, speakers=len(speakers))

    def _diarizer(self, name: str):
        if name not in self._diarizers:
            self._diarizers[name] = make_diarizer(name, pipeline_dir=self.settings.pyannote_pipeline)
        return self._diarizers[name]

    def check_diarizer(self) -> None:
        """Load the configured diarizer now, so a broken pyannote folder stops start-up, not a recording."""
        if self.settings.diarizer not in ("auto", "channel", "voice"):
            self._diarizer(self.settings.diarizer)


__all__ = ["AudioDecodeError", "FileRequest", "FileResult", "Pipeline"]
