"""Both speakers' words where two seats talk at once.

The file pipeline transcribes the mono mixdown once; where two people talk over each other, Whisper on the
mix hears at best one of them and the other's words are lost. With one microphone per seat the diarizer
knows who talked when, overlaps included (`ChannelDiarizer.diarize_overlapping`). Here every overlap
episode (the turns of different seats that overlap, joined while they keep overlapping) is transcribed
again from each involved seat's own microphone over that seat's turn, where its speaker is 12-20 dB
louder than anyone else; the mixdown's words inside the episode are replaced by those, each already
knowing its speaker. Outside overlap episodes nothing changes, so recordings without overlap get exactly
the transcript they got before.
"""
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from diarize import SpeakerTurn, exclusive_turns
from transcribe import TranscribeOptions, transcribe_samples
from transcribe.types import Utterance

log = logging.getLogger(__name__)

_RATE = 16000
# Audio around a seat's turn given to Whisper: its words at the turn edges need some context.
_MARGIN_S = 0.3
# Turns of two seats overlapping less than this are a hand-over, not two people talking at once.
_MIN_OVERLAP_S = 0.2


@dataclass(frozen=True, slots=True)
class OverlapEpisode:
    """A stretch where seats talk over each other: `turns` are the seat turns involved."""

    start_s: float
    end_s: float
    turns: tuple[SpeakerTurn, ...]


def diarize_with_overlap(
    diarizer, samples: np.ndarray, sample_rate: int, *, num_speakers: int | None = None, progress=None
) -> tuple[list[SpeakerTurn], list[SpeakerTurn]]:
    """(exclusive turns for assigning words, turns to store). A diarizer that hears overlap (the channel
    diarizer) gives turns that may overlap, stored as they are; the others give the same list twice."""
    if hasattr(diarizer, "diarize_overlapping"):
        heard = diarizer.diarize_overlapping(samples, sample_rate, num_speakers=num_speakers, progress=progress)
        return exclusive_turns(heard), heard
    turns = diarizer.diarize(samples, sample_rate, num_speakers=num_speakers, progress=progress)
    return turns, turns


def overlap_episodes(turns: Sequence[SpeakerTurn], *, min_overlap_s: float = _MIN_OVERLAP_S) -> list[OverlapEpisode]:
    """Groups of seat turns that overlap each other by at least `min_overlap_s`, by start time."""
    ordered = sorted((t for t in turns if t.channel is not None), key=lambda t: (t.start_s, t.end_s))
    groups: list[list[SpeakerTurn]] = []
    for index, turn in enumerate(ordered):
        partners = [
            other for other in ordered[:index]
            if other.channel != turn.channel and min(other.end_s, turn.end_s) - turn.start_s >= min_overlap_s
        ]
        if not partners:
            continue
        if groups and any(p in groups[-1] for p in partners):
            groups[-1].extend(t for t in [*partners, turn] if t not in groups[-1])
        else:
            groups.append([*partners, turn])
    return [
        OverlapEpisode(min(t.start_s for t in g), max(t.end_s for t in g), tuple(sorted(g, key=lambda t: t.start_s)))
        for g in groups
    ]


def with_seat_words(
    utterances: Iterable[Utterance],
    episodes: Sequence[OverlapEpisode],
    *,
    seats: np.ndarray,
    sample_rate: int,
    model,
    options: TranscribeOptions,
    model_name: str,
    seats_start_s: float = 0.0,
) -> Iterator[Utterance]:
    """The (speaker-assigned) mixdown utterances with the words inside overlap episodes replaced by each
    seat's own words, in time order. `seats` is float32 [frames, channels] at `sample_rate`, starting
    `seats_start_s` into the session (a window of a long file). Lazy: an episode is transcribed when the
    mixdown's utterances reach it."""
    if episodes and sample_rate != _RATE:
        from diarize.signal import to_model_rate

        seats = to_model_rate(seats, sample_rate)
    pending = sorted(episodes, key=lambda e: e.start_s)
    for utterance in utterances:
        while pending and pending[0].start_s <= utterance.start_s:
            yield from _episode_utterances(pending.pop(0), seats, model, options, model_name, seats_start_s)
        kept = [w for w in utterance.words if not _inside_any(w.start_s, w.end_s, episodes)]
        if not utterance.words:
            if not _inside_any(utterance.start_s, utterance.end_s, episodes):
                yield utterance
        elif kept:
            yield Utterance.from_words(kept, speaker=utterance.speaker, channel=utterance.channel,
                                       committed=utterance.committed, **utterance.marks())
    for episode in pending:
        yield from _episode_utterances(episode, seats, model, options, model_name, seats_start_s)


def _episode_utterances(episode: OverlapEpisode, seats: np.ndarray, model, options: TranscribeOptions,
                        model_name: str, seats_start_s: float = 0.0) -> Iterator[Utterance]:
    found: list[Utterance] = []
    start = int(round(seats_start_s * _RATE))  # the frame of the session where `seats` begins
    for turn in episode.turns:
        first = max(0, int((turn.start_s - _MARGIN_S) * _RATE) - start)
        last = min(seats.shape[0], int((turn.end_s + _MARGIN_S) * _RATE) - start)
        channel = np.ascontiguousarray(seats[first:last, turn.channel])
        utterances, _ = transcribe_samples(model, channel, options=options, model_name=model_name,
                                           offset_s=(start + first) / _RATE)
        for utterance in utterances:
            # Only words inside the seat's own turn: outside it the microphone hears the others' bleed.
            words = [w for w in utterance.words if turn.start_s - 0.1 <= (w.start_s + w.end_s) / 2 <= turn.end_s + 0.1]
            if words:
                found.append(Utterance.from_words(words, speaker=turn.speaker, channel=turn.channel,
                                                  committed=utterance.committed, **utterance.marks()))
    log.debug("overlap %.1f-%.1f s: %d seat turns re-transcribed, %d utterances", episode.start_s,
              episode.end_s, len(episode.turns), len(found))
    yield from sorted(found, key=lambda u: u.start_s)


def _inside_any(start_s: float, end_s: float, episodes: Sequence[OverlapEpisode]) -> bool:
    middle_s = (start_s + end_s) / 2
    return any(e.start_s <= middle_s <= e.end_s for e in episodes)


__all__ = ["OverlapEpisode", "diarize_with_overlap", "overlap_episodes", "with_seat_words"]
