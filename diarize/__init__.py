"""Who spoke when: by seat microphone (channel) or by voice, and which role each speaker has.

Of ours it imports only transcribe's types; resemblyzer, torch and Silero VAD stay inside.
"""
from diarize.assign import assign_speakers
from diarize.channel import ChannelDiarizer
from diarize.choose import choose_diarizer, make_diarizer
from diarize.errors import DiarizationError
from diarize.roles import ROLES, RoleError, parse_seat_roles, speaker_roles
from diarize.types import Diarizer, SpeakerTurn
from diarize.voice import VoiceDiarizer

__all__ = [
    "ROLES",
    "ChannelDiarizer",
    "DiarizationError",
    "Diarizer",
    "RoleError",
    "SpeakerTurn",
    "VoiceDiarizer",
    "assign_speakers",
    "choose_diarizer",
    "make_diarizer",
    "parse_seat_roles",
    "speaker_roles",
]
