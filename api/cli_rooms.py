"""`bilu rooms ...` (the centre's rooms and their agents' tokens) and `bilu agent` (run on a room's own machine)."""
import signal
import sys
from pathlib import Path

import click

from engine.settings import Settings

from api.cli_users import _os_user


def _store(settings: Settings):
    return settings.open_store()


@click.group()
def rooms() -> None:
    """Interview rooms whose agent streams to this service, and their tokens."""


@rooms.command("add")
@click.argument("name")
@click.option("--unit", required=True, help="The unit the room belongs to (bilu units list); its new cases go there.")
@click.pass_obj
def add_room(settings: Settings, name: str, unit: str) -> None:
    """Add a room (then give its agent a token: bilu rooms token NAME)."""
    with _store(settings) as store:
        room = store.add_room(name, unit=unit, actor=f"cli:{_os_user()}")
    click.echo(f"added room {room['name']} ({room['unit']})")


@rooms.command("token")
@click.argument("name")
@click.pass_obj
def room_token(settings: Settings, name: str) -> None:
    """Print a new token for the room's agent, once (the one before it stops working). Only its hash is kept."""
    with _store(settings) as store:
        token = store.issue_room_token(name, actor=f"cli:{_os_user()}")
    click.echo(token)


@rooms.command("list")
@click.pass_obj
def list_rooms(settings: Settings) -> None:
    """List the rooms: name, unit, whether a token is issued."""
    with _store(settings) as store:
        found = store.list_rooms()
    if not found:
        click.echo("no rooms yet: bilu rooms add NAME --unit UNIT")
    for room in found:
        token = (f"token issued {room['token_issued_at']}" if room["has_token"]
                 else f"token revoked {room['token_revoked_at']}" if room["token_revoked_at"] else "no token")
        click.echo(f"{room['name']}  {room['unit']}  {token}")


@rooms.command("revoke")
@click.argument("name")
@click.pass_obj
def revoke_room(settings: Settings, name: str) -> None:
    """Revoke the room's token: its agent is refused until it gets a new one."""
    with _store(settings) as store:
        revoked = store.revoke_room_token(name, actor=f"cli:{_os_user()}")
    click.echo(f"revoked the token of room {name}" if revoked else f"room {name} has no token to revoke")


@rooms.command("finish")
@click.argument("session_id", type=int)
@click.pass_obj
def finish_room_session(settings: Settings, session_id: int) -> None:
    """Finish a room agent's recording whose agent will not come back (the room's machine lost): stop waiting,
    record the outage from its last audio to now, transcribe the audio that arrived and close the session as
    interrupted (audited). A running service that holds the session does it instead:
    POST /sessions/ID/finish-abandoned."""
    from engine.abandoned import finish_abandoned
    from engine.pipeline import Pipeline

    pipeline = Pipeline(settings)
    with _store(settings) as store:
        summary = finish_abandoned(settings, store, lambda: pipeline.model, session_id, actor=f"cli:{_os_user()}")
    click.echo(f"session {session_id}: finished without its agent ({summary['status']}), {summary['duration_s']:.1f} s "
               f"of audio, {summary['utterances_before']} utterances kept, {summary['utterances_added']} transcribed "
               f"now; outage of {summary['outage_s']:.0f} s recorded")


@click.command()
@click.option("--server", "server_url", required=True, help="The service's address, e.g. https://bilu.centre:8000.")
@click.option("--room", required=True, help="This room's name, as in bilu rooms list on the service.")
@click.option("--token-file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A file holding the room's token (bilu rooms token NAME on the service).")
@click.option("--case", "case_no", default=None,
              help="Record one session of this case now (created if new). Without it: wait for the page's start.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0.1), default=None,
              help="With --case: stop after this many seconds of session (default: Ctrl-C, SIGTERM or the page's stop).")
@click.option("--device", default=None, help="Input device: index or (part of) its name (bilu devices lists them).")
@click.option("--channels", type=click.IntRange(1, 32), default=1, show_default=True,
              help="Channels to record: one per seat microphone.")
@click.option("--seat-roles", default="", help="Roles by seat (channel), e.g. 讯问人,被讯问人; one mic: by first speaking.")
@click.option("--diarizer", type=click.Choice(["channel", "voice"]), default=None,
              help="Default: channel for two or more channels, voice for one.")
@click.option("--hotwords", default=None, help="Words to favour in recognition (names, places), space separated, as "
              "bilu record --hotwords; a session started on the page takes the page's.")
@click.option("--spool", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The room's own copy of the audio (default BILU_HOME/agent).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="A CA certificate to trust for an https server with a certificate of its own.")
@click.pass_obj
def agent(settings: Settings, server_url, room, token_file, case_no, duration_s, device, channels, seat_roles, diarizer,
          hotwords, spool, ca_file) -> None:
    """Run on a room's machine: record to this disk first and stream to the service; prints each session id as
    its recording starts. With --case: one session now. Without: stand by, record each session started on the
    room's page until it is stopped there, and stand by again (Ctrl-C or SIGTERM ends the agent). A cut link or a
    restarted service loses nothing: the agent resends what was not acknowledged. Started again after it was
    killed, it takes up the same session."""
    import dataclasses
    import threading

    # Only capture/ and the agent: the room's machine need not load the store or the speaker models (10 s).
    from agent.room import AgentArgumentError, AgentOptions, AgentRefused, unfinished_recording, wait_for_start

    if case_no is not None and (not case_no.strip() or len(case_no) > 64 or any(ch in case_no for ch in "/\\")):
        raise click.BadParameter(f"{case_no!r}: a case number is 1 to 64 characters without / or \\",
                                 param_hint="--case")  # the service checks it in full
    if duration_s is not None and case_no is None:
        raise click.UsageError("--duration goes with --case (a session started on the page is stopped there)")
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise click.BadParameter(f"{token_file}: {exc.strerror}", param_hint="--token-file")
    if not token:
        raise AgentArgumentError(f"{token_file} holds no token: put the output of `bilu rooms token {room}` in it")
    options = AgentOptions(server_url=server_url, room=room, token=token, spool=spool or Path(settings.home) / "agent",
                           case_no=case_no or "", seat_roles=tuple(r.strip() for r in seat_roles.split(",")) if seat_roles else (),
                           diarizer=diarizer, hotwords=hotwords or None, duration_s=duration_s, ca_file=ca_file)
    options.stream_url()  # a bad --server fails here, before the microphone opens
    stopping = threading.Event()
    current: dict = {}

    def stop(*_) -> None:
        stopping.set()
        if "agent" in current:
            current["agent"].stop()

    def notice(text: str) -> None:
        click.echo(f"bilu agent: {text}", err=True)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if case_no is not None:
            _record_one(options, device, channels, current, notice)
            return
        earlier = unfinished_recording(options.spool, room)
        if earlier is not None:  # killed mid-session: take it up, until it is stopped on the page
            notice(f"继续未完成的录音（案件 {earlier.case_no}）")
            _record_one(dataclasses.replace(options, case_no=earlier.case_no), device, channels, current, notice)
        while not stopping.is_set():
            start = wait_for_start(options, stopping, on_notice=notice)
            if start is None:
                break
            _record_one(dataclasses.replace(
                options, case_no=start["case_no"], seat_roles=tuple(start.get("seat_roles") or options.seat_roles),
                diarizer=start.get("diarizer") or options.diarizer, hotwords=start.get("hotwords") or options.hotwords,
                duration_s=start.get("duration_s")),
                device, start.get("channels") or channels, current, notice)
    except AgentRefused as exc:
        where = current["agent"].state.folder if current.get("agent") and current["agent"].state else None
        click.echo(f"bilu: error: {exc}" + (f"; the audio is kept in {where}" if where else ""), err=True)
        sys.exit(2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _record_one(options, device, channels: int, current: dict, notice) -> None:
    from capture import Microphone

    from agent.room import RoomAgent

    room_agent = RoomAgent(options, on_session=lambda session_id: click.echo(session_id), on_notice=notice)
    current["agent"] = room_agent
    with Microphone(device, channels=channels) as microphone:
        room_agent.run(microphone.chunks(), sample_rate=microphone.sample_rate, channels=channels)
