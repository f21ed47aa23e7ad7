"""kill -9, 20 times during batch transcription and 20 times during live recording, at seeded random moments.

    .venv/bin/python bench/crash.py [--runs 20] [--kinds batch live] [--batch-clip F] [--live-clip F]

For each kind: one uninterrupted run measures how long a run takes on this machine now; run i of n is then
killed at a moment drawn uniformly from the i-th n-th of that length, and `bilu recover` and `bilu verify` are
run on what it left (the same code as tests/api/test_crash_*.py: tests/crash_helpers.py). Prints a table (moment
and stage of the kill, audio lost, recovered, verify's exit code, utterances before and after recovery) and
writes bench/results/crash.json.
"""
import argparse
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import RESULTS_DIR, TEST_DATA, machine, write_results

from tests.crash_helpers import KINDS, MAX_LIVE_LOSS_S, calibrate, crash_and_recover, kill_moment  # noqa: E402

CLIP = TEST_DATA / "funasr_long_25s.flac"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="kills per kind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--batch-clip", type=Path, default=CLIP)
    parser.add_argument("--live-clip", type=Path, default=CLIP)
    parser.add_argument("--seed", type=int, default=1, help="first seed (run i uses seed + i)")
    args = parser.parse_args()
    clips = {"batch": args.batch_clip, "live": args.live_clip}
    results = {"machine": machine(), "runs_per_kind": args.runs, "calibration": {}, "runs": []}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bilu-crash-") as scratch:
        for kind in args.kinds:
            reference = calibrate(kind, clips[kind], Path(scratch) / f"{kind}-calibration")
            results["calibration"][kind] = {"clip": clips[kind].name, "run_s": round(reference.total_s, 2),
                                            "utterances": reference.utterances, "verify_exit": reference.verify_exit}
            print(f"{kind}: an uninterrupted run of {clips[kind].name} takes {reference.total_s:.1f} s here now "
                  f"({reference.utterances} utterances)", flush=True)
            total_s = reference.total_s
            for index in range(args.runs):
                seed = args.seed + index + (1000 if kind == "live" else 0)
                for attempt in range(3):
                    moment_s = kill_moment(seed + 100 * attempt, index=index, runs=args.runs, total_s=total_s)
                    run = crash_and_recover(kind, clips[kind], Path(scratch) / f"{kind}-{index}-{attempt}",
                                            seed=seed + 100 * attempt, kill_after_s=moment_s,
                                            reference=reference if kind == "batch" else None)
                    record = {**run.as_record(), "run": index + 1, "attempt": attempt}
                    results["runs"].append(record)
                    print(_row_from_record(index + 1, record), flush=True)
                    if run.killed:
                        break
                    # The machine got faster (other work on it ended): it finished before the moment drawn.
                    # Its length now is the new run length, and this run is drawn again from it.
                    total_s = run.killed_at_s
                    results["calibration"][kind].setdefault("run_s_later", []).append(total_s)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["summary"] = _summary(results["runs"])
    print(_header())
    for record in results["runs"]:
        print(_row_from_record(record["run"], record))
    for kind, figures in results["summary"].items():
        print(f"{kind}: {figures}")
    write_results("crash", results)


_COLUMNS = f"{'run':>3} {'kind':5} {'killed at':>9}  {'stage':44} {'lost s':>6} {'recovered':9} {'verify':>6} " \
           f"{'utt before':>10} {'after':>5}  problems"


def _header() -> str:
    return _COLUMNS


def _row_from_record(number: int, r: dict) -> str:
    problems = []
    if r["integrity_after_kill"] not in ("ok", "absent") or r["integrity_after_recover"] != "ok":
        problems.append(f"integrity {r['integrity_after_kill']}/{r['integrity_after_recover']}")
    if r["recover_exit"] != 0:
        problems.append(f"recover exit {r['recover_exit']}")
    if r["duplicates"]:
        problems.append(f"{len(r['duplicates'])} duplicates")
    if r["audio_lost_s"] > (MAX_LIVE_LOSS_S if r["kind"] == "live" else 0.0):
        problems.append(f"audio lost: {r['audio_detail']}")
    if r["session_id"] is not None and r["verify_exit"] != 0:
        problems.append("verify failed")
    verify = "-" if r["verify_exit"] is None else str(r["verify_exit"])
    recovered = "yes" if r["recovered"] else "NO"
    if r["session_id"] is None:
        recovered = "no session"
    if not r["killed"]:
        problems.append("not killed: it finished first (drawn again)")
    return (f"{number:>3} {r['kind']:5} {r['killed_at_s']:>8.1f}s  {r['stage'][:44]:44} {r['audio_lost_s']:>6.2f} "
            f"{recovered:9} {verify:>6} {r['utterances_before']:>10} {r['utterances_after']:>5}  "
            f"{'; '.join(problems) or 'none'}")


def _summary(runs: list[dict]) -> dict:
    summary = {}
    invalid = [r for r in runs if r.get("invalid")]  # spoilt by something outside the run (kept, explained)
    runs = [r for r in runs if not r.get("invalid")]
    for kind in KINDS:
        mine = [r for r in runs if r["kind"] == kind and r["killed"]]
        if not mine:
            continue
        with_session = [r for r in mine if r["session_id"] is not None]
        summary[kind] = {
            "kills": len(mine),
            "finished_before_the_moment_drawn": sum(r["kind"] == kind and not r["killed"] for r in runs),
            "killed_before_a_session_existed": len(mine) - len(with_session),
            "recovered_or_done": sum(r["recovered"] for r in mine),
            "verify_exit_0": sum(r["verify_exit"] == 0 for r in with_session),
            "database_ok": sum(r["integrity_after_recover"] == "ok" for r in mine),
            "max_audio_lost_s": max((r["audio_lost_s"] for r in mine), default=0.0),
            "duplicates": sum(len(r["duplicates"]) for r in mine),
            "median_recover_s": sorted(r["recover_s"] for r in mine)[len(mine) // 2],
            "stages": sorted({r["stage"] for r in mine}),
            "invalid_runs_drawn_again": sum(r["kind"] == kind for r in invalid),
        }
        cers = [r["cer_vs_uninterrupted"] for r in with_session if r["cer_vs_uninterrupted"] is not None]
        if cers:
            summary[kind]["max_cer_vs_uninterrupted"] = max(cers)
    return summary


if __name__ == "__main__":
    print(_header(), flush=True)
    main()
    print(f"results in {RESULTS_DIR / 'crash.json'}")
