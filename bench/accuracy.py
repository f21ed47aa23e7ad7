"""Accuracy of the whole pipeline against bare faster-whisper, and of its speaker labels.

- Character error rate (Simplified, punctuation removed) on every labelled clip within reach, per set and over
  all: shared/audio (manifest.jsonl), shared/audio/labelled (35 read-speech clips) and tests/data (a clip already
  scored from another set, the same recording, is not counted twice). Only dataset and repository labels are
  references; recognizer outputs are not. Four sides: the pipeline (batched, BILU_ASR_BATCH_SIZE), bare sequential
  faster-whisper with the pipeline's sequential arguments, bare sequential faster-whisper with its own defaults
  (language fixed to Chinese), and bare BatchedInferencePipeline with its defaults (language Chinese, the
  pipeline's batch size), all converted to Simplified before scoring. The clips where the pipeline and bare defaults differ most are listed (pipeline
  worse first) with both texts. Goal (issue 15): pipeline <= bare overall, and no clip more than 10 % of its
  characters worse than bare.
- The same four sides on long recordings made of the clips (bench/labelled_long.py: consecutive groups of about
  60 s, and all of them in one, 0.7 s gaps; the reference is the labels in order): speech longer than one 30 s
  window, where batching packs VAD chunks and a window edge can cut a word.
- Diarization error rate (0.25 s collar each side, pyannote.metrics) of the pipeline's RTTM export (the
  stored speaker turns) on the mixes: `.seats.wav` (channel diarizer) and mono `.wav` (voice diarizer).
- Characters written on 60 s of silence and on 60 s of low room noise.
Prints the figures and writes bench/results/accuracy.json. Run: python bench/accuracy.py
(`--cer-only`: the character error rates alone, without the mixes and the non-speech checks. `--batch-size N`: the
pipeline's batch size, 0 for the sequential pipeline; `--batched-text-only`: the batched pipeline decoding text
without timestamp tokens, faster-whisper's batched default. Either writes accuracy_cer_only_<variant>.json.)
"""
import dataclasses
import argparse
import tempfile
import wave
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from common import SHARED_AUDIO, TEST_DATA, audio_dir, machine, manifest, write_results

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from bench.der import der_percent
from cases import Store
from cases.exports import export
from transcribe import to_simplified
from transcribe.metrics import character_error_rate, edit_distance
from transcribe.hallucination import normalised

TRUSTED_LABELS = {"dataset_label", "repo_label"}
SIDES = ("pipeline", "bare_same_options", "bare_defaults", "bare_batched")
# A clip may lose at most this share of its characters to bare (issue 15).
CLIP_LOSS_MAX = 0.10


def labelled_sets() -> list[tuple[str, Path]]:
    """The labelled sets within reach: the workplace's shared recordings when present, and tests/data."""
    sets = [("shared_audio", SHARED_AUDIO), ("shared_audio_labelled", SHARED_AUDIO / "labelled"),
            ("tests_data", TEST_DATA)]
    return [(name, folder) for name, folder in sets if (folder / "manifest.jsonl").is_file()]


def labelled_clips() -> tuple[list[dict], list[dict]]:
    """Every clip with a trusted label, once: (clips to score, clips skipped as copies of one already scored).
    A copy is the same source recording (repository and path), whatever its file name or format here."""
    clips, copies, seen = [], [], {}
    for set_name, folder in labelled_sets():
        for row in manifest(folder):
            if row.get("transcript_kind") not in TRUSTED_LABELS or not row.get("transcript"):
                continue
            key = (row.get("source_repo"), row.get("source_path")) if row.get("source_path") else \
                (set_name, row["file"])
            if key in seen:
                copies.append({"set": set_name, "file": row["file"], "same_as": seen[key]})
                continue
            seen[key] = f"{set_name}/{row['file']}"
            clips.append({"set": set_name, "path": folder / row["file"], **row})
    return clips, copies


def score_clips(pipeline: Pipeline, store: Store, clips: list[dict], *, bare: dict | None = None) -> list[dict]:
    """Each clip's texts and errors for the three sides. `bare`: texts already computed, by set/file (the
    bare sides do not change with the pipeline's settings)."""
    model = pipeline.model
    options = pipeline.options()
    same_kwargs = {k: v for k, v in options.sequential_kwargs().items() if k != "language"}
    batch_size = options.batch_size or pipeline.settings.asr_batch_size or 8
    rows = []
    for clip in clips:
        name = f"{clip['set']}/{clip['file']}"
        reference = normalised(to_simplified(clip["transcript"]))
        _, utterances = pipeline_session(pipeline, store, clip["path"])
        texts = {"pipeline": "".join(u["text"] for u in utterances)}
        if bare and name in bare:
            texts.update(bare[name])
        else:
            texts["bare_same_options"] = bare_text(model, clip["path"], **same_kwargs)
            texts["bare_defaults"] = bare_text(model, clip["path"])
            texts["bare_batched"] = bare_text(model, clip["path"], batch_size=batch_size)
        entry = {"set": clip["set"], "file": clip["file"], "label": clip["transcript_kind"],
                 "reference": clip["transcript"], "characters": len(reference)}
        for side in SIDES:
            errors = edit_distance(reference, normalised(texts[side]))
            entry[side] = {"text": texts[side], "errors": errors, "cer": round(errors / max(1, len(reference)), 4)}
        rows.append(entry)
        print(f"{name:58s} " + "  ".join(f"{s} {entry[s]['cer']:.3f}" for s in SIDES), flush=True)
    return rows


def summarise(rows: list[dict]) -> dict:
    """CER per set and over all, the goal's checks, and the clips where pipeline and bare differ most."""
    def cer(subset: list[dict]) -> dict:
        characters = sum(r["characters"] for r in subset)
        return {"clips": len(subset), "characters": characters,
                **{side: round(sum(r[side]["errors"] for r in subset) / max(1, characters), 4) for side in SIDES}}

    sets = {name: cer([r for r in rows if r["set"] == name]) for name in dict.fromkeys(r["set"] for r in rows)}
    overall = cer(rows)

    def loss(row: dict, bare_side: str) -> float:  # the share of the clip's characters the pipeline loses
        return (row["pipeline"]["errors"] - row[bare_side]["errors"]) / max(1, row["characters"])

    differ = sorted((r for r in rows if r["pipeline"]["errors"] != r["bare_defaults"]["errors"]),
                    key=lambda r: -loss(r, "bare_defaults"))
    goal = {}
    for bare_side in ("bare_defaults", "bare_same_options", "bare_batched"):
        worse = [f"{r['set']}/{r['file']}" for r in rows if loss(r, bare_side) > CLIP_LOSS_MAX]
        goal[f"vs_{bare_side}"] = {"overall_met": overall["pipeline"] <= overall[bare_side],
                                   "clips_more_than_10pct_worse": worse}
    return {"sets": sets, "overall": overall, "goal_check": goal,
            "differ_most": [{"set": r["set"], "file": r["file"], "characters": r["characters"],
                             "pipeline_minus_bare_errors": r["pipeline"]["errors"] - r["bare_defaults"]["errors"],
                             "loss_share": round(loss(r, "bare_defaults"), 3), "reference": r["reference"],
                             "pipeline": r["pipeline"]["text"], "bare_defaults": r["bare_defaults"]["text"]}
                            for r in differ[:12]]}


def print_summary(summary: dict) -> None:
    for name, figures in {**summary["sets"], "all": summary["overall"]}.items():
        print(f"CER {name:24s} {figures['clips']:3d} clips {figures['characters']:5d} chars  "
              + "  ".join(f"{s} {figures[s]:.4f}" for s in SIDES))
    for side, check in summary["goal_check"].items():
        print(f"goal {side}: overall met {check['overall_met']}, clips >10 % worse: "
              f"{check['clips_more_than_10pct_worse'] or 'none'}")
    print("clips where pipeline and bare defaults differ most (pipeline worse first):")
    for d in summary["differ_most"]:
        print(f"  {d['set']}/{d['file']} {d['pipeline_minus_bare_errors']:+d}/{d['characters']}  "
              f"ref {d['reference']} | pipeline {d['pipeline']} | bare {d['bare_defaults']}")


def bare_text(model, path: Path, *, batch_size: int = 0, **kwargs) -> str:
    """Bare faster-whisper's text: sequential, or batched with `batch_size`."""
    from faster_whisper import BatchedInferencePipeline, decode_audio

    if batch_size:
        segments, _ = BatchedInferencePipeline(model).transcribe(decode_audio(str(path)), language="zh",
                                                                 batch_size=batch_size, **kwargs)
    else:
        segments, _ = model.transcribe(decode_audio(str(path)), language="zh", **kwargs)
    return to_simplified("".join(s.text for s in segments))


def concatenation_rows(pipeline: Pipeline, store: Store, folder: Path) -> list[dict]:
    """The four sides on the long recordings made of the clips, scored as clips are."""
    from labelled_long import concatenations

    made = concatenations(folder)
    clips = [{"set": "concatenated", "file": c.path.name, "path": c.path, "transcript": c.reference,
              "transcript_kind": f"{len(c.clips)} labels in order, {c.duration_s:.0f} s"} for c in made]
    return score_clips(pipeline, store, clips)


class _Variant(Pipeline):
    """The pipeline with its batched recognition decoding text only (faster-whisper's batched default)."""

    def options(self, *, hotwords=None):
        return dataclasses.replace(super().options(hotwords=hotwords), batch_text_only=True)


def pipeline_session(pipeline: Pipeline, store: Store, path: Path, **request) -> tuple[dict, list[dict]]:
    result = pipeline.transcribe_file(store, FileRequest(path=path, case_no="ACC-1", **request))
    return store.get_session(result.session_id), store.utterances(result.session_id)


def write_wav(path: Path, samples: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def room_noise(seconds: int, seed: int = 11) -> np.ndarray:
    """Ventilation-like noise (brown, high-passed) with mains hum, at a quiet room's level (about -40 dBFS)."""
    rng = np.random.default_rng(seed)
    brown = np.cumsum(rng.standard_normal(16000 * seconds))
    brown -= np.convolve(brown, np.ones(1601) / 1601, mode="same")
    brown *= 0.01 / brown.std()
    return brown + 0.005 * np.sin(2 * np.pi * 50 * np.arange(len(brown)) / 16000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cer-only", action="store_true", help="character error rates only")
    parser.add_argument("--batch-size", type=int, default=None, help="the pipeline's (0: sequential)")
    parser.add_argument("--batched-text-only", action="store_true",
                        help="the batched pipeline without timestamp tokens")
    args = parser.parse_args()
    cer_only = args.cer_only or args.batch_size is not None or args.batched_text_only
    variant = "".join([f"_batch{args.batch_size}" if args.batch_size is not None else "",
                       "_text_only" if args.batched_text_only else ""])
    folder = audio_dir()
    clips, copies = labelled_clips()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The batched pipeline unless told (BILU_ASR_BATCH_SIZE, --batch-size; 8 when the setting is 0).
        settings = Settings(home=tmp / "home", asr_batch_size=Settings().asr_batch_size or 8
                            if args.batch_size is None else args.batch_size)
        pipeline = (_Variant if args.batched_text_only else Pipeline)(settings)
        store = Store.open(settings.home)
        rows = score_clips(pipeline, store, clips)
        summary = summarise(rows)
        (tmp / "long").mkdir()
        long_rows = concatenation_rows(pipeline, store, tmp / "long")
        long_summary = summarise(long_rows)

        der = []
        mixes = folder / "mixes" if (folder / "mixes").is_dir() else folder
        mixes = mixes if not cer_only else None
        for rttm in sorted(mixes.glob("*.rttm")) if mixes else ():
            for suffix, kind in ((".seats.wav", "channel"), (".seats.flac", "channel"), (".wav", "voice")):
                path = mixes / f"{rttm.stem}{suffix}"
                if not path.is_file():
                    continue
                session, utterances = pipeline_session(pipeline, store, path)
                hypothesis = tmp / f"{rttm.stem}{suffix}.rttm"
                turns = store.speaker_turns(session["id"])
                hypothesis.write_text(export("rttm", session, utterances, turns=turns), encoding="utf-8")
                from bench.der import read_rttm

                value = der_percent(read_rttm(hypothesis), rttm)
                der.append({"mix": rttm.stem, "file": path.name, "diarizer": kind, "der_percent": round(value, 2),
                            "speakers_found": len({u["speaker"] for u in utterances}),
                            "speakers_true": len({t.speaker for t in read_rttm(rttm)})})
                print(f"DER {path.name:32s} {kind:8s} {value:6.2f} %")

        written = {}
        for name, samples in () if cer_only else (("silence_60s", np.zeros(16000 * 60)),
                                                  ("room_noise_60s", room_noise(60))):
            _, utterances = pipeline_session(pipeline, store, write_wav(tmp / f"{name}.wav", samples))
            written[name] = sum(len(normalised(u["text"])) for u in utterances)
            print(f"characters written on {name}: {written[name]}")
        store.close()

    results = {
        "machine": machine(),
        "audio_folder": str(folder),
        "sets": [{"name": name, "folder": str(path)} for name, path in labelled_sets()],
        "cer": {side: summary["overall"][side] for side in SIDES},
        "cer_by_set": summary["sets"],
        "pipeline_options": pipeline.options().as_record(),
        "cer_concatenated": long_summary["overall"],
        "concatenated": [{k: v for k, v in r.items() if k != "reference"} for r in long_rows],
        "cer_overall": summary["overall"],
        "goal_check": summary["goal_check"],
        "differ_most": summary["differ_most"],
        "copies_not_scored_twice": copies,
        "clips": rows,
        "der": der,
        "der_max_seats_percent": max((d["der_percent"] for d in der if d["diarizer"] == "channel"), default=None),
        "der_max_mono_percent": max((d["der_percent"] for d in der if d["diarizer"] == "voice"), default=None),
        "characters_on_non_speech": written,
        "goal": {"cer": "pipeline <= bare overall; no clip more than 10 % of its characters worse than bare",
                 "der_seats_percent_max": 5, "der_mono_percent_max": 15,
                 "characters_on_non_speech": 0},
    }
    print()
    print_summary(summary)
    print("long recordings made of the clips (0.7 s gaps, labels in order):")
    for r in long_rows:
        print(f"  {r['file']:24s} {r['label']:28s} {r['characters']:5d} chars  "
              + "  ".join(f"{side} {r[side]['cer']:.4f}" for side in SIDES))
    figures = long_summary["overall"]
    print(f"CER concatenated {figures['clips']:3d} files {figures['characters']:5d} chars  "
          + "  ".join(f"{side} {figures[side]:.4f}" for side in SIDES))
    print(f"DER max: seats {results['der_max_seats_percent']} % (goal <= 5), mono {results['der_max_mono_percent']} % "
          "(goal <= 15)")
    write_results("accuracy" if not cer_only else f"accuracy_cer_only{variant}", results)


if __name__ == "__main__":
    main()
