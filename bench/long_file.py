"""Time and memory of the file pipeline on long recordings: windowed (BILU_FILE_WINDOW_S, 10 minutes), the
whole file at once (the pipeline before windows), and bare faster-whisper on the same input.

Synthetic sessions of N minutes (two real voices from the shared recordings, answering each other in turns of
about 8 s with 0.7 s pauses) are written as 16 kHz FLAC to --workdir, block by block. Each run is a child
process of its own, so its peak resident memory (ru_maxrss) is its own:
  windowed  Pipeline.transcribe_file as `bilu transcribe` runs it (model loaded in the child): RTF, peak RSS,
            the resident memory after diarizing and after each window is transcribed.
  whole     the same with one window as long as the file, i.e. the whole file decoded and given to Whisper at
            once. With --whole-stop N it stops after N stored utterances: its peak is reached before the first
            one (the decoded file, Silero VAD over it, the mel spectrogram of all of it), so the peak is
            what matters and no RTF is given.
  bare      faster_whisper.decode_audio + WhisperModel.transcribe with the pipeline's arguments, run to the end.
Prints the figures and writes bench/results/long_file.json (rows of other lengths already there are kept).
Run: python bench/long_file.py --minutes 30,60 [--whole 30,60 --whole-stop 3] [--bare 30]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from common import RESULTS_DIR, audio_dir, machine

RESULTS = RESULTS_DIR / "long_file.json"
RATE = 16000
TURN_S = 8.0  # each voice speaks this long, then the other answers
GAP_S = 0.7
VOICES = ("funasr_vad_example_70s.wav", "funasr_long_25s.wav")  # two different speakers (see tests/data/README)


def write_session(path: Path, minutes: float) -> Path:
    """A FLAC of `minutes`: the two voices taking turns, each voice's clip read on where it left off."""
    import soundfile

    from capture import decode_file

    if path.is_file() and soundfile.info(str(path)).frames == int(minutes * 60 * RATE):
        return path
    voices = [decode_file(_voice(name)).mono() for name in VOICES]
    turn, gap, total = int(TURN_S * RATE), np.zeros(int(GAP_S * RATE), dtype=np.float32), int(minutes * 60 * RATE)
    positions = [0, 0]
    written = 0
    with soundfile.SoundFile(str(path), "w", samplerate=RATE, channels=1, format="FLAC", subtype="PCM_16") as out:
        speaker = 0
        while written < total:
            voice, at = voices[speaker], positions[speaker]
            piece = np.take(voice, np.arange(at, at + turn), mode="wrap")
            positions[speaker] = (at + turn) % voice.size
            block = np.concatenate([piece, gap])[: total - written]
            out.write(block)
            written += block.size
            speaker = 1 - speaker
    return path


def _voice(name: str) -> Path:
    folder = audio_dir()
    if (folder / name).is_file():
        return folder / name
    return next(folder.glob(Path(name).stem + ".*"))  # tests/data keeps some as FLAC


def child_pipeline(path: Path, *, window_s: float, stop_after: int | None) -> dict:
    """One run of the pipeline in this (child) process."""
    from engine.pipeline import FileRequest, Pipeline
    from engine.settings import Settings
    from capture import decode_windows, probe_file
    from cases import Store

    duration_s = probe_file(path).duration_s
    window_ends_s = [duration_s]
    if duration_s > window_s:  # where the pipeline's windows end (decoded once more, one window at a time)
        window_ends_s = [w.end_s for w in decode_windows(path, window_s=window_s)[1]]
    rss_before_mb = _rss_now_mb()
    marks: dict = {"after_diarizing_mb": None, "after_each_window_mb": []}
    stored = [0]

    class Enough(Exception):
        pass

    def progress(stage: str, done_s: float, total_s: float) -> None:
        if stage == "transcribing":
            if marks["after_diarizing_mb"] is None:
                marks["after_diarizing_mb"] = round(_rss_now_mb(), 1)
            while len(marks["after_each_window_mb"]) < len(window_ends_s) and (
                    done_s >= window_ends_s[len(marks["after_each_window_mb"])] - 1e-6):
                marks["after_each_window_mb"].append(round(_rss_now_mb(), 1))
            stored[0] += 1
            if stop_after is not None and stored[0] > stop_after:
                raise Enough()

    with tempfile.TemporaryDirectory(prefix="bilu-long-") as home:
        settings = Settings(home=Path(home), file_window_s=window_s)
        pipeline = Pipeline(settings)
        started = time.perf_counter()
        completed = True
        with Store.open(settings.home) as store:
            try:
                result = pipeline.transcribe_file(store, FileRequest(path=path, case_no="BENCH-1"), progress=progress)
                duration_s, utterances = result.duration_s, result.utterances
            except Enough:
                completed, duration_s, utterances = False, window_ends_s[-1], stop_after
            session = store.list_sessions()[0]
        elapsed_s = time.perf_counter() - started
    return {
        "completed": completed, "duration_s": round(duration_s, 1), "windows": len(window_ends_s),
        "utterances": utterances, "elapsed_s": round(elapsed_s, 1),
        "real_time_factor": round(elapsed_s / duration_s, 4) if completed else None,
        "timings": session["timings"] if completed else None,
        "rss_before_mb": round(rss_before_mb, 1), **marks, "peak_rss_mb": _peak_rss_mb(),
    }


def child_bare(path: Path) -> dict:
    from faster_whisper import decode_audio

    from engine.settings import Settings
    from transcribe import ModelSpec, TranscribeOptions, load_model

    settings = Settings(home=Path(tempfile.gettempdir()))
    model = load_model(ModelSpec(settings.asr_model, settings.asr_compute, settings.asr_threads))
    options = TranscribeOptions(beam_size=settings.asr_beam_size)
    started = time.perf_counter()
    audio = decode_audio(str(path))
    segments, _ = model.transcribe(audio, **options.whisper_kwargs())
    count = sum(1 for _ in segments)
    elapsed_s = time.perf_counter() - started
    duration_s = audio.shape[0] / RATE
    return {"completed": True, "duration_s": round(duration_s, 1), "segments": count, "elapsed_s": round(elapsed_s, 1),
            "real_time_factor": round(elapsed_s / duration_s, 4), "peak_rss_mb": _peak_rss_mb()}


def _rss_now_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(*args: str) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True,
                            text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", default="30,60", help="windowed runs: session lengths in minutes (default 30,60)")
    parser.add_argument("--whole", default="", help="whole-file runs (the pipeline without windows) of these lengths")
    parser.add_argument("--whole-stop", type=int, default=None, metavar="N",
                        help="stop whole-file runs after N utterances (their peak memory comes before the first)")
    parser.add_argument("--windowed-stop", type=int, default=None, metavar="N",
                        help="stop windowed runs after N utterances (to see a very long file's memory sooner)")
    parser.add_argument("--bare", default="", help="bare faster-whisper runs of these lengths (default none)")
    parser.add_argument("--window-s", type=float, default=600.0, help="the pipeline's window (default 600 s)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bilu-long-files")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child[0], Path(args.child[1])
        if kind == "bare":
            row = child_bare(path)
        else:
            stop = int(args.child[3]) if len(args.child) > 3 and args.child[3] != "-" else None
            row = child_pipeline(path, window_s=float(args.child[2]), stop_after=stop)
        print(json.dumps(row))
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    lengths = lambda text: [float(m) for m in text.split(",") if m]  # noqa: E731
    rows = []
    plan = ([("windowed", m) for m in lengths(args.minutes)] + [("whole", m) for m in lengths(args.whole)]
            + [("bare", m) for m in lengths(args.bare)])
    for mode, minutes in plan:
        path = write_session(args.workdir / f"session_{minutes:g}min.flac", minutes)
        if mode == "bare":
            row = run_child("bare", str(path))
        else:
            window_s = args.window_s if mode == "windowed" else minutes * 60 * 2  # one window: the whole file
            stop = args.windowed_stop if mode == "windowed" else args.whole_stop
            row = run_child("pipeline", str(path), str(window_s), "-" if stop is None else str(stop))
            row["window_s"] = window_s if mode == "windowed" else None
        row = {"mode": mode, "minutes": minutes, **row}
        rows.append(row)
        print(f"{mode:8s} {minutes:5g} min: peak RSS {row['peak_rss_mb']} MB, RTF {row['real_time_factor']}, "
              f"{'completed' if row['completed'] else 'stopped early'}"
              + (f", RSS after each window {row['after_each_window_mb']}" if mode == "windowed" else ""), flush=True)

    report = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    done = {(r["mode"], r["minutes"]) for r in rows}
    report["machine"] = machine()
    report["runs"] = sorted([r for r in report.get("runs", []) if (r["mode"], r["minutes"]) not in done] + rows,
                            key=lambda r: (r["mode"], r["minutes"]))
    report["comparison"] = _comparison(report["runs"])
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for key, value in report["comparison"].items():
        print(f"{key}: {value}")
    print(f"wrote {RESULTS}")


def _comparison(runs: list[dict]) -> dict:
    """The windowed pipeline against bare faster-whisper and against the whole-file pipeline, same lengths."""
    found = {(r["mode"], r["minutes"]): r for r in runs}
    out = {}
    for (mode, minutes), row in sorted(found.items()):
        if mode != "windowed":
            continue
        bare, whole = found.get(("bare", minutes)), found.get(("whole", minutes))
        name = f"{minutes:g} min: windowed /"
        if bare:
            out[f"{name} bare faster-whisper peak RSS"] = round(row["peak_rss_mb"] / bare["peak_rss_mb"], 2)
            if row["completed"]:
                out[f"{name} bare faster-whisper time"] = round(row["elapsed_s"] / bare["elapsed_s"], 2)
        if whole:
            out[f"{name} whole-file pipeline peak RSS"] = round(row["peak_rss_mb"] / whole["peak_rss_mb"], 2)
    return out


if __name__ == "__main__":
    main()
