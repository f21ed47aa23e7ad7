"""Diarization error rate of our SpeakerTurns against an RTTM reference, scored by pyannote.metrics.

Importable by any bench script (bench/diarization.py, bench/accuracy.py). A "0.25 s collar" here means
0.25 s forgiven on EACH side of every reference boundary; pyannote's `collar` is the full width of the
forgiven zone (it removes collar/2 on each side), so we pass 2 * collar_s.
"""
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# pyannote sends usage telemetry unless told not to; nothing may leave the machine.
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")


@dataclass(frozen=True, slots=True)
class RttmTurn:
    file_id: str
    start_s: float
    end_s: float
    speaker: str


def read_rttm(path: str | Path) -> list[RttmTurn]:
    """The SPEAKER lines of a NIST RTTM file (`SPEAKER file 1 start dur <NA> <NA> name <NA> <NA>`)."""
    turns = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ValueError(f"{path}:{number}: an RTTM SPEAKER line needs at least 8 fields, got {len(fields)}")
        start_s, duration_s = float(fields[3]), float(fields[4])
        turns.append(RttmTurn(fields[1], start_s, start_s + duration_s, fields[7]))
    return turns


def der_percent(turns: Iterable, rttm_path: str | Path, *, collar_s: float = 0.25) -> float:
    """DER in percent of `turns` (anything with start_s, end_s, speaker) against the RTTM reference.

    Speakers are matched optimally (our S1 need not be the reference's A); overlap regions are scored.
    """
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = Annotation(), Annotation()
    for i, turn in enumerate(read_rttm(rttm_path)):
        reference[Segment(turn.start_s, turn.end_s), i] = turn.speaker
    for i, turn in enumerate(turns):
        hypothesis[Segment(turn.start_s, turn.end_s), i] = turn.speaker
    # Score over everything either side marks (what pyannote would guess, said explicitly).
    uem = Timeline([reference.get_timeline().extent() | hypothesis.get_timeline().extent()]
                   if len(hypothesis) else [reference.get_timeline().extent()])
    metric = DiarizationErrorRate(collar=2 * collar_s, skip_overlap=False)
    return 100.0 * float(metric(reference, hypothesis, uem=uem))
