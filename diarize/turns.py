"""Turning labelled spans into clean speaker turns, shared by both diarizers."""
from collections.abc import Iterable, Sequence

from diarize.types import SpeakerTurn


def merge_spans(
    spans: Iterable[tuple[float, float, int]], *, max_gap_s: float
) -> list[tuple[float, float, int]]:
    """Join spans (start_s, end_s, label), sorted by start, when the same label continues after a gap
    of at most `max_gap_s`: a pause inside one person's answer is still their turn."""
    merged: list[tuple[float, float, int]] = []
    for start_s, end_s, label in spans:
        if merged and merged[-1][2] == label and start_s - merged[-1][1] <= max_gap_s:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end_s), label)
        else:
            merged.append((start_s, end_s, label))
    return merged


def to_turns(
    spans: Iterable[tuple[float, float, int]], *, use_channel: bool, duration_s: float
) -> list[SpeakerTurn]:
    """SpeakerTurns from sorted, non-overlapping spans, clipped to the audio.

    With `use_channel` the label is the 0-based seat and the speaker is named after it (S1 for seat 0);
    otherwise speakers are renamed S1, S2, ... in order of first appearance.
    """
    names: dict[int, str] = {}
    turns: list[SpeakerTurn] = []
    for start_s, end_s, label in spans:
        start_s, end_s = max(0.0, start_s), min(duration_s, end_s)
        if end_s <= start_s:
            continue
        if use_channel:
            turns.append(SpeakerTurn(round(start_s, 3), round(end_s, 3), f"S{label + 1}", label))
        else:
            name = names.setdefault(label, f"S{len(names) + 1}")
            turns.append(SpeakerTurn(round(start_s, 3), round(end_s, 3), name, None))
    return turns


def exclusive_turns(turns: Sequence[SpeakerTurn]) -> list[SpeakerTurn]:
    """Disjoint turns from possibly overlapping ones: in an overlap, the turn that started later holds
    the floor until it ends (the one who interrupts is heard over the other), then the earlier resumes."""
    ordered = sorted(turns, key=lambda t: t.start_s)
    cuts = sorted({t.start_s for t in turns} | {t.end_s for t in turns})
    pieces: list[SpeakerTurn] = []
    live: list[SpeakerTurn] = []
    following = 0
    for a, b in zip(cuts[:-1], cuts[1:]):
        # A sweep over the cut points: the turns live in [a, b) are those started by a and not ended.
        while following < len(ordered) and ordered[following].start_s <= a:
            live.append(ordered[following])
            following += 1
        live = [t for t in live if t.end_s >= b]
        if not live:
            continue
        holder = max(live, key=lambda t: t.start_s)
        if pieces and pieces[-1].speaker == holder.speaker and pieces[-1].end_s == a:
            pieces[-1] = SpeakerTurn(pieces[-1].start_s, b, holder.speaker, holder.channel)
        else:
            pieces.append(SpeakerTurn(a, b, holder.speaker, holder.channel))
    return pieces
