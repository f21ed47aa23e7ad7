"""The whole comparison of a written record with a recording's utterances: align, then find discrepancies."""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from consistency.align import AlignOptions, Alignment, Spoken, align
from consistency.discrepancies import KINDS, SEVERITIES, DetectOptions, Discrepancy, find_discrepancies
from consistency.record import WrittenRecord

__all__ = ["CheckOptions", "CheckReport", "check_record"]


@dataclass(frozen=True, slots=True)
class CheckOptions:
    align: AlignOptions = field(default_factory=AlignOptions)
    detect: DetectOptions = field(default_factory=DetectOptions)


@dataclass(frozen=True, slots=True)
class CheckReport:
    alignments: tuple[Alignment, ...]
    discrepancies: tuple[Discrepancy, ...]
    notes: tuple[str, ...]  # what could not be checked (no header time, no recording clock)

    @property
    def consistent(self) -> bool:
        return not self.discrepancies

    def counts(self) -> dict[str, dict[str, int]]:
        """Discrepancies by kind and by severity."""
        return {
            "by_kind": {kind: sum(d.kind == kind for d in self.discrepancies) for kind in KINDS},
            "by_severity": {s: sum(d.severity == s for d in self.discrepancies) for s in SEVERITIES},
        }


def check_record(record: WrittenRecord, utterances: list[Spoken], *, recording_started_at: datetime | None = None,
                 recording_ended_at: datetime | None = None, options: CheckOptions = CheckOptions(),
                 progress: Callable[[int, int], None] | None = None) -> CheckReport:
    """Align `record`'s blocks to `utterances` (in time order) and report where they differ. `progress(done, total)`
    hears of each block aligned."""
    utterances = sorted(utterances, key=lambda u: (u.start_s, u.id))
    alignments = align([b.text for b in record.blocks], utterances, options.align,
                       speakers=[b.speaker for b in record.blocks], progress=progress)
    discrepancies = find_discrepancies(
        list(record.blocks), alignments, utterances, header_started_at=record.started_at,
        header_ended_at=record.ended_at, header_text=record.header.get("时间", ""),
        recording_started_at=recording_started_at, recording_ended_at=recording_ended_at, options=options.detect,
        align_options=options.align)
    notes = list(record.notes)
    if recording_started_at is None:
        notes.append("recording_clock_unknown")
    return CheckReport(tuple(alignments), tuple(discrepancies), tuple(notes))
