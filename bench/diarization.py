"""Diarization benchmark: DER (0.25 s collar each side) and real-time factor of each backend.

Mixes come from /work/shared/audio/mixes (NAME.wav -> voice, NAME.seats.wav -> channel, NAME.rttm the
truth), or from tests/data when that folder is absent, plus our own mixes (bench/mixes.py: overlapping
speech, short answers, a long pause), scored with overlap (the channel backend reports it); for each own
mix also its single-label floor (what a diarizer giving one speaker at a time cannot avoid missing), and
the same recipes rendered with another seed (bench/mixes.py HELDOUT_SEED), reported apart. Prints the
figures and writes bench/results/diarization.json. Run: python bench/diarization.py [--threads 2]

--words also transcribes the own overlap mixes (the embedded Whisper model) and gives each speaker's CER
with and without re-transcribing the seats over overlaps (engine/seat_transcription.py).
--long-minutes 30,60,240 diarizes synthetic sessions of those lengths with channel and voice (each in
a child process, so that its peak resident memory is its own). The session is generated 10 minutes at a
time and fed chunk by chunk (voice through VoiceDiarizer.diarize_chunks), never held whole; the resident
memory after each chunk is recorded. --long-backends picks the backends; --long-only skips the mixes and
updates only those backends' long-session rows in the results file.

With --pyannote DIR (a pipeline folder, see the README; needs `pip install .[pyannote]`) the pyannote
backend is measured too, and --long-minutes N also diarizes a synthetic session of N minutes (the shared
clips tiled, two voices alternating) with it, recording the real-time factor and the resident memory
after each window: with windowed processing both should stay flat however long the session.
"""
import argparse
import json
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.der import der_percent, read_rttm  # noqa: E402
from bench.mixes import HELDOUT_SEED, rendered_mixes  # noqa: E402
from capture import decode_file  # noqa: E402
from diarize import ChannelDiarizer, SpeakerTurn, VoiceDiarizer, exclusive_turns  # noqa: E402

SHARED_MIXES = Path("/work/shared/audio/mixes")
TEST_DATA = ROOT / "tests" / "data"
RESULTS = ROOT / "bench" / "results" / "diarization.json"
LONG_CHUNK_S = 600.0  # the synthetic long sessions are made and fed in chunks this long


def find_mixes() -> list[tuple[str, Path, Path | None, Path | None]]:
    """(name, rttm, mono file, seats file) for every mix with a reference."""
    folder = SHARED_MIXES if SHARED_MIXES.is_dir() else TEST_DATA
    mixes = []
    for rttm in sorted(folder.glob("*.rttm")):
        name = rttm.stem
        mono = folder / f"{name}.wav"
        seats = next((p for p in (folder / f"{name}.seats.wav", folder / f"{name}.seats.flac") if p.is_file()), None)
        mixes.append((name, rttm, mono if mono.is_file() else None, seats))
    return mixes


def run(diarizer, path: Path, rttm: Path) -> dict:
    audio = decode_file(path)
    started = time.perf_counter()
    turns = diarizer.diarize(audio.samples, audio.sample_rate)
    elapsed_s = time.perf_counter() - started
    return {
        "file": str(path),
        "duration_s": round(audio.duration_s, 2),
        "der_percent": round(der_percent(turns, rttm, collar_s=0.25), 2),
        "speakers_found": len({t.speaker for t in turns}),
        "speakers_true": len({line.split()[7] for line in rttm.read_text().splitlines() if line.startswith("SPEAKER")}),
        "seconds": round(elapsed_s, 3),
        "real_time_factor": round(elapsed_s / audio.duration_s, 4),
    }


def run_samples(diarizer, audio: np.ndarray, rttm: Path) -> dict:
    """As `run`, for a mix rendered in memory (16 kHz); overlapping turns where the backend gives them.

    `single_label_floor_percent` is the DER of the truth itself made exclusive (one speaker at a time):
    the second speaker of every overlap is missed, which no single-label diarizer (voice) can avoid."""
    diarize = getattr(diarizer, "diarize_overlapping", diarizer.diarize)
    started = time.perf_counter()
    turns = diarize(audio, 16000)
    elapsed_s = time.perf_counter() - started
    duration_s = audio.shape[0] / 16000
    truth = [SpeakerTurn(t.start_s, t.end_s, t.speaker) for t in read_rttm(rttm)]
    return {
        "duration_s": round(duration_s, 2),
        "der_percent": round(der_percent(turns, rttm, collar_s=0.25), 2),
        "single_label_floor_percent": round(der_percent(exclusive_turns(truth), rttm, collar_s=0.25), 2),
        "speakers_found": len({t.speaker for t in turns}),
        "speakers_true": len({line.split()[7] for line in rttm.read_text().splitlines() if line.startswith("SPEAKER")}),
        "seconds": round(elapsed_s, 3),
        "real_time_factor": round(elapsed_s / duration_s, 4),
    }


def overlap_words(own) -> dict:
    """Per speaker CER on the own overlap mixes whose turns are whole clips with trusted text: the mono
    transcript with words assigned to exclusive turns, against the same with seats re-transcribed over
    overlaps. And on the mixes without overlap, whether the transcript changed at all."""
    from engine.seat_transcription import diarize_with_overlap, overlap_episodes, with_seat_words
    from diarize import assign_speakers
    from transcribe import ModelSpec, TranscribeOptions, load_model, transcribe_samples
    from transcribe.metrics import character_error_rate

    model = load_model(ModelSpec())
    options = TranscribeOptions()
    diarizer = ChannelDiarizer()
    rows = []
    for rendered in own:
        mix = rendered.mix
        texts_known = all(t.text for t in mix.turns)
        if not texts_known and "overlap" in mix.name:
            continue
        turns, heard = diarize_with_overlap(diarizer, rendered.seats, 16000)
        episodes = overlap_episodes(heard)
        started = time.perf_counter()
        plain = list(assign_speakers(transcribe_samples(model, rendered.mono, options=options)[0], turns))
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        seat = list(with_seat_words(iter(plain), episodes, seats=rendered.seats, sample_rate=16000, model=model,
                                    options=options, model_name="base"))
        seat_s = time.perf_counter() - started
        row = {"mix": mix.name, "overlap_episodes": len(episodes), "mono_transcribe_s": round(plain_s, 2),
               "seat_retranscribe_s": round(seat_s, 2)}
        if texts_known:
            seats = sorted({t.seat for t in mix.turns})
            for seat_index in seats:
                reference = "".join(t.text for t in sorted(mix.turns, key=lambda t: t.start_s) if t.seat == seat_index)
                speaker = f"S{seat_index + 1}"
                row[f"cer_seat{seat_index + 1}_mono_percent"] = round(100 * character_error_rate(
                    reference, "".join(u.text for u in plain if u.speaker == speaker)), 1)
                row[f"cer_seat{seat_index + 1}_with_seats_percent"] = round(100 * character_error_rate(
                    reference, "".join(u.text for u in seat if u.speaker == speaker)), 1)
        else:
            row["transcript_unchanged"] = [(u.text, u.speaker) for u in plain] == [(u.text, u.speaker) for u in seat]
        rows.append(row)
        print("words   ", json.dumps(row, ensure_ascii=False))
    return {"mixes": rows}


def long_sessions(minutes: list[float], backends: list[str], pyannote_dir: Path | None) -> list[dict]:
    """Each backend on each session length, in a child process of its own (peak memory is per process)."""
    import subprocess

    rows = []
    for backend in backends:
        for length in minutes:
            command = [sys.executable, __file__, "--long-child", backend, str(length)]
            if pyannote_dir is not None:
                command += ["--pyannote", str(pyannote_dir)]
            output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout  # stderr shown
            row = json.loads(output.strip().splitlines()[-1])
            rows.append(row)
            print(f"long     {backend:8s} {length:6g} min: RTF {row['real_time_factor']:.4f}, peak RSS "
                  f"{row['peak_rss_mb']} MB ({row['input_mb']} MB of it the input audio), "
                  f"{row['speakers_found']} speakers")
    return rows


def long_child(backend: str, minutes: float, pyannote_dir: Path | None) -> dict:
    """One synthetic session of `minutes` through one backend: RTF, peak resident memory, and the resident
    memory after each 10-minute chunk (flat when nothing grows with the length).

    The session is generated chunk by chunk and never whole: channel gets each chunk as its own call (it
    names speakers by seat, so nothing links the chunks, and it windows at 10 minutes anyway), voice gets
    the chunks through `VoiceDiarizer.diarize_chunks` (speaker identities carried across them), and
    pyannote through `PyannoteDiarizer.diarize_chunks` (windows of its own within each chunk, identities
    carried by its speaker ledger); its memory is recorded after each of its windows."""
    import torch

    torch.set_num_threads(2)
    seats = 2 if backend == "channel" else 1
    rss_after_chunk_mb: list[float] = []

    def chunks():
        for chunk in session_chunks(minutes, seats=seats, chunk_s=LONG_CHUNK_S):
            yield chunk
            rss_after_chunk_mb.append(_rss_now_mb())

    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = 16000
    started = time.perf_counter()
    if backend == "pyannote":
        from diarize import PyannoteDiarizer

        diarizer = PyannoteDiarizer(pyannote_dir)
        window_count = max(1, math.ceil(minutes * 60 / diarizer.tuning.window_s))

        def window_done(fraction: float) -> None:
            # The backend windows itself: its progress passing k / windows marks the end of window k.
            while len(rss_after_chunk_mb) < min(window_count, math.floor(fraction * window_count + 1e-9)):
                rss_after_chunk_mb.append(_rss_now_mb())
                # On stderr as it happens, so a run too long to wait for still tells its pace and memory.
                print(f"pyannote window {len(rss_after_chunk_mb)}/{window_count}: "
                      f"{time.perf_counter() - started:.0f} s, RSS {rss_after_chunk_mb[-1]:.0f} MB",
                      file=sys.stderr, flush=True)

        started = time.perf_counter()
        # In chunks, as the pipeline hands it a long file (engine/file_windows.py): never the whole session.
        turns = diarizer.diarize_chunks(session_chunks(minutes, seats=1, chunk_s=LONG_CHUNK_S), rate,
                                        total_s=minutes * 60, progress=window_done)
        input_mb = min(LONG_CHUNK_S, minutes * 60) * rate * 4 / 2**20  # one chunk at a time
    elif backend == "channel":
        diarizer, turns, offset_s = ChannelDiarizer(), [], 0.0
        for chunk in chunks():
            turns.extend(SpeakerTurn(t.start_s + offset_s, t.end_s + offset_s, t.speaker, t.channel)
                         for t in diarizer.diarize(chunk, rate))
            offset_s += chunk.shape[0] / rate
        input_mb = min(LONG_CHUNK_S, minutes * 60) * rate * seats * 4 / 2**20  # one chunk at a time
    else:
        turns = VoiceDiarizer().diarize_chunks(chunks(), rate)
        input_mb = min(LONG_CHUNK_S, minutes * 60) * rate * seats * 4 / 2**20  # one chunk at a time
    elapsed_s = time.perf_counter() - started
    return {
        "backend": backend, "minutes": minutes,
        "real_time_factor": round(elapsed_s / (minutes * 60), 4),
        "speakers_found": len({t.speaker for t in turns}), "turns": len(turns),
        "input_mb": round(input_mb, 1),
        "rss_before_mb": round(baseline_mb, 1),
        "rss_after_each_chunk_mb": [round(m, 1) for m in rss_after_chunk_mb],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def _rss_now_mb() -> float:
    """Resident memory of this process now (not the peak), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    parser.add_argument("--pyannote", type=Path, default=None, metavar="DIR",
                        help="also measure the pyannote backend, loaded from this pipeline folder")
    parser.add_argument("--long-minutes", default="",
                        help="comma-separated session lengths in minutes to measure time and memory on")
    parser.add_argument("--words", action="store_true", help="also score both speakers' words in overlaps")
    parser.add_argument("--long-backends", default="channel,voice",
                        help="backends for --long-minutes (default channel,voice; pyannote is added with --pyannote)")
    parser.add_argument("--long-only", action="store_true",
                        help="only the long sessions: update their part of the results file, skip the mixes")
    parser.add_argument("--long-child", nargs=2, metavar=("BACKEND", "MINUTES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.long_child:
        print(json.dumps(long_child(args.long_child[0], float(args.long_child[1]), args.pyannote)))
        return
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    long_backends = [b for b in args.long_backends.split(",") if b]  # "" for none: pyannote alone
    long_backends += ["pyannote"] if args.pyannote is not None else []
    if args.long_only:
        rows = long_sessions([float(m) for m in args.long_minutes.split(",")], long_backends, args.pyannote)
        # Read only now (the runs take long, the file may have changed meanwhile); rows of other backends or
        # lengths are kept, so one backend (or one more length, e.g. 240 minutes) can be measured alone.
        report = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
        measured = {(r["backend"], r["minutes"]) for r in rows}
        report["long_sessions"] = [r for r in report.get("long_sessions", [])
                                   if (r["backend"], r["minutes"]) not in measured] + rows
        RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS}")
        return
    import torch

    torch.set_num_threads(args.threads)
    mixes = find_mixes()
    backends = {"channel": ChannelDiarizer(), "voice": VoiceDiarizer()}
    pyannote_load_s = None
    if args.pyannote is not None:
        from diarize import PyannoteDiarizer

        started = time.perf_counter()
        backends["pyannote"] = PyannoteDiarizer(args.pyannote)
        pyannote_load_s = round(time.perf_counter() - started, 3)
    # Load models before timing: the RTF is for steady use, the load time is reported apart.
    warm_up = decode_file(TEST_DATA / "aishell1_BAC009S0724W0121.wav")
    load = {}
    for name, diarizer in backends.items():
        samples = warm_up.samples if name == "voice" else warm_up.samples.repeat(2, axis=1)
        started = time.perf_counter()
        diarizer.diarize(samples, warm_up.sample_rate)
        load[name] = round(time.perf_counter() - started, 3)
    report = {"machine": {"cpus": os.cpu_count(), "threads": args.threads, "python": platform.python_version()},
              "collar_s_each_side": 0.25, "first_call_s": load, "backends": {}}
    if pyannote_load_s is not None:
        report["pyannote_pipeline"] = {"folder": str(args.pyannote), "load_s": pyannote_load_s}
    own = rendered_mixes()
    heldout = rendered_mixes(seed=HELDOUT_SEED)  # scored apart: a check that nothing is fitted to `own`
    own_folder = RESULTS.parent / "mixes"
    (own_folder / "heldout").mkdir(parents=True, exist_ok=True)
    for name, diarizer in backends.items():
        rows = []
        for mix, rttm, mono, seats in mixes:
            path = seats if name == "channel" else mono
            if path is None:
                continue
            row = {"mix": mix, **run(diarizer, path, rttm)}
            rows.append(row)
            print(f"{name:8s} {row['mix']:24s} DER {row['der_percent']:6.2f} %  speakers {row['speakers_found']}/"
                  f"{row['speakers_true']}  RTF {row['real_time_factor']:.4f}")
        for rendered in own:
            rttm = rendered.mix.write_rttm(own_folder)
            audio = rendered.seats if name == "channel" else rendered.mono[:, None]
            row = {"mix": rendered.mix.name, **run_samples(diarizer, audio, rttm)}
            rows.append(row)
            print(f"{name:8s} {row['mix']:24s} DER {row['der_percent']:6.2f} %  speakers {row['speakers_found']}/"
                  f"{row['speakers_true']}  RTF {row['real_time_factor']:.4f}  (single-label floor "
                  f"{row['single_label_floor_percent']:.2f} %)")
        heldout_rows = []
        for rendered in heldout:
            rttm = rendered.mix.write_rttm(own_folder / "heldout")
            audio = rendered.seats if name == "channel" else rendered.mono[:, None]
            row = {"mix": rendered.mix.name, **run_samples(diarizer, audio, rttm)}
            heldout_rows.append(row)
            print(f"{name:8s} {row['mix']:24s} DER {row['der_percent']:6.2f} %  (held out, seed {HELDOUT_SEED}; "
                  f"single-label floor {row['single_label_floor_percent']:.2f} %)")
        total_s = sum(r["seconds"] for r in rows)
        audio_s = sum(r["duration_s"] for r in rows)
        report["backends"][name] = {
            "mixes": rows,
            "heldout_mixes": heldout_rows,
            "mean_der_percent": round(sum(r["der_percent"] for r in rows) / max(len(rows), 1), 2),
            "real_time_factor": round(total_s / audio_s, 4) if audio_s else None,
        }
        print(f"{name:8s} overall RTF {report['backends'][name]['real_time_factor']}")
    # The voice backend's cost on a long single-speaker recording, where the clustering does the most work.
    long_clip = Path("/work/shared/audio/funasr_vad_example_70s.wav")
    if long_clip.is_file():
        audio = decode_file(long_clip)
        started = time.perf_counter()
        turns = backends["voice"].diarize(audio.samples, audio.sample_rate)
        elapsed_s = time.perf_counter() - started
        report["backends"]["voice"]["long_clip"] = {
            "file": str(long_clip), "duration_s": round(audio.duration_s, 2),
            "speakers_found": len({t.speaker for t in turns}),
            "real_time_factor": round(elapsed_s / audio.duration_s, 4),
        }
        print(f"voice    {long_clip.name}: RTF {elapsed_s / audio.duration_s:.4f}, "
              f"{len({t.speaker for t in turns})} speaker(s) found")
    if args.words:
        report["overlap_words"] = overlap_words(own)
    if args.long_minutes:
        report["long_sessions"] = long_sessions([float(m) for m in args.long_minutes.split(",")], long_backends,
                                                args.pyannote)
    if RESULTS.is_file():
        # Sections not measured this time (--words, --long-minutes) keep their last figures.
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
        for key in ("overlap_words", "long_sessions"):
            if key not in report and key in previous:
                report[key] = previous[key]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


def session_chunks(minutes: float, *, seats: int = 1, chunk_s: float = LONG_CHUNK_S) -> Iterator[np.ndarray]:
    """[frames, seats] float32 chunks of `chunk_s` making up a session of `minutes`: two real voices
    answering each other with 0.7 s pauses, and the last minute of every ten silent, their clips repeated
    until the session is long enough; with 2 seats each voice is on its own seat and reaches the other
    14 dB lower. Each chunk is built when asked for, so the whole session is never in memory."""
    first = decode_file(TEST_DATA / "funasr_long_25s.flac").mono()
    second = decode_file(TEST_DATA / "aishell1_BAC009S0764W0121.wav").mono()
    rate = 16000
    gap = np.zeros(int(0.7 * rate), dtype=np.float32)
    cycle = np.concatenate([first, gap, np.zeros_like(second), gap])
    other = np.concatenate([np.zeros_like(first), gap, second, gap])
    bleed = 10 ** (-14 / 20)
    signals = [cycle + other] if seats == 1 else [cycle + bleed * other, other + bleed * cycle]
    frames, step, talk = int(minutes * 60 * rate), int(chunk_s * rate), int(9 * 60 * rate)
    for start in range(0, frames, step):
        size = min(step, frames - start)
        chunk = np.zeros((size, seats), dtype=np.float32)
        # Ten minutes of talk (from the start of the cycle), the last of them a pause, then again.
        for block in range(start - start % (10 * 60 * rate), start + size, 10 * 60 * rate):
            a, b = max(start, block), min(start + size, block + talk)
            if b <= a:
                continue
            reps = -(-(b - block) // cycle.size)
            for seat, signal in enumerate(signals):
                chunk[a - start : b - start, seat] = np.tile(signal, reps)[a - block : b - block]
        yield chunk


if __name__ == "__main__":
    main()
