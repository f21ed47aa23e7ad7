"""Long recordings made of the labelled clips, with their references: for speed on one long file (bench/batch.py)
and for accuracy beyond one 30 s window (bench/accuracy.py).

The clips with trusted labels (bench/accuracy.labelled_clips: shared/audio, shared/audio/labelled, tests/data) are
played one after another with 0.7 s of silence between them, as the issue's 325 s recording was; the reference of
a concatenation is the clips' labels in the same order. A recording longer than all the clips goes through them
again in reverse order (other neighbours, so Whisper does not see the same 30 s twice). Written as 16 kHz mono
16-bit WAV.
"""
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)

RATE = 16000
GAP_S = 0.7


@dataclass(frozen=True)
class Concatenation:
    path: Path
    duration_s: float
    clips: list[str]  # set/file, in the order played
    reference: str  # the clips' labels, in order


def _clip_audio(clip: dict) -> np.ndarray:
    from capture import decode_file

    return decode_file(clip["path"]).mono()


def concatenate(clips: list[dict], path: Path) -> Concatenation:
    """`clips` (rows of accuracy.labelled_clips) one after another with GAP_S of silence, written to `path`."""
    gap = np.zeros(int(GAP_S * RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    for clip in clips:
        parts += [_clip_audio(clip), gap]
    samples = np.concatenate(parts[:-1]) if parts else np.zeros(0, dtype=np.float32)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return Concatenation(path=path, duration_s=len(samples) / RATE,
                         clips=[f"{c['set']}/{c['file']}" for c in clips],
                         reference="".join(c["transcript"] for c in clips))


def clips_for(clips: list[dict], *, min_s: float) -> list[dict]:
    """The clips in order, then in reverse order, and so on, until they last at least `min_s` with their gaps."""
    import soundfile

    chosen, total_s, forward = [], 0.0, True
    while total_s < min_s:
        for clip in clips if forward else reversed(clips):
            chosen.append(clip)
            total_s += soundfile.info(str(clip["path"])).duration + GAP_S
            if total_s >= min_s:
                break
        forward = not forward
    return chosen


def long_recording(folder: Path, *, min_s: float = 300.0) -> Concatenation:
    """About five minutes of the labelled clips (the length the issue measured on)."""
    from accuracy import labelled_clips

    clips, _ = labelled_clips()
    return concatenate(clips_for(clips, min_s=min_s), folder / f"labelled_{int(min_s)}s.wav")


def concatenations(folder: Path, *, group_s: float = 60.0) -> list[Concatenation]:
    """Every labelled clip once, in consecutive groups of about `group_s` (each longer than one 30 s window),
    and all of them in one recording."""
    import soundfile

    from accuracy import labelled_clips

    clips, _ = labelled_clips()
    groups, current, current_s = [], [], 0.0
    for clip in clips:
        current.append(clip)
        current_s += soundfile.info(str(clip["path"])).duration + GAP_S
        if current_s >= group_s:
            groups.append(current)
            current, current_s = [], 0.0
    if current:
        if groups and current_s < group_s / 2:
            groups[-1] += current  # a short rest joins the group before it
        else:
            groups.append(current)
    made = [concatenate(group, folder / f"labelled_group{i + 1}.wav") for i, group in enumerate(groups)]
    return made + [concatenate(clips, folder / "labelled_all.wav")]
