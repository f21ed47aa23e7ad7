"""`bilu store copy-to-postgresql URL`: a single box's SQLite store (BILU_HOME/bilu.db) copied into an empty
PostgreSQL database, for a centre moving to the city deployment (cases/pg_copy.py does the copy).

Exit codes: 0 copied and `bilu verify` intact on the target, 1 copied but not intact (the problems are printed, as
`bilu verify` prints them) or the database cannot be reached, 2 refused (not a postgresql:// URL, no store at
BILU_HOME, a store at an older schema migration, a target that already has rows): nothing written.
"""
import sys

import click

from engine.settings import Settings

LINE_EVERY_ROWS = 100_000


class _RowsProgress:
    """Rows copied per table on stderr: a bar per table on a terminal, else a line per table (and every
    LINE_EVERY_ROWS rows of a big one), so a log shows how far a long copy got."""

    def __init__(self) -> None:
        self._terminal = sys.stderr.isatty()
        self._bar = None
        self._table = None

    def update(self, table: str, done: int, total: int) -> None:
        if self._terminal:
            if table != self._table:
                self.close()
                from tqdm import tqdm

                self._bar = tqdm(total=total, desc=table, unit="rows", unit_scale=True, file=sys.stderr)
                self._table = table
            self._bar.update(done - self._bar.n)
            return
        self._table = table
        if done == total or (done and done % LINE_EVERY_ROWS == 0):
            click.echo(f"bilu: copying {table}: {done:,} of {total:,} rows", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


@click.group()
def store() -> None:
    """The store itself: move a single box's SQLite store to PostgreSQL."""


@store.command("copy-to-postgresql")
@click.argument("url")
@click.pass_obj
def copy_to_postgresql(settings: Settings, url: str) -> None:
    """Copy the SQLite store at BILU_HOME into the empty PostgreSQL database at URL, then verify it there.

    Every row of every table is copied with its id, and the audit chain as it is; the SQLite store is only read.
    Stop `bilu serve` first: what it writes during the copy stays in SQLite only."""
    from cases.pg_copy import copy_to_postgresql as copy

    from api.cli_verify import _BytesProgress

    progress, rehashing = _RowsProgress(), _BytesProgress()
    try:
        report = copy(settings.home, url, progress=progress.update, verify_progress=rehashing.update)
    finally:
        progress.close()
        rehashing.close()
    _print_summary(report, home=settings.home)
    sys.exit(0 if report.verify.intact else 1)


def _print_summary(report, *, home) -> None:
    click.echo(f"copied {report.source} (schema migration {report.migration}) into {report.target}: "
               f"{len(report.rows)} tables, {report.total_rows:,} rows")
    width = max(len(table) for table in report.rows)
    for table, rows in sorted(report.rows.items()):
        click.echo(f"  {table:<{width}}  {rows:>12,}")
    click.echo(f"ids: each table goes on past the highest id the SQLite store issued (audit entries from "
               f"{report.next_ids['audit']}, utterances from {report.next_ids['utterances']})")
    click.echo(f"triggers in place and enabled: {', '.join(report.triggers)}")
    click.echo(f"files: {report.files_named} paths in the rows, all relative to BILU_HOME ({home}): the audio "
               "stays there")
    verified = report.verify
    for problem in verified.problems:
        click.echo(f"{problem.kind}\t{problem.subject}\t{problem.detail}")
    if verified.intact:
        click.echo(f"verify on PostgreSQL: intact: {verified.entries} entries, {verified.audio_files} audio files, "
                   f"{verified.rows} rows")
        click.echo(f"next: BILU_DATABASE_URL={report.target} for every bilu command and node (README \"City "
                   "deployment\")")
    else:
        click.echo(f"verify on PostgreSQL: NOT intact: {len(verified.problems)} problems (`bilu verify` on the "
                   "SQLite store shows whether it had them before the copy)")
