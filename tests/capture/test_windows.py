"""capture.decode_windows: a recording decoded a window at a time, cut at quiet moments, every sample once."""
import wave

import numpy as np
import pytest

from capture import SAMPLE_RATE, AudioDecodeError, decode_file, decode_windows, probe_file
from capture.windows import quiet_cut

ROOM = "dev_room_2spk.wav"  # 38.6 s, two voices with 0.7 s pauses between turns
SEATS = "dev_room_2spk.seats.flac"


@pytest.mark.parametrize("clip", [ROOM, SEATS])
def test_windows_hold_every_sample_once_in_order(data_dir, clip):
    whole = decode_file(data_dir / clip)
    audio_format, windows = decode_windows(data_dir / clip, window_s=12.0)
    windows = list(windows)
    assert audio_format.source_channels == whole.channels
    assert len(windows) >= 3 and [w.index for w in windows] == list(range(len(windows)))
    assert [w.last for w in windows] == [False] * (len(windows) - 1) + [True]
    assert np.array_equal(np.concatenate([w.samples for w in windows]), whole.samples)
    for before, after in zip(windows, windows[1:]):
        assert after.start_s == pytest.approx(before.end_s, abs=1e-9)
    # Each window ends within the last quarter of its length (the search span), the last one is no sliver.
    for window in windows[:-1]:
        assert 9.0 <= window.duration_s <= 12.0
    assert windows[-1].duration_s >= 3.0


def test_a_window_ends_in_a_pause_not_in_a_word(data_dir):
    whole = decode_file(data_dir / ROOM).mono()
    _, windows = decode_windows(data_dir / ROOM, window_s=12.0)
    for window in list(windows)[:-1]:
        end = int(round(window.end_s * SAMPLE_RATE))
        around = whole[end - SAMPLE_RATE // 10 : end + SAMPLE_RATE // 10]  # 0.1 s either side of the cut
        speech_rms = np.sqrt(np.mean(np.square(whole)))
        assert np.sqrt(np.mean(np.square(around))) < 0.1 * speech_rms


def test_quiet_cut_finds_the_silence_between_two_sounds():
    rng = np.random.default_rng(0)
    span = rng.normal(scale=0.1, size=SAMPLE_RATE * 4).astype(np.float32)
    span[int(2.5 * SAMPLE_RATE) : int(3.0 * SAMPLE_RATE)] = 0.0
    assert 2.5 * SAMPLE_RATE < quiet_cut(span) < 3.0 * SAMPLE_RATE


def test_a_file_shorter_than_a_window_is_one_window_equal_to_decode_file(data_dir):
    _, windows = decode_windows(data_dir / ROOM, window_s=600.0)
    (only,) = list(windows)
    assert only.last and only.start_s == 0.0
    assert np.array_equal(only.samples, decode_file(data_dir / ROOM).samples)


def test_empty_audio_is_one_empty_window(tmp_path):
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(16000)
    (only,) = list(decode_windows(path, window_s=600.0)[1])
    assert only.samples.shape == (0, 2) and only.last


def test_probe_reads_the_whole_file_without_keeping_it(data_dir):
    info = probe_file(data_dir / SEATS)
    assert info.channels == 2 and info.duration_s == pytest.approx(decode_file(data_dir / SEATS).duration_s)


def test_bad_files_are_refused_as_decode_file_refuses_them(tmp_path, data_dir):
    text = tmp_path / "notes.wav"
    text.write_text("这不是录音。\n" * 20, encoding="utf-8")
    with pytest.raises(AudioDecodeError, match="not a recording"):
        decode_windows(text, name="用户的文件.wav")
    whole = (data_dir / ROOM).read_bytes()
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(whole[: len(whole) // 3])  # the header still declares the full length
    _, windows = decode_windows(truncated, window_s=10.0)
    with pytest.raises(AudioDecodeError, match="truncated"):
        list(windows)  # found only at the end of the decoding, after the windows before it
    with pytest.raises(AudioDecodeError, match="truncated"):
        probe_file(truncated)


@pytest.mark.parametrize("window_s", [0.5, float("nan"), float("inf"), "600", True])
def test_a_window_length_that_makes_no_sense_is_refused(data_dir, window_s):
    with pytest.raises(ValueError, match="window_s"):
        decode_windows(data_dir / ROOM, window_s=window_s)
