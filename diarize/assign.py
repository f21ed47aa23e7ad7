"""Giving each recognised word its speaker, and splitting utterances where the speaker changes."""
import bisect
from itertools import accumulate
from collections.abc import Iterable, Iterator, Sequence

from diarize.types import SpeakerTurn
from transcribe.types import Utterance, Word

# A word touching no turn takes the nearest turn only if it lies this close; beyond, it is a guess.
_NEAREST_TURN_MAX_S = 1.0


def assign_speakers(utterances: Iterable[Utterance], turns: Sequence[SpeakerTurn]) -> Iterator[Utterance]:
    """Lazily yield the utterances with speakers filled in, split where the speaker changes.

    Each word gets the speaker (and channel) of the turn that overlaps it most (pyannote's rule); a word
    overlapping no turn takes the nearest turn within 1 s, else the previous word's speaker, else None.
    Pieces are `Utterance.from_words(words, speaker=..., channel=..., committed=utt.committed)`, keeping the
    utterance's suspicion and audio measure (`marks()`). An
    utterance without words gets the speaker overlapping most of its span. With no turns, utterances
    pass through unchanged.
    """
    ordered = sorted(turns, key=lambda t: (t.start_s, t.end_s))
    starts = [t.start_s for t in ordered]
    # ends_so_far[k]: the latest end among the first k+1 turns; lets a search stop early.
    ends_so_far = list(accumulate((t.end_s for t in ordered), max))
    index = (ordered, starts, ends_so_far)
    for utterance in utterances:
        if not ordered:
            yield utterance
            continue
        if not utterance.words:
            turn = _turn_for(utterance.start_s, utterance.end_s, index)
            yield utterance.with_speaker(turn.speaker, turn.channel) if turn else utterance
            continue
        yield from _split(utterance, index)


def _split(utterance: Utterance, index: "_Index") -> Iterator[Utterance]:
    pieces: list[tuple[tuple[str | None, int | None], list[Word]]] = []
    previous: tuple[str | None, int | None] = (None, None)
    for word in utterance.words:
        turn = _turn_for(word.start_s, word.end_s, index)
        who = (turn.speaker, turn.channel) if turn else previous
        if pieces and pieces[-1][0] == who:
            pieces[-1][1].append(word)
        else:
            pieces.append((who, [word]))
        previous = who
    for (speaker, channel), words in pieces:
        yield Utterance.from_words(words, speaker=speaker, channel=channel, committed=utterance.committed,
                                   **utterance.marks())


def _turn_for(start_s: float, end_s: float, index: "_Index") -> SpeakerTurn | None:
    """The turn overlapping [start_s, end_s] most; if none overlaps, the nearest within 1 s; else None."""
    turns, starts, ends_so_far = index
    best, best_overlap = None, 0.0
    nearest, nearest_gap = None, _NEAREST_TURN_MAX_S
    # Turns starting after end_s + 1 s are out of reach; scan back from there until every earlier
    # turn has ended more than 1 s before the word.
    k = bisect.bisect_right(starts, end_s + _NEAREST_TURN_MAX_S) - 1
    while k >= 0 and ends_so_far[k] >= start_s - _NEAREST_TURN_MAX_S:
        turn = turns[k]
        overlap = min(end_s, turn.end_s) - max(start_s, turn.start_s)
        if overlap > best_overlap:
            best, best_overlap = turn, overlap
        gap = max(turn.start_s - end_s, start_s - turn.end_s, 0.0)
        if gap < nearest_gap or (gap == nearest_gap and nearest is None):
            nearest, nearest_gap = turn, gap
        k -= 1
    return best if best is not None else nearest


_Index = tuple[list[SpeakerTurn], list[float], list[float]]
