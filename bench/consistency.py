"""Discrepancy precision and recall of the written-record check, on the corpus of bench/consistency_corpus/.

    python bench/consistency.py [--split tune|heldout|fresh|pipeline|heldout_c|heldout_d|heldout_e|heldout_f|all]
                                [--show] [--out FILE]

A found discrepancy is right when a planted one of the same kind shares a written block with it or overlaps its
time span; recall counts the planted ones found. False alarms are counted on the clean pairs (the clean record
against the clean and the noisy transcript) per 100 written blocks. Figures per split, overall and per kind;
written to bench/results/consistency.json.
"""
import argparse
import json
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.consistency_pairs import Expected, Pair, load_pairs  # noqa: E402
from consistency import KINDS, Spoken, check_record, parse_text  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "consistency.json"


def _matches(found, expected: Expected) -> bool:
    if found.kind != expected.kind:
        return False
    if expected.kind == "header_time":
        return True
    if expected.blocks and set(found.blocks) & expected.blocks:
        return True
    if expected.start_s is not None and found.start_s is not None:
        return found.start_s <= expected.end_s + 0.05 and found.end_s >= expected.start_s - 0.05
    return False


def run_pair(pair: Pair):
    record = parse_text(pair.written_text)
    utterances = [Spoken(u["id"], u["start_s"], u["end_s"], u.get("role"), u["text"]) for u in pair.utterances]
    report = check_record(record, utterances,
                          recording_started_at=datetime.fromisoformat(pair.recording_started_at),
                          recording_ended_at=datetime.fromisoformat(pair.recording_ended_at))
    return record, report


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def score(pairs: list[Pair], show: bool = False) -> dict:
    tally = {kind: {"found": 0, "right": 0, "planted": 0, "recalled": 0} for kind in KINDS}
    clean_blocks = clean_alarms = 0
    for pair in pairs:
        record, report = run_pair(pair)
        if pair.variant != "planted":
            clean_blocks += len(record.blocks)
            clean_alarms += len(report.discrepancies)
            if show:
                for d in report.discrepancies:
                    print(f"  FALSE ALARM {pair.name}/{pair.variant}: {d.kind}/{d.what} {d.blocks} {d.written[:30]!r} "
                          f"{d.spoken[:30]!r} {d.start_s}")
            continue
        for d in report.discrepancies:
            tally[d.kind]["found"] += 1
            hit = any(_matches(d, e) for e in pair.expected)
            tally[d.kind]["right"] += hit
            if show and not hit:
                print(f"  WRONG {pair.name}: {d.kind}/{d.what} {d.blocks} {d.written[:30]!r} {d.spoken[:30]!r} "
                      f"{d.start_s}")
        for e in pair.expected:
            tally[e.kind]["planted"] += 1
            hit = any(_matches(d, e) for d in report.discrepancies)
            tally[e.kind]["recalled"] += hit
            if show and not hit:
                print(f"  MISSED {pair.name}: {e.kind}/{e.what} blocks {sorted(e.blocks)} at {e.start_s}")
    total = {key: sum(t[key] for t in tally.values()) for key in ("found", "right", "planted", "recalled")}
    return {
        "pairs": len(pairs),
        "precision": _ratio(total["right"], total["found"]),
        "recall": _ratio(total["recalled"], total["planted"]),
        "per_kind": {kind: {"precision": _ratio(t["right"], t["found"]), "recall": _ratio(t["recalled"], t["planted"]),
                            **t} for kind, t in tally.items()},
        "clean_blocks": clean_blocks,
        "false_alarms": clean_alarms,
        "false_alarms_per_100_blocks": round(100 * clean_alarms / clean_blocks, 2) if clean_blocks else None,
        **total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all",
                        choices=("tune", "heldout", "fresh", "pipeline", "heldout_c", "heldout_d", "heldout_e",
                                 "heldout_f", "all"))
    parser.add_argument("--show", action="store_true", help="print every wrong, missed and false discrepancy")
    parser.add_argument("--out", type=Path, help="also write the figures of the chosen split(s) to this JSON file")
    args = parser.parse_args()
    pairs = load_pairs()
    every = ("tune", "heldout", "fresh", "pipeline", "heldout_c", "heldout_d", "heldout_e", "heldout_f")
    splits = every if args.split == "all" else (args.split,)
    started = time.perf_counter()
    results = {}
    for split in splits:
        if args.show:
            print(f"[{split}]")
        results[split] = score([p for p in pairs if p.split == split], show=args.show)
    results["seconds"] = round(time.perf_counter() - started, 1)
    for split in splits:
        r = results[split]
        print(f"{split}: {r['pairs']} pairs  precision {r['precision']}  recall {r['recall']}  "
              f"false alarms {r['false_alarms']} in {r['clean_blocks']} clean blocks "
              f"({r['false_alarms_per_100_blocks']} per 100)")
        for kind, k in r["per_kind"].items():
            print(f"    {kind:18s} precision {k['precision']}  recall {k['recall']}  "
                  f"(found {k['found']}, right {k['right']}, planted {k['planted']}, recalled {k['recalled']})")
    if args.split == "all":
        RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"written {RESULTS}")
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"written {args.out}")


if __name__ == "__main__":
    main()
