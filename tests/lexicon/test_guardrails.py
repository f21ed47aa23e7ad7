"""The guardrails as rules data (lexicon/rules/guardrails/guardrails.toml) and their judges, on facts built by hand:
each kind violated, each kind clean, and the file's errors named."""
import time
from dataclasses import replace
from datetime import date, timedelta

import pytest

from lexicon import RuleError, Statement
from lexicon.guardrails import GUARD_KINDS, OtherSession, RecordingGap, SessionFacts, evaluate, load_guards

NOW = time.time()
HOUR = 3600.0
GUARDS = load_guards()


def facts(**changes) -> SessionFacts:
    """A clean one-hour session: two officers heard, an adult, no summons or detention recorded."""
    base = SessionFacts(
        session_id=1, room="一号讯问室", start_epoch_s=NOW - HOUR, end_epoch_s=NOW,
        statements=tuple(Statement(i, i * 60.0, i * 60.0 + 5, "讯问人" if i % 2 == 0 else "被讯问人", "说明情况")
                         for i in range(60)),
        speakers=(("S1", "讯问人"), ("S2", "记录人"), ("S3", "被讯问人")), officers=("zhang", "li"))
    return replace(base, **changes)


def verdict(key: str, **changes) -> str:
    return next(f for f in evaluate(facts(**changes), GUARDS, now_epoch_s=NOW) if f.key == key).status


def test_the_shipped_file_has_every_kind_each_with_its_legal_basis():
    assert {g.kind for g in GUARDS} == set(GUARD_KINDS)
    assert all("刑事诉讼法" in g.basis for g in GUARDS)


def test_a_clean_session_violates_nothing():
    findings = evaluate(facts(), GUARDS, now_epoch_s=NOW)
    assert [f.status for f in findings if f.status == "violated"] == []
    assert {f.key: f.status for f in findings}["two_officers"] == "ok"


def test_two_officers():
    assert verdict("two_officers", officers=("zhang",), speakers=(("S1", "讯问人"), ("S3", "被讯问人"))) == "violated"
    assert verdict("two_officers", officers=(), speakers=(("S1", "讯问人"), ("S2", "记录人"))) == "ok"


def test_summons_duration_with_its_alert_half_an_hour_before():
    assert verdict("summons_duration") == "not_applicable"
    assert verdict("summons_duration", summons_epoch_s=NOW - 13 * HOUR, start_epoch_s=NOW - HOUR) == "violated"
    assert verdict("summons_duration", summons_epoch_s=NOW - 13 * HOUR, start_epoch_s=NOW - HOUR,
                   summons_extended=True) == "ok"
    live = {"end_epoch_s": None, "start_epoch_s": NOW - HOUR}
    assert verdict("summons_duration", summons_epoch_s=NOW - 11.6 * HOUR, **live) == "warning"
    assert verdict("summons_duration", summons_epoch_s=NOW - 11.4 * HOUR, **live) == "ok"


def test_first_questioning_within_24_hours_of_detention():
    assert verdict("first_questioning", detained_epoch_s=NOW - 30 * HOUR,
                   first_after_detention_epoch_s=NOW - HOUR) == "violated"
    assert verdict("first_questioning", detained_epoch_s=NOW - 5 * HOUR,
                   first_after_detention_epoch_s=NOW - HOUR) == "ok"


def test_meals_and_rest_over_a_long_questioning():
    long = {"start_epoch_s": NOW - 7 * HOUR,
            "statements": tuple(Statement(i, i * 120.0, i * 120.0 + 60, "讯问人", "继续说")
                                for i in range(int(7 * HOUR / 120)))}
    assert verdict("meals_and_rest", **long) == "violated"
    rested = tuple(replace(s, text="现在休息一下，吃饭") if i % 90 == 45 else s
                   for i, s in enumerate(long["statements"]))
    assert verdict("meals_and_rest", start_epoch_s=long["start_epoch_s"], statements=rested) == "ok"


def test_the_same_officer_in_two_rooms_at_once():
    clash = OtherSession(2, "二号讯问室", "zhang", NOW - 0.5 * HOUR, NOW + HOUR)
    assert verdict("officer_overlap", other_sessions=(clash,)) == "violated"
    assert verdict("officer_overlap", other_sessions=(replace(clash, room="一号讯问室"),)) == "ok"
    assert verdict("officer_overlap", other_sessions=(replace(clash, start_epoch_s=NOW + 10),)) == "ok"


def test_a_minor_needs_a_guardian_present_and_heard():
    minor = date.today() - timedelta(days=365 * 15)
    assert verdict("minor_guardian", birth_date=minor) == "violated"
    assert verdict("minor_guardian", birth_date=minor, guardian="王父") == "violated"  # named, never heard
    heard = facts().speakers + (("S4", "法定代理人"),)
    assert verdict("minor_guardian", birth_date=minor, guardian="王父", speakers=heard) == "ok"
    assert verdict("minor_guardian", birth_date=date.today() - timedelta(days=365 * 30)) == "not_applicable"


def test_an_interpreter_named_and_heard_when_the_condition_is_set():
    assert verdict("interpreter") == "not_applicable"
    assert verdict("interpreter", conditions=("interpreter",)) == "violated"
    heard = facts().speakers + (("S4", "翻译人员"),)
    assert verdict("interpreter", conditions=("deaf_mute",), interpreter="李译", speakers=heard) == "ok"


def test_recording_continuity():
    assert verdict("recording_continuity", gaps=(RecordingGap(600.0, 660.0, "设备中断"),)) == "violated"
    assert verdict("recording_continuity", gaps=(RecordingGap(600.0, 600.5, "片段衔接"),)) == "ok"


def test_an_operator_file_replaces_the_shipped_one(tmp_path):
    folder = tmp_path / "guardrails"
    folder.mkdir()
    (folder / "guardrails.toml").write_text(
        '[[guards]]\nkey = "three_officers"\nkind = "two_officers"\ntitle = "三人"\nbasis = "本地规定"\n'
        'min_officers = 3\nofficer_roles = ["讯问人", "记录人"]\n', encoding="utf-8")
    guards = load_guards(extra_dirs=(tmp_path,))
    assert [g.key for g in guards] == ["three_officers"]
    assert evaluate(facts(), guards, now_epoch_s=NOW)[0].status == "violated"


@pytest.mark.parametrize("text, words", [
    ('[[guards]]\nkey = "x"\nkind = "nonsense"\ntitle = "t"\nbasis = "b"\n', "field 'kind'"),
    ('[[guards]]\nkey = "x"\nkind = "two_officers"\ntitle = "t"\nbasis = "b"\nmin_officers = "two"\n'
     'officer_roles = []\n', "min_officers"),
    ('[[guards]]\nkey = "x"\nkind = "recording_continuity"\ntitle = "t"\nbasis = "b"\nmax_gap_s = 1\nextra = 2\n',
     "unknown field"),
    ('[[guards]\n', "not valid TOML"),
])
def test_a_bad_file_is_named(tmp_path, text, words):
    (tmp_path / "guardrails").mkdir()
    (tmp_path / "guardrails" / "guardrails.toml").write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match=words):
        load_guards(extra_dirs=(tmp_path,))
