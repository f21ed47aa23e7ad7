"""Interview rooms whose agent streams to this service: the room, its unit, its token; the stream of each session
an agent records; the outages of that stream.

The `RoomAgents` concern of the store (`store.room_agents`). A room has at most one token at a time: a new one
replaces the old, and revoking leaves none. The token is shown once when issued and stored only as its sha256; it
lets an agent stream its own room, nothing else (it reads no case). Every change appends its audit entry in its own
transaction: room.added, room.token_issued, room.token_revoked, agent.stream_opened, agent.clock_offset,
agent.stream_ended, agent.stream_abandoned, session.outage.

Clock: the offset of an agent's clock to this machine's (ours minus the agent's) is measured at each connection
from the hello and its answer (agent/protocol.py `clock_offset`), with the round trip that bounds its error; the
outages an agent reports on its own clock are stored on ours with it.
"""
import secrets
from datetime import datetime, timezone

from error_kinds import NotFound

from cases.access import UNITS_BELOW, Scope
from cases.accounts import check_name
from cases.actors import SYSTEM_ACTOR, Actor
from cases.auth_tokens import token_digest
from cases.concern import Concern
from cases.errors import AccountExists, StoreError
from error_kinds import Conflict
from cases.locking import locked
from cases.lookups import require_session, unit_row
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso, one


class RoomNotFound(NotFound, StoreError):
    """No room of that name (bilu rooms list shows them)."""

    code = "room_not_found"


class StreamNotOpen(Conflict, StoreError):
    """The session has no agent stream still open (not an agent's, or finished already)."""

    code = "agent_stream_not_open"


# Each room with the clock of its agent's latest stream (the last session it recorded), if any.
_ROOM_COLUMNS = ("SELECT r.id, r.name, n.name AS unit, r.token_sha256, r.token_issued_at, r.token_revoked_at,"
                 " r.created_at, a.session_id AS last_session_id, a.clock_offset_ms, a.clock_round_trip_ms"
                 " FROM rooms r JOIN units n ON n.id = r.unit_id LEFT JOIN agent_streams a ON a.session_id ="
                 " (SELECT MAX(session_id) FROM agent_streams WHERE room_id = r.id)")


class RoomAgents(Concern):
    """Rooms and their tokens, the streams their agents send, the outages of those streams."""

    @locked
    def add_room(self, name: str, *, unit: str, actor: Actor = SYSTEM_ACTOR) -> dict:
        """A new room of `unit` (without a token yet: `issue_room_token`)."""
        check_name("room", name)
        with immediate_transaction(self._db):
            unit_id = unit_row(self._db, unit)["id"]
            if one(self._db, "SELECT 1 FROM rooms WHERE name = ?", [name]):
                raise AccountExists(f"a room named {name!r} exists already")
            self._db.execute("INSERT INTO rooms (name, unit_id, created_at) VALUES (?, ?, ?)",
                             [name, unit_id, now_utc_iso()])
            self._audit.action(actor, "room.added", detail={"room": name, "unit": unit})
        return self.room(name)

    @locked
    def room(self, name: str) -> dict:
        return _room_dict(self._room_row(name))

    @locked
    def list_rooms(self, *, scope: Scope | None = None) -> list[dict]:
        """Every room, or those of the units in `scope` (a unit, a unit and those below it; none for assigned
        cases only: rooms belong to units, not cases)."""
        condition, parameters = "TRUE", []
        if scope is not None and scope.kind != "all":
            condition, parameters = {"unit": ("r.unit_id = ?", [scope.id]),
                                     "below": (f"r.unit_id IN ({UNITS_BELOW})", [scope.id])}.get(scope.kind, ("FALSE", []))
        return [_room_dict(row) for row in self._db.query(f"{_ROOM_COLUMNS} WHERE {condition} ORDER BY r.id",
                                                          parameters)]

    @locked
    def issue_room_token(self, name: str, *, actor: Actor = SYSTEM_ACTOR) -> str:
        """A new token for the room's agent (the one before it stops working). Returned once, kept as sha256."""
        token = secrets.token_urlsafe(32)
        with immediate_transaction(self._db):
            row = self._room_row(name)
            self._db.execute("UPDATE rooms SET token_sha256 = ?, token_issued_at = ?, token_revoked_at = NULL"
                             " WHERE id = ?", [token_digest(token), now_utc_iso(), row["id"]])
            self._audit.action(actor, "room.token_issued", detail={"room": name})
        return token

    @locked
    def revoke_room_token(self, name: str, *, actor: Actor = SYSTEM_ACTOR) -> bool:
        """The room's token stops working; False if it had none."""
        with immediate_transaction(self._db):
            row = self._room_row(name)
            if row["token_sha256"] is None:
                return False
            self._db.execute("UPDATE rooms SET token_sha256 = NULL, token_revoked_at = ? WHERE id = ?",
                             [now_utc_iso(), row["id"]])
            self._audit.action(actor, "room.token_revoked", detail={"room": name})
        return True

    @locked
    def room_for_token(self, token: str) -> dict | None:
        """The room whose current token this is, else None (unknown, replaced or revoked)."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        row = one(self._db, f"{_ROOM_COLUMNS} WHERE r.token_sha256 = ?", [token_digest(token)])
        return None if row is None else _room_dict(row)

    # The streams agents send

    @locked
    def agent_stream(self, stream_key: str) -> dict | None:
        """The session a stream belongs to: {"session_id", "room", "ended_at"}, or None for a new stream."""
        row = one(self._db, f"{_STREAM_COLUMNS} WHERE a.stream_key = ?", [stream_key])
        return None if row is None else _stream_dict(row)

    @locked
    def session_agent(self, session_id: int) -> dict | None:
        """The room agent a session was recorded by: {"room", "clock_offset_s", "clock_round_trip_s", "ended_at",
        "abandoned_at", ...}; None for a session recorded on this machine or uploaded."""
        row = one(self._db, f"{_STREAM_COLUMNS} WHERE a.session_id = ?", [session_id])
        return None if row is None else _stream_dict(row)

    @locked
    def add_agent_stream(self, session_id: int, *, room: str, stream_key: str, clock_offset_s: float,
                         actor: Actor = SYSTEM_ACTOR) -> None:
        if not isinstance(stream_key, str) or not 8 <= len(stream_key) <= 64 or not stream_key.isalnum():
            raise StoreError("a stream key is 8 to 64 letters and digits")
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            self._db.execute("INSERT INTO agent_streams (session_id, room_id, stream_key, clock_offset_ms, created_at)"
                             " VALUES (?, ?, ?, ?, ?)", [session_id, self._room_row(room)["id"], stream_key,
                                                         int(round(clock_offset_s * 1000)), now_utc_iso()])
            self._audit.action(actor, "agent.stream_opened", session_id=session_id,
                               detail={"room": room, "clock_offset_ms": int(round(clock_offset_s * 1000))})

    @locked
    def set_agent_clock_offset(self, session_id: int, clock_offset_s: float, *, round_trip_s: float | None = None,
                               actor: Actor = SYSTEM_ACTOR) -> None:
        """The agent clock's offset to ours (ours minus the agent's), measured again at each connection, and the
        round trip of the measuring exchange (None when only the hello's send time was known)."""
        offset_ms = int(round(clock_offset_s * 1000))
        trip_ms = None if round_trip_s is None else int(round(round_trip_s * 1000))
        with immediate_transaction(self._db):
            if self._db.execute("UPDATE agent_streams SET clock_offset_ms = ?, clock_round_trip_ms = ? WHERE"
                                " session_id = ? AND (clock_offset_ms != ? OR clock_round_trip_ms IS NOT ?)",
                                [offset_ms, trip_ms, session_id, offset_ms, trip_ms]).rowcount:
                self._audit.action(actor, "agent.clock_offset", session_id=session_id,
                                   detail={"clock_offset_ms": offset_ms, "clock_round_trip_ms": trip_ms})

    @locked
    def end_agent_stream(self, session_id: int, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """The agent has sent everything and the session is closed."""
        with immediate_transaction(self._db):
            if self._db.execute("UPDATE agent_streams SET ended_at = ? WHERE session_id = ? AND ended_at IS NULL",
                                [now_utc_iso(), session_id]).rowcount:
                self._audit.action(actor, "agent.stream_ended", session_id=session_id)

    @locked
    def abandon_agent_stream(self, session_id: int, *, from_epoch_s: float, to_epoch_s: float,
                             actor: Actor = SYSTEM_ACTOR) -> None:
        """Give up waiting for a session's agent (it never came back): its stream ends, and the outage from its
        last audio here to now is recorded, in one transaction. What arrived is kept; finishing the session is the
        engine's (engine/abandoned.py). Raises StreamNotOpen for a session with no open agent stream."""
        if not 0 < from_epoch_s <= to_epoch_s:
            raise StoreError(f"an outage runs forwards in time, not from {from_epoch_s} to {to_epoch_s}")
        now = now_utc_iso()
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            if not self._db.execute("UPDATE agent_streams SET ended_at = ?, abandoned_at = ? WHERE session_id = ?"
                                    " AND ended_at IS NULL", [now, now, session_id]).rowcount:
                raise StreamNotOpen(f"session {session_id} has no room agent stream still open")
            from_at, to_at = _iso(from_epoch_s), _iso(to_epoch_s)
            self._db.execute("INSERT OR IGNORE INTO session_outages (session_id, from_at, to_at, created_at)"
                             " VALUES (?, ?, ?, ?)", [session_id, from_at, to_at, now])
            self._audit.action(actor, "agent.stream_abandoned", session_id=session_id,
                               detail={"outage_from": from_at, "outage_to": to_at,
                                       "seconds": round(to_epoch_s - from_epoch_s, 3)})

    @locked
    def open_agent_sessions(self) -> set[int]:
        """Sessions whose agent has not finished sending: the service takes them up when the agent reconnects,
        so recovery at start-up leaves them alone."""
        return {row["session_id"] for row in self._db.query(
            "SELECT a.session_id FROM agent_streams a JOIN sessions s ON s.id = a.session_id"
            " WHERE a.ended_at IS NULL AND s.status = 'transcribing'")}

    @locked
    def add_outage(self, session_id: int, *, from_epoch_s: float, to_epoch_s: float,
                   actor: Actor = SYSTEM_ACTOR) -> bool:
        """The link of a session's agent was down from .. to (Unix time on this machine's clock). The same outage
        reported twice is kept once; False then."""
        if not 0 < from_epoch_s <= to_epoch_s:
            raise StoreError(f"an outage runs forwards in time, not from {from_epoch_s} to {to_epoch_s}")
        from_at, to_at = _iso(from_epoch_s), _iso(to_epoch_s)
        with immediate_transaction(self._db):
            require_session(self._db, session_id)
            added = self._db.execute("INSERT OR IGNORE INTO session_outages (session_id, from_at, to_at, created_at)"
                                     " VALUES (?, ?, ?, ?)", [session_id, from_at, to_at, now_utc_iso()]).rowcount
            if added:
                self._audit.action(actor, "session.outage", session_id=session_id,
                                   detail={"from": from_at, "to": to_at, "seconds": round(to_epoch_s - from_epoch_s, 3)})
        return bool(added)

    @locked
    def outages(self, session_id: int) -> list[dict]:
        """The session's outages, oldest first: {"from", "to", "seconds"} (local time)."""
        return [{"from": local_iso(r["from_at"]), "to": local_iso(r["to_at"]),
                 "seconds": round((datetime.fromisoformat(r["to_at"]) - datetime.fromisoformat(r["from_at"]))
                                  .total_seconds(), 3)}
                for r in self._db.query("SELECT from_at, to_at FROM session_outages WHERE session_id = ? ORDER BY"
                                        " from_at", [session_id])]

    def _room_row(self, name: str) -> dict:
        row = one(self._db, f"{_ROOM_COLUMNS} WHERE r.name = ?", [name])
        if row is None:
            raise RoomNotFound(f"no room named {name!r} (bilu rooms list shows them)")
        return row


_STREAM_COLUMNS = ("SELECT a.session_id, r.name AS room, a.ended_at, a.abandoned_at, a.clock_offset_ms,"
                   " a.clock_round_trip_ms FROM agent_streams a JOIN rooms r ON r.id = a.room_id")


def _stream_dict(row: dict) -> dict:
    return {"session_id": row["session_id"], "room": row["room"], "ended_at": local_iso(row["ended_at"]),
            "abandoned_at": local_iso(row["abandoned_at"]), "clock_offset_s": row["clock_offset_ms"] / 1000,
            "clock_round_trip_s": _seconds(row["clock_round_trip_ms"])}


def _room_dict(row: dict) -> dict:
    return {"name": row["name"], "unit": row["unit"], "has_token": row["token_sha256"] is not None,
            "token_issued_at": local_iso(row["token_issued_at"]), "token_revoked_at": local_iso(row["token_revoked_at"]),
            "created_at": local_iso(row["created_at"]), "last_session_id": row["last_session_id"],
            "clock_offset_s": _seconds(row["clock_offset_ms"]), "clock_round_trip_s": _seconds(row["clock_round_trip_ms"])}


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat(timespec="milliseconds")


__all__ = ["RoomAgents", "RoomNotFound", "StreamNotOpen"]
