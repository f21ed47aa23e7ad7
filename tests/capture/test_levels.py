"""A chunk's level per channel (the page's seat meters): dB below full scale, silence at the floor."""
import numpy as np

from capture import AudioChunk, decode_file
from capture.chunk import LEVEL_FLOOR_DB


def test_each_seat_has_its_own_level(data_dir):
    t = np.arange(16000) / 16000
    sine = np.sin(2 * np.pi * 440 * t).astype(np.float32)  # full scale: RMS 1/sqrt(2), -3.0 dB
    samples = np.stack([sine, 0.01 * sine, np.zeros_like(sine)], axis=1)
    levels = AudioChunk(samples=samples, sample_rate=16000, start_s=0.0).levels_db()
    assert levels == [-3.0, -43.0, LEVEL_FLOOR_DB]
    # Speech at one seat of the room mix: that seat well above the other over its first turn (seat 1, 0.4-6.4 s).
    mix = decode_file(data_dir / "dev_room_2spk.seats.flac").samples[int(0.5 * 16000): int(6 * 16000)]
    first, second = AudioChunk(samples=mix, sample_rate=16000, start_s=0.5).levels_db()
    assert -50 < first < 0 and first > second + 10


def test_an_empty_chunk_is_silence():
    empty = AudioChunk(samples=np.zeros((0, 2), dtype=np.float32), sample_rate=16000, start_s=0.0)
    assert empty.levels_db() == [LEVEL_FLOOR_DB, LEVEL_FLOOR_DB]
