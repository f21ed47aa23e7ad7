"""The crash-safe segment writer and recovery: real files, a real kill -9, a really full disk."""
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from capture import (
    AudioChunk,
    CaptureArgumentError,
    RecordingError,
    SegmentRecorder,
    decode_file,
    read_segments,
    recover_segments,
    replay_file,
)
from tests.audio_helpers import resample_linear

REPO = Path(__file__).resolve().parents[2]
CLIP = "aishell1_BAC009S0724W0121.wav"
LONG_CLIP = "funasr_long_25s.flac"


@pytest.fixture(scope="module")
def clip(data_dir):
    return decode_file(data_dir / CLIP)


def _record(folder: Path, chunks, *, segment_s: float = 1.0, **kwargs) -> tuple[list, list]:
    segments, written = [], []
    first = chunks[0]
    with SegmentRecorder(folder, sample_rate=first.sample_rate, channels=first.channels, segment_s=segment_s,
                         on_segment=segments.append, on_written=written.append, **kwargs) as recorder:
        for chunk in chunks:
            recorder.write(chunk)
    return segments, written


def test_segments_hold_the_audio_exactly_with_their_hashes(tmp_path, clip, data_dir):
    chunks = list(replay_file(data_dir / CLIP, realtime=False, block_s=0.1))
    segments, written = _record(tmp_path, chunks, segment_s=1.0)
    assert [s.index for s in segments] == list(range(5))  # 4.28 s in segments of 1 s
    assert [s.path.name for s in segments] == [f"segment_{i:06d}.wav" for i in range(5)]
    assert [s.start_s for s in segments] == pytest.approx([0, 1, 2, 3, 4])
    assert all(s.frames == 16000 for s in segments[:-1])
    assert sum(s.frames for s in segments) == len(clip.samples)
    for info in segments:
        assert info.sha256 == hashlib.sha256(info.path.read_bytes()).hexdigest()
        with wave.open(str(info.path)) as w:  # the standard library reads them: a plain 16-bit WAV
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, info.frames)
    assert written == chunks  # every chunk handed on, in order, once
    audio = read_segments(segments)
    assert audio.start_s == 0 and audio.sample_rate == 16000
    np.testing.assert_array_equal(audio.samples, clip.samples)  # 16-bit in, 16-bit out: exact


def test_a_chunk_is_handed_on_only_once_it_is_on_disk(tmp_path, clip):
    on_disk_at_handover = []

    def check(chunk: AudioChunk) -> None:
        data_bytes = sum(p.stat().st_size - 64 for p in tmp_path.glob("segment_*.wav"))
        on_disk_at_handover.append(data_bytes / 2 / 16000 - (chunk.start_s + chunk.duration_s))

    chunks = [AudioChunk(clip.samples[i : i + 800], 16000, i / 16000) for i in range(0, len(clip.samples), 800)]
    with SegmentRecorder(tmp_path, sample_rate=16000, channels=1, segment_s=1.0, on_written=check) as recorder:
        for chunk in chunks:
            recorder.write(chunk)
            time.sleep(0.002)  # let handovers interleave with writes
    assert len(on_disk_at_handover) == len(chunks)
    assert min(on_disk_at_handover) >= -1e-9


def test_a_segment_in_progress_is_a_readable_wav(tmp_path, clip):
    written = []
    recorder = SegmentRecorder(tmp_path, sample_rate=16000, channels=1, segment_s=60, on_written=written.append)
    with recorder:
        recorder.write(AudioChunk(clip.samples[:24000], 16000, 0.0))
        deadline = time.monotonic() + 5
        while not written and time.monotonic() < deadline:
            time.sleep(0.01)
        partial = decode_file(tmp_path / "segment_000000.wav")  # while the recorder still holds it open
        assert partial.duration_s == pytest.approx(1.5)
        np.testing.assert_array_equal(partial.samples, clip.samples[:24000])
        recorder.write(AudioChunk(clip.samples[24000:32000], 16000, 1.5))
    assert recorder.segments[0].frames == 32000


def test_a_jump_in_time_starts_a_new_segment(tmp_path, clip):
    first = AudioChunk(clip.samples[:8000], 16000, 10.0)
    after_gap = AudioChunk(clip.samples[8000:16000], 16000, 12.5)
    segments, _ = _record(tmp_path, [first, after_gap], segment_s=5.0)
    assert [(s.start_s, s.frames) for s in segments] == [(10.0, 8000), (12.5, 8000)]
    audio = read_segments(segments)
    assert audio.start_s == 10.0
    assert audio.duration_s == pytest.approx(3.0)
    np.testing.assert_array_equal(audio.samples[16000:24000], 0)  # the gap stays a gap, times stay true
    np.testing.assert_array_equal(audio.samples[40000:], clip.samples[8000:16000])


def test_two_channels_stay_apart_on_disk(tmp_path, data_dir):
    seats = decode_file(data_dir / "dev_room_2spk.seats.flac").samples[: 16000 * 3]
    chunks = [AudioChunk(seats[i : i + 1600], 16000, i / 16000) for i in range(0, len(seats), 1600)]
    segments, _ = _record(tmp_path, chunks, segment_s=2.0)
    np.testing.assert_array_equal(read_segments(segments).samples, np.clip(np.rint(seats * 32768), -32768, 32767) / 32768)


def test_a_wrong_chunk_or_a_closed_recorder_is_refused(tmp_path, clip):
    recorder = SegmentRecorder(tmp_path, sample_rate=16000, channels=1)
    with pytest.raises(RecordingError, match="not started"):
        recorder.write(AudioChunk(clip.samples[:10], 16000, 0.0))
    with recorder:
        with pytest.raises(CaptureArgumentError, match=r"float32 chunks of shape \[frames, 1\] at 16000 Hz"):
            recorder.write(AudioChunk(np.zeros((10, 2), np.float32), 16000, 0.0))
        with pytest.raises(CaptureArgumentError, match="at 16000 Hz; got"):
            recorder.write(AudioChunk(clip.samples[:10], 48000, 0.0))
    with pytest.raises(RecordingError, match="closed"):
        recorder.write(AudioChunk(clip.samples[:10], 16000, 0.0))
    with pytest.raises(CaptureArgumentError, match="segment_s"):
        SegmentRecorder(tmp_path, sample_rate=16000, channels=1, segment_s=0)


def test_a_new_recorder_in_the_same_folder_continues_the_numbering(tmp_path, clip):
    first, _ = _record(tmp_path, [AudioChunk(clip.samples[:16000], 16000, 0.0)])
    second, _ = _record(tmp_path, [AudioChunk(clip.samples[16000:32000], 16000, 1.0)])
    assert [s.index for s in first + second] == [0, 1]
    assert [s.index for s in recover_segments(tmp_path)] == [0, 1]


def test_recovery_repairs_a_header_that_lags_behind_the_data(tmp_path, clip):
    segments, _ = _record(tmp_path, [AudioChunk(clip.samples[:24000], 16000, 0.0)], segment_s=1.0)
    last = segments[-1].path
    extra = (np.rint(clip.samples[24000:28000, 0] * 32768)).astype("<i2").tobytes()
    with open(last, "ab") as f:  # samples written, header not patched yet, half a frame at the very end
        f.write(extra + b"\x01")
    with wave.open(str(last)) as w:
        assert w.getnframes() == 8000  # the header still declares only what was there at its last patch
    recovered = recover_segments(tmp_path)
    assert [s.frames for s in recovered] == [16000, 12000]
    assert recovered[-1].sha256 == hashlib.sha256(last.read_bytes()).hexdigest()
    assert last.stat().st_size == 64 + 12000 * 2  # the half frame is gone
    np.testing.assert_array_equal(decode_file(last).samples, clip.samples[16000:28000])
    assert recover_segments(tmp_path) == recovered  # running it again changes nothing
    assert recovered[0] == segments[0]  # a closed segment is left as it was


def test_recovery_skips_a_segment_that_never_got_its_header_and_names_a_foreign_file(tmp_path, clip):
    _record(tmp_path, [AudioChunk(clip.samples[:16000], 16000, 0.0)])
    (tmp_path / "segment_000001.wav").write_bytes(b"RIFF")  # died while creating it
    assert [s.index for s in recover_segments(tmp_path)] == [0]
    (tmp_path / "segment_000002.wav").write_bytes(b"not a wav file at all" * 10)
    with pytest.raises(RecordingError, match="segment_000002.wav is not a WAV segment"):
        recover_segments(tmp_path)
    with pytest.raises(RecordingError, match="no recording folder"):
        recover_segments(tmp_path / "nowhere")


def test_reading_a_segment_that_changed_is_refused(tmp_path, clip):
    segments, _ = _record(tmp_path, [AudioChunk(clip.samples[:32000], 16000, 0.0)])
    data = bytearray(segments[1].path.read_bytes())
    data[1000] ^= 0xFF
    segments[1].path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="segment_000001.wav changed since it was recorded"):
        read_segments(segments)


def test_reading_from_a_time_and_at_16k(tmp_path, clip):
    at_48k = resample_linear(clip.mono(), 16000, 48000)
    chunks = [AudioChunk(at_48k[i : i + 4800, None], 48000, i / 48000) for i in range(0, len(at_48k), 4800)]
    segments, _ = _record(tmp_path / "rec", chunks, segment_s=1.0)
    tail = read_segments(segments, from_s=2.0, sample_rate=16000)
    assert tail.start_s == 2.0 and tail.sample_rate == 16000
    expected = clip.mono()[32000:]
    assert len(tail.samples) == pytest.approx(len(expected), abs=2)
    n = min(len(expected), len(tail.samples))
    assert np.corrcoef(tail.samples[:n, 0], expected[:n])[0, 1] > 0.99
    part = read_segments(segments, from_s=1.0, until_s=1.5)
    assert part.samples.shape == (24000, 1)


RECORDER_SCRIPT = """
import sys, time
from capture import SegmentRecorder, replay_file
folder, clip = sys.argv[1], sys.argv[2]
recorder = SegmentRecorder(folder, sample_rate=16000, channels=1, segment_s=1.0,
                           on_written=lambda c: print(f"written {c.start_s + c.duration_s:.3f}", flush=True))
recorder.start()
print(f"started {time.time():.6f}", flush=True)
for chunk in replay_file(clip, realtime=True, block_s=0.1):
    recorder.write(chunk)
recorder.close()
print("finished", flush=True)
"""


def test_kill_9_mid_segment_loses_at_most_a_second(tmp_path, data_dir):
    folder = tmp_path / "session"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RECORDER_SCRIPT), str(folder), str(data_dir / LONG_CLIP)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True,
    )
    try:
        started_at = float(child.stdout.readline().split()[1])
        last_written_s = 0.0
        while last_written_s < 3.45:  # mid-way through the fourth 1-s segment
            line = child.stdout.readline()
            assert line.startswith("written"), line
            last_written_s = float(line.split()[1])
        child.send_signal(signal.SIGKILL)
        killed_at = time.time()
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    recovered = recover_segments(folder)
    recovered_s = sum(s.duration_s for s in recovered)
    assert [s.index for s in recovered] == list(range(len(recovered)))
    assert recovered_s >= last_written_s  # everything it reported as written is there
    assert (killed_at - started_at) - recovered_s <= 1.0  # and at most a second of what was played is lost
    audio = read_segments(recovered)
    original = decode_file(data_dir / LONG_CLIP).samples[: len(audio.samples)]
    np.testing.assert_allclose(audio.samples, original, atol=1 / 32768 + 1e-7)
    for info in recovered:  # every segment, the last included, is a clean WAV again
        assert decode_file(info.path).samples.shape[0] == info.frames


def test_a_full_disk_stops_the_recorder_clearly_and_keeps_what_was_written(tmp_path, data_dir):
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 256 KiB tmpfs to fill (needs root and mount rights): {mounted.stderr.strip()}")
    try:
        audio = decode_file(data_dir / LONG_CLIP)  # 25 s of 16-bit mono: 800 KB, more than the disk holds
        chunks = [AudioChunk(audio.samples[i : i + 1600], 16000, i / 16000) for i in range(0, len(audio.samples), 1600)]
        segments, written = [], []
        recorder = SegmentRecorder(mount_point, sample_rate=16000, channels=1, segment_s=3.0,
                                   on_segment=segments.append, on_written=written.append).start()
        with pytest.raises(RecordingError) as info:
            for chunk in chunks:
                recorder.write(chunk)
                time.sleep(0.001)
            recorder.close()
        message = str(info.value)
        assert "the disk is full" in message and str(mount_point) in message
        with pytest.raises(RecordingError, match="the disk is full"):
            recorder.close()  # it stays failed
        recovered = recover_segments(mount_point)
        assert recovered == segments  # every segment, the cut one included, reported with its hash
        kept = read_segments(recovered)
        assert 6.0 < kept.duration_s < 8.2  # 256 KiB of 32 kB/s, the third segment cut short
        assert recovered[-1].frames < 3 * 16000
        np.testing.assert_allclose(kept.samples, audio.samples[: len(kept.samples)], atol=1 / 32768 + 1e-7)
        handed_on_s = sum(c.duration_s for c in written)
        assert handed_on_s <= kept.duration_s + 1e-9  # nothing handed on that is not on disk
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def test_segments_read_in_windows_are_read_segments_cut_as_a_file_is(tmp_path, data_dir):
    """capture.segment_windows: the rest of a recording from a point, window by window, every sample once, cut
    where capture.cut_windows cuts the same audio; a gap stays silence."""
    from capture import segment_windows
    from capture.windows import cut_windows

    seats = decode_file(data_dir / "dev_room_2spk.seats.flac").samples
    chunks = [AudioChunk(seats[i : i + 1600], 16000, i / 16000) for i in range(0, 20 * 16000, 1600)]
    chunks += [AudioChunk(seats[i : i + 1600], 16000, 2.0 + i / 16000) for i in range(20 * 16000, len(seats), 1600)]
    segments, _ = _record(tmp_path / "rec", chunks, segment_s=5.0)
    whole = read_segments(segments, from_s=3.3, sample_rate=16000)
    windows = list(segment_windows(segments, from_s=3.3, window_s=12.0))
    assert len(windows) >= 3 and windows[0].start_s == 3.3 and windows[-1].last
    assert np.array_equal(np.concatenate([w.samples for w in windows]), whole.samples)
    np.testing.assert_array_equal(whole.samples[int(16.7 * 16000) : int(18.7 * 16000)], 0)  # the 2 s gap
    same = list(cut_windows(iter([whole.samples]), 2, window_s=12.0, start_s=3.3))
    assert [(w.start_s, w.samples.shape) for w in windows] == [(w.start_s, w.samples.shape) for w in same]
    assert list(segment_windows(segments, from_s=100.0))[0].samples.shape == (0, 2)  # nothing after the end
