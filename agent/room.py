"""The room's end: record to the room's own disk first, stream to the service, resend what it did not acknowledge.

    microphone ──► SegmentRecorder (spool/ROOM/STREAM/segment_*.wav, fsynced) ──► sender: reads the segments
    back from disk from the frame the service last acknowledged, sends them, closes each with its sha256

The sender never holds audio the disk does not: after a cut or a restart of the service, it reconnects (backoff
0.5 s doubling to `max_backoff_s`), hears from the service how far it has stored the recording (frames and
closed segments), and sends from there. The recording goes on meanwhile; an outage (from, to on the agent's
clock) is reported to the service once it is back. A `state.json` beside the segments names the stream and
its session, so an agent killed (kill -9, power cut) and started again with the same room and case takes up
the same session: the segments are repaired from disk and the new audio follows the old on the session clock.

Imports only capture/ of ours, and the `websockets` client: the room's machine never loads recognition.
"""
import asyncio
import json
import logging
import os
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from error_kinds import BadInput

from capture import AudioChunk, SegmentInfo, SegmentRecorder, recover_segments
from capture.recorder import HEADER_BYTES, SAMPLE_WIDTH_BYTES, fsync_folder, segment_path

from agent.protocol import PROTOCOL, REFUSALS, STREAM_PATH, audio_message, clock_offset

log = logging.getLogger(__name__)

STATE_NAME = "state.json"
_MAX_MESSAGE_S = 0.5  # audio per message: small enough that a cut loses little in flight
_POLL_S = 0.05


class AgentRefused(BadInput):
    """The service refused this agent (wrong, revoked or another room's token, a bad request)."""

    code = "agent_refused"


class AgentArgumentError(BadInput):
    """A bad option of `bilu agent` (an unusable server URL, an empty token file, another unfinished case)."""

    code = "agent_option_invalid"


@dataclass(frozen=True)
class AgentOptions:
    server_url: str
    room: str
    token: str
    spool: Path  # the room's archive: one folder per recording under spool/ROOM/
    case_no: str
    seat_roles: tuple[str, ...] = ()
    diarizer: str | None = None
    hotwords: str | None = None  # words to favour in recognition (names, places), as `bilu record --hotwords`
    duration_s: float | None = None  # of the whole session, counting what an earlier run of the agent recorded
    segment_s: float = 5.0
    max_backoff_s: float = 10.0
    ca_file: Path | None = None  # a CA to trust for an https server with a certificate of its own

    def stream_url(self) -> str:
        parts = urlsplit(self.server_url)
        scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
        if scheme is None or not parts.netloc:
            raise AgentArgumentError(f"--server must be an http(s):// or ws(s):// address, not {self.server_url!r}")
        return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}?room={quote(self.room)}"


@dataclass
class _State:
    """What the room's disk says about one recording (state.json), written atomically."""

    folder: Path
    stream: str
    room: str
    case_no: str
    sample_rate: int
    channels: int
    session_id: int | None = None
    offline_since: float | None = None
    finished: bool = False

    def save(self) -> None:
        data = {"stream": self.stream, "room": self.room, "case_no": self.case_no, "sample_rate": self.sample_rate,
                "channels": self.channels, "session_id": self.session_id, "offline_since": self.offline_since,
                "finished": self.finished}
        partial = self.folder / f"{STATE_NAME}.part"
        with open(partial, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        partial.replace(self.folder / STATE_NAME)
        fsync_folder(self.folder)

    @classmethod
    def load(cls, folder: Path) -> "_State":
        data = json.loads((folder / STATE_NAME).read_text(encoding="utf-8"))
        return cls(folder=folder, **data)


def unfinished_recording(spool: Path, room: str) -> "_State | None":
    """The room's recording an earlier run of the agent did not finish sending, if any."""
    for state_file in sorted((spool / room).glob(f"*/{STATE_NAME}")):
        state = _State.load(state_file.parent)
        if not state.finished:
            return state
    return None


class RoomAgent:
    """One recording of one room, from its microphone to the service. `run()` blocks until it is all sent."""

    def __init__(self, options: AgentOptions, *, on_session: Callable[[int], None] = lambda session_id: None,
                 on_notice: Callable[[str], None] = lambda text: None):
        self.options = options
        self.url = options.stream_url()
        self._on_session, self._on_notice = on_session, on_notice
        self._lock = threading.Lock()
        self._closed: list[SegmentInfo] = []  # closed segments on the room's disk, in order
        self._durable_frames = 0  # frames on disk (fsynced), counted from the recording's start
        self._open_start: tuple[int, float] | None = None  # (index, start_s) of the segment being written
        self._recording_done = threading.Event()
        self.stop_requested = threading.Event()
        self._sent_all = threading.Event()
        self._refused: str | None = None
        self._session_announced = False
        self.state: _State | None = None
        self.time_offset_s = 0.0  # the session time this run's first sample lands on

    # -- the recording (caller's thread) -------------------------------------------------------------------

    def run(self, chunks: Iterable[AudioChunk], *, sample_rate: int, channels: int) -> None:
        """Record `chunks` (a microphone's) until the duration, stop() or the service's stop, then send the rest.
        Raises AgentRefused when the service refuses the agent (the audio stays on the room's disk)."""
        self._open_state(sample_rate=sample_rate, channels=channels)
        recorder = SegmentRecorder(self.state.folder, sample_rate=sample_rate, channels=channels,
                                   segment_s=self.options.segment_s, on_segment=self._segment_closed,
                                   on_written=self._written)
        sender = threading.Thread(target=lambda: asyncio.run(self._send_until_done()), name="agent-sender",
                                  daemon=True)
        sender.start()
        try:
            with recorder:
                for chunk in chunks:
                    if self.stop_requested.is_set() or self._refused:
                        break
                    at_s = chunk.start_s + self.time_offset_s
                    recorder.write(AudioChunk(samples=chunk.samples, sample_rate=chunk.sample_rate, start_s=at_s))
                    if self.options.duration_s is not None and at_s + chunk.duration_s >= self.options.duration_s:
                        break
        finally:
            self._recording_done.set()
        while sender.is_alive():  # all sent, or refused; Ctrl-C leaves the rest for the next run
            sender.join(0.2)
        if self._refused:
            if self.state.session_id is None:  # never part of a session: kept on disk, but not taken up again
                self.state.finished = True
                self.state.save()
            raise AgentRefused(self._refused)

    def stop(self) -> None:
        self.stop_requested.set()

    def _open_state(self, *, sample_rate: int, channels: int) -> None:
        spool = self.options.spool
        earlier = unfinished_recording(spool, self.options.room)
        if earlier is not None:
            if earlier.case_no != self.options.case_no:
                raise AgentArgumentError(
                    f"room {self.options.room} has an unfinished recording of case {earlier.case_no} in "
                    f"{earlier.folder}: run the agent with --case {earlier.case_no} to finish sending it first")
            if (earlier.sample_rate, earlier.channels) != (sample_rate, channels):
                raise AgentArgumentError(
                    f"the unfinished recording in {earlier.folder} is {earlier.sample_rate} Hz, {earlier.channels} "
                    f"channels; the device gives {sample_rate} Hz, {channels} channels")
            self.state = earlier
            segments = recover_segments(earlier.folder)  # repairs the header a kill left unpatched
            self._closed = list(segments)
            self._durable_frames = sum(s.frames for s in segments)
            self.time_offset_s = max((s.start_s + s.duration_s for s in segments), default=0.0)
            if self.state.offline_since is None:  # the agent itself was down: an outage of the link too
                last = max((s.path.stat().st_mtime for s in segments), default=time.time())
                self.state.offline_since = last
            self.state.save()
            log.info("taking up the unfinished recording %s at %.1f s", earlier.stream, self.time_offset_s)
            if self.state.session_id is not None:
                self._announce(self.state.session_id)
            return
        stream = uuid.uuid4().hex
        folder = spool / self.options.room / stream
        folder.mkdir(parents=True, exist_ok=False)
        self.state = _State(folder=folder, stream=stream, room=self.options.room, case_no=self.options.case_no,
                            sample_rate=sample_rate, channels=channels)
        self.state.save()

    def _written(self, chunk: AudioChunk) -> None:  # the recorder's thread: on disk now
        with self._lock:
            self._durable_frames += chunk.samples.shape[0]

    def _segment_closed(self, info: SegmentInfo) -> None:
        with self._lock:
            self._closed.append(info)

    def _announce(self, session_id: int) -> None:
        if not self._session_announced:
            self._session_announced = True
            self._on_session(session_id)

    # -- the sender (its own thread, asyncio) ---------------------------------------------------------------

    async def _send_until_done(self) -> None:
        import websockets
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

        backoff_s = 0.5
        context = None
        if self.url.startswith("wss://"):
            context = ssl.create_default_context(cafile=str(self.options.ca_file) if self.options.ca_file else None)
        while True:
            try:
                async with websockets.connect(
                    self.url, additional_headers={"Authorization": f"Bearer {self.options.token}"}, ssl=context,
                    open_timeout=10, ping_interval=5, ping_timeout=10, close_timeout=2, max_size=2 ** 20,
                ) as connection:
                    if await self._converse(connection):
                        return
                    backoff_s = 0.5
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else None
                if code in REFUSALS:
                    self._refused = f"the service refused the agent: {exc.rcvd.reason or code}"
                    return
                self._went_offline(f"connection lost ({code or 'no close frame'})")
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    self._refused = f"the service refused the agent (HTTP {exc.response.status_code})"
                    return
                self._went_offline(f"HTTP {exc.response.status_code}")
            except (OSError, InvalidHandshake, asyncio.TimeoutError, TimeoutError) as exc:
                self._went_offline(type(exc).__name__)
            await asyncio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, self.options.max_backoff_s)

    def _went_offline(self, why: str) -> None:
        if self.state.offline_since is None:
            self.state.offline_since = time.time()
            self.state.save()
            log.warning("the link to the service is down (%s): recording on, resending when it is back", why)
            self._on_notice(f"与服务器的连接中断（{why}），录音继续保存在本地，恢复后自动补传")

    async def _converse(self, connection) -> bool:
        """One connection: hello, welcome, then send from where the service is. True when the recording is
        finished and the service has closed its session."""
        o = self.options
        sent_s = time.time()
        await connection.send(json.dumps({
            "type": "hello", "protocol": PROTOCOL, "room": o.room, "stream": self.state.stream, "case_no": o.case_no,
            "sample_rate": self.state.sample_rate, "channels": self.state.channels, "seat_roles": list(o.seat_roles),
            "diarizer": o.diarizer, "hotwords": o.hotwords, "segment_s": o.segment_s, "agent_time": sent_s}))
        welcome = json.loads(await connection.recv())
        clock = _clock_message(welcome, sent_s=sent_s, back_s=time.time())
        if welcome.get("type") == "error":
            await connection.recv()  # the close frame that follows says whether this is a refusal
        if welcome.get("ended"):
            self._announce(welcome["session_id"])
            # Finished on the service without this agent (bilu rooms finish) or before: what it lacks stays here.
            self._on_notice(f"服务器上的会话 {welcome['session_id']} 已结束；本机录音保存在 {self.state.folder}")
            self.stop_requested.set()  # nothing more of it can be sent: stop recording it
            self.state.session_id, self.state.finished = welcome["session_id"], True
            self.state.save()
            return True
        if self.state.session_id != welcome["session_id"]:
            self.state.session_id = welcome["session_id"]
            self.state.save()
        self._announce(welcome["session_id"])
        if clock is not None:  # first: the outage below is put on the service's clock with it
            await connection.send(json.dumps(clock))
        if self.state.offline_since is not None:
            await connection.send(json.dumps({"type": "outage", "from": self.state.offline_since, "to": time.time()}))
            self.state.offline_since = None
            self.state.save()
            self._on_notice("已重新连接服务器，正在补传")
        closed = asyncio.Event()
        listener = asyncio.create_task(self._listen(connection, closed))
        try:
            position, segments = int(welcome["frames"]), int(welcome["segments"])
            while not closed.is_set():
                if listener.done():
                    listener.result()  # the connection ended: raise why
                    return False
                sent, position, segments = await self._send_next(connection, position, segments)
                if sent:
                    continue
                if self._recording_done.is_set() and self._all_sent(position, segments):
                    if not self._sent_all.is_set():
                        self._sent_all.set()
                        await connection.send(json.dumps({"type": "end", "frames": position, "segments": segments}))
                await asyncio.sleep(_POLL_S)
            self.state.finished = True
            self.state.save()
            return True
        finally:
            listener.cancel()
            self._sent_all.clear()

    async def _listen(self, connection, closed: asyncio.Event) -> None:
        async for raw in connection:
            message = json.loads(raw)
            if message.get("type") == "stop":
                self.stop_requested.set()
            elif message.get("type") == "closed":
                closed.set()
                return
            elif message.get("type") == "error":
                log.error("the service says: %s", message.get("message"))
        await connection.recv()  # raises ConnectionClosed with the service's close code

    def _all_sent(self, position: int, segments: int) -> bool:
        with self._lock:
            return segments == len(self._closed) and position == self._durable_frames

    async def _send_next(self, connection, position: int, segments: int) -> tuple[bool, int, int]:
        """Send the next message the service lacks; (whether one was sent, new position, closed segments)."""
        with self._lock:
            closed, durable = list(self._closed), self._durable_frames
        base = 0
        for info in closed:
            if segments <= info.index and position < base + info.frames:
                data = _read_frames(info.path, position - base, min(base + info.frames - position,
                                                                    self._max_frames()), self.state.channels)
                await connection.send(audio_message(offset=position, index=info.index, start_s=info.start_s, pcm=data))
                return True, position + len(data) // self._block(), segments
            if segments == info.index and position >= base + info.frames:
                await connection.send(json.dumps({"type": "segment", "index": info.index, "start_s": info.start_s,
                                                  "frames": info.frames, "sha256": info.sha256}))
                return True, position, segments + 1
            base += info.frames
        if segments == len(closed) and position < durable:  # the segment being written
            index = len(closed)
            path = segment_path(self.state.folder, index)
            if self._open_start is None or self._open_start[0] != index:
                self._open_start = (index, _segment_start_s(path))
            data = _read_frames(path, position - base, min(durable - position, self._max_frames()), self.state.channels)
            if data:
                await connection.send(audio_message(offset=position, index=index, start_s=self._open_start[1], pcm=data))
                return True, position + len(data) // self._block(), segments
        return False, position, segments

    def _block(self) -> int:
        return self.state.channels * SAMPLE_WIDTH_BYTES

    def _max_frames(self) -> int:
        return int(_MAX_MESSAGE_S * self.state.sample_rate)


def wait_for_start(options: AgentOptions, stop_requested: threading.Event, *,
                   on_notice: Callable[[str], None] = lambda text: None) -> dict | None:
    """Stand by for the service's start (a session started on the room's page): the start message
    (`case_no`, `seat_roles`, `diarizer`, `duration_s`), or None when stop_requested is set first. Reconnects with
    backoff while the service is away; raises AgentRefused when it refuses the token."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
    from websockets.sync.client import connect

    url = options.stream_url()
    context = None
    if url.startswith("wss://"):
        context = ssl.create_default_context(cafile=str(options.ca_file) if options.ca_file else None)
    backoff_s, announced = 0.5, False
    while not stop_requested.is_set():
        try:
            with connect(url, additional_headers={"Authorization": f"Bearer {options.token}"}, ssl=context,
                         open_timeout=10, ping_interval=5, ping_timeout=10, close_timeout=2) as connection:
                sent_s = time.time()
                connection.send(json.dumps({"type": "hello", "protocol": PROTOCOL, "room": options.room,
                                            "standby": True, "agent_time": sent_s}))
                while not stop_requested.is_set():
                    try:
                        message = json.loads(connection.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    if message.get("type") == "standby":
                        if (clock := _clock_message(message, sent_s=sent_s, back_s=time.time())) is not None:
                            connection.send(json.dumps(clock))
                        if not announced:
                            announced = True
                            on_notice("已连接服务器，等待在页面上开始录音")
                    elif message.get("type") == "start":
                        return message
                    backoff_s = 0.5
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code in REFUSALS:
                raise AgentRefused(f"the service refused the agent: {exc.rcvd.reason or exc.rcvd.code}") from None
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                raise AgentRefused(f"the service refused the agent (HTTP {exc.response.status_code})") from None
        except (OSError, InvalidHandshake, TimeoutError):
            pass
        stop_requested.wait(backoff_s)
        backoff_s = min(backoff_s * 2, options.max_backoff_s)
    return None


def _clock_message(answer: dict, *, sent_s: float, back_s: float) -> dict | None:
    """The "clock" message for the service, from its answer to the hello (None from a service that does not
    say when it received the hello)."""
    if not isinstance(answer.get("received_time"), (int, float)) or not isinstance(answer.get("server_time"), (int, float)):
        return None
    offset_s, round_trip_s = clock_offset(sent_s=sent_s, received_s=answer["received_time"],
                                          answered_s=answer["server_time"], back_s=back_s)
    return {"type": "clock", "offset_s": round(offset_s, 4), "round_trip_s": round(round_trip_s, 4)}


def _read_frames(path: Path, first: int, count: int, channels: int) -> bytes:
    block = channels * SAMPLE_WIDTH_BYTES
    with open(path, "rb") as f:
        f.seek(HEADER_BYTES + first * block)
        data = f.read(count * block)
    return data[: len(data) // block * block]


def _segment_start_s(path: Path) -> float:
    """The segment's start on the session clock, from its `bilu` chunk (recorder.wav_header's layout)."""
    with open(path, "rb") as f:
        head = f.read(HEADER_BYTES)
    return struct.unpack_from("<d", head, 44)[0]


__all__ = ["AgentArgumentError", "AgentOptions", "AgentRefused", "RoomAgent", "unfinished_recording", "wait_for_start"]
