"""Every key Bilu keeps in Redis (BILU_BROKER_URL), named in one place (Celery's own keys are Celery's).

| key                              | what                                                      | written by          |
|----------------------------------|-----------------------------------------------------------|---------------------|
| `bilu:session:<id>` (channel)    | a recording's live events, published                      | engine/live_events  |
| `bilu:session:<id>:history`      | its events for pages that join late (no transcript text)  | engine/live_events  |
| `bilu:session:<id>:live`         | its status (audio so far, levels), kept 10 s              | engine/live_events  |
| `bilu:session:<id>:stop`         | 结束录音 asked on a node that does not record it           | engine/remote_stop  |
| `bilu:session:<id>:audio`        | a room's audio references for the worker (a stream)       | engine/live_feed    |
| `bilu:session:<id>:audio-notified` | the last notice a worker passed on                      | engine/live_feed    |
| `bilu:room:<room>`               | the state of a room whose agent a node holds, kept 10 s   | engine/live_events  |
| `bilu:room:<room>:start`         | 开始录音 asked on a node its standing-by agent is not on   | agent/remote_start  |
| `bilu:reply:<request id>`        | the answers to one such request (engine/node_requests)    | the node that holds |
"""

SESSION_PREFIX = "bilu:session:"
ROOM_PREFIX = "bilu:room:"


def channel_of(session_id: int) -> str:
    return f"{SESSION_PREFIX}{session_id}"


def history_key(session_id: int) -> str:
    return f"{channel_of(session_id)}:history"


def status_key(session_id: int) -> str:
    return f"{channel_of(session_id)}:live"


def stop_key(session_id: int) -> str:
    return f"{channel_of(session_id)}:stop"


def feed_key(session_id: int) -> str:
    return f"{channel_of(session_id)}:audio"


def notified_key(session_id: int) -> str:
    """The id of the last notice a worker passed on: one that takes the session over does not repeat those."""
    return f"{channel_of(session_id)}:audio-notified"


def room_key(room: str) -> str:
    return f"{ROOM_PREFIX}{room}"


def start_key(room: str) -> str:
    return f"{room_key(room)}:start"


def reply_key(request_id: str) -> str:
    return f"bilu:reply:{request_id}"


__all__ = ["channel_of", "feed_key", "history_key", "notified_key", "reply_key", "room_key", "start_key", "status_key", "stop_key"]
