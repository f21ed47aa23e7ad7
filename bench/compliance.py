"""How well the procedural-statement checker agrees with hand-labelled transcripts.

For every transcript NAME.json in the folder (batch JSON export; `session.rule_set` and
`session.conditions` choose the rules) and its noisy copy NAME.noisy.json, the checker's status per rule
is compared with NAME.expected.json (rule key -> status). Two views, per rule and overall:

- satisfied: precision = of the rules the checker calls satisfied, the share that truly are (a miss here
  hides a defect); recall = of the truly satisfied rules, the share it calls satisfied (a miss here is a
  false alarm).
- defect (missing, out_of_order, wrong_speaker): precision = of the defects it reports, the share with
  exactly the expected status; recall = of the expected defects, the share reported with that status.

Goal (issue 4): at least 0.95 of both on the noisy copies. `--extra-seeds N` also scores N freshly made
noisy copies per transcript (other seeds of make_noisy.py) to show the spread beyond the committed seed.

    python bench/compliance.py [--dir tests/data/transcripts] [--extra-seeds 10] [--out bench/results/compliance.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lexicon import check_transcript, load_rule_set  # noqa: E402

DEFAULT_DIR = ROOT / "tests" / "data" / "transcripts"


class Tally:
    """Counts for one rule (or all rules) in one condition (clean or noisy)."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []  # (expected, got)

    def add(self, expected: str, got: str) -> None:
        self.pairs.append((expected, got))

    def summary(self) -> dict[str, object]:
        sat_pred = [e for e, g in self.pairs if g == "satisfied"]
        sat_true = [g for e, g in self.pairs if e == "satisfied"]
        def_pred = [(e, g) for e, g in self.pairs if g != "satisfied"]
        def_true = [(e, g) for e, g in self.pairs if e != "satisfied"]
        return {
            "n": len(self.pairs),
            "status_accuracy": _ratio(sum(e == g for e, g in self.pairs), len(self.pairs)),
            "satisfied": {"precision": _ratio(sat_pred.count("satisfied"), len(sat_pred)),
                          "recall": _ratio(sat_true.count("satisfied"), len(sat_true)),
                          "n_true": len(sat_true), "n_predicted": len(sat_pred)},
            "defect": {"precision": _ratio(sum(e == g for e, g in def_pred), len(def_pred)),
                       "recall": _ratio(sum(e == g for e, g in def_true), len(def_true)),
                       "n_true": len(def_true), "n_predicted": len(def_pred)},
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _fmt(x: object) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def score(docs: list[tuple[str, dict, dict]]) -> tuple[dict[str, Tally], Tally, list[dict], float]:
    per_rule: dict[str, Tally] = defaultdict(Tally)
    overall = Tally()
    errors = []
    started = time.perf_counter()
    for name, doc, expected in docs:
        session = doc.get("session", {})
        rules = load_rule_set(session.get("rule_set", "criminal_first"), conditions=session.get("conditions", []))
        for finding in check_transcript(doc, rules):
            want = expected.get(finding.rule_key)
            if want is None:
                raise SystemExit(f"{name}: expected file has no status for rule {finding.rule_key!r}")
            per_rule[finding.rule_key].add(want, finding.status)
            overall.add(want, finding.status)
            if want != finding.status:
                errors.append({"transcript": name, "rule": finding.rule_key, "expected": want,
                               "got": finding.status, "evidence": finding.evidence[:80]})
    return per_rule, overall, errors, time.perf_counter() - started


def load(folder: Path, suffix: str) -> list[tuple[str, dict, dict]]:
    docs = []
    for path in sorted(folder.glob(f"*{suffix}.json")):
        stem = path.name[: -len(f"{suffix}.json")]
        if "." in stem:
            continue
        expected_path = folder / f"{stem}.expected.json"
        if not expected_path.exists():
            continue
        docs.append((path.name, json.loads(path.read_text(encoding="utf-8")),
                     json.loads(expected_path.read_text(encoding="utf-8"))))
    return docs


def extra_noisy(clean: list[tuple[str, dict, dict]], seeds: int) -> list[tuple[str, dict, dict]]:
    sys.path.insert(0, str(DEFAULT_DIR))
    from make_noisy import homophone_table, make_noisy

    table = homophone_table()
    out = []
    for seed in range(100, 100 + seeds):
        for name, doc, expected in clean:
            stem = name[: -len(".json")]
            noisy = make_noisy(doc, stem, seed=seed, sub=0.10, drop=0.03, split=0.2, table=table)
            out.append((f"{stem}.seed{seed}", noisy, expected))
    return out


def report(label: str, per_rule: dict[str, Tally], overall: Tally, seconds: float) -> dict[str, object]:
    print(f"\n== {label}: {len(overall.pairs)} rule verdicts, checked in {seconds:.2f} s")
    print(f"{'rule':24s} {'n':>4s}  {'sat P':>6s} {'sat R':>6s}  {'def P':>6s} {'def R':>6s}  {'acc':>6s}")
    result: dict[str, object] = {"rules": {}}
    for key in sorted(per_rule):
        s = per_rule[key].summary()
        result["rules"][key] = s  # type: ignore[index]
        print(f"{key:24s} {s['n']:>4d}  {_fmt(s['satisfied']['precision'])} {_fmt(s['satisfied']['recall'])}  "
              f"{_fmt(s['defect']['precision'])} {_fmt(s['defect']['recall'])}  {_fmt(s['status_accuracy'])}")
    s = overall.summary()
    result["overall"] = s
    result["seconds"] = round(seconds, 3)
    print(f"{'OVERALL':24s} {s['n']:>4d}  {_fmt(s['satisfied']['precision'])} {_fmt(s['satisfied']['recall'])}  "
          f"{_fmt(s['defect']['precision'])} {_fmt(s['defect']['recall'])}  {_fmt(s['status_accuracy'])}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of NAME.json + NAME.expected.json")
    parser.add_argument("--extra-seeds", type=int, default=10, help="extra noisy copies per transcript (0: none)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "compliance.json")
    args = parser.parse_args()

    clean = load(args.dir, "")
    noisy = load(args.dir, ".noisy")
    if not clean:
        raise SystemExit(f"no NAME.json with NAME.expected.json in {args.dir}")
    results: dict[str, object] = {
        "folder": str(args.dir), "transcripts": len(clean), "python": platform.python_version(),
    }
    sets = [("clean", clean), ("noisy", noisy)]
    if args.extra_seeds and args.dir.resolve() == DEFAULT_DIR.resolve():
        sets.append((f"noisy, {args.extra_seeds} extra seeds", extra_noisy(clean, args.extra_seeds)))
    for label, docs in sets:
        if not docs:
            continue
        per_rule, overall, errors, seconds = score(docs)
        results[label] = report(label, per_rule, overall, seconds)
        results[label]["errors"] = errors  # type: ignore[index]
        for e in errors[:15]:
            print(f"   {e['transcript']}: {e['rule']} expected {e['expected']}, got {e['got']}  | {e['evidence']}")
        if len(errors) > 15:
            print(f"   ... {len(errors) - 15} more in the JSON file")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
