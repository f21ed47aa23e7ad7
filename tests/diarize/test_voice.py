import numpy as np
import pytest

from capture import decode_file
from diarize import DiarizationError, VoiceDiarizer

RATE = 16000


def test_voice_der_on_the_room_mix_is_at_most_15_percent(voice_turns, data_dir, der_percent):
    assert der_percent(voice_turns, data_dir / "dev_room_2spk.rttm") <= 15.0


def test_two_voices_are_found_and_named_in_order_of_first_appearance(voice_turns):
    assert [t.speaker for t in voice_turns][0] == "S1"
    assert {t.speaker for t in voice_turns} == {"S1", "S2"}
    assert all(t.channel is None for t in voice_turns)


def test_turns_are_sorted_disjoint_and_inside_the_audio(voice_turns, room_mono):
    duration_s = room_mono.shape[0] / RATE
    for turn in voice_turns:
        assert 0.0 <= turn.start_s < turn.end_s <= duration_s
    for before, after in zip(voice_turns, voice_turns[1:]):
        assert before.end_s <= after.start_s


@pytest.mark.parametrize(
    "clip", ["aishell1_BAC009S0724W0121.wav", "aishell1_BAC009S0764W0121.wav", "funasr_long_25s.flac"]
)
def test_one_voice_comes_out_as_one_speaker(voice_diarizer, data_dir, clip):
    turns = voice_diarizer.diarize(decode_file(data_dir / clip).samples, RATE)
    assert turns and {t.speaker for t in turns} == {"S1"}


def test_two_real_clips_with_a_gap_give_two_speakers_at_the_right_times(voice_diarizer, data_dir):
    first = decode_file(data_dir / "funasr_long_25s.flac").mono()[: 8 * RATE]
    second = decode_file(data_dir / "aishell1_BAC009S0764W0121.wav").mono()
    gap = np.zeros(RATE, dtype=np.float32)
    mixed = np.concatenate([first, gap, second, gap, first[: 4 * RATE]])
    turns = voice_diarizer.diarize(mixed, RATE)
    second_start_s, second_end_s = 9.0, 9.0 + second.size / RATE

    def speaker_at(time_s):
        return next(t.speaker for t in turns if t.start_s - 0.3 <= time_s <= t.end_s + 0.3)

    assert speaker_at(4.0) == "S1"
    assert speaker_at((second_start_s + second_end_s) / 2) == "S2"
    assert speaker_at(second_end_s + 1.0 + 2.0) == "S1"


def test_num_speakers_gives_exactly_that_many(voice_diarizer, room_mono):
    turns = voice_diarizer.diarize(room_mono, RATE, num_speakers=3)
    assert {t.speaker for t in turns} == {"S1", "S2", "S3"}


def test_a_short_answer_between_two_long_turns_gets_the_answerers_voice(voice_diarizer, data_dir):
    asker = decode_file(data_dir / "funasr_long_25s.flac").mono()
    answerer = decode_file(data_dir / "aishell1_BAC009S0724W0121.wav").mono()
    answer = answerer[int(0.4 * RATE) : int(1.3 * RATE)]  # under a second of the answerer's speech
    gap = np.zeros(int(0.7 * RATE), dtype=np.float32)
    mixed = np.concatenate([answerer, gap, asker[: 6 * RATE], gap, answer, gap, asker[6 * RATE : 12 * RATE], gap, answerer])
    turns = voice_diarizer.diarize(mixed, RATE)
    answer_mid_s = (answerer.size + gap.size + 6 * RATE + gap.size + answer.size / 2) / RATE
    at_answer = [t.speaker for t in turns if t.start_s <= answer_mid_s <= t.end_s]
    assert at_answer == [turns[0].speaker]


def test_multichannel_input_is_mixed_down(voice_diarizer, room_seats, voice_turns, der_percent, data_dir):
    turns = voice_diarizer.diarize(room_seats, RATE)
    assert der_percent(turns, data_dir / "dev_room_2spk.rttm") <= 15.0


def test_empty_and_silent_audio_give_no_turns(voice_diarizer):
    assert voice_diarizer.diarize(np.zeros((0, 1), dtype=np.float32), RATE) == []
    assert voice_diarizer.diarize(np.zeros((RATE * 2, 1), dtype=np.float32), RATE) == []
    quiet_noise = np.random.default_rng(3).normal(0, 1e-4, (RATE * 2, 1)).astype(np.float32)
    assert voice_diarizer.diarize(quiet_noise, RATE) == []


@pytest.mark.parametrize("bad", [0, 9, 2.0, True])
def test_num_speakers_out_of_range_is_refused(voice_diarizer, bad):
    with pytest.raises(DiarizationError, match="num_speakers"):
        voice_diarizer.diarize(np.zeros((RATE, 1), dtype=np.float32), RATE, num_speakers=bad)


def test_max_speakers_must_be_positive():
    with pytest.raises(DiarizationError, match="max_speakers"):
        VoiceDiarizer(max_speakers=0)


def test_progress_is_reported_up_to_done(voice_diarizer, room_mono):
    seen = []
    voice_diarizer.diarize(room_mono[: 8 * RATE], RATE, progress=seen.append)
    assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] == 1.0


def test_our_mel_frames_match_the_features_resemblyzer_was_trained_on(data_dir):
    from resemblyzer.audio import wav_to_mel_spectrogram

    from diarize.embed import mel_frames

    wav = decode_file(data_dir / "aishell1_BAC009S0764W0121.wav").mono()
    ours, theirs = mel_frames(wav), wav_to_mel_spectrogram(wav)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()
