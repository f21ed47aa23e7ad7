"""Build bench/consistency_corpus/heldout_e/NAME.json from the case sources beside this file (NAME.py).

    python bench/consistency_corpus/heldout_e_src/build.py

A case source is easier to write and review than the JSON: each utterance is one line (role, what was said, what a
recognizer made of it), utterances are named by labels instead of ids, and times are laid out here, the same on
the clean and the noisy side (a recognizer-like copy may cut an utterance in two; the parts share its span).
A case module defines:
- CLOCK: (recording start, recording end), ISO minutes, as a session's stored start and end would give it;
- ROLES: short role names to the roles of the transcript, e.g. {"Q": "讯问人", "A": "被讯问人", "T": "翻译"};
- UTTS: tuples (role, spoken, noisy) or (role, spoken, noisy, label); spoken is what was said (fillers, numbers
  in words); noisy is the recognizer-like text, a list of strings when it cut the utterance, or None for the
  spoken text with its punctuation dropped (when PUNCT is False) or kept (PUNCT True);
- RECORD: the written record (header, 问：/答： blocks);
- PLANTS: the edits of bench/consistency_pairs.py (`utts` and `after_utt` may name labels).
The format of the output is the one bench/consistency_pairs.py reads for heldout_c and heldout_d.
"""
import importlib.util
import json
import random
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "heldout_e"
PUNCTUATION = re.compile(r"[，。？！、：；“”《》（）,.?!:;\"]")
BLOCK_START = ("问", "答")


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _duration_s(text: str, rng: random.Random) -> float:
    # Mandarin runs at about four to five characters a second, pauses and fillers included
    return round(0.7 + 0.22 * len(PUNCTUATION.sub("", text)) * rng.uniform(0.85, 1.2), 2)


def build(path: Path) -> dict:
    case = _load(path)
    rng = random.Random(path.stem)
    punct = getattr(case, "PUNCT", False)
    labels: dict[str, int] = {}
    utterances, noisy = [], []
    extra_id = 500
    t = round(rng.uniform(1.5, 4.0), 2)
    previous_role = None
    for number, item in enumerate(case.UTTS, start=1):
        role, spoken, heard = case.ROLES[item[0]], item[1], item[2]
        if len(item) > 3:
            if item[3] in labels:
                raise ValueError(f"{path.stem}: label {item[3]} twice")
            labels[item[3]] = number
        # a new speaker takes longer to start than the same speaker going on
        t = round(t + (rng.uniform(0.6, 2.4) if role != previous_role else rng.uniform(0.2, 0.8)), 2)
        end = round(t + _duration_s(spoken, rng), 2)
        utterances.append({"id": number, "start_s": t, "end_s": end, "role": role, "text": spoken})
        if heard is None:
            heard = spoken if punct else PUNCTUATION.sub("", spoken)
        parts = heard if isinstance(heard, list) else [heard]
        total = sum(max(len(p), 1) for p in parts)
        start = t
        for index, part in enumerate(parts):
            part_end = end if index == len(parts) - 1 else round(start + (end - t) * max(len(part), 1) / total, 2)
            if index == 0:
                part_id = number
            else:
                extra_id += 1
                part_id = extra_id
            noisy.append({"id": part_id, "start_s": start, "end_s": part_end, "role": role, "text": part})
            start = round(part_end + 0.15, 2)
        t, previous_role = end, role
    record = case.RECORD.strip("\n") + "\n"
    lines = record.splitlines()
    blocks = [line for line in lines if line.startswith(BLOCK_START)]
    plants = []
    for plant in case.PLANTS:
        plant = dict(plant)
        for key in ("find", "after"):
            if key in plant:
                hits = [line for line in lines if plant[key] in line]
                if len(hits) != 1:
                    raise ValueError(f"{path.stem}: {key} {plant[key]!r} is in {len(hits)} lines")
        if "utts" in plant:
            plant["utts"] = [labels[u] if isinstance(u, str) else u for u in plant["utts"]]
        if isinstance(plant.get("after_utt"), str):
            plant["after_utt"] = labels[plant["after_utt"]]
        plants.append(plant)
    return {"recording_started_at": case.CLOCK[0], "recording_ended_at": case.CLOCK[1],
            "blocks": len(blocks), "utterances": utterances, "noisy": noisy, "record": record, "plants": plants}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for path in sorted(HERE.glob("*.py")):
        if path.name == "build.py":
            continue
        case = build(path)
        (OUT / f"{path.stem}.json").write_text(json.dumps(case, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"{path.stem}: {len(case['utterances'])} utterances, {case['blocks']} blocks, {len(case['plants'])} plants",
              file=sys.stderr)


if __name__ == "__main__":
    main()
