"""Audit inside the store: every public `Store` method that changes data appends its audit entry in the
transaction of the change, naming the actor it was given, and the change and its entries are kept or lost
together.

Every public method is called here on its own fresh copy of one seeded store, on each backend (real SQLite
files; a real PostgreSQL database copied from the seeded one). What a call
changed is read from the database itself (every table's rows before and after), so a method is classed as
writing by what it does, not by its name: a new method missing from CALLS fails `test_every_method_is_called`,
and a writing method without an entry fails `test_a_method_that_changes_data_audits_it`. Failures are real
database failures: a trigger that refuses the call's last audit entry, a foreign key, a trigger on a
data table.
"""
import inspect
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from cases import Store, ThrottlePolicy
from cases.migrations import immediate_transaction
from cases.store import CONCERNS, public_methods
from diarize.types import SpeakerTurn
from lexicon import Finding
from tests.api.helpers import words_of
from tests.backends import Backend, integrity_errors, refuse, store_tables
from transcribe import Utterance

PASSWORD = "correct-horse-9"
SHA = "ab" * 32
LINES = [(0.5, 4.0, "S1", "现在依法对你进行讯问"), (4.5, 7.0, "S2", "看清楚了"),
         (8.0, 12.0, "S1", "你是否申请回避")]
ACTOR = "cli:tester"
THROTTLE = ThrottlePolicy(free_failures=5, account_free_failures=20, first_delay_s=30, max_delay_s=900,
                          window_s=3600)


def _session(store: Store, case_no: str, *, kind: str = "file", room: str = "一号讯问室") -> int:
    return store.create_session(case_no=case_no, room=room, kind=kind, source_name=None,
                                audio_path=f"audio/{kind}-{room}", audio_sha256=SHA if kind == "file" else "",
                                audio_bytes=1, duration_s=60.0, sample_rate=16000, channels=1, diarizer="voice",
                                model="base", options={})


def _finding(status: str = "missing") -> Finding:
    return Finding(rule_key="rights_notice", title="权利义务告知", status=status, utterance_ids=(),
                   start_s=None, evidence="", score=0.0, basis="test")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory) -> tuple[Path, dict, Backend]:
    """A store holding something for every method to act on; returns (home, ids and secrets, its backend)."""
    home = tmp_path_factory.mktemp("seeded")
    backend = Backend("sqlite")
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        backend = Backend("postgresql", server.url(server.new_database()), server)
    with backend.open(home) as store:
        store.add_unit("一号中心", level="centre", parent="默认单位")
        for name, role in (("admin", "admin"), ("officer", "officer"), ("prosecutor", "prosecutor"),
                           ("other", "officer"), ("legacy", "officer")):
            store.add_user(name, role=role, unit="默认单位", password=PASSWORD)
        weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
        with immediate_transaction(store._db):  # a hash made before today's parameters: rehashed at login
            store._db.execute("UPDATE users SET password_hash = ? WHERE name = 'legacy'", [weaker])
        store.ensure_case("A-1", title="盗窃案")
        store.ensure_case("B-2")
        store.assign_case("A-1", "prosecutor")
        done = _session(store, "A-1")
        ids = [store.add_utterance(done, Utterance.from_words(words_of(s, e, t), speaker=spk))
               for s, e, spk, t in LINES]
        suspect = store.add_utterance(done, Utterance.from_words(  # text over audio that is not speech
            words_of(13.0, 14.0, "谢谢观看"), speaker="S2", suspect="caption", speech_probability=0.01,
            energy_db=0.5, not_speech=True))
        store.set_speaker_roles(done, {"S1": "讯问人", "S2": "被讯问人"})
        store.add_speaker_turns(done, [SpeakerTurn(0.5, 4.0, "S1")])
        store.set_rule_set(done, "criminal")
        store.set_findings(done, [_finding()])
        store.set_session_officers(done, ["officer"])
        store.finish_session(done)
        failed = _session(store, "A-1", room="二号讯问室")
        store.add_utterance(failed, Utterance.from_words(words_of(0.5, 2.0, "你好"), speaker="S1"))
        store.fail_session(failed, "decoder stopped")
        running = _session(store, "A-1", room="三号讯问室")
        live = _session(store, "A-1", kind="live", room="四号讯问室")
        store.add_audio_segment(live, seq=0, path="audio/live/0.wav", start_s=0.0, duration_s=10.0,
                                frames=160000, sample_rate=16000, channels=1, sha256=SHA)
        person = store.add_person("A-1", name="张三", role="犯罪嫌疑人")
        officer = store.account("officer")
        api_token = store.issue_token(officer, kind="api", lifetime_s=3600, label="test")
        login = store.issue_token(officer, kind="session", lifetime_s=3600, via="json")
        store.add_room("一号讯问室", unit="默认单位")
        room_token = store.issue_room_token("一号讯问室")
        store.add_room("二号讯问室", unit="默认单位")
        streamed = _session(store, "A-1", kind="live", room="一号讯问室")
        store.add_agent_stream(streamed, room="一号讯问室", stream_key="0123456789abcdef", clock_offset_s=0.5)
        store.record_login_failure("officer", "10.0.0.1", THROTTLE, actor="anonymous:10.0.0.1")
        # A finished session in read-back (issue 20), signed by the two officers so far.
        reviewed = _session(store, "A-1", room="五号讯问室")
        store.finish_session(reviewed)
        store.start_record_review(reviewed)
        for role in ("讯问人", "记录人"):
            store.add_signature(reviewed, signer_role=role, signer_name="某", strokes=[[{"x": 1, "y": 1}]], width=40,
                                height=20)
        store.add_written_record(done, filename="笔录.docx", content=b"PK-stand-in", record={"blocks": []},
                                 recording_started_at=None, discrepancy_kinds=[], discrepancy_count=0)
    return home, {"reviewed": reviewed, "done": done, "failed": failed, "running": running, "live": live, "lines": ids,
                  "suspect": suspect, "person": person["id"], "api_token": api_token, "login": login,
                  "streamed": streamed,
                  "room_token": room_token}, backend


@pytest.fixture
def copy_of(seeded, tmp_path):
    """A fresh copy of the seeded store, opened; and the seed's ids."""
    home, ids, backend = seeded
    copied = backend.copy(home, tmp_path / "home")
    try:
        with copied.open(tmp_path / "home") as store:
            yield store, ids
    finally:
        copied.drop()


def _admin(store: Store):
    return store.account("admin")


def _officer(store: Store):
    return store.account("officer")


CALLS = {
    # Cases
    "ensure_case": lambda st, ids: st.ensure_case("C-3", title="新案", actor=ACTOR),
    "discard_case_if_unused": lambda st, ids: st.discard_case_if_unused("B-2", actor=ACTOR),
    "get_case": lambda st, ids: st.get_case("A-1"),
    "list_cases": lambda st, ids: st.list_cases(),
    "units_for_new_cases": lambda st, ids: st.units_for_new_cases(_officer(st)),
    "open_case": lambda st, ids: st.open_case("E-5", title="抢劫案", unit="一号中心", actor=ACTOR),
    "set_case_title": lambda st, ids: st.set_case_title("B-2", "诈骗案", actor=ACTOR),
    # Sessions
    "create_session": lambda st, ids: st.create_session(
        case_no="C-9", room="五号讯问室", kind="file", source_name="x.wav", audio_path="audio/new.wav",
        audio_sha256=SHA, audio_bytes=1, duration_s=1.0, sample_rate=16000, channels=1, diarizer=None,
        model="base", options={}, actor=ACTOR, started_as="session.uploaded", started_detail={"bytes": 1}),
    "finish_session": lambda st, ids: st.finish_session(ids["running"], actor=ACTOR),
    "fail_session": lambda st, ids: st.fail_session(ids["running"], "stopped", actor=ACTOR),
    "delete_session": lambda st, ids: st.delete_session(ids["failed"], actor=ACTOR),
    "withdraw_session": lambda st, ids: st.withdraw_session(ids["done"], reason="上传错了文件", actor=ACTOR),
    "get_session": lambda st, ids: st.get_session(ids["done"]),
    "list_sessions": lambda st, ids: st.list_sessions("A-1"),
    "unfinished_sessions": lambda st, ids: st.unfinished_sessions("file"),
    "set_speaker_roles": lambda st, ids: st.set_speaker_roles(ids["running"], {"S9": "记录人"}, actor=ACTOR),
    "add_utterance": lambda st, ids: st.add_utterance(
        ids["running"], Utterance.from_words(words_of(1.0, 2.0, "你好"), speaker="S3"), actor=ACTOR),
    "set_rule_set": lambda st, ids: st.set_rule_set(ids["running"], "administrative", ["minor"], actor=ACTOR),
    "set_findings": lambda st, ids: st.set_findings(ids["done"], [_finding("satisfied")], actor=ACTOR),
    "findings": lambda st, ids: st.findings(ids["done"]),
    "add_speaker_turns": lambda st, ids: st.add_speaker_turns(ids["running"], [SpeakerTurn(1.0, 2.0, "S1")],
                                                              actor=ACTOR),
    "speaker_turns": lambda st, ids: st.speaker_turns(ids["done"]),
    "utterances": lambda st, ids: st.utterances(ids["done"]),
    # Segments
    "add_audio_segment": lambda st, ids: st.add_audio_segment(
        ids["live"], seq=1, path="audio/live/1.wav", start_s=10.0, duration_s=10.0, frames=160000,
        sample_rate=16000, channels=1, sha256=SHA, actor=ACTOR),
    "audio_segments": lambda st, ids: st.audio_segments(ids["live"]),
    "set_transcribed_until": lambda st, ids: st.set_transcribed_until(ids["live"], 5.0, actor=ACTOR),
    "transcribed_until": lambda st, ids: st.transcribed_until(ids["live"]),
    "transcription_progress": lambda st, ids: st.transcription_progress(ids["live"]),
    # Corrections
    "utterance": lambda st, ids: st.utterance(ids["done"], ids["lines"][0]),
    "edit_utterance": lambda st, ids: st.edit_utterance(ids["done"], ids["lines"][1],
                                                        {"text": "看清楚了的", "speaker": "S7"}, version=1,
                                                        by=_officer(st)),
    "relabel_speaker": lambda st, ids: st.relabel_speaker(ids["done"], "S2", version=1, by=_officer(st),
                                                          role="证人", new_label="S8"),
    "split_utterance": lambda st, ids: st.split_utterance(ids["done"], ids["lines"][0], at_s=2.0, version=1,
                                                          by=_officer(st)),
    "merge_utterances": lambda st, ids: st.merge_utterances(ids["done"], ids["lines"][0], with_id=ids["lines"][1],
                                                            version=1, with_version=1, by=_officer(st)),
    "decide_suspect": lambda st, ids: st.decide_suspect(ids["done"], ids["suspect"], "restored", version=1,
                                                        by=_officer(st)),
    "speakers": lambda st, ids: st.speakers(ids["done"]),
    "revisions": lambda st, ids: st.revisions(ids["done"]),
    # People
    "add_person": lambda st, ids: st.add_person("A-1", name="李四", role="证人", actor=ACTOR),
    "people": lambda st, ids: st.people("A-1"),
    # Accounts
    "add_unit": lambda st, ids: st.add_unit("一号派出所", level="unit", parent="一号中心", actor=ACTOR),
    "unit": lambda st, ids: st.unit("默认单位"),
    "list_units": lambda st, ids: st.list_units(),
    "add_user": lambda st, ids: st.add_user("newbie", role="recorder", unit="默认单位", password=PASSWORD,
                                            actor=ACTOR),
    "account": lambda st, ids: st.account("officer"),
    "account_by_id": lambda st, ids: st.account_by_id(_officer(st).id),
    "list_users": lambda st, ids: st.list_users(),
    "authenticate": lambda st, ids: st.authenticate("legacy", PASSWORD),
    "set_password": lambda st, ids: st.set_password("officer", "another-horse-9", actor=ACTOR),
    "update_user": lambda st, ids: st.update_user("other", role="supervisor", unit="一号中心",
                                                  password="new-pass-99", actor=ACTOR),
    "has_admin": lambda st, ids: st.has_admin(),
    "set_case_unit": lambda st, ids: st.set_case_unit("A-1", "一号中心", actor=ACTOR),
    "assign_case": lambda st, ids: st.assign_case("B-2", "prosecutor", actor=ACTOR),
    "unassign_case": lambda st, ids: st.unassign_case("A-1", "prosecutor", actor=ACTOR),
    "case_prosecutors": lambda st, ids: st.case_prosecutors("A-1"),
    "set_session_officers": lambda st, ids: st.set_session_officers(ids["done"], ["officer", "other"], actor=ACTOR),
    "session_officers": lambda st, ids: st.session_officers(ids["done"]),
    # Tokens (the account acts)
    "issue_token": lambda st, ids: st.issue_token(_officer(st), kind="api", lifetime_s=86400, label="x"),
    "account_for_token": lambda st, ids: st.account_for_token(ids["api_token"]["token"], kind="api"),
    "revoke_token": lambda st, ids: st.revoke_token(_officer(st), ids["api_token"]["id"]),
    "list_tokens": lambda st, ids: st.list_tokens(_officer(st)),
    # Access
    "cases_in_scope": lambda st, ids: st.cases_in_scope(_scope(st)),
    "case_in_scope": lambda st, ids: st.case_in_scope("A-1", _scope(st)),
    "sessions_in_scope": lambda st, ids: st.sessions_in_scope(_scope(st)),
    "require_session_in_scope": lambda st, ids: st.require_session_in_scope(ids["done"], _scope(st)),
    # Search
    "search": lambda st, ids: st.search("讯问"),
    "search_visible": lambda st, ids: st.search_visible("讯问", _scope(st)),
    "find_sessions": lambda st, ids: st.find_sessions(_scope(st)),
    # Audit: entries for what changes nothing
    "record_audit": lambda st, ids: st.record_audit(ACTOR, "session.read", session_id=ids["done"]),
    "audit_rows": lambda st, ids: st.audit_rows(with_data_entries=True),
    "audit_extract": lambda st, ids: st.audit_extract(ids["done"], until_id=10_000),
    # Exports and verification
    "export_snapshot": lambda st, ids: st.export_snapshot(ids["done"], fmt="json", actor=ACTOR),
    "verify": lambda st, ids: st.verify(),
    "check_export_code": lambda st, ids: st.check_export_code("0123456789ab"),
    # Rooms and their agents
    "add_room": lambda st, ids: st.add_room("三号讯问室", unit="默认单位", actor=ACTOR),
    "room": lambda st, ids: st.room("一号讯问室"),
    "list_rooms": lambda st, ids: st.list_rooms(),
    "issue_room_token": lambda st, ids: st.issue_room_token("二号讯问室", actor=ACTOR),
    "revoke_room_token": lambda st, ids: st.revoke_room_token("一号讯问室", actor=ACTOR),
    "room_for_token": lambda st, ids: st.room_for_token(ids["room_token"]),
    "agent_stream": lambda st, ids: st.agent_stream("0123456789abcdef"),
    "add_agent_stream": lambda st, ids: st.add_agent_stream(ids["live"], room="一号讯问室",
                                                            stream_key="fedcba9876543210", clock_offset_s=0.0,
                                                            actor=ACTOR),
    "set_agent_clock_offset": lambda st, ids: st.set_agent_clock_offset(ids["streamed"], 1.25, actor=ACTOR),
    "end_agent_stream": lambda st, ids: st.end_agent_stream(ids["streamed"], actor=ACTOR),
    "abandon_agent_stream": lambda st, ids: st.abandon_agent_stream(ids["streamed"], from_epoch_s=1.8e9,
                                                                    to_epoch_s=1.8e9 + 600, actor=ACTOR),
    "session_agent": lambda st, ids: st.session_agent(ids["streamed"]),
    "open_agent_sessions": lambda st, ids: st.open_agent_sessions(),
    "add_outage": lambda st, ids: st.add_outage(ids["streamed"], from_epoch_s=1.8e9, to_epoch_s=1.8e9 + 5,
                                                actor=ACTOR),
    "outages": lambda st, ids: st.outages(ids["streamed"]),
    # The case's procedure and the guardrails (issue 20)
    "set_case_procedure": lambda st, ids: st.set_case_procedure("A-1", {"summons_kind": "传唤",
                                                                       "summons_at": "2026-12-03T09:30"},
                                                                actor=ACTOR),
    "case_procedure": lambda st, ids: st.case_procedure("A-1"),
    "guardrail_context": lambda st, ids: st.guardrail_context(ids["done"]),
    "set_guardrail_findings": lambda st, ids: st.set_guardrail_findings(ids["done"], [
        {"key": "two_officers", "kind": "two_officers", "title": "二人", "status": "violated", "basis": "CPL 118",
         "detail": "一名", "at_s": None}], actor=ACTOR),
    "guardrail_findings": lambda st, ids: st.guardrail_findings(ids["done"]),
    # Reading back and signing the record (issue 20)
    "start_record_review": lambda st, ids: st.start_record_review(ids["done"], actor=ACTOR),
    "add_signature": lambda st, ids: st.add_signature(ids["reviewed"], signer_role="被讯问人", signer_name="王某",
                                                      strokes=[[{"x": 1, "y": 1}, {"x": 20, "y": 8}]], width=40,
                                                      height=20, actor=ACTOR),
    "close_record_review": lambda st, ids: st.close_record_review(ids["reviewed"], outcome="refused",
                                                                  reason="认为记录不全", witnesses=["值班民警赵某"],
                                                                  actor=ACTOR),
    "record_review": lambda st, ids: st.record_review(ids["done"]),
    # Failed logins
    "login_wait": lambda st, ids: st.login_wait("officer", "10.0.0.1"),
    "record_login_failure": lambda st, ids: st.record_login_failure("officer", "10.0.0.2", THROTTLE, actor=ACTOR),
    "clear_login_failures": lambda st, ids: st.clear_login_failures("officer", "10.0.0.1", actor=ACTOR),
    "login_locks": lambda st, ids: st.login_locks(),
    "unlock_user": lambda st, ids: st.unlock_user("officer", actor=ACTOR),
    # Written records
    "add_written_record": lambda st, ids: st.add_written_record(
        ids["done"], filename="笔录.txt", content="问：你是否申请回避？\n答：不申请。\n".encode(),
        record={"blocks": []}, recording_started_at=None, discrepancy_kinds=["changed"], discrepancy_count=1,
        actor=ACTOR),
    "written_records": lambda st, ids: st.written_records(ids["done"]),
    "written_record": lambda st, ids: st.written_record(ids["done"]),
}

WRITES = {
    "ensure_case", "discard_case_if_unused", "create_session", "finish_session", "fail_session", "delete_session",
    "withdraw_session",
    "set_speaker_roles", "add_utterance", "set_rule_set", "set_findings", "add_speaker_turns", "add_audio_segment",
    "set_transcribed_until", "edit_utterance", "relabel_speaker", "split_utterance", "merge_utterances",
    "decide_suspect", "add_person", "add_unit", "add_user", "authenticate", "set_password", "update_user",
    "set_case_unit", "assign_case", "unassign_case", "set_session_officers", "issue_token", "revoke_token",
    "add_room", "issue_room_token", "revoke_room_token", "add_agent_stream", "set_agent_clock_offset",
    "end_agent_stream", "abandon_agent_stream", "add_outage",
    "record_login_failure", "clear_login_failures", "unlock_user", "open_case", "set_case_title",
    "set_case_procedure", "set_guardrail_findings", "start_record_review", "add_signature", "close_record_review",
    "add_written_record",
}
"""The calls above that change data (checked: `test_the_writing_methods_are_those_that_change_data`)."""
ACCOUNT_ACTS = {"edit_utterance", "relabel_speaker", "split_utterance", "merge_utterances", "decide_suspect",
                "issue_token", "revoke_token", "authenticate"}
"""Writes whose actor is the account given (`by`, or the account the token or login is for), not ACTOR."""


def _scope(store: Store):
    from cases import scope_of

    return scope_of(_admin(store))


def _rows(store: Store, *, with_audit: bool) -> dict[str, list]:
    return {table: sorted(map(repr, store._db.execute(f'SELECT * FROM "{table}"').fetchall()))
            for table in store_tables(store) if with_audit or table not in ("audit", "audit_head")}


def _audit_count(store: Store) -> int:
    return store._db.execute("SELECT COUNT(*) FROM audit").fetchone()[0]


def _new_entries(store: Store, after_id: int) -> list[dict]:
    return [dict(r) for r in store._db.query("SELECT * FROM audit WHERE id > ? ORDER BY id", [after_id])]


def _last_id(store: Store) -> int:
    return store._db.execute("SELECT COALESCE(MAX(id), 0) FROM audit").fetchone()[0]


def test_every_method_is_called():
    """A public method added to any concern must be added to CALLS (and so to the audit checks below)."""
    public = {name for concern in CONCERNS.values() for name in public_methods(concern)}
    assert public == set(CALLS), (f"not called here: {sorted(public - set(CALLS))}; "
                                  f"not a Store method: {sorted(set(CALLS) - public)}")


def test_every_writing_method_takes_who_acts():
    for name in WRITES:
        parameters = inspect.signature(getattr(Store, name)).parameters
        assert {"actor", "by", "account"} & set(parameters) or name == "authenticate", name


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_method_that_changes_data_audits_it(copy_of, name):
    store, ids = copy_of
    before, last = _rows(store, with_audit=False), _last_id(store)
    CALLS[name](store, ids)
    changed = _rows(store, with_audit=False) != before
    entries = _new_entries(store, last)
    assert changed == (name in WRITES), f"{name} {'changed' if changed else 'did not change'} data"
    if changed:
        assert entries, f"{name} changed data without an audit entry"
        expected = {_officer(store).name, "legacy"} if name in ACCOUNT_ACTS else {ACTOR}
        assert {e["user_name"] for e in entries} <= expected, (name, [e["user_name"] for e in entries])
    assert not store._db.conn.in_transaction


@pytest.mark.parametrize("name", sorted(WRITES))
def test_a_change_whose_last_audit_entry_fails_leaves_nothing(copy_of, seeded, tmp_path, name):
    """The call's last entry refused by a trigger: the change and every entry before it are rolled back."""
    store, ids = copy_of
    home, _, backend = seeded
    probe_backend = backend.copy(home, tmp_path / "probe")
    with probe_backend.open(tmp_path / "probe") as probe:  # how many entries the call appends when it succeeds
        count = _audit_count(probe)
        CALLS[name](probe, ids)
        appended = _audit_count(probe) - count
    probe_backend.drop()
    assert appended >= 1
    store._db.execute("CREATE TEMP TABLE audit_inserts (n INTEGER NOT NULL)")
    store._db.execute("INSERT INTO audit_inserts VALUES (0)")
    refuse(store, "refuse_last_entry", before="INSERT", table="audit", message="audit entry refused",
           first="UPDATE audit_inserts SET n = n + 1", when=f"(SELECT n FROM audit_inserts) >= {appended}")
    before = _rows(store, with_audit=True)
    try:
        CALLS[name](store, ids)
    except integrity_errors() as error:
        assert "audit entry refused" in str(error)
    else:  # only a method that turns a refused write into "not done" may return
        assert name == "discard_case_if_unused"
    assert _rows(store, with_audit=True) == before
    assert not store._db.conn.in_transaction


def test_a_case_still_referred_to_is_not_discarded_and_not_audited(copy_of):
    """A real foreign key failure midway (a person belongs to the case): no change, no entry."""
    store, ids = copy_of
    store.ensure_case("D-4", actor=ACTOR)
    store.add_person("D-4", name="王五", role="证人", actor=ACTOR)
    last = _last_id(store)
    assert store.discard_case_if_unused("D-4", actor=ACTOR) is False  # the person's foreign key refuses it
    assert store.get_case("D-4")["case_no"] == "D-4"
    assert _new_entries(store, last) == []
    assert store.discard_case_if_unused("B-2", actor=ACTOR) is True
    assert [e["action"] for e in _new_entries(store, last)] == ["case.discarded"]


def test_a_new_speaker_entry_is_rolled_back_when_the_utterance_fails_after_it(copy_of):
    """add_utterance appends "speaker.added" for a new label, then its words fail (a trigger): both are gone."""
    store, ids = copy_of
    refuse(store, "refuse_words", before="INSERT", table="words", message="words refused")
    before, last = _rows(store, with_audit=True), _last_id(store)
    with pytest.raises(integrity_errors(), match="words refused"):
        store.add_utterance(ids["running"], Utterance.from_words(words_of(1.0, 2.0, "你好"), speaker="S5"),
                            actor=ACTOR)
    assert _rows(store, with_audit=True) == before and _new_entries(store, last) == []
    assert "S5" not in {s["label"] for s in store.speakers(ids["running"])}


def test_a_correction_that_fails_midway_leaves_no_revision_and_no_entry(copy_of):
    """edit_utterance to a new speaker: "speaker.added" and the revision are written, then the line's update
    fails (a trigger): nothing of it stays."""
    store, ids = copy_of
    refuse(store, "refuse_version", before="UPDATE OF version", table="utterances", message="update refused")
    before, last = _rows(store, with_audit=True), _last_id(store)
    with pytest.raises(integrity_errors(), match="update refused"):
        store.edit_utterance(ids["done"], ids["lines"][1], {"speaker": "S6"}, version=1, by=_officer(store))
    assert _rows(store, with_audit=True) == before and _new_entries(store, last) == []
    assert store.revisions(ids["done"]) == []


def test_the_entries_keep_the_actions_and_details_the_api_wrote(copy_of):
    store, ids = copy_of
    admin, officer = _admin(store), _officer(store)
    last = _last_id(store)
    store.update_user("other", role="supervisor", password="new-pass-99", actor=admin)
    store.set_case_unit("A-1", "一号中心", actor=admin)
    store.edit_utterance(ids["done"], ids["lines"][1], {"text": "看清楚了的"}, version=1, by=officer)
    store.revoke_token(officer, ids["login"]["id"])
    store.revoke_token(officer, ids["api_token"]["id"])
    actions = [(e["action"], e["user"], e["detail"]) for e in store.audit_rows() if e["id"] > last]
    other_id = store.account("other").id
    assert actions == [
        ("user.changed", "admin", {"user_id": other_id, "fields": ["password", "role"]}),
        ("case.moved", "admin", {"unit": "一号中心"}),
        ("utterance.edited", "officer", {"utterance_id": ids["lines"][1], "fields": ["text"]}),
        ("auth.logout", "officer", {}),
        ("auth.token_revoked", "officer", {"token_id": ids["api_token"]["id"]}),
    ]
    assert store.authenticate("other", "new-pass-99") is not None
    problems = [(p.kind, p.subject) for p in store.verify().problems]
    assert all(kind == "audio_missing" for kind, _ in problems), problems  # the seed keeps no audio files
