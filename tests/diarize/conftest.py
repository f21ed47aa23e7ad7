import json
import os
from pathlib import Path

import numpy as np
import pytest

from capture import decode_file
from diarize import ChannelDiarizer, VoiceDiarizer

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

DATA = Path(__file__).resolve().parents[1] / "data"
RATE = 16000


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def room_mono() -> np.ndarray:
    return decode_file(DATA / "dev_room_2spk.wav").samples


@pytest.fixture(scope="session")
def room_seats() -> np.ndarray:
    return decode_file(DATA / "dev_room_2spk.seats.flac").samples


@pytest.fixture(scope="session")
def room_truth() -> list[dict]:
    return json.loads((DATA / "dev_room_2spk.json").read_text(encoding="utf-8"))["turns"]


@pytest.fixture(scope="session")
def voice_diarizer() -> VoiceDiarizer:
    return VoiceDiarizer()


@pytest.fixture(scope="session")
def channel_turns(room_seats):
    return ChannelDiarizer().diarize(room_seats, RATE)


@pytest.fixture(scope="session")
def voice_turns(voice_diarizer, room_mono):
    return voice_diarizer.diarize(room_mono, RATE)


@pytest.fixture(scope="session")
def der_percent():
    return _der_percent


def _der_percent(turns, rttm_path: Path) -> float:
    """DER with 0.25 s forgiven on each side of every reference boundary (pyannote's collar is the
    full width, 0.5 s)."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = Annotation(), Annotation()
    for i, line in enumerate(rttm_path.read_text(encoding="utf-8").splitlines()):
        fields = line.split()
        start_s, duration_s = float(fields[3]), float(fields[4])
        reference[Segment(start_s, start_s + duration_s), i] = fields[7]
    for i, turn in enumerate(turns):
        hypothesis[Segment(turn.start_s, turn.end_s), i] = turn.speaker
    uem = Timeline([reference.get_timeline().extent() | hypothesis.get_timeline().extent()])
    return 100.0 * float(DiarizationErrorRate(collar=0.5)(reference, hypothesis, uem=uem))
