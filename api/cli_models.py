"""`bilu models` and `bilu models check DIR`: the recognition model, and a folder an operator brings."""
import sys
from importlib.resources import as_file, files
from pathlib import Path

import click

from api import errors_cli

from engine.settings import Settings

SELF_TEST_CLIP = "demo_room_2seats.flac"
"""Real Mandarin speech shipped with Bilu (api/assets): the self-test recognises its first seconds."""


@click.group(invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """The recognition model: alone, prepare it (assemble and verify the embedded one) and print its folder."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(prepare)


@models.command()
@click.pass_obj
def prepare(settings: Settings) -> None:
    """Assemble and verify the model BILU_ASR_MODEL names (the embedded one by default); print its folder."""
    from transcribe import resolve_model_dir

    click.echo(resolve_model_dir(settings.asr_model, cache_dir=settings.model_cache))


@models.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.pass_obj
def check(settings: Settings, folder: Path) -> None:
    """Check that FOLDER is a CTranslate2 Whisper model Bilu can use (files, config, vocabulary, a 5 s self-test)."""
    from capture import decode_file
    from transcribe.model import compute_type_for, resolve_device
    from transcribe.model_check import CONVERT_HINT, ModelFolderInvalid, check_model_folder

    device = resolve_device(settings.asr_device)
    compute_type = compute_type_for(settings.asr_compute, device)
    with as_file(files("api") / "assets" / SELF_TEST_CLIP) as clip:
        audio = decode_file(clip)
    # The first seat's channel: one voice, speech from the start (the demo opens with the officer's question).
    samples = audio.samples[:, 0]
    try:
        result = check_model_folder(folder, samples, device=device, compute_type=compute_type)
    except ModelFolderInvalid as exc:  # the folder given is wrong: exit 2, every problem named, then the way out
        code = errors_cli.report(exc)
        click.echo(f"bilu: {CONVERT_HINT}", err=True)
        sys.exit(code)
    click.echo(f"ok: {folder}")
    click.echo(f"vocabulary {result.vocabulary_size} tokens, {result.mel_bins} mel bins; {device}, {compute_type}")
    click.echo(f"self-test: {result.seconds_of_audio:.1f} s of speech recognised in {result.seconds_taken:.1f} s: "
               f"{result.text}")
    click.echo(f"use it: BILU_ASR_MODEL={folder.expanduser().resolve()}")
