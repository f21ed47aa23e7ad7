"""The number of voices the voice diarizer finds on short mixes of two real people (tests/diarize/mixing.py).

Each mix here came out with the wrong count before the split was chosen by silhouette (diarize.cluster):
short answers made a third "speaker" of one voice cut in two, heavy overlap in ten seconds left only one,
and one voice heard again after a long pause was two until a split had to reach a least silhouette.
"""
import numpy as np
import pytest

from capture import decode_file
from tests.diarize.mixing import Mix, overlap_mix, short_answer_mix, voice_from

RATE = 16000


@pytest.fixture(scope="module")
def voices(data_dir):
    files = {"s0764": "aishell1_BAC009S0764W0121.wav", "s0724": "aishell1_BAC009S0724W0121.wav",
             "long25": "funasr_long_25s.flac", "funasr": "funasr_asr_example_zh.wav", "paddle": "paddlespeech_zh.wav",
             "nst1": "wenet_nst_ID001.wav"}
    return {key: voice_from(decode_file(data_dir / name).mono(), key) for key, name in files.items()}


def _speaker_at(turns, time_s):
    return {t.speaker for t in turns if t.start_s <= time_s <= t.end_s}


@pytest.mark.parametrize(("asker", "answerer"), [("s0764", "long25"), ("s0764", "funasr")])
def test_short_answers_between_questions_come_from_two_speakers_and_the_answerer(voice_diarizer, voices,
                                                                                 asker, answerer):
    # Before: three speakers (the asker's questions split in two "voices").
    mix = short_answer_mix("answers", voices[asker], voices[answerer], seed=7)
    mono, _ = mix.render(seed=8)
    turns = voice_diarizer.diarize(mono, RATE)
    assert len({t.speaker for t in turns}) == 2
    ordered = sorted(mix.turns, key=lambda t: t.start_s)
    answerer_label = _speaker_at(turns, (ordered[0].start_s + ordered[0].end_s) / 2)
    answers = [t for t in ordered[1:] if t.speaker == answerer]
    heard = [_speaker_at(turns, (t.start_s + t.end_s) / 2) for t in answers]
    # Short answers (0.3-0.8 s) go to the person who gave the long answer, nearly all of them.
    assert sum(h == answerer_label for h in heard) >= len(answers) - 1


@pytest.mark.parametrize(("first", "second", "seed"), [("paddle", "s0724", 3007), ("s0764", "nst1", 7)])
def test_ten_seconds_of_two_people_talking_over_each_other_give_two_speakers(voice_diarizer, voices, first,
                                                                            second, seed):
    # Before: one speaker (the second voice has under 2 s of clear speech, the rest is overlap).
    mix = overlap_mix("overlap", voices[first], voices[second], seed=seed, turns=4, max_turn_s=8.0)
    mono, _ = mix.render(seed=seed + 1)
    turns = voice_diarizer.diarize_overlapping(mono, RATE)
    assert len({t.speaker for t in turns}) == 2
    ordered = sorted(mix.turns, key=lambda t: t.start_s)
    # Each person's first turn, away from the overlaps, is theirs alone.
    first_alone_s = (ordered[0].start_s + ordered[1].start_s) / 2
    second_alone_s = (ordered[0].end_s + ordered[2].start_s) / 2
    assert _speaker_at(turns, first_alone_s) and _speaker_at(turns, second_alone_s)
    assert _speaker_at(turns, first_alone_s) != _speaker_at(turns, second_alone_s)


def test_one_voice_again_after_a_long_pause_stays_one_speaker(voice_diarizer, voices):
    # Before: two speakers (the 25 s clip twice split by what is said, each half heard in both copies).
    voice = voices["long25"]
    mix = Mix("pause", seats=1)
    end_s = mix.place(voice, voice.speech, 0.5, seat=0)
    mix.place(voice, voice.speech, end_s + float(np.random.default_rng(2).uniform(60.0, 120.0)), seat=0)
    mono, _ = mix.render(seed=2)
    turns = voice_diarizer.diarize(mono, RATE)
    assert turns, "the speech was not found at all"
    assert {t.speaker for t in turns} == {"S1"}
    # Both copies are heard: speech before and after the pause.
    assert min(t.start_s for t in turns) < end_s < max(t.end_s for t in turns)
