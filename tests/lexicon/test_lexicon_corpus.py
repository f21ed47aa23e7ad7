"""The transcript corpus: every clean transcript gets exactly its expected findings, the noisy copies
(recognizer-like errors) at least 95 % precision and recall, and the noisy copies are reproducible."""
import json
import sys
from pathlib import Path

import pytest

from lexicon import STATUSES, check_transcript, load_rule_set

CORPUS = Path(__file__).parents[1] / "data" / "transcripts"
CLEAN = sorted(p for p in CORPUS.glob("*.json") if p.name.count(".") == 1)


def expected_of(path: Path) -> dict[str, str]:
    return json.loads((CORPUS / f"{path.name.split('.')[0]}.expected.json").read_text(encoding="utf-8"))


def statuses_of(path: Path) -> dict[str, str]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    rules = load_rule_set(doc["session"]["rule_set"], conditions=doc["session"]["conditions"])
    return {f.rule_key: f.status for f in check_transcript(doc, rules)}


def test_corpus_covers_the_kinds_of_questioning_and_every_status():
    assert len(CLEAN) >= 10
    sessions = [json.loads(p.read_text(encoding="utf-8"))["session"] for p in CLEAN]
    assert {s["rule_set"] for s in sessions} == {"criminal_first", "criminal_later", "administrative"}
    assert {"minor", "interpreter"} <= {c for s in sessions for c in s["conditions"]}
    seen = {status for p in CLEAN for status in expected_of(p).values()}
    assert seen == set(STATUSES)


@pytest.mark.parametrize("path", CLEAN, ids=lambda p: p.stem)
def test_clean_transcript_gets_its_expected_findings(path):
    assert statuses_of(path) == expected_of(path)


def test_noisy_copies_reach_the_goal():
    """Issue 4's goal, on the noisy copies: precision and recall of the satisfied verdicts >= 0.95 (a
    notice the checker calls satisfied was given; a notice given is called satisfied). Real defects
    must also be caught (recall of the exact defect status >= 0.95) and most verdicts exact."""
    pairs = []
    for clean in CLEAN:
        got, want = statuses_of(clean.with_name(f"{clean.stem}.noisy.json")), expected_of(clean)
        assert got.keys() == want.keys()
        pairs += [(want[key], got[key]) for key in want]
    said = [g for e, g in pairs if e == "satisfied"]
    called = [e for e, g in pairs if g == "satisfied"]
    defects = [(e, g) for e, g in pairs if e != "satisfied"]
    assert called.count("satisfied") / len(called) >= 0.95
    assert said.count("satisfied") / len(said) >= 0.95
    assert sum(e == g for e, g in defects) / len(defects) >= 0.95
    assert sum(e == g for e, g in pairs) / len(pairs) >= 0.95


def test_noisy_copies_have_recognizer_errors():
    for clean in CLEAN:
        a = json.loads(clean.read_text(encoding="utf-8"))["utterances"]
        b = json.loads(clean.with_name(f"{clean.stem}.noisy.json").read_text(encoding="utf-8"))["utterances"]
        text_a, text_b = "".join(u["text"] for u in a), "".join(u["text"] for u in b)
        assert "，" in text_a and not any(p in text_b for p in "，。？、")
        assert len(b) >= len(a) and text_a != text_b


def test_noisy_copies_are_reproducible():
    sys.path.insert(0, str(CORPUS))
    try:
        from make_noisy import homophone_table, make_noisy
    finally:
        sys.path.remove(str(CORPUS))
    table = homophone_table()
    for clean in CLEAN[:3]:
        doc = json.loads(clean.read_text(encoding="utf-8"))
        committed = json.loads(clean.with_name(f"{clean.stem}.noisy.json").read_text(encoding="utf-8"))
        again = make_noisy(doc, clean.stem, seed=4, sub=0.10, drop=0.03, split=0.2, table=table)
        assert again == committed
