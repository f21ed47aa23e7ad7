"""`bilu written`: the written record (讯问笔录) of a session against its recording.

    bilu written import SESSION FILE [--recorded-at 2024-11-08T09:34]   keep a new version, print what differs
    bilu written check SESSION [--version N] [--json] [--docx OUT]     check against the transcript as it is now
    bilu written versions SESSION                                      the versions imported

Exit codes of `check` (and of `import`): 0 consistent, 1 discrepancies found, 2 bad input (an unknown session,
a file that is not a readable record, a session with no record imported).
"""
import json
import sys
import time
from pathlib import Path

import click

from engine.settings import Settings

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@click.group()
def written() -> None:
    """Compare a session's written record (讯问笔录, docx or txt) with its recording."""


def _print_report(report: dict) -> None:
    from consistency.report_docx import KIND_NAMES, SEVERITY_NAMES, WHAT_NAMES

    discrepancies = sorted(report["discrepancies"], key=lambda d: (_SEVERITY_ORDER[d["severity"]], d["start_s"] or 0))
    matched = sum(1 for b in report["blocks"] if b["utterance_ids"])
    click.echo(f"session {report['session_id']}, written record version {report['version']} ({report['filename']}): "
               f"{matched} of {len(report['blocks'])} blocks found in the recording")
    for note in report["notes"]:
        click.echo(f"  note: {note}")
    if not discrepancies:
        click.echo("consistent: no discrepancy found")
        return
    click.echo(f"{len(discrepancies)} discrepancies:")
    for d in discrepancies:
        where = "" if d["start_s"] is None else f" at {d['start_s']:.1f}–{d['end_s']:.1f} s"
        click.echo(f"  [{d['severity']}] {d['kind']} ({d['what']}){where}: "
                   f"{SEVERITY_NAMES[d['severity']]} {KIND_NAMES[d['kind']]}（{WHAT_NAMES.get(d['what'], d['what'])}）")
        if d["written"]:
            click.echo(f"      笔录: {d['written'][:120]}")
        if d["spoken"]:
            click.echo(f"      录音: {d['spoken'][:120]}")


def _emit(report: dict, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report["discrepancies"], ensure_ascii=False, indent=1))
    else:
        _print_report(report)
    sys.exit(0 if report["consistent"] else 1)


@written.command("import")
@click.argument("session_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--recorded-at", default=None,
              help="When the recording started, local time (2024-11-08T09:34): the header's times are checked "
                   "against it. A live session's own start is used when not given.")
@click.option("--json", "as_json", is_flag=True, help="Print the discrepancies as a JSON list.")
@click.pass_obj
def import_(settings: Settings, session_id: int, file: Path, recorded_at: str | None, as_json: bool) -> None:
    """Import FILE (docx or txt, 问：/答： blocks) as a new version of SESSION's written record and check it."""
    from api.cli_users import _cli_actor
    from engine.written import import_written_record, report_dict

    with settings.open_store() as store:
        check = import_written_record(store, session_id, filename=file.name, content=file.read_bytes(),
                                      recorded_at=recorded_at, actor=_cli_actor())
        report = report_dict(check)
    if not as_json:
        click.echo(f"imported version {report['version']} (sha256 {report['sha256']})")
    _emit(report, as_json=as_json)


@written.command("check")
@click.argument("session_id", type=int)
@click.option("--version", type=int, default=None, help="Which imported version (default: the latest).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the discrepancies as a JSON list (kind, what, severity, written, spoken, start_s, end_s).")
@click.option("--docx", "docx_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the report as a .docx file.")
@click.pass_obj
def check(settings: Settings, session_id: int, version: int | None, as_json: bool, docx_path: Path | None) -> None:
    """Check SESSION's written record against its transcript as it is now. Exit 0 consistent, 1 discrepancies,
    2 bad input."""
    from consistency.report_docx import report_docx
    from engine.written import check_written_record, report_dict

    with settings.open_store() as store:
        report = report_dict(check_written_record(store, session_id, version=version, progress=_StderrProgress()))
        if docx_path is not None:
            docx_path.write_bytes(report_docx(report, session=store.get_session(session_id)))
    _emit(report, as_json=as_json)


class _StderrProgress:
    """比对进度 on stderr for a long record (`min_blocks` or more): nothing in the first `quiet_s` seconds of
    aligning (most records take less), then the blocks aligned so far at most every `quiet_s` seconds, and the
    last; stdout stays the report (and valid JSON with --json)."""

    def __init__(self, quiet_s: float = 2.0, min_blocks: int = 100) -> None:
        self._quiet_s, self._min_blocks = quiet_s, min_blocks
        self._next: float | None = None
        self._spoke = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._next is None:  # the clock starts with the first block: loading the word list is not aligning
            self._next = now + self._quiet_s
        if total < self._min_blocks or not (now >= self._next or (done == total and self._spoke)):
            return
        click.echo(f"比对进度：已对齐 {done}/{total} 个问答块", err=True)
        self._spoke, self._next = True, now + self._quiet_s


@written.command("versions")
@click.argument("session_id", type=int)
@click.pass_obj
def versions(settings: Settings, session_id: int) -> None:
    """List the versions of SESSION's written record: number, file, sha256, who imported it and when."""
    with settings.open_store() as store:
        rows = store.written_records(session_id)
    if not rows:
        click.echo(f"session {session_id} has no written record")
    for row in rows:
        kinds = ", ".join(row["discrepancy_kinds"]) or "none"
        click.echo(f"v{row['version']}  {row['filename']}  sha256 {row['sha256'][:16]}  {row['imported_by']}  "
                   f"{row['imported_at']}  discrepancies at import: {row['discrepancy_count']} ({kinds})")
