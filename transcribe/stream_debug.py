"""What a StreamingTranscriber did, kept for whoever wants to explain a late line (bench/live.py reads it).

Cheap and bounded: a tuple appended per Whisper pass and per group of committed words, in deques that keep
the latest `DEBUG_RECORDS` of each (about a megabyte; the last half hour or more of a session). No words'
text is kept, only times, so nothing said ends up here. Nothing reads it on the recognition path.
"""
import time
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

DEBUG_RECORDS = 20_000

# Why words were committed: two passes agreed on them; a pause Silero heard settled them (settled_until_s);
# the buffer reached max_buffer_s and the latest hypothesis was taken as it stood; the recording stopped
# (finish); a long hole in the audio closed what came before it.
AGREEMENT, SETTLED, MAX_BUFFER, FINISH, GAP = "agreement", "settled", "max_buffer", "finish", "gap"


class PassRecord(NamedTuple):
    index: int  # 1 for the first Whisper pass
    at: float  # time.monotonic() when the pass ended
    audio_end_s: float  # session time of the end of the audio the pass had
    compute_s: float  # seconds the pass took (Silero, Whisper, agreement, grouping)
    heard_s: float  # seconds of audio Whisper was given
    line_start: bool  # a line-start pass (only the line just begun)


class CommitRecord(NamedTuple):
    pass_index: int  # the pass that committed the words (the latest pass, for a flush)
    at: float  # time.monotonic() when they were committed
    # The first and last words' middles: a word is found by its middle. By the first word's start and the last
    # one's end, a word of no length at the committed end (its times clamped there) lay in two records.
    first_middle_s: float
    last_middle_s: float
    words: int
    cause: str  # AGREEMENT, SETTLED, MAX_BUFFER, FINISH or GAP


class CloseRecord(NamedTuple):
    at: float  # time.monotonic() when the utterance was handed out (closed, judged, punctuated)
    start_s: float
    end_s: float


@dataclass
class StreamDebug:
    passes: deque = field(default_factory=lambda: deque(maxlen=DEBUG_RECORDS))
    commits: deque = field(default_factory=lambda: deque(maxlen=DEBUG_RECORDS))
    closes: deque = field(default_factory=lambda: deque(maxlen=DEBUG_RECORDS))

    def pass_ran(self, index: int, *, audio_end_s: float, compute_s: float, heard_s: float, line_start: bool) -> None:
        self.passes.append(PassRecord(index, time.monotonic(), audio_end_s, compute_s, heard_s, line_start))

    def handed_out(self, utterances: list) -> None:
        now = time.monotonic()
        self.closes.extend(CloseRecord(now, u.start_s, u.end_s) for u in utterances)

    def committed(self, pass_index: int, words: list, cause: str) -> None:
        if words:
            self.commits.append(CommitRecord(pass_index, time.monotonic(), _middle(words[0]), _middle(words[-1]),
                                             len(words), cause))


def _middle(word) -> float:
    return (word.start_s + word.end_s) / 2
