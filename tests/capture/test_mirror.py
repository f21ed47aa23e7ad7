"""SegmentMirror: another machine's segments written byte for byte, each frame once, gaps and differences refused."""
import numpy as np
import pytest

from capture import AudioChunk, SegmentRecorder, recover_segments
from capture.mirror import MirrorError, SegmentMirror
from capture.recorder import HEADER_BYTES, file_sha256


def recorded(folder, seconds=2.5, rate=8000, channels=2, segment_s=1.0):
    """A real recording in `folder`: its segments and their samples as 16-bit bytes."""
    rng = np.random.default_rng(3)
    samples = (rng.uniform(-0.5, 0.5, (int(seconds * rate), channels))).astype(np.float32)
    with SegmentRecorder(folder, sample_rate=rate, channels=channels, segment_s=segment_s) as recorder:
        for start in range(0, len(samples), 800):
            recorder.write(AudioChunk(samples=samples[start:start + 800], sample_rate=rate, start_s=start / rate))
    segments = recover_segments(folder)
    return segments, [s.path.read_bytes()[HEADER_BYTES:] for s in segments]


def send(mirror, segments, pcms, *, piece_frames=300, block=4, upto=None):
    """Send every segment in pieces, then close it; returns the chunks the mirror handed on."""
    chunks, offset = [], 0
    for info, pcm in zip(segments, pcms):
        for at in range(0, info.frames, piece_frames):
            piece = pcm[at * block:(at + piece_frames) * block]
            chunk = mirror.append(index=info.index, start_s=info.start_s, offset=offset + at, pcm=piece)
            if chunk is not None:
                chunks.append(chunk)
        mirror.close_segment(index=info.index, start_s=info.start_s, frames=info.frames, sha256=info.sha256)
        offset += info.frames
    return chunks


def test_the_copy_is_byte_identical_and_resends_are_stored_once(tmp_path):
    segments, pcms = recorded(tmp_path / "room")
    mirror = SegmentMirror(tmp_path / "centre", sample_rate=8000, channels=2)
    chunks = send(mirror, segments, pcms)
    again = send(mirror, segments, pcms, piece_frames=700)  # everything resent, in other pieces
    assert again == []
    assert [file_sha256(p) for p in sorted((tmp_path / "centre").glob("*.wav"))] == [s.sha256 for s in segments]
    assert sum(c.samples.shape[0] for c in chunks) == sum(s.frames for s in segments)
    starts = [c.start_s for c in chunks]
    assert starts == sorted(starts) and chunks[0].start_s == 0.0


def test_a_gap_and_a_segment_out_of_order_are_refused(tmp_path):
    segments, pcms = recorded(tmp_path / "room")
    mirror = SegmentMirror(tmp_path / "centre", sample_rate=8000, channels=2)
    with pytest.raises(MirrorError, match="gap"):
        mirror.append(index=0, start_s=0.0, offset=100, pcm=pcms[0][:400])
    mirror.append(index=0, start_s=0.0, offset=0, pcm=pcms[0][:400])
    with pytest.raises(MirrorError, match="before segment 0 was closed"):
        mirror.append(index=1, start_s=1.0, offset=100, pcm=pcms[1][:400])
    with pytest.raises(MirrorError, match="whole number"):
        mirror.append(index=0, start_s=0.0, offset=100, pcm=b"\x00" * 3)


def test_a_segment_that_differs_is_kept_aside_and_received_again(tmp_path):
    segments, pcms = recorded(tmp_path / "room")
    mirror = SegmentMirror(tmp_path / "centre", sample_rate=8000, channels=2)
    first = segments[0]
    damaged = bytearray(pcms[0])
    damaged[40] ^= 0xFF
    mirror.append(index=0, start_s=0.0, offset=0, pcm=bytes(damaged))
    with pytest.raises(MirrorError, match="differs"):
        mirror.close_segment(index=0, start_s=0.0, frames=first.frames, sha256=first.sha256)
    assert (tmp_path / "centre" / "segment_000000.wav.mismatch").is_file()  # nothing is deleted
    assert mirror.stored_frames == 0
    send(mirror, segments, pcms)
    assert mirror.segments()[0].sha256 == first.sha256


def test_a_restarted_receiver_goes_on_from_what_is_on_disk(tmp_path):
    segments, pcms = recorded(tmp_path / "room")
    mirror = SegmentMirror(tmp_path / "centre", sample_rate=8000, channels=2)
    mirror.append(index=0, start_s=0.0, offset=0, pcm=pcms[0])
    mirror.close_segment(index=0, start_s=0.0, frames=segments[0].frames, sha256=segments[0].sha256)
    mirror.append(index=1, start_s=segments[1].start_s, offset=segments[0].frames, pcm=pcms[1][:1000])
    # Killed here (no close): a new mirror takes up the folder, the second segment still open.
    taken_up = SegmentMirror(tmp_path / "centre", sample_rate=8000, channels=2, closed={0})
    assert taken_up.closed_count == 1 and taken_up.stored_frames == segments[0].frames + 250
    send(taken_up, segments, pcms)
    assert [s.sha256 for s in taken_up.segments()] == [s.sha256 for s in segments]
