"""Recording a real PortAudio device: clips played into a PulseAudio null sink, recorded from its monitor
through Microphone + SegmentRecorder, must come back as they were played. Also the file replay and the
16 kHz resampler, which feed the same path."""
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import signal as scipy_signal

from capture import (
    AudioChunk,
    CaptureArgumentError,
    ChunkResampler,
    DeviceLost,
    Microphone,
    SegmentRecorder,
    decode_file,
    read_segments,
    replay_file,
)
from tests.audio_helpers import write_audio

CLIP = "aishell1_BAC009S0724W0121.wav"
SHORT_CLIP = "wenet_nst_ID002.wav"
LEAD_IN_FRAMES = 8000


class Session:
    """Microphone -> SegmentRecorder on a thread of its own, as `bilu record` runs them."""

    def __init__(self, device: str, folder: Path, *, channels: int, sample_rate: int | None = None) -> None:
        self.microphone = Microphone(device, channels=channels, sample_rate=sample_rate)
        self.written: list[AudioChunk] = []
        self.recorder = SegmentRecorder(folder, sample_rate=self.microphone.sample_rate, channels=channels,
                                        segment_s=2.0, on_written=self.written.append)
        self.first_chunk = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            for chunk in self.microphone.chunks():
                self.recorder.write(chunk)
                self.first_chunk.set()
        except BaseException as exc:  # handed to the test thread
            self.error = exc
        finally:
            self.recorder.close()

    def start(self) -> "Session":
        self.recorder.start()
        self.microphone.start()
        self._thread.start()
        assert self.first_chunk.wait(10), "the device delivered nothing"
        return self

    def finish(self) -> list:
        self.microphone.stop()
        self._thread.join(10)
        assert not self._thread.is_alive()
        return self.recorder.segments


def record_while_playing(pulse, tmp_path: Path, played: np.ndarray, *, device: str, channels: int,
                         sample_rate: int | None = None):
    """Play `played` (16 kHz, [frames, channels]) into the sink `device` while recording its monitor."""
    # Lead-in silence: a null sink that starts a new stream rewinds over what it had already rendered, and
    # its monitor never gets the rewound start (a real microphone has no such thing).
    lead_in = np.zeros((LEAD_IN_FRAMES, played.shape[1]), dtype=np.float32)
    wav = write_audio(tmp_path / "played.wav", np.concatenate([lead_in, played]), 16000)
    session = Session(device, tmp_path / "rec", channels=channels, sample_rate=sample_rate).start()
    pulse.play(wav, sink=device)
    time.sleep(0.4)  # the last blocks are still on their way through the server
    segments = session.finish()
    assert session.error is None, session.error
    return session, segments


def align(recorded: np.ndarray, played: np.ndarray) -> np.ndarray:
    """The stretch of `recorded` that lines up with `played` (found by cross-correlation)."""
    correlation = scipy_signal.correlate(recorded, played, mode="valid", method="fft")
    lag = int(np.argmax(np.abs(correlation)))
    return recorded[lag : lag + len(played)]


def delayed(x: np.ndarray, delay_frames: float) -> np.ndarray:
    """`x` delayed by a fraction of a frame (a band-limited shift, through the spectrum)."""
    spectrum = np.fft.rfft(x, 2 * len(x))
    frequencies = np.fft.rfftfreq(2 * len(x))
    return np.fft.irfft(spectrum * np.exp(-2j * np.pi * frequencies * delay_frames))[: len(x)]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_recorded_audio_equals_the_played_audio(pulse, tmp_path, data_dir):
    played = decode_file(data_dir / CLIP).mono()
    session, segments = record_while_playing(pulse, tmp_path, played[:, None], device="vmic_mono", channels=1,
                                             sample_rate=16000)
    recorded = read_segments(segments)
    assert recorded.sample_rate == 16000 and recorded.start_s == 0.0
    assert recorded.duration_s > len(played) / 16000
    assert correlation(align(recorded.samples[:, 0], played), played) > 0.99
    # What went on to recognition is what is on disk, in order, on a clock counted in frames.
    starts = [c.start_s for c in session.written]
    assert starts == pytest.approx([sum(len(c.samples) for c in session.written[:i]) / 16000 for i in range(len(starts))])
    handed_on = np.concatenate([c.samples for c in session.written])
    np.testing.assert_allclose(handed_on, recorded.samples, atol=1 / 32768 + 1e-7)


def test_two_seats_stay_on_their_own_channels(pulse, tmp_path, data_dir):
    seats = decode_file(data_dir / "dev_room_2spk.seats.flac").samples
    excerpt = seats[int(5.0 * 16000) : int(9.0 * 16000)]  # seat A speaks until 6.4 s, seat B from 7.1 s
    _, segments = record_while_playing(pulse, tmp_path, excerpt, device="vmic_stereo", channels=2, sample_rate=16000)
    recorded = read_segments(segments).samples
    assert recorded.shape[1] == 2
    left = align(recorded[:, 0], excerpt[:, 0])
    lag = int(np.argmax(np.abs(scipy_signal.correlate(recorded[:, 0], excerpt[:, 0], mode="valid", method="fft"))))
    right = recorded[lag : lag + len(excerpt), 1]  # the same lag: channels are captured together
    assert correlation(left, excerpt[:, 0]) > 0.99
    assert correlation(right, excerpt[:, 1]) > 0.99
    seat_a = slice(int(0.2 * 16000), int(1.3 * 16000))  # 5.2-6.3 s of the file: only A speaks
    seat_b = slice(int(2.2 * 16000), int(3.9 * 16000))  # 7.2-8.9 s: only B speaks
    rms = lambda x: float(np.sqrt(np.mean(x**2)))  # noqa: E731
    assert rms(left[seat_a]) > 3 * rms(right[seat_a])  # each voice reaches the other seat 14 dB lower
    assert rms(right[seat_b]) > 3 * rms(left[seat_b])


def test_a_48k_device_is_kept_at_48k_on_disk_and_resampled_to_16k_for_recognition(pulse, tmp_path, data_dir):
    played = decode_file(data_dir / SHORT_CLIP).mono()
    session, segments = record_while_playing(pulse, tmp_path, played[:, None], device="vmic_mono", channels=1,
                                             sample_rate=48000)
    assert session.microphone.sample_rate == 48000
    assert {s.sample_rate for s in segments} == {48000}
    on_disk = read_segments(segments).samples[:, 0]
    played_48k = scipy_signal.resample_poly(played, 3, 1)
    lag_48k = int(np.argmax(np.abs(scipy_signal.correlate(on_disk, played_48k, mode="valid", method="fft"))))
    assert correlation(on_disk[lag_48k : lag_48k + len(played_48k)], played_48k) > 0.99
    resampler = ChunkResampler(target_rate=16000)
    parts = [resampler.resample(c) for c in session.written] + [resampler.flush()]
    for_recognition = np.concatenate([p.samples for p in parts if p is not None])[:, 0]
    assert len(for_recognition) == pytest.approx(len(on_disk) / 3, abs=2)
    # The sound server's delay is a whole number of 48 kHz frames, a third of a 16 kHz frame when it
    # is not a multiple of 3: line up with that fraction, or a correct copy looks wrong.
    lag, third = divmod(lag_48k, 3)
    expected = delayed(played, third / 3)
    assert correlation(for_recognition[lag : lag + len(played)], expected) > 0.99


def test_stop_ends_the_chunks_without_an_error(pulse):
    with Microphone("vmic_stereo", channels=2, sample_rate=16000, block_s=0.05) as microphone:
        chunks = []
        stopper = threading.Timer(1.0, microphone.stop)
        stopper.start()
        for chunk in microphone.chunks():
            chunks.append(chunk)
        stopper.join()
    assert chunks, "nothing was captured"
    assert all(c.samples.shape == (800, 2) and c.samples.dtype == np.float32 for c in chunks)
    assert [c.start_s for c in chunks] == pytest.approx([i * 0.05 for i in range(len(chunks))])


def test_a_stopped_sound_server_is_a_lost_device_and_the_audio_is_kept(private_pulse, tmp_path, data_dir):
    session = Session("vmic_mono", tmp_path / "rec", channels=1, sample_rate=16000).start()
    player = threading.Thread(target=lambda: _play_ignoring_the_end(private_pulse, data_dir / CLIP))
    player.start()
    time.sleep(1.5)
    private_pulse.stop()  # the server dies mid-stream, as when a USB microphone is pulled out
    session._thread.join(10)
    player.join(10)
    assert isinstance(session.error, DeviceLost)
    assert "input device" in str(session.error) and "vmic_mono" in str(session.error)
    assert "stopped delivering audio" in str(session.error)
    segments = session.recorder.segments
    kept = read_segments(segments)
    assert kept.duration_s >= 1.0  # what came before the loss is on disk
    assert session.recorder.written_s == pytest.approx(kept.duration_s)


def test_a_device_that_goes_silent_is_lost_after_the_timeout(pulse):
    microphone = Microphone("vmic_mono", channels=1, sample_rate=16000, no_data_timeout_s=0.5).start()
    received = []
    try:
        with pytest.raises(DeviceLost, match=r"input device \d+ \(vmic_mono\) delivered no audio for 0\.\d s"):
            for chunk in microphone.chunks():
                if not received:
                    pulse.suspend("vmic_mono")  # the stream stays open, but nothing arrives any more
                received.append(chunk)
    finally:
        microphone.stop()
        pulse.suspend("vmic_mono", False)
    assert received


def _play_ignoring_the_end(pulse, wav: Path) -> None:
    try:
        pulse.play(wav, sink="vmic_mono")
    except Exception:  # paplay fails when its server dies under it: that is the point of the test
        pass


def test_chunks_need_a_started_microphone(pulse):
    microphone = Microphone("vmic_mono", channels=1)
    with pytest.raises(CaptureArgumentError, match="not started"):
        next(microphone.chunks())


def test_a_file_replays_block_by_block_as_decoded(data_dir):
    decoded = decode_file(data_dir / CLIP)
    chunks = list(replay_file(data_dir / CLIP, realtime=False, block_s=0.25))
    assert all(c.sample_rate == 16000 for c in chunks)
    assert [len(c.samples) for c in chunks[:-1]] == [4000] * (len(chunks) - 1)
    assert [c.start_s for c in chunks] == pytest.approx([i * 0.25 for i in range(len(chunks))])
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), decoded.samples)


def test_a_file_replays_in_real_time(data_dir):
    started_at = time.monotonic()
    late_by = []
    for chunk in replay_file(data_dir / SHORT_CLIP, realtime=True, block_s=0.2):
        late_by.append(time.monotonic() - started_at - (chunk.start_s + chunk.duration_s))
    assert min(late_by) >= -0.005  # never before its audio has "happened"
    assert late_by[-1] < 0.2  # and no drift over the file


def test_the_resampler_is_seamless_across_chunks():
    t = np.arange(48000) / 48000
    tone = np.stack([np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 300 * t)], axis=1).astype(np.float32)
    resampler = ChunkResampler(target_rate=16000)
    parts = [resampler.resample(AudioChunk(tone[i : i + 4800], 48000, 3.0 + i / 48000)) for i in range(0, 48000, 4800)]
    parts.append(resampler.flush())
    parts = [p for p in parts if p is not None]
    out = np.concatenate([p.samples for p in parts])
    assert out.shape == (16000, 2)
    assert parts[0].start_s == 3.0
    assert [p.start_s for p in parts] == pytest.approx(
        [3.0 + sum(len(q.samples) for q in parts[:i]) / 16000 for i in range(len(parts))]
    )
    t16 = np.arange(16000) / 16000
    expected = np.stack([np.sin(2 * np.pi * 440 * t16), 0.5 * np.sin(2 * np.pi * 300 * t16)], axis=1)
    inner = slice(200, 15800)  # away from the ends, where the filter has no neighbours
    assert np.abs(out[inner] - expected[inner]).max() < 0.01  # in phase: no delay, no clicks at block edges
    with pytest.raises(CaptureArgumentError, match="started on 2-channel audio at 48000 Hz"):
        resampler.resample(AudioChunk(tone[:100, :1], 48000, 0.0))
