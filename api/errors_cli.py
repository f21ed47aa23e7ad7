"""Errors as exit codes, in one table: the kind of an error (error_kinds) gives the exit code and what is printed.

- bad input (a bad file, an unknown session, a wrong option): one line naming the problem, exit 2;
- configuration or environment (model missing or damaged, pyannote folder broken, no audio device, disk full):
  one line naming what to fix, exit 1;
- anything else is a bug: a line with a short error id, the traceback logged under that id, exit 1.
"""
import logging
import secrets

import click

from error_kinds import Kind, kind_of

log = logging.getLogger("bilu")

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 1
EXIT_BUG = 1
EXIT_INTERRUPTED = 130
EXIT_BY_KIND = {Kind.BAD_INPUT: EXIT_BAD_INPUT, Kind.NOT_FOUND: EXIT_BAD_INPUT, Kind.CONFLICT: EXIT_BAD_INPUT,
                Kind.UNAVAILABLE: EXIT_UNAVAILABLE, Kind.BUG: EXIT_BUG}
_BUG_ID_CHARS = 8


def report(exc: BaseException) -> int:
    """Print what the user needs to know about `exc` on stderr; the exit code for it."""
    if isinstance(exc, click.UsageError):  # a bad option or argument: one line too, not click's four
        click.echo(f"bilu: error: {exc.format_message()}", err=True)
        return EXIT_BAD_INPUT
    if isinstance(exc, KeyboardInterrupt):
        click.echo("bilu: interrupted", err=True)
        return EXIT_INTERRUPTED
    if isinstance(exc, OverflowError):  # an id too large for SQLite's integers names nothing stored
        click.echo(f"bilu: error: a number is out of range ({exc}); ids are at most {2 ** 63 - 1}", err=True)
        return EXIT_BAD_INPUT
    kind = kind_of(exc)
    if kind is Kind.BUG:
        error_id = secrets.token_hex(_BUG_ID_CHARS // 2)
        log.error("error %s: %s", error_id, type(exc).__name__, exc_info=exc)
        click.echo(f"bilu: internal error {error_id} ({type(exc).__name__}): this is a bug; the traceback above "
                   f"is logged under {error_id}", err=True)
        return EXIT_BUG
    if kind is Kind.UNAVAILABLE:  # the message names the setting, folder or device to fix
        click.echo(f"bilu: error: {exc}", err=True)
        click.echo("bilu: this machine or its configuration must be fixed (not the input); then run again", err=True)
        return EXIT_UNAVAILABLE
    click.echo(f"bilu: error: {exc}", err=True)
    return EXIT_BY_KIND[kind]
