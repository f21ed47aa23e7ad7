"""What Whisper writes that nobody said, and what of it reaches the 讯问笔录 (issue 15).

- Speech (the labelled clips and the two-speaker room mix): characters Whisper wrote, characters stored,
  characters removed (written but not stored: must be 0), characters left out of the written record.
- 60 s of digital silence, of low noise (-50 dBFS), of music (synthesised chords), and TV-like speech under
  music (a speech clip under the same chords): characters stored, suspected, and reaching the written
  record, for files (batch) and the live path (streaming, 0.5 s chunks).
The written record is what `record_turns` gives from a real store (the text and DOCX 讯问笔录 both use it).
Prints the figures and writes bench/results/hallucination.json. Run: python bench/hallucination.py
"""
import tempfile
import time
from pathlib import Path

import numpy as np

import common  # noqa: F401  (puts the repository on sys.path)
from common import TEST_DATA, machine, write_results

from capture import decode_file
from cases import Store
from cases.exports import record_turns
from tests.room_sounds import RATE, digital_silence, low_noise, music, speech_under_music
from transcribe import ModelSpec, StreamingTranscriber, load_model, transcribe_samples, to_simplified

SPEECH = ("aishell1_BAC009S0724W0121.wav", "aishell1_BAC009S0764W0121.wav", "funasr_asr_example_zh.wav",
          "paddlespeech_zh.wav", "wenet_nst_ID001.wav", "wenet_nst_ID002.wav", "funasr_long_25s.flac",
          "dev_room_2spk.wav")
TV_SPEECH = ("funasr_long_25s.flac", "dev_room_2spk.wav")


class TappedModel:
    """The real model; keeps every segment it yields."""

    def __init__(self, model) -> None:
        self.model, self.segments = model, []

    def transcribe(self, *args, **kwargs):
        segments, info = self.model.transcribe(*args, **kwargs)
        return (self.segments.append(s) or s for s in segments), info


def chars(text: str) -> int:
    return len("".join(text.split()))


def stored_and_recorded(home: Path, utterances) -> tuple[int, int, int]:
    """(characters stored, characters in suspected lines, characters in the written record)."""
    with Store.open(home) as store:
        session_id = store.create_session(case_no="H-1", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0, duration_s=60.0,
                                          sample_rate=RATE, channels=1, diarizer="voice", model="base", options={})
        for utterance in utterances:
            store.add_utterance(session_id, utterance)
        lines = store.utterances(session_id)
    return (sum(chars(u["text"]) for u in lines), sum(chars(u["text"]) for u in lines if u["suspect"]),
            sum(chars(text) for _, text in record_turns(lines)))


def streamed(model, samples: np.ndarray, chunk_s: float = 0.5) -> list:
    transcriber = StreamingTranscriber(model)
    step = int(chunk_s * RATE)
    committed = []
    for start in range(0, len(samples), step):
        transcriber.insert_audio(samples[start : start + step])
        committed += transcriber.process().committed
    return committed + transcriber.finish().committed


def main() -> None:
    model = load_model(ModelSpec())
    work = Path(tempfile.mkdtemp(prefix="bilu-hallucination-"))
    results: dict = {"machine": machine(), "speech": {}, "room_sounds": {}}
    removed_total = 0
    for name in SPEECH:
        samples = decode_file(TEST_DATA / name).mono()
        tapped = TappedModel(model)
        utterances = list(transcribe_samples(tapped, samples)[0])
        written = sum(chars(to_simplified(w.word)) for s in tapped.segments for w in (s.words or ()))
        stored, suspected, recorded = stored_and_recorded(work / f"speech-{name}", utterances)
        removed_total += written - stored
        results["speech"][name] = {"written": written, "stored": stored, "removed": written - stored,
                                   "suspected": suspected, "left_out_of_record": stored - recorded}
        print(f"{name:36s} written {written:4d} stored {stored:4d} removed {written - stored} "
              f"suspected {suspected} left out of the record {stored - recorded}")
    results["characters_removed_where_speech_was_present"] = removed_total
    sounds = {"digital_silence_60s": digital_silence(60.0), "low_noise_60s": low_noise(60.0),
              "music_60s": music(60.0)}
    for name in TV_SPEECH:
        sounds[f"tv_speech_under_music:{name}"] = speech_under_music(decode_file(TEST_DATA / name).mono())
    for sound, samples in sounds.items():
        row = {"duration_s": round(len(samples) / RATE, 1)}
        for path in ("batch", "streaming"):
            started = time.perf_counter()
            utterances = (list(transcribe_samples(model, samples)[0]) if path == "batch"
                          else streamed(model, samples))
            stored, suspected, recorded = stored_and_recorded(work / f"{sound}-{path}".replace(":", "-"), utterances)
            row[path] = {"stored": stored, "suspected": suspected, "in_record": recorded,
                         "seconds": round(time.perf_counter() - started, 1)}
            print(f"{sound:48s} {path:9s} stored {stored:4d} suspected {suspected:4d} in the record {recorded:4d}")
        results["room_sounds"][sound] = row
    print(f"characters removed where speech was present: {removed_total}")
    print("written to", write_results("hallucination", results))


if __name__ == "__main__":
    main()
