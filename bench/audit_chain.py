"""The audit chain's cost: 4,000 add_utterance calls (each now appends one chained audit entry in its own
transaction), and `verify` over the result with the session's recording re-hashed.

Run it on the current code, and on an older checkout to compare (`--code DIR --label before`: DIR is put first
on sys.path; it has no verify, so only the writes are timed there). Each label's figures are kept in
bench/results/audit_chain.json.
Run: python bench/audit_chain.py [--utterances 4000] [--repeat 3] [--audio-mb 64] [--code DIR --label before]
"""
import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import common
from common import machine, write_results

WORDS_PER_UTTERANCE = 12
TEXT = "现在依法对你进行讯问你要如实回答问题"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utterances", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--audio-mb", type=int, default=64, help="size of the session's recording to re-hash")
    parser.add_argument("--code", type=Path, default=None, help="import Bilu from this checkout instead")
    parser.add_argument("--label", default="after")
    args = parser.parse_args()
    if args.code is not None:
        sys.path.insert(0, str(args.code.resolve()))
    from cases import Store
    from transcribe import Utterance, Word

    def utterance(i: int) -> Utterance:
        start = i * 2.0
        words = [Word(start + k * 0.1, start + k * 0.1 + 0.09, TEXT[k % len(TEXT)] * 2, 0.9)
                 for k in range(WORDS_PER_UTTERANCE)]
        return Utterance.from_words(words, speaker=f"S{i % 2 + 1}")

    batch = [utterance(i) for i in range(args.utterances)]
    times_s = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            home = Path(folder)
            audio = home / "audio" / "room.wav"
            audio.parent.mkdir(parents=True)
            audio.write_bytes(os.urandom(args.audio_mb << 20))
            sha = hashlib.sha256(audio.read_bytes()).hexdigest()
            with Store.open(home) as store:
                session_id = store.create_session(
                    case_no="BENCH-1", room=None, kind="file", source_name="room.wav", audio_path="audio/room.wav",
                    audio_sha256=sha, audio_bytes=audio.stat().st_size, duration_s=args.utterances * 2.0,
                    sample_rate=16000, channels=1, diarizer=None, model="base", options={})
                started = time.perf_counter()
                for item in batch:
                    store.add_utterance(session_id, item)
                times_s.append(time.perf_counter() - started)
                store.finish_session(session_id)
                verify_figures = _verify(store, session_id) if args.code is None else None
    results = {
        "utterances": args.utterances, "words_per_utterance": WORDS_PER_UTTERANCE, "repeat": args.repeat,
        "add_utterance_total_s": [round(t, 3) for t in times_s],
        "add_utterance_median_total_s": round(statistics.median(times_s), 3),
        "add_utterance_median_ms_each": round(statistics.median(times_s) / args.utterances * 1000, 3),
        "verify": verify_figures, "machine": machine(),
    }
    print(f"[{args.label}] {args.utterances} add_utterance: median {results['add_utterance_median_total_s']} s "
          f"({results['add_utterance_median_ms_each']} ms each), runs {results['add_utterance_total_s']}")
    if verify_figures:
        print(f"[{args.label}] verify: {verify_figures}")
    path = common.RESULTS_DIR / "audit_chain.json"
    kept = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    kept[args.label] = results
    write_results("audit_chain", kept)


def _verify(store, session_id: int) -> dict:
    from cases.integrity import verify

    started = time.perf_counter()
    whole = verify(store)
    whole_s = time.perf_counter() - started
    audio_mb = (store.home / "audio" / "room.wav").stat().st_size / (1 << 20)
    assert whole.intact, whole.problems
    return {"entries": whole.entries, "rows": whole.rows, "audio_mb": round(audio_mb, 1),
            "verify_whole_store_s": round(whole_s, 3)}


if __name__ == "__main__":
    main()
