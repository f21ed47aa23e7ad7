"""Picking a diarizer by name, or by how many microphones the recording has."""
from pathlib import Path

from diarize.channel import ChannelDiarizer
from diarize.errors import DiarizationError, DiarizerUnavailable
from diarize.pyannote_backend import PyannoteDiarizer
from diarize.types import Diarizer
from diarize.voice import VoiceDiarizer

_DIARIZERS = {"channel": ChannelDiarizer, "voice": VoiceDiarizer, "pyannote": PyannoteDiarizer}


def make_diarizer(name: str, *, pipeline_dir: Path | str | None = None) -> Diarizer:
    """A new diarizer: "channel" (one microphone per seat), "voice" (one microphone for the room), or
    "pyannote" (pyannote.audio from the pipeline folder `pipeline_dir`, i.e. BILU_PYANNOTE_PIPELINE).

    `pipeline_dir` is used by "pyannote" only (the others ignore it). Raises DiarizationError for an
    unknown name; DiarizerUnavailable (a DiarizationError too) for "pyannote" without a folder, and when the
    pyannote pipeline cannot be loaded.
    """
    try:
        factory = _DIARIZERS[name]
    except (KeyError, TypeError):
        raise DiarizationError(f"unknown diarizer {name!r}; choose one of: {', '.join(_DIARIZERS)}") from None
    if factory is PyannoteDiarizer:
        if pipeline_dir is None:
            raise DiarizerUnavailable(
                "the pyannote diarizer needs its pipeline folder: set BILU_PYANNOTE_PIPELINE=/path/to/folder"
            )
        return PyannoteDiarizer(pipeline_dir)
    return factory()


def choose_diarizer(channels: int) -> str:
    """"channel" when there are 2 or more channels (one per seat), else "voice"."""
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise DiarizationError(f"channels must be a whole number of at least 1, got {channels!r}")
    return "channel" if channels >= 2 else "voice"
