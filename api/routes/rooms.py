"""Live rooms: start a recording, stop it, and follow it on a WebSocket.

The WebSocket pushes JSON messages: `state` (recording, stopped, device_lost or recording_error with a
`message`, then interrupted), `tentative`
(text still changing), `utterance` (committed, the fields of the JSON export), `speaker` (a new speaker and
their role), `alert` (the procedural checker: questions on the facts before the rights notices) and
`checklist` (the running procedural checklist, sent whenever an item changes).

Several service nodes (BILU_BROKER_URL set): a session recorded on another node is followed through Redis
(engine/live_events.py), the same messages from its start; the account is checked here as on any node. Its stop
goes to the recording node (engine/remote_stop.py), a start for a room whose agent stands by on another node goes
to that node (agent/remote_start.py), and GET /rooms shows the rooms whose agents other nodes hold.
"""
import asyncio
import contextlib
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from cases import CaseNotFound, check_case_no
from cases.access import may_correct, scope_of
from diarize import parse_seat_roles

from api.access import AdminUser, CorrectableSession, CurrentUser, VisibleSession
from engine.checking import DEFAULT_RULE_SET
from api.deps import SettingsDep, StoreDep
from api.schemas import AbandonedFinished, LiveStatus, RecordingStarted, RoomPublic, SessionWithFindings
from engine.live import DEVICE_LOST_ERROR, LiveRequest
from engine.live_events import LiveEventsUnavailable, follow_remote
from engine.remote_stop import ask_stop
from agent.remote_start import start_agent_recording
from engine.rooms import LiveRooms
from engine.rooms import stop_recording as stop_here
from api.websocket_auth import websocket_account

log = logging.getLogger(__name__)
router = APIRouter(tags=["rooms"])


def live_rooms(request: Request) -> LiveRooms:
    return request.app.state.rooms


RoomsDep = Annotated[LiveRooms, Depends(live_rooms)]


class StartRecording(BaseModel):
    case_no: str = Field(..., min_length=1, max_length=64)
    device: str | int | None = Field(None, description="Input device: index or (part of) its name.")
    channels: int = Field(1, ge=1, le=32, description="One per seat microphone.")
    seat_roles: str = Field("", description="Roles by seat (channel), e.g. 讯问人,被讯问人.")
    diarizer: str | None = Field(None, pattern="^(channel|voice)$")
    rule_set: str = DEFAULT_RULE_SET
    conditions: list[str] = Field(default_factory=list)
    duration_s: float | None = Field(None, gt=0, description="Stop by itself after this many seconds.")
    hotwords: str | None = Field(None, max_length=2000, description="Words to favour in recognition (names, places), "
                                 "space separated, as `bilu record --hotwords`; kept with the session, used after a "
                                 "restart too.")


@router.post("/rooms/{room}/sessions", status_code=201, response_model=RecordingStarted, summary="在讯问室开始录音")
def start_recording(room: str, body: StartRecording, user: CurrentUser, store: StoreDep,
                    settings: SettingsDep, rooms: RoomsDep, http_request: Request) -> dict:
    """Start recording a session in `room` from its microphones; returns the session id. A room added with
    `bilu rooms add` records through its agent (told to start; 503 when it is not connected). With BILU_BROKER_URL,
    an agent standing by on another node is started by that node (agent/remote_start.py; 503 when it cannot be
    reached or does not confirm)."""
    from capture import Microphone, find_input_device

    check_case_no(body.case_no)
    try:
        store.case_in_scope(body.case_no, scope_of(user))
        new_case = False
    except CaseNotFound:
        if _case_exists(store, body.case_no):
            raise  # someone else's case: the same 404 as no case at all
        new_case = True
    if not may_correct(user):
        raise HTTPException(403, f"a {user.role} may not start recordings")
    seat_roles = parse_seat_roles(body.seat_roles) if body.seat_roles else ()
    # A room added with `bilu rooms add` has its microphones on its own machine: its agent records. Otherwise the
    # device is found before anything is stored (its name goes on the session record and the live page).
    agent_room = _is_agent_room(store, room)
    device = None if agent_room else find_input_device(body.device, channels=body.channels)
    if new_case:  # a new case belongs to the unit of the officer who opens it
        store.ensure_case(body.case_no, actor=user)
        store.set_case_unit(body.case_no, user.unit_name, actor=user)
    hotwords = (body.hotwords or "").strip() or None
    request = LiveRequest(case_no=body.case_no, room=room, seat_roles=seat_roles, diarizer=body.diarizer,
                          rule_set=body.rule_set, conditions=tuple(body.conditions), hotwords=hotwords,
                          source_name=None if device is None else device.name,
                          actor=user, started_as="session.recording_started")  # audited with the session's row

    @contextlib.contextmanager
    def microphone():
        with Microphone(device.index, channels=body.channels) as mic:
            yield mic.chunks()

    try:
        if agent_room:  # its agent may stand by on another node (BILU_BROKER_URL): asked there through Redis
            session_id = start_agent_recording(http_request.app.state.agent_streams, rooms.relay,
                                               settings.broker_url, room, {
                "case_no": body.case_no, "seat_roles": list(request.seat_roles), "diarizer": body.diarizer,
                "channels": body.channels, "duration_s": body.duration_s, "rule_set": body.rule_set,
                "conditions": tuple(body.conditions), "hotwords": hotwords,
                "actor": user, "started_as": "session.recording_started"})
        else:
            session_id = rooms.start(request, microphone, duration_s=body.duration_s)
    except Exception:
        if new_case:  # opened for this recording, which never started (no device, a full disk): not kept
            store.discard_case_if_unused(body.case_no, actor=user)
        raise
    return {"session_id": session_id, "room": room, "websocket": f"/ws/sessions/{session_id}"}


@router.get("/rooms", response_model=list[RoomPublic], summary="讯问室及其终端：在线状态、时钟偏差、录音中的音量")
def list_rooms(user: CurrentUser, store: StoreDep, rooms: RoomsDep, http_request: Request) -> list[dict]:
    """The rooms added with `bilu rooms add` in the user's units (all for an administrator, none for a
    prosecutor): whether the agent is connected (`agent`), the session it records, its clock's offset to the
    service's (as measured now, or at its last session) and, while it records, each seat's level. With
    BILU_BROKER_URL, a room whose agent is connected to another node shows as that node publishes it; while Redis
    cannot be reached, a room whose agent is not connected to this node is `unknown` (it may be on another)."""
    receiver = http_request.app.state.agent_streams
    listed = store.list_rooms(scope=scope_of(user))
    states = {room["name"]: receiver.room_view(room["name"]) for room in listed}
    if rooms.relay is not None:  # rooms whose agents other nodes hold: as those publish them
        elsewhere = [name for name, state in states.items() if state["agent"] == "not_connected"]
        try:
            states.update(rooms.relay.room_states(elsewhere))
        except LiveEventsUnavailable as exc:
            # The list (tokens, this node's rooms) stays usable; what is not known is not shown as not connected.
            log.warning("rooms list: %s", exc)
            states.update({name: {**states[name], "agent": "unknown"} for name in elsewhere})
    found = []
    for room in listed:
        state = states[room["name"]]
        measured = state["clock_offset_s"] is not None
        found.append({**room, **state,
                      "clock_offset_s": state["clock_offset_s"] if measured else room["clock_offset_s"],
                      "clock_round_trip_s": state["clock_round_trip_s"] if measured else room["clock_round_trip_s"]})
    return found


@router.post("/sessions/{session_id}/finish-abandoned", response_model=AbandonedFinished,
             summary="结束终端已失联的讯问：转写已收到的录音，记录中断（管理员）")
def finish_abandoned_session(session_id: int, admin: AdminUser, store: StoreDep, settings: SettingsDep,
                             http_request: Request) -> dict:
    """For a room agent's recording whose agent will not come back (the room's machine lost): stop waiting for
    it, record the outage from its last audio to now, transcribe the audio that arrived and close the session as
    interrupted; audited. 409 when the session is not an agent's open recording, or its agent is connected."""
    from engine.abandoned import finish_abandoned

    app = http_request.app
    summary = finish_abandoned(settings, store, lambda: app.state.pipeline.model, session_id, actor=admin,
                               detach=app.state.agent_streams.detach)
    return {key: summary[key] for key in ("session_id", "status", "duration_s", "utterances_before",
                                          "utterances_added", "outage_s")}


def _is_agent_room(store, room: str) -> bool:
    from cases import RoomNotFound

    try:
        store.room(room)
        return True
    except RoomNotFound:
        return False


def _case_exists(store, case_no: str) -> bool:
    try:
        store.get_case(case_no)
        return True
    except CaseNotFound:
        return False


@router.post("/sessions/{session_id}/stop", response_model=SessionWithFindings, summary="结束录音（转写完最后的语句后返回）")
def stop_recording(session_id: CorrectableSession, user: CurrentUser, store: StoreDep, settings: SettingsDep,
                   rooms: RoomsDep) -> dict:
    """Stop a recording; returns once the last words are transcribed and the session is closed. Recorded on another
    node (BILU_BROKER_URL set): the stop goes to that node through Redis, which stops and audits it as here (503
    when it cannot be reached or does not confirm)."""
    stopped = stop_here(rooms, store, session_id, user)
    if not stopped and rooms.stop_requests is not None and _recording_now(store.get_session(session_id)):
        stopped = ask_stop(settings.broker_url, session_id, user)
    if not stopped:
        raise HTTPException(409, f"session {session_id} is not recording")
    return store.get_session(session_id)


@router.get("/sessions/{session_id}/live", response_model=LiveStatus, summary="录音状态：已录时长、录音设备及其是否在送音频、各座位音量")
def live_status(session_id: VisibleSession, store: StoreDep, rooms: RoomsDep, http_request: Request) -> dict:
    """While the room records: `recording` true, `recorded_s` (audio recorded so far), `audio_age_s` (seconds
    since the device's last audio: a stalled device shows as a growing age), `device`, `channels`,
    `sample_rate`, `levels_db` (each seat's level over the last audio); through a room agent also `agent`
    (recording, or offline while its link is down) and its `clock_offset_s`. Otherwise `recording` false and the
    stored session's status, length and device."""
    running = rooms.live_status(session_id)
    if running is not None:
        agent = store.session_agent(session_id)
        state = None if agent is None else http_request.app.state.agent_streams.room_state(agent["room"])
        return _recording_status(session_id, running, agent, state)
    if rooms.relay is not None and _recording_now(store.get_session(session_id)):
        running = rooms.relay.status(session_id)  # recorded on another node (503 when Redis cannot be reached)
        if running is not None:
            state = running.pop("room_state", None)
            agent = store.session_agent(session_id)
            return _recording_status(session_id, running, agent, state or {"agent": "offline", "session_id": None})
    session = store.get_session(session_id)
    return {"recording": False, "status": session["status"], "recorded_s": session["duration_s"],
            "audio_age_s": None, "device": session["source_name"], "channels": session["channels"],
            "sample_rate": session["sample_rate"],
            "device_lost": (session.get("error") or "").startswith(DEVICE_LOST_ERROR)}


def _recording_status(session_id: int, running: dict, agent: dict | None, state: dict | None) -> dict:
    """A recording's live status; through a room agent, with its link (`state`: agent/receiver.py room_state)."""
    if agent is None:
        return {"recording": True, **running}
    return {"recording": True, **running, "device": running["device"] or f"审讯室终端（{agent['room']}）",
            "agent": state["agent"] if state["session_id"] == session_id else "offline",
            "clock_offset_s": state["clock_offset_s"] if state["session_id"] == session_id
            else agent["clock_offset_s"]}


def _recording_now(session: dict) -> bool:
    """Whether the store says the session is a recording still going on (on whichever node records it)."""
    return session["kind"] == "live" and session["status"] == "transcribing"


@router.websocket("/ws/sessions/{session_id}")
async def follow_session(websocket: WebSocket, session_id: int) -> None:
    """The session's events as JSON messages, from its start, until it stops."""
    app = websocket.app
    account = websocket_account(websocket)
    if account is None:
        await websocket.close(code=4401, reason="log in first")
        return

    with app.state.settings.open_store() as store:
        try:
            store.require_session_in_scope(session_id, scope_of(account))
        except ValueError:
            await websocket.close(code=4404, reason="no such session")
            return
        store.record_audit(account, "session.followed_live", session_id=session_id)
        recording = _recording_now(store.get_session(session_id))
    await websocket.accept()
    rooms = app.state.rooms
    queue = rooms.listen(session_id)
    if queue is None and rooms.relay is not None and recording:  # recorded on another node: through Redis
        await _follow_remote(websocket, app.state.settings, session_id)
        return
    if queue is None:
        await websocket.send_json({"type": "state", "session_id": session_id, "state": "not_recording"})
        await websocket.close()
        return
    try:
        while True:
            message = await queue.get()
            await websocket.send_json(message)
            if message["type"] == "state" and message["state"] not in ("recording",):
                if message["state"] in ("stopped", "interrupted", "done"):
                    break
    except (WebSocketDisconnect, asyncio.CancelledError):
        pass
    finally:
        rooms.forget(session_id, queue)
    with contextlib.suppress(RuntimeError):
        await websocket.close()


async def _follow_remote(websocket: WebSocket, settings, session_id: int) -> None:
    """Send the events of a session another node records until it ends or the page goes: a page that goes is
    seen at once (its subscription and store reads stop), not at the next event."""
    async def send() -> None:
        async with contextlib.aclosing(follow_remote(settings, session_id)) as events:
            async for message in events:
                await websocket.send_json(message)

    async def gone() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(send()), asyncio.create_task(gone())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    sender, page_gone = tasks
    if sender in done and page_gone not in done and sender.exception() is not None:
        raise sender.exception()  # a failure while the page is still there (not a page that left)
    with contextlib.suppress(RuntimeError):
        await websocket.close()
