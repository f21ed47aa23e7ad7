"""The voice diarizer reporting two people talking at once (diarize.voice_overlap), on mixes of real clips.

The mixes are built here from the recorded clips in tests/data (tests/diarize/mixing.py), their truth exact
from the construction: an overlap mix (each turn starting 0.5-2 s before the previous one ends) and a
question-and-short-answer mix with pauses between turns (no overlap at all).
"""
import numpy as np
import pytest

from capture import decode_file
from diarize import VoiceDiarizer, exclusive_turns
from diarize.types import SpeakerTurn
from diarize.voice import VoiceTuning
from diarize.voice_overlap import blend_partners, heard_spans, mixture_partners
from tests.diarize.mixing import overlap_mix, short_answer_mix, voice_from

RATE = 16000


@pytest.fixture(scope="module")
def voices(data_dir):
    rows = {"paddle": "paddlespeech_zh.wav", "s0724": "aishell1_BAC009S0724W0121.wav", "long25": "funasr_long_25s.flac"}
    return {key: voice_from(decode_file(data_dir / name).mono(), key) for key, name in rows.items()}


@pytest.fixture(scope="module")
def overlap_case(voices, voice_diarizer):
    mix = overlap_mix("overlap", voices["paddle"], voices["s0724"], seed=3, turns=4)
    mono, _ = mix.render(seed=4)
    return mix, mono, voice_diarizer.diarize_overlapping(mono, RATE)


def _speakers_at(turns, time_s):
    return {t.speaker for t in turns if t.start_s <= time_s <= t.end_s}


def _overlap_s(turns) -> float:
    return sum(max(0.0, min(a.end_s, b.end_s) - max(a.start_s, b.start_s))
               for k, a in enumerate(turns) for b in turns[k + 1 :] if a.speaker != b.speaker)


def test_both_speakers_are_reported_in_the_middle_of_every_overlap(overlap_case):
    mix, _, heard = overlap_case
    ordered = sorted(mix.turns, key=lambda t: t.start_s)
    overlaps = [(later.start_s, earlier.end_s) for earlier, later in zip(ordered, ordered[1:])]
    assert len(overlaps) == 3 and all(end_s > start_s for start_s, end_s in overlaps)
    for start_s, end_s in overlaps:
        assert len(_speakers_at(heard, (start_s + end_s) / 2)) == 2, (start_s, end_s)
    # One speaker's turns never overlap each other.
    for speaker in {t.speaker for t in heard}:
        own = sorted((t for t in heard if t.speaker == speaker), key=lambda t: t.start_s)
        assert all(a.end_s < b.start_s for a, b in zip(own, own[1:]))


def test_reporting_overlap_beats_what_one_speaker_at_a_time_can_reach(overlap_case, der_percent, tmp_path):
    mix, _, heard = overlap_case
    rttm = mix.write_rttm(tmp_path)
    truth = [SpeakerTurn(t.start_s, t.end_s, t.speaker) for t in mix.turns]
    floor = der_percent(exclusive_turns(truth), rttm)  # the truth itself, one speaker at a time
    assert floor > 10.0
    assert der_percent(heard, rttm) < floor - 5.0


def test_diarize_gives_the_heard_turns_made_exclusive(overlap_case, voice_diarizer):
    _, mono, heard = overlap_case
    turns = voice_diarizer.diarize(mono, RATE)
    assert turns == exclusive_turns(heard)
    assert all(a.end_s <= b.start_s for a, b in zip(turns, turns[1:]))
    assert all(t.channel is None for t in heard)


def test_chunks_fed_one_by_one_report_the_overlap_of_every_chunk_under_the_same_names(overlap_case):
    mix, mono, _ = overlap_case
    # The mix twice over, one chunk each: the second chunk's voices are matched to the first's.
    twice = np.concatenate([mono, mono])
    diarizer = VoiceDiarizer(tuning=VoiceTuning(chunk_s=mono.shape[0] / RATE))
    from_chunks = diarizer.diarize_chunks_overlapping(iter([mono, mono]), RATE)
    assert from_chunks == diarizer.diarize_overlapping(twice, RATE)
    assert {t.speaker for t in from_chunks} == {"S1", "S2"}
    offset_s = mono.shape[0] / RATE
    later = sorted(mix.turns, key=lambda t: t.start_s)[1]  # starts inside the first turn
    middle_s = (later.start_s + sorted(mix.turns, key=lambda t: t.start_s)[0].end_s) / 2
    assert _speakers_at(from_chunks, middle_s) == _speakers_at(from_chunks, offset_s + middle_s) == {"S1", "S2"}


def test_questions_and_short_answers_with_pauses_get_almost_no_overlap(voices, voice_diarizer):
    mix = short_answer_mix("answers", voices["long25"], voices["s0724"], seed=6, answers=3)
    mono, _ = mix.render(seed=4)
    heard = voice_diarizer.diarize_overlapping(mono, RATE)
    assert len({t.speaker for t in heard}) == 2
    assert _overlap_s(heard) <= 0.25


def _blend_scores(weights, centroids):
    """Scores against `centroids` of the unit embedding closest to the blend weights @ centroids."""
    embedding = np.asarray(weights, dtype=float) @ centroids
    return centroids @ (embedding / np.linalg.norm(embedding))


_RULE = {"min_ratio": 0.4, "max_reach_s": 1.25, "max_gap_s": 1.0, "each_heard_alone": False}


def test_only_blended_pieces_next_to_a_change_inside_one_region_get_both_speakers():
    rho = 0.65  # typical of two different people's centroids
    centroids = np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]])
    clean_a, clean_b = [1.0, 0.0], [0.0, 1.0]
    even, next_to_clean_change = [0.5, 0.5], [0.75, 0.25]
    times_s = [(0.75 * k, 0.75 * (k + 1)) for k in range(8)]
    labels = np.array([0, 0, 0, 1, 1, 1, 0, 0])
    weights = [clean_a, even, even, even, clean_b, next_to_clean_change[::-1], next_to_clean_change, clean_a]
    scores = np.stack([_blend_scores(w, centroids) for w in weights])
    one_region = [0] * 8
    found = mixture_partners(times_s, labels, scores, centroids, one_region, [False] * 8, **_RULE)
    # The even blends around the change at 2.25 s; the clean change at 4.5 s gets nothing.
    assert found == [set(), {1}, {1}, {0}, set(), set(), set(), set()]
    # Both people are heard alone in their turns, so asking for that changes nothing.
    assert mixture_partners(times_s, labels, scores, centroids, one_region, [False] * 8,
                            **{**_RULE, "each_heard_alone": True}) == found
    # The same pieces with a pause (a new speech region) at the change: a hand-over, no overlap.
    two_regions = [0, 0, 0, 1, 1, 1, 1, 1]
    across_pause = mixture_partners(times_s, labels, scores, centroids, two_regions, [False] * 8, **_RULE)
    assert across_pause[1:4] == [set(), set(), set()]
    # Only within reach of the change: the blend ending 0.75 s before the change is out of 0.75 s of reach.
    reach = {**_RULE, "max_reach_s": 0.75}
    near = mixture_partners(times_s, labels, scores, centroids, one_region, [False] * 8, **reach)
    assert near[1:4] == [set(), {1}, {0}]
    # A piece scored by one window only (the edge of its region) shares that window's blend with the piece
    # beside it: the walk stops there.
    first_scored_alone = [False, False, True, False, False, False, False, False]
    assert mixture_partners(times_s, labels, scores, centroids, one_region, first_scored_alone,
                            **_RULE)[1:4] == [set(), set(), {0}]


def test_a_voice_split_in_two_clusters_is_not_taken_for_two_people_talking_at_once():
    rho = 0.69  # one voice's halves, just under the similarity at which they would be merged
    centroids = np.array([[1.0, 0.0], [rho, np.sqrt(1 - rho**2)]])
    times_s = [(0.75 * k, 0.75 * (k + 1)) for k in range(7)]
    # Half 0 heard alone, then a stretch where the piece scores blend the halves, labelled half 1.
    labels = np.array([0, 0, 0, 1, 1, 0, 0])
    weights = [[1.0, 0.0], [1.0, 0.0], [0.55, 0.45], [0.45, 0.55], [0.45, 0.55], [0.55, 0.45], [1.0, 0.0]]
    scores = np.stack([_blend_scores(w, centroids) for w in weights])
    regions = [0] * 7
    as_two_people = mixture_partners(times_s, labels, scores, centroids, regions, [False] * 7, **_RULE)
    assert as_two_people[2:6] == [{1}, {0}, {0}, {1}]
    # Half 1 is never heard alone in its turn: with the check asked for, no overlap is made of it.
    checked = mixture_partners(times_s, labels, scores, centroids, regions, [False] * 7,
                               **{**_RULE, "each_heard_alone": True})
    assert checked == [set()] * 7


def test_a_squeezed_blend_voice_is_both_of_its_neighbours():
    times_s = [(0.0, 5.0), (5.0, 6.0), (6.0, 11.0), (11.5, 12.5)]
    labels = np.array([0, 1, 1, 0])  # after the blend "voice" was dropped, piece 1 went to speaker 1
    blended = np.array([False, True, False, False])
    assert blend_partners(times_s, labels, blended, max_gap_s=1.0) == [set(), {0}, set(), set()]


def test_heard_spans_join_each_speakers_overlap_to_their_own_turn():
    turns = [(0.0, 4.0, 0), (4.0, 9.0, 1), (9.0, 12.0, 0)]
    also = [(4.0, 4.75, 0), (3.25, 4.0, 1), (8.25, 9.0, 0)]
    assert heard_spans(turns, also) == [(0.0, 4.75, 0), (3.25, 9.0, 1), (8.25, 12.0, 0)]
