"""Room microphones through PortAudio (sounddevice), and the 16 kHz copy that recognition listens to.

The PortAudio callback runs on PortAudio's own thread with a deadline: it only copies the block into a
lock-free queue. Everything else (disk, recognition) happens on the consumer's side of that queue.
PulseAudio buffers a stalled client silently and never reports an overflow, so the consumer must keep
draining; the SegmentRecorder's writer thread does.
"""
import logging
import queue
import threading
import time
from collections.abc import Iterator

import av
import numpy as np

from capture.chunk import AudioChunk
from capture.decode import SAMPLE_RATE
from capture.devices import CaptureArgumentError, CaptureError, InputDevice, find_input_device, load_sounddevice

log = logging.getLogger(__name__)

# An idle PulseAudio source takes up to 2 s to deliver its first frames; a working device then delivers
# a block every `block_s`.
_STARTUP_GRACE_S = 3.0
_POLL_S = 0.1


class DeviceLost(CaptureError):
    """The input device stopped delivering audio (unplugged, sound server gone, PortAudio error)."""

    code = "audio_device_lost"


class Microphone:
    """An input stream at the device's own rate (or `sample_rate`), read as AudioChunks.

    `chunks()` yields float32 [frames, channels] blocks of about `block_s` at `sample_rate`, with
    `start_s` counted in frames from the start of the stream (never wall time, which drifts). It ends
    after `stop()`, once every block captured before it was yielded, and raises DeviceLost when the
    stream stops on its own or no audio arrives for `no_data_timeout_s`.
    """

    def __init__(
        self,
        device: str | int | None = None,
        *,
        channels: int,
        sample_rate: int | None = None,
        block_s: float = 0.1,
        no_data_timeout_s: float = 2.0,
    ) -> None:
        if not 0.005 <= block_s <= 2.0:
            raise CaptureArgumentError(f"block_s must be from 0.005 to 2 seconds, not {block_s!r}")
        if sample_rate is not None and (isinstance(sample_rate, bool) or not isinstance(sample_rate, int)
                                        or not 8000 <= sample_rate <= 192000):
            raise CaptureArgumentError(f"sample_rate must be a whole number of Hz from 8000 to 192000, not {sample_rate!r}")
        if not no_data_timeout_s > 0:
            raise CaptureArgumentError(f"no_data_timeout_s must be positive, not {no_data_timeout_s!r}")
        self.device: InputDevice = find_input_device(device, channels=channels)
        self.channels = channels
        self.sample_rate = sample_rate or self.device.default_samplerate
        self.block_frames = max(1, int(round(block_s * self.sample_rate)))
        self.no_data_timeout_s = no_data_timeout_s
        self.overflows = 0
        self._blocks: queue.SimpleQueue = queue.SimpleQueue()
        self._stream = None
        self._stop_requested = False
        self._closed = threading.Event()
        self._finished = threading.Event()
        self._started_at = 0.0
        self._check_settings()

    @property
    def label(self) -> str:
        return f"input device {self.device.index} ({self.device.name})"

    def start(self) -> "Microphone":
        if self._stream is not None:
            raise CaptureArgumentError(f"{self.label} is already started")
        sd = load_sounddevice()
        try:
            self._stream = sd.InputStream(
                device=self.device.index,
                channels=self.channels,
                samplerate=self.sample_rate,
                blocksize=self.block_frames,
                dtype="float32",
                callback=self._callback,
                finished_callback=self._finished.set,
            )
            self._stream.start()
        except sd.PortAudioError as exc:
            raise CaptureError(f"{self.label} cannot be opened: {exc}",
                               zh=f"录音设备无法打开（{self.label}）：请检查设备是否被占用或已断开") from exc
        self._started_at = time.monotonic()
        log.info("recording from %s: %d channels at %d Hz", self.label, self.channels, self.sample_rate)
        return self

    def stop(self) -> None:
        """Stop the stream; `chunks()` then yields what was captured and ends. Safe to call twice."""
        self._stop_requested = True
        self._close_stream()

    def __enter__(self) -> "Microphone":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def chunks(self) -> Iterator[AudioChunk]:
        if self._stream is None:
            raise CaptureArgumentError(f"{self.label} is not started: call start() or use it in a with block")
        frames = 0
        last_block_at = None
        while True:
            try:
                block, overflow = self._blocks.get(timeout=_POLL_S)
            except queue.Empty:
                if self._closed.is_set():
                    return
                if (reason := self._why_lost(last_block_at)) is not None:
                    self._close_stream()
                    while (late := self._get_nowait()) is not None:  # keep what arrived before the loss
                        yield AudioChunk(samples=late[0], sample_rate=self.sample_rate, start_s=frames / self.sample_rate)
                        frames += len(late[0])
                    log.error("%s", reason)
                    raise DeviceLost(reason) from None
                continue
            last_block_at = time.monotonic()
            if overflow:
                self.overflows += 1
                log.warning("%s: input overflow, audio was lost (the consumer fell behind)", self.label)
            yield AudioChunk(samples=block, sample_rate=self.sample_rate, start_s=frames / self.sample_rate)
            frames += len(block)

    # -- internals ---------------------------------------------------------------------------------

    def _callback(self, indata, frames, time_info, status) -> None:
        # PortAudio's thread: copy and queue, nothing else (no logging, no locks that can wait, no I/O).
        self._blocks.put((indata.copy(), status.input_overflow))

    def _why_lost(self, last_block_at: float | None) -> str | None:
        if self._stop_requested:
            return None
        stream = self._stream
        if self._finished.is_set() or (stream is not None and not stream.active):
            return (f"{self.label} stopped delivering audio: the stream ended by itself "
                    "(device disconnected, sound server stopped, or a PortAudio error)")
        now = time.monotonic()
        if last_block_at is None:
            waited_s = now - self._started_at
            if waited_s > self.no_data_timeout_s + _STARTUP_GRACE_S:
                return f"{self.label} delivered no audio in the {waited_s:.1f} s after it was opened"
        elif now - last_block_at > self.no_data_timeout_s:
            return f"{self.label} delivered no audio for {now - last_block_at:.1f} s"
        return None

    def _get_nowait(self) -> tuple[np.ndarray, bool] | None:
        try:
            return self._blocks.get_nowait()
        except queue.Empty:
            return None

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            self._closed.set()
            return
        sd = load_sounddevice()
        try:
            if self._stop_requested and stream.active:
                stream.stop()  # lets the blocks already captured reach the callback
            else:
                stream.abort()
        except sd.PortAudioError as exc:
            log.warning("%s did not stop cleanly: %s", self.label, exc)
        finally:
            try:
                stream.close()
            except sd.PortAudioError as exc:
                log.warning("%s did not close cleanly: %s", self.label, exc)
            self._closed.set()

    def _check_settings(self) -> None:
        sd = load_sounddevice()
        try:
            sd.check_input_settings(device=self.device.index, channels=self.channels,
                                    samplerate=self.sample_rate, dtype="float32")
        except sd.PortAudioError as exc:
            raise CaptureArgumentError(
                f"{self.label} cannot record {self.channels} channels at {self.sample_rate} Hz: {exc}"
            ) from exc


class ChunkResampler:
    """Resamples a stream of chunks (FFmpeg's resampler, the one decode_file uses) without seams.

    The resampler keeps its filter state between chunks, so block edges leave no clicks, and its output
    is aligned with its input (no filter delay). `start_s` of the output counts output frames from the
    first input chunk's start. Call `flush()` at the end for the last few frames.
    """

    def __init__(self, *, target_rate: int = SAMPLE_RATE) -> None:
        if isinstance(target_rate, bool) or not isinstance(target_rate, int) or not 1000 <= target_rate <= 384000:
            raise CaptureArgumentError(f"target_rate must be a whole number of Hz from 1000 to 384000, not {target_rate!r}")
        self.target_rate = target_rate
        self._source_rate: int | None = None
        self._channels: int | None = None
        self._start_s = 0.0
        self._frames_out = 0
        self._resampler: av.AudioResampler | None = None

    def resample(self, chunk: AudioChunk) -> AudioChunk | None:
        """The resampled audio of this chunk (None when the filter needs more input first)."""
        if self._source_rate is None:
            self._source_rate, self._channels, self._start_s = chunk.sample_rate, chunk.channels, chunk.start_s
            if chunk.sample_rate != self.target_rate:
                self._resampler = av.AudioResampler(format="fltp", layout=_layout(chunk.channels), rate=self.target_rate)
        elif (chunk.sample_rate, chunk.channels) != (self._source_rate, self._channels):
            raise CaptureArgumentError(
                f"the resampler was started on {self._channels}-channel audio at {self._source_rate} Hz; "
                f"got {chunk.channels} channels at {chunk.sample_rate} Hz"
            )
        if self._resampler is None:
            return chunk
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(chunk.samples.T, dtype=np.float32), format="fltp", layout=_layout(chunk.channels)
        )
        frame.sample_rate = chunk.sample_rate
        return self._emit(self._resampler.resample(frame))

    def flush(self) -> AudioChunk | None:
        if self._resampler is None:
            return None
        return self._emit(self._resampler.resample(None))

    def _emit(self, frames: list) -> AudioChunk | None:
        arrays = [f.to_ndarray() for f in frames]
        if not arrays or sum(a.shape[1] for a in arrays) == 0:
            return None
        samples = np.ascontiguousarray(np.concatenate(arrays, axis=1).T, dtype=np.float32)
        chunk = AudioChunk(samples=samples, sample_rate=self.target_rate,
                           start_s=self._start_s + self._frames_out / self.target_rate)
        self._frames_out += len(samples)
        return chunk


def _layout(channels: int) -> str:
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
