"""What a room played and what its archive holds: a real recording looped to the run's length between two
1 kHz tones, and the check that the archive holds the whole span between the tones, in segments without gaps.

A dropped block anywhere shortens the span between the tones in the archive by its length; the tones survive
PulseAudio's resampling to the device's rate and back to 16 kHz.
"""
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np

from capture import decode_file, read_segments, recover_segments
from capture.recorder import file_sha256
from tests.audio_helpers import write_audio

RATE = 16000
TONE_HZ, TONE_S, TONE_AMPLITUDE = 1000.0, 0.5, 0.5
# The archive must hold the played span to within this (the bound for "no audio gap").
MAX_DIFFERENCE_S = 0.1


def tone() -> np.ndarray:
    t = np.arange(int(TONE_S * RATE)) / RATE
    return (TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)


def played_file(recording: Path, total_s: float, target: Path) -> Path:
    """`recording` looped to `total_s`, with a tone at the very start and at the very end (16 kHz mono)."""
    speech = decode_file(recording).mono()
    frames = int(round(total_s * RATE))
    marker = tone()
    body = np.resize(speech, frames - 2 * len(marker))  # np.resize repeats the recording
    return write_audio(target, np.concatenate([marker, body, marker]), RATE)


def tone_span_s(samples: np.ndarray) -> tuple[float, float] | None:
    """(start of the first tone, end of the last tone) in seconds in 16 kHz mono `samples`, or None."""
    frame = 160  # 10 ms: the tone falls in bin 10 of a 160-point spectrum
    n = len(samples) // frame
    if n == 0:
        return None
    spectrum = np.abs(np.fft.rfft(samples[: n * frame].reshape(n, frame), axis=1)) ** 2
    ratio = spectrum[:, int(TONE_HZ * frame / RATE)] / np.maximum(spectrum.sum(axis=1), 1e-12)
    rms = np.sqrt((samples[: n * frame].reshape(n, frame) ** 2).mean(axis=1))
    toned = (ratio > 0.8) & (rms > TONE_AMPLITUDE / 3)
    runs, start = [], None  # runs of at least 0.3 s of tone
    for i, flag in enumerate(np.append(toned, False)):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            if i - start >= 30:
                runs.append((start, i))
            start = None
    if not runs:
        return None
    loud = np.abs(samples) > TONE_AMPLITUDE / 2
    first_lo = max(0, (runs[0][0] - 1) * frame)
    first = first_lo + int(np.argmax(loud[first_lo: (runs[0][0] + 2) * frame]))
    last_hi = min(len(samples), (runs[-1][1] + 1) * frame)
    last_lo = (runs[-1][1] - 2) * frame
    last = last_hi - 1 - int(np.argmax(loud[last_lo:last_hi][::-1]))
    return first / RATE, (last + 1) / RATE


def archive_check(home: Path, session: dict, segments: list[dict], played_s: float) -> dict:
    """The archive against what was played: segments without gaps, and the span between the tones."""
    seqs = [s["seq"] for s in segments]
    gaps = [round(b["start_s"] - (a["start_s"] + a["duration_s"]), 4) for a, b in zip(segments, segments[1:])
            if abs(b["start_s"] - (a["start_s"] + a["duration_s"])) > 0.002]
    bad_hashes = [s["seq"] for s in segments if file_sha256(home / s["path"]) != s["sha256"]]
    audio = read_segments(recover_segments(home / session["audio_path"]), sample_rate=RATE).samples.mean(axis=1)
    span = tone_span_s(audio)
    result = {
        "archive_s": round(session["duration_s"], 3),
        "segments": len(segments),
        "segments_numbered_without_gap": seqs == list(range(len(segments))),
        "segment_time_gaps": gaps,
        "segments_with_wrong_sha256": bad_hashes,
        "played_s": round(played_s, 3),
    }
    if span is None:
        result.update(tones_found=False, no_gap=False)
    else:
        result.update(tones_found=True, played_from_s=round(span[0], 3), played_in_archive_s=round(span[1] - span[0], 3),
                      difference_s=round(span[1] - span[0] - played_s, 3))
        result["no_gap"] = (abs(span[1] - span[0] - played_s) <= MAX_DIFFERENCE_S and not gaps and not bad_hashes
                            and result["segments_numbered_without_gap"])
    return result
