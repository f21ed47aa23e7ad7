"""`bilu devices`, `bilu record` and `bilu recover`: the interview room's commands."""
import signal
import sys
from pathlib import Path

import click

from engine.settings import Settings


@click.command()
def devices() -> None:
    """List the audio input devices (index, channels, default rate)."""
    from capture import list_input_devices

    found = list_input_devices()
    if not found:
        raise click.ClickException("no audio input device found: connect a microphone, or check that the "
                                   "sound server (PulseAudio or ALSA) is running and this user may use it")
    for device in found:
        mark = "*" if device.is_default else " "
        click.echo(f"{mark} {device.index:3d}  {device.name}  ({device.max_input_channels} channels, "
                   f"{device.default_samplerate} Hz)")


@click.command()
@click.option("--case", "case_no", required=True, help="Case number (created if new).")
@click.option("--room", required=True, help="Interview room name.")
@click.option("--device", default=None, help="Input device: index or (part of) its name (bilu devices lists them).")
@click.option("--channels", type=click.IntRange(1, 32), default=None,
              help="Channels to record: one per seat microphone (default 1; with --file, the file's).")
@click.option("--seat-roles", default="", help="Roles by seat (channel), e.g. 讯问人,被讯问人; one mic: by first speaking.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0.1), default=None,
              help="Stop after this many seconds (default: until Ctrl-C or SIGTERM).")
@click.option("--file", "file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Replay a recording in real time through the same path instead of a microphone.")
@click.option("--diarizer", type=click.Choice(["channel", "voice"]), default=None,
              help="Default: channel for two or more channels, voice for one.")
@click.option("--hotwords", default=None, help="Words to favour in recognition (names, places), space separated; "
              "harms the base model (README).")
@click.option("--rules", "rule_set", default="criminal_first", show_default=True, help="Procedural rule set.")
@click.option("--condition", "conditions", multiple=True, help="Conditional requirements (repeatable).")
@click.pass_obj
def record(settings: Settings, case_no, room, device, channels, seat_roles, duration_s, file, diarizer, hotwords,
           rule_set, conditions) -> None:
    """Record a session in a room: prints its id, then the transcript as it is committed.

    Stops on Ctrl-C, SIGTERM or --duration, after transcribing the last words.
    """
    from capture import Microphone, replay_file
    from cases import check_case_no
    from diarize import parse_seat_roles

    from engine.live import LiveRequest, LiveSession
    from engine.live_events import EventRelay
    from engine.pipeline import Pipeline
    from engine.recovery import recover_abandoned

    check_case_no(case_no)
    if file is not None and not file.is_file():
        raise click.BadParameter(f"{file}: no such file", param_hint="--file")
    request = LiveRequest(case_no=case_no, room=room, seat_roles=parse_seat_roles(seat_roles) if seat_roles else (),
                          diarizer=diarizer, rule_set=rule_set, conditions=tuple(conditions), hotwords=hotwords)
    pipeline = Pipeline(settings)
    with settings.open_store() as store:
        if settings.broker_url:  # the workers finish what a dead process left; this one records at once
            from api.cli_worker import send_abandoned

            send_abandoned(settings, store)
        else:
            report_recovered(recover_abandoned(settings, store, lambda: pipeline.model))
        model = pipeline.model  # loaded before the recording starts, so the first words are not kept waiting
        printer = TranscriptPrinter()
        # With Redis, the session's events and status go there too: a page on any `bilu serve` node follows it.
        relay = EventRelay(settings.broker_url) if settings.broker_url else None

        def on_event(event: dict) -> None:
            if relay is not None:
                relay.publish(event)
                if event["type"] == "state" and event["state"] == "recording":
                    relay.watch(event["session_id"],
                                lambda: session.live_status() if session.status == "recording" else None)
            printer.show(event)

        session = LiveSession(settings, store, model, request, on_event=on_event)
        previous = {s: signal.signal(s, lambda *_: session.stop()) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            if file is not None:
                status = session.run(replay_file(file, realtime=True), duration_s=duration_s)
            else:
                with Microphone(device, channels=channels or 1) as microphone:
                    status = session.run(microphone.chunks(), duration_s=duration_s)
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if relay is not None:
                relay.close()  # its last state sent first
        printer.done()
    if status == "interrupted":
        sys.exit(1)


class TranscriptPrinter:
    """Committed lines on stdout; tentative text on a terminal only, dimmed and overwritten in place."""

    def __init__(self) -> None:
        self._tty = sys.stdout.isatty()
        self._tentative_shown = False
        self._tentative: dict | None = None  # the last tentative event

    def show(self, event: dict) -> None:
        kind = event["type"]
        if kind == "state" and event["state"] == "recording":
            click.echo(event["session_id"])
        elif kind == "utterance":
            self._clear()
            u = event["utterance"]
            click.echo(f"[{_clock(u['start_s'])}] {u['role'] or u['speaker'] or '?'}: {u['text']}")
            # An utterance is stored just after the pass that already shows the next words: show them again.
            if self._tentative is not None and self._tentative["start_s"] >= u["end_s"]:
                self._show_tentative()
        elif kind == "tentative" and self._tty:
            self._tentative = event if event["text"] else None
            self._show_tentative()
        elif kind == "alert":
            self._clear()
            click.echo(click.style(f"! {event['message']}", fg="yellow"), err=True)
        elif kind == "state" and event["state"] not in ("recording", "stopped"):
            self._clear()
            click.echo(f"bilu: {event['state']}: {event.get('message', '')}", err=True)

    def done(self) -> None:
        self._clear()

    def _show_tentative(self) -> None:
        self._clear()
        if self._tentative is not None:
            click.echo(click.style(f"… {self._tentative['text']}"[-100:], dim=True), nl=False)
            self._tentative_shown = True

    def _clear(self) -> None:
        if self._tentative_shown:
            click.echo("\r\033[K", nl=False)
            self._tentative_shown = False


@click.command()
@click.pass_obj
def recover(settings: Settings) -> None:
    """Finish sessions left by a process that died (a recording or a file's transcription): keep their audio,
    transcribe the rest. Exit 1 if a file session could not be resumed (its kept audio is gone). With
    BILU_BROKER_URL set, each is sent to the workers instead."""

    from engine.pipeline import Pipeline
    from engine.recovery import recover_abandoned

    if settings.broker_url:
        from api.cli_worker import send_abandoned

        with settings.open_store() as store:
            sent = send_abandoned(settings, store, announce=False)
        if not sent:
            click.echo("nothing to recover")
        for session_id in sent:
            click.echo(f"session {session_id}: sent to the workers")
        return
    pipeline = Pipeline(settings)
    with settings.open_store() as store:
        summaries = recover_abandoned(settings, store, lambda: pipeline.model)
    if not summaries:
        click.echo("nothing to recover")
    for s in summaries:
        if s["status"] == "recovered":
            click.echo(f"session {s['session_id']}: recovered ({s['kind']}), {s['duration_s']:.1f} s of audio, "
                       f"{s['utterances_before']} utterances kept, {s['utterances_added']} transcribed after "
                       f"{s['transcribed_from_s']:.1f} s")
        else:
            click.echo(f"session {s['session_id']}: not recoverable ({s['kind']}): {s['error']}")
    if any(s["status"] != "recovered" for s in summaries):
        sys.exit(1)


def report_recovered(summaries: list[dict]) -> None:
    """One line on stderr per session recovered before a command's own work."""
    for s in summaries:
        what = "recovered" if s["status"] == "recovered" else f"could not be recovered ({s['error']})"
        click.echo(f"session {s['session_id']} ({s['kind']}), left by a process that stopped: {what}", err=True)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
