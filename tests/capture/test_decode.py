import struct
import wave

import numpy as np
import pytest

from capture import SAMPLE_RATE, AudioDecodeError, decode_file
from tests.audio_helpers import resample_linear, write_audio

CLIP = "aishell1_BAC009S0724W0121.wav"


@pytest.fixture(scope="module")
def clip(data_dir):
    return decode_file(data_dir / CLIP)


def test_wav_decodes_to_16k_float_mono(clip, manifest):
    assert clip.sample_rate == SAMPLE_RATE
    assert clip.samples.dtype == np.float32
    assert clip.samples.shape[1] == 1
    assert clip.duration_s == pytest.approx(manifest[CLIP]["duration_s"], abs=0.01)
    assert 0.01 < float(np.abs(clip.samples).max()) <= 1.0


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".mp3", ".m4a", ".ogg"])
def test_every_supported_format_decodes_to_the_same_audio(tmp_path, clip, suffix):
    rate = {".m4a": 44100, ".ogg": 48000}.get(suffix, 16000)  # Opus in Ogg runs at 48 kHz
    source = clip.mono() if rate == 16000 else resample_linear(clip.mono(), 16000, rate)
    path = write_audio(tmp_path / f"clip{suffix}", source, rate)
    decoded = decode_file(path)
    assert decoded.sample_rate == SAMPLE_RATE
    assert decoded.duration_s == pytest.approx(clip.duration_s, abs=0.15)  # codecs pad a frame or two
    # Lossy codecs change samples, not the signal: the loudness envelope must match the original.
    assert _envelope_correlation(decoded.mono(), clip.mono()) > 0.9


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_any_sample_rate_is_resampled_to_16k(tmp_path, clip, rate):
    path = write_audio(tmp_path / f"clip_{rate}.wav", resample_linear(clip.mono(), 16000, rate), rate)
    decoded = decode_file(path)
    assert decoded.source_rate == rate
    assert decoded.sample_rate == SAMPLE_RATE
    assert decoded.duration_s == pytest.approx(clip.duration_s, abs=0.02)
    assert _envelope_correlation(decoded.mono(), clip.mono()) > 0.95


def test_channels_are_kept_apart(tmp_path, clip):
    mono = clip.mono()
    seats = np.stack([mono, mono * 0.1, np.zeros_like(mono)], axis=1)
    decoded = decode_file(write_audio(tmp_path / "three_seats.wav", seats, 16000))
    assert decoded.channels == 3
    rms = np.sqrt((decoded.samples**2).mean(axis=0))
    assert rms[0] > 5 * rms[1] > 0
    assert rms[2] == 0


def test_stereo_mixdown_is_the_mean(data_dir):
    seats = decode_file(data_dir / "dev_room_2spk.seats.flac")
    assert seats.channels == 2
    np.testing.assert_allclose(seats.mono(), seats.samples.mean(axis=1), atol=1e-6)


def test_zero_length_wav_is_empty_audio_not_an_error(tmp_path):
    path = tmp_path / "empty.wav"
    with wave.open(str(path), "wb") as w:  # a valid header with no frames, as a recorder stopped at once writes
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    decoded = decode_file(path)
    assert decoded.samples.shape == (0, 1)
    assert decoded.duration_s == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("这不是录音，只是一个文本文件。\n" * 20, encoding="utf-8"), "not a recording"),
        (lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt "), "not a recording"),
    ],
    ids=["zero-bytes", "text-named-wav", "header-only"],
)
def test_bad_files_are_refused_with_a_reason(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioDecodeError, match=message) as info:
        decode_file(path)
    assert str(path) in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(AudioDecodeError, match="no such file"):
        decode_file(tmp_path / "nowhere.wav")


def test_truncated_wav_is_refused(tmp_path, data_dir):
    whole = (data_dir / CLIP).read_bytes()
    path = tmp_path / "truncated.wav"
    path.write_bytes(whole[: len(whole) // 3])  # the header still declares the full length
    with pytest.raises(AudioDecodeError, match="truncated"):
        decode_file(path)


def test_header_claiming_hours_is_refused(tmp_path, data_dir):
    data = bytearray((data_dir / CLIP).read_bytes())
    data_at = data.index(b"data")
    data[data_at + 4 : data_at + 8] = struct.pack("<I", 16000 * 2 * 3600 * 10)  # "10 hours" of 16-bit mono
    path = tmp_path / "liar.wav"
    path.write_bytes(bytes(data))
    with pytest.raises(AudioDecodeError, match="truncated"):
        decode_file(path)


def test_error_names_the_users_file_not_a_copy(tmp_path):
    path = tmp_path / "copy.wav"
    path.write_text("not audio")
    with pytest.raises(AudioDecodeError, match="^interview.wav: "):
        decode_file(path, name="interview.wav")


def _envelope_correlation(a: np.ndarray, b: np.ndarray, frame: int = 800) -> float:
    n = min(len(a), len(b)) // frame * frame
    ea = np.sqrt((a[:n].reshape(-1, frame) ** 2).mean(axis=1))
    eb = np.sqrt((b[:n].reshape(-1, frame) ** 2).mean(axis=1))
    return float(np.corrcoef(ea, eb)[0, 1])
