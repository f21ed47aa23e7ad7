"""Live events through Redis (engine/live_events.py) without the model: a real Redis, a real store, the relay a
recording node runs and the follower another node runs. tests/test_live_across_nodes.py runs them in real nodes."""
import asyncio
import logging
import time

import pytest

from agent.remote_start import RemoteStartUnavailable, ask_start
from cases import Account
from engine.live import utterance_message
from engine.live_events import EventRelay, LiveEventsUnavailable, follow_remote, history_key
from engine.redis_keys import start_key
from engine.remote_stop import RemoteStopUnavailable, StopListener, ask_stop, stop_key
from engine.settings import Settings
from tests.servers.redis import free_port, redis_server  # noqa: F401  (a fixture)
from transcribe import Utterance


def new_live_session(store) -> int:
    return store.create_session(case_no="E-1", room="一号室", kind="live", source_name=None,
                                audio_path="audio/live/e1", audio_sha256="", audio_bytes=0, duration_s=0.0,
                                sample_rate=16000, channels=1, diarizer="voice", model="base", options={})


def wait_until(condition, limit_s: float = 10) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_late_follower_gets_every_line_once_from_the_store_then_the_channel(tmp_path, redis_server):  # noqa: F811
    settings = Settings(home=tmp_path / "home", broker_url=redis_server.url)
    relay = EventRelay(redis_server.url)
    with settings.open_store() as store:
        session_id = new_live_session(store)

        def emit(message: dict) -> None:
            relay.publish({"session_id": session_id, "time": time.time(), **message})

        def line(n: int) -> int:
            utterance = Utterance(start_s=float(n), end_s=n + 0.5, text=f"第{n}句", speaker="S1")
            utterance_id = store.add_utterance(session_id, utterance)
            emit({"type": "utterance", "utterance": utterance_message(utterance_id, utterance, None)})
            return utterance_id

        emit({"type": "state", "state": "recording"})
        emit({"type": "speaker", "speaker": "S1", "role": None, "channel": None})
        ids = [line(0), line(1)]  # before anyone follows: the follower reads them from the store
        emit({"type": "alert", "kind": "order", "message": "提示", "rule_keys": [], "utterance_id": ids[1],
              "start_s": 1.0})
        emit({"type": "checklist", "findings": [{"key": "k", "title": "告知权利", "status": "missing",
                                                 "utterance_ids": [ids[0]], "start_s": 0.0, "evidence": "第0句"}]})
        relay.watch(session_id, lambda: {"recorded_s": 2.0, "audio_age_s": 0.1, "levels_db": [-20.0]})
        wait_until(lambda: relay.status(session_id) is not None)

        def go_on() -> None:  # while the follower listens
            ids.append(line(2))
            relay._seq[session_id] += 1  # an event lost on its way: what a publish Redis refused leaves
            ids.append(store.add_utterance(session_id, Utterance(start_s=3.0, end_s=3.5, text="第3句",
                                                                 speaker="S1")))
            ids.append(line(4))  # its count jumps: the follower looks in the store and finds line 3 first
            emit({"type": "state", "state": "stopped", "duration_s": 5.0})

        async def follow() -> list[dict]:
            got = []
            async for message in follow_remote(settings, session_id):
                got.append(message)
                if [m["type"] for m in got].count("utterance") == 2 and len(ids) == 2:
                    await asyncio.to_thread(go_on)
            return got

        got = asyncio.run(asyncio.wait_for(follow(), 30))
    relay.close()

    assert [m["utterance"]["id"] for m in got if m["type"] == "utterance"] == ids
    assert [m["type"] for m in got].count("speaker") == 1 and [m["type"] for m in got].count("alert") == 1
    assert got[0]["state"] == "recording" and got[-1]["state"] == "stopped"
    assert all(m["session_id"] == session_id and "seq" not in m and "run" not in m for m in got)
    checklist = [m for m in got if m["type"] == "checklist"]
    assert len(checklist) == 1 and checklist[0]["findings"][0]["utterance_ids"] == [ids[0]]
    kept = redis_server.command("LRANGE", history_key(session_id), "0", "-1")
    assert "checklist" in kept and "第0句" not in kept  # no transcript text stays in Redis
    status = relay.status(session_id)  # the last state deleted the status: it records nowhere now
    assert status is None


def test_a_lost_redis_never_holds_a_recording_up(caplog):
    relay = EventRelay(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    caplog.set_level(logging.WARNING, logger="engine.live_events")
    started = time.monotonic()
    for n in range(3000):  # the recording's side only queues: never a wait on Redis
        relay.publish({"session_id": 1, "type": "tentative", "text": str(n)})
    assert time.monotonic() - started < 1.0
    relay.watch(1, lambda: {"recorded_s": 1.0})
    time.sleep(2.5)
    relay.close()
    lost = [r for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING  # once, not once an event
    with pytest.raises(LiveEventsUnavailable):
        relay.status(1)


def test_a_stop_goes_to_the_node_that_holds_the_session_and_is_never_claimed_unheard(redis_server):  # noqa: F811
    """engine/remote_stop.py: the asker gets the recording node's outcome; a request nobody takes is taken back
    (no node acts on it later) and answered 503. tests/test_live_across_nodes.py runs it between real nodes."""
    actor = Account(id=3, name="officer", display_name="警官", role="officer", unit_id=2, unit_name="城西派出所",
                    unit_level="unit")
    asked: list[tuple[int, Account]] = []
    held = [7]

    def stop(session_id: int, who: Account) -> bool:  # the recording node's stop path (engine/rooms.py)
        asked.append((session_id, who))
        held.remove(session_id)
        return True

    listener = StopListener(redis_server.url, held=lambda: list(held), stop=stop)
    try:
        assert ask_stop(redis_server.url, 7, actor) is True
        assert asked == [(7, actor)]  # the account that asked, whole: the audit's actor
        started = time.monotonic()
        with pytest.raises(RemoteStopUnavailable) as refused:  # 7 is no longer held anywhere
            ask_stop(redis_server.url, 7, actor, taken_within_s=1.0)
        assert time.monotonic() - started < 4 and "未结束" in refused.value.zh
        assert redis_server.command("LLEN", stop_key(7)) == ":0"  # taken back: nobody stops it later
        held.append(7)  # the session recorded here again (its node restarted): the old request did not wait for it
        time.sleep(1.5)
        assert asked == [(7, actor)]
    finally:
        listener.close()
    with pytest.raises(RemoteStopUnavailable):  # no Redis at all: 503, not a stop claimed
        ask_stop(f"redis://127.0.0.1:{free_port()}/0", 7, actor)


def test_a_start_no_node_takes_is_taken_back_and_refused(redis_server):  # noqa: F811
    """agent/remote_start.py: a start asked for a room whose agent's node does not answer is a 503 within the time,
    and taken back, so that no node starts it later; without Redis, a 503 and no start claimed.
    tests/test_live_across_nodes.py starts a session this way between real nodes."""
    actor = Account(id=3, name="officer", display_name="警官", role="officer", unit_id=2, unit_name="城西派出所",
                    unit_level="unit")
    start = {"case_no": "E-1", "seat_roles": [], "channels": 1, "conditions": (), "actor": actor}
    asked = time.monotonic()
    with pytest.raises(RemoteStartUnavailable) as refused:
        ask_start(redis_server.url, "一号室", dict(start), taken_within_s=1.0)
    assert time.monotonic() - asked < 4 and "未开始录音" in refused.value.zh
    assert redis_server.command("LLEN", start_key("一号室")) == ":0"
    with pytest.raises(RemoteStartUnavailable):
        ask_start(f"redis://127.0.0.1:{free_port()}/0", "一号室", dict(start))


def test_rooms_whose_agents_are_elsewhere_are_read_from_what_their_node_publishes(redis_server):  # noqa: F811
    here, elsewhere = EventRelay(redis_server.url), EventRelay(redis_server.url)
    states = {"一号室": {"agent": "recording", "session_id": 5, "clock_offset_s": 0.25, "clock_round_trip_s": 0.01,
                         "levels_db": [-20.0, -31.5]}}
    elsewhere.watch_rooms(lambda: dict(states))
    try:
        wait_until(lambda: here.room_states(["一号室", "二号室"]))
        assert here.room_states(["一号室", "二号室"]) == states  # 二号室: no node holds its agent
        states.clear()  # its agent went from that node: taken off at the next second, not after 10 s
        wait_until(lambda: not here.room_states(["一号室"]), limit_s=3)
    finally:
        here.close()
        elsewhere.close()
