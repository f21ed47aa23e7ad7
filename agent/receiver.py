"""The service's end of a room agent's stream: store each piece once, acknowledge it, and feed the live session.

One `StreamReceiver` per service. A stream (one recording of one room) outlives its connections: when the link
drops, its session keeps waiting for audio, and the agent's next connection carries on from what is stored here
(`welcome` says how many frames and closed segments that is). When this service restarts, the stream is taken
up from the session's folder: the segments are read back (headers repaired), the audio after the last committed
utterance is transcribed again from the disk, and the agent resends the rest.

Written once: `SegmentMirror` skips what it holds already and refuses gaps; a closed segment's sha256 must be
the agent's. Acknowledged only after fsync. Fed to the transcriber once: frames up to `fed_frames` are not fed
again, even when a segment that did not match is received a second time.
"""
import asyncio
import contextlib
import json
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
import logging
import threading
import time
from dataclasses import dataclass, field

from fastapi import WebSocket, WebSocketDisconnect

from error_kinds import Conflict, Unavailable

from capture import AudioChunk
from capture.mirror import MirrorError, SegmentMirror
from cases import CaseNotFound, Store, check_case_no
from diarize import parse_seat_roles
from engine.live import LiveRequest, LiveSession
from engine.live_handoff import WorkerFeed
from engine.received import ReceivedAudio
from engine.rooms import LiveRooms, RoomBusy
from engine.settings import Settings

from agent.protocol import PROTOCOL, REFUSED_REQUEST, ROOM_BUSY, ProtocolError, parse_audio

MAX_HOTWORDS_CHARS = 2000

log = logging.getLogger(__name__)

# Shown on the live page when a room's agent drops during a recording (the recording goes on in the room).
OFFLINE_ALERT = "审讯室终端与服务器的连接中断：录音在审讯室本地继续，恢复连接后自动补传"


class AgentOffline(Unavailable):
    """The room's agent is not connected (or did not start): a fault of the room, not of the request (503)."""

    code = "agent_offline"


class AgentOnline(Conflict):
    """The session's agent is connected: it is not abandoned."""

    code = "agent_online"


@dataclass
class _Stream:
    key: str
    room: str
    session: LiveSession
    feed: ReceivedAudio | WorkerFeed
    mirror: SegmentMirror
    clock_offset_s: float
    clock_round_trip_s: float | None = None
    fed_frames: int = 0
    connection: WebSocket | None = None
    loop: asyncio.AbstractEventLoop | None = None
    stop_requested: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StreamReceiver:
    def __init__(self, settings: Settings, rooms: LiveRooms):
        self.settings, self.rooms = settings, rooms
        self._streams: dict[str, _Stream] = {}
        self._opening = threading.Lock()
        self._standing_by: dict[str, tuple[WebSocket, asyncio.AbstractEventLoop]] = {}
        self._starting: dict[str, tuple[str, Future, dict]] = {}  # room -> (case_no, session id to come, rules)
        self._standby_clocks: dict[str, tuple[float, float]] = {}  # room -> (offset, round trip) while standing by

    async def serve(self, websocket: WebSocket, room: dict) -> None:
        """Run one connection of `room`'s agent (already authenticated and accepted) until it closes."""
        try:
            raw = json.loads(await websocket.receive_text())
            received_s = time.time()  # for the agent's measure of its clock (agent/protocol.py clock_offset)
            if isinstance(raw, dict) and raw.get("standby") is True and raw.get("room") == room["name"]:
                await self._stand_by(websocket, room["name"], received_s)
                return
            hello = _checked_hello(raw, room["name"])
        except (ProtocolError, ValueError, KeyError, TypeError) as exc:
            await _refuse(websocket, REFUSED_REQUEST, f"bad hello: {exc}")
            return
        # Until the agent's own measure comes (its "clock" message): an upper bound, off by the way here.
        offset_s = received_s - hello["agent_time"]
        try:
            stream, ended = await asyncio.to_thread(self._stream_for, hello, room, offset_s)
        except RoomBusy as exc:
            await _refuse(websocket, ROOM_BUSY, str(exc))
            return
        except (ValueError, MirrorError) as exc:
            await _refuse(websocket, REFUSED_REQUEST, str(exc))
            return
        if stream is None:  # finished before: the agent only needs to hear so
            await websocket.send_json({"type": "welcome", "session_id": ended, "frames": None, "segments": None,
                                       "received_time": received_s, "server_time": time.time(), "ended": True})
            await websocket.close()
            return
        previous = stream.connection
        if previous is not None:  # a half-open connection the agent has given up on
            with _suppressed():
                await previous.close()
        async with stream.lock:
            await self._run_connection(websocket, stream, offset_s, received_s)

    # -- agents standing by for the page's start --------------------------------------------------------------

    async def _stand_by(self, websocket: WebSocket, room: str, received_s: float) -> None:
        """An agent waiting for a session to be started on the page: kept until it goes, or is told to start."""
        self._standing_by[room] = (websocket, asyncio.get_running_loop())
        try:
            await websocket.send_json({"type": "standby", "received_time": received_s, "server_time": time.time()})
            while (message := await websocket.receive())["type"] != "websocket.disconnect":
                with contextlib.suppress(ValueError, TypeError, KeyError):  # it says only how its clock is
                    clock = _checked_clock(json.loads(message.get("text") or "null"))
                    self._standby_clocks[room] = clock
        except WebSocketDisconnect:
            pass
        finally:
            if self._standing_by.get(room, (None,))[0] is websocket:
                del self._standing_by[room]

    def room_state(self, room: str) -> dict:
        """What the service knows of `room`'s agent now: `agent` ("recording": streaming a session; "offline":
        a session is recording but its link is down; "standing_by": connected, waiting for the page's start;
        "not_connected"), the `session_id` it records, and its clock as last measured (`clock_offset_s`,
        `clock_round_trip_s`: seconds, the offset is ours minus the agent's; None before any measure)."""
        for stream in list(self._streams.copy().values()):  # copied at once: the event loop may add one meanwhile
            if stream.room == room and stream.session.status == "recording":
                return {"agent": "recording" if stream.connection is not None else "offline",
                        "session_id": stream.session.session_id, "clock_offset_s": round(stream.clock_offset_s, 3),
                        "clock_round_trip_s": stream.clock_round_trip_s}
        clock = self._standby_clocks.get(room, (None, None))
        return {"agent": "standing_by" if room in self._standing_by else "not_connected", "session_id": None,
                "clock_offset_s": clock[0], "clock_round_trip_s": clock[1]}

    def room_view(self, room: str) -> dict:
        """`room_state`, and while its agent records here each seat's level (`levels_db`, else None)."""
        state = self.room_state(room)
        running = self.rooms.live_status(state["session_id"]) if state["session_id"] is not None else None
        return {**state, "levels_db": None if running is None else running["levels_db"]}

    def rooms_here(self) -> dict[str, dict]:
        """`room_view` of each room whose agent this service holds (recording, offline or standing by): what it
        publishes for GET /rooms on other nodes (BILU_BROKER_URL). Called from the relay's thread."""
        rooms = {stream.room for stream in list(self._streams.copy().values())} | set(self._standing_by.copy())
        views = {room: self.room_view(room) for room in rooms}
        return {room: view for room, view in views.items() if view["agent"] != "not_connected"}

    def agent_standing_by(self, room: str) -> bool:
        return room in self._standing_by

    def standing_by_rooms(self) -> list[str]:
        """The rooms whose agents stand by here (called from another thread: agent/remote_start.py)."""
        return list(self._standing_by.copy())

    def start_remote(self, room: str, start: dict, *, wait_s: float = 60.0) -> int:
        """Tell `room`'s standing-by agent to record a session (`start`: case_no, seat_roles, diarizer, channels,
        duration_s; rule_set, conditions, hotwords, and the actor and started_as of engine.live.LiveRequest) and wait until its stream has opened the session; its id. Called from a worker thread.
        Raises AgentOffline when the room's agent is not connected or does not start in `wait_s`."""
        standing = self._standing_by.get(room)
        if standing is None:
            raise AgentOffline(f"room {room}: its agent is not connected",
                               zh=f"审讯室 {room} 的终端不在线：请检查审讯室电脑上的 bilu agent 和网络")
        websocket, loop = standing
        started: Future = Future()
        # What the page chose, and who started it (audited with the session's row): kept here, not sent to the
        # agent (the actor is no JSON); the hotwords are sent too.
        rules = {key: start.pop(key) for key in ("rule_set", "conditions", "hotwords", "actor", "started_as")
                 if key in start}
        start["hotwords"] = rules.get("hotwords")  # the agent states them again if it reconnects after a restart
        self._starting[room] = (start["case_no"], started, rules)
        try:
            asyncio.run_coroutine_threadsafe(websocket.send_json({"type": "start", **start}), loop).result(5)
            return started.result(wait_s)
        except (TimeoutError, FutureTimeout, RuntimeError) as exc:
            raise AgentOffline(f"room {room}: its agent did not start recording ({type(exc).__name__})",
                               zh=f"审讯室 {room} 的终端没有开始录音") from exc
        finally:
            self._starting.pop(room, None)

    async def _run_connection(self, websocket: WebSocket, stream: _Stream, offset_s: float, received_s: float) -> None:
        stream.connection, stream.loop = websocket, asyncio.get_running_loop()
        stream.clock_offset_s, stream.clock_round_trip_s = offset_s, None
        session_id = stream.session.session_id
        await websocket.send_json({"type": "welcome", "session_id": session_id, "frames": stream.mirror.stored_frames,
                                   "segments": stream.mirror.closed_count, "received_time": received_s,
                                   "server_time": time.time(), "ended": False})
        stream.session.notify({"type": "agent", "state": "online", "room": stream.room})
        if stream.stop_requested:
            await websocket.send_json({"type": "stop"})
        finished = False
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    await asyncio.to_thread(self._store_audio, stream, message["bytes"])
                else:
                    finished = await self._handle_text(websocket, stream, json.loads(message["text"]))
                    if finished:
                        break
                    continue
                await websocket.send_json({"type": "ack", "frames": stream.mirror.stored_frames,
                                           "segments": stream.mirror.closed_count})
        except (ProtocolError, MirrorError, ValueError, KeyError, TypeError) as exc:
            log.error("room %s, session %s: the agent's stream was refused: %s", stream.room, session_id, exc)
            await _refuse(websocket, REFUSED_REQUEST, str(exc))
        except WebSocketDisconnect:
            pass
        finally:
            if stream.connection is websocket:
                stream.connection = None
        if not finished and stream.session.status == "recording":
            log.warning("room %s: its agent went offline during session %s", stream.room, session_id)
            stream.session.notify({"type": "agent", "state": "offline", "room": stream.room})
            stream.session.notify({"type": "alert", "kind": "agent_offline", "message": OFFLINE_ALERT,
                                   "rule_keys": [], "utterance_id": None, "start_s": None})

    async def _handle_text(self, websocket: WebSocket, stream: _Stream, message: dict) -> bool:
        kind = message.get("type")
        if kind == "clock":  # the agent's measure of its clock: outages it reports after this are put on ours with it
            stream.clock_offset_s, stream.clock_round_trip_s = _checked_clock(message)
            session_id = stream.session.session_id
            await asyncio.to_thread(_with_store, self.settings, lambda s: s.set_agent_clock_offset(
                session_id, stream.clock_offset_s, round_trip_s=stream.clock_round_trip_s))
        elif kind == "segment":
            await asyncio.to_thread(self._close_segment, stream, message)
            await websocket.send_json({"type": "ack", "frames": stream.mirror.stored_frames,
                                       "segments": stream.mirror.closed_count})
        elif kind == "outage":
            start, end = float(message["from"]), float(message["to"])
            session_id = stream.session.session_id
            await asyncio.to_thread(_with_store, self.settings, lambda s: s.add_outage(
                session_id, from_epoch_s=start + stream.clock_offset_s, to_epoch_s=max(start, end) + stream.clock_offset_s))
        elif kind == "end":
            if (message.get("frames"), message.get("segments")) != (stream.mirror.stored_frames,
                                                                    stream.mirror.closed_count):
                raise ProtocolError(f"the agent ended at {message.get('frames')} frames and {message.get('segments')} "
                                    f"segments; {stream.mirror.stored_frames} and {stream.mirror.closed_count} are here")
            status = await asyncio.to_thread(self._finish, stream)
            await websocket.send_json({"type": "closed", "status": status})
            with _suppressed():
                await websocket.close()
            return True
        else:
            raise ProtocolError(f"unknown message type {kind!r}")
        return False

    def detach(self, session_id: int, give_up) -> bool:
        """Let go of a session whose agent is gone for good (engine/abandoned.py): `give_up()` (which ends its
        stream in the store) is called while no agent can connect, then the session's thread transcribes what was
        fed and leaves the session open with its folder unlocked, for the engine to finish. False when this service
        does not hold the session; raises AgentOnline when its agent is connected. Called from a worker thread."""
        with self._opening:
            stream = next((s for s in self._streams.values() if s.session.session_id == session_id), None)
            if stream is None:
                return False
            if stream.connection is not None:
                raise AgentOnline(f"session {session_id}: the agent of room {stream.room} is connected; stop the "
                                  "recording instead", zh=f"审讯室 {stream.room} 的终端在线：请在页面上结束录音")
            give_up()
            self._streams.pop(stream.key, None)
        thread = self.rooms.thread_of(session_id)
        stream.mirror.close()
        stream.feed.suspend()
        if thread is not None:
            thread.join()
        return True

    # -- on a worker thread (disk and database) ----------------------------------------------------------

    def _stream_for(self, hello: dict, room: dict, offset_s: float) -> tuple[_Stream | None, int | None]:
        """The stream the hello names: running here, taken up after a restart, or new."""
        with self._opening:
            stream = self._streams.get(hello["stream"])
            if stream is not None and stream.session.status == "recording":
                return stream, None
            with self.settings.open_store() as store:
                known = store.agent_stream(hello["stream"])
                if known is not None and known["room"] != room["name"]:
                    raise ProtocolError(f"stream {hello['stream']} belongs to room {known['room']!r}")
                if known is not None and (known["ended_at"] is not None
                                          or store.get_session(known["session_id"])["status"] != "transcribing"):
                    self._streams.pop(hello["stream"], None)
                    return None, known["session_id"]
                waiting = self._starting.get(room["name"])
                page_start = waiting if known is None and waiting and waiting[0] == hello["case_no"] else None
                rules = page_start[2] if page_start else {}  # the rule set and conditions chosen on the page
                request = LiveRequest(case_no=hello["case_no"], room=room["name"], seat_roles=hello["seat_roles"],
                                      diarizer=hello["diarizer"], **{"hotwords": hello["hotwords"], **rules})
                holder: dict = {}
                on_stop = lambda: self._request_stop(holder["stream"])  # noqa: E731
                if known is None:
                    self._prepare_case(store, hello["case_no"], room)
                    session, feed, from_s = self.rooms.start_received(
                        request, sample_rate=hello["sample_rate"], channels=hello["channels"], on_stop=on_stop)
                    store.add_agent_stream(session.session_id, room=room["name"], stream_key=hello["stream"],
                                           clock_offset_s=offset_s)
                    closed = set()
                else:
                    session, feed, from_s = self.rooms.start_received(
                        request, sample_rate=hello["sample_rate"], channels=hello["channels"],
                        resume_session_id=known["session_id"], on_stop=on_stop)
                    closed = {s["seq"] for s in store.audio_segments(known["session_id"])}
                mirror = SegmentMirror(session.folder, sample_rate=hello["sample_rate"], channels=hello["channels"],
                                       closed=closed)
            for info in mirror.closed:  # closed before the restart, perhaps not yet recorded then
                session.segment_closed(info)
            stream = _Stream(hello["stream"], room["name"], session, feed, mirror, offset_s,
                             fed_frames=mirror.stored_frames)
            holder["stream"] = stream
            if known is not None and mirror.stored_frames:
                feed.take_up(mirror.segments(), from_s)
                log.info("room %s: session %s taken up again from %.1f s (%d frames stored)", room["name"],
                         session.session_id, from_s, mirror.stored_frames)
            self._streams[hello["stream"]] = stream
            feed.start()  # the agent's stream is in the store: on a worker (BILU_LIVE_ON_WORKERS), its job goes now
            if page_start is not None and not page_start[1].done():
                page_start[1].set_result(session.session_id)  # the page's start: its answer
            return stream, None

    def _prepare_case(self, store: Store, case_no: str, room: dict) -> None:
        check_case_no(case_no)
        try:
            store.get_case(case_no)
        except CaseNotFound:  # a new case belongs to the room's unit
            store.ensure_case(case_no, actor=f"agent:{room['name']}")
            store.set_case_unit(case_no, room["unit"], actor=f"agent:{room['name']}")

    def _store_audio(self, stream: _Stream, message: bytes) -> None:
        offset, index, start_s, pcm = parse_audio(message)
        before = stream.mirror.stored_frames
        chunk = stream.mirror.append(index=index, start_s=start_s, offset=offset, pcm=pcm)
        stream.mirror.sync()
        if chunk is None:
            return
        skip = max(0, stream.fed_frames - before)  # fed already (a segment received a second time)
        if skip < chunk.samples.shape[0]:
            stream.feed.put(AudioChunk(samples=chunk.samples[skip:], sample_rate=chunk.sample_rate,
                                       start_s=chunk.start_s + skip / chunk.sample_rate),
                            offset=before + skip, segment=index)
        stream.fed_frames = max(stream.fed_frames, before + chunk.samples.shape[0])

    def _close_segment(self, stream: _Stream, message: dict) -> None:
        info = stream.mirror.close_segment(index=int(message["index"]), start_s=float(message["start_s"]),
                                           frames=int(message["frames"]),
                                           sha256=str(message["sha256"]))
        if info is not None:
            stream.session.segment_closed(info)

    def _finish(self, stream: _Stream) -> str:
        stream.mirror.close()
        thread = self.rooms.thread_of(stream.session.session_id)
        stream.feed.end()
        if thread is not None:
            thread.join()
        session_id = stream.session.session_id
        _with_store(self.settings, lambda s: s.end_agent_stream(session_id))
        self._streams.pop(stream.key, None)
        return stream.session.status

    def _request_stop(self, stream: _Stream) -> None:
        """Stopped from the page: the agent stops recording, sends the rest and ends the stream."""
        stream.stop_requested = True
        connection, loop = stream.connection, stream.loop
        if connection is not None and loop is not None:
            asyncio.run_coroutine_threadsafe(_send_quietly(connection, {"type": "stop"}), loop)


def _checked_hello(hello: dict, room: str) -> dict:
    if not isinstance(hello, dict) or hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL:
        raise ProtocolError(f"the first message must be a hello of protocol {PROTOCOL}")
    if hello.get("room") != room:
        raise ProtocolError(f"the hello names room {hello.get('room')!r}, the connection room {room!r}")
    stream = hello.get("stream")
    if not isinstance(stream, str) or not 8 <= len(stream) <= 64 or not stream.isalnum():
        raise ProtocolError("stream must be 8 to 64 letters and digits")
    rate, channels = hello.get("sample_rate"), hello.get("channels")
    if not isinstance(rate, int) or not 8000 <= rate <= 192000 or not isinstance(channels, int) or not 1 <= channels <= 32:
        raise ProtocolError(f"sample_rate {rate!r} (8000..192000) or channels {channels!r} (1..32) out of range")
    seat_roles = hello.get("seat_roles") or []
    diarizer = hello.get("diarizer")
    if diarizer not in (None, "channel", "voice"):
        raise ProtocolError(f"diarizer must be channel or voice, not {diarizer!r}")
    hotwords = hello.get("hotwords")
    if hotwords is not None and (not isinstance(hotwords, str) or len(hotwords) > MAX_HOTWORDS_CHARS):
        raise ProtocolError(f"hotwords must be text of at most {MAX_HOTWORDS_CHARS} characters")
    return {**hello, "seat_roles": parse_seat_roles(",".join(seat_roles)) if seat_roles else (),
            "hotwords": hotwords.strip() or None if hotwords else None,
            "agent_time": float(hello["agent_time"]), "case_no": check_case_no(hello.get("case_no"))}


def _checked_clock(message: dict) -> tuple[float, float]:
    """(offset, round trip) of an agent's "clock" message; a clock more than a day off, or a round trip over a
    minute, is not a measure but a fault."""
    if not isinstance(message, dict) or message.get("type") != "clock":
        raise ProtocolError("not a clock message")
    offset_s, round_trip_s = float(message["offset_s"]), float(message["round_trip_s"])
    if not (abs(offset_s) <= 86400 and 0 <= round_trip_s <= 60):
        raise ProtocolError(f"a clock offset of {offset_s} s measured over a round trip of {round_trip_s} s")
    return offset_s, round_trip_s


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    with _suppressed():
        await websocket.send_json({"type": "error", "message": reason})
        await websocket.close(code=code, reason=reason.encode("utf-8")[:120].decode("utf-8", "ignore"))


async def _send_quietly(websocket: WebSocket, message: dict) -> None:
    with _suppressed():
        await websocket.send_json(message)


def _with_store(settings: Settings, action):
    with settings.open_store() as store:
        return action(store)


def _suppressed() -> contextlib.AbstractContextManager:
    """Ignore a socket that is already gone."""
    return contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError)


__all__ = ["AgentOffline", "AgentOnline", "OFFLINE_ALERT", "StreamReceiver"]
