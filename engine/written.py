"""The written record of a stored session against its transcript: import a version, check the latest (or one).

One place for the sequence every caller (command line, API, page) needs: read the file (consistency/), take the
session's utterances that go into the record, find the recording's clock, check, store the version with the kinds
found. The check is always made against the transcript as it is now (corrections included); the kinds stored with
a version are those found at its import, for the supervisors' filter.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from cases import Store
from cases.reads import in_record
from consistency import CheckReport, Spoken, WrittenRecord, check_record, parse_file_bytes

__all__ = ["WrittenCheck", "import_written_record", "check_written_record", "report_dict", "parse_recorded_at"]


@dataclass(frozen=True)
class WrittenCheck:
    stored: dict  # the version's row (without the file)
    record: WrittenRecord
    report: CheckReport
    utterances: list[dict]
    recording_started_at: datetime | None
    recording_ended_at: datetime | None


def parse_recorded_at(value: str | None) -> datetime | None:
    """The recording's start as local wall-clock time (`2024-11-08T09:34` or `2024-11-08 09:34`)."""
    if value is None or not str(value).strip():
        return None
    from consistency import WrittenRecordError

    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise WrittenRecordError(f"recorded_at {value!r} is not a date and time like 2024-11-08T09:34",
                                 zh="录音开始时间格式应为 2024-11-08T09:34") from exc
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


def _spoken(utterances: list[dict]) -> list[Spoken]:
    return [Spoken(u["id"], u["start_s"], u["end_s"], u.get("role"), u["text"]) for u in utterances]


def _clock(session: dict, recorded_at: str | None) -> tuple[datetime | None, datetime | None]:
    """When the recording started and ended, by the wall clock: given at import, or a live session's start
    (its creation is when the room began recording). A file's own start is not known without it."""
    start = parse_recorded_at(recorded_at)
    if start is None and session["kind"] == "live" and session["created_at"]:
        start = datetime.fromisoformat(session["created_at"]).astimezone().replace(tzinfo=None)
    if start is None:
        return None, None
    return start, start + timedelta(seconds=session["duration_s"] or 0)


def _check(store: Store, session: dict, content: bytes, filename: str, recorded_at: str | None, progress=None):
    record = parse_file_bytes(content, filename)
    utterances = [u for u in store.utterances(session["id"]) if in_record(u)]
    started, ended = _clock(session, recorded_at)
    report = check_record(record, _spoken(utterances), recording_started_at=started, recording_ended_at=ended,
                          progress=progress)
    return record, report, utterances, started, ended


def import_written_record(store: Store, session_id: int, *, filename: str, content: bytes,
                          recorded_at: str | None = None, actor) -> WrittenCheck:
    """Read, check and keep a new version of the session's written record. Bad input raises before anything
    is stored (WrittenRecordError for the file, StoreError for the session)."""
    session = store.get_session(session_id)
    recorded = parse_recorded_at(recorded_at)
    recorded_text = None if recorded is None else recorded.isoformat(timespec="minutes")
    record, report, utterances, started, ended = _check(store, session, content, filename, recorded_text)
    stored = store.add_written_record(
        session_id, filename=filename, content=content, record=record_dict(record),
        recording_started_at=recorded_text, discrepancy_kinds=sorted({d.kind for d in report.discrepancies}),
        discrepancy_count=len(report.discrepancies), actor=actor)
    return WrittenCheck(stored, record, report, utterances, started, ended)


def check_written_record(store: Store, session_id: int, *, version: int | None = None,
                         progress=None) -> WrittenCheck:
    """Check the latest (or the given) version against the transcript as it is now; stores nothing.
    `progress(done, total)`: blocks aligned so far (consistency.check_record)."""
    session = store.get_session(session_id)
    version_row = store.written_record(session_id, version)
    content = version_row.pop("content")
    version_row.pop("record")
    record, report, utterances, started, ended = _check(store, session, content, version_row["filename"],
                                                        version_row["recording_started_at"], progress)
    return WrittenCheck(version_row, record, report, utterances, started, ended)


def record_dict(record: WrittenRecord) -> dict:
    return {"title": record.title, "header": record.header,
            "started_at": None if record.started_at is None else record.started_at.isoformat(timespec="minutes"),
            "ended_at": None if record.ended_at is None else record.ended_at.isoformat(timespec="minutes"),
            "blocks": [{"index": b.index, "speaker": b.speaker, "label": b.label, "text": b.text}
                       for b in record.blocks],
            "asides": list(record.asides), "notes": list(record.notes)}


def discrepancy_dict(d) -> dict:
    return {"kind": d.kind, "what": d.what, "severity": d.severity, "written": d.written, "spoken": d.spoken,
            "start_s": d.start_s, "end_s": d.end_s, "blocks": list(d.blocks), "utterance_ids": list(d.utterance_ids)}


def report_dict(check: WrittenCheck) -> dict:
    """The check report as the API and `bilu written check --json --full` give it."""
    alignments = {a.block: a for a in check.report.alignments}
    return {
        "session_id": check.stored["session_id"], "version": check.stored["version"],
        "filename": check.stored["filename"], "sha256": check.stored["sha256"],
        "imported_at": check.stored["imported_at"], "imported_by": check.stored["imported_by"],
        "consistent": check.report.consistent, **check.report.counts(), "notes": list(check.report.notes),
        "recording_started_at": None if check.recording_started_at is None
        else check.recording_started_at.isoformat(timespec="minutes"),
        "recording_ended_at": None if check.recording_ended_at is None
        else check.recording_ended_at.isoformat(timespec="minutes"),
        "record": {k: v for k, v in record_dict(check.record).items() if k != "blocks"},
        "blocks": [{"index": b.index, "speaker": b.speaker, "label": b.label, "text": b.text,
                    "utterance_ids": list(alignments[b.index].utterance_ids),
                    "start_s": alignments[b.index].start_s, "end_s": alignments[b.index].end_s,
                    "similarity": alignments[b.index].similarity, "moved": alignments[b.index].moved}
                   for b in check.record.blocks],
        "discrepancies": [discrepancy_dict(d) for d in check.report.discrepancies],
    }
