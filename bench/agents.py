"""Room agents under faults, against a local room on the same input in the same run: what is lost, what is stored
twice, how fast recognition catches up after each cut, and the commit latency the hop adds.

    .venv/bin/python bench/agents.py [--minutes 10] [--rooms 1] [--cuts 6] [--max-cut-s 30] [--long-cut-s S]
                                     [--restarts 0] [--no-local] [--seed 1] [--out PATH]

Everything real and separate, as in tests/agent/: `bilu serve`, one `bilu agent` per room, and (unless --no-local)
one local `bilu record` on the same machine, each a process; a PulseAudio null sink per room as its microphone;
the proxy of tests/agent/proxy.py between the agents and the service. The two-seat room mix, looped to the length,
is played into every sink at the same moment, in real time. Cuts take the network down for 1 s to --max-cut-s,
spread over the run (one per slot, at a seeded moment in it, never overlapping); a restart is kill -9 and a new
`bilu serve` on the same port and home.

Measured, per agent room:
- audio lost: the room's archive against the service's (seconds, and whether every segment's sha256 is equal);
  utterances stored twice; the outages recorded.
- catch-up after each cut: the cut from the network going down (D) to the agent reconnected (B, the outage's end
  as stored), then the moment (C) the transcript is back within 3 s of the lag it had before the cut (the commit
  delay of the last utterance before it; 3 s at least, a running session's commit lag). In C - B the
  service transcribes the audio from D to C: catch-up RTF = (C - B) / (C - D), below 1 when it catches up faster
  than real time. (`caught_up_after_s` / `backlog_s` is what an earlier version called the backlog RTF: not a
  real-time factor, as the audio keeps coming meanwhile.)
- commit latency per stored utterance: from the moment its last audio was played to the moment it is in the store
  (each store polled every 0.1 s), through the agent and in the local room: p50, p95, and the p95 ratio agent ÷
  local, over every utterance and over the undisturbed ones (ending outside [cut or restart, its end + 20 s]).
  Played time comes from the audio itself: the session clock where the archive's first non-silent sample is
  (the sink is silent before the mix starts) is the moment the mix started playing.
- CER of each agent room's transcript against the local room's (the same replay, recognised live on this machine),
  and of every room's (the local one too) against a batch transcript of the played audio, after the run: the
  issue's "CER against the same replay recorded locally ≤ +0.01" is an agent room's CER against batch minus the
  local room's (two live runs of the same audio never write the same text: passes fall at other moments).
Prints the figures and writes bench/results/agents.json.
"""
import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import RESULTS_DIR, TEST_DATA, machine, write_results

from capture import decode_file, read_segments, recover_segments  # noqa: E402
from cases import Store  # noqa: E402
from engine.pipeline import Pipeline  # noqa: E402
from engine.settings import Settings  # noqa: E402
from tests.agent.helpers import Agent, Service, add_room, agent_segments, bilu_env, service_segments  # noqa: E402
from tests.agent.proxy import FaultProxy  # noqa: E402
from tests.audio_helpers import write_audio  # noqa: E402
from tests.capture.pulse import PulseServer  # noqa: E402
from tests.crash_helpers import duplicates  # noqa: E402
from transcribe import transcribe_samples  # noqa: E402
from transcribe.metrics import character_error_rate  # noqa: E402

MIX = TEST_DATA / "dev_room_2spk.seats.flac"
POLL_S = 0.1
COMMIT_LAG_S = 3.0
DISTURBED_AFTER_S = 20.0


def looped(total_s: float, folder: Path) -> Path:
    samples = decode_file(MIX).samples
    frames = int(total_s * 16000)
    return write_audio(folder / "looped.wav", samples[np.arange(frames) % samples.shape[0]], 16000)


def schedule(rng: random.Random, *, total_s: float, cuts: int, max_cut_s: float, restarts: int,
             long_cut_s: float | None = None) -> list[tuple[float, str, float]]:
    """(moment after the start, "down" or "restart", seconds) in time order: one fault per slot of the run, at a
    random moment in its second half, a cut 1 s to `max_cut_s` long. A cut may last into the next slots: the
    network then stays down until the last cut ends, and a restart may fall inside a cut (20 cuts of up to 60 s
    in 10 minutes cannot all stand apart). The run reports how long the network was down in all. With
    `long_cut_s`, first one cut of that length a sixth of the way in, the other faults after it (and a minute)."""
    faults = ["down"] * cuts + ["restart"] * restarts
    rng.shuffle(faults)
    events, begin_s = [], 0.0
    if long_cut_s:
        events.append((round(total_s / 6, 2), "down", long_cut_s))
        begin_s = total_s / 6 + long_cut_s + 60.0
        if begin_s >= total_s - 30:
            raise SystemExit(f"a {long_cut_s} s cut leaves no room in {total_s} s: give more --minutes")
    slot_s = (total_s - begin_s) / (len(faults) + 1)
    for k, kind in enumerate(faults):
        at = begin_s + (k + 0.5) * slot_s + rng.uniform(0.0, slot_s / 2)
        seconds = rng.uniform(1.0, max_cut_s) if kind == "down" else 0.0
        events.append((round(at, 2), kind, round(seconds, 2)))
    return events


def network_down_s(events: list[tuple[float, str, float]], total_s: float) -> float:
    """Seconds of the run with the network down: the union of the cuts, within the run."""
    down, until = 0.0, 0.0
    for at, kind, seconds in events:
        if kind != "down":
            continue
        start, end = max(at, until), min(at + seconds, total_s)
        down += max(0.0, end - start)
        until = max(until, at + seconds)
    return round(down, 1)


class StorePoller:
    """Polls a store (read-only) every POLL_S: when each utterance of a session first appears, and the session's
    transcribed_until over time. Survives the service's restarts (the file stays)."""

    def __init__(self, db_path: Path, session_id: int) -> None:
        self.db_path, self.session_id = db_path, session_id
        self.seen: dict[int, tuple[float, float]] = {}  # utterance id -> (end_s, wall when first seen)
        self.until: list[tuple[float, float]] = []  # (wall, transcribed_until_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_id = 0
        while not self._stop.is_set():
            try:
                with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=2) as db:
                    now = time.time()
                    for uid, end_ms in db.execute("SELECT id, end_ms FROM utterances WHERE session_id = ? AND id > ?"
                                                  " ORDER BY id", [self.session_id, last_id]):
                        self.seen.setdefault(uid, (end_ms / 1000, now))
                        last_id = max(last_id, uid)
                    row = db.execute("SELECT transcribed_ms FROM sessions WHERE id = ?", [self.session_id]).fetchone()
                    if row is not None and row[0] is not None:
                        self.until.append((now, row[0] / 1000))
            except sqlite3.Error:
                pass  # the service is restarting or writing: the next poll sees it
            self._stop.wait(POLL_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def first_sound_s(segments) -> float:
    """The session time of the archive's first non-silent sample: when the mix began to play into the sink."""
    audio = read_segments(segments, until_s=segments[0].start_s + 120.0)  # the mix starts within seconds
    loud = np.flatnonzero(np.abs(audio.samples).max(axis=1) > 1e-4)
    if not loud.size:
        raise SystemExit("the archive holds no sound: the player did not reach the sink")
    return float(audio.start_s + loud[0] / audio.sample_rate)


def commit_delays(poller: StorePoller, *, played_wall: float, sound_s: float) -> list[tuple[float, float]]:
    """(wall when the utterance's last audio was played, seconds until it was in the store) per utterance."""
    out = []
    for end_s, seen_wall in poller.seen.values():
        played = played_wall + (end_s - sound_s)
        out.append((float(played), float(seen_wall - played)))
    return sorted(out)


def pct(values, q):
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def latency_figures(delays: list[tuple[float, float]], disturbed: list[tuple[float, float]]) -> dict:
    calm = [d for at, d in delays if not any(a <= at <= b for a, b in disturbed)]
    every = [d for _, d in delays]
    return {"utterances": len(every), "p50_s": pct(every, 50), "p95_s": pct(every, 95), "max_s": pct(every, 100),
            "undisturbed": len(calm), "undisturbed_p50_s": pct(calm, 50), "undisturbed_p95_s": pct(calm, 95)}


def catch_ups(cuts: list[tuple[float, float]], outages: list[dict], poller: StorePoller, *, played_wall: float,
              sound_s: float, delays: list[tuple[float, float]]) -> list[dict]:
    """Per cut (down wall, seconds): reconnection and catch-up (module docstring)."""
    found = []
    for down_at, seconds in cuts:
        ends = [_epoch(o["to"]) for o in outages if down_at - 2.0 <= _epoch(o["from"]) <= down_at + seconds + 2.0]
        if not ends:
            found.append({"down_s": seconds, "reconnected_after_s": None, "note": "no outage recorded for it"})
            continue
        back_at = max(ends)

        def lag(wall: float, until_s: float) -> float:  # how far the transcript is behind the played audio
            return wall - (played_wall + until_s - sound_s)

        # The commit delay of the last utterance before the cut: a loaded machine lags more than 3 s all along.
        # (Not transcribed_until's lag: it stands still through silence, the mix's lead-in included.)
        before = [delay for played, delay in delays if played <= down_at]
        usual_s = max(COMMIT_LAG_S, before[-1] if before else COMMIT_LAG_S)
        caught = next((wall for wall, until_s in poller.until
                       if wall >= back_at and lag(wall, until_s) <= usual_s + COMMIT_LAG_S), None)
        entry = {"down_s": seconds, "reconnected_after_s": round(back_at - down_at - seconds, 2),
                 "backlog_s": round(back_at - down_at, 2), "lag_before_s": round(usual_s, 2)}
        if caught is not None:
            entry.update({"caught_up_after_s": round(caught - back_at, 2),
                          "catch_up_rtf": round((caught - back_at) / max(1e-6, caught - down_at), 3)})
        found.append(entry)
    return found


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rooms", type=int, default=1, help="agent rooms (each one more room on 2 cores)")
    parser.add_argument("--cuts", type=int, default=6)
    parser.add_argument("--max-cut-s", type=float, default=30.0)
    parser.add_argument("--long-cut-s", type=float, default=None, help="first one cut of this length (300: the "
                        "issue's 5-minute outage), then the others")
    parser.add_argument("--restarts", type=int, default=0, help="service kill -9 and restart (the local room is "
                        "a process of its own: it goes on)")
    parser.add_argument("--no-local", action="store_true", help="no local room: no latency ratio, no CER")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "agents.json")
    args = parser.parse_args()
    total_s = args.minutes * 60
    events = schedule(random.Random(args.seed), total_s=total_s, cuts=args.cuts, max_cut_s=args.max_cut_s,
                      restarts=args.restarts, long_cut_s=args.long_cut_s)
    rooms = [f"bench{i + 1}" for i in range(args.rooms)]
    sinks = {room: 2 for room in rooms} | ({} if args.no_local else {"local": 2})
    results = {"machine": machine(), "args": {k: str(v) for k, v in vars(args).items()}, "events": events,
               "network_down_s": network_down_s(events, total_s), "load_before": list(__import__("os").getloadavg()),
               "rooms": {}}
    with tempfile.TemporaryDirectory(prefix="bilu-agents-") as scratch_name:
        scratch = Path(scratch_name)
        clip = looped(total_s, scratch)
        pulse = PulseServer(scratch / "pulse", sinks=sinks)
        pulse.start()
        service_home = scratch / "service" / "home"
        service_home.mkdir(parents=True)
        tokens = {room: add_room(service_home, room) for room in rooms}
        service = Service(service_home).start(timeout_s=300)
        proxy = FaultProxy(service.port)
        agents, sessions, pollers = {}, {}, {}
        local = None
        try:
            if not args.no_local:
                local_home = scratch / "local" / "home"
                local_home.mkdir(parents=True)
                local = subprocess.Popen([sys.executable, "-m", "api", "record", "--case", "LOCAL-1", "--room", "local",
                                          "--device", "local", "--channels", "2", "--seat-roles", "讯问人,被讯问人",
                                          "--duration", str(total_s + 5)], env=bilu_env(local_home, pulse.env),
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                local_session = int(local.stdout.readline())
                pollers["local"] = StorePoller(local_home / "bilu.db", local_session)
                threading.Thread(target=local.stdout.read, daemon=True).start()  # keep its pipe from filling
            # The agents after the local room is recording (it loads its model first): both lead-ins short.
            for room in rooms:
                home = scratch / room / "home"
                home.mkdir(parents=True)
                token_file = scratch / room / "token"
                token_file.write_text(tokens[room])
                agents[room] = Agent(home, ["--server", f"http://127.0.0.1:{proxy.port}", "--room", room, "--token-file",
                                            token_file, "--case", f"BENCH-{room}", "--device", room, "--channels", "2",
                                            "--seat-roles", "讯问人,被讯问人", "--duration", total_s + 5], pulse.env)
            for room in rooms:
                sessions[room] = int(agents[room].first_line(timeout_s=300))
                pollers[room] = StorePoller(service_home / "bilu.db", sessions[room])
            time.sleep(1.0)  # every recording running: the sinks' silence first, then the mix
            played_wall = time.time()
            started = time.monotonic()
            players = [threading.Thread(target=pulse.play, args=(clip,), kwargs={"sink": sink,
                                                                                   "timeout_s": total_s + 120},
                                        daemon=True) for sink in sinks]
            for player in players:
                player.start()
            cuts, disturbed = [], []
            for at_s, kind, seconds in events:
                time.sleep(max(0.0, started + at_s - time.monotonic()))
                print(f"{time.monotonic() - started:7.1f} s  {kind} {seconds:.1f} s", flush=True)
                if kind == "restart":
                    at = time.time()
                    service.kill9()
                    service.start(timeout_s=300)
                    disturbed.append((at, time.time() + DISTURBED_AFTER_S))
                else:
                    cuts.append((time.time(), seconds))
                    disturbed.append((time.time(), time.time() + seconds + DISTURBED_AFTER_S))
                    proxy.down(seconds)
            for player in players:
                player.join(total_s + 120)
            for room in rooms:
                results["rooms"][room] = {"agent_exit": agents[room].finish(3600)}
            if local is not None:
                results["local_exit"] = local.wait(600)
        finally:
            for poller in pollers.values():
                poller.stop()
            proxy.close()
            service.stop()
            if local is not None and local.poll() is None:
                local.terminate()
            pulse.stop()
        results["load_after"] = list(__import__("os").getloadavg())
        results["proxy"] = {"connections": proxy.connections, "cuts": proxy.cuts}
        local_figures = None
        if local is not None:
            local_figures = _local_figures(local_home, local_session, pollers["local"], played_wall)
            results["local"] = {k: v for k, v in local_figures.items() if k not in ("text", "delays")}
        for room in rooms:
            results["rooms"][room].update(_room_figures(
                service_home, sessions[room], scratch / room / "home", room, pollers[room], played_wall=played_wall,
                cuts=cuts, disturbed=disturbed, local=local_figures))
    results["batch_reference"] = _cer_against_batch(total_s, results, local_figures)
    write_results_to(args.out, results)
    for room, figures in results["rooms"].items():
        print(room, {k: v for k, v in figures.items() if k not in ("outages", "catch_up")})
        for entry in figures["catch_up"]:
            print("  catch-up", entry)
    if "local" in results:
        print("local", results["local"])


def _cer_against_batch(total_s: float, results: dict, local: dict | None) -> dict:
    """Each room's CER against a batch transcript of the looped mix (the played audio), and its excess over the
    local room's; the texts are kept in the rooms' figures until here."""
    samples = decode_file(MIX).mono()
    played = samples[np.arange(int(total_s * 16000)) % samples.shape[0]]
    pipeline = Pipeline(Settings(home=Path(tempfile.gettempdir())))
    started = time.monotonic()
    batch = "".join(u.text for u in transcribe_samples(pipeline.model, played, options=pipeline.options())[0])
    reference = {"chars": len(batch), "seconds": round(time.monotonic() - started, 1)}
    local_cer = round(character_error_rate(batch, local["text"]), 4) if local is not None else None
    if local_cer is not None:
        results["local"]["cer_vs_batch"] = local_cer
    for figures in results["rooms"].values():
        figures["cer_vs_batch"] = round(character_error_rate(batch, figures.pop("text")), 4)
        if local_cer is not None:
            figures["cer_excess_vs_local"] = round(figures["cer_vs_batch"] - local_cer, 4)
    return reference


def _local_figures(home: Path, session_id: int, poller: StorePoller, played_wall: float) -> dict:
    with Store.open(home) as store:
        session, utterances = store.get_session(session_id), store.utterances(session_id)
        segments = recover_segments(home / session["audio_path"])
    sound_s = first_sound_s(segments)
    delays = commit_delays(poller, played_wall=played_wall, sound_s=sound_s)
    return {"session_id": session_id, "status": session["status"], "archive_s": session["duration_s"],
            "sound_starts_s": round(sound_s, 3), "delays": delays, "text": "".join(u["text"] for u in utterances),
            "latency": latency_figures(delays, [])}


def _room_figures(service_home: Path, session_id: int, agent_home: Path, room: str, poller: StorePoller, *,
                  played_wall: float, cuts, disturbed, local: dict | None) -> dict:
    served, recorded = service_segments(service_home, session_id), agent_segments(agent_home, room)
    with Store.open(service_home) as store:
        session, utterances = store.get_session(session_id), store.utterances(session_id)
        outages = store.outages(session_id)
        segments = store.audio_segments(session_id)
        agent = store.session_agent(session_id)
    folder = next(p for p in (agent_home / "agent" / room).iterdir() if p.is_dir())
    room_segments = recover_segments(folder)
    recorded_s = sum(s.duration_s for s in room_segments)
    sound_s = first_sound_s(recover_segments(service_home / session["audio_path"]))
    delays = commit_delays(poller, played_wall=played_wall, sound_s=sound_s)
    latency = latency_figures(delays, disturbed)
    figures = {
        "session_id": session_id, "status": session["status"], "archive_s": session["duration_s"],
        "archive_identical": served == recorded, "recorded_s": round(recorded_s, 3),
        "audio_lost_s": round(max(0.0, recorded_s - sum(s["duration_s"] for s in segments)), 3),
        "utterances": len(utterances), "stored_twice": len(duplicates(utterances)),
        "outage_count": len(outages), "outages": outages,
        "clock_offset_s": agent["clock_offset_s"], "clock_round_trip_s": agent["clock_round_trip_s"],
        "catch_up": catch_ups(cuts, outages, poller, played_wall=played_wall, sound_s=sound_s, delays=delays),
        "latency": latency, "text": "".join(u["text"] for u in utterances),
    }
    if local is not None:
        other = local["latency"]
        figures["latency_ratio_p95"] = (round(latency["p95_s"] / other["p95_s"], 3)
                                        if latency["p95_s"] and other["p95_s"] else None)
        figures["latency_ratio_p95_undisturbed"] = (round(latency["undisturbed_p95_s"] / other["p95_s"], 3)
                                                    if latency["undisturbed_p95_s"] and other["p95_s"] else None)
        # The local room's lines over the same undisturbed stretches: the fairest comparison.
        calm_local = [d for at, d in local["delays"] if not any(a <= at <= b for a, b in disturbed)]
        figures["local_undisturbed_p95_s"] = pct(calm_local, 95)
        figures["latency_ratio_p95_same_stretches"] = (round(latency["undisturbed_p95_s"] / pct(calm_local, 95), 3)
                                                       if latency["undisturbed_p95_s"] and calm_local else None)
        figures["cer_vs_local_room"] = round(character_error_rate(local["text"], "".join(u["text"] for u in utterances)), 4)
    return figures


def write_results_to(path: Path, results: dict) -> None:
    if path == RESULTS_DIR / "agents.json":
        write_results("agents", results)
    else:
        import json

        path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"written to {path}")


if __name__ == "__main__":
    main()
