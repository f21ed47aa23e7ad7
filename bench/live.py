"""The live path as a room uses it: replayed recordings in real time through LiveSession (disk first, streaming
recognition, speakers, store), measured from outside.

- Rooms at once: N rooms replay a long session each (a recording looped to --minutes) at the same time.
  For every committed utterance: the delay from the moment its last word was played to the moment it was
  stored (commit latency), over time: if the delay grows from the first minutes to the last, the machine does
  not sustain N rooms.
- Memory: the process's resident memory each 30 s; the end compared with after the first minute.
- Archive: the recorded audio's length against the played length.
Prints the figures and writes bench/results/live.json. Run: python bench/live.py [--rooms 2] [--minutes 10]
"""
import argparse
import contextlib
import tempfile
import threading
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import SHARED_AUDIO, TEST_DATA, machine, write_results

from api.live import LiveRequest, LiveSession
from api.pipeline import Pipeline
from api.settings import Settings
from capture import AudioChunk, decode_file
from cases import Store

BLOCK_S = 0.1


def looped_replay(samples: np.ndarray, *, total_s: float, started: float):
    """Blocks of a recording looped to `total_s`, each handed out when its last frame would be captured."""
    block = int(BLOCK_S * 16000)
    frames = int(total_s * 16000)
    for start in range(0, frames, block):
        index = np.arange(start, min(frames, start + block)) % samples.shape[0]
        due = started + (start + len(index)) / 16000
        time.sleep(max(0.0, due - time.monotonic()))
        yield AudioChunk(samples=samples[index], sample_rate=16000, start_s=start / 16000)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_room(settings, model, samples, room: str, total_s: float, results: dict) -> None:
    commits: list[tuple[float, float]] = []  # (utterance end on the session clock, seconds after it was played)
    started = time.monotonic()

    def on_event(message: dict) -> None:
        if message["type"] == "utterance":
            end_s = message["utterance"]["end_s"]
            commits.append((end_s, time.monotonic() - started - end_s))

    with Store.open(settings.home) as store:
        session = LiveSession(settings, store, model, LiveRequest(case_no="BENCH-LIVE", room=room), on_event=on_event)
        status = session.run(looped_replay(samples, total_s=total_s, started=started))
        recorded_s = store.get_session(session.session_id)["duration_s"]
    results[room] = {"status": status, "played_s": total_s, "recorded_s": recorded_s, "commits": commits}


def summary(commits: list[tuple[float, float]], total_s: float) -> dict:
    delays = np.array([d for _, d in commits]) if commits else np.zeros(0)
    first = [d for end, d in commits if end < total_s / 3]
    last = [d for end, d in commits if end >= 2 * total_s / 3]
    pct = (lambda a, q: round(float(np.percentile(a, q)), 2) if len(a) else None)
    return {"utterances": len(commits), "p50_s": pct(delays, 50), "p95_s": pct(delays, 95),
            "first_third_p50_s": pct(np.array(first), 50), "last_third_p50_s": pct(np.array(last), 50)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--file", default=None, help="recording to loop (default: the two-speaker room mix)")
    args = parser.parse_args()
    source = Path(args.file) if args.file else next(
        p for p in (SHARED_AUDIO / "mixes" / "dev_room_2spk.wav", TEST_DATA / "dev_room_2spk.wav") if p.is_file())
    samples = decode_file(source).samples[:, :1]
    total_s = args.minutes * 60
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        model = Pipeline(settings).model
        memory: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample_memory() -> None:
            t0 = time.monotonic()
            while not stop.wait(30.0 if memory else 60.0):  # first sample after the first minute
                memory.append((round(time.monotonic() - t0, 1), round(rss_mb(), 1)))

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        results: dict = {}
        rooms = [threading.Thread(target=run_room, args=(settings, model, samples, f"room-{i + 1}", total_s, results))
                 for i in range(args.rooms)]
        for thread in rooms:
            thread.start()
        for thread in rooms:
            thread.join()
        stop.set()
        memory.append(("end", round(rss_mb(), 1)))
    report = {
        "machine": machine(), "source": source.name, "rooms": args.rooms, "minutes": args.minutes,
        "per_room": {room: {**summary(r["commits"], total_s), "status": r["status"], "played_s": r["played_s"],
                            "recorded_s": r["recorded_s"],
                            "archive_gap_s": round(r["played_s"] - r["recorded_s"], 3)}
                     for room, r in results.items()},
        "rss_mb": memory,
        "rss_growth_after_first_minute": (round(memory[-1][1] / memory[0][1] - 1, 3) if len(memory) > 1 else None),
        "goal": {"p95_s": 2.5, "rooms": 2, "rss_growth_max": 0.10, "archive_gap_max_s": 0.1},
    }
    for room, r in report["per_room"].items():
        print(f"{room}: {r['utterances']} utterances, commit delay p50 {r['p50_s']} s, p95 {r['p95_s']} s "
              f"(first third p50 {r['first_third_p50_s']} s, last third {r['last_third_p50_s']} s); "
              f"archive {r['recorded_s']} s of {r['played_s']} s played")
    print(f"memory (MB): {memory}; growth after the first minute: {report['rss_growth_after_first_minute']}")
    write_results(f"live_{args.rooms}rooms_{args.minutes:g}min", report)


if __name__ == "__main__":
    main()
