"""Diarization on small room mixes built here from real clips (tests/diarize/mixing.py): two people talking
at once on seat microphones, short answers, a long pause. Each DER bound is one the diarizers before the
overlap work did not meet where that is the improvement (noted per test)."""
import pytest

from capture import decode_file
from diarize import ChannelDiarizer, exclusive_turns
from tests.diarize.mixing import overlap_mix, pause_mix, short_answer_mix, voice_from

RATE = 16000


@pytest.fixture(scope="module")
def voices(data_dir):
    rows = {
        "paddle": ("paddlespeech_zh.wav", "我认为跑步最重要的就是给我带来了身体健康"),
        "s0724": ("aishell1_BAC009S0724W0121.wav", "广州市房地产中介协会分析"),
        "long25": ("funasr_long_25s.flac", None),
        "s0764": ("aishell1_BAC009S0764W0121.wav", "甚至出现交易几乎停滞的情况"),
    }
    return {key: voice_from(decode_file(data_dir / name).mono(), key, text=text) for key, (name, text) in rows.items()}


@pytest.fixture(scope="module")
def overlapping(voices, tmp_path_factory):
    mix = overlap_mix("overlap", voices["paddle"], voices["s0724"], seed=3, turns=4)
    mono, seats = mix.render(seed=4)
    return mix, mono, seats, mix.write_rttm(tmp_path_factory.mktemp("mixes"))


def _speakers_at(turns, time_s):
    return {t.speaker for t in turns if t.start_s <= time_s <= t.end_s}


def test_the_mix_really_overlaps_and_its_truth_matches_the_construction(overlapping):
    mix, mono, seats, _ = overlapping
    ordered = sorted(mix.turns, key=lambda t: t.start_s)
    for before, after in zip(ordered, ordered[1:]):
        assert 0.5 - 1e-3 <= before.end_s - after.start_s <= 2.0 + 1e-3
    assert seats.shape == (mono.size, 2)


def test_both_seats_have_turns_through_every_overlap(overlapping):
    mix, _, seats, _ = overlapping
    turns = ChannelDiarizer().diarize_overlapping(seats, RATE)
    ordered = sorted(mix.turns, key=lambda t: t.start_s)
    for before, after in zip(ordered, ordered[1:]):
        middle_s = (after.start_s + before.end_s) / 2
        # The loudest-seat diarizer gave one speaker here; both people are talking.
        assert _speakers_at(turns, middle_s) == {"S1", "S2"}


def test_channel_der_with_overlap_is_at_most_3_percent(overlapping, der_percent):
    # Before: 16.2 % on this kind of mix (one seat per frame loses the other speaker in every overlap).
    _, _, seats, rttm = overlapping
    assert der_percent(ChannelDiarizer().diarize_overlapping(seats, RATE), rttm) <= 3.0


def test_the_exclusive_turns_are_disjoint_and_cover_the_same_speech(overlapping):
    _, _, seats, _ = overlapping
    heard = ChannelDiarizer().diarize_overlapping(seats, RATE)
    turns = ChannelDiarizer().diarize(seats, RATE)
    assert turns == exclusive_turns(heard)
    for before, after in zip(turns, turns[1:]):
        assert before.end_s <= after.start_s
    assert sum(t.end_s - t.start_s for t in turns) == pytest.approx(
        max(t.end_s for t in heard) - min(t.start_s for t in heard), abs=1.5)


def test_no_overlap_is_invented_between_a_question_and_a_short_answer(voices):
    mix = short_answer_mix("answers", voices["long25"], voices["s0724"], seed=5, answers=3, question_s=4.0)
    _, seats = mix.render(seed=6)
    heard = ChannelDiarizer().diarize_overlapping(seats, RATE)
    assert heard == ChannelDiarizer().diarize(seats, RATE)


@pytest.mark.parametrize("seed", [5, 9])
def test_short_answers_go_to_the_answerer_by_voice(voices, voice_diarizer, seed):
    mix = short_answer_mix("answers", voices["long25"], voices["s0724"], seed=seed, answers=3, question_s=4.0)
    mono, _ = mix.render(seed=seed + 1)
    turns = voice_diarizer.diarize(mono, RATE)
    first = [t for t in turns if t.start_s <= mix.turns[0].end_s - 0.5]
    answerer = max(first, key=lambda t: t.end_s - t.start_s).speaker
    answers = [t for t in mix.turns[1:] if t.speaker == "s0724"]
    assert len(answers) == 3 and all(t.end_s - t.start_s <= 0.8 + 1e-3 for t in answers)
    for answer in answers:
        assert _speakers_at(turns, (answer.start_s + answer.end_s) / 2) == {answerer}


def test_a_long_pause_does_not_add_a_speaker(voices, voice_diarizer, der_percent, tmp_path):
    mix = pause_mix("pause", voices["long25"], voices["paddle"], seed=7, pause_s=(60.0, 70.0), turn_s=6.0)
    mono, _ = mix.render(seed=8)
    turns = voice_diarizer.diarize(mono, RATE)
    assert len({t.speaker for t in turns}) == 2
    assert _speakers_at(turns, mix.turns[0].start_s + 2) == _speakers_at(turns, mix.turns[1].start_s + 2)
    assert der_percent(turns, mix.write_rttm(tmp_path)) <= 10.0


def test_a_recording_cut_into_windows_keeps_its_seats_and_its_accuracy(overlapping, der_percent):
    from diarize.channel import ChannelTuning

    _, _, seats, rttm = overlapping
    windowed = ChannelDiarizer(tuning=ChannelTuning(window_s=5.0)).diarize_overlapping(seats, RATE)
    assert {(t.speaker, t.channel) for t in windowed} == {("S1", 0), ("S2", 1)}
    assert der_percent(windowed, rttm) <= 5.0
