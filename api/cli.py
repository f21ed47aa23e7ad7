"""The `bilu` command line: a thin layer over the pipeline and the store.

Every error the user can cause (a bad file, an unknown session, a wrong option) ends in one line on
stderr naming the problem, and exit code 2; a fault of the machine or its configuration (a missing model, no
audio device, a full disk) in one line naming what to fix, and exit code 1; a bug in an error id and exit code 1
(api/errors_cli.py holds the table).
"""
import logging
import sys
import warnings
from pathlib import Path

import click
from pydantic import ValidationError

from api import errors_cli
from engine.settings import Settings
from error_kinds import Unavailable

EXIT_BAD_INPUT = errors_cli.EXIT_BAD_INPUT


class SettingsInvalid(Unavailable):
    """A BILU_* setting in the environment is not valid: the configuration's fault (exit 1), named in the message."""

    code = "settings_invalid"


class BiluGroup(click.Group):
    """Every error ends in what api/errors_cli.py's table says: bad input one line and exit 2, configuration or
    environment one line naming what to fix and exit 1, a bug an error id (its traceback logged) and exit 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort):
            raise
        except click.ClickException as exc:
            if not isinstance(exc, click.UsageError):
                raise
            sys.exit(errors_cli.report(exc))
        except (Exception, KeyboardInterrupt) as exc:
            sys.exit(errors_cli.report(exc))


@click.group(cls=BiluGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Bilu (笔录): offline Chinese transcription for interview rooms.

    Settings come from the environment (BILU_HOME, BILU_ASR_MODEL, ...): see the README.
    """
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(f"BILU_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        raise SettingsInvalid(f"a setting in the environment is not valid: {problems}") from None
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    ctx.obj = settings


def _store(settings: Settings):
    return settings.open_store()


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--case", "case_no", required=True, help="Case number the recording belongs to (created if new).")
@click.option("--unit", default=None, help="The unit a new case belongs to (bilu units list); default: the default "
                                           "unit, which only administrators see.")
@click.option("--title", default=None, help="A new case's title (案件名称); an existing case without one gets it.")
@click.option("--room", default=None, help="Interview room name.")
@click.option("--speakers", type=click.IntRange(1, 8), default=None, help="Number of speakers, if known.")
@click.option("--seat-roles", default="", help="Roles by seat (channel), e.g. 讯问人,被讯问人; one mic: by first speaking.")
@click.option("--diarizer", type=click.Choice(["auto", "channel", "voice", "pyannote"]), default=None,
              help="Override BILU_DIARIZER.")
@click.option("--hotwords", default=None, help="Words to favour in recognition (names, places), space separated; harms the base model (README).")
@click.option("--rules", "rule_set", default="criminal_first", show_default=True,
              help="Procedural rule set to check against (bilu rules lists them).")
@click.option("--condition", "conditions", multiple=True,
              help="Conditional requirements to add: minor, deaf_mute, interpreter, ... (repeatable).")
@click.pass_obj
def transcribe(settings: Settings, file: Path, case_no, unit, title, room, speakers, seat_roles, diarizer, hotwords,
               rule_set, conditions) -> None:
    """Transcribe a recording (wav, flac, mp3, m4a, ogg) into a new session; prints the session id.

    A new case is opened in --unit (else the default unit, with a warning: its officers do not see it there)."""
    from diarize import parse_seat_roles

    from engine.pipeline import FileRequest, Pipeline
    from api.progress import TerminalProgress

    if not file.is_file():
        raise click.BadParameter(f"{file}: no such file", param_hint="FILE")
    request = FileRequest(
        path=file,
        case_no=case_no,
        room=room,
        num_speakers=speakers,
        seat_roles=parse_seat_roles(seat_roles) if seat_roles else (),
        diarizer=diarizer,
        hotwords=hotwords,
        rule_set=rule_set,
        conditions=tuple(conditions),
    )
    from api.cli_live import report_recovered
    from api.cli_worker import wait_for_worker
    from engine.recovery import recover_abandoned
    from engine.work_queue import work_queue

    pipeline = Pipeline(settings)
    queue = work_queue(settings)  # BILU_BROKER_URL set: the workers transcribe, this command waits for them
    with _store(settings) as store:
        opened = _case_for_transcribe(store, case_no, unit=unit, title=title)
        try:
            with TerminalProgress() as progress:
                if queue is None:
                    # Sessions left by a process that died are finished first (the same model does both).
                    report_recovered(recover_abandoned(settings, store, lambda: pipeline.model))
                    session_id = pipeline.transcribe_file(store, request, progress=progress.update).session_id
                else:
                    queue.submit_abandoned(store)  # the workers finish those too
                    prepared = pipeline.prepare(store, request)  # the audio is kept, the session opened
                    session_id = prepared.session_id
                    name = queue.submit_prepared(store, prepared)
                    wait_for_worker(settings, session_id, name, progress=progress)
        except BaseException:
            if opened:  # opened for this recording, which was refused: not kept empty
                store.discard_case_if_unused(case_no)
            raise
        finally:
            if queue is not None:
                queue.close()
    click.echo(session_id)


def _case_for_transcribe(store, case_no: str, *, unit: str | None, title: str | None) -> bool:
    """Open the case if it is new (in `unit`, with `title`); True if opened here. An existing case keeps its
    unit: naming another is an error (moving a case is `bilu units assign-case`)."""
    from cases import CaseNotFound, check_case_no

    from api.cli_users import _os_user

    check_case_no(case_no)
    try:
        case = store.case_in_scope(case_no, _everything())
    except CaseNotFound:
        default_unit = store.list_units()[0]["name"]
        store.open_case(case_no, title=title, unit=unit or default_unit, actor=f"cli:{_os_user()}")
        if unit is None:
            click.echo(f"bilu: note: case {case_no} is filed under {default_unit}, which officers do not see; "
                       f"give --unit, or move it: bilu units assign-case {case_no} UNIT", err=True)
        return True
    if unit is not None and unit != case["unit"]:
        raise click.UsageError(f"case {case_no} belongs to {case['unit']}, not {unit}; "
                               f"bilu units assign-case {case_no} {unit} moves it")
    if title is not None and not case["title"]:
        store.set_case_title(case_no, title, actor=f"cli:{_os_user()}")
    return False


def _everything():
    from cases import Scope

    return Scope("all")


@cli.command()
@click.argument("session_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "srt", "vtt", "rttm", "txt", "docx", "package"]),
              default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of standard output.")
@click.pass_obj
def export(settings: Settings, session_id: int, fmt: str, output: Path | None) -> None:
    """Export a session's transcript (docx: the 讯问笔录 as a Word document, needs -o).

    Signed: JSON, txt and docx carry the audit chain head (校验码) that `bilu verify --code` matches later.
    package: one sealed ZIP (audio, transcript, 笔录, findings, audit entries, manifest; needs -o) that
    `bilu verify --package FILE.zip` checks without the database.
    """
    from cases.integrity import signed_export

    from api.cli_users import _os_user

    if fmt in ("docx", "package") and output is None:
        suffix = "docx" if fmt == "docx" else "zip"
        raise click.UsageError(f"--format {fmt} writes a binary file: give -o FILE.{suffix}")
    if fmt == "package":
        from cases.package import build_package

        with _store(settings) as store:
            manifest = build_package(store, session_id, output, actor=f"cli:{_os_user()}")
        click.echo(f"{output}: {len(manifest['members'])} members, chain head {manifest['chain_head']}", err=True)
        return
    with _store(settings) as store:
        text, _ = signed_export(store, session_id, fmt=fmt, actor=f"cli:{_os_user()}")
    if fmt == "docx":
        output.write_bytes(text)
        return
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")


@cli.command()
@click.pass_obj
def cases(settings: Settings) -> None:
    """List the cases and their sessions."""
    with _store(settings) as store:
        rows = store.list_cases()
        if not rows:
            click.echo("no cases yet: bilu transcribe FILE --case CASE_NO")
            return
        for case in rows:
            click.echo(f"{case['case_no']}  {case.get('title') or ''}  sessions: {case['session_count']}")
            for session in store.list_sessions(case["case_no"]):
                click.echo(
                    f"  session {session['id']}  {session['created_at']}  {session.get('room') or '-'}  "
                    f"{session['status']}  {session['duration_s']:.1f} s  {session.get('source_name') or ''}"
                )


@cli.command()
@click.argument("session_id", type=int)
@click.pass_obj
def show(settings: Settings, session_id: int) -> None:
    """Show a session: what was recorded, how it was transcribed, and its transcript."""
    with _store(settings) as store:
        session = store.get_session(session_id)
        utterances = store.utterances(session_id)
    click.echo(f"session {session['id']}  case {session['case_no']}  room {session.get('room') or '-'}")
    click.echo(f"status {session['status']}  audio {session['duration_s']:.1f} s, {session['channels']} channel(s)  "
               f"sha256 {session['audio_sha256']}")
    click.echo(f"model {session['model']}  diarizer {session.get('diarizer') or '-'}  created {session['created_at']}")
    speakers = ", ".join(f"{s['label']}={s.get('role') or '?'}" for s in session.get("speakers", []))
    click.echo(f"speakers {speakers or '-'}")
    click.echo("")
    for u in utterances:
        who = u.get("role") or u.get("speaker") or "?"
        click.echo(f"[{_clock(u['start_s'])} - {_clock(u['end_s'])}] {who}: {u['text']}")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours:02d}:{minutes:02d}:{secs:06.3f}"


@cli.command()
@click.argument("session_id", type=int, required=False)
@click.option("--transcript", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Check a transcript in the JSON export format instead of a stored session (nothing is stored).")
@click.option("--rules", "rule_set", default=None, help="Rule set (default: the session's own, or criminal_first).")
@click.option("--condition", "conditions", multiple=True, help="Conditional requirements to add (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.pass_obj
def check(settings: Settings, session_id, transcript, rule_set, conditions, as_json) -> None:
    """Check the procedural statements of a session (exit 0: all satisfied, 1: some not, 2: bad input)."""
    from engine.checking import DEFAULT_RULE_SET, check_session, rule_set_for
    from api.findings_table import print_findings

    if (session_id is None) == (transcript is None):
        raise click.UsageError("give a SESSION_ID or --transcript FILE.json (one of the two)")
    if transcript is not None:
        from lexicon import check_transcript

        data = _read_json(transcript)
        stated = data.get("session", {}) if isinstance(data, dict) else {}
        name = rule_set or (stated.get("rule_set") if isinstance(stated, dict) else None) or DEFAULT_RULE_SET
        chosen = conditions or tuple((stated.get("conditions") if isinstance(stated, dict) else None) or ())
        findings = check_transcript(data, rule_set_for(settings, name, chosen))
    else:
        with _store(settings) as store:
            findings = check_session(store, session_id, settings, rule_set=rule_set,
                                     conditions=conditions or None)
    print_findings(findings, as_json=as_json)
    sys.exit(0 if all(f.status == "satisfied" for f in findings) else 1)


@cli.command()
@click.pass_obj
def rules(settings: Settings) -> None:
    """List the procedural rule sets and conditional additions, with their rules."""
    from lexicon import condition_names, rule_set_names

    from engine.checking import rule_set_for

    extra = (settings.rules_dir,) if settings.rules_dir else ()
    for name in rule_set_names(extra_dirs=extra):
        rule_set = rule_set_for(settings, name)
        click.echo(f"{name}: {rule_set.title}")
        for rule in rule_set.rules:
            click.echo(f"  {rule.key:24s} {rule.title}")
    click.echo("conditions: " + ", ".join(condition_names(extra_dirs=extra)))


def _read_json(path: Path):
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise click.BadParameter(f"{path}: no such file", param_hint="--transcript")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.BadParameter(f"{path}: not a JSON transcript ({exc})", param_hint="--transcript") from exc


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default BILU_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default BILU_PORT, 8000).")
@click.option("--demo/--no-demo", default=False, help="First transcribe the bundled demo recording if not yet done.")
@click.pass_obj
def serve(settings: Settings, host: str | None, port: int | None, demo: bool) -> None:
    """Run the web service (health page at /health, API docs at /docs)."""
    import uvicorn

    from api.app import create_app

    if demo:
        from api.demo import ensure_demo

        with _store(settings) as store:
            session_id = ensure_demo(store, settings)
        click.echo(f"demo case ready: session {session_id}", err=True)
    from engine.pipeline import Pipeline

    Pipeline(settings).check_diarizer()  # a broken pyannote folder stops the service here, not at a recording
    host = host or settings.host
    port = port or settings.port
    click.echo(f"Bilu serving on http://{host}:{port}  (API docs: /docs)", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower())


from api.cli_users import units, users  # noqa: E402  (groups defined in their own module)
from api.cli_live import devices, record, recover  # noqa: E402
from api.cli_verify import verify  # noqa: E402
from api.cli_rooms import agent, rooms  # noqa: E402
from api.cli_guardrails import guardrails, procedure  # noqa: E402
from api.cli_worker import worker  # noqa: E402
from api.cli_models import models  # noqa: E402
from api.cli_written import written  # noqa: E402
from api.cli_store import store  # noqa: E402

for group in (users, units, devices, record, recover, verify, rooms, agent, procedure, guardrails, worker, written,
              models, store):
    cli.add_command(group)


def main() -> None:
    # jieba imports pkg_resources; the warning is about jieba's packaging, not something a user can act on.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    cli(prog_name="bilu")


if __name__ == "__main__":
    main()
