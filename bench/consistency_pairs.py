"""The consistency corpus as pairs: a recording's transcript, a written record, and the discrepancies planted.

bench/consistency_corpus/ holds one clean written record per transcript of tests/data/transcripts
(records/NAME.txt), the edits that plant discrepancies (plants.json) and the split and recording clock of
each (corpus.json). Every record gives three pairs:
- `clean`: the clean record against the transcript as written (no discrepancy expected);
- `clean_noisy`: the clean record against the recognizer-like copy (NAME.noisy.json; none expected);
- `planted`: the edited record against the edited noisy copy (one expected event per edit);
- a second planted pair from plants_b.json, split `fresh`: written after the first held-out run, before any
  change made after it, and not looked at until the end (a held-out set for the aligner as finally tuned).
An expected event names its kind, the written blocks it touches (by position among the 问/答 lines) and the
span of the utterances it touches; a found discrepancy matches it when the kind is the same and it shares a
block or overlaps the span.
"""
import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "consistency_corpus"
TRANSCRIPTS = ROOT / "tests" / "data" / "transcripts"


@dataclass
class Expected:
    kind: str
    what: str
    blocks: set[int] = field(default_factory=set)
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class Pair:
    name: str
    variant: str
    split: str
    written_text: str
    utterances: list[dict]
    recording_started_at: str
    recording_ended_at: str
    expected: list[Expected]


def _is_block(line: str) -> bool:
    return line.startswith("问") or line.startswith("答")


def _load_transcript(name: str, noisy: bool) -> list[dict]:
    path = TRANSCRIPTS / (f"{name}.noisy.json" if noisy else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))["utterances"]


def _span(clean: list[dict], ids: list[int]) -> tuple[float, float]:
    chosen = [u for u in clean if u["id"] in ids]
    return min(u["start_s"] for u in chosen), max(u["end_s"] for u in chosen)


def _say(utterances: list[dict], after_id_end_s: float, role: str, text: str, new_id: int) -> tuple[float, float]:
    """Insert an utterance after the one ending at `after_id_end_s`, moving everything later on."""
    duration_s = round(1.0 + 0.25 * len(text), 2)
    start_s = round(after_id_end_s + 0.6, 2)
    shift_s = duration_s + 1.2
    for u in utterances:
        if u["start_s"] > after_id_end_s:
            u["start_s"] = round(u["start_s"] + shift_s, 2)
            u["end_s"] = round(u["end_s"] + shift_s, 2)
    utterances.append({"id": new_id, "start_s": start_s, "end_s": round(start_s + duration_s, 2), "speaker": None,
                       "role": role, "channel": None, "text": text, "words": []})
    utterances.sort(key=lambda u: u["start_s"])
    return start_s, start_s + duration_s


def _planted(name: str, text: str, noisy: list[dict], clean: list[dict], edits: list[dict]):
    # lines carry a marker object so that the block an edit touches can be found after later edits move it
    lines = [[line, object()] for line in text.splitlines()]
    utterances = copy.deepcopy(noisy)
    clean = copy.deepcopy(clean)
    events: list[tuple[Expected, list[object]]] = []
    for number, edit in enumerate(edits):
        event = Expected(kind=edit["kind"], what=edit["what"])
        markers: list[object] = []
        op = edit["op"]
        if op in ("replace", "header"):
            line = next(l for l in lines if edit["find"] in l[0])
            line[0] = line[0].replace(edit["find"], edit["new"])
            if op == "replace":
                markers.append(line[1])
        elif op == "delete_block":
            line = next(l for l in lines if edit["find"] in l[0])
            lines.remove(line)
        elif op == "insert":
            at = next(i for i, l in enumerate(lines) if edit["after"] in l[0]) + 1
            for offset, block in enumerate(edit["blocks"]):
                marker = object()
                lines.insert(at + offset, [block, marker])
                markers.append(marker)
        elif op == "unsay":
            start_s, end_s = _span(clean, edit["utts"])
            utterances = [u for u in utterances if not (start_s - 0.01 <= u["start_s"] <= end_s)]
            markers.append(next(l for l in lines if edit["find"] in l[0])[1])
        elif op == "say":
            after_end_s = next(u["end_s"] for u in clean if u["id"] == edit["after_utt"])
            event.start_s, event.end_s = _say(utterances, after_end_s, edit["role"], edit["text"], 1000 + number)
            _say(clean, after_end_s, edit["role"], edit["text"], 1000 + number)
        else:
            raise ValueError(f"unknown edit {op!r} in {name}")
        if op != "say" and edit.get("utts"):
            event.start_s, event.end_s = _span(clean, edit["utts"])
        events.append((event, markers))
    blocks = [l for l in lines if _is_block(l[0])]
    for event, markers in events:
        event.blocks = {i for i, l in enumerate(blocks) if l[1] in markers}
    return "\n".join(l[0] for l in lines) + "\n", utterances, [e for e, _ in events]


def load_pairs() -> list[Pair]:
    meta = json.loads((CORPUS / "corpus.json").read_text(encoding="utf-8"))
    plants = json.loads((CORPUS / "plants.json").read_text(encoding="utf-8"))
    fresh = json.loads((CORPUS / "plants_b.json").read_text(encoding="utf-8"))
    pairs: list[Pair] = []
    for name, info in meta.items():
        text = (CORPUS / "records" / f"{name}.txt").read_text(encoding="utf-8")
        clean = _load_transcript(name, noisy=False)
        noisy = _load_transcript(name, noisy=True)
        clock = (info["recording_started_at"], info["recording_ended_at"])
        pairs.append(Pair(name, "clean", info["split"], text, clean, *clock, []))
        pairs.append(Pair(name, "clean_noisy", info["split"], text, noisy, *clock, []))
        planted_text, planted_utterances, expected = _planted(name, text, noisy, clean, plants[name])
        pairs.append(Pair(name, "planted", info["split"], planted_text, planted_utterances, *clock, expected))
        if name in fresh:
            planted_text, planted_utterances, expected = _planted(name, text, noisy, clean, fresh[name])
            pairs.append(Pair(name, "planted", "fresh", planted_text, planted_utterances, *clock, expected))
    pairs += _pipeline_pairs()
    for split in ("heldout_c", "heldout_d", "heldout_e", "heldout_f"):
        pairs += _self_contained_pairs(split)
    return pairs


def _self_contained_pairs(split: str) -> list[Pair]:
    """A corpus folder of its own (bench/consistency_corpus/SPLIT/): each file holds its transcript (clean, and a
    recognizer-like copy written by hand), the written record and the plants, in the format of plants.json. Same
    three pairs per record as load_pairs, except that a record with no plants (an entirely clean case) gives no
    planted pair: it would repeat its clean_noisy pair and count the same alarms again, as wrong findings.
    heldout_c was written before reading the aligner; heldout_d after reading it, before the changes that followed;
    heldout_e without reading it, from its own case sources (heldout_e_src/; see the corpus README); heldout_f by a
    session that never read the aligner, run once after the changes heldout_e led to."""
    pairs: list[Pair] = []
    for path in sorted((CORPUS / split).glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        name, text = path.stem, case["record"]
        clock = (case["recording_started_at"], case["recording_ended_at"])
        pairs.append(Pair(name, "clean", split, text, case["utterances"], *clock, []))
        pairs.append(Pair(name, "clean_noisy", split, text, case["noisy"], *clock, []))
        if not case["plants"]:
            continue
        planted_text, planted_utterances, expected = _planted(name, text, case["noisy"], case["utterances"],
                                                              case["plants"])
        pairs.append(Pair(name, "planted", split, planted_text, planted_utterances, *clock, expected))
    return pairs


PIPELINE = ROOT / "bench" / "results" / "compliance_audio.json"


def _pipeline_pairs() -> list[Pair]:
    """A written record against what the real pipeline made of an espeak-ng recording (bench/compliance_audio.py
    stores the transcript): split `pipeline`, written after the aligner. Synthetic speech garbles the recognizer's
    output far more than a real room, so this measures the path end to end, not the aligner alone."""
    if not PIPELINE.exists():
        return []
    stored = json.loads(PIPELINE.read_text(encoding="utf-8"))["transcript"]
    utterances = [{"id": n + 1, "start_s": u["start_s"], "end_s": u["end_s"], "role": u["role"], "text": u["text"],
                   "words": []} for n, u in enumerate(stored)]
    text = (CORPUS / "records" / "pipeline_espeak_opening.txt").read_text(encoding="utf-8")
    clock = ("2026-11-27T14:19", "2026-11-27T14:22")
    planted_text = text.replace("答：我没有犯罪。", "答：我有犯罪。")
    expected = [Expected("changed", "polarity", {9}, 72.84, 74.72)]
    return [Pair("pipeline_espeak_opening", "clean", "pipeline", text, utterances, *clock, []),
            Pair("pipeline_espeak_opening", "planted", "pipeline", planted_text, utterances, *clock, expected)]


if __name__ == "__main__":
    for pair in load_pairs():
        print(pair.name, pair.variant, pair.split, len(pair.utterances), [(e.kind, e.what, sorted(e.blocks), e.start_s)
                                                                      for e in pair.expected])
