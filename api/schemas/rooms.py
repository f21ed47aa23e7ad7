"""Interview rooms whose agent streams to this service, the agent a session was recorded by, and finishing a
session whose agent never came back (README "Room agents")."""
from typing import Annotated, Literal

from pydantic import Field

from api.schemas.base import Public, Timestamp

AGENT_STATES = ("recording", "offline", "standing_by", "not_connected", "unknown")
_OFFSET = Field(description="The agent clock's offset to the service's, in seconds (service minus agent), as last "
                            "measured; null before any measure.")
_ROUND_TRIP = Field(description="The round trip of the exchange that measured it (s): the offset is off by at most "
                                "half of it.")


class SessionAgent(Public):
    """The room agent a session was recorded by."""

    session_id: int
    room: str
    clock_offset_s: Annotated[float, _OFFSET]
    clock_round_trip_s: Annotated[float | None, _ROUND_TRIP]
    ended_at: Annotated[Timestamp | None, Field(description="When its stream ended (all sent, or given up on).")]
    abandoned_at: Annotated[Timestamp | None, Field(description="When it was given up on (bilu rooms finish).")]


class RoomPublic(Public):
    name: str
    unit: str
    has_token: bool
    token_issued_at: Timestamp | None
    token_revoked_at: Timestamp | None
    created_at: Timestamp
    last_session_id: Annotated[int | None, Field(description="The last session its agent recorded.")]
    agent: Annotated[Literal[AGENT_STATES], Field(description="recording; offline (a session is recording but the "
                                                              "link is down); standing_by (waiting for the page's "
                                                              "start); not_connected; unknown (not connected "
                                                              "to this node, and Redis, which says whether it is "
                                                              "connected to another, cannot be reached).")]
    session_id: Annotated[int | None, Field(description="The session it is recording now.")]
    clock_offset_s: Annotated[float | None, _OFFSET]
    clock_round_trip_s: Annotated[float | None, _ROUND_TRIP]
    levels_db: Annotated[list[float] | None, Field(description="While it records: each seat's level (dBFS) over "
                                                               "the last audio received.")]


class AbandonedFinished(Public):
    """A session finished from the audio that arrived, its agent given up on."""

    session_id: int
    status: Literal["interrupted"]
    duration_s: float
    utterances_before: int
    utterances_added: int
    outage_s: Annotated[float, Field(description="The outage recorded: from the last audio received to now.")]
