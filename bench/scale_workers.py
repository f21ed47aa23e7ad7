"""Recognition workers on a queue: kill -9 at random moments during file work, and throughput with 1 and 2 workers.

    .venv/bin/python bench/scale_workers.py [--kills 20] [--files 8] [--clip F] [--seed 1]

Everything is real: Debian's redis-server on loopback (tests/servers/redis.py), `bilu worker` processes
(tests/worker_helpers.py), `bilu transcribe` through the broker. Kills: each run starts two workers on a fresh
BILU_HOME, hands them the clip, and at a moment drawn uniformly over a measured uninterrupted run kills -9 (pool
and all) the worker that holds the session; the other must finish it: prints audio lost (the kept copy against
the source), duplicates (one speaker's utterances sharing time: tests/crash_helpers.py), and whether the session
is done. Throughput: `--files` sessions queued at once, run by 1 worker and then by 2 (one process each, one ASR
thread: a process per core), in sessions per hour, and their ratio. Writes bench/results/scale_workers.json.
The bench/scale.py of issue 18 takes these figures beside the PostgreSQL search figures.
"""
import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import TEST_DATA, machine, write_results

from capture.recorder import file_sha256  # noqa: E402
from cases import Store  # noqa: E402
from tests.crash_helpers import duplicates  # noqa: E402
from tests.servers.redis import start_redis, stop_redis  # noqa: E402
from tests.worker_helpers import Worker, worker_env  # noqa: E402

CLIP = TEST_DATA / "dev_room_2spk.seats.flac"
SEAT_ROLES = "讯问人,被讯问人"
FAST_HANDOVER = {"BILU_BROKER_VISIBILITY_S": "10", "BILU_BROKER_BUSY_RETRY_S": "1"}


def transcribe(home: Path, url: str, clip: Path, case_no: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "api", "transcribe", str(clip), "--case", case_no,
                             "--seat-roles", SEAT_ROLES], env=worker_env(home, url, **FAST_HANDOVER),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def start_workers(home: Path, url: str, count: int, logs: Path, **extra) -> list[Worker]:
    workers = [Worker(home, url, logs / f"worker-{i}.log", **extra) for i in range(count)]
    for worker in workers:
        worker.wait_ready()
    return workers


def uninterrupted_s(scratch: Path, url: str, clip: Path) -> float:
    home = scratch / "calibration"
    workers = start_workers(home, url, 1, scratch, **FAST_HANDOVER)
    try:
        started = time.monotonic()
        command = transcribe(home, url, clip, "CAL-1")
        command.communicate(timeout=1800)
        return time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()


def kill_run(scratch: Path, url: str, clip: Path, *, seed: int, total_s: float) -> dict:
    home = scratch / f"kill-{seed}"
    workers = start_workers(home, url, 2, scratch, **FAST_HANDOVER)
    moment_s = random.Random(seed).uniform(0.0, total_s)
    run = {"seed": seed, "kill_after_s": round(moment_s, 2), "killed": False}
    try:
        started = time.monotonic()
        command = transcribe(home, url, clip, f"KILL-{seed}")
        while time.monotonic() - started < moment_s and command.poll() is None:
            time.sleep(0.05)
        holders = [w for w in workers if w.holds("session-1.lock")]
        if holders and command.poll() is None:
            holders[0].kill_9()
            run["killed"] = True
        out, err = command.communicate(timeout=1800)
        run["transcribe_exit"] = command.returncode
        run["took_s"] = round(time.monotonic() - started, 2)
        with Store.open(home) as store:
            session = store.get_session(1)
            utterances = store.utterances(1)
        kept = home / session["audio_path"]
        run["status"] = session["status"]
        run["audio_lost_s"] = 0.0 if kept.is_file() and file_sha256(kept) == file_sha256(clip) else session["duration_s"]
        run["duplicates"] = len(duplicates(utterances))
        run["transcript_end_s"] = round(max((u["end_s"] for u in utterances), default=0.0), 2)
        run["duration_s"] = session["duration_s"]
        run["done"] = session["status"] in ("done", "recovered") and run["transcribe_exit"] == 0
    finally:
        for worker in workers:
            worker.stop()
    return run


def throughput(scratch: Path, url: str, clip: Path, *, workers_n: int, files: int) -> dict:
    home = scratch / f"throughput-{workers_n}"
    workers = start_workers(home, url, workers_n, scratch)
    try:
        started = time.monotonic()
        commands = [transcribe(home, url, clip, f"T-{workers_n}-{i}") for i in range(files)]
        codes = [c.wait(timeout=3600) for c in commands]
        took_s = time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()
    return {"workers": workers_n, "sessions": files, "failed": sum(1 for c in codes if c != 0),
            "took_s": round(took_s, 1), "sessions_per_hour": round(files * 3600 / took_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--files", type=int, default=8, help="sessions queued for each throughput run")
    parser.add_argument("--clip", type=Path, default=CLIP)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    results = {"machine": machine(), "clip": args.clip.name, "kills": [], "throughput": []}
    with tempfile.TemporaryDirectory(prefix="bilu-scale-") as scratch_name:
        scratch = Path(scratch_name)
        redis = start_redis(scratch / "redis")
        try:
            total_s = uninterrupted_s(scratch, redis.url, args.clip)
            results["uninterrupted_s"] = round(total_s, 2)
            print(f"an uninterrupted run of {args.clip.name} through one worker: {total_s:.1f} s")
            for i in range(args.kills):
                run = kill_run(scratch, redis.url, args.clip, seed=args.seed + i, total_s=total_s)
                results["kills"].append(run)
                print(f"kill {i + 1}/{args.kills} at {run['kill_after_s']:6.1f} s  killed={run['killed']!s:5}  "
                      f"status={run.get('status')}  lost={run.get('audio_lost_s')} s  "
                      f"duplicates={run.get('duplicates')}  end={run.get('transcript_end_s')}/{run.get('duration_s')} s")
            if not args.skip_throughput:
                for n in (1, 2):
                    figures = throughput(scratch, redis.url, args.clip, workers_n=n, files=args.files)
                    results["throughput"].append(figures)
                    print(f"{n} worker(s): {figures['sessions']} sessions in {figures['took_s']} s = "
                          f"{figures['sessions_per_hour']} sessions/h ({figures['failed']} failed)")
        finally:
            stop_redis(redis)
    kills = results["kills"]
    results["summary"] = {
        "kills": len(kills), "killed_mid_job": sum(r["killed"] for r in kills),
        "audio_lost_s": sum(r.get("audio_lost_s", 0.0) for r in kills),
        "duplicates": sum(r.get("duplicates", 0) for r in kills),
        "sessions_done": sum(bool(r.get("done")) for r in kills),
    }
    if len(results["throughput"]) == 2:
        one, two = results["throughput"]
        results["summary"]["throughput_ratio_2_to_1"] = round(two["sessions_per_hour"] / one["sessions_per_hour"], 2)
    print(results["summary"])
    print(f"written to {write_results('scale_workers', results)}")


if __name__ == "__main__":
    main()
