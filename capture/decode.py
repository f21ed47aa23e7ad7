"""Decode a recorded file (wav, flac, mp3, m4a, ogg, ...) into 16 kHz float32 samples with PyAV.

Channels are kept apart: a room with one microphone per seat gives one channel per seat, and the
channel diarizer needs them. Recognition uses the mono mixdown.
"""
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from error_kinds import BadInput

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
MAX_CHANNELS = 32
# A file that decodes to less than this share of the duration its header declares is truncated.
_TRUNCATED_SHARE = 0.9
_TRUNCATED_SLACK_S = 1.0
# Damaged frames skipped (each some 20-60 ms): beyond this share of the file it is refused as damaged.
_MAX_DAMAGED_SHARE = 0.01
_MAX_DAMAGED_ALWAYS = 3  # a short file may lose a few frames too
# The longest questioning the law allows (CPL 119: a summons lasts at most 24 h). Decoding stops past it: a
# small file that decodes to days of audio (compressed silence) must not fill the memory.
MAX_DURATION_S = 24 * 3600


class AudioDecodeError(BadInput):
    """The file is not audio we can read. The message says what was wrong with it."""

    code = "audio_unreadable"


@dataclass(frozen=True, slots=True, eq=False)
class DecodedAudio:
    samples: np.ndarray  # float32 [frames, channels] at SAMPLE_RATE
    sample_rate: int
    source_rate: int
    source_channels: int
    codec: str

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    def mono(self) -> np.ndarray:
        """The mixdown that recognition and voice diarization listen to."""
        return mixdown(self.samples)


def mixdown(samples: np.ndarray) -> np.ndarray:
    """One channel from [frames, channels] float32: the first if there is one, else their mean."""
    if samples.shape[1] == 1:
        return samples[:, 0]
    return samples.mean(axis=1, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class AudioFormat:
    """What a file's header says, known before any audio is decoded."""
    source_rate: int
    source_channels: int
    codec: str
    declared_s: float | None  # the duration the header declares, None when it declares none


def decode_file(path: str | Path, *, name: str | None = None) -> DecodedAudio:
    """Decode the whole file, resampled to 16 kHz, channels kept. Raises AudioDecodeError.

    `name` is how error messages call the file (the user's own name for a copy we decode).
    """
    audio_format, blocks = decoded_blocks(path, name=name)
    parts = list(blocks)
    samples = (np.ascontiguousarray(np.concatenate(parts, axis=0)) if parts
               else np.zeros((0, audio_format.source_channels), dtype=np.float32))
    decoded = DecodedAudio(
        samples=samples,
        sample_rate=SAMPLE_RATE,
        source_rate=audio_format.source_rate,
        source_channels=audio_format.source_channels,
        codec=audio_format.codec,
    )
    log.debug("decoded %s: %.1f s, %d channels, %d Hz source", Path(path).name, decoded.duration_s,
              decoded.channels, audio_format.source_rate)
    return decoded


def decoded_blocks(path: str | Path, *, name: str | None = None) -> tuple[AudioFormat, Iterator[np.ndarray]]:
    """The file's format and its audio as float32 [frames, channels] blocks at 16 kHz, decoded as they are
    asked for, so a long recording never has to be in memory whole (capture.windows builds on this).

    What the header shows to be wrong raises AudioDecodeError here; what only decoding shows (damaged or
    invalid samples, a truncated file, more than MAX_DURATION_S) raises it from the iterator, at the latest
    when it ends. Every check is decode_file's: both go through here.
    """
    path = Path(path)
    label = name or str(path)
    if not path.is_file():
        raise AudioDecodeError(f"{label}: no such file", zh=f"{label}：文件不存在")
    if path.stat().st_size == 0:
        raise AudioDecodeError(f"{label}: the file is empty (0 bytes)", zh=f"{label}：文件是空的（0 字节）")
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise AudioDecodeError(f"{label}: not a recording in a known audio format ({_reason(exc)})",
                               zh=f"{label}：不是可识别格式的录音文件") from exc
    try:
        if not container.streams.audio:
            raise AudioDecodeError(f"{label}: the file holds no audio stream", zh=f"{label}：文件中没有音频")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels or 0
        source_rate = stream.codec_context.sample_rate or 0
        if not 1 <= channels <= MAX_CHANNELS:
            raise AudioDecodeError(f"{label}: {channels} audio channels; 1 to {MAX_CHANNELS} are supported",
                                   zh=f"{label}：有 {channels} 个声道，只支持 1 至 {MAX_CHANNELS} 个")
        if source_rate <= 0:
            raise AudioDecodeError(f"{label}: the audio stream declares no sample rate", zh=f"{label}：音频没有采样率")
        declared_s = _declared_duration_s(path, container, stream)
        if declared_s is not None and declared_s > MAX_DURATION_S:
            raise AudioDecodeError(f"{label}: the file declares {declared_s / 3600:.1f} h of audio; at most "
                                   f"{MAX_DURATION_S // 3600} h per recording is accepted",
                                   zh=f"{label}：录音长 {declared_s / 3600:.1f} 小时，每段录音最长 "
                                      f"{MAX_DURATION_S // 3600} 小时")
        audio_format = AudioFormat(source_rate=source_rate, source_channels=channels,
                                   codec=stream.codec_context.name, declared_s=declared_s)
    except BaseException:
        container.close()
        raise
    return audio_format, _decode_stream(label, container, stream, audio_format)


def _decode_stream(label: str, container, stream, audio_format: AudioFormat) -> Iterator[np.ndarray]:
    # Packed (interleaved) float, reshaped to [frames, channels]; the resampler keeps the channel count. Not
    # planar: PyAV finds a planar frame's planes by walking FFmpeg's pointer array to a NULL, which with
    # exactly 8 channels runs past its end and crashed the process (segfault) on an 8-seat recording.
    channels = audio_format.source_channels
    resampler = av.AudioResampler(format="flt", layout=stream.codec_context.layout, rate=SAMPLE_RATE)
    packets = damaged = frames_out = 0
    with container:
        try:
            for packet in container.demux(stream):
                packets += 1
                try:
                    frames = packet.decode()
                except av.error.InvalidDataError:
                    # One damaged frame (a bad sector, a dropped byte in a copy) is skipped, as every player
                    # does: some 20 ms of audio, against refusing the hours around it. Many are refused below.
                    damaged += 1
                    continue
                for frame in frames:
                    frame.pts = None  # the resampler tolerates gaps in timestamps only without them
                    for out in resampler.resample(frame):
                        frames_out += out.samples
                        yield _checked(label, _interleaved(out, channels))
                    if frames_out > MAX_DURATION_S * SAMPLE_RATE:
                        raise AudioDecodeError(f"{label}: more than {MAX_DURATION_S // 3600} h of audio; at most "
                                               f"{MAX_DURATION_S // 3600} h per recording is accepted",
                                               zh=f"{label}：录音超过 {MAX_DURATION_S // 3600} 小时，"
                                                  f"每段录音最长 {MAX_DURATION_S // 3600} 小时")
            for out in resampler.resample(None):
                frames_out += out.samples
                yield _checked(label, _interleaved(out, channels))
        except av.error.FFmpegError as exc:
            raise AudioDecodeError(f"{label}: the audio cannot be decoded ({_reason(exc)})",
                                   zh=f"{label}：音频无法解码，文件可能已损坏") from exc
    if damaged and (damaged > max(_MAX_DAMAGED_ALWAYS, _MAX_DAMAGED_SHARE * packets) or not frames_out):
        raise AudioDecodeError(f"{label}: the audio is damaged: {damaged} of {packets} frames cannot be decoded "
                               f"(at most {_MAX_DAMAGED_ALWAYS} or {_MAX_DAMAGED_SHARE:.0%} may be skipped)",
                               zh=f"{label}：音频已损坏，{packets} 帧中有 {damaged} 帧无法解码")
    if damaged:
        log.warning("%d of %d damaged audio frames skipped", damaged, packets)  # no file name: it may name a person
    decoded_s = frames_out / SAMPLE_RATE
    declared_s = audio_format.declared_s
    if declared_s is not None and decoded_s < declared_s * _TRUNCATED_SHARE - _TRUNCATED_SLACK_S:
        raise AudioDecodeError(
            f"{label}: truncated: the header declares {declared_s:.1f} s of audio but the file holds "
            f"{decoded_s:.1f} s",
            zh=f"{label}：文件不完整，文件头标明 {declared_s:.1f} 秒，实际只有 {decoded_s:.1f} 秒",
        )


def _checked(label: str, block: np.ndarray) -> np.ndarray:
    if not np.isfinite(block).all():
        raise AudioDecodeError(f"{label}: the audio holds invalid samples (NaN or infinity)",
                              zh=f"{label}：音频中有无效的采样值")
    return np.clip(block, -1.0, 1.0)


def _interleaved(frame, channels: int) -> np.ndarray:
    """A packed float frame as float32 [frames, channels] (a copy: the frame's buffer is FFmpeg's)."""
    return np.frombuffer(bytes(frame.planes[0]), dtype=np.float32, count=frame.samples * channels).reshape(
        frame.samples, channels)


def _declared_duration_s(path: Path, container, stream) -> float | None:
    if stream.codec_context.name.startswith("pcm_") and (wav_s := _wav_declared_duration_s(path)) is not None:
        return wav_s  # FFmpeg estimates a WAV's duration from the file size, so it never looks truncated
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _wav_declared_duration_s(path: Path) -> float | None:
    """The duration a RIFF/WAVE header declares, or None when it declares none (streaming writers)."""
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        byte_rate = None
        while chunk := f.read(8):
            if len(chunk) < 8:
                return None
            kind, size = chunk[:4], int.from_bytes(chunk[4:], "little")
            if kind == b"fmt ":
                fmt = f.read(size + size % 2)
                byte_rate = int.from_bytes(fmt[8:12], "little") if len(fmt) >= 12 else None
            elif kind == b"data":
                if not byte_rate or size in (0, 0xFFFFFFFF):
                    return None
                return size / byte_rate
            else:
                f.seek(size + size % 2, 1)
    return None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)
