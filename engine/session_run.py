"""One way to run a session from a given point: diarize, transcribe, give roles, store, check, finish.

Every path calls `run_session`: a fresh file (engine/pipeline.py), a file resumed after a crash
(engine/batch_recovery.py) and the rest of a live recording after a crash (engine/recovery.py). Each run takes
the options the session stored when it started (`SessionOptions.of`: model, beam, hotwords, diarizer, speakers,
seat roles, rule set and conditions), reads its audio a window at a time (`file_audio`, `archive_audio`: never a
whole recording in memory), and moves the session's `transcribed_until` with every utterance it stores. The live
path itself (engine/live.py) stays a streaming loop over live audio; only what a crash leaves comes here.

Resuming: the speaker turns stored before the stop are used as they are (the diarizer runs only when none are
stored for the audio to run), and the window holding the point of resumption is transcribed again from its
start, skipping what was stored (engine/file_windows.py), so a resumed file gives the transcript an
uninterrupted run gives.
"""
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from capture import DecodedAudio, segment_windows
from capture.recorder import SegmentInfo
from cases import Store
from diarize import SpeakerTurn, exclusive_turns, make_diarizer, speaker_roles
from transcribe import TranscribeOptions

from engine.checking import check_session
from engine.file_windows import Speakers, TurnPair, WindowSource, diarize_windows, transcribe_windows, window_source
from engine.settings import Settings

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, float, float], None]
"""Called with the stage ("diarizing", "transcribing"), the seconds of audio done in it, and the total."""

# Where a live session keeps the options the rest of its recording is transcribed with after a crash (its top-level
# options are those of the streaming passes, whose beam is narrower).
RESUME_KEY = "resume"


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """What a session runs with, as stored when it started: so a run resumed after a crash, by another process
    or on another machine, goes on as the first one would have."""

    model: str
    transcribe: TranscribeOptions  # beam, hotwords, thresholds, VAD
    diarizer: str | None
    num_speakers: int | None
    seat_roles: tuple[str, ...]
    rule_set: str
    conditions: tuple[str, ...]

    @classmethod
    def of(cls, session: dict, settings: Settings) -> "SessionOptions":
        record = session["options"] or {}
        if record.get("streaming") and RESUME_KEY not in record:
            # A live session stored before the resume options were: its passes' record, with the service's beam.
            options = dataclasses.replace(_transcribe_options(record), beam_size=settings.asr_beam_size)
        else:
            options = _transcribe_options(record.get(RESUME_KEY, record))
        return cls(model=session["model"], transcribe=options, diarizer=session["diarizer"],
                   num_speakers=record.get("num_speakers"), seat_roles=tuple(record.get("seat_roles") or ()),
                   rule_set=session["rule_set"], conditions=tuple(session["conditions"] or ()))


def _transcribe_options(record: dict) -> TranscribeOptions:
    names = {f.name for f in dataclasses.fields(TranscribeOptions)}
    return TranscribeOptions(**{k: v for k, v in record.items() if k in names})


@dataclass(frozen=True, slots=True)
class SessionAudio:
    """A session's audio from `start_s` to `end_s` (session clock), given a window at a time."""

    windows: WindowSource
    start_s: float
    end_s: float
    # Its samples are in memory already (a file that fits one window): diarized beside batched recognition.
    whole: bool = False


def file_audio(path: Path, *, duration_s: float, window_s: float, name: str | None = None,
               audio: DecodedAudio | None = None) -> SessionAudio:
    """A kept recording, from its start (`audio`: already decoded whole, when it fits one window)."""
    return SessionAudio(window_source(path, window_s=window_s, name=name, audio=audio), 0.0, duration_s,
                        whole=audio is not None)


def archive_audio(segments: list[SegmentInfo], *, from_s: float, window_s: float) -> SessionAudio:
    """What a live recording's segment archive holds from `from_s` on, read segment by segment."""
    end_s = max((s.start_s + s.duration_s for s in segments), default=from_s)
    if not segments or end_s <= from_s:
        return SessionAudio(lambda: iter(()), from_s, from_s)
    return SessionAudio(lambda: segment_windows(segments, from_s=from_s, window_s=window_s), from_s, end_s)


@dataclass(frozen=True, slots=True)
class RunResult:
    session_id: int
    from_s: float
    added: int  # utterances stored by this run
    speakers: int  # speakers among them


def resume_point(store: Store, session_id: int) -> float:
    """Where a stopped session goes on: after the last utterance stored, whether or not transcribed_until was
    moved past it (the process may have died between the two)."""
    return max([u["end_s"] for u in store.utterances(session_id)] + [store.transcribed_until(session_id)])


def run_session(
    store: Store, session_id: int, audio: SessionAudio, *, settings: Settings, model_loader: Callable[[], object],
    from_s: float = 0.0, status: str = "done", error: str | None = None, diarizer=None,
    progress: ProgressCallback | None = None, timings: dict[str, float] | None = None,
    total_key: str = "total_s", started: float | None = None, finish: dict | None = None,
) -> RunResult:
    """Run the session on `audio` from `from_s` with its stored options, and finish it with `status`.

    `model_loader()` is called only if there is audio to transcribe; `diarizer` (a loaded one, for the session's
    diarizer name) saves loading it again. `finish`: more of the session known only now (a live recording's
    duration, sha256 and size). `timings` (what was timed before, e.g. decoding) are stored with the session,
    with the run's own and, under `total_key`, the time since `started`. Exceptions go to the caller, which
    decides whether the session failed (a fresh run) or stays to be recovered again.
    """
    started = time.perf_counter() if started is None else started
    timings = dict(timings or {})
    report = progress or (lambda stage, done_s, total_s: None)
    options = SessionOptions.of(store.get_session(session_id), settings)
    stored = sorted(store.utterances(session_id), key=lambda u: u["id"])
    # Speakers heard before `audio` begins (the live part of a recording): they keep their roles.
    earlier = _speakers_before(stored, audio.start_s)
    duration_s = audio.end_s

    turn_source = _speakers(store, session_id, audio, options, settings, stored, diarizer, report)

    try:
        t = time.perf_counter()
        added = 0
        speakers: set[str] = set()
        if from_s < audio.end_s:
            model = model_loader()
            if options.model != settings.asr_model:
                log.warning("session %d was started with model %s and is run with %s", session_id, options.model,
                            settings.asr_model)
            storing_s = 0.0  # of the transcribing time, what storing took (the rest: recognition and its passes)
            for utterance in transcribe_windows(audio.windows(), speakers=turn_source, model=model,
                                                options=options.transcribe, model_name=settings.asr_model,
                                                from_s=from_s, stored=stored):
                storing = time.perf_counter()
                store.add_utterance(session_id, utterance)
                store.set_transcribed_until(session_id, utterance.end_s)
                storing_s += time.perf_counter() - storing
                added += 1
                if utterance.speaker:
                    speakers.add(utterance.speaker)
                report("transcribing", utterance.end_s, duration_s)
            timings["store_s"] = storing_s
        report("transcribing", duration_s, duration_s)
        store.set_transcribed_until(session_id, max(from_s, duration_s))
        turns, _ = turn_source.get()
        timings["transcribe_s"] = time.perf_counter() - t
        # The diarizer's own time; found beside recognition, it is inside transcribe_s too, except what recognition
        # waited for it (diarize_wait_s).
        timings["diarize_s"] = turn_source.find_s
        timings["diarize_wait_s"] = turn_source.waited_s
    finally:
        turn_source.settle()

    _give_roles(store, session_id, turns, options.seat_roles, earlier)
    t = time.perf_counter()
    check_session(store, session_id, settings)
    timings["check_s"] = time.perf_counter() - t
    timings[total_key] = time.perf_counter() - started
    store.finish_session(session_id, status=status, error=error,
                         timings={k: round(v, 3) for k, v in timings.items()}, **(finish or {}))
    return RunResult(session_id=session_id, from_s=from_s, added=added, speakers=len(speakers))


def _speakers(store: Store, session_id: int, audio: SessionAudio, options: SessionOptions, settings: Settings,
              stored: list[dict], diarizer, report: ProgressCallback) -> Speakers:
    """The turns lines are given speakers by: taken from the store, where the diarizer's turns are put as soon as it
    has run (before any line is stored), so a fresh run and a resumed one assign words by the very same turns. A
    recording decoded whole and recognised batched is diarized beside recognition (engine.file_windows.Speakers),
    otherwise first."""
    if options.num_speakers == 1:  # nothing to tell apart: one assumed speaker, never stored as a turn
        return Speakers(([SpeakerTurn(audio.start_s, audio.end_s, "S1")], []))
    heard = _stored_turns(store, session_id, after_s=audio.start_s)
    if heard or any(u["start_s"] >= audio.start_s for u in stored) or audio.end_s <= audio.start_s:
        return Speakers((exclusive_turns(heard), heard))
    diarizer = diarizer or make_diarizer(options.diarizer or "auto", pipeline_dir=settings.pyannote_pipeline)
    length_s = audio.end_s - audio.start_s

    def find() -> TurnPair:
        return diarize_windows(diarizer, audio.windows, duration_s=audio.end_s, num_speakers=options.num_speakers,
                               progress=lambda fraction: report("diarizing", fraction * length_s, length_s))

    def found(pair: TurnPair) -> TurnPair:
        store.add_speaker_turns(session_id, pair[1])
        again = _stored_turns(store, session_id, after_s=audio.start_s)
        return exclusive_turns(again), again

    # Beside recognition only when batched: there recognition is fast enough that the diarizer's head start would
    # cost time. Sequential recognition stores its lines as they come once the turns are known, so the diarizer goes
    # first (a few seconds): on a busy machine a diarizer beside recognition held every line back to the end
    # (tests/api/test_upload_progress_browser.py: the page showed no line and no percentage until it was done).
    beside = audio.whole and options.transcribe.batch_size > 0
    return Speakers(find=find, found=found) if beside else Speakers.now(find, found=found)


def _stored_turns(store: Store, session_id: int, *, after_s: float) -> list[SpeakerTurn]:
    return [SpeakerTurn(t["start_s"], t["end_s"], t["speaker"], t["channel"])
            for t in store.speaker_turns(session_id) if t["end_s"] > after_s]


def _speakers_before(stored: list[dict], start_s: float) -> list[SpeakerTurn]:
    """One zero-length turn per speaker heard before `start_s`, in order of first speaking."""
    first: dict[str, SpeakerTurn] = {}
    for u in sorted(stored, key=lambda u: u["start_s"]):
        if u["start_s"] < start_s and u["speaker"] and u["speaker"] not in first:
            first[u["speaker"]] = SpeakerTurn(-1.0, -1.0, u["speaker"], u["channel"])
    return list(first.values())


def _give_roles(store: Store, session_id: int, turns: list[SpeakerTurn], seat_roles: tuple[str, ...],
                earlier: list[SpeakerTurn]) -> None:
    """Roles of the speakers this run heard: by seat, or by order of first speaking after those heard earlier
    (who keep theirs)."""
    roles = speaker_roles(earlier + turns, seat_roles)
    known = {t.speaker for t in earlier}
    speakers = {u["speaker"] for u in store.utterances(session_id) if u["speaker"] and u["speaker"] not in known}
    channels = {t.speaker: t.channel for t in turns if t.speaker not in known}
    if speakers or channels:
        store.set_speaker_roles(session_id, {s: roles.get(s) for s in speakers}, channels)


__all__ = ["RESUME_KEY", "RunResult", "SessionAudio", "SessionOptions", "archive_audio", "file_audio",
           "resume_point", "run_session"]
