"""Accuracy of the whole pipeline against bare faster-whisper, and of its speaker labels.

- Character error rate (Simplified, punctuation removed) on the labelled clips (dataset and repository
  labels; recognizer outputs are not references): the pipeline, bare faster-whisper with the pipeline's
  arguments, and bare faster-whisper with its own defaults (language fixed to Chinese), both converted to
  Simplified before scoring.
- Diarization error rate (0.25 s collar each side, pyannote.metrics) of the pipeline's RTTM export (the
  stored speaker turns) on the mixes: `.seats.wav` (channel diarizer) and mono `.wav` (voice diarizer).
- Characters written on 60 s of silence and on 60 s of low room noise.
Prints the figures and writes bench/results/accuracy.json. Run: python bench/accuracy.py
"""
import tempfile
import wave
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from common import audio_dir, machine, manifest, write_results

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from bench.der import der_percent
from cases import Store
from cases.exports import export
from transcribe import to_simplified
from transcribe.metrics import character_error_rate, edit_distance
from transcribe.hallucination import normalised

TRUSTED_LABELS = {"dataset_label", "repo_label"}


def bare_text(model, path: Path, **kwargs) -> str:
    from faster_whisper import decode_audio

    segments, _ = model.transcribe(decode_audio(str(path)), language="zh", **kwargs)
    return to_simplified("".join(s.text for s in segments))


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
    folder = audio_dir()
    labelled = [r for r in manifest(folder) if r.get("transcript_kind") in TRUSTED_LABELS and r.get("transcript")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = Settings(home=tmp / "home")
        pipeline = Pipeline(settings)
        store = Store.open(settings.home)
        model = pipeline.model
        same_kwargs = pipeline.options().whisper_kwargs()

        rows = []
        totals = {"pipeline": [0, 0], "bare_same_options": [0, 0], "bare_defaults": [0, 0]}
        for row in labelled:
            path = folder / row["file"]
            reference = normalised(to_simplified(row["transcript"]))
            _, utterances = pipeline_session(pipeline, store, path)
            texts = {
                "pipeline": "".join(u["text"] for u in utterances),
                "bare_same_options": bare_text(model, path, **{k: v for k, v in same_kwargs.items() if k != "language"}),
                "bare_defaults": bare_text(model, path),
            }
            entry = {"file": row["file"], "label": row["transcript_kind"], "reference": row["transcript"]}
            for side, text in texts.items():
                errors = edit_distance(reference, normalised(text))
                totals[side][0] += errors
                totals[side][1] += len(reference)
                entry[side] = {"text": text, "cer": round(character_error_rate(row["transcript"], text), 4)}
            rows.append(entry)
            print(f"{row['file']:40s} " + "  ".join(f"{s} {entry[s]['cer']:.3f}" for s in texts))
        cer = {side: round(e / max(1, n), 4) for side, (e, n) in totals.items()}

        der = []
        mixes = folder / "mixes" if (folder / "mixes").is_dir() else folder
        for rttm in sorted(mixes.glob("*.rttm")):
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
        for name, samples in (("silence_60s", np.zeros(16000 * 60)), ("room_noise_60s", room_noise(60))):
            _, utterances = pipeline_session(pipeline, store, write_wav(tmp / f"{name}.wav", samples))
            written[name] = sum(len(normalised(u["text"])) for u in utterances)
            print(f"characters written on {name}: {written[name]}")
        store.close()

    results = {
        "machine": machine(),
        "audio_folder": str(folder),
        "cer": cer,
        "clips": rows,
        "der": der,
        "der_max_seats_percent": max((d["der_percent"] for d in der if d["diarizer"] == "channel"), default=None),
        "der_max_mono_percent": max((d["der_percent"] for d in der if d["diarizer"] == "voice"), default=None),
        "characters_on_non_speech": written,
        "goal": {"cer": "pipeline <= bare", "der_seats_percent_max": 5, "der_mono_percent_max": 15,
                 "characters_on_non_speech": 0},
    }
    print(f"\nCER over {len(rows)} labelled clips: " + ", ".join(f"{k} {v:.4f}" for k, v in cer.items()))
    print(f"DER max: seats {results['der_max_seats_percent']} % (goal <= 5), mono {results['der_max_mono_percent']} % "
          "(goal <= 15)")
    write_results("accuracy", results)


if __name__ == "__main__":
    main()
