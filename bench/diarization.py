"""Diarization benchmark: DER (0.25 s collar each side) and real-time factor of each backend.

Mixes come from /work/shared/audio/mixes (NAME.wav -> voice, NAME.seats.wav -> channel, NAME.rttm the
truth), or from tests/data when that folder is absent. Prints the figures and writes
bench/results/diarization.json. Run: python bench/diarization.py [--threads 2]

With --pyannote DIR (a pipeline folder, see the README; needs `pip install .[pyannote]`) the pyannote
backend is measured too, and --long-minutes N also diarizes a synthetic session of N minutes (the shared
clips tiled, two voices alternating) with it, recording the real-time factor and the resident memory
after each window: with windowed processing both should stay flat however long the session.
"""
import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.der import der_percent  # noqa: E402
from capture import decode_file  # noqa: E402
from diarize import ChannelDiarizer, VoiceDiarizer  # noqa: E402

SHARED_MIXES = Path("/work/shared/audio/mixes")
TEST_DATA = ROOT / "tests" / "data"
RESULTS = ROOT / "bench" / "results" / "diarization.json"


def find_mixes() -> list[tuple[str, Path, Path | None, Path | None]]:
    """(name, rttm, mono file, seats file) for every mix with a reference."""
    folder = SHARED_MIXES if SHARED_MIXES.is_dir() else TEST_DATA
    mixes = []
    for rttm in sorted(folder.glob("*.rttm")):
        name = rttm.stem
        mono = folder / f"{name}.wav"
        seats = next((p for p in (folder / f"{name}.seats.wav", folder / f"{name}.seats.flac") if p.is_file()), None)
        mixes.append((name, rttm, mono if mono.is_file() else None, seats))
    return mixes


def run(diarizer, path: Path, rttm: Path) -> dict:
    audio = decode_file(path)
    started = time.perf_counter()
    turns = diarizer.diarize(audio.samples, audio.sample_rate)
    elapsed_s = time.perf_counter() - started
    return {
        "file": str(path),
        "duration_s": round(audio.duration_s, 2),
        "der_percent": round(der_percent(turns, rttm, collar_s=0.25), 2),
        "speakers_found": len({t.speaker for t in turns}),
        "speakers_true": len({line.split()[7] for line in rttm.read_text().splitlines() if line.startswith("SPEAKER")}),
        "seconds": round(elapsed_s, 3),
        "real_time_factor": round(elapsed_s / audio.duration_s, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    parser.add_argument("--pyannote", type=Path, default=None, metavar="DIR",
                        help="also measure the pyannote backend, loaded from this pipeline folder")
    parser.add_argument("--long-minutes", type=float, default=0.0,
                        help="with --pyannote: length of a synthetic session to diarize (0: skip)")
    args = parser.parse_args()
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    import torch

    torch.set_num_threads(args.threads)
    mixes = find_mixes()
    backends = {"channel": ChannelDiarizer(), "voice": VoiceDiarizer()}
    pyannote_load_s = None
    if args.pyannote is not None:
        from diarize import PyannoteDiarizer

        started = time.perf_counter()
        backends["pyannote"] = PyannoteDiarizer(args.pyannote)
        pyannote_load_s = round(time.perf_counter() - started, 3)
    # Load models before timing: the RTF is for steady use, the load time is reported apart.
    warm_up = decode_file(TEST_DATA / "aishell1_BAC009S0724W0121.wav")
    load = {}
    for name, diarizer in backends.items():
        samples = warm_up.samples if name == "voice" else warm_up.samples.repeat(2, axis=1)
        started = time.perf_counter()
        diarizer.diarize(samples, warm_up.sample_rate)
        load[name] = round(time.perf_counter() - started, 3)
    report = {"machine": {"cpus": os.cpu_count(), "threads": args.threads, "python": platform.python_version()},
              "collar_s_each_side": 0.25, "first_call_s": load, "backends": {}}
    if pyannote_load_s is not None:
        report["pyannote_pipeline"] = {"folder": str(args.pyannote), "load_s": pyannote_load_s}
    for name, diarizer in backends.items():
        rows = []
        for mix, rttm, mono, seats in mixes:
            path = seats if name == "channel" else mono
            if path is None:
                continue
            row = {"mix": mix, **run(diarizer, path, rttm)}
            rows.append(row)
            print(f"{name:8s} {mix:16s} DER {row['der_percent']:6.2f} %  speakers {row['speakers_found']}/"
                  f"{row['speakers_true']}  RTF {row['real_time_factor']:.4f}")
        total_s = sum(r["seconds"] for r in rows)
        audio_s = sum(r["duration_s"] for r in rows)
        report["backends"][name] = {
            "mixes": rows,
            "mean_der_percent": round(sum(r["der_percent"] for r in rows) / max(len(rows), 1), 2),
            "real_time_factor": round(total_s / audio_s, 4) if audio_s else None,
        }
        print(f"{name:8s} overall RTF {report['backends'][name]['real_time_factor']}")
    # The voice backend's cost on a long single-speaker recording, where the clustering does the most work.
    long_clip = Path("/work/shared/audio/funasr_vad_example_70s.wav")
    if long_clip.is_file():
        audio = decode_file(long_clip)
        started = time.perf_counter()
        turns = backends["voice"].diarize(audio.samples, audio.sample_rate)
        elapsed_s = time.perf_counter() - started
        report["backends"]["voice"]["long_clip"] = {
            "file": str(long_clip), "duration_s": round(audio.duration_s, 2),
            "speakers_found": len({t.speaker for t in turns}),
            "real_time_factor": round(elapsed_s / audio.duration_s, 4),
        }
        print(f"voice    {long_clip.name}: RTF {elapsed_s / audio.duration_s:.4f}, "
              f"{len({t.speaker for t in turns})} speaker(s) found")
    if "pyannote" in backends and args.long_minutes > 0:
        report["backends"]["pyannote"]["long_session"] = long_session(backends["pyannote"], minutes=args.long_minutes)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


def synthetic_session(minutes: float) -> tuple[np.ndarray, int]:
    """[frames, 1] float32 audio of `minutes`: two real voices answering each other with 0.7 s pauses,
    their clips repeated until the session is long enough."""
    first = decode_file(TEST_DATA / "funasr_long_25s.flac").mono()
    second = decode_file(TEST_DATA / "aishell1_BAC009S0764W0121.wav").mono()
    rate = 16000
    gap = np.zeros(int(0.7 * rate), dtype=np.float32)
    cycle = np.concatenate([first, gap, second, gap])
    frames = int(minutes * 60 * rate)
    return np.resize(cycle, frames)[:, None], rate


def long_session(diarizer, *, minutes: float) -> dict:
    """Real-time factor and resident memory of the pyannote backend on a synthetic session."""
    import psutil

    audio, rate = synthetic_session(minutes)
    process = psutil.Process()
    rss_mb: list[float] = []
    fractions: list[float] = []

    def sample(fraction: float) -> None:
        # One sample per window end is enough to see whether memory grows with the session.
        if not fractions or int(fraction * 1000) != int(fractions[-1] * 1000):
            fractions.append(fraction)
            rss_mb.append(process.memory_info().rss / 2**20)

    before_mb = process.memory_info().rss / 2**20
    started = time.perf_counter()
    turns = diarizer.diarize(audio, rate, progress=sample)
    elapsed_s = time.perf_counter() - started
    result = {
        "minutes": minutes, "window_s": diarizer.tuning.window_s,
        "real_time_factor": round(elapsed_s / (audio.shape[0] / rate), 4),
        "speakers_found": len({t.speaker for t in turns}),
        "rss_before_mb": round(before_mb, 1),
        "rss_max_during_mb": round(max(rss_mb, default=before_mb), 1),
        "rss_after_first_quarter_mb": round(max((m for f, m in zip(fractions, rss_mb) if f <= 0.25),
                                                default=before_mb), 1),
        "peak_rss_process_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(f"pyannote {minutes:g}-minute session: RTF {result['real_time_factor']:.4f}, resident memory "
          f"{result['rss_before_mb']} MB before, {result['rss_max_during_mb']} MB at most")
    return result


if __name__ == "__main__":
    main()
