"""Latency of streaming recognition: a recording replayed in simulated real time through StreamingTranscriber.

The simulated clock starts with the recording: a chunk can be fed only once the clock has passed its end,
and each process() call advances the clock by its real compute time, so a slow pass delays what comes
after it exactly as on a live microphone. For each reference turn (the mixes' .json, exact ground truth;
for a recording without one, such as the 25 s monologue, one turn from Silero's first speech to its last)
it measures the delay from the turn's end to the moment its last word is in a committed utterance, from
the turn's start to the first text of it shown (tentative or committed), and the interval between successive
tentative updates while the turn is spoken. Also: whether passes keep up (compute time below the audio added
since the previous pass), the streaming transcript's character error rate against batch (the batch default,
beam 5) and, on the labelled clips played one after another with 0.7 s gaps, against their references
(streaming and batch). The load average is recorded: the machine may be shared.
--window full uses faster-whisper's 30 s windows for every pass; short (the default) transcribe.short_window.
--profile instead times the parts of single passes over 5-25 s buffers (encoder, decoder, word alignment,
VAD, the rest), with both windows.
Prints the figures and writes bench/results/<name>.json.
Run: python bench/live_latency.py [--window short|full] [--min-chunk-s 0.5] [--files dev_room_2spk.wav] [--profile]
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
from transcribe import ModelSpec, PassWindow, StreamingTranscriber, TranscribeOptions, load_model, transcribe_samples
from transcribe.metrics import character_error_rate, edit_distance
from transcribe.hallucination import normalised
from transcribe.simplified import to_simplified

RATE = 16000
CHUNK_S = 0.5  # what the capture path hands over at a time
WORD_SLACK_S = 0.3  # a word belongs to a turn when it starts within the turn, give or take this
TRUSTED_LABELS = {"dataset_label", "repo_label"}
LABELLED_GAP_S = 0.7  # between the labelled clips, as between the mixes' turns


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


def labelled_stream() -> tuple[np.ndarray, list[dict], list[str]]:
    """The clips with trusted references, one after another with gaps: samples, their turns, references."""
    folder = SHARED_AUDIO if (SHARED_AUDIO / "manifest.jsonl").is_file() else TEST_DATA
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    parts, turns, references, at_s = [], [], [], 0.0
    gap = np.zeros(int(LABELLED_GAP_S * RATE), np.float32)
    for row in rows:
        if row.get("transcript_kind") not in TRUSTED_LABELS or not row.get("transcript"):
            continue
        clip = decode_file(folder / row["file"]).mono()
        parts += [clip, gap]
        turns.append({"start_s": at_s, "end_s": at_s + len(clip) / RATE, "file": row["file"]})
        references.append(row["transcript"])
        at_s += (len(clip) + len(gap)) / RATE
    return np.concatenate(parts), turns, references


def cer_against(references: list[str], texts: list[str]) -> float:
    """Character error rate of the texts against the references, pooled (errors over reference characters)."""
    ref = normalised(to_simplified("".join(references)))
    return edit_distance(ref, normalised(to_simplified("".join(texts)))) / max(1, len(ref))


def refresh_intervals(turns: list[dict], events) -> list[float]:
    """Seconds between successive changes of the tentative text while a turn is spoken (and a second after)."""
    intervals = []
    for turn in turns:
        times, last = [], None
        for clock_s, update in events:
            if turn["start_s"] <= clock_s <= turn["end_s"] + 1.0 and update.tentative is not None:
                if update.tentative.text != last:
                    times.append(clock_s)
                    last = update.tentative.text
        intervals += list(np.diff(times))
    return intervals


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


def timed_parts(model, samples: np.ndarray, kwargs: dict, *, repeats: int = 2) -> dict:
    """Seconds spent in each part of one pass over `samples` (the mean of `repeats` runs)."""
    import faster_whisper.transcribe as fw
    from faster_whisper.vad import VadOptions, get_speech_timestamps
    from transcribe.batch import clean_segment

    spent: dict[str, float] = {}

    def timing(name, function):
        def timed(*args, **kw):
            started = time.perf_counter()
            try:
                return function(*args, **kw)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
        return timed

    model.encode = timing("encoder", model.encode)
    model.generate_with_fallback = timing("decoder", model.generate_with_fallback)
    model.add_word_timestamps = timing("word_alignment", model.add_word_timestamps)
    whisper_vad, fw.get_speech_timestamps = fw.get_speech_timestamps, timing("whisper_vad", fw.get_speech_timestamps)
    try:
        for _ in range(repeats):
            started = time.perf_counter()
            timing("our_vad", get_speech_timestamps)(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=100))
            segments, _ = model.transcribe(samples, **kwargs)
            [clean_segment(s) for s in segments]
            spent["total"] = spent.get("total", 0.0) + time.perf_counter() - started
    finally:
        fw.get_speech_timestamps = whisper_vad
        for name in ("encode", "generate_with_fallback", "add_word_timestamps"):
            vars(model).pop(name, None)
    parts = {k: round(v / repeats, 3) for k, v in spent.items()}
    parts["rest"] = round(parts["total"] - sum(v for k, v in parts.items() if k != "total"), 3)
    return parts


def profile(model, name: str) -> None:
    from transcribe.short_window import short_window_model

    samples = decode_file(find_recording("dev_room_2spk.wav")).mono()
    kwargs = {**TranscribeOptions(beam_size=1).whisper_kwargs(), "temperature": 0.0}  # as a streaming pass
    load_before = os.getloadavg()
    rows = []
    for start_s, length_s in ((0.0, 5.0), (7.0, 10.0), (12.0, 15.0), (5.0, 25.0)):
        buffer = samples[int(start_s * RATE): int((start_s + length_s) * RATE)]
        for window, view in (("full_30s", model), ("short", short_window_model(model))):
            rows.append({"buffer_s": length_s, "from_s": start_s, "window": window, **timed_parts(view, buffer, kwargs)})
            print(" ".join(f"{k} {v}" for k, v in rows[-1].items()))
    write_results(name, {"machine": machine(), "pass_beam_size": 1, "rows": rows,
                         "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                                     "after": [round(x, 2) for x in os.getloadavg()]}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beam-size", type=int, default=None,
                        help="beam of each streaming pass (default: the streaming default)")
    parser.add_argument("--min-chunk-s", type=float, default=None, help="default: the streaming default")
    parser.add_argument("--buffer-trim-s", type=float, default=15.0)
    parser.add_argument("--window", choices=("short", "full"), default="short")
    parser.add_argument("--min-window-s", type=float, default=PassWindow().min_window_s)
    parser.add_argument("--round-s", type=float, default=PassWindow().round_s)
    parser.add_argument("--files", nargs="*", help="recordings to replay (default: all dev_room_* mixes)")
    parser.add_argument("--no-labelled", action="store_true", help="skip the labelled clips played in a row")
    parser.add_argument("--profile", action="store_true", help="time the parts of single passes instead")
    parser.add_argument("--name", default=None, help="results file name under bench/results")
    args = parser.parse_args()

    model = load_model(ModelSpec())
    if args.profile:
        profile(model, args.name or "live_pass_profile")
        return
    batch_options = TranscribeOptions()
    settings = {} if args.beam_size is None else {"pass_beam_size": args.beam_size}
    if args.min_chunk_s is not None:
        settings["min_chunk_s"] = args.min_chunk_s
    settings["window"] = (None if args.window == "full"
                          else PassWindow(round_s=args.round_s, min_window_s=args.min_window_s))
    sources = [(path, decode_file(path).mono(), None, None)
               for path in ([find_recording(name) for name in args.files] if args.files else mixes())]
    if not args.no_labelled:
        samples, turns, references = labelled_stream()
        sources.append((Path("labelled_clips_in_a_row"), samples, turns, references))
    load_before = os.getloadavg()
    rows, all_commit, all_first, all_refresh, all_passes = [], [], [], [], []
    for path, samples, turns, references in sources:
        turns = turns or reference_turns(path, samples)
        batch = list(transcribe_samples(model, samples, options=batch_options)[0])
        batch_text = "".join(u.text for u in batch)
        transcriber = StreamingTranscriber(model, options=batch_options, buffer_trim_s=args.buffer_trim_s, **settings)
        result = replay(transcriber, samples)
        commit, first, missing = turn_delays(turns, result["events"])
        refresh = refresh_intervals(turns, result["events"])
        text = "".join(u.text for _, update in result["events"] for u in update.committed)
        passes = result["passes"]
        added = np.diff([0.0] + [p["audio_end_s"] for p in passes])
        kept_up = sum(p["compute_s"] < a for p, a in zip(passes, added))
        view = transcriber._pass_model
        row = {
            "file": path.name,
            "duration_s": round(result["duration_s"], 2),
            "turns": len(turns),
            "turns_without_text": missing,
            "commit_delay_s": percentiles(commit),
            "first_text_delay_s": percentiles(first),
            "tentative_refresh_s": percentiles(refresh),
            "passes": len(passes),
            "pass_compute_s": {"mean": round(float(np.mean([p["compute_s"] for p in passes])), 3),
                               "max": round(max(p["compute_s"] for p in passes), 3)},
            "windows_encoded": getattr(view, "windows_encoded", None),
            "passes_keeping_up": f"{kept_up}/{len(passes)}",
            "lag_at_end_s": round(result["end_clock_s"] - result["duration_s"], 3),
            "cer_vs_batch": round(character_error_rate(batch_text, text), 4),
        }
        if references:
            row["cer_vs_references"] = {"streaming": round(cer_against(references, [text]), 4),
                                        "batch": round(cer_against(references, [batch_text]), 4)}
        rows.append(row)
        all_commit += commit
        all_first += first
        all_refresh += refresh
        all_passes += passes
        print(f"{path.name}: commit delay p50 {row['commit_delay_s']['p50']} s p95 {row['commit_delay_s']['p95']} s; "
              f"first text p50 {row['first_text_delay_s']['p50']} s p95 {row['first_text_delay_s']['p95']} s; "
              f"tentative refresh p50 {row['tentative_refresh_s']['p50']} s; passes {row['passes_keeping_up']} kept "
              f"up, mean {row['pass_compute_s']['mean']} s; CER vs batch {row['cer_vs_batch']}"
              + (f"; CER vs references {row['cer_vs_references']}" if references else ""))
    results = {
        "machine": machine(),
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in os.getloadavg()]},
        "settings": {"pass_beam_size": transcriber.pass_options.beam_size, "min_chunk_s": transcriber.min_chunk_s,
                     "buffer_trim_s": args.buffer_trim_s, "chunk_s": CHUNK_S,
                     "window": None if transcriber.window is None else transcriber.window.as_record()},
        "files": rows,
        "commit_delay_s": percentiles(all_commit),
        "first_text_delay_s": percentiles(all_first),
        "tentative_refresh_s": percentiles(all_refresh),
        "pass_compute_mean_s": round(float(np.mean([p["compute_s"] for p in all_passes])), 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "goal": "commit delay p95 <= 2.5 s; first text within 1 s",
    }
    print(f"all turns: commit delay p50 {results['commit_delay_s']['p50']} s, p95 {results['commit_delay_s']['p95']} s; "
          f"first text p50 {results['first_text_delay_s']['p50']} s, p95 {results['first_text_delay_s']['p95']} s; "
          f"tentative refresh p50 {results['tentative_refresh_s']['p50']} s; "
          f"load average {results['load_average_1_5_15_min']}")
    write_results(args.name or f"live_latency_{args.window}", results)


if __name__ == "__main__":
    main()
