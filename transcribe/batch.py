"""Transcribe a whole recording: faster-whisper with Silero VAD, words timed, output in Simplified Chinese.

`transcribe_samples` returns at once; recognition runs as the caller iterates, so each utterance can be
stored and shown as it comes (the faster-whisper way).

Two ways through faster-whisper, chosen by `TranscribeOptions.batch_size`:
- 0, sequential (`WhisperModel.transcribe`): one 30 s window after the other, each decoded again at higher
  temperatures when it fails Whisper's own checks, windows Whisper is sure are not speech skipped. Streaming and
  every record made before batching use it.
- N >= 1, batched (`faster_whisper.BatchedInferencePipeline`): Silero VAD's speech is packed into chunks of up
  to 30 s and N chunks are encoded and decoded together (on 2 CPU cores about 0.8x the CPU time, bench/batch.py). What
  it leaves out: the temperature fallback (one greedy or beam pass at temperature 0) and the no-speech skip; so
  nothing is skipped, and Whisper's no-speech figures only mark words (transcribe.hallucination), as here
  always. Each chunk comes back as one segment; it is cut into utterances at pauses that end a sentence.
"""
import logging
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterator

import numpy as np

from transcribe.hallucination import CAPTION, NO_SPEECH, is_caption, mark, mark_loops
from transcribe.punctuation import PunctuationOptions, punctuated
from transcribe.speech_check import judged, noise_floor_db
from transcribe.simplified import simplified_words
from transcribe.types import Utterance, Word

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000


@dataclass(frozen=True, slots=True)
class TranscribeOptions:
    """Recognition settings; every one is stored with the transcript it produced.

    Whisper skips a window as "not speech" when no_speech_prob > no_speech_threshold and the average
    log-probability < log_prob_threshold. Its default (0.6) loses quiet or hesitant answers; Silero VAD
    has already cut away silence and noise, so only windows Whisper is nearly sure of are skipped here.

    Against bare faster-whisper's defaults (bench/accuracy.py, 43 labelled clips, 495 characters) only the VAD
    changes the words: without it the pipeline writes exactly what bare does (CER 0.2949 against 0.2869 with it);
    no_speech_threshold 0.6 and condition_on_previous_text (every clip fits one 30 s window) changed nothing, and a
    wider pad (800 ms) gave 0.2970.

    `batch_size` 0 transcribes sequentially, N >= 1 with faster-whisper's batched pipeline, N chunks of up to
    30 s at a time (see the module's docstring; what it costs in accuracy: README, "Faster files"). A record
    stored without it was transcribed sequentially, and is resumed so.
    """

    language: str = "zh"
    beam_size: int = 5
    no_speech_threshold: float = 0.9
    log_prob_threshold: float = -1.0
    # Conditioning on the previous window is what feeds repetition loops; each window stands alone.
    condition_on_previous_text: bool = False
    # Silero VAD as faster-whisper tunes it: tighter cuts (700 ms, 300 ms pad) clipped word edges and
    # raised the character error rate (bench/accuracy.py).
    vad_min_silence_ms: int = 2000
    vad_speech_pad_ms: int = 400
    hotwords: str | None = None
    batch_size: int = 0
    # Batched only: decode text without timestamp tokens (faster-whisper's batched default), kept to measure
    # the choice (bench/accuracy.py --batched-text-only), not a setting.
    batch_text_only: bool = False

    def __post_init__(self):
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 0:
            raise ValueError(f"batch_size must be a whole number, 0 (sequential) or more, got {self.batch_size!r}")

    @property
    def batched(self) -> bool:
        return self.batch_size > 0

    def whisper_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the call `transcribe_samples` makes: WhisperModel.transcribe (sequential) or
        BatchedInferencePipeline.transcribe (batched)."""
        if self.batched:
            return self.batched_kwargs()
        return self.sequential_kwargs()

    def batched_kwargs(self) -> dict[str, Any]:
        """For faster_whisper.BatchedInferencePipeline.transcribe. Only what it uses: it takes the no-speech and
        log-probability thresholds and condition_on_previous_text but ignores them."""
        return {
            "language": self.language,
            "task": "transcribe",
            "beam_size": self.beam_size,
            "word_timestamps": True,
            # With timestamp tokens, as sequential decoding: Whisper then cuts a chunk into sentence-long segments
            # and writes the spaces and marks punctuation builds on. Text only (the batched default) gives one
            # unpunctuated segment per 30 s chunk (its CER: bench/accuracy.py --batched-text-only).
            "without_timestamps": self.batch_text_only,
            "vad_filter": True,
            "vad_parameters": {
                "min_silence_duration_ms": self.vad_min_silence_ms,
                "speech_pad_ms": self.vad_speech_pad_ms,
            },
            "hotwords": self.hotwords or None,
            "batch_size": self.batch_size,
        }

    def sequential_kwargs(self) -> dict[str, Any]:
        """For faster_whisper.WhisperModel.transcribe (also what bare sequential faster-whisper is given in the
        benchmarks)."""
        return {
            "language": self.language,
            "task": "transcribe",
            "beam_size": self.beam_size,
            "word_timestamps": True,
            "vad_filter": True,
            "vad_parameters": {
                "min_silence_duration_ms": self.vad_min_silence_ms,
                "speech_pad_ms": self.vad_speech_pad_ms,
            },
            "no_speech_threshold": self.no_speech_threshold,
            "log_prob_threshold": self.log_prob_threshold,
            "condition_on_previous_text": self.condition_on_previous_text,
            "hotwords": self.hotwords or None,
        }

    def as_record(self) -> dict[str, Any]:
        """What is stored with a transcript: our settings and the exact arguments given to faster-whisper."""
        return {**asdict(self), "whisper": self.whisper_kwargs()}


@dataclass(frozen=True, slots=True)
class TranscriptInfo:
    duration_s: float
    language: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)


# A window Whisper kept, but that its own figures say is noise: nearly sure it is not speech, and unsure of
# the words. Its words are kept, marked NO_SPEECH; real speech with a high no-speech score is not
# suspected when the words are confident.
_SUSPECT_NO_SPEECH = 0.6
_SUSPECT_LOGPROB = -1.2


def transcribe_samples(
    model,
    samples: np.ndarray,
    *,
    options: TranscribeOptions = TranscribeOptions(),
    model_name: str = "base",
    offset_s: float = 0.0,
) -> tuple[Iterator[Utterance], TranscriptInfo]:
    """Recognise mono float32 16 kHz `samples`; times in the utterances are shifted by `offset_s`."""
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples, got an array shaped {samples.shape}")
    duration_s = len(samples) / SAMPLE_RATE
    info = TranscriptInfo(duration_s=duration_s, language=options.language, model=model_name,
                          options=options.as_record())
    if len(samples) == 0:  # empty audio is an empty transcript, not an error
        return iter(()), info
    if options.batched:
        segments = _batched_segments(model, samples, options)
    else:
        segments, _ = model.transcribe(samples, **options.sequential_kwargs())
    return _utterances(segments, samples, offset_s), info


def _batched_segments(model, samples: np.ndarray, options: TranscribeOptions) -> Iterator:
    """The batched pipeline's segments cut into sentence pieces. A generator: the batched pipeline runs its VAD
    and computes every chunk's features when called, and nothing may run before the caller iterates."""
    from faster_whisper import BatchedInferencePipeline

    # One per call: it keeps the last word time between its batches, so a shared one would mix two calls'.
    segments, _ = BatchedInferencePipeline(model).transcribe(samples, **options.batched_kwargs())
    for segment in segments:
        yield from sentence_pieces(segment)


def sentence_pieces(segment, *, pause_s: float = PunctuationOptions().sentence_pause_s) -> list:
    """A batched segment (a whole chunk of up to 30 s, text without timestamps) cut where its words pause as
    long as a sentence end (the pause punctuation ends a sentence at): pieces of about the length of a
    sequential segment, so one utterance holds one stretch of speech, and a caption or a loop is judged
    on its own stretch. Whisper's no-speech figures are the chunk's, given to each piece."""
    words = list(segment.words or ())
    cuts = [i for i in range(1, len(words)) if words[i].start - words[i - 1].end >= pause_s]
    if not cuts:
        return [segment]
    pieces = []
    for first, end in zip([0, *cuts], [*cuts, len(words)]):
        part = words[first:end]
        pieces.append(replace(segment, start=part[0].start, end=part[-1].end, words=part,
                              text="".join(w.word for w in part)))
    return pieces


def _utterances(segments, samples: np.ndarray, offset_s: float) -> Iterator[Utterance]:
    floor_db = None  # measured at the first utterance, so nothing runs before the caller iterates
    suspected = left_out = 0
    for segment in segments:
        utterance = clean_segment(segment, offset_s=offset_s)
        if utterance is None:
            continue
        # Punctuation from pauses and question forms, stored with the words (characters untouched). Who
        # speaks is not known yet: the 讯问笔录 reads an officer's line as a question on weaker evidence.
        utterance = punctuated(utterance)
        if floor_db is None:
            floor_db = noise_floor_db(samples)
        utterance = judged(utterance, samples, samples_start_s=offset_s, floor_db=floor_db)
        suspected += utterance.suspect is not None
        left_out += utterance.not_speech
        yield utterance
    if suspected:
        log.info("%d recognised utterances suspected (kept, marked); %d over audio that is not speech",
                 suspected, left_out)


def clean_segment(segment, *, offset_s: float = 0.0) -> Utterance | None:
    """One faster-whisper segment as an Utterance in Simplified characters, times shifted by `offset_s`;
    None only when it has no text at all. Text the filters doubt (Whisper's own no-speech figures, an
    invented caption, a repetition loop) is kept and marked (`Word.suspect`, `Utterance.suspect`): the
    audio decides (transcribe.speech_check). Shared with streaming."""
    raw = list(segment.words or ())
    texts = simplified_words([w.word for w in raw])  # across words: 瞭 + 解 is 了解
    words = [
        Word(
            start_s=round(w.start + offset_s, 3),
            end_s=round(max(w.end, w.start) + offset_s, 3),
            text=text,
            probability=round(float(w.probability), 4),
        )
        for w, text in zip(raw, texts)
    ]
    words = [w for w in words if w.text.strip()]  # a word without text carries nothing said
    if not words:
        return None
    if is_caption("".join(w.text for w in words)):
        words = mark(words, CAPTION)
    words = mark_loops(words)
    if segment.no_speech_prob > _SUSPECT_NO_SPEECH and segment.avg_logprob < _SUSPECT_LOGPROB:
        words = mark(words, NO_SPEECH)
    return Utterance.from_words(words)
