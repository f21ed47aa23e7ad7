"""`bilu verify`: is the stored record intact (全程留痕)? And what does a printed 校验码 match today?

Exit codes: 0 intact (or the code's session is unchanged), 1 problems (or changed, or no such code),
2 bad input (an unknown session, a malformed code: raised as our ValueError, turned into exit 2 by BiluGroup).
"""
import json
import sys
from pathlib import Path

import click

from engine.settings import Settings


class _BytesProgress:
    """A tqdm bar over the bytes re-hashed, on a terminal only (like api/progress.py's)."""

    def __init__(self) -> None:
        self._bar = None
        self._enabled = sys.stderr.isatty()

    def update(self, done_bytes: int, total_bytes: int) -> None:
        if not self._enabled or total_bytes <= 0:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total_bytes, desc="re-hashing audio", unit="B", unit_scale=True, file=sys.stderr)
        self._bar.update(max(0, done_bytes - self._bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@click.command()
@click.argument("session_id", type=int, required=False)
@click.option("--code", default=None, help="A 校验码 printed on an export (at least 12 hex digits): which export it "
                                           "was, and whether the session is unchanged since.")
@click.option("--package", "package", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Check an export package (bilu export ID --format package) without the database.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify(settings: Settings, session_id: int | None, code: str | None, package: Path | None,
           as_json: bool) -> None:
    """Re-read the audio and the rows, recompute the audit chain, and report what was changed outside Bilu.

    Exit 0 when all is intact, 1 when something was changed, deleted or inserted, 2 on bad input.
    """
    if sum(given is not None for given in (session_id, code, package)) > 1:
        raise click.UsageError("give one of SESSION_ID, --code HEX or --package FILE.zip")
    if package is not None:
        _verify_package(package, as_json=as_json)
    from cases.integrity import check_export_code, verify as verify_store

    with settings.open_store() as store:
        if code is not None:
            result = check_export_code(store, code)
            _print_code(result, as_json=as_json)
            sys.exit(0 if result["same"] else 1)
        progress = _BytesProgress()
        try:
            report = verify_store(store, session_id=session_id, progress=progress.update)
        finally:
            progress.close()
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            click.echo(f"{problem.kind}\t{problem.subject}\t{problem.detail}")
        if report.intact:
            click.echo(f"intact: {report.entries} entries, {report.audio_files} audio files, {report.rows} rows")
        else:
            click.echo(f"NOT intact: {len(report.problems)} problems")
    sys.exit(0 if report.intact else 1)


def _verify_package(path: Path, *, as_json: bool) -> None:
    """No store is opened: the package is checked on its own (another machine, no database)."""
    from cases.package_verify import verify_package

    report = verify_package(path)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        for problem in report.problems:
            click.echo(f"{problem.kind}\t{problem.subject}\t{problem.detail}")
        if report.intact:
            click.echo(f"intact: session {report.session_id} (case {report.case_no}), {report.members} members, "
                       f"{report.entries} audit entries, chain head {report.chain_head}")
        else:
            click.echo(f"NOT intact: {len(report.problems)} problems")
    sys.exit(0 if report.intact else 1)


def _print_code(result: dict, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    if not result["found"]:
        click.echo(f"no export has the 校验码 {result['code']}")
        return
    click.echo(f"export of session {result['session_id']} (case {result['case_no']}) as {result['format']}, "
               f"{result['at']}, by {result['user']} (audit entry {result['entry_id']})")
    if result["chain_intact"]:
        click.echo("audit chain up to it: intact")
    else:
        click.echo(f"audit chain up to it: NOT intact ({len(result['chain_problems'])} problems)")
        for problem in result["chain_problems"]:
            click.echo(f"{problem['kind']}\t{problem['subject']}\t{problem['detail']}")
    if result["session_digest_now"] is None:
        click.echo("session: gone (its rows were deleted)")
    elif result["session_digest_now"] == result["session_digest_exported"]:
        click.echo("session: unchanged since the export")
    else:
        click.echo("session: CHANGED since the export (bilu verify SESSION_ID shows what)")
