"""Speed of the whole file pipeline against bare faster-whisper, sequential and batched, in one run on one long file.

The file: about five minutes of the labelled clips with 0.7 s gaps (bench/labelled_long.py), as the issue measured
(325 s), so every side's character error rate against the clips' labels is printed beside its time.
Sides, each run once on that file in this process (the model loaded once, one warm-up each), in this order:
  bare batched        faster_whisper.decode_audio + BatchedInferencePipeline.transcribe with its defaults
                      (language zh, beam 5, VAD, no word times), batch sizes 4, 8, 16: what a user of it gets
  bare batched, ours  the same with the pipeline's arguments (word times, timestamp tokens, its VAD)
  bare sequential     decode_audio + WhisperModel.transcribe with its defaults and vad_filter (the issue's 49.2 s)
  bare seq., ours     the same with the pipeline's sequential arguments
  pipeline            Pipeline.transcribe_file as `bilu transcribe` runs it (keep the file, decode, diarize,
                      transcribe with word times, assign speakers, punctuate, store in SQLite, check), batched
                      (BILU_ASR_BATCH_SIZE, 8 when it is 0), with the time of each stage
  pipeline, seq.      the same with BILU_ASR_BATCH_SIZE=0 (the pipeline before batching)
The machine's load average is printed beside each figure: compare figures of one run only. Then the pipeline's
peak memory on the file, in a child process that runs only the pipeline (the window bound).
Each side's CPU time (all threads) is printed beside its wall time: on a shared machine it is swayed less by the
rest of the load. `--sizes 8` and `--only pipeline_sequential,...` run fewer sides (the batched ones always run),
`--no-memory` skips the memory run, `--per-file` adds the former comparison, pipeline against bare sequential on
every recording of the audio folder.
Prints the figures and writes bench/results/batch.json. Run: nice -n 10 python bench/batch.py
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import ROOT, audio_dir, machine, peak_rss_mb, write_results
from labelled_long import long_recording

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from cases import Store
from transcribe import TranscribeOptions, to_simplified
from transcribe.hallucination import normalised
from transcribe.metrics import edit_distance

BATCH_SIZES = (4, 8, 16)
OPTIONAL = ("bare_sequential_vad", "bare_sequential_our_arguments", "pipeline_sequential")
RATIO_GOAL = 1.1  # pipeline over bare batched (issue 15)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def cpu_s() -> float:
    """CPU seconds this process has used (all its threads): less swayed than wall time by what else runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cer(reference: str, text: str) -> float:
    ref = normalised(to_simplified(reference))
    return round(edit_distance(ref, normalised(to_simplified(text))) / max(1, len(ref)), 4)


def bare(model, path: Path, *, batch_size: int = 0, **kwargs) -> tuple[float, str]:
    """(seconds, text) of bare faster-whisper on `path`, decoding included."""
    from faster_whisper import BatchedInferencePipeline, decode_audio

    started = time.perf_counter()
    audio = decode_audio(str(path))
    if batch_size:
        segments, _ = BatchedInferencePipeline(model).transcribe(audio, batch_size=batch_size, **kwargs)
    else:
        segments, _ = model.transcribe(audio, **kwargs)
    text = "".join(s.text for s in segments)
    return time.perf_counter() - started, text


def pipeline_run(pipeline: Pipeline, store: Store, path: Path) -> tuple[float, str, dict]:
    """(seconds, text, the session's stage timings) of the whole pipeline on `path`."""
    started = time.perf_counter()
    result = pipeline.transcribe_file(store, FileRequest(path=path, case_no="BENCH-1"))
    seconds = time.perf_counter() - started
    text = "".join(u["text"] for u in store.utterances(result.session_id))
    return seconds, text, store.get_session(result.session_id)["timings"]


def measure_memory(path: Path) -> float:
    """Peak RSS (MB) of a fresh process that runs the pipeline once on `path`."""
    code = (
        "import sys, tempfile; sys.path.insert(0, 'bench'); import common;"
        "from pathlib import Path; from engine.pipeline import FileRequest, Pipeline; from engine.settings import Settings;"
        "from cases import Store; home = Path(tempfile.mkdtemp());"
        "s = Settings(home=home); st = Store.open(home);"
        f"Pipeline(s).transcribe_file(st, FileRequest(path=Path({str(path)!r}), case_no='MEM-1'));"
        "print(common.peak_rss_mb())"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def breakdown(timings: dict) -> str:
    """The stages of a pipeline run: what the time went to."""
    wait = timings.get("diarize_wait_s", 0.0)
    recognition = timings["transcribe_s"] - timings.get("store_s", 0.0) - wait
    return (f"decode+keep {timings['decode_s']:.2f}  recognise (Whisper, speakers, punctuation, audio checks) "
            f"{recognition:.2f}  waiting for the diarizer {wait:.2f}  store {timings.get('store_s', 0.0):.2f}  "
            f"check {timings['check_s']:.2f}  = {timings['total_s']:.2f} s; the diarizer took "
            f"{timings['diarize_s']:.2f} s beside recognition")


def long_file(folder: Path, home: Path, *, sizes: tuple[int, ...] = BATCH_SIZES, chosen: set[str] = frozenset(OPTIONAL),
              memory: bool = True) -> dict:
    recording = long_recording(folder)
    path, duration_s = recording.path, recording.duration_s
    print(f"{path.name}: {duration_s:.1f} s, {len(recording.clips)} labelled clips with 0.7 s gaps, "
          f"{len(normalised(recording.reference))} reference characters; {os.cpu_count()} cores, load {load()}")
    settings = Settings(home=home / "batched", asr_batch_size=Settings().asr_batch_size or 8)
    pipeline = Pipeline(settings)
    model = pipeline.model
    sequential_pipeline = Pipeline(Settings(home=home / "sequential", asr_batch_size=0), model=model)
    stores = {"batched": Store.open(settings.home), "sequential": Store.open(sequential_pipeline.settings.home)}
    ours = pipeline.options()
    fw_defaults = {"language": "zh", "beam_size": 5}

    # Warm-up on a short clip: the first calls load ONNX sessions (Silero), the speaker encoder and jieba.
    from accuracy import labelled_clips

    warm = labelled_clips()[0][0]["path"]
    bare(model, warm, batch_size=8, **fw_defaults)
    bare(model, warm, vad_filter=True, **fw_defaults)
    pipeline_run(pipeline, stores["batched"], warm)
    pipeline_run(sequential_pipeline, stores["sequential"], warm)

    rows: dict[str, dict] = {}

    def record(name: str, run: Callable[[], tuple]) -> None:
        before, cpu_before = load(), cpu_s()
        seconds, text, *timings = run()
        cpu = cpu_s() - cpu_before
        rows[name] = {"seconds": round(seconds, 2), "cpu_s": round(cpu, 2), "rtf": round(seconds / duration_s, 4),
                      "cer": cer(recording.reference, text), "load_before": before, "load_after": load()}
        row = rows[name]
        print(f"{name:34s} {seconds:7.2f} s  CPU {cpu:7.2f} s  RTF {row['rtf']:.3f}  CER {row['cer']:.4f}  "
              f"(load {row['load_before']} -> {row['load_after']})", flush=True)
        if timings:
            row["timings"] = timings[0]
            print("    " + breakdown(timings[0]), flush=True)

    sides = {f"bare_batched_{size}": lambda size=size: bare(model, path, batch_size=size, **fw_defaults)
             for size in sizes}
    sides.update({
        f"bare_batched_{ours.batch_size}_our_arguments": lambda: bare(model, path, **ours.batched_kwargs()),
        "bare_sequential_vad": lambda: bare(model, path, vad_filter=True, **fw_defaults),
        "bare_sequential_our_arguments": lambda: bare(model, path, **ours.sequential_kwargs()),
        f"pipeline_batched_{ours.batch_size}": lambda: pipeline_run(pipeline, stores["batched"], path),
        "pipeline_sequential": lambda: pipeline_run(sequential_pipeline, stores["sequential"], path),
    })
    for name, run in sides.items():
        if name.startswith(("bare_batched_", "pipeline_batched_")) or name in chosen:
            record(name, run)
    for store in stores.values():
        store.close()

    pipeline_row = rows[f"pipeline_batched_{ours.batch_size}"]
    ratios = {}
    for key in ("seconds", "cpu_s"):
        for name, row in rows.items():
            if not name.startswith("pipeline_batched_"):
                ratios[f"pipeline_over_{name}_{key}"] = round(pipeline_row[key] / row[key], 3)
        print(f"pipeline (batch {ours.batch_size}) / each side, {'wall' if key == 'seconds' else 'CPU'} time: "
              + ", ".join(f"{name} {pipeline_row[key] / row[key]:.2f}" for name, row in rows.items()
                          if not name.startswith("pipeline_batched_")))
    goal_side = f"bare_batched_{ours.batch_size}" if f"bare_batched_{ours.batch_size}" in rows else \
        next(name for name in rows if name.startswith("bare_batched_"))
    print(f"goal: pipeline / {goal_side} wall {pipeline_row['seconds'] / rows[goal_side]['seconds']:.2f} "
          f"(<= {RATIO_GOAL}), CPU {pipeline_row['cpu_s'] / rows[goal_side]['cpu_s']:.2f}")
    if "bare_sequential_vad" in rows:
        ratios["pipeline_cer_minus_bare_sequential_cer"] = round(pipeline_row["cer"] - rows["bare_sequential_vad"]["cer"], 4)
        print(f"pipeline CER - bare sequential CER: {ratios['pipeline_cer_minus_bare_sequential_cer']:+.4f} (goal <= 0)")
    memory_mb = measure_memory(path) if memory else None
    if memory_mb is not None:
        print(f"pipeline peak memory on {path.name}: {memory_mb:.0f} MB (goal <= 1536 MB)")
    return {"file": path.name, "duration_s": round(duration_s, 1), "clips": recording.clips,
            "reference_characters": len(normalised(recording.reference)), "batch_size": ours.batch_size,
            "options": ours.as_record(), "runs": rows, "ratios": ratios,
            "pipeline_peak_rss_mb": None if memory_mb is None else round(memory_mb, 1),
            "goal": {"pipeline_over_bare_batched_max": RATIO_GOAL,
                     "cer": "pipeline <= bare sequential", "peak_rss_mb_max": 1536}}


def recordings(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*") if p.suffix in {".wav", ".flac"})
    mixes = folder / "mixes"
    if mixes.is_dir():
        files += sorted(mixes.glob("*.wav"))
    return files


def per_file(home: Path) -> dict:
    """The former comparison: each recording of the audio folder through the pipeline and bare sequential."""
    from capture import decode_file

    settings = Settings(home=home)
    pipeline = Pipeline(settings)
    store = Store.open(settings.home)
    model = pipeline.model
    kwargs = pipeline.options().sequential_kwargs()
    rows, bare_total, pipe_total, audio_total = [], 0.0, 0.0, 0.0
    for path in recordings(audio_dir()):
        duration_s = decode_file(path).duration_s
        bare_s, _ = bare(model, path, **kwargs)
        pipe_s, _, _ = pipeline_run(pipeline, store, path)
        rows.append({"file": path.name, "duration_s": round(duration_s, 2), "bare_s": round(bare_s, 3),
                     "pipeline_s": round(pipe_s, 3), "ratio": round(pipe_s / bare_s, 3), "load": load()})
        print(f"{path.name:48s} {duration_s:7.1f} s audio  bare {bare_s:6.2f} s  pipeline {pipe_s:6.2f} s  "
              f"ratio {pipe_s / bare_s:5.2f}  load {load()}")
        bare_total, pipe_total, audio_total = bare_total + bare_s, pipe_total + pipe_s, audio_total + duration_s
    store.close()
    return {"files": rows, "audio_s": round(audio_total, 1), "bare_sequential_s": round(bare_total, 2),
            "pipeline_s": round(pipe_total, 2), "ratio": round(pipe_total / bare_total, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-file", action="store_true", help="also every recording, pipeline against bare")
    parser.add_argument("--sizes", default=",".join(map(str, BATCH_SIZES)), help="bare batched batch sizes")
    parser.add_argument("--only", default=",".join(OPTIONAL), help="of the other sides, these (comma separated)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak memory run")
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "audio").mkdir()
        long = long_file(tmp / "audio", tmp / "home", sizes=tuple(int(x) for x in args.sizes.split(",") if x),
                         chosen={x for x in args.only.split(",") if x}, memory=not args.no_memory)
        files = per_file(tmp / "per_file") if args.per_file else None
    runs = long["runs"]
    pipeline_row = runs[f"pipeline_batched_{long['batch_size']}"]
    results = {
        "machine": machine(),
        "model": settings.asr_model,
        "compute_type": settings.asr_compute,
        "device": settings.asr_device,
        "long_file": long,
        # What bench/gpu_check.sh prints: the long file, the batched pipeline against bare sequential.
        "audio_s": long["duration_s"],
        "pipeline_s": pipeline_row["seconds"],
        "bare_s": runs.get("bare_sequential_vad", {}).get("seconds"),
        "bare_batched_s": runs.get(f"bare_batched_{long['batch_size']}", {}).get("seconds"),
        "rtf_pipeline": pipeline_row["rtf"],
        "rtf_bare": runs.get("bare_sequential_vad", {}).get("rtf"),
        "per_file": files,
        "this_process_peak_rss_mb": round(peak_rss_mb(), 1),
    }
    write_results("batch", results)


if __name__ == "__main__":
    main()
