"""What a room agent and the service say to each other over the WebSocket (`/agents/stream`).

The agent opens the socket with `Authorization: Bearer <room token>` and speaks first:

    agent → service  {"type": "hello", "protocol": 1, "room", "stream", "case_no", "sample_rate", "channels",
                      "seat_roles": [...], "diarizer", "segment_s", "agent_time"}
    service → agent  {"type": "welcome", "session_id", "frames", "segments", "received_time", "server_time", "ended"}
    agent → service  {"type": "clock", "offset_s", "round_trip_s"}: the agent clock's offset to the service's, from
                     the four times of hello and welcome (`clock_offset`), before anything else; then audio (binary, below) from frame `frames` on; {"type": "segment", "index", "frames",
                     "sha256"} when a segment is closed; {"type": "outage", "from", "to"} (agent clock) after a
                     reconnection; {"type": "end", "frames", "segments"} when the recording is over and all sent
    service → agent  {"type": "ack", "frames", "segments"} once that much is on the service's disk (fsynced);
                     {"type": "stop"} when the session is stopped from the page; {"type": "closed", "status"}
                     when the session is finished; {"type": "error", "message"} before it closes the socket.

`stream` is a key the agent draws for each recording: the same stream after a reconnection (or an agent
restart) continues the same session. An agent standing by for the page's start sends {"type": "hello",
"standby": true, "room", "agent_time"}; the service answers {"type": "standby", "received_time", "server_time"},
and the agent its "clock" message. Offsets count frames from the recording's first frame, across
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


def clock_offset(*, sent_s: float, received_s: float, answered_s: float, back_s: float) -> tuple[float, float]:
    """(offset, round trip) in seconds from one exchange, as NTP measures it: the agent sent at `sent_s` and heard
    back at `back_s` (its clock); the service received at `received_s` and answered at `answered_s` (its clock).
    The offset is the service's clock minus the agent's, exact when the way there takes as long as the way back;
    it is off by at most half the round trip (the time on the wire, not counting the service's own work)."""
    round_trip_s = max(0.0, (back_s - sent_s) - (answered_s - received_s))
    offset_s = ((received_s - sent_s) + (answered_s - back_s)) / 2
    return offset_s, round_trip_s


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
           "REFUSED_TOKEN", "ROOM_BUSY", "STREAM_PATH", "audio_message", "clock_offset", "parse_audio"]
