"""Who spoke when: by seat microphone (channel), by voice, or by pyannote.audio (optional, from a local
pipeline folder), and which role each speaker has.

Of ours it imports only transcribe's types; resemblyzer, torch, Silero VAD and pyannote stay inside.
"""
from diarize.assign import assign_speakers
from diarize.channel import ChannelDiarizer
from diarize.choose import choose_diarizer, make_diarizer
from diarize.errors import DiarizationError, DiarizerUnavailable
from diarize.pyannote_backend import PyannoteDiarizer, PyannoteTuning
from diarize.roles import ROLES, RoleError, parse_seat_roles, speaker_roles
from diarize.turns import exclusive_turns
from diarize.types import Diarizer, SpeakerTurn
from diarize.online import OnlineChannelLabeller, OnlineVoiceLabeller, make_online_labeller
from diarize.voice import VoiceDiarizer

__all__ = [
    "ROLES",
    "ChannelDiarizer",
    "OnlineChannelLabeller",
    "OnlineVoiceLabeller",
    "DiarizationError",
    "DiarizerUnavailable",
    "Diarizer",
    "PyannoteDiarizer",
    "PyannoteTuning",
    "RoleError",
    "SpeakerTurn",
    "VoiceDiarizer",
    "assign_speakers",
    "exclusive_turns",
    "choose_diarizer",
    "make_diarizer",
    "make_online_labeller",
    "parse_seat_roles",
    "speaker_roles",
]
