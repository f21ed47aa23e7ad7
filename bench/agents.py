"""Room agents under faults: N rooms stream through a fault-injecting proxy while the link is cut and the service
killed -9 and restarted, at seeded random moments; then what the service holds against what the rooms recorded.

    .venv/bin/python bench/agents.py [--rooms 2] [--minutes 10] [--cuts 20] [--max-cut-s 60] [--restarts 5]
                                     [--catch-up-s 300] [--with-reference] [--seed 1] [--out PATH]

Everything real and separate, as in tests/agent/: `bilu serve` and one `bilu agent` per room as processes, a
PulseAudio null sink per room as its microphone (the two-seat room mix looped to the length, played in real
time), the proxy of tests/agent/proxy.py between them. Cuts take the network down for 1 s to --max-cut-s; a
restart is kill -9 and a new `bilu serve` on the same port and home. With --catch-up-s, one outage of that length
is put a third of the way in (no other fault inside it), and the time the service then takes to transcribe the
backlog is measured: its real-time factor. With --with-reference, the same looped recording is also recorded
locally (`bilu record --file`) and each room's transcript compared with it (CER; streaming runs differ a little
even on one machine). Per room: audio lost (service archive against the room's, by segment sha256), utterances
stored twice, outages recorded, archive seconds. Prints the figures and writes bench/results/agents.json.
Not measured here yet: the commit latency the hop adds (bench/live.py's per-line delays through the agent).
"""
import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import RESULTS_DIR, TEST_DATA, machine, write_results

from capture import decode_file  # noqa: E402
from cases import Store  # noqa: E402
from tests.agent.helpers import Agent, Service, add_room, agent_segments, bilu_env, service_segments  # noqa: E402
from tests.agent.proxy import FaultProxy  # noqa: E402
from tests.audio_helpers import write_audio  # noqa: E402
from tests.capture.pulse import PulseServer  # noqa: E402
from tests.crash_helpers import duplicates  # noqa: E402
from transcribe.metrics import character_error_rate  # noqa: E402

MIX = TEST_DATA / "dev_room_2spk.seats.flac"


def looped(total_s: float, folder: Path) -> Path:
    samples = decode_file(MIX).samples
    frames = int(total_s * 16000)
    return write_audio(folder / "looped.wav", samples[np.arange(frames) % samples.shape[0]], 16000)


def schedule(rng: random.Random, *, total_s: float, cuts: int, max_cut_s: float, restarts: int,
             catch_up_s: float | None) -> list[tuple[float, str, float]]:
    """(moment after the start, "down" or "restart" or "catch_up", seconds) in time order."""
    quiet = (total_s / 3, total_s / 3 + catch_up_s + 30) if catch_up_s else None
    events = [(quiet[0], "catch_up", catch_up_s)] if quiet else []

    def moment() -> float:
        for _ in range(10000):
            at = rng.uniform(5.0, max(6.0, total_s - 10.0))
            if quiet is None or not quiet[0] - 60 <= at <= quiet[1]:
                return at
        raise SystemExit("no room for the faults outside the catch-up outage: give more --minutes")

    events += [(moment(), "down", rng.uniform(1.0, max_cut_s)) for _ in range(cuts)]
    events += [(moment(), "restart", 0.0) for _ in range(restarts)]
    return sorted(events)


def transcribed_until(home: Path, session_id: int) -> float:
    import sqlite3

    try:
        with sqlite3.connect(f"file:{home / 'bilu.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT transcribed_ms FROM sessions WHERE id = ?", [session_id]).fetchone()[0] / 1000
    except sqlite3.OperationalError:
        return 0.0


def _catch_up(proxy: FaultProxy, seconds: float, home: Path, session_ids: list[int], started: float) -> dict:
    """Take the network down for `seconds`; once every agent is back (its outage recorded), how long the service
    takes until each transcript reaches the moment of reconnection (less 3 s, a running session's commit lag)."""
    down_at = time.time()
    proxy.down(seconds)
    time.sleep(seconds)
    while True:  # each agent reconnects after its backoff (up to 10 s) and reports this outage
        with Store.open(home) as store:
            ends = [[_epoch(o["to"]) for o in store.outages(sid) if _epoch(o["from"]) >= down_at - 1.0]
                    for sid in session_ids]
        if all(ends):
            back_at = max(max(found) for found in ends)
            break
        time.sleep(0.5)
    target_s = back_at - (time.time() - (time.monotonic() - started)) - 3.0
    while any(transcribed_until(home, sid) < target_s for sid in session_ids):
        time.sleep(0.25)
    caught_up_s = time.time() - back_at
    backlog_s = back_at - down_at
    return {"outage_s": seconds, "reconnected_after_s": round(back_at - down_at - seconds, 2),
            "backlog_s": round(backlog_s, 2), "caught_up_after_s": round(caught_up_s, 2),
            "backlog_rtf": round(caught_up_s / backlog_s, 3)}


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--cuts", type=int, default=20)
    parser.add_argument("--max-cut-s", type=float, default=60.0)
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--catch-up-s", type=float, default=None, help="one outage of this length, then the backlog's RTF")
    parser.add_argument("--with-reference", action="store_true", help="also record the replay locally and compare (CER)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "agents.json")
    args = parser.parse_args()
    total_s = args.minutes * 60
    rng = random.Random(args.seed)
    events = schedule(rng, total_s=total_s, cuts=args.cuts, max_cut_s=args.max_cut_s, restarts=args.restarts,
                      catch_up_s=args.catch_up_s)
    rooms = [f"bench{i + 1}" for i in range(args.rooms)]
    results = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, "events": events, "rooms": {}}
    with tempfile.TemporaryDirectory(prefix="bilu-agents-") as scratch_name:
        scratch = Path(scratch_name)
        clip = looped(total_s, scratch)
        pulse = PulseServer(scratch / "pulse", sinks={room: 2 for room in rooms})
        pulse.start()
        service_home = scratch / "service" / "home"
        service_home.mkdir(parents=True)
        tokens = {room: add_room(service_home, room) for room in rooms}
        service = Service(service_home).start()
        proxy = FaultProxy(service.port)
        agents, sessions = {}, {}
        try:
            for room in rooms:
                home = scratch / room / "home"
                home.mkdir(parents=True)
                token_file = scratch / room / "token"
                token_file.write_text(tokens[room])
                agents[room] = Agent(home, ["--server", f"http://127.0.0.1:{proxy.port}", "--room", room, "--token-file",
                                            token_file, "--case", f"BENCH-{room}", "--device", room, "--channels", "2",
                                            "--seat-roles", "讯问人,被讯问人", "--duration", total_s + 2], pulse.env)
            for room in rooms:
                sessions[room] = int(agents[room].first_line(timeout_s=300))
            started = time.monotonic()
            players = [threading.Thread(target=pulse.play, args=(clip,), kwargs={"sink": room}, daemon=True)
                       for room in rooms]
            for player in players:
                player.start()
            catch_up = None
            for at_s, kind, seconds in events:
                time.sleep(max(0.0, started + at_s - time.monotonic()))
                print(f"{time.monotonic() - started:7.1f} s  {kind} {seconds:.1f} s", flush=True)
                if kind == "restart":
                    service.kill9()
                    service.start(timeout_s=300)
                elif kind == "down":
                    proxy.down(seconds)
                else:
                    catch_up = _catch_up(proxy, seconds, service_home, [sessions[r] for r in rooms], started)
                    print(f"caught up {catch_up}", flush=True)
            for player in players:
                player.join(total_s + 120)
            for room in rooms:
                results["rooms"][room] = {"agent_exit": agents[room].finish(3600)}
        finally:
            proxy.close()
            service.stop()
            pulse.stop()
        results["catch_up"] = catch_up
        results["proxy"] = {"connections": proxy.connections, "cuts": proxy.cuts}
        reference = _reference_text(clip, scratch) if args.with_reference else None
        for room in rooms:
            results["rooms"][room].update(_room_figures(service_home, sessions[room], scratch / room / "home", room,
                                                        reference))
    write_results_to(args.out, results)
    for room, figures in results["rooms"].items():
        print(room, {k: v for k, v in figures.items() if k != "outages"})


def _room_figures(service_home: Path, session_id: int, agent_home: Path, room: str, reference: str | None) -> dict:
    served, recorded = service_segments(service_home, session_id), agent_segments(agent_home, room)
    with Store.open(service_home) as store:
        session, utterances = store.get_session(session_id), store.utterances(session_id)
        outages = store.outages(session_id)
        segments = store.audio_segments(session_id)
    from capture import recover_segments

    folder = next(p for p in (agent_home / "agent" / room).iterdir() if p.is_dir())
    recorded_s = sum(s.duration_s for s in recover_segments(folder))
    text = "".join(u["text"] for u in utterances)
    return {
        "session_id": session_id, "status": session["status"], "archive_s": session["duration_s"],
        "archive_identical": served == recorded,
        "recorded_s": round(recorded_s, 3),
        "audio_lost_s": round(max(0.0, recorded_s - sum(s["duration_s"] for s in segments)), 3),
        "utterances": len(utterances), "stored_twice": len(duplicates(utterances)), "outages": outages,
        "outage_count": len(outages),
        "cer_vs_local_record": round(character_error_rate(reference, text), 4) if reference else None,
    }


def _reference_text(clip: Path, scratch: Path) -> str:
    home = scratch / "reference"
    done = subprocess.run([sys.executable, "-m", "api", "record", "--file", str(clip), "--case", "REF-1", "--room",
                           "reference", "--seat-roles", "讯问人,被讯问人"], env=bilu_env(home), capture_output=True,
                          text=True, timeout=7200)
    with Store.open(home) as store:
        return "".join(u["text"] for u in store.utterances(int(done.stdout.splitlines()[0])))


def write_results_to(path: Path, results: dict) -> None:
    if path == RESULTS_DIR / "agents.json":
        write_results("agents", results)
    else:
        import json

        path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
