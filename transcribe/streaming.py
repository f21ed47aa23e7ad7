"""Live recognition: a push API over faster-whisper with LocalAgreement (after ufal/whisper_streaming).

The caller pushes audio (`insert_audio`) and asks for news (`process`): no I/O here, so a microphone, a
replayed file and a test drive it the same way. Each pass recognises the audio buffer since the last trim
point; words two successive passes agree on (or that a pause has settled) are committed and never change;
the rest is tentative. Committed words are grouped into utterances at sentence ends, pauses and a maximum
length, with the same Simplified output and hallucination marks as batch (`clean_segment`); each
committed utterance carries the measure of the audio under it (transcribe.speech_check, over the last
minute of audio kept for that), so text over silence is marked, never stored as if said. Silero VAD
decides whether there is speech at all (Whisper never runs on a silent buffer) and when a turn has ended
(a pass then runs at once, without waiting for `min_chunk_s`, so the turn's last words are committed about
a second after it ends). An utterance ends where Silero hears a pause, even when Whisper's word times run
over it (they do at the 0.7 s gaps between two speakers), and the words before such a pause are settled.
When every word so far is stored, the next pass hears only the line just begun (and a few seconds before
it), so its first words show within about a second. Once longer than `buffer_trim_s`, the buffer is cut
where a sentence or a pause ends inside the committed text (a closed utterance, the end of a Whisper segment, a pause Silero heard),
never mid-sentence: after a mid-sentence cut Whisper keeps changing its first words, and two passes no
longer agree. It is never held beyond `max_buffer_s`, so memory stays bounded over hours.
Each pass encodes only as much audio as the buffer holds, rounded up to a second (transcribe.short_window),
not Whisper's 30 s window: on 2 cores that makes a pass over 5-15 s of audio about 2-3 times cheaper.
"""
import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np

from error_kinds import BadInput

from transcribe.agreement import LocalAgreement, UtteranceGrouper
from transcribe.batch import SAMPLE_RATE, TranscribeOptions, clean_segment
from transcribe.punctuation import punctuated
from transcribe.short_window import PassWindow
from transcribe.speech_check import judged, noise_floor_db
from transcribe.stream_debug import AGREEMENT, FINISH, GAP, MAX_BUFFER, SETTLED, StreamDebug
from transcribe.types import Utterance, Word

log = logging.getLogger(__name__)

# Whisper hears at most 30 s at once; a longer buffer would be cut into windows that each lose context.
WHISPER_WINDOW_S = 30.0
# Silero settings for "is anyone speaking, and where did it stop": finer than batch's (2 s silences),
# because a turn's end must be seen within a second. People take turns with gaps of 0.3-0.5 s: with 300 ms
# and 100 ms of padding on each side such a gap was not heard (under 0.5 s it was one region), so the line
# before it waited for two passes to agree and for the next speaker's pause; on held-out two-speaker mixes a
# tail of lines was stored 6-9 s after it ended. 200 / 50 ms hears a 0.3 s gap (bench/live.py --mix, quiet
# machine, one room, 2 min: per-line p95 8.97 -> 5.95 s and 8.99 -> 7.26 s on two held-out mixes, 3.19 -> 2.27 s
# on the room mix; CER against batch 0.195 -> 0.212, 0.308 -> 0.319, 0.144 -> 0.115).
_VAD_MIN_SILENCE_MS = 200
_VAD_SPEECH_PAD_MS = 50
# Silero's regions are padded on each side, so the silence between two of them is longer than the gap
# between the regions: by one pad before the buffer's end, by two before the next region. Pauses are
# measured as heard (`_silence_s`): compared padded, a 0.3 s silence between two speakers showed as 0.2 s,
# under `pause_commit_s`, so it ended no utterance, the next speaker's first words joined the line before,
# and that utterance closed only at the next speaker's own pause (bench/live.py, held-out mixes: the late
# lines' last words committed 1.6-3.2 s after their end, then waited 1.9-5.4 s, the length of the next line).
_VAD_PAD_S = _VAD_SPEECH_PAD_MS / 1000
# In silence, the buffer keeps this much audio, so a word starting at its edge is heard whole.
_SILENCE_KEEP_S = 1.0
# How much audio before the last pass's end the turn-end check listens to: Silero needs some speech
# before a pause to place its end.
_TURN_END_CONTEXT_S = 1.0
# A line-start pass (see _run_pass) begins this long before the speech Silero heard (whose regions are
# already padded by _VAD_SPEECH_PAD_MS), so a soft first syllable is not cut ...
_LINE_LEAD_S = 0.2
# ... and hears at least this much audio: over a few tenths of a second, or a window that is mostly the
# silence before the line, Whisper invents (哎, 3-, 4-5-6-6-…; seen at 0.2 s and 2 s, not at 4 s).
_LINE_MIN_S = 4.0
# Beam of each pass unless the caller sets one: measured (bench/live_latency.py) beam 1 against 5 on the
# test clips, see pass_beam_size below.
STREAMING_BEAM_SIZE = 1
# Each pass decodes once, greedily or with its beam, at temperature 0. faster-whisper's fallback (resampling
# at 0.2 … 1.0 when a hypothesis looks poor) made single passes take 13-99 s on 2 cores; a poor hypothesis
# here is simply not agreed with by the next pass.
PASS_TEMPERATURE = 0.0
# How much committed text (characters) goes with each pass as Whisper's initial prompt, when enabled.
_PROMPT_CHARS = 60
# The audio kept for judging committed utterances (transcribe.speech_check), whatever the buffer's trims:
# an utterance is at most max_utterance_s long and closes within a few seconds of its last word. Its
# quietest frames are also the noise floor the utterances' levels are measured against.
_HISTORY_S = 60.0


class StreamingError(BadInput):
    """Audio or settings the streaming transcriber cannot accept; the message says what is allowed."""

    code = "streaming_input_invalid"


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """What one `process` (or `finish`) call produced.

    `committed`: utterances completed since the previous update, final (`committed=True`), in time order.
    `tentative`: everything heard after the last committed utterance (words already agreed but whose
    utterance is still open, then the latest hypothesis's uncommitted words), `committed=False`; None if
    nothing. It is replaced by the next update's tentative, never appended to.
    """

    committed: list[Utterance] = field(default_factory=list)
    tentative: Utterance | None = None


class StreamingTranscriber:
    """Push mono float32 16 kHz audio with `insert_audio`, call `process` as often as wished, `finish` at the end.

    `min_chunk_s`: a pass runs once this much new audio has arrived, or earlier when a turn ends; each pass
    refreshes the tentative text. `first_pass_s`: when nothing is pending (no open or tentative words) and
    Silero hears speech in this much new audio, a pass runs at once, so a line's first words show within
    about a second of its start (None: wait for `min_chunk_s`). Measured on the labelled clips
    (bench/live_latency.py): passes every 0.5 s instead of 1 s cost twice the CPU and raised the error rate
    from 0.14 to 0.18, hence only the first pass of a line comes early. `window`: the encoder window of
    each pass (`PassWindow`, see transcribe.short_window); None: faster-whisper's 30 s window, whatever the
    buffer's length.
    `buffer_trim_s`: past this length the buffer is cut where a sentence or pause ends inside the committed
    text (see `_trim_point`). `max_buffer_s`: the hard bound; reaching it commits the tentative words and
    cuts. `pause_s`: a gap that ends an utterance (0.5 s:
    people take turns with gaps shorter than 0.8 s, and an utterance must not span two speakers);
    `pause_commit_s`: silence after speech, as Silero hears it (not the gap between its padded regions), that
    settles the words before it and, between two stretches of speech, ends the utterance there (None: wait for
    agreement, and end utterances at Whisper's word gaps only).
    `prompt_with_committed`: pass the committed text before the buffer as Whisper's initial prompt. Off by
    default: measured on the test clips it did not lower the error, and once made one pass run 17 s by
    feeding a repetition loop (DEPENDENCIES.md: base repeats a Chinese prompt into the transcript).
    `pass_beam_size`: the beam of each pass, replacing `options.beam_size` (None: keep it). A pass reruns
    every second, and agreement between passes, not the beam, is what makes committed text reliable;
    `pass_options` is what was really used, to store with the transcript.
    `start_s`: the session clock at the first sample.
    """

    def __init__(
        self,
        model,
        *,
        options: TranscribeOptions = TranscribeOptions(),
        min_chunk_s: float = 1.0,
        first_pass_s: float | None = 0.5,
        buffer_trim_s: float = 15.0,
        max_buffer_s: float = 25.0,
        pause_s: float = 0.5,
        pause_commit_s: float | None = 0.3,
        max_utterance_s: float = 10.0,
        prompt_with_committed: bool = False,
        pass_beam_size: int | None = STREAMING_BEAM_SIZE,
        window: PassWindow | None = PassWindow(),
        start_s: float = 0.0,
    ) -> None:
        if first_pass_s is not None and not 0 < first_pass_s <= min_chunk_s:
            raise StreamingError(
                f"first_pass_s={first_pass_s}: must be above 0 and at most min_chunk_s ({min_chunk_s}), or None")
        if not 0 < min_chunk_s < buffer_trim_s:
            raise StreamingError(f"min_chunk_s={min_chunk_s}: must be above 0 and below buffer_trim_s ({buffer_trim_s})")
        if not buffer_trim_s <= max_buffer_s <= WHISPER_WINDOW_S:
            raise StreamingError(
                f"max_buffer_s={max_buffer_s}: must lie between buffer_trim_s ({buffer_trim_s}) and "
                f"Whisper's window ({WHISPER_WINDOW_S} s)"
            )
        if pause_s <= 0 or max_utterance_s <= pause_s or (pause_commit_s is not None and pause_commit_s <= 0):
            raise StreamingError(
                f"pause_s={pause_s}, pause_commit_s={pause_commit_s}, max_utterance_s={max_utterance_s}: "
                "pauses must be positive (pause_commit_s may be None) and max_utterance_s longer than pause_s"
            )
        if window is not None and not isinstance(window, PassWindow):
            raise StreamingError(f"window={window!r}: give a PassWindow, or None for Whisper's 30 s windows")
        if pass_beam_size is not None and pass_beam_size < 1:
            raise StreamingError(f"pass_beam_size={pass_beam_size}: must be 1 or more, or None to use options.beam_size")
        self.model = model
        self.window = window
        self._pass_model = None  # built at the first pass (see _whisper)
        self.options = options
        self.pass_options = options if pass_beam_size is None else replace(options, beam_size=pass_beam_size)
        self.min_chunk_s = min_chunk_s
        self.first_pass_s = first_pass_s
        self.buffer_trim_s = buffer_trim_s
        self.max_buffer_s = max_buffer_s
        self.pause_commit_s = pause_commit_s
        self.prompt_with_committed = prompt_with_committed
        self._buffer = np.zeros(0, dtype=np.float32)
        self._buffer_start_s = float(start_s)
        self._history = np.zeros(0, dtype=np.float32)  # the last _HISTORY_S of audio, for judging
        self._history_start_s = float(start_s)
        self._processed_end_s = float(start_s)
        self._agreement = LocalAgreement()
        self._grouper = UtteranceGrouper(pause_s=pause_s, max_utterance_s=max_utterance_s)
        self._waiting: list[Utterance] = []  # closed outside process() (a gap in the audio), not yet returned
        self._committed_in_buffer: list[Word] = []  # become the prompt once trimmed out of the buffer
        # Where the latest hypothesis ended a segment (before its last one) and the pauses the latest VAD
        # heard: with the ends of closed utterances, the only places the buffer is cut.
        self._segment_ends_s: list[float] = []
        self._speech: list[tuple[float, float]] = []
        self._prompt = ""
        self._finished = False
        self.passes = 0  # Whisper passes run so far
        self.last_pass_s = 0.0  # compute time of the last process() or finish() call that ran Whisper
        self.last_pass_heard_s = 0.0  # seconds of audio that pass gave Whisper
        self.debug = StreamDebug()  # each pass and why each word was committed, to explain late lines

    @property
    def end_s(self) -> float:
        """Session time at the end of the audio inserted so far."""
        return self._buffer_start_s + len(self._buffer) / SAMPLE_RATE

    @property
    def buffered_s(self) -> float:
        """Seconds of audio held in the buffer (what memory use follows)."""
        return len(self._buffer) / SAMPLE_RATE

    def insert_audio(self, samples: np.ndarray, start_s: float | None = None) -> None:
        """Append mono float32 16 kHz samples; `start_s` (session time) may leave a gap, never overlap."""
        if self._finished:
            raise StreamingError("audio inserted after finish(): start a new StreamingTranscriber")
        samples = np.asarray(samples)
        if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
            raise StreamingError(
                f"expected mono float samples (a 1-D float32 array at {SAMPLE_RATE} Hz), got {samples.dtype} "
                f"shaped {samples.shape}"
            )
        if not np.all(np.isfinite(samples)):
            raise StreamingError("samples contain NaN or infinity: only finite values in [-1, 1] are allowed")
        if start_s is not None:
            self._fill_gap(float(start_s))
        samples = samples.astype(np.float32, copy=False)
        self._buffer = np.concatenate([self._buffer, samples])
        self._remember_audio(samples)

    def _remember_audio(self, samples: np.ndarray) -> None:
        self._history = np.concatenate([self._history, samples])
        excess = len(self._history) - int(_HISTORY_S * SAMPLE_RATE)
        if excess > SAMPLE_RATE:  # cut a second or more at once, not at every chunk
            self._history = self._history[excess:].copy()
            self._history_start_s += excess / SAMPLE_RATE

    def process(self) -> StreamUpdate:
        """Run a pass if at least `min_chunk_s` of new audio has arrived, or if a turn has just ended; return
        what was committed and the tentative."""
        if self._finished:
            raise StreamingError("process() after finish(): start a new StreamingTranscriber")
        new_s = self.end_s - self._processed_end_s
        if new_s >= self.min_chunk_s or (new_s > 0 and self._turn_just_ended()) or self._speech_started(new_s):
            return self._update(self._run_pass(line_start=self._all_closed()))
        return self._update(self._close_if_silent())

    def _speech_started(self, new_s: float) -> bool:
        """Nothing is pending and Silero hears speech in the audio since the last pass: a line has begun."""
        if self.first_pass_s is None or new_s < self.first_pass_s or self._grouper.open or self._agreement.tentative:
            return False
        return bool(self._speech_regions(from_s=self._processed_end_s))

    def _close_if_silent(self) -> list[Utterance]:
        """Close the open utterance once a pause longer than `pause_s` follows its last word and Silero hears
        nothing in it, without waiting for the next pass: that is when a line is over (and stored)."""
        open_words = self._grouper.open
        if not open_words or self._agreement.tentative or self.end_s - open_words[-1].end_s <= self._grouper.pause_s:
            return []
        if self._speech_regions(from_s=open_words[-1].end_s):
            return []
        return [self._grouper.close()]

    def _turn_just_ended(self) -> bool:
        """Speech the last pass did not see settle has been followed by `pause_commit_s` of silence.

        Silero over the last second or two only (a few milliseconds), so it can run at every chunk.
        """
        if self.pause_commit_s is None:
            return False
        heard_from_s = max(self._buffer_start_s, self._processed_end_s - self.pause_commit_s - _TURN_END_CONTEXT_S)
        tail = self._speech_regions(from_s=heard_from_s)
        if not tail:
            return False
        speech_end_s = tail[-1][1]
        return (_silence_s(speech_end_s, self._processed_end_s) < self.pause_commit_s
                <= _silence_s(speech_end_s, self.end_s))

    def finish(self) -> StreamUpdate:
        """The recording stopped: recognise what is left, commit every word, close the last utterance."""
        if self._finished:
            return StreamUpdate()
        closed = self._run_pass() if self.end_s > self._processed_end_s else []
        closed += self._commit(self._agreement.flush(), cause=FINISH)
        if self._grouper.open:
            closed.append(self._grouper.close())
        self._finished = True
        self._trim(self.end_s)
        update = self._update(closed)
        return StreamUpdate(committed=update.committed, tentative=None)

    def _run_pass(self, *, line_start: bool = False) -> list[Utterance]:
        """One Whisper pass. `line_start`: every word so far is stored, so this pass hears only the line just
        begun (the last `_LINE_MIN_S` at least), not the whole buffer: over 4 s instead of up to
        `buffer_trim_s` a pass is 2-3 times cheaper, and that is what shows a line's first words within about
        a second. The next pass hears the whole buffer again (trimming the buffer itself at each stored line
        measured worse: CER 0.17 -> 0.19 on the labelled clips, 0.10 -> 0.21 against batch on the room mix)."""
        started = time.perf_counter()
        self._processed_end_s = self.end_s
        speech = self._speech = self._speech_regions()
        uncommitted_from_s = max(self._buffer_start_s, self._agreement.committed_end_s)
        new_speech = any(end_s > uncommitted_from_s for _, end_s in speech)
        closed: list[Utterance] = []
        if new_speech or self._agreement.tentative:
            pauses = self._pauses(speech)
            # Utterances end at the pauses inside the buffer: in a room the next person often starts within
            # a second, before a pass sees silence at the end of the buffer, and their lines ran together.
            self._grouper.set_breaks([(end_s + next_s) / 2 for end_s, next_s in pauses if next_s < self.end_s],
                                     from_s=self._buffer_start_s)
            # The words before the last pause are not at the edge of the audio this pass hears: settled.
            settled_until_s = pauses[-1][0] if pauses else None
            hypothesis = self._hypothesis(from_s=self._line_start_s(speech) if line_start else None)
            self.passes += 1
            words = self._agreement.update(hypothesis, settled_until_s=settled_until_s)
            agreed = self._agreement.last_agreed
            closed += self._commit(words[:agreed], cause=AGREEMENT) + self._commit(words[agreed:], cause=SETTLED)
            self.last_pass_s = time.perf_counter() - started
            self.debug.pass_ran(self.passes, audio_end_s=self._processed_end_s, compute_s=self.last_pass_s,
                                heard_s=self.last_pass_heard_s, line_start=line_start)
        else:
            self._trim(max(self._agreement.committed_end_s, self.end_s - _SILENCE_KEEP_S))
        closed += self._close_if_paused()
        closed += self._bound_buffer()
        log.debug("pass over %.1f s of buffer: %d utterances closed, %.2f s", self.buffered_s, len(closed),
                  time.perf_counter() - started)
        return closed

    def _pauses(self, speech: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """(speech end, next speech start or the buffer's end) of every silence of `pause_commit_s` or more
        Silero heard after speech in the buffer (none when pause_commit_s is None); the times are its padded
        region edges, the silence is measured as heard (`_silence_s`)."""
        if self.pause_commit_s is None:
            return []
        following = [(next_start_s, True) for next_start_s, _ in speech[1:]] + [(self.end_s, False)]
        return [(end_s, next_s) for (_, end_s), (next_s, is_speech) in zip(speech, following)
                if _silence_s(end_s, next_s, next_is_speech=is_speech) >= self.pause_commit_s]

    def _line_start_s(self, speech: list[tuple[float, float]]) -> float:
        """Where a line-start pass begins: where the speech after the last stored word begins, less
        `_LINE_LEAD_S`, but at least `_LINE_MIN_S` before the end of the audio."""
        committed_end_s = self._agreement.committed_end_s
        starts = [start_s for start_s, end_s in speech if end_s > committed_end_s]
        from_s = max(committed_end_s, (starts[0] if starts else committed_end_s) - _LINE_LEAD_S)
        # Words heard again before the committed end are recognised as such (LocalAgreement).
        return max(self._buffer_start_s, min(from_s, self.end_s - _LINE_MIN_S))

    def _hypothesis(self, *, from_s: float | None = None) -> list[Word]:
        """Whisper's words for the buffer, or for its part after `from_s` (session time)."""
        kwargs = {**self.pass_options.whisper_kwargs(), "temperature": PASS_TEMPERATURE}
        if self.prompt_with_committed and self._prompt:
            kwargs["initial_prompt"] = self._prompt
        first = 0 if from_s is None else max(0, int((from_s - self._buffer_start_s) * SAMPLE_RATE))
        offset_s = self._buffer_start_s + first / SAMPLE_RATE
        self.last_pass_heard_s = (len(self._buffer) - first) / SAMPLE_RATE
        segments, _ = self._whisper().transcribe(self._buffer[first:], **kwargs)
        words: list[Word] = []
        self._segment_ends_s = []
        for segment in segments:
            utterance = clean_segment(segment, offset_s=offset_s)
            if utterance is not None:
                if words:  # between the previous segment and this one
                    self._segment_ends_s.append(min(words[-1].end_s, utterance.start_s))
                words.extend(utterance.words)
        return words

    def _whisper(self):
        """The model each pass runs: a short-window view of it (transcribe.short_window), or the model itself."""
        if self._pass_model is None:
            if self.window is None:
                self._pass_model = self.model
            else:
                from transcribe.short_window import short_window_model  # imports faster-whisper

                self._pass_model = short_window_model(self.model, self.window)
        return self._pass_model

    def pass_record(self) -> dict:
        """What the passes really use, to store with the transcript: the options and the window."""
        window = None if self.window is None else self.window.as_record()
        return {**self.pass_options.as_record(), "pass_window": window, "pass_temperature": PASS_TEMPERATURE}

    def _commit(self, words: list[Word], *, cause: str) -> list[Utterance]:
        self.debug.committed(self.passes, words, cause)
        self._committed_in_buffer += words
        return self._grouper.add(words)

    def _speech_regions(self, *, from_s: float | None = None) -> list[tuple[float, float]]:
        """Silero's speech regions (session times) in the buffer, or in its part after `from_s`."""
        from faster_whisper.vad import VadOptions, get_speech_timestamps  # heavy import: only when streaming

        first = 0 if from_s is None else max(0, int(round((from_s - self._buffer_start_s) * SAMPLE_RATE)))
        if first >= len(self._buffer):
            return []
        offset_s = self._buffer_start_s + first / SAMPLE_RATE
        vad = VadOptions(min_silence_duration_ms=_VAD_MIN_SILENCE_MS, speech_pad_ms=_VAD_SPEECH_PAD_MS)
        return [
            (offset_s + r["start"] / SAMPLE_RATE, offset_s + r["end"] / SAMPLE_RATE)
            for r in get_speech_timestamps(self._buffer[first:], vad)
        ]

    def _close_if_paused(self) -> list[Utterance]:
        tentative = self._agreement.tentative
        return self._grouper.close_if_paused(next_word=tentative[0] if tentative else None, heard_until_s=self.end_s)

    def _bound_buffer(self) -> list[Utterance]:
        closed: list[Utterance] = []
        if self.buffered_s > self.max_buffer_s:
            # Whisper has not agreed on anything for too long (or heard only noise): take its latest word.
            closed += self._commit(self._agreement.flush(), cause=MAX_BUFFER)
            # Cut at a sentence or pause end if that is enough; else at the last word (nothing better exists).
            cut_s = self._trim_point()
            if cut_s is None or self.end_s - cut_s > self.buffer_trim_s:
                committed_end_s = self._agreement.committed_end_s
                cut_s = committed_end_s if committed_end_s > self._buffer_start_s else self.end_s - _SILENCE_KEEP_S
            self._trim(cut_s)
        elif self.buffered_s > self.buffer_trim_s and (cut_s := self._trim_point()) is not None:
            self._trim(cut_s)
        return closed

    def _all_closed(self) -> bool:
        return not self._grouper.open and not self._agreement.tentative

    def _trim_point(self) -> float | None:
        """The latest place inside the committed audio where a sentence or a pause ends; None if there is none.

        Candidates: the end of the last closed utterance (a sentence end or a pause), the boundaries between
        the latest hypothesis's segments (where Whisper itself ended a sentence), and the middle of the
        pauses Silero heard. Only those lying within the committed text count (ufal/whisper_streaming cuts
        at the last segment end that is committed): Whisper then starts the next pass at a sentence start
        and reads it the same way each time, so passes go on agreeing. Words between the cut and the
        committed end are heard again and recognised as already committed (`LocalAgreement`).
        """
        committed_end_s = self._agreement.committed_end_s
        pauses_s = [(end_s + next_start_s) / 2 for (_, end_s), (next_start_s, _) in zip(self._speech, self._speech[1:])]
        candidates = [self._grouper.last_closed_end_s, *self._segment_ends_s, *pauses_s]
        inside = [c for c in candidates if self._buffer_start_s < c <= committed_end_s]
        return max(inside, default=None)

    def _trim(self, cut_s: float) -> None:
        cut = int(round((cut_s - self._buffer_start_s) * SAMPLE_RATE))
        if cut <= 0:
            return
        cut = min(cut, len(self._buffer))
        self._buffer = self._buffer[cut:].copy()  # a copy, so the old buffer's memory is released
        self._buffer_start_s += cut / SAMPLE_RATE
        gone = [w for w in self._committed_in_buffer if w.end_s <= self._buffer_start_s]
        self._committed_in_buffer = self._committed_in_buffer[len(gone):]
        self._prompt = (self._prompt + "".join(w.text for w in gone))[-_PROMPT_CHARS:]

    def _fill_gap(self, start_s: float) -> None:
        gap_s = start_s - self.end_s
        if gap_s < -0.5 / SAMPLE_RATE:
            raise StreamingError(
                f"audio at {start_s:.3f} s overlaps audio already inserted (up to {self.end_s:.3f} s): "
                "chunks must come in time order"
            )
        if gap_s * SAMPLE_RATE < 1:
            return
        if self.buffered_s + gap_s <= self.max_buffer_s:
            silence = np.zeros(int(round(gap_s * SAMPLE_RATE)), np.float32)
            self._buffer = np.concatenate([self._buffer, silence])
            self._remember_audio(silence)
            return
        # A long hole (a lost device, a paused source): what came before it is complete; start afresh after it.
        log.info("a gap of %.1f s in the audio: committing what came before it", gap_s)
        closed = self._run_pass() if self.end_s > self._processed_end_s else []
        closed += self._commit(self._agreement.flush(), cause=GAP)
        if self._grouper.open:
            closed.append(self._grouper.close())
        self._waiting += self._judged(closed)  # now, while their audio is still at hand
        self._trim(self.end_s)
        self._buffer_start_s = self._processed_end_s = start_s
        self._history = np.zeros(0, dtype=np.float32)
        self._history_start_s = start_s

    def _judged(self, utterances: list[Utterance]) -> list[Utterance]:
        """Each utterance with the measure of the audio under it (transcribe.speech_check), punctuated as a file's
        are (transcribe.punctuation): it is closed, so its marks change no text already committed."""
        if not utterances:
            return utterances
        floor_db = noise_floor_db(self._history)
        return [punctuated(judged(u, self._history, samples_start_s=self._history_start_s, floor_db=floor_db))
                for u in utterances]

    def _update(self, closed: list[Utterance]) -> StreamUpdate:
        committed, self._waiting = self._waiting + self._judged(closed), []
        self.debug.handed_out(committed)
        pending = self._grouper.open + self._agreement.tentative
        tentative = Utterance.from_words(pending, committed=False) if pending else None
        return StreamUpdate(committed=committed, tentative=tentative)


def _silence_s(speech_end_s: float, until_s: float, *, next_is_speech: bool = False) -> float:
    """The silence Silero heard from a speech region's (padded) end to `until_s`: the buffer's end, or the
    (padded) start of the next region when `next_is_speech`."""
    return until_s - speech_end_s + _VAD_PAD_S * (2 if next_is_speech else 1)
