"""The live path as a room uses it: replayed recordings in real time through LiveSession (disk first, streaming
recognition, speakers, store), measured from outside.

- Rooms at once: N rooms replay a long session each (a recording looped to --minutes) at the same time.
- Commit latency per spoken line (the recording's .json gives its turns, exact): from the moment the line's
  last word was played to the moment its last word was stored. Also per stored utterance, from its own
  recognised end. By thirds of the run: if the delay grows from the first third to the last, the machine does
  not sustain N rooms.
- Tentative text: from the moment a line starts to the first text of it sent to the page (a tentative or a
  stored utterance), and the interval between tentative updates while it is spoken. A line of the mix may
  begin with some silence of its clip (up to 0.74 s in the room mix), so the first text is also measured
  from the line's first speech (Silero, unpadded, on the played recording).
- Memory: the process's resident memory each 30 s; the end compared with after the first minute.
- Archive: the recorded audio's length against the played length.
- The load average (1, 5, 15 min) before and after: the machine may be shared.
- Whisper passes: how many, the mean compute seconds per pass and the mean seconds of audio heard per pass, so a
  run on a slower or busier machine can be read against this one.
- CER of the live transcript (every stored utterance, in order) against a batch transcript of the same played
  audio (transcribe_samples with the file path's options), run after the rooms so it takes none of their CPU.
- Why lines were late: for each line stored more than LATE_S after it ended, from the transcriber's own
  record (transcribe.stream_debug): the passes that ran between the line's end and the commit of its last
  word and their compute times, whether that word was committed by two passes agreeing, by a pause Silero
  heard (settled), by the max-buffer flush, and how long its utterance then took to be stored; whether
  another speaker began within 0.5 s of the line's end. A table of these causes is printed at the end.
  Over every line (late or not): how long after its end its last word was committed, and how long that word
  then waited to be stored (for its utterance to close, be labelled and stored).
- How utterances fall on lines: utterances holding words of two speakers' lines (mislabelled, and stored
  only when the second line is over), and lines cut into several utterances.
Mixes: --mix dev_room_2spk (the shared room mix the tuning used; the default) or a held-out mix of voices
the live path was never tuned on (bench/live_mixes.py builds them on demand); --mixes all runs every one.
Prints the figures and writes bench/results/live_<mix>_<rooms>rooms_<minutes>min.json per mix.
Run: python bench/live.py [--rooms 2] [--minutes 10] [--mix NAME ... | --mixes all|held] [--list-mixes]
"""
import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import common  # noqa: F401  (puts the repository on sys.path)
import numpy as np
from common import SHARED_AUDIO, TEST_DATA, machine, write_results
from live_mixes import NAMES as HELD_OUT, RECIPES, mix_path

from engine.live import LiveRequest, LiveSession
from engine.pipeline import Pipeline
from engine.settings import Settings
from capture import AudioChunk, decode_file
from cases import Store
from transcribe import transcribe_samples
from transcribe.metrics import character_error_rate

BLOCK_S = 0.1
WORD_SLACK_S = 0.3  # a word belongs to a line when it starts within the line, give or take this
LATE_S = 3.0  # a line stored later than this after its end gets its causes recorded
SPEAKER_CHANGE_S = 0.5  # another speaker starting within this of a line's end: "a speaker change followed"
SHARED_MIX = "dev_room_2spk"


def looped_replay(samples: np.ndarray, *, total_s: float, started: float):
    """Blocks of a recording looped to `total_s`, each handed out when its last frame would be captured."""
    block = int(BLOCK_S * 16000)
    frames = int(total_s * 16000)
    for start in range(0, frames, block):
        index = np.arange(start, min(frames, start + block)) % samples.shape[0]
        due = started + (start + len(index)) / 16000
        time.sleep(max(0.0, due - time.monotonic()))
        yield AudioChunk(samples=samples[index], sample_rate=16000, start_s=start / 16000)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_room(settings, model, samples, room: str, total_s: float, results: dict) -> None:
    commits: list[tuple[float, float]] = []  # (utterance end on the session clock, seconds after it was played)
    words: list[tuple[float, float, float, float]] = []  # (word middle, clock when stored, word start, word end)
    texts: list[tuple[float, str]] = []  # (utterance start, text) of every stored utterance
    utterance_words: list[list[float]] = []  # each stored utterance's word middles: which lines it holds
    shown: list[tuple[float, float, float, str]] = []  # (start_s, end_s, clock, kind) of every text sent
    started = time.monotonic()

    def on_event(message: dict) -> None:
        now = time.monotonic() - started
        if message["type"] == "utterance":
            utterance = message["utterance"]
            commits.append((utterance["end_s"], now - utterance["end_s"]))
            words.extend(((w["start_s"] + w["end_s"]) / 2, now, w["start_s"], w["end_s"]) for w in utterance["words"])
            texts.append((utterance["start_s"], utterance["text"]))
            utterance_words.append([(w["start_s"] + w["end_s"]) / 2 for w in utterance["words"]])
            shown.append((utterance["start_s"], utterance["end_s"], now, "utterance"))
        elif message["type"] == "tentative":
            shown.append((message["start_s"], message["end_s"], now, "tentative"))

    with Store.open(settings.home) as store:
        session = LiveSession(settings, store, model, LiveRequest(case_no="BENCH-LIVE", room=room), on_event=on_event)
        transcriber = session._transcriber
        streaming = {"min_chunk_s": transcriber.min_chunk_s, **transcriber.pass_record()}
        status = session.run(looped_replay(samples, total_s=total_s, started=started))
        recorded_s = store.get_session(session.session_id)["duration_s"]
    debug = transcriber.debug  # read once the room has stopped: its passes and why each word was committed
    results[room] = {"status": status, "played_s": total_s, "recorded_s": recorded_s, "commits": commits,
                     "streaming": streaming, "words": words, "shown": shown, "texts": texts, "started": started,
                     "utterance_words": utterance_words,
                     "passes": list(debug.passes), "commit_causes": list(debug.commits), "closes": list(debug.closes)}


def looped_turns(turns: list[dict], *, period_s: float, total_s: float) -> list[tuple[float, float, float, str]]:
    """The recording's turns (start_s, end_s, first speech, speaker) on the session clock, repeated every
    `period_s`, all inside it."""
    out = []
    for loop in range(int(total_s // period_s) + 1):
        out += [(loop * period_s + t["start_s"], loop * period_s + t["end_s"], loop * period_s + t["speech_s"],
                 t.get("speaker", "")) for t in turns if loop * period_s + t["end_s"] <= total_s]
    return out


def with_first_speech(turns: list[dict], mono: np.ndarray) -> list[dict]:
    """Each turn with `speech_s`: where Silero (no padding) first hears speech in it."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = [(r["start"] / 16000, r["end"] / 16000)
               for r in get_speech_timestamps(mono, VadOptions(min_silence_duration_ms=300, speech_pad_ms=0))]
    return [{**t, "speech_s": max(t["start_s"], min((a for a, b in regions if b > t["start_s"] and a < t["end_s"]),
                                                   default=t["start_s"]))} for t in turns]


def line_delays(turns: list[tuple[float, float, float, str]], room: dict) -> dict:
    """Per spoken line: end → last word stored, start (and first speech) → first text shown; tentative
    refresh intervals."""
    commit, first, first_speech, refresh, unheard, late = [], [], [], [], 0, []
    # Each stored word belongs to one line: the nearest by its middle (inside a line counts as distance 0).
    # Whisper often starts the first word after a pause early, inside the gap (说 at 6.26-7.40 s for a line
    # starting at 7.1 s after one ending at 6.4 s): matched by its start, such a word made the earlier line
    # "wait" for the next one; matching by a window around each line gave it to both.
    owner: dict[int, list[tuple[float, float]]] = {}  # line -> (clock when stored, word middle)
    for word_s, clock, *_ in room["words"]:
        if (nearest := line_of(turns, word_s)) is not None:
            owner.setdefault(nearest, []).append((clock, word_s))
    tails = []  # every line's last word: when committed after the line's end, how long it then waited
    for index, (start_s, end_s, speech_s, speaker) in enumerate(turns):
        hi = end_s + WORD_SLACK_S
        mine = owner.get(index, [])
        if not mine:
            unheard += 1
            continue
        stored, last_word_s = max(mine)
        commit.append((end_s, stored - end_s))
        following = turns[index + 1] if index + 1 < len(turns) else None
        change = following is not None and following[3] != speaker and following[0] - end_s <= SPEAKER_CHANGE_S
        cause = late_cause(room, end_s=end_s, stored=stored, word_s=last_word_s, speaker_change=change)
        tails.append(cause)
        if stored - end_s > LATE_S:
            late.append(cause)
        seen = [clock for s, e, clock, _ in room["shown"] if e > start_s + WORD_SLACK_S and s < hi]
        if seen:
            first.append((end_s, min(seen) - start_s))
            first_speech.append((end_s, min(seen) - speech_s))
        tentative = [clock for s, e, clock, kind in room["shown"]
                     if kind == "tentative" and start_s <= clock <= end_s + 1.0]
        refresh += list(np.diff(tentative))
    return {"commit": commit, "first": first, "first_speech": first_speech, "refresh": refresh, "unheard": unheard,
            "late": late, "tails": tails}


def line_of(turns: list[tuple[float, float, float, str]], word_s: float) -> int | None:
    """The line a word (its middle) belongs to: the nearest, inside counting as distance 0, within WORD_SLACK_S."""
    distances = [max(start_s - word_s, word_s - end_s, 0.0) for start_s, end_s, *_ in turns]
    nearest = int(np.argmin(distances)) if distances else -1
    return nearest if nearest >= 0 and distances[nearest] <= WORD_SLACK_S else None


def utterance_lines(turns: list[tuple[float, float, float, str]], room: dict) -> dict:
    """How stored utterances fall on the spoken lines: utterances holding words of two speakers' lines (one
    speaker label for both: the other's words misattributed, and the first line stored only when the second is
    over), and lines cut into several utterances (what closing at shorter pauses costs)."""
    mixed, pieces = 0, {}
    for number, middles in enumerate(room["utterance_words"]):
        lines = {line for m in middles if (line := line_of(turns, m)) is not None}
        mixed += len({turns[line][3] for line in lines}) > 1
        for line in lines:
            pieces.setdefault(line, set()).add(number)
    return {"utterances_holding_two_speakers": mixed,
            "lines_in_several_utterances": sum(len(u) > 1 for u in pieces.values())}


def tail_figures(tails: list[dict]) -> dict:
    """Over every line: from its end to the commit of its last word, and from that commit to the store."""
    committed = [t["committed_after_s"] for t in tails if t.get("committed_after_s") is not None]
    waited = [t["stored_after_commit_s"] for t in tails if t.get("stored_after_commit_s") is not None]
    return {"last_word_committed_after_end_p50_s": pct(committed, 50),
            "last_word_committed_after_end_p95_s": pct(committed, 95),
            "last_word_stored_after_commit_p50_s": pct(waited, 50),
            "last_word_stored_after_commit_p95_s": pct(waited, 95),
            "last_word_stored_after_commit_max_s": pct(waited, 100)}


def late_cause(room: dict, *, end_s: float, stored: float, word_s: float, speaker_change: bool) -> dict:
    """Why a line's last word (its middle at `word_s`) was stored `stored - end_s` seconds after the line
    ended: the commit that took it (transcribe.stream_debug) and the passes that ran before it."""
    started = room["started"]
    record = next((c for c in reversed(room["commit_causes"])
                   if c.first_middle_s - 1e-6 <= word_s <= c.last_middle_s + 1e-6), None)
    out = {"line_end_s": round(end_s, 2), "stored_after_s": round(stored - end_s, 2),
           "speaker_change_within_0_5_s": speaker_change}
    if record is None:  # older than what the record keeps (DEBUG_RECORDS), or its times were moved
        return {**out, "cause": "unknown"}
    between = [p for p in room["passes"] if p.audio_end_s > end_s and p.index <= record.pass_index]
    # When the utterance holding that word was handed out: between commit and that, it waited to be closed
    # (the grouper wants a pause after it); between that and stored, the labeller and the store.
    closed = next((c for c in room["closes"] if c.start_s - 1e-6 <= word_s <= c.end_s + 1e-6), None)
    return {**out, "cause": record.cause, "committed_after_s": round(record.at - started - end_s, 2),
            "stored_after_commit_s": round(stored - (record.at - started), 2),
            "closed_after_commit_s": round(closed.at - record.at, 2) if closed else None,
            "stored_after_close_s": round(stored - (closed.at - started), 2) if closed else None,
            "passes_between": len(between), "pass_compute_s": [round(p.compute_s, 2) for p in between],
            "pass_heard_s": [round(p.heard_s, 1) for p in between],
            "first_pass_after_end_s": (round(between[0].at - started - end_s, 2) if between else None)}


def pct(values, q):
    return round(float(np.percentile(values, q)), 2) if len(values) else None


def by_thirds(pairs: list[tuple[float, float]], total_s: float) -> list[dict]:
    thirds = []
    for k in range(3):
        values = [d for at_s, d in pairs if k * total_s / 3 <= at_s < (k + 1) * total_s / 3]
        thirds.append({"n": len(values), "p50_s": pct(values, 50), "p95_s": pct(values, 95)})
    return thirds


def pass_figures(passes: list) -> dict:
    """How long Whisper passes took on this machine, and over how much audio: what a slower machine is read
    against."""
    compute = [p.compute_s for p in passes]
    heard = [p.heard_s for p in passes]
    return {"passes": len(passes), "pass_compute_mean_s": round(float(np.mean(compute)), 3) if compute else None,
            "pass_compute_p95_s": pct(compute, 95), "pass_heard_mean_s": round(float(np.mean(heard)), 2) if heard else None,
            "line_start_passes": sum(p.line_start for p in passes)}


def late_table(late: list[dict]) -> dict:
    """The late lines' causes, counted: the short table printed at the end."""
    causes: dict[str, dict] = {}
    for line in late:
        row = causes.setdefault(line["cause"], {"lines": 0, "speaker_change_after": 0, "passes_between": [],
                                                "pass_compute_s": [], "stored_after_commit_s": [],
                                                "closed_after_commit_s": [], "stored_after_close_s": [],
                                                "committed_after_s": [], "first_pass_after_end_s": []})
        row["lines"] += 1
        row["speaker_change_after"] += line["speaker_change_within_0_5_s"]
        row["passes_between"].append(line.get("passes_between", 0))
        row["pass_compute_s"] += line.get("pass_compute_s", [])
        for key in ("stored_after_commit_s", "closed_after_commit_s", "stored_after_close_s", "committed_after_s",
                    "first_pass_after_end_s"):
            if line.get(key) is not None:
                row[key].append(line[key])
    return {cause: {"lines": r["lines"], "speaker_change_after": r["speaker_change_after"],
                    "passes_between_p50": pct(r["passes_between"], 50),
                    "pass_compute_p50_s": pct(r["pass_compute_s"], 50), "pass_compute_max_s": pct(r["pass_compute_s"], 100),
                    "stored_after_commit_p50_s": pct(r["stored_after_commit_s"], 50),
                    "closed_after_commit_p50_s": pct(r["closed_after_commit_s"], 50),
                    "stored_after_close_p50_s": pct(r["stored_after_close_s"], 50),
                    "committed_after_p50_s": pct(r["committed_after_s"], 50),
                    "first_pass_after_end_p50_s": pct(r["first_pass_after_end_s"], 50)}
            for cause, r in sorted(causes.items(), key=lambda kv: -kv[1]["lines"])}


def summary(room: dict, turns: list[tuple[float, float, float, str]] | None, total_s: float) -> dict:
    commits = room["commits"]
    delays = [d for _, d in commits]
    out = {"utterances": len(commits), "utterance_commit_p50_s": pct(delays, 50),
           "utterance_commit_p95_s": pct(delays, 95), "utterance_commit_by_thirds": by_thirds(commits, total_s)}
    if turns:
        lines = line_delays(turns, room)
        commit = [d for _, d in lines["commit"]]
        first = [d for _, d in lines["first"]]
        first_speech = [d for _, d in lines["first_speech"]]
        out.update({
            "lines": len(turns), "lines_without_text": lines["unheard"],
            "line_commit_p50_s": pct(commit, 50), "line_commit_p95_s": pct(commit, 95),
            "line_commit_max_s": pct(commit, 100), "line_commit_by_thirds": by_thirds(lines["commit"], total_s),
            "first_text_p50_s": pct(first, 50), "first_text_p95_s": pct(first, 95),
            "first_text_from_speech_p50_s": pct(first_speech, 50),
            "first_text_from_speech_p95_s": pct(first_speech, 95),
            "tentative_refresh_p50_s": pct(lines["refresh"], 50), "tentative_refresh_p95_s": pct(lines["refresh"], 95),
            # Each line's (end on the session clock, delay): which lines make the tail.
            "line_commit_delays": [(round(end_s, 2), round(d, 2)) for end_s, d in lines["commit"]],
            "late_lines": lines["late"], "late_causes": late_table(lines["late"]),
            **tail_figures(lines["tails"]), **utterance_lines(turns, room),
        })
    return out


def live_text(room: dict) -> str:
    return "".join(text for _, text in sorted(room["texts"], key=lambda t: t[0]))


def run_mix(source: Path, *, mix: str, rooms_n: int, minutes: float, settings: Settings, model) -> dict:
    """Replay `source` looped to `minutes` in `rooms_n` rooms at once; the figures of every room."""
    samples = decode_file(source).samples[:, :1]
    total_s = minutes * 60
    reference = source.with_suffix(".json")
    turns = None
    if reference.is_file():
        spoken = with_first_speech(json.loads(reference.read_text(encoding="utf-8"))["turns"], samples[:, 0])
        turns = looped_turns(spoken, period_s=samples.shape[0] / 16000, total_s=total_s)
    load_before = os.getloadavg()
    memory: list[tuple[float, float]] = []
    stop = threading.Event()

    def sample_memory() -> None:
        t0 = time.monotonic()
        while not stop.wait(30.0 if memory else 60.0):  # first sample after the first minute
            memory.append((round(time.monotonic() - t0, 1), round(rss_mb(), 1)))

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    results: dict = {}
    rooms = [threading.Thread(target=run_room, args=(settings, model, samples, f"room-{i + 1}", total_s, results))
             for i in range(rooms_n)]
    for thread in rooms:
        thread.start()
    for thread in rooms:
        thread.join()
    stop.set()
    memory.append(("end", round(rss_mb(), 1)))
    load_after = os.getloadavg()
    # The batch transcript of the same played audio, after the rooms (it would take their CPU).
    played = samples[np.arange(int(total_s * 16000)) % samples.shape[0], 0]
    batch_started = time.monotonic()
    batch = "".join(u.text for u in transcribe_samples(model, played, options=Pipeline(settings, model=model).options())[0])
    batch_s = time.monotonic() - batch_started
    held = next((r for r in RECIPES if r.name == mix), None)
    report = {
        "machine": machine(), "mix": mix, "source": source.name, "rooms": rooms_n, "minutes": minutes,
        "held_out": held is not None, "mix_note": held.note if held else "the shared room mix the tuning used",
        "mix_length_s": round(samples.shape[0] / 16000, 2),
        "load_average_1_5_15_min": {"before": [round(x, 2) for x in load_before],
                                    "after": [round(x, 2) for x in load_after]},
        "streaming": next(iter(results.values()))["streaming"],
        "per_room": {room: {**summary(r, turns, total_s), **pass_figures(r["passes"]),
                            "cer_vs_batch": round(character_error_rate(batch, live_text(r)), 4),
                            "live_chars": len(live_text(r)), "status": r["status"], "played_s": r["played_s"],
                            "recorded_s": r["recorded_s"], "archive_gap_s": round(r["played_s"] - r["recorded_s"], 3)}
                     for room, r in results.items()},
        "batch": {"chars": len(batch), "seconds": round(batch_s, 1)},
        "rss_mb": memory,
        "rss_growth_after_first_minute": (round(memory[-1][1] / memory[0][1] - 1, 3) if len(memory) > 1 else None),
        "goal": {"p95_s": 2.5, "p95_two_rooms_s": 3.5, "rooms": 2, "rss_growth_max": 0.10, "archive_gap_max_s": 0.1},
    }
    print_report(report, has_turns=turns is not None)
    write_results(f"live_{mix}_{rooms_n}rooms_{minutes:g}min", report)
    return report


def print_report(report: dict, *, has_turns: bool) -> None:
    print(f"== {report['mix']} ({report['mix_note']}), {report['rooms']} room(s), {report['minutes']:g} min")
    for room, r in report["per_room"].items():
        print(f"{room}: {r['utterances']} utterances, commit delay from the utterance's end p50 "
              f"{r['utterance_commit_p50_s']} s, p95 {r['utterance_commit_p95_s']} s; "
              f"archive {r['recorded_s']} s of {r['played_s']} s played")
        if has_turns:
            print(f"  {r['lines']} lines ({r['lines_without_text']} without text): commit delay from the line's end "
                  f"p50 {r['line_commit_p50_s']} s, p95 {r['line_commit_p95_s']} s, max {r['line_commit_max_s']} s; "
                  f"by thirds {[t['p50_s'] for t in r['line_commit_by_thirds']]} (p50) "
                  f"{[t['p95_s'] for t in r['line_commit_by_thirds']]} (p95); first text p50 {r['first_text_p50_s']} s "
                  f"p95 {r['first_text_p95_s']} s (from the line's first speech p50 "
                  f"{r['first_text_from_speech_p50_s']} s p95 {r['first_text_from_speech_p95_s']} s); "
                  f"tentative refresh p50 {r['tentative_refresh_p50_s']} s")
            print(f"  every line's last word: committed p50 {r['last_word_committed_after_end_p50_s']} s p95 "
                  f"{r['last_word_committed_after_end_p95_s']} s after the line's end, then stored p50 "
                  f"{r['last_word_stored_after_commit_p50_s']} s p95 {r['last_word_stored_after_commit_p95_s']} s max "
                  f"{r['last_word_stored_after_commit_max_s']} s after that commit; "
                  f"{r['utterances_holding_two_speakers']} utterances hold two speakers' words, "
                  f"{r['lines_in_several_utterances']} lines are cut into several utterances")
        print(f"  {r['passes']} Whisper passes ({r['line_start_passes']} line starts): mean {r['pass_compute_mean_s']} s "
              f"compute over {r['pass_heard_mean_s']} s of audio heard, p95 {r['pass_compute_p95_s']} s; "
              f"CER against batch on the same audio {r['cer_vs_batch']} ({r['live_chars']} characters live, "
              f"{report['batch']['chars']} batch)")
    print(f"memory (MB): {report['rss_mb']}; growth after the first minute: {report['rss_growth_after_first_minute']}")
    print(f"load average before {report['load_average_1_5_15_min']['before']}, "
          f"after {report['load_average_1_5_15_min']['after']}")


def print_causes(reports: list[dict]) -> None:
    """The short table of why lines were stored more than LATE_S after they ended, per mix and room."""
    print(f"\nlines stored more than {LATE_S:g} s after they ended, by what committed their last word:")
    print(f"{'mix':<18} {'room':<7} {'cause':<11} {'lines':>5} {'spk chg':>7} {'passes':>6} "
          f"{'pass p50':>8} {'pass max':>8} {'1st pass':>8} {'commit':>6} {'commit->close':>13} {'close->stored':>13}")
    print("(lines: how many; spk chg: another speaker began within 0.5 s of the line's end; passes: p50 of the passes "
          "run between the line's end and the commit of its last word; pass p50/max: their compute seconds; 1st pass: "
          "p50 s from the line's end to the end of the first pass that heard it; commit: p50 s from the line's end to "
          "the commit of its last word; "
          "commit->close: p50 s the committed word waited for its utterance to close; close->stored: p50 s in the "
          "labeller and store)")
    for report in reports:
        for room, r in report["per_room"].items():
            if not r.get("late_causes"):
                print(f"{report['mix']:<18} {room:<7} {'(none)':<11} {0:>5}")
            for cause, c in (r.get("late_causes") or {}).items():
                print(f"{report['mix']:<18} {room:<7} {cause:<11} {c['lines']:>5} {c['speaker_change_after']:>7} "
                      f"{c['passes_between_p50']!s:>6} {c['pass_compute_p50_s']!s:>8} {c['pass_compute_max_s']!s:>8} "
                      f"{c['first_pass_after_end_p50_s']!s:>8} {c['committed_after_p50_s']!s:>6} "
                      f"{c['closed_after_commit_p50_s']!s:>13} {c['stored_after_close_p50_s']!s:>13}")


def sources(args) -> list[tuple[str, Path]]:
    """(mix name, recording) for each mix asked for."""
    if args.file:
        return [(Path(args.file).stem, Path(args.file))]
    names = list(args.mix or [])
    if args.mixes == "all":
        names += [SHARED_MIX, *HELD_OUT]
    elif args.mixes == "held":
        names += list(HELD_OUT)
    out = []
    for name in dict.fromkeys(names or [SHARED_MIX]):
        if name == SHARED_MIX:
            out.append((name, next(p for p in (SHARED_AUDIO / "mixes" / "dev_room_2spk.wav",
                                              TEST_DATA / "dev_room_2spk.wav") if p.is_file())))
        else:
            out.append((name, mix_path(name)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--mix", action="append", choices=(SHARED_MIX, *HELD_OUT),
                        help="a mix to replay (repeat for several; default: the shared two-speaker room mix)")
    parser.add_argument("--mixes", choices=("all", "held"),
                        help="all: the shared mix and every held-out one; held: the held-out ones only")
    parser.add_argument("--list-mixes", action="store_true", help="print the mixes and their voices, run nothing")
    parser.add_argument("--file", default=None, help="a recording of your own to loop (its .json beside it gives turns)")
    parser.add_argument("--causes-from", nargs="+", metavar="JSON",
                        help="print the late-line causes table of results already written, run nothing")
    args = parser.parse_args()
    if args.causes_from:
        reports = [json.loads(Path(path).read_text(encoding="utf-8")) for path in args.causes_from]
        for report in reports:
            for room in report["per_room"].values():
                room["late_causes"] = late_table(room.get("late_lines", []))
        print_causes(reports)
        return
    if args.list_mixes:
        print(f"{SHARED_MIX}: the shared room mix (funasr_vad_example_70s, funasr_long_25s), the one the tuning used")
        for r in RECIPES:
            print(f"{r.name}: {', '.join(r.voices)} ({r.note})")
        return
    chosen = sources(args)  # held-out mixes are built (or found in the cache) before any timing starts
    reports = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        model = Pipeline(settings).model
        for name, source in chosen:
            reports.append(run_mix(source, mix=name, rooms_n=args.rooms, minutes=args.minutes,
                                   settings=settings, model=model))
    print_causes(reports)


if __name__ == "__main__":
    main()
