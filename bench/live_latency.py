"""Latency of streaming recognition: a recording replayed in simulated real time through StreamingTranscriber.

The simulated clock starts with the recording: a chunk can be fed only once the clock has passed its end,
and each process() call advances the clock by its real compute time, so a slow pass delays what comes
after it exactly as on a live microphone. For each reference turn (the mixes' .json, exact ground truth;
for a recording without one, such as the 25 s monologue, one turn from Silero's first speech to its last)
it measures the delay from the turn's end to the moment its last word is in a committed utterance, and
from the turn's start to the first text of it shown (tentative or committed). Also: whether passes keep up
(compute time below the audio added since the previous pass) and the streaming transcript's character error
rate against batch (the batch default, beam 5). The load average is recorded: the machine may be shared.
Prints the figures and writes bench/results/<name>.json.
Run: python bench/live_latency.py [--beam-size 1] [--min-chunk-s 1.0] [--files dev_room_2spk.wav funasr_long_25s.flac]
"""
import argparse
import json
import os
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import SHARED_AUDIO, TEST_DATA, machine, peak_rss_mb, write_results

from capture import decode_file
from transcribe import ModelSpec, StreamingTranscriber, TranscribeOptions, load_model, transcribe_samples
from transcribe.metrics import character_error_rate

RATE = 16000
CHUNK_S = 0.5  # what the capture path hands over at a time
WORD_SLACK_S = 0.3  # a word belongs to a turn when it starts within the turn, give or take this


def mixes() -> list[Path]:
    folder = SHARED_AUDIO / "mixes"
    if not (folder / "dev_room_2spk.json").is_file():
        folder = TEST_DATA
    return sorted(p for p in folder.glob("dev_room_*.wav") if p.with_suffix(".json").is_file())


def find_recording(name: str) -> Path:
    for folder in (SHARED_AUDIO / "mixes", TEST_DATA, SHARED_AUDIO):
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"{name}: not in {SHARED_AUDIO / 'mixes'}, {TEST_DATA} or {SHARED_AUDIO}")


def reference_turns(path: Path, samples: np.ndarray) -> list[dict]:
    """The mix's exact turns; for a single-speaker recording, one turn over all its speech (Silero, batch settings)."""
    if path.with_suffix(".json").is_file():
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["turns"]
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = get_speech_timestamps(samples, VadOptions())
    return [{"start_s": speech[0]["start"] / RATE, "end_s": speech[-1]["end"] / RATE}]


def replay(transcriber: StreamingTranscriber, samples: np.ndarray) -> dict:
    """Feed `samples` in simulated real time; return every update with the clock it was produced at."""
    step = int(CHUNK_S * RATE)
    clock_s, fed = 0.0, 0
    events, passes = [], []
    while fed < len(samples):
        clock_s = max(clock_s, min(fed + step, len(samples)) / RATE)  # wait for the next chunk
        while fed < len(samples) and min(fed + step, len(samples)) / RATE <= clock_s:
            transcriber.insert_audio(samples[fed : fed + step])
            fed += step
        before_passes, audio_s = transcriber.passes, transcriber.end_s
        started = time.perf_counter()
        update = transcriber.process()
        compute_s = time.perf_counter() - started
        clock_s += compute_s
        events.append((clock_s, update))
        if transcriber.passes > before_passes:
            passes.append({"audio_end_s": audio_s, "compute_s": compute_s})
    started = time.perf_counter()
    final = transcriber.finish()
    clock_s += time.perf_counter() - started
    events.append((clock_s, final))
    return {"events": events, "passes": passes, "end_clock_s": clock_s, "duration_s": len(samples) / RATE}


def turn_delays(turns: list[dict], events) -> tuple[list[float], list[float], int]:
    """Per turn: end → last word committed, start → first word shown; and how many turns got no text."""
    committed_at: dict[tuple, float] = {}  # (word start, text) -> clock when committed
    shown_at: list[tuple[float, float]] = []  # (word start, clock when first shown)
    for clock_s, update in events:
        for u in update.committed:
            for w in u.words:
                committed_at.setdefault((w.start_s, w.text), clock_s)
                shown_at.append((w.start_s, clock_s))
        if update.tentative is not None:
            shown_at += [(w.start_s, clock_s) for w in update.tentative.words]
    commit_delays, first_text_delays, missing = [], [], 0
    for turn in turns:
        lo, hi = turn["start_s"] - WORD_SLACK_S, turn["end_s"] + WORD_SLACK_S
        words = sorted(k for k in committed_at if lo <= k[0] <= hi)
        if not words:
            missing += 1
            continue
        commit_delays.append(committed_at[words[-1]] - turn["end_s"])
        first_text_delays.append(min(c for s, c in shown_at if lo <= s <= hi) - turn["start_s"])
    return commit_delays, first_text_delays, missing


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    return {k: round(float(np.percentile(values, q)), 3) for k, q in (("p50", 50), ("p95", 95), ("max", 100))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beam-size", type=int, default=None,
                        help="beam of each streaming pass (default: the streaming default)")
    parser.add_argument("--min-chunk-s", type=float, default=1.0)
    parser.add_argument("--buffer-trim-s", type=float, default=15.0)
    parser.add_argument("--files", nargs="*", help="recordings to replay (default: all dev_room_* mixes)")
    parser.add_argument("--name", default="live_latency", help="results file name under bench/results")
    args = parser.parse_args()

    model = load_model(ModelSpec())
    batch_options = TranscribeOptions()
    beam = {} if args.beam_size is None else {"pass_beam_size": args.beam_size}
    files = [find_recording(name) for name in args.files] if args.files else mixes()
    load_before = os.getloadavg()
    rows, all_commit, all_first, all_passes = [], [], [], []
    for path in files:
        samples = decode_file(path).mono()
        turns = reference_turns(path, samples)
        batch, _ = transcribe_samples(model, samples, options=batch_options)
        batch_text = "".join(u.text for u in batch)
        transcriber = StreamingTranscriber(model, options=batch_options, min_chunk_s=args.min_chunk_s,
                                           buffer_trim_s=args.buffer_trim_s, **beam)
        pass_beam_size = transcriber.pass_options.beam_size
        result = replay(transcriber, samples)
        commit, first, missing = turn_delays(turns, result["events"])
        text = "".join(u.text for _, update in result["events"] for u in update.committed)
        passes = result["passes"]
        added = np.diff([0.0] + [p["audio_end_s"] for p in passes])
        kept_up = sum(p["compute_s"] < a for p, a in zip(passes, added))
        row = {
            "file": path.name,
            "duration_s": round(result["duration_s"], 2),
            "turns": len(turns),
            "turns_without_text": missing,
            "commit_delay_s": percentiles(commit),
            "first_text_delay_s": percentiles(first),
            "passes": len(passes),
            "pass_compute_s": {"mean": round(float(np.mean([p["compute_s"] for p in passes])), 3),
                               "max": round(max(p["compute_s"] for p in passes), 3)},
            "passes_keeping_up": f"{kept_up}/{len(passes)}",
            "lag_at_end_s": round(result["end_clock_s"] - result["duration_s"], 3),
            "cer_vs_batch": round(character_error_rate(batch_text, text), 4),
        }
        rows.append(row)
        all_commit += commit
        all_first += first
        all_passes += passes
        print(f"{path.name}: commit delay p50 {row['commit_delay_s']['p50']} s p95 {row['commit_delay_s']['p95']} s; "
              f"first text p50 {row['first_text_delay_s']['p50']} s; passes {row['passes_keeping_up']} kept up, "
              f"mean {row['pass_compute_s']['mean']} s; CER vs batch {row['cer_vs_batch']}")
    results = {
        "machine": machine(),
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"pass_beam_size": pass_beam_size, "min_chunk_s": args.min_chunk_s,
                     "buffer_trim_s": args.buffer_trim_s, "chunk_s": CHUNK_S},
        "files": rows,
        "commit_delay_s": percentiles(all_commit),
        "first_text_delay_s": percentiles(all_first),
        "pass_compute_mean_s": round(float(np.mean([p["compute_s"] for p in all_passes])), 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "goal": "commit delay p95 <= 2.5 s; first text within 1 s",
    }
    print(f"all turns: commit delay p50 {results['commit_delay_s']['p50']} s, p95 {results['commit_delay_s']['p95']} s; "
          f"first text p50 {results['first_text_delay_s']['p50']} s, p95 {results['first_text_delay_s']['p95']} s; "
          f"load average {results['load_average_1_5_15_min']}")
    write_results(args.name, results)


if __name__ == "__main__":
    main()
