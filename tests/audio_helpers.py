"""Writing test audio in any container/codec/rate with PyAV, from real recordings."""
from pathlib import Path

import av
import numpy as np

_CODECS = {".wav": "pcm_s16le", ".flac": "flac", ".mp3": "libmp3lame", ".m4a": "aac", ".ogg": "libopus"}


def write_audio(path: Path, samples: np.ndarray, rate: int) -> Path:
    """`samples` float32 [frames, channels]. The codec follows the file suffix."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim == 1:
        samples = samples[:, None]
    channels = samples.shape[1]
    layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
    codec = _CODECS[path.suffix]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        fmt = stream.codec_context.codec.audio_formats[0].name if stream.codec_context.codec.audio_formats else "s16"
        frame_size = stream.codec_context.frame_size or 1024
        for start in range(0, len(samples), frame_size):
            block = samples[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(_to_format(block, fmt), format=fmt, layout=layout)
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _to_format(block: np.ndarray, fmt: str) -> np.ndarray:
    planar = fmt.endswith("p")
    base = fmt.rstrip("p")
    if base == "s16":
        data = (np.clip(block, -1, 1) * 32767).astype(np.int16)
    elif base == "s32":
        data = (np.clip(block, -1, 1) * 2147483647).astype(np.int32)
    else:
        data = block.astype(np.float32)
    return np.ascontiguousarray(data.T if planar else data.reshape(1, -1))


def resample_linear(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Good enough to make a test file at another rate; the product's own resampling is FFmpeg's."""
    n = int(round(len(samples) * target_rate / source_rate))
    x = np.linspace(0, len(samples) - 1, n)
    return np.interp(x, np.arange(len(samples)), samples).astype(np.float32)


def clips_with_gaps(data_dir: Path, manifest: dict, names: list[str], *,
                    gap_s: float) -> tuple[np.ndarray, list[tuple[float, float]], str]:
    """The labelled clips `names` of tests/data one after another, mono 16 kHz, with `gap_s` of silence before,
    between and after them: (samples, each clip's (start_s, end_s), their labels in order)."""
    from capture import decode_file

    rate = 16000
    gap = np.zeros(int(gap_s * rate), dtype=np.float32)
    parts, spans, at = [gap], [], len(gap)
    for name in names:
        clip = decode_file(data_dir / name).mono()
        spans.append((at / rate, (at + len(clip)) / rate))
        parts += [clip, gap]
        at += len(clip) + len(gap)
    return np.concatenate(parts), spans, "".join(manifest[name]["transcript"] for name in names)
