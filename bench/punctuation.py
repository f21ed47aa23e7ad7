"""Punctuation against references that carry it: sentence-end precision and recall, question-mark precision.

Three sets, scored apart (never tuned to one clip):
- `lines`: bench/data/punctuation_lines.jsonl, 60 officer/suspect lines written for this benchmark before any
  rule was (the characters given without punctuation, one utterance each, no word times: only the line's end
  and its question form can be found; sentence ends are then the lines' ends, so their figures say little).
  Scored as the 讯问笔录 prints them (an officer's line read as a question on weaker evidence) and, as
  `*_without_roles`, as stored before anyone is known to be an officer.
- `transcripts`: the 400 utterances of tests/data/transcripts (synthetic interrogations, written for the
  checker, with their roles), the same way.
- `audio`: recorded clips whose dataset label carries punctuation (`transcript_raw` with 。？！ in
  ../shared/audio and ../shared/audio/labelled), recognised by the pipeline's transcriber (word times, the
  punctuation pass as stored); the hypothesis is aligned to the reference character by character, so a mark
  counts where it follows the same character. Needs the model; `--text-only` skips it.
A sentence end is one of 。？！. Characters are never changed by punctuation: each set also checks that the
character error rate with and without punctuation is the same. Writes bench/results/punctuation.json.
Run: python bench/punctuation.py [--text-only]
"""
import difflib
import json
import sys
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
from common import ROOT, SHARED_AUDIO, TEST_DATA, machine, manifest, write_results

from cases.record_form import ASKING_ROLES
from transcribe.metrics import character_error_rate
from transcribe.punctuation import SENTENCE_ENDS, characters, officer_questions, punctuate

LINES = ROOT / "bench" / "data" / "punctuation_lines.jsonl"


def marks_after(text: str) -> tuple[str, dict[int, str]]:
    """(characters, {index of a character: the sentence end that follows it})."""
    chars: list[str] = []
    ends: dict[int, str] = {}
    for ch in text:
        if characters(ch):
            chars.append(ch)
        elif ch in SENTENCE_ENDS and chars:
            ends[len(chars) - 1] = ch
    return "".join(chars), ends


class Tally:
    def __init__(self) -> None:
        self.predicted = self.correct = self.reference = 0
        self.q_predicted = self.q_correct = self.q_reference = 0
        self.cer_changed = 0
        self.lines = 0

    def add(self, reference: str, hypothesis: str, unpunctuated: str) -> None:
        ref_chars, ref_ends = marks_after(reference)
        hyp_chars, hyp_ends = marks_after(hypothesis)
        # Each hypothesis character to the reference character it stands for: matches, and substitutions
        # position by position (a misrecognised last character still ends the same sentence).
        to_ref = {}
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, hyp_chars, ref_chars, autojunk=False).get_opcodes():
            if op in ("equal", "replace"):
                for k in range(min(i2 - i1, j2 - j1)):
                    to_ref[i1 + k] = j1 + k
                if op == "replace" and i2 - i1 > j2 - j1 and j2 > j1:
                    to_ref[i2 - 1] = j2 - 1  # a longer stretch: its last character still ends where the reference's does
        self.lines += 1
        self.reference += len(ref_ends)
        self.q_reference += sum(m == "？" for m in ref_ends.values())
        for index, mark in hyp_ends.items():
            target = to_ref.get(index)
            self.predicted += 1
            self.correct += target in ref_ends
            if mark == "？":
                self.q_predicted += 1
                self.q_correct += ref_ends.get(target) == "？"
        if character_error_rate(reference, hypothesis) != character_error_rate(reference, unpunctuated):
            self.cer_changed += 1

    def figures(self) -> dict:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        return {
            "lines": self.lines,
            "sentence_end_precision": ratio(self.correct, self.predicted),
            "sentence_end_recall": ratio(self.correct, self.reference),
            "question_precision": ratio(self.q_correct, self.q_predicted),
            "question_recall": ratio(self.q_correct, self.q_reference),
            "reference_sentence_ends": self.reference,
            "reference_questions": self.q_reference,
            "lines_whose_cer_changed": self.cer_changed,
        }


def score_text_lines(rows: list[tuple[str | None, str]], *, use_role: bool = True) -> dict:
    tally = Tally()
    for role, reference in rows:
        bare = characters(reference)
        stored = punctuate(bare)  # as the transcriber stores it: who speaks is not known yet
        printed = officer_questions(stored) if use_role and role in ASKING_ROLES else stored  # as the 笔录 prints it
        tally.add(reference, printed, bare)
    return tally.figures()


def reference_lines() -> list[tuple[str | None, str]]:
    return [(row["role"], row["text"]) for row in map(json.loads, LINES.read_text(encoding="utf-8").splitlines())]


def transcript_lines() -> list[tuple[str | None, str]]:
    rows = []
    for path in sorted((TEST_DATA / "transcripts").glob("*.json")):
        if path.name.endswith((".expected.json", ".noisy.json")):
            continue
        rows += [(u.get("role"), u["text"]) for u in json.loads(path.read_text(encoding="utf-8"))["utterances"]]
    return rows


def audio_clips() -> list[tuple[Path, str]]:
    clips = []
    for folder in (SHARED_AUDIO, SHARED_AUDIO / "labelled", TEST_DATA):
        if not (folder / "manifest.jsonl").is_file():
            continue
        for row in manifest(folder):
            raw = row.get("transcript_raw") or ""
            if row.get("transcript_kind") in ("dataset_label", "repo_label") and any(m in raw for m in SENTENCE_ENDS):
                if all(p.name != row["file"] for p, _ in clips):
                    clips.append((folder / row["file"], raw))
    return clips


def score_audio(clips: list[tuple[Path, str]]) -> dict:
    from faster_whisper import decode_audio

    from transcribe import ModelSpec, load_model, transcribe_samples

    model = load_model(ModelSpec())
    tally = Tally()
    started = time.perf_counter()
    examples = []
    for path, reference in clips:
        utterances, _ = transcribe_samples(model, decode_audio(str(path)))
        hypothesis = "".join(u.text for u in utterances)
        tally.add(reference, hypothesis, characters(hypothesis))
        examples.append({"file": path.name, "reference": reference, "hypothesis": hypothesis})
    return {**tally.figures(), "seconds": round(time.perf_counter() - started, 1), "clips": examples}


def main() -> None:
    results = {"machine": machine()}
    results["lines"] = score_text_lines(reference_lines())
    results["lines_without_roles"] = score_text_lines(reference_lines(), use_role=False)
    results["transcripts"] = score_text_lines(transcript_lines())
    results["transcripts_without_roles"] = score_text_lines(transcript_lines(), use_role=False)
    if "--text-only" not in sys.argv:
        results["audio"] = score_audio(audio_clips())
    for name, figures in results.items():
        if name != "machine":
            print(name, {k: v for k, v in figures.items() if k != "clips"})
    write_results("punctuation", results)


if __name__ == "__main__":
    main()
