"""Transcribe a whole recording: faster-whisper with Silero VAD, words timed, output in Simplified Chinese.

`transcribe_samples` returns at once; recognition runs as the caller iterates, so each utterance can be
stored and shown as it comes (the faster-whisper way).
"""
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

import numpy as np

from transcribe.hallucination import CAPTION, NO_SPEECH, is_caption, mark, mark_loops
from transcribe.punctuation import punctuated
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

    def whisper_kwargs(self) -> dict[str, Any]:
        """The keyword arguments for faster_whisper.WhisperModel.transcribe."""
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
    segments, _ = model.transcribe(samples, **options.whisper_kwargs())
    return _utterances(segments, samples, offset_s), info


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
