"""Held-out room mixes for bench/live.py: voices the live path was never tuned on, with exact turn truth.

The live path's settings (pass schedule, pauses, trim points, first-pass timing) were tuned on the shared
room mixes and the clips with trusted labels, through bench/live_latency.py and bench/live.py:
- `mixes/dev_room_2spk` (funasr_vad_example_70s, funasr_long_25s): bench/live.py's default;
- `mixes/dev_room_4spk` (vpr_enroll_lidakang, vpr_enroll_sharuijin, aishell1_BAC009S0764W0121,
  aishell1_BAC009S0724W0121): bench/live_latency.py replays every dev_room_* mix;
- every clip of ../shared/audio/manifest.jsonl with a trusted label (aishell1_*, aishell2_*, wenet_nst_*,
  funasr_asr_example_zh, paddlespeech_zh): bench/live_latency.py's "labelled clips in a row".
None of those clips (nor vpr_test_long_multispeaker: several people, no turn truth) is used here. What is left:
- labelled/aishell3_*: 15 speakers, one read sentence each (1.8-6.3 s);
- labelled/baker_*: one speaker (BZNSYP), 20 sentences: the only held-out voice with enough speech for lines
  of up to 20 s;
- funasr_paraformer_example_3_codeswitch: one speaker, 8.4 s, an English sentence then Mandarin.
Each voice speaks in one mix only (baker, the one long voice, in several), so every mix has voices new to it.

A voice's speech is cut into pieces at its own pauses (Silero, 100 ms silences), never inside a word; a line
is one piece or several in a row (the clip's own pauses kept, 0.2 s between two clips of the same speaker)
until it reaches a length drawn from 1 to 20 s (evenly on a log scale); a line shorter than the piece it
starts with ends at that piece's quietest 20 ms just after the length drawn (between syllables, mostly) (a voice with one short clip gives lines up to that clip's
length, said again later in the mix). Between lines: silence drawn from 0.3 to 3 s (log scale). One mix,
held_2spk_turns, keeps lines to 1-6 s and gaps to 0.3-1 s: many speaker changes, where agreement was slow. Every turn's start and
end are where its speech starts and ends (trimmed, as tests/diarize/mixing.py does), so the truth is exact.
The licences (../shared/audio/labelled/README.md) forbid copying baker_* into the project, so nothing is
committed: the mixes are built on demand, seeded (the same files every time), into bench/cache/live_mixes/
(git-ignored), rebuilt when the recipe changes.
Run: python bench/live_mixes.py [--list] (builds them all; bench/live.py --mix NAME builds what it needs).
"""
import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import ROOT, SHARED_AUDIO

RATE = 16000
SEED = 20261203
CACHE = ROOT / "bench" / "cache" / "live_mixes"
RECIPE_VERSION = 2  # raise when the building changes: cached mixes are then rebuilt
LINE_S = (1.0, 20.0)
PAUSE_S = (0.3, 3.0)
CLIP_JOIN_S = 0.2  # between two clips of one speaker inside a line: a breath, shorter than a turn gap
TUNED_CLIPS = frozenset({
    "funasr_vad_example_70s", "funasr_long_25s", "vpr_enroll_lidakang", "vpr_enroll_sharuijin",
    "aishell1_BAC009S0764W0121", "aishell1_BAC009S0724W0121", "aishell2_IT0011W0001", "wenet_nst_ID001",
    "wenet_nst_ID002", "wenet_nst_ID003", "funasr_asr_example_zh", "paddlespeech_zh", "vpr_test_long_multispeaker",
})


@dataclass(frozen=True, slots=True)
class Recipe:
    """One mix: its voices (by key: 'baker', 'codeswitch', or 'aishell3:<k>', the k-th of the held-out
    AISHELL-3 speakers in the seeded order), how long it runs before it is looped, and its seed offset."""

    name: str
    voices: tuple[str, ...]
    length_s: float
    seed: int
    note: str
    line_s: tuple[float, float] = LINE_S
    pause_s: tuple[float, float] = PAUSE_S


RECIPES = (
    Recipe("held_2spk_long", ("aishell3:0", "baker"), 90.0, 1,
           "short questions (new voice) and answers of 1-20 s (baker)"),
    Recipe("held_2spk_short", ("aishell3:1", "aishell3:2"), 60.0, 2, "two new voices, short lines only (1-6 s)"),
    Recipe("held_2spk_turns", ("baker", "aishell3:3"), 75.0, 3,
           "quick exchanges: lines of 1-6 s, gaps of 0.3-1 s (many speaker changes)", (1.0, 6.0), (0.3, 1.0)),
    Recipe("held_3spk_long", ("aishell3:4", "baker", "aishell3:5"), 90.0, 4,
           "two questioners (new voices) and one long answerer"),
    Recipe("held_3spk_mixed", ("codeswitch", "aishell3:6", "baker"), 80.0, 5,
           "a code-switching voice, a new voice and baker"),
)
NAMES = tuple(r.name for r in RECIPES)


@dataclass(frozen=True, slots=True)
class Piece:
    """Speech between two pauses of one clip: the clip's stem, its samples (trimmed) and where it sits in it."""

    clip: str
    samples: np.ndarray
    start: int  # sample index in the clip's trimmed speech
    text: str | None  # the clip's trusted text, carried only by a line that is the whole clip


def recipe(name: str) -> Recipe:
    for r in RECIPES:
        if r.name == name:
            return r
    raise SystemExit(f"--mix {name}: no such held-out mix; choose from {', '.join(NAMES)} (or dev_room_2spk)")


def mix_path(name: str) -> Path:
    """The mix's .wav in the cache, built first if absent or from another recipe."""
    wav, truth = CACHE / f"{name}.wav", CACHE / f"{name}.json"
    key = _recipe_key(recipe(name))
    if not (wav.is_file() and truth.is_file() and json.loads(truth.read_text(encoding="utf-8")).get("recipe_key") == key):
        build(recipe(name))
    return wav


def build(r: Recipe) -> Path:
    """Render the mix to CACHE/<name>.wav (mono) with its truth CACHE/<name>.json; returns the .wav."""
    import soundfile
    from tests.diarize.mixing import Mix, Voice

    rng = np.random.default_rng(SEED + r.seed)
    pieces = {key: _pieces(key) for key in r.voices}
    cursor = {key: 0 for key in r.voices}
    mix = Mix(r.name, seats=len(r.voices))
    turns: list[dict] = []
    at_s, previous = 0.5, None
    while at_s < r.length_s:
        # The next speaker: anyone but the one who just spoke (with three, the questioners alternate at random).
        choices = [k for k in range(len(r.voices)) if k != previous]
        seat = choices[int(rng.integers(len(choices)))] if previous is not None else 0
        key = r.voices[seat]
        line, clips, text = _line(pieces[key], cursor, key, target_s=_log_uniform(rng, r.line_s))
        end_s = mix.place(Voice(_speaker(key), line), line, at_s, seat=seat, text=text)
        turns.append({"start_s": round(at_s, 3), "end_s": round(end_s, 3), "speaker": _speaker(key),
                      "seat": f"seat{seat + 1}", "clips": clips, "text": text})
        at_s, previous = end_s + _log_uniform(rng, r.pause_s), seat
    mono, _ = mix.render(seed=SEED + 100 + r.seed)
    # Place() keeps its own rounded times: use them, so the truth matches the samples exactly.
    for turn, placed in zip(turns, mix.turns):
        turn["start_s"], turn["end_s"] = placed.start_s, placed.end_s
    CACHE.mkdir(parents=True, exist_ok=True)
    wav = CACHE / f"{r.name}.wav"
    soundfile.write(wav, mono, RATE, subtype="PCM_16")
    lengths = [t["end_s"] - t["start_s"] for t in turns]
    gaps = [b["start_s"] - a["end_s"] for a, b in zip(turns, turns[1:])]
    truth = {"name": r.name, "note": r.note, "recipe_key": _recipe_key(r), "seed": SEED + r.seed,
             "seats": [f"seat{k + 1}" for k in range(len(r.voices))],
             "voices": {f"seat{k + 1}": _speaker(key) for k, key in enumerate(r.voices)},
             "duration_s": round(len(mono) / RATE, 3),
             "line_s": {"min": round(min(lengths), 2), "max": round(max(lengths), 2)},
             "pause_s": {"min": round(min(gaps), 2), "max": round(max(gaps), 2)},
             "turns": turns}
    (CACHE / f"{r.name}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return wav


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """Drawn evenly on a log scale: as many lines of 1-2 s as of 10-20 s, as many gaps of 0.3-0.6 s as of 1.5-3 s."""
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _line(pieces: list[Piece], cursor: dict, key: str, *, target_s: float) -> tuple[np.ndarray, list[str], str | None]:
    """The voice's next line: pieces in a row from the cursor until `target_s` is reached (never beyond
    20 s unless one piece is) or the voice's material ends; the cursor then moves on, wrapping."""
    from tests.diarize.mixing import _faded

    first = k = cursor[key] % len(pieces)
    parts: list[np.ndarray] = []
    while k < len(pieces):
        piece = pieces[k]
        gap = 0
        if parts:
            previous = pieces[k - 1]  # the clip's own pause between two of its pieces, or a breath between clips
            gap = (piece.start - previous.start - previous.samples.size if previous.clip == piece.clip
                   else int(CLIP_JOIN_S * RATE))
            if sum(p.size for p in parts) + gap + piece.samples.size > max(LINE_S[1], target_s) * RATE:
                break
        parts += [np.zeros(gap, np.float32), piece.samples] if parts else [piece.samples]
        k += 1
        if sum(p.size for p in parts) >= target_s * RATE:
            break
    cursor[key] = k % len(pieces)
    used = pieces[first:k]
    if len(used) == 1 and used[0].samples.size > (target_s + 0.8) * RATE:
        # A short line out of a longer stretch of speech: cut where it is quietest just after target_s,
        # most likely between two syllables (a Mandarin syllable lasts about 0.2 s).
        cut = _quietest(used[0].samples, from_s=target_s, to_s=target_s + 0.5)
        return _faded(used[0].samples[:cut]), [used[0].clip], None
    clips = list(dict.fromkeys(p.clip for p in used))
    # The clip's trusted text only when the line is that whole clip.
    whole = len(clips) == 1 and len(used) == sum(p.clip == clips[0] for p in pieces)
    return _faded(np.concatenate(parts)), clips, (used[-1].text if whole else None)


def _quietest(samples: np.ndarray, *, from_s: float, to_s: float) -> int:
    """The sample index of the quietest 20 ms frame between `from_s` and `to_s` (its middle)."""
    frame = int(0.02 * RATE)
    starts = range(int(from_s * RATE), min(int(to_s * RATE), samples.size - frame), frame // 2)
    energy = [float(np.mean(np.square(samples[i:i + frame]))) for i in starts]
    return starts[int(np.argmin(energy))] + frame // 2


def _pieces(key: str) -> list[Piece]:
    """The voice's speech as pieces cut at its pauses, clip after clip."""
    from diarize.vad import VadTuning, speech_regions
    from tests.diarize.mixing import voice_from
    from capture import decode_file

    out = []
    for path, text in _clips(key):
        voice = voice_from(decode_file(path).mono(), path.stem, text=text)
        regions = speech_regions(voice.speech, tuning=VadTuning(speech_pad_ms=30, min_silence_ms=100))
        regions = regions or [(0, voice.speech.size)]
        for k, (start, end) in enumerate(regions):
            out.append(Piece(path.stem, voice.speech[start:end], start, text if len(regions) == 1 else None))
        if len(regions) > 1:  # the text belongs to the clip as a whole: kept on its last piece
            out[-1] = Piece(out[-1].clip, out[-1].samples, out[-1].start, text)
    return out


def _clips(key: str) -> list[tuple[Path, str | None]]:
    labelled = SHARED_AUDIO / "labelled"
    if not (labelled / "manifest.jsonl").is_file():
        raise SystemExit(f"the held-out mixes need {labelled} (AISHELL-3 and Baker clips); it is not there")
    rows = [json.loads(line) for line in (labelled / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    if key == "baker":
        return [(labelled / r["file"], r["transcript"]) for r in rows if r["file"].startswith("baker_")]
    if key == "codeswitch":
        return [(SHARED_AUDIO / "funasr_paraformer_example_3_codeswitch.wav", None)]  # its text is a model's
    k = int(key.split(":")[1])
    aishell3 = sorted(r["file"] for r in rows if r["file"].startswith("aishell3_"))
    order = np.random.default_rng(SEED).permutation(len(aishell3))
    row = next(r for r in rows if r["file"] == aishell3[order[k]])
    return [(labelled / row["file"], row["transcript"])]


def _speaker(key: str) -> str:
    if key in ("baker", "codeswitch"):
        return key
    return _clips(key)[0][0].stem


def _recipe_key(r: Recipe) -> str:
    text = json.dumps([RECIPE_VERSION, SEED, r.name, r.voices, r.length_s, r.seed, r.line_s, r.pause_s, CLIP_JOIN_S])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the mixes and their voices, build nothing")
    args = parser.parse_args()
    for r in RECIPES:
        if args.list:
            print(f"{r.name}: {', '.join(r.voices)} ({r.note})")
            continue
        truth = json.loads(mix_path(r.name).with_suffix(".json").read_text(encoding="utf-8"))
        print(f"{r.name}: {truth['duration_s']} s, {len(truth['turns'])} lines of {truth['line_s']['min']}-"
              f"{truth['line_s']['max']} s, pauses {truth['pause_s']['min']}-{truth['pause_s']['max']} s, "
              f"voices {truth['voices']}")


if __name__ == "__main__":
    main()
