"""Speed and memory of the whole file pipeline against bare faster-whisper, same model, options and input.

The pipeline: keep the file, decode (PyAV), diarize, transcribe, assign speakers, store in SQLite.
Bare: faster_whisper.decode_audio + WhisperModel.transcribe with the exact arguments the pipeline uses.
Both run in this process on the same recordings, alternating, after one warm-up each. The pipeline's
peak memory is measured in a child process that runs only the pipeline.
Prints the figures and writes bench/results/batch.json. Run: python bench/batch.py
"""
import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import ROOT, audio_dir, machine, peak_rss_mb, write_results

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from cases import Store
from transcribe import TranscribeOptions


def recordings(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.glob("*") if p.suffix in {".wav", ".flac"})
    mixes = folder / "mixes"
    if mixes.is_dir():
        files += sorted(mixes.glob("*.wav"))
    return files


def bare_transcribe(model, path: Path, options: TranscribeOptions) -> float:
    from faster_whisper import decode_audio

    started = time.perf_counter()
    segments, _ = model.transcribe(decode_audio(str(path)), **options.whisper_kwargs())
    for _ in segments:
        pass
    return time.perf_counter() - started


def pipeline_transcribe(pipeline: Pipeline, store: Store, path: Path) -> float:
    started = time.perf_counter()
    pipeline.transcribe_file(store, FileRequest(path=path, case_no="BENCH-1"))
    return time.perf_counter() - started


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="times each file is run by each side")
    args = parser.parse_args()

    files = recordings(audio_dir())
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        pipeline = Pipeline(settings)
        store = Store.open(settings.home)
        model = pipeline.model
        options = pipeline.options()
        # Warm-up: first calls load ONNX sessions, the speaker encoder and jieba.
        bare_transcribe(model, files[0], options)
        pipeline_transcribe(pipeline, store, files[0])

        rows, bare_total, pipe_total, audio_total = [], 0.0, 0.0, 0.0
        from capture import decode_file

        for path in files:
            duration_s = decode_file(path).duration_s
            bare_s = pipe_s = 0.0
            for r in range(args.rounds):
                # Alternate which side goes first, so neither always runs on a warmer cache.
                if r % 2 == 0:
                    bare_s += bare_transcribe(model, path, options)
                    pipe_s += pipeline_transcribe(pipeline, store, path)
                else:
                    pipe_s += pipeline_transcribe(pipeline, store, path)
                    bare_s += bare_transcribe(model, path, options)
            bare_s /= args.rounds
            pipe_s /= args.rounds
            rows.append({"file": path.name, "duration_s": round(duration_s, 2), "bare_s": round(bare_s, 3),
                         "pipeline_s": round(pipe_s, 3), "ratio": round(pipe_s / bare_s, 3)})
            print(f"{path.name:48s} {duration_s:7.1f} s audio  bare {bare_s:6.2f} s  pipeline {pipe_s:6.2f} s  "
                  f"ratio {pipe_s / bare_s:5.2f}")
            bare_total += bare_s
            pipe_total += pipe_s
            audio_total += duration_s
        store.close()

    longest = max(files, key=lambda p: p.stat().st_size)
    memory_mb = measure_memory(longest)
    results = {
        "machine": machine(),
        "model": settings.asr_model,
        "compute_type": settings.asr_compute,
        "device": settings.asr_device,
        "options": options.as_record(),
        "files": rows,
        "audio_s": round(audio_total, 1),
        "bare_s": round(bare_total, 2),
        "pipeline_s": round(pipe_total, 2),
        "ratio_pipeline_over_bare": round(pipe_total / bare_total, 3),
        "rtf_bare": round(bare_total / audio_total, 4),
        "rtf_pipeline": round(pipe_total / audio_total, 4),
        "pipeline_peak_rss_mb": round(memory_mb, 1),
        "peak_rss_file": longest.name,
        "this_process_peak_rss_mb": round(peak_rss_mb(), 1),
        "goal": {"ratio_max": 1.3, "peak_rss_mb_max": 1536},
    }
    print(f"\n{len(files)} recordings, {audio_total:.1f} s of audio")
    print(f"bare faster-whisper: {bare_total:.2f} s (RTF {results['rtf_bare']})")
    print(f"whole pipeline:      {pipe_total:.2f} s (RTF {results['rtf_pipeline']})")
    print(f"ratio pipeline/bare: {results['ratio_pipeline_over_bare']} (goal <= 1.3)")
    print(f"pipeline peak memory: {memory_mb:.0f} MB on {longest.name} (goal <= 1536 MB)")
    write_results("batch", results)


if __name__ == "__main__":
    main()
