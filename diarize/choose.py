"""Picking a diarizer by name, or by how many microphones the recording has."""
from diarize.channel import ChannelDiarizer
from diarize.errors import DiarizationError
from diarize.types import Diarizer
from diarize.voice import VoiceDiarizer

_DIARIZERS = {"channel": ChannelDiarizer, "voice": VoiceDiarizer}


def make_diarizer(name: str) -> Diarizer:
    """A new diarizer: "channel" (one microphone per seat) or "voice" (one microphone for the room)."""
    try:
        factory = _DIARIZERS[name]
    except (KeyError, TypeError):
        raise DiarizationError(f"unknown diarizer {name!r}; choose one of: {', '.join(_DIARIZERS)}") from None
    return factory()


def choose_diarizer(channels: int) -> str:
    """"channel" when there are 2 or more channels (one per seat), else "voice"."""
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise DiarizationError(f"channels must be a whole number of at least 1, got {channels!r}")
    return "channel" if channels >= 2 else "voice"
