"""The session guardrails on sessions with planted violations and on clean ones: precision and recall per kind,
through the real path (a real SQLite store, `engine.checking.check_session`, the shipped guardrails file); and how
soon the live watch (engine/guardrails.py `GuardrailWatch`, polled as a live session polls it) alerts after a
summons comes within its warning time.

Every session is stored with the store's own methods (times are wall-clock: sessions start now, and the case's
summons, detention and birth dates are set relative to now). Each sample gets officers of its own, because every
session of the run overlaps every other in time. A session is judged on every guardrail: a planted violation of
one kind that also trips another counts as a false positive of the other.
Run: python bench/guardrails.py [--per-kind 20] [--seed 20] [--alerts 5]
"""
import argparse
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import common  # noqa: F401  (puts the repository first on sys.path)
from common import machine, write_results

from cases import Store
from engine.checking import check_session
from engine.guardrails import GUARD_POLL_S, GuardrailWatch, guards_for
from engine.settings import Settings
from transcribe import Utterance, Word

HOUR = 3600.0
SHA = "0" * 64
KINDS = ("two_officers", "summons_duration", "first_questioning", "meals_and_rest", "officer_overlap",
         "minor_guardian", "interpreter", "recording_continuity")
PASSWORD = "bench-password-9"


class World:
    """One store; officers handed out so that no two samples share one (unless a sample plants that)."""

    def __init__(self, home: Path) -> None:
        self.settings = Settings(home=home)
        self.store = Store.open(home)
        self._officers = 0
        self._cases = 0

    def officers(self, count: int) -> list[str]:
        names = []
        for _ in range(count):
            self._officers += 1
            name = f"officer{self._officers:04d}"
            self.store.add_user(name, role="officer", unit="默认单位", password=PASSWORD)
            names.append(name)
        return names

    def case(self) -> str:
        self._cases += 1
        case_no = f"GB-{self._cases:04d}"
        self.store.ensure_case(case_no, title=None)
        return case_no

    def session(self, case_no: str, *, room: str, duration_s: float, lines: list[tuple[float, str, str]],
                officers: list[str], roles: dict[str, str], conditions: tuple[str, ...] = ()) -> int:
        """A finished file session: lines are (start_s, speaker, text), 4 s each."""
        store = self.store
        session_id = store.create_session(case_no=case_no, room=room, kind="file", source_name="bench.wav",
                                          audio_path="audio/bench.wav", audio_sha256=SHA, audio_bytes=1,
                                          duration_s=duration_s, sample_rate=16000, channels=1, diarizer="channel",
                                          model="base", options={})
        for start_s, speaker, text in lines:
            words = [Word(start_s + i * 0.5, start_s + (i + 1) * 0.5, text[2 * i:2 * i + 2], 0.9)
                     for i in range((len(text) + 1) // 2)]
            store.add_utterance(session_id, Utterance.from_words(words, speaker=speaker))
        store.set_speaker_roles(session_id, {label: role for label, role in roles.items()
                                             if any(speaker == label for _, speaker, _ in lines)})
        store.set_rule_set(session_id, "criminal_first", conditions)
        store.finish_session(session_id)
        if officers:
            store.set_session_officers(session_id, officers)
        return session_id


ROLES = {"S1": "讯问人", "S2": "记录人", "S3": "被讯问人", "S4": "法定代理人", "S5": "翻译人员"}


def dialogue(duration_s: float, *, every_s: float = 120.0, speakers=("S1", "S2", "S3"),
             extra: dict[float, tuple[str, str]] | None = None) -> list[tuple[float, str, str]]:
    """A line every `every_s` from the given speakers in turn; `extra` adds lines at given times."""
    lines = [(t, speakers[i % len(speakers)], "请你把当时的情况说一下" if speakers[i % len(speakers)] != "S3"
              else "当时我在家里")
             for i, t in enumerate(x * every_s for x in range(int(duration_s // every_s)))]
    for at, (speaker, text) in (extra or {}).items():
        lines.append((at, speaker, text))
    return sorted(lines)


def plant(world: World, kind: str, violated: bool, rng: random.Random) -> list[int]:
    """Sessions for one sample of `kind`; returns the ids judged (the sample's own)."""
    case_no = world.case()
    store = world.store
    room = f"{rng.randint(1, 9)}号讯问室"
    short = rng.uniform(0.3, 1.5) * HOUR
    now = datetime.now()
    if kind == "two_officers":
        if violated:
            return [world.session(case_no, room=room, duration_s=short, lines=dialogue(short, speakers=("S1", "S3")),
                                  officers=world.officers(1), roles=ROLES)]
        heard_two = rng.random() < 0.5
        return [world.session(case_no, room=room, duration_s=short,
                              lines=dialogue(short, speakers=("S1", "S2", "S3") if heard_two else ("S1", "S3")),
                              officers=world.officers(1 if heard_two else 2), roles=ROLES)]
    officers = world.officers(2)
    lines = dialogue(short)
    if kind == "summons_duration":
        extended = rng.random() < 0.3
        limit = 24 if extended else 12
        if violated:  # the session ends after the limit: summons longer ago than the limit minus the session
            ago = rng.uniform(limit - short / HOUR + 0.2, limit + 6)
        else:
            ago = rng.uniform(0.2, max(0.3, limit - short / HOUR - 0.2))
        store.set_case_procedure(case_no, {"summons_kind": rng.choice(["传唤", "拘传"]), "summons_extended": extended,
                                           "summons_at": (now - timedelta(hours=ago)).isoformat(timespec="seconds")})
    elif kind == "first_questioning":
        ago = rng.uniform(24.3, 96) if violated else rng.uniform(0.2, 23.7)
        store.set_case_procedure(case_no, {"detained_at": (now - timedelta(hours=ago)).isoformat(timespec="seconds")})
    elif kind == "meals_and_rest":
        long = rng.uniform(4.5, 9) * HOUR
        if violated:
            extra = {}
            if rng.random() < 0.5 and long > 6.5 * HOUR:  # rests, but no meal for over 6 h
                extra = {t: ("S1", "休息十分钟") for t in (3 * HOUR + 30, 6 * HOUR + 30) if t < long}
            lines = dialogue(long, extra=extra)
        else:
            breaks = [t * HOUR + 30 for t in (3, 6) if t * HOUR < long]
            lines = dialogue(long, extra={t: ("S1", "现在休息一下，先吃饭") for t in breaks})
        short = long
    elif kind == "officer_overlap":
        other_room = room if not violated and rng.random() < 0.5 else f"{rng.randint(10, 19)}号讯问室"
        other = [officers[0]] if violated or other_room == room else world.officers(1)
        world.session(world.case(), room=other_room, duration_s=short, lines=dialogue(short), officers=other,
                      roles=ROLES)
    elif kind == "minor_guardian":
        age = rng.uniform(12, 17.5)
        store.set_case_procedure(case_no, {"birth_date": (date.today() - timedelta(days=int(age * 365.25)))
                                           .isoformat()})
        if not violated:
            store.set_case_procedure(case_no, {"guardian": "王某某"})
            lines = dialogue(short, speakers=("S1", "S2", "S3", "S4"))
        elif rng.random() < 0.5:  # named on the case, but never heard
            store.set_case_procedure(case_no, {"guardian": "王某某"})
    elif kind == "interpreter":
        conditions = (rng.choice(["interpreter", "deaf_mute"]),)
        if not violated:
            store.set_case_procedure(case_no, {"interpreter": "李某某"})
            lines = dialogue(short, speakers=("S1", "S2", "S5", "S3"))
        elif rng.random() < 0.5:
            store.set_case_procedure(case_no, {"interpreter": "李某某"})
        return [world.session(case_no, room=room, duration_s=short, lines=lines, officers=officers, roles=ROLES,
                              conditions=conditions)]
    elif kind == "recording_continuity":
        session_id = world.session(case_no, room=room, duration_s=short, lines=lines, officers=officers, roles=ROLES)
        start = datetime.fromisoformat(store.get_session(session_id)["created_at"]).timestamp()
        at = rng.uniform(60, short - 120)
        length = rng.uniform(3, 300) if violated else rng.uniform(0.1, 1.5)
        store.add_outage(session_id, from_epoch_s=start + at, to_epoch_s=start + at + length)
        return [session_id]
    return [world.session(case_no, room=room, duration_s=short, lines=lines, officers=officers, roles=ROLES)]


def alert_delays(world: World, count: int) -> list[float]:
    """Seconds from the moment a running summons comes within its warning time to the watch's alert."""
    delays = []
    guards = guards_for(world.settings)
    warn_s = next(g for g in guards if g.key == "summons_duration").limit("alert_before_min") * 60
    for _ in range(count):
        case_no = world.case()
        store = world.store
        session_id = store.create_session(case_no=case_no, room="一号讯问室", kind="live", source_name=None,
                                          audio_path="audio/live/bench", audio_sha256="", audio_bytes=0,
                                          duration_s=0.0, sample_rate=16000, channels=1, diarizer="channel",
                                          model="base", options={})
        store.set_session_officers(session_id, world.officers(2))
        condition_at = time.time() + 1.5  # the warning time is reached 1.5 s from now
        summons = condition_at - (12 * HOUR - warn_s)
        store.set_case_procedure(case_no, {"summons_kind": "传唤", "summons_at": datetime.fromtimestamp(summons)
                                           .isoformat(timespec="milliseconds")})
        watch = GuardrailWatch(store, session_id, guards)
        while True:
            new, _ = watch.poll((), (), now_epoch_s=time.time(), monotonic_s=time.monotonic())
            if any(f.key == "summons_duration" and f.status == "warning" for f in new):
                delays.append(round(time.time() - condition_at, 3))
                break
            time.sleep(GUARD_POLL_S)
        store.finish_session(session_id, status="done")
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=20, help="planted and clean samples of each kind")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--alerts", type=int, default=5, help="live warnings to time")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bilu-guardrails-") as folder:
        world = World(Path(folder))
        samples: list[tuple[str, bool, list[int]]] = []
        began = time.perf_counter()
        for kind in KINDS:
            for violated in (True, False):
                for _ in range(args.per_kind):
                    samples.append((kind, violated, plant(world, kind, violated, rng)))
        built_s = time.perf_counter() - began
        began = time.perf_counter()
        verdicts: dict[int, dict[str, str]] = {}
        for _, _, session_ids in samples:
            for session_id in session_ids:
                check_session(world.store, session_id, world.settings)
                verdicts[session_id] = {f["key"]: f["status"] for f in world.store.guardrail_findings(session_id)}
        checked_s = time.perf_counter() - began
        per_kind = {}
        for kind in KINDS:
            tp = fp = fn = tn = 0
            for planted_kind, violated, session_ids in samples:
                planted = violated and planted_kind == kind
                for session_id in session_ids:
                    said = verdicts[session_id][kind] == "violated"
                    tp += planted and said
                    fn += planted and not said
                    fp += said and not planted
                    tn += not said and not planted
            per_kind[kind] = {"planted": tp + fn, "true_positives": tp, "false_positives": fp, "false_negatives": fn,
                              "precision": round(tp / (tp + fp), 3) if tp + fp else None,
                              "recall": round(tp / (tp + fn), 3) if tp + fn else None}
        delays = alert_delays(world, args.alerts)
        sessions = sum(len(ids) for _, _, ids in samples)
        world.store.close()
    results = {"machine": machine(), "per_kind_samples": args.per_kind, "seed": args.seed, "sessions": sessions,
               "build_s": round(built_s, 1), "check_s_per_session": round(checked_s / sessions, 4),
               "per_kind": per_kind, "live_warning_delay_s": delays,
               "live_warning_delay_max_s": max(delays) if delays else None}
    for kind, figures in per_kind.items():
        print(f"{kind:22s} precision {figures['precision']}  recall {figures['recall']}  "
              f"(planted {figures['planted']}, FP {figures['false_positives']}, FN {figures['false_negatives']})")
    print(f"live summons warning: {delays} s after the condition (max {results['live_warning_delay_max_s']})")
    print(f"check per session: {results['check_s_per_session']} s")
    write_results("guardrails", results)


if __name__ == "__main__":
    main()
