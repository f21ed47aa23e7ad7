import numpy as np
import pytest

from capture import decode_file
from diarize import ChannelDiarizer, DiarizationError
from diarize.signal import loudest_seat
from tests.diarize.mixing import pause_mix, voice_from

RATE = 16000


def test_channel_der_on_the_seat_recording_is_at_most_5_percent(channel_turns, data_dir, der_percent):
    assert der_percent(channel_turns, data_dir / "dev_room_2spk.rttm") <= 5.0


def test_speakers_are_the_seats_of_the_ground_truth(channel_turns, room_truth):
    for truth in room_truth:
        seat = int(truth["seat"].removeprefix("seat")) - 1
        inside = [t for t in channel_turns if t.start_s < truth["end_s"] and t.end_s > truth["start_s"]]
        overlap = {}
        for t in inside:
            overlap[t.channel] = overlap.get(t.channel, 0.0) + min(t.end_s, truth["end_s"]) - max(t.start_s, truth["start_s"])
        assert max(overlap, key=overlap.get) == seat
    assert {(t.speaker, t.channel) for t in channel_turns} == {("S1", 0), ("S2", 1)}


def test_turns_are_sorted_disjoint_and_inside_the_audio(channel_turns, room_seats):
    duration_s = room_seats.shape[0] / RATE
    for turn in channel_turns:
        assert 0.0 <= turn.start_s < turn.end_s <= duration_s
    for before, after in zip(channel_turns, channel_turns[1:]):
        assert before.end_s <= after.start_s


def test_labels_follow_the_seats_when_the_channels_are_swapped(channel_turns, room_seats):
    swapped = ChannelDiarizer().diarize(np.ascontiguousarray(room_seats[:, ::-1]), RATE)
    assert [(t.start_s, t.end_s) for t in swapped] == [(t.start_s, t.end_s) for t in channel_turns]
    assert [t.channel for t in swapped] == [1 - t.channel for t in channel_turns]
    assert [t.speaker for t in swapped] == [f"S{2 - t.channel}" for t in channel_turns]


def test_a_silent_seat_produces_no_turns(room_seats):
    three = np.concatenate([room_seats, np.zeros((room_seats.shape[0], 1), dtype=np.float32)], axis=1)
    turns = ChannelDiarizer().diarize(three, RATE)
    assert turns and all(t.channel in (0, 1) for t in turns)


def test_a_short_cough_on_another_seat_does_not_flip_the_speaker(room_seats, channel_turns):
    coughed = room_seats.copy()
    start = int(3.0 * RATE)  # inside seat 1's first turn (0.4-6.4 s)
    burst = np.random.default_rng(7).normal(0, 0.3, int(0.08 * RATE)).astype(np.float32)
    coughed[start : start + burst.size, 1] += burst
    turns = ChannelDiarizer().diarize(np.clip(coughed, -1, 1), RATE)
    assert not [t for t in turns if t.channel == 1 and t.start_s < 6.0]


@pytest.mark.parametrize("seed", [2, 4])
def test_a_turn_after_a_long_silence_is_heard_from_its_first_words(data_dir, seed):
    # One person speaks, a minute or two of room noise, the same person again, then the other. Silero on the
    # mixdown of the seats (their mean: half of each voice, both microphones' noise) heard the second turn
    # start 0.69 / 0.70 s late with these seeds; on the loudest seat's microphone 0.28 / 0.09 s.
    first = voice_from(decode_file(data_dir / "funasr_long_25s.flac").mono(), "long25")
    second = voice_from(decode_file(data_dir / "paddlespeech_zh.wav").mono(), "paddle")
    mix = pause_mix("pause", first, second, seed=seed)
    _, seats = mix.render(seed=seed + 100)
    turns = ChannelDiarizer().diarize(seats, RATE)
    after_pause = sorted(mix.turns, key=lambda t: t.start_s)[1]
    heard = [t for t in turns if t.channel == after_pause.seat and t.end_s > after_pause.start_s]
    assert heard and heard[0].start_s - after_pause.start_s <= 0.5


def test_the_loudest_seat_is_taken_frame_by_frame():
    frame = 320
    quiet, loud = np.full(frame, 0.01, np.float32), np.full(frame, 0.5, np.float32)
    seats = np.stack([np.concatenate([loud, quiet, quiet[:100]]), np.concatenate([quiet, -loud, -loud[:100]])], axis=1)
    mono = loudest_seat(seats, np.array([0, 1, 1]), frame)
    # Seat 0 in the first frame, seat 1 in the second, and the partial frame at the end from seat 1 too.
    np.testing.assert_array_equal(mono, np.concatenate([loud, -loud, -loud[:100]]))


def test_silence_gives_no_turns():
    assert ChannelDiarizer().diarize(np.zeros((RATE * 3, 2), dtype=np.float32), RATE) == []
    assert ChannelDiarizer().diarize(np.zeros((0, 2), dtype=np.float32), RATE) == []


def test_one_channel_is_refused_with_a_clear_message(room_mono):
    with pytest.raises(DiarizationError, match="2 or more channels"):
        ChannelDiarizer().diarize(room_mono, RATE)


def test_other_sample_rates_are_resampled(room_seats, channel_turns):
    from scipy.signal import resample_poly

    at_8k = resample_poly(room_seats, 1, 2, axis=0).astype(np.float32)
    turns = ChannelDiarizer().diarize(at_8k, 8000)
    assert [t.speaker for t in turns] == [t.speaker for t in channel_turns]
    for a, b in zip(turns, channel_turns):
        assert abs(a.start_s - b.start_s) < 0.1 and abs(a.end_s - b.end_s) < 0.1


@pytest.mark.parametrize(
    ("audio", "rate", "problem"),
    [
        (np.zeros((100, 2), dtype=np.int16), RATE, "float"),
        (np.full((100, 2), np.nan, dtype=np.float32), RATE, "NaN"),
        (np.zeros((100, 2, 2), dtype=np.float32), RATE, "shape"),
        (np.zeros((100, 2), dtype=np.float32), 0, "sample_rate"),
        ([[0.0, 0.0]], RATE, "numpy array"),
    ],
)
def test_malformed_audio_raises_diarization_error(audio, rate, problem):
    with pytest.raises(DiarizationError, match=problem):
        ChannelDiarizer().diarize(audio, rate)


def test_progress_is_reported_up_to_done(room_seats):
    seen = []
    ChannelDiarizer().diarize(room_seats[: RATE * 8], RATE, progress=seen.append)
    assert len(seen) >= 2 and seen == sorted(seen) and seen[-1] == 1.0
