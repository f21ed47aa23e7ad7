"""Session guardrails: what the law says about a 讯问 beyond its required statements, as rules data.

The rules are ``lexicon/rules/guardrails/guardrails.toml`` (a file of that name under ``guardrails/`` in a folder
passed as ``extra_dirs``, the service's BILU_RULES_DIR, replaces it). Each ``[[guards]]`` table has a `key`, a
`kind` (one of GUARD_KINDS: how it is judged), a `title`, a `basis` (the law) and the limits its kind reads.

`evaluate(facts, guards, now_epoch_s=...)` is a pure function of `SessionFacts` (what the engine gathers from the
store: the session's times, its statements and speakers, the case's summons and detention times, the person's
birth date, the officers' other sessions, outages and gaps of the recording) and returns one `GuardFinding` per
guard: ok, violated, warning (a limit is near: the live page alerts), or not_applicable (the case records nothing
the guard needs, or its condition does not hold). Times in the facts are Unix seconds (wall clock) or seconds from
the session start (statements, gaps), as named.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from lexicon.errors import RuleError
from lexicon.findings import Statement

__all__ = ["GUARD_KINDS", "GUARD_STATUSES", "Guard", "GuardFinding", "OtherSession", "RecordingGap",
           "SessionFacts", "evaluate", "load_guards"]

GUARD_STATUSES = ("ok", "violated", "warning", "not_applicable")
GUARD_FILE = "guardrails.toml"
GUARD_DIR = "guardrails"

_LIMITS: dict[str, dict[str, type | tuple]] = {
    # kind -> its fields and their types (a list of str is `list`)
    "two_officers": {"min_officers": int, "officer_roles": list},
    "summons_duration": {"limit_h": (int, float), "extended_limit_h": (int, float), "alert_before_min": (int, float)},
    "first_questioning_after_detention": {"limit_h": (int, float)},
    "meals_and_rest": {"max_without_rest_h": (int, float), "rest_pause_min": (int, float), "rest_words": list,
                       "max_without_meal_h": (int, float), "meal_words": list},
    "officer_overlap": {"min_overlap_s": (int, float)},
    "minor_guardian": {"adult_age": int, "guardian_roles": list},
    "interpreter": {"conditions": list, "interpreter_roles": list},
    "recording_continuity": {"max_gap_s": (int, float)},
}
GUARD_KINDS = tuple(_LIMITS)
_COMMON = {"key", "kind", "title", "basis"}


@dataclass(frozen=True, slots=True)
class Guard:
    key: str
    kind: str
    title: str
    basis: str
    limits: tuple[tuple[str, Any], ...]

    def limit(self, name: str) -> Any:
        return dict(self.limits)[name]


@dataclass(frozen=True, slots=True)
class OtherSession:
    """Another session of one of this session's officers: for the overlap guard."""

    session_id: int
    room: str | None
    officer: str
    start_epoch_s: float
    end_epoch_s: float


@dataclass(frozen=True, slots=True)
class RecordingGap:
    """A stretch the recording does not cover, in seconds from the session start, and why (the cause as the
    device, agent or recovery recorded it)."""

    from_s: float
    to_s: float
    cause: str


@dataclass(frozen=True, slots=True)
class SessionFacts:
    session_id: int
    room: str | None
    start_epoch_s: float
    end_epoch_s: float | None  # None: still recording (`now_epoch_s` stands in)
    statements: tuple[Statement, ...] = ()
    speakers: tuple[tuple[str, str | None], ...] = ()  # (label, role) of each speaker heard at least once
    officers: tuple[str, ...] = ()  # the officers set on the session
    conditions: tuple[str, ...] = ()
    summons_kind: str | None = None  # 传唤 / 拘传
    summons_epoch_s: float | None = None
    summons_extended: bool = False
    detained_epoch_s: float | None = None
    first_after_detention_epoch_s: float | None = None  # the start of the case's first session after detention
    birth_date: date | None = None
    interpreter: str | None = None
    guardian: str | None = None
    other_sessions: tuple[OtherSession, ...] = ()
    gaps: tuple[RecordingGap, ...] = ()


@dataclass(frozen=True, slots=True)
class GuardFinding:
    key: str
    kind: str
    title: str
    status: str  # one of GUARD_STATUSES
    basis: str
    detail: str
    at_s: float | None = None  # seconds from the session start where it happened (or will)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "title": self.title, "status": self.status,
                "basis": self.basis, "detail": self.detail, "at_s": self.at_s}


def load_guards(*, extra_dirs: Iterable[str | Path] = ()) -> tuple[Guard, ...]:
    """The guardrails: `guardrails/guardrails.toml` of the first of `extra_dirs` that has one, else the shipped."""
    dirs = [Path(d) for d in extra_dirs]
    for d in dirs:
        if not d.is_dir():
            raise RuleError(f"rules folder {d} does not exist or is not a folder")
    shipped = Path(str(resources.files("lexicon") / "rules"))
    path = next(p for d in (*dirs, shipped) if (p := d / GUARD_DIR / GUARD_FILE).is_file() or d == shipped)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise RuleError(f"{path}: cannot be read: {exc}") from exc
    raw = doc.get("guards")
    if set(doc) - {"guards"} or not isinstance(raw, list) or not raw:
        raise RuleError(f"{path}: expected one or more [[guards]] tables and nothing else")
    guards: list[Guard] = []
    for index, table in enumerate(raw):
        where = f"{path}: guard {index + 1}"
        if not isinstance(table, dict):
            raise RuleError(f"{where}: expected a table")
        kind = table.get("kind")
        if kind not in _LIMITS:
            raise RuleError(f"{where}: field 'kind' is {kind!r}; allowed: {', '.join(GUARD_KINDS)}")
        for name in ("key", "title", "basis"):
            if not isinstance(table.get(name), str) or not table[name].strip():
                raise RuleError(f"{where}: field '{name}' must be a non-empty string")
        unknown = set(table) - _COMMON - set(_LIMITS[kind])
        if unknown:
            raise RuleError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} for kind {kind}; allowed: "
                            f"{', '.join(sorted(_LIMITS[kind]))}")
        limits = []
        for name, wanted in _LIMITS[kind].items():
            value = table.get(name)
            ok = (isinstance(value, list) and all(isinstance(v, str) for v in value)) if wanted is list else (
                isinstance(value, wanted) and not isinstance(value, bool) and value >= 0)
            if not ok:
                shape = "a list of strings" if wanted is list else "a number >= 0"
                raise RuleError(f"{where} ({table['key']}): field '{name}' must be {shape}, got {value!r}")
            limits.append((name, tuple(value) if wanted is list else value))
        if table["key"] in {g.key for g in guards}:
            raise RuleError(f"{where}: key {table['key']!r} defined twice")
        guards.append(Guard(table["key"], kind, table["title"], table["basis"], tuple(limits)))
    return tuple(guards)


def evaluate(facts: SessionFacts, guards: Iterable[Guard], *, now_epoch_s: float) -> list[GuardFinding]:
    """One finding per guard, in the file's order."""
    return [_JUDGES[guard.kind](guard, facts, now_epoch_s) for guard in guards]


# -- the judges, one per kind ---------------------------------------------------------------------------


def _finding(guard: Guard, status: str, detail: str, at_s: float | None = None) -> GuardFinding:
    return GuardFinding(guard.key, guard.kind, guard.title, status, guard.basis, detail,
                        None if at_s is None else round(at_s, 3))


def _heard(facts: SessionFacts, roles: Iterable[str]) -> list[str]:
    wanted = {r.strip().casefold() for r in roles}
    return [label for label, role in facts.speakers if role and role.strip().casefold() in wanted]


def _end(facts: SessionFacts, now_epoch_s: float) -> float:
    return facts.end_epoch_s if facts.end_epoch_s is not None else now_epoch_s


def _two_officers(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    heard = len(_heard(facts, guard.limit("officer_roles")))
    count = max(len(set(facts.officers)), heard)
    wanted = guard.limit("min_officers")
    detail = f"在场侦查人员 {count} 名（登记 {len(set(facts.officers))} 名，录音中 {heard} 名办案人员发言）"
    return _finding(guard, "ok" if count >= wanted else "violated", detail if count >= wanted
                    else f"{detail}，少于 {wanted} 名")


def _summons_duration(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    if facts.summons_epoch_s is None:
        return _finding(guard, "not_applicable", "案件未登记传唤、拘传时间")
    if facts.start_epoch_s < facts.summons_epoch_s:
        return _finding(guard, "not_applicable", "本次讯问在登记的传唤、拘传之前")
    limit_h = guard.limit("extended_limit_h") if facts.summons_extended else guard.limit("limit_h")
    deadline = facts.summons_epoch_s + limit_h * 3600
    end = _end(facts, now)
    kind = facts.summons_kind or "传唤"
    at_s = deadline - facts.start_epoch_s
    if end > deadline:
        over_min = (end - deadline) / 60
        return _finding(guard, "violated", f"{kind}已超过 {limit_h:g} 小时时限 {over_min:.0f} 分钟", at_s)
    if facts.end_epoch_s is None and now >= deadline - guard.limit("alert_before_min") * 60:
        left = (deadline - now) / 60
        return _finding(guard, "warning", f"{kind}将在 {left:.0f} 分钟后达到 {limit_h:g} 小时时限", at_s)
    used_h = (end - facts.summons_epoch_s) / 3600
    return _finding(guard, "ok", f"{kind}至本次讯问结束 {used_h:.1f} 小时，时限 {limit_h:g} 小时")


def _first_questioning(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    if facts.detained_epoch_s is None:
        return _finding(guard, "not_applicable", "案件未登记拘留时间")
    first = facts.first_after_detention_epoch_s
    if first is None or facts.start_epoch_s < facts.detained_epoch_s:
        return _finding(guard, "not_applicable", "本次讯问在拘留之前")
    hours = (first - facts.detained_epoch_s) / 3600
    limit_h = guard.limit("limit_h")
    if hours > limit_h:
        return _finding(guard, "violated", f"拘留后 {hours:.1f} 小时才首次讯问，超过 {limit_h:g} 小时",
                        first - facts.start_epoch_s)
    return _finding(guard, "ok", f"拘留后 {hours:.1f} 小时首次讯问")


def _meals_and_rest(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    officers = {r.casefold() for r in ("讯问人", "记录人", "侦查人员", "民警")}
    spoken = sorted(facts.statements, key=lambda s: s.start_s)
    length_s = _end(facts, now) - facts.start_epoch_s
    pause_s = guard.limit("rest_pause_min") * 60
    rests, meals = [0.0], [0.0]
    previous_end = 0.0
    for statement in spoken:
        if statement.start_s - previous_end >= pause_s:
            rests.append(previous_end)  # a pause in speech long enough to be a rest: it rests until it ends
            rests.append(statement.start_s)
        previous_end = max(previous_end, statement.end_s)
        if statement.role is None or statement.role.strip().casefold() in officers:
            if any(word in statement.text for word in guard.limit("rest_words")):
                rests.append(statement.start_s)
            if any(word in statement.text for word in guard.limit("meal_words")):
                meals.append(statement.start_s)
                rests.append(statement.start_s)
    if length_s - previous_end >= pause_s:
        rests.append(previous_end)
    problems = []
    for name, marks, limit_h in (("休息", rests, guard.limit("max_without_rest_h")),
                                 ("饮食", meals, guard.limit("max_without_meal_h"))):
        points = sorted({*marks, length_s})
        longest = max((b - a, a) for a, b in zip(points, points[1:])) if len(points) > 1 else (0.0, 0.0)
        if longest[0] > limit_h * 3600:
            problems.append((f"连续 {longest[0] / 3600:.1f} 小时未安排{name}（规则上限 {limit_h:g} 小时）",
                             longest[1] + limit_h * 3600))
    if problems:
        return _finding(guard, "violated", "；".join(p for p, _ in problems), min(at for _, at in problems))
    return _finding(guard, "ok", f"讯问 {length_s / 3600:.1f} 小时，饮食与休息间隔在规则之内")


def _officer_overlap(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    end = _end(facts, now)
    clashes = []
    for other in facts.other_sessions:
        if other.session_id == facts.session_id or (other.room or "") == (facts.room or ""):
            continue
        overlap = min(end, other.end_epoch_s) - max(facts.start_epoch_s, other.start_epoch_s)
        if overlap >= guard.limit("min_overlap_s"):
            clashes.append((other, max(facts.start_epoch_s, other.start_epoch_s) - facts.start_epoch_s))
    if not clashes:
        return _finding(guard, "ok", "侦查人员同时段无其他讯问室的讯问")
    names = "；".join(f"{o.officer} 同时在 {o.room or '未登记讯问室'}（讯问 {o.session_id}）" for o, _ in clashes)
    return _finding(guard, "violated", names, min(at for _, at in clashes))


def _minor_guardian(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    if facts.birth_date is None:
        return _finding(guard, "not_applicable", "案件未登记被讯问人出生日期")
    on = datetime.fromtimestamp(facts.start_epoch_s).date()
    born = facts.birth_date
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    if age >= guard.limit("adult_age"):
        return _finding(guard, "not_applicable", f"被讯问人讯问时 {age} 周岁")
    heard = _heard(facts, guard.limit("guardian_roles"))
    missing = [what for what, ok in (("登记到场的法定代理人或合适成年人", bool(facts.guardian or heard)),
                                     ("录音中法定代理人或合适成年人的发言", bool(heard))) if not ok]
    if missing:
        return _finding(guard, "violated", f"被讯问人讯问时 {age} 周岁，未见{'、'.join(missing)}")
    return _finding(guard, "ok", f"被讯问人讯问时 {age} 周岁，{facts.guardian or '法定代理人/合适成年人'}到场并发言")


def _interpreter(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    needed = set(guard.limit("conditions")) & set(facts.conditions)
    if not needed and not facts.interpreter:
        return _finding(guard, "not_applicable", "未设定需要翻译的条件")
    heard = _heard(facts, guard.limit("interpreter_roles"))
    missing = [what for what, ok in (("记明的翻译人员姓名", bool(facts.interpreter)),
                                     ("录音中翻译人员的发言", bool(heard))) if not ok]
    if missing:
        return _finding(guard, "violated", f"需要翻译，未见{'、'.join(missing)}")
    return _finding(guard, "ok", f"翻译人员 {facts.interpreter} 在场并发言")


def _recording_continuity(guard: Guard, facts: SessionFacts, now: float) -> GuardFinding:
    gaps = [g for g in facts.gaps if g.to_s - g.from_s > guard.limit("max_gap_s") or g.to_s == g.from_s]
    if not gaps:
        return _finding(guard, "ok", "录音连续，无中断")
    parts = [f"{_clock(g.from_s)}–{_clock(g.to_s)} {g.cause}" for g in gaps]
    return _finding(guard, "violated", f"录音中断 {len(gaps)} 处：{'；'.join(parts)}", gaps[0].from_s)


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


_JUDGES = {
    "two_officers": _two_officers,
    "summons_duration": _summons_duration,
    "first_questioning_after_detention": _first_questioning,
    "meals_and_rest": _meals_and_rest,
    "officer_overlap": _officer_overlap,
    "minor_guardian": _minor_guardian,
    "interpreter": _interpreter,
    "recording_continuity": _recording_continuity,
}
assert set(_JUDGES) == set(GUARD_KINDS)
