"""One full path from audio to procedural findings: a synthesized interrogation opening, transcribed and checked.

The lines are spoken by espeak-ng (voice cmn-latn-pinyin: the text is turned into numbered pinyin with
pypinyin; the plain cmn voice mispronounces characters), the officer and the suspect with different voice
variants, each on their own seat microphone (the other seat hears them 14 dB lower). The two-channel
recording goes through the whole pipeline (`bilu transcribe` with seat roles) and the checker.
Needs `apt-get install espeak-ng`. Prints what was found and writes bench/results/compliance_audio.json.
Synthetic speech is far from a real room: this shows the path works end to end, not how accurate it is.
"""
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from pypinyin import Style, lazy_pinyin

import common  # noqa: F401  (puts the repository on sys.path)
from common import machine, write_results

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from cases import Store

OFFICER, SUSPECT = 0, 1
SCRIPT = [
    (OFFICER, "我们是市公安局刑侦大队的民警，这是我们的工作证。"),
    (OFFICER, "现在是二零二六年十一月二十七日下午两点二十分，讯问开始。"),
    (OFFICER, "本次讯问全程同步录音录像。"),
    (OFFICER, "你叫什么名字，身份证号码是多少？"),
    (SUSPECT, "我叫李明，身份证号我记不清了。"),
    (OFFICER, "这是犯罪嫌疑人诉讼权利义务告知书，你看清楚了吗？"),
    (SUSPECT, "看清楚了。"),
    (OFFICER, "你是否申请回避？"),
    (SUSPECT, "不申请。"),
    (OFFICER, "你有权委托律师作为辩护人，也可以申请法律援助。"),
    (OFFICER, "如实供述自己的罪行，可以从宽处理。"),
    (OFFICER, "对与本案无关的问题，你有拒绝回答的权利。"),
    (OFFICER, "你是否有违法犯罪行为？"),
    (SUSPECT, "我没有犯罪。"),
]
VOICES = {OFFICER: "cmn-latn-pinyin+m3", SUSPECT: "cmn-latn-pinyin+f2"}
RATE = 16000
CROSSTALK = 10 ** (-14 / 20)


def speak(text: str, voice: str, folder: Path) -> np.ndarray:
    pinyin = " ".join(lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors="ignore"))
    out = folder / "line.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), pinyin], check=True)
    with wave.open(str(out)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        rate = w.getframerate()
    x = np.linspace(0, len(samples) - 1, int(len(samples) * RATE / rate))
    return np.interp(x, np.arange(len(samples)), samples).astype(np.float32)


def synthesize(folder: Path) -> tuple[Path, list[dict]]:
    seats = [np.zeros(int(0.5 * RATE), np.float32) for _ in range(2)]
    truth, t = [], 0.5
    for who, text in SCRIPT:
        line = speak(text, VOICES[who], folder)
        line *= 0.3 / (np.abs(line).max() + 1e-9)
        pause = np.zeros(int(0.8 * RATE), np.float32)
        seats[who] = np.concatenate([seats[who], line, pause])
        seats[1 - who] = np.concatenate([seats[1 - who], line * CROSSTALK, pause])
        truth.append({"speaker": who, "start_s": round(t, 2), "end_s": round(t + len(line) / RATE, 2), "text": text})
        t += (len(line) + len(pause)) / RATE
    path = folder / "opening.wav"
    stereo = np.stack(seats, axis=1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2), w.setsampwidth(2), w.setframerate(RATE)
        w.writeframes((np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
    return path, truth


def main() -> None:
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed: apt-get install espeak-ng")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path, truth = synthesize(tmp)
        settings = Settings(home=tmp / "home")
        with Store.open(settings.home) as store:
            result = Pipeline(settings).transcribe_file(
                store, FileRequest(path=path, case_no="SYN-1", seat_roles=("讯问人", "被讯问人")))
            session = store.get_session(result.session_id)
            utterances = store.utterances(result.session_id)
    print("transcript:")
    for u in utterances:
        print(f"  [{u['start_s']:6.2f}] {u['role'] or u['speaker']}: {u['text']}")
    print("\nfindings (criminal_first):")
    for f in session["findings"]:
        print(f"  {f['status']:14s} {f['key']:22s} {f['evidence'][:40]}")
    said = {"identify_officers", "start_time", "announce_recording", "verify_identity", "rights_notice", "recusal",
            "counsel", "leniency", "refuse_irrelevant", "crime_question_first"}
    found = {f["key"] for f in session["findings"] if f["status"] == "satisfied"}
    print(f"\n{len(found & said)}/{len(said)} spoken statements found; "
          f"not spoken and reported satisfied: {sorted(found - said) or 'none'}")
    write_results("compliance_audio", {
        "machine": machine(), "script": truth, "transcript": [{k: u[k] for k in ("start_s", "end_s", "role", "text")}
                                                               for u in utterances],
        "findings": session["findings"], "spoken_keys": sorted(said), "found_spoken": sorted(found & said),
        "false_satisfied": sorted(found - said),
    })


if __name__ == "__main__":
    main()
