"""A recorded file diarized and transcribed a window at a time, so time and memory stay flat with its length.

A file that fits one window (up to capture.WINDOW_S + its search span, about 10.5 minutes) goes through
exactly as it always did: the whole decoded array to the diarizer, its mixdown to Whisper. A longer one is
read twice with capture.decode_windows, windows cut at quiet moments so no word is split: once to diarize it
(speaker identities carried across windows), once to transcribe it window by window, each window's
utterances yielded as they come. Only one window of samples (and Whisper's features of it) is in memory.

How each backend takes windows: the voice diarizer (`diarize_chunks_overlapping`) and pyannote
(`diarize_chunks`) match each window's voices to those heard before with a speaker ledger; the channel
diarizer names speakers by seat, so each window is diarized on its own and the times shifted.

Used by the one session runner (engine/session_run.py), for a fresh file, a file resumed after a crash and the rest
of a live recording; a run resumed part-way through passes `from_s`: windows wholly before it are decoded and
skipped, the one holding it is transcribed again from its start and what was already stored of it is skipped
(see `transcribe_windows`).
"""
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path


from capture import WINDOW_S, AudioWindow, DecodedAudio, decode_windows
from diarize import SpeakerTurn, assign_speakers, exclusive_turns
from transcribe import TranscribeOptions, transcribe_samples
from transcribe.types import Utterance

from engine.seat_transcription import OverlapEpisode, diarize_with_overlap, overlap_episodes, with_seat_words

log = logging.getLogger(__name__)

WindowSource = Callable[[], Iterator[AudioWindow]]
"""Gives the recording's windows from the start each time it is called (one pass per call)."""

TurnPair = tuple[list[SpeakerTurn], list[SpeakerTurn]]
"""(exclusive turns for assigning words, turns as heard)."""


class Speakers:
    """A recording's speaker turns: known already, or being found in a thread beside recognition.

    A file decoded whole (one window) is diarized while Whisper recognises it: both read the same samples, so memory
    stays that of one window, and on 2 cores the diarizer fills what beam search leaves idle. Recognition runs ahead
    and waits for the turns only to give its lines speakers (`transcribe_windows`). `found` runs in the thread that
    asks for the turns first (it stores them: the store is written from one thread)."""

    def __init__(self, known: TurnPair | None = None, *, find: Callable[[], TurnPair] | None = None,
                 found: Callable[[TurnPair], TurnPair] | None = None):
        self._pair = known
        self._found = found
        self._error: BaseException | None = None
        self.find_s = 0.0  # the diarizer's own time (in its thread)
        self.waited_s = 0.0  # what recognition waited for it
        self._thread = None
        if known is None:
            self._thread = threading.Thread(target=self._run, args=(find,), name="diarize", daemon=True)
            self._thread.start()

    @classmethod
    def now(cls, find: Callable[[], TurnPair], *, found: Callable[[TurnPair], TurnPair]) -> "Speakers":
        """Found before recognition starts (a file read a window at a time: a second window in memory otherwise)."""
        started = time.perf_counter()
        speakers = cls(found(find()))
        speakers.find_s = time.perf_counter() - started
        return speakers

    def _run(self, find: Callable[[], TurnPair]) -> None:
        started = time.perf_counter()
        try:
            self._raw = find()
        except BaseException as exc:  # raised again where the turns are asked for
            self._error = exc
        self.find_s = time.perf_counter() - started

    @property
    def ready(self) -> bool:
        return self._pair is not None or not self._thread.is_alive()

    def settle(self) -> None:
        """Wait for the diarizer's thread to end (a run that fails: a process must not exit from under a thread
        inside the speaker encoder, which aborts it)."""
        if self._thread is not None:
            self._thread.join()

    def get(self) -> TurnPair:
        if self._pair is None:
            started = time.perf_counter()
            self._thread.join()
            self.waited_s = time.perf_counter() - started
            if self._error is not None:
                raise self._error
            self._pair = self._found(self._raw) if self._found else self._raw
        return self._pair


def decode_checked(path: Path, *, window_s: float = WINDOW_S,
                   name: str | None = None) -> tuple[DecodedAudio | None, float, int, int]:
    """(the samples if the file fits one window else None, duration_s, channels, source rate), after decoding
    all of it: every check of decode_file, in the memory of one window. Raises AudioDecodeError."""
    audio_format, windows = decode_windows(path, window_s=window_s, name=name)
    first = next(windows)
    if first.last:  # what decode_file gives, to the sample
        audio = DecodedAudio(samples=first.samples, sample_rate=first.sample_rate,
                             source_rate=audio_format.source_rate, source_channels=audio_format.source_channels,
                             codec=audio_format.codec)
        return audio, audio.duration_s, audio.channels, audio_format.source_rate
    frames = first.samples.shape[0]
    for window in windows:  # decoded to the end for its checks, and dropped
        frames += window.samples.shape[0]
    return None, frames / first.sample_rate, first.samples.shape[1], audio_format.source_rate


def window_source(path: Path, *, window_s: float = WINDOW_S, name: str | None = None,
                  audio: DecodedAudio | None = None) -> WindowSource:
    """The windows of a kept file; with `audio` (the file already decoded whole) its one window, no decoding."""
    if audio is not None:
        return lambda: iter([AudioWindow(audio.samples, 0.0, 0, last=True, sample_rate=audio.sample_rate)])

    def windows() -> Iterator[AudioWindow]:
        _, found = decode_windows(path, window_s=window_s, name=name)
        yield from found
    return windows


def diarize_windows(
    diarizer, windows: WindowSource, *, duration_s: float, num_speakers: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> tuple[list[SpeakerTurn], list[SpeakerTurn]]:
    """(exclusive turns for assigning words, turns as heard, to store), as engine.seat_transcription's
    diarize_with_overlap gives for one array, over all windows with session times."""
    report = progress or (lambda fraction: None)
    passes = windows()
    first = next(passes)
    at_s = first.start_s  # 0, or where the rest of a recording begins (turns are given on the session clock)
    if first.last:  # one window: the whole recording in one call, as always
        turns, heard = diarize_with_overlap(diarizer, first.samples, first.sample_rate, num_speakers=num_speakers,
                                            progress=progress)
        return _all_shifted(turns, at_s), _all_shifted(heard, at_s)
    rest = _chain(first, passes)
    if hasattr(diarizer, "diarize_chunks_overlapping"):  # voice: overlaps heard, identities carried across
        heard = diarizer.diarize_chunks_overlapping((w.samples for w in rest), first.sample_rate,
                                                    num_speakers=num_speakers, progress=progress,
                                                    total_s=duration_s - at_s)
        heard = _all_shifted(heard, at_s)
        return exclusive_turns(heard), heard
    if hasattr(diarizer, "diarize_chunks"):  # pyannote: identities carried across chunks, exclusive output
        turns = diarizer.diarize_chunks((w.samples for w in rest), first.sample_rate, num_speakers=num_speakers,
                                        progress=progress, total_s=duration_s - at_s)
        turns = _all_shifted(turns, at_s)
        return turns, turns
    # channel: speaker = seat, so windows are independent
    heard: list[SpeakerTurn] = []
    for window in rest:
        def within(fraction: float, window: AudioWindow = window) -> None:
            report(min(1.0, (window.start_s - at_s + fraction * window.duration_s) / max(duration_s - at_s, 1e-9)))
        found = diarizer.diarize_overlapping(window.samples, window.sample_rate, num_speakers=num_speakers,
                                             progress=within)
        heard = _joined(heard, [_shifted(t, window.start_s) for t in found], at_s=window.start_s)
    report(1.0)
    return exclusive_turns(heard), heard


def transcribe_windows(
    windows: Iterable[AudioWindow], *, speakers: Speakers, model,
    options: TranscribeOptions, model_name: str, from_s: float = 0.0, stored: Sequence[dict] = (),
) -> Iterator[Utterance]:
    """The speaker-assigned utterances of every window, in time order, from `from_s` on (lazy: a window is
    decoded and recognised when the one before has been consumed). Where seats overlap, each seat's own
    words replace the mixdown's (engine/seat_transcription.py). While `speakers` are still being found, a window
    is recognised whole before its lines are given speakers.

    Resuming (`from_s` inside a window, `stored`: the session's stored utterances, in the order stored): the
    window holding `from_s` is transcribed again from its start, as the run that stored them transcribed it,
    and the utterances it gives again exactly (times to the ms, speaker, text) are skipped; what follows is
    then what an uninterrupted run gives. Should the new run differ (another machine, another model), that
    window is transcribed from `from_s` instead: nothing stored twice, nothing lost, and an overlap that began
    before `from_s` keeps what was stored, its rest coming from the mixdown."""
    for window in windows:
        rate = window.sample_rate
        start = int(round(window.start_s * rate))
        first = min(max(0, int(round(from_s * rate)) - start), window.samples.shape[0])
        if first >= window.samples.shape[0]:
            continue  # wholly before where transcription resumes (or empty)
        kept = [u for u in stored if u["start_s"] >= window.start_s] if first > 0 else []
        if kept:
            again = _window_utterances(window, 0, speakers=speakers, model=model, options=options,
                                       model_name=model_name, from_s=window.start_s)
            if _gives_again(again, kept):
                yield from again
                continue
            again.close()
            log.warning("the window from %.1f s is not transcribed as it was before the stop: it is resumed at "
                        "%.1f s instead", window.start_s, from_s)
        yield from _window_utterances(window, first, speakers=speakers, model=model, options=options,
                                      model_name=model_name, from_s=from_s)


def _window_utterances(window: AudioWindow, first: int, *, speakers: Speakers, model, options, model_name,
                       from_s: float) -> Iterator[Utterance]:
    """One window's utterances from its frame `first` on, overlaps that begin at `from_s` or later with each seat's
    own words."""
    rate = window.sample_rate
    start = int(round(window.start_s * rate))
    mono = window.mono()[first:]
    utterances, _ = transcribe_samples(model, mono, options=options, model_name=model_name,
                                       offset_s=(start + first) / rate)
    if not speakers.ready:  # recognise beside the diarizer, then wait for its turns
        utterances = list(utterances)
    turns, heard = speakers.get()
    episodes = [e for e in overlap_episodes(heard) if e.start_s >= from_s]
    yield from with_seat_words(assign_speakers(utterances, turns), _episodes_in(episodes, window),
                               seats=window.samples, sample_rate=rate, model=model, options=options,
                               model_name=model_name, seats_start_s=window.start_s)


def _gives_again(again: Iterator[Utterance], kept: Sequence[dict]) -> bool:
    """Whether the first utterances of `again` are exactly `kept` (as stored), consuming them."""
    for stored in kept:
        utterance = next(again, None)
        if utterance is None or _key(utterance.start_s, utterance.end_s, utterance.speaker, utterance.text) != \
                _key(stored["start_s"], stored["end_s"], stored["speaker"], stored["original_text"]):
            return False
    return True


def _key(start_s: float, end_s: float, speaker: str | None, text: str) -> tuple:
    return int(round(start_s * 1000)), int(round(end_s * 1000)), speaker, text


def _episodes_in(episodes: list[OverlapEpisode], window: AudioWindow) -> list[OverlapEpisode]:
    """The overlap episodes that begin in `window` (the last window takes any after its end too)."""
    return [e for e in episodes if window.start_s <= e.start_s and (window.last or e.start_s < window.end_s)]


def _chain(first: AudioWindow, rest: Iterator[AudioWindow]) -> Iterator[AudioWindow]:
    yield first
    yield from rest


def _all_shifted(turns: list[SpeakerTurn], offset_s: float) -> list[SpeakerTurn]:
    return turns if offset_s == 0 else [_shifted(t, offset_s) for t in turns]


def _shifted(turn: SpeakerTurn, offset_s: float) -> SpeakerTurn:
    return SpeakerTurn(round(turn.start_s + offset_s, 3), round(turn.end_s + offset_s, 3), turn.speaker, turn.channel)


def _joined(before: list[SpeakerTurn], after: list[SpeakerTurn], *, at_s: float,
            tolerance_s: float = 0.05) -> list[SpeakerTurn]:
    """`before` + `after`, a seat's turn that the window edge at `at_s` cut in two made one again."""
    open_at_edge = {t.speaker: i for i, t in enumerate(before) if t.end_s >= at_s - tolerance_s}
    joined = list(before)
    for turn in after:
        index = open_at_edge.pop(turn.speaker, None) if turn.start_s <= at_s + tolerance_s else None
        if index is None:
            joined.append(turn)
        else:
            joined[index] = SpeakerTurn(joined[index].start_s, turn.end_s, turn.speaker, turn.channel)
    return sorted(joined, key=lambda t: (t.start_s, t.end_s))


__all__ = ["Speakers", "TurnPair", "WindowSource", "decode_checked", "diarize_windows", "transcribe_windows", "window_source"]
