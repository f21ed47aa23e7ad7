"""What a room agent and the service say to each other over the WebSocket (`/agents/stream`).

The agent opens the socket with `Authorization: Bearer <room token>` and speaks first:

    agent → service  {"type": "hello", "protocol": 1, "room", "stream", "case_no", "sample_rate", "channels",
                      "seat_roles": [...], "diarizer", "segment_s", "agent_time"}
    service → agent  {"type": "welcome", "session_id", "frames", "segments", "server_time", "ended"}
    agent → service  audio (binary, below) from frame `frames` on; {"type": "segment", "index", "frames",
                     "sha256"} when a segment is closed; {"type": "outage", "from", "to"} (agent clock) after a
                     reconnection; {"type": "end", "frames", "segments"} when the recording is over and all sent
    service → agent  {"type": "ack", "frames", "segments"} once that much is on the service's disk (fsynced);
                     {"type": "stop"} when the session is stopped from the page; {"type": "closed", "status"}
                     when the session is finished; {"type": "error", "message"} before it closes the socket.

`stream` is a key the agent draws for each recording: the same stream after a reconnection (or an agent
restart) continues the same session. Offsets count frames from the recording's first frame, across
segments; an audio message carries its segment's index and start (so the service writes the segment's header
as the agent did) and 16-bit interleaved samples.
"""
import struct

from error_kinds import BadInput

PROTOCOL = 1
STREAM_PATH = "/agents/stream"
_AUDIO = struct.Struct("<4sQId")
_MAGIC = b"BLA1"
AUDIO_HEADER_BYTES = _AUDIO.size

# WebSocket close codes the service uses to refuse (the agent stops retrying on these and says why).
REFUSED_TOKEN = 4401  # no token, an unknown one, or a revoked one
REFUSED_ROOM = 4403  # the token is another room's
REFUSED_REQUEST = 4400  # a hello or message that does not fit the protocol
ROOM_BUSY = 4409  # the room is recording another session
REFUSALS = {REFUSED_TOKEN, REFUSED_ROOM, REFUSED_REQUEST}


class ProtocolError(BadInput):
    """A message that does not fit the protocol."""

    code = "stream_invalid"


def audio_message(*, offset: int, index: int, start_s: float, pcm: bytes) -> bytes:
    return _AUDIO.pack(_MAGIC, offset, index, start_s) + pcm


def parse_audio(message: bytes) -> tuple[int, int, float, bytes]:
    """(offset, segment index, segment start_s, pcm) of an audio message."""
    if len(message) < _AUDIO.size:
        raise ProtocolError(f"an audio message of {len(message)} bytes has no complete header")
    magic, offset, index, start_s = _AUDIO.unpack_from(message)
    if magic != _MAGIC:
        raise ProtocolError("not a Bilu audio message")
    return offset, index, start_s, message[_AUDIO.size:]


__all__ = ["AUDIO_HEADER_BYTES", "PROTOCOL", "ProtocolError", "REFUSALS", "REFUSED_REQUEST", "REFUSED_ROOM",
           "REFUSED_TOKEN", "ROOM_BUSY", "STREAM_PATH", "audio_message", "parse_audio"]
