"""Make recognizer-like noisy copies of the clean transcripts: NAME.json -> NAME.noisy.json.

The errors are those Whisper makes on Mandarin: a character replaced by another with the same sound
(a homophone, tone ignored, drawn from the ~3,500 most frequent characters of jieba's dictionary, as a
recognizer prefers common characters), characters dropped, all punctuation gone, and now and then a
long utterance cut in two (the second half gets a new id). Seeded per file, so the output is
reproducible; the expected findings (NAME.expected.json) are the same for both copies.

    python tests/data/transcripts/make_noisy.py [--seed 4] [--sub 0.10] [--drop 0.03] [--split 0.2]
"""

from __future__ import annotations

import argparse
import json
import random
import unicodedata
import warnings
from collections import defaultdict
from pathlib import Path

from pypinyin import Style, lazy_pinyin

HERE = Path(__file__).parent
COMMON_CHARS = 3500


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def homophone_table() -> dict[str, list[str]]:
    """Toneless syllable -> common characters with that reading, most frequent first."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports pkg_resources
        import jieba
    dict_path = Path(jieba.__file__).parent / "dict.txt"
    freq: dict[str, int] = defaultdict(int)
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            for ch in parts[0]:
                if _is_han(ch):
                    freq[ch] += int(parts[1])
    common = sorted(freq, key=lambda c: (-freq[c], c))[:COMMON_CHARS]
    table: dict[str, list[str]] = defaultdict(list)
    for ch in common:
        table[lazy_pinyin(ch, style=Style.NORMAL)[0]].append(ch)
    return dict(table)


def _noisy_text(text: str, rng: random.Random, table: dict[str, list[str]], sub: float, drop: float) -> str:
    out = []
    readings = lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: list(s))
    for ch, reading in zip(text, readings):
        if unicodedata.category(ch).startswith(("P", "S", "Z")):
            continue  # recognizers often give no punctuation at all
        if not _is_han(ch):
            out.append(ch)
            continue
        roll = rng.random()
        if roll < drop:
            continue
        if roll < drop + sub:
            others = [c for c in table.get(reading, []) if c != ch][:8]
            if others:
                out.append(rng.choice(others))
                continue
        out.append(ch)
    return "".join(out)


def make_noisy(doc: dict, name: str, *, seed: int, sub: float, drop: float, split: float,
               table: dict[str, list[str]]) -> dict:
    rng = random.Random(f"{seed}:{name}")
    next_id = max((u["id"] for u in doc["utterances"] if u.get("id") is not None), default=0) + 1
    utterances = []
    for u in doc["utterances"]:
        text = _noisy_text(u["text"], rng, table, sub, drop)
        if len(text) >= 18 and rng.random() < split:
            cut = rng.randint(len(text) // 3, 2 * len(text) // 3)
            mid_s = round(u["start_s"] + (u["end_s"] - u["start_s"]) * cut / len(text), 2)
            utterances.append({**u, "end_s": mid_s, "text": text[:cut], "words": []})
            utterances.append({**u, "id": next_id, "start_s": round(mid_s + 0.3, 2), "text": text[cut:],
                               "end_s": max(u["end_s"], round(mid_s + 0.3, 2)), "words": []})
            next_id += 1
        else:
            utterances.append({**u, "text": text, "words": []})
    session = {**doc["session"], "note": f"noisy copy (seed {seed}, sub {sub}, drop {drop}, split {split})"}
    return {"session": session, "utterances": utterances}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--sub", type=float, default=0.10, help="homophone substitution rate per character")
    parser.add_argument("--drop", type=float, default=0.03, help="dropped-character rate")
    parser.add_argument("--split", type=float, default=0.2, help="chance a long utterance is cut in two")
    args = parser.parse_args()
    table = homophone_table()
    clean = sorted(p for p in HERE.glob("*.json") if p.name.count(".") == 1)
    for path in clean:
        doc = json.loads(path.read_text(encoding="utf-8"))
        noisy = make_noisy(doc, path.stem, seed=args.seed, sub=args.sub, drop=args.drop, split=args.split,
                           table=table)
        out = path.with_name(f"{path.stem}.noisy.json")
        out.write_text(json.dumps(noisy, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(clean)} noisy copies")


if __name__ == "__main__":
    main()
