"""What every benchmark shares: where the recordings are, the machine, writing results."""
import json
import os
import platform
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The repository goes first, before bench/ itself (where a script runs from): bench/api.py would otherwise
# hide the api package. The editable install may already list ROOT later on the path.
sys.path[:] = [str(ROOT)] + [entry for entry in sys.path if entry != str(ROOT)]

# The workplace's shared recordings sit beside the checkout; a fresh clone without them uses tests/data.
SHARED_AUDIO = ROOT.parent / "shared" / "audio"
TEST_DATA = ROOT / "tests" / "data"
# BENCH_RESULTS_DIR puts a run's figures elsewhere (bench/gpu_check.sh: bench/results/gpu, beside the CPU ones).
RESULTS_DIR = ROOT / os.environ.get("BENCH_RESULTS_DIR", "bench/results")


def audio_dir() -> Path:
    return SHARED_AUDIO if (SHARED_AUDIO / "manifest.jsonl").is_file() else TEST_DATA


def manifest(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_results(name: str, results: dict) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")
    return path
