"""The live path as a room uses it: replayed recordings in real time through LiveSession (disk first, streaming
recognition, speakers, store), measured from outside.

- Rooms at once: N rooms replay a long session each (a recording looped to --minutes) at the same time.
- Commit latency per spoken line (the recording's .json gives its turns, exact): from the moment the line's
  last word was played to the moment its last word was stored. Also per stored utterance, from its own
  recognised end. By thirds of the run: if the delay grows from the first third to the last, the machine does
  not sustain N rooms.
- Tentative text: from the moment a line starts to the first text of it sent to the page (a tentative or a
  stored utterance), and the interval between tentative updates while it is spoken. A line of the mix may
  begin with some silence of its clip (up to 0.74 s in the room mix), so the first text is also measured
  from the line's first speech (Silero, unpadded, on the played recording).
- Memory: the process's resident memory each 30 s; the end compared with after the first minute.
- Archive: the recorded audio's length against the played length.
- The load average (1, 5, 15 min) before and after: the machine may be shared.
Prints the figures and writes bench/results/live_{rooms}rooms_{minutes}min.json.
Run: python bench/live.py [--rooms 2] [--minutes 10]
"""
import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import SHARED_AUDIO, TEST_DATA, machine, write_results

from engine.live import LiveRequest, LiveSession
from engine.pipeline import Pipeline
from engine.settings import Settings
from capture import AudioChunk, decode_file
from cases import Store

BLOCK_S = 0.1
WORD_SLACK_S = 0.3  # a word belongs to a line when it starts within the line, give or take this


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
    words: list[tuple[float, float]] = []  # (word middle on the session clock, clock when stored)
    shown: list[tuple[float, float, float, str]] = []  # (start_s, end_s, clock, kind) of every text sent
    started = time.monotonic()

    def on_event(message: dict) -> None:
        now = time.monotonic() - started
        if message["type"] == "utterance":
            utterance = message["utterance"]
            commits.append((utterance["end_s"], now - utterance["end_s"]))
            words.extend(((w["start_s"] + w["end_s"]) / 2, now) for w in utterance["words"])
            shown.append((utterance["start_s"], utterance["end_s"], now, "utterance"))
        elif message["type"] == "tentative":
            shown.append((message["start_s"], message["end_s"], now, "tentative"))

    with Store.open(settings.home) as store:
        session = LiveSession(settings, store, model, LiveRequest(case_no="BENCH-LIVE", room=room), on_event=on_event)
        transcriber = session._transcriber
        streaming = {"min_chunk_s": transcriber.min_chunk_s, **transcriber.pass_record()}
        status = session.run(looped_replay(samples, total_s=total_s, started=started))
        recorded_s = store.get_session(session.session_id)["duration_s"]
    results[room] = {"status": status, "played_s": total_s, "recorded_s": recorded_s, "commits": commits,
                     "streaming": streaming, "words": words, "shown": shown}


def looped_turns(turns: list[dict], *, period_s: float, total_s: float) -> list[tuple[float, float, float]]:
    """The recording's turns (start_s, end_s, first speech) on the session clock, repeated every `period_s`,
    all inside it."""
    out = []
    for loop in range(int(total_s // period_s) + 1):
        out += [(loop * period_s + t["start_s"], loop * period_s + t["end_s"], loop * period_s + t["speech_s"])
                for t in turns if loop * period_s + t["end_s"] <= total_s]
    return out


def with_first_speech(turns: list[dict], mono: np.ndarray) -> list[dict]:
    """Each turn with `speech_s`: where Silero (no padding) first hears speech in it."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = [(r["start"] / 16000, r["end"] / 16000)
               for r in get_speech_timestamps(mono, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0))]
    return [{**t, "speech_s": max(t["start_s"], min((a for a, b in regions if b > t["start_s"] and a < t["end_s"]),
                                                   default=t["start_s"]))} for t in turns]


def line_delays(turns: list[tuple[float, float, float]], room: dict) -> dict:
    """Per spoken line: end → last word stored, start (and first speech) → first text shown; tentative
    refresh intervals."""
    commit, first, first_speech, refresh, unheard = [], [], [], [], 0
    # Each stored word belongs to one line: the nearest by its middle (inside a line counts as distance 0).
    # Whisper often starts the first word after a pause early, inside the gap (说 at 6.26-7.40 s for a line
    # starting at 7.1 s after one ending at 6.4 s): matched by its start, such a word made the earlier line
    # "wait" for the next one; matching by a window around each line gave it to both.
    owner: dict[int, list[float]] = {}
    for word_s, clock in room["words"]:
        distances = [max(start_s - word_s, word_s - end_s, 0.0) for start_s, end_s, _ in turns]
        nearest = int(np.argmin(distances)) if distances else -1
        if nearest >= 0 and distances[nearest] <= WORD_SLACK_S:
            owner.setdefault(nearest, []).append(clock)
    for index, (start_s, end_s, speech_s) in enumerate(turns):
        hi = end_s + WORD_SLACK_S
        mine = owner.get(index, [])
        if not mine:
            unheard += 1
            continue
        commit.append((end_s, max(mine) - end_s))
        seen = [clock for s, e, clock, _ in room["shown"] if e > start_s + WORD_SLACK_S and s < hi]
        if seen:
            first.append((end_s, min(seen) - start_s))
            first_speech.append((end_s, min(seen) - speech_s))
        tentative = [clock for s, e, clock, kind in room["shown"]
                     if kind == "tentative" and start_s <= clock <= end_s + 1.0]
        refresh += list(np.diff(tentative))
    return {"commit": commit, "first": first, "first_speech": first_speech, "refresh": refresh, "unheard": unheard}


def pct(values, q):
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def by_thirds(pairs: list[tuple[float, float]], total_s: float) -> list[dict]:
    thirds = []
    for k in range(3):
        values = [d for at_s, d in pairs if k * total_s / 3 <= at_s < (k + 1) * total_s / 3]
        thirds.append({"n": len(values), "p50_s": pct(values, 50), "p95_s": pct(values, 95)})
    return thirds


def summary(room: dict, turns: list[tuple[float, float, float]] | None, total_s: float) -> dict:
    commits = room["commits"]
    delays = [d for _, d in commits]
    out = {"utterances": len(commits), "utterance_commit_p50_s": pct(delays, 50),
           "utterance_commit_p95_s": pct(delays, 95), "utterance_commit_by_thirds": by_thirds(commits, total_s)}
    if turns:
        lines = line_delays(turns, room)
        commit = [d for _, d in lines["commit"]]
        first = [d for _, d in lines["first"]]
        first_speech = [d for _, d in lines["first_speech"]]
        out.update({
            "lines": len(turns), "lines_without_text": lines["unheard"],
            "line_commit_p50_s": pct(commit, 50), "line_commit_p95_s": pct(commit, 95),
            "line_commit_max_s": pct(commit, 100), "line_commit_by_thirds": by_thirds(lines["commit"], total_s),
            "first_text_p50_s": pct(first, 50), "first_text_p95_s": pct(first, 95),
            "first_text_from_speech_p50_s": pct(first_speech, 50),
            "first_text_from_speech_p95_s": pct(first_speech, 95),
            "tentative_refresh_p50_s": pct(lines["refresh"], 50), "tentative_refresh_p95_s": pct(lines["refresh"], 95),
            # Each line's (end on the session clock, delay): which lines make the tail.
            "line_commit_delays": [(round(end_s, 2), round(d, 2)) for end_s, d in lines["commit"]],
        })
    return out


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
    reference = source.with_suffix(".json")
    turns = None
    if reference.is_file():
        spoken = with_first_speech(json.loads(reference.read_text(encoding="utf-8"))["turns"], samples[:, 0])
        turns = looped_turns(spoken, period_s=samples.shape[0] / 16000, total_s=total_s)
    load_before = os.getloadavg()
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
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in os.getloadavg()]},
        "streaming": next(iter(results.values()))["streaming"],
        "per_room": {room: {**summary(r, turns, total_s), "status": r["status"], "played_s": r["played_s"],
                            "recorded_s": r["recorded_s"],
                            "archive_gap_s": round(r["played_s"] - r["recorded_s"], 3)}
                     for room, r in results.items()},
        "rss_mb": memory,
        "rss_growth_after_first_minute": (round(memory[-1][1] / memory[0][1] - 1, 3) if len(memory) > 1 else None),
        "goal": {"p95_s": 2.5, "rooms": 2, "rss_growth_max": 0.10, "archive_gap_max_s": 0.1},
    }
    for room, r in report["per_room"].items():
        print(f"{room}: {r['utterances']} utterances, commit delay from the utterance's end p50 "
              f"{r['utterance_commit_p50_s']} s, p95 {r['utterance_commit_p95_s']} s; "
              f"archive {r['recorded_s']} s of {r['played_s']} s played")
        if turns:
            print(f"  {r['lines']} lines ({r['lines_without_text']} without text): commit delay from the line's end "
                  f"p50 {r['line_commit_p50_s']} s, p95 {r['line_commit_p95_s']} s, max {r['line_commit_max_s']} s; "
                  f"by thirds {[t['p50_s'] for t in r['line_commit_by_thirds']]} (p50) "
                  f"{[t['p95_s'] for t in r['line_commit_by_thirds']]} (p95); first text p50 {r['first_text_p50_s']} s "
                  f"p95 {r['first_text_p95_s']} s (from the line's first speech p50 "
                  f"{r['first_text_from_speech_p50_s']} s p95 {r['first_text_from_speech_p95_s']} s); "
                  f"tentative refresh p50 {r['tentative_refresh_p50_s']} s")
    print(f"memory (MB): {memory}; growth after the first minute: {report['rss_growth_after_first_minute']}")
    print(f"load average before {report['load_average_1_5_15_min']['before']}, "
          f"after {report['load_average_1_5_15_min']['after']}")
    write_results(f"live_{args.rooms}rooms_{args.minutes:g}min", report)


if __name__ == "__main__":
    main()
