"""Withdrawing a wrong upload (issue 16, item 7): the session is marked, never deleted; its transcript, its audio
and its 第 N 次 stay; the withdrawal is audited and covered by the hash chain; it is not corrected afterwards.
Real SQLite, the real room recording.
"""
import sqlite3

import pytest

from cases import InvalidCorrection, SessionNotWithdrawable, Store, StoreError
from error_kinds import Conflict
from cases.integrity import verify
from tests.cases.test_integrity import file_session, live_session, sha256_file


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "home") as opened:
        opened.add_user("sup", role="supervisor", unit="默认单位", password="correct-horse-9")
        yield opened


def test_a_withdrawn_upload_keeps_its_record_audio_and_number(store, data_dir):
    first = file_session(store, data_dir)
    wrong = file_session(store, data_dir)
    third = file_session(store, data_dir)
    lines = store.utterances(wrong)
    audio = store.home / store.get_session(wrong)["audio_path"]
    withdrawn = store.withdraw_session(wrong, reason="上传错了文件（另一案件的录音）", actor=store.account("sup"))
    assert withdrawn["withdrawn"]["by"] == "sup" and withdrawn["withdrawn"]["reason"] == "上传错了文件（另一案件的录音）"
    assert withdrawn["withdrawn"]["at"]
    assert withdrawn["status"] == "done" and store.utterances(wrong) == lines
    assert audio.exists() and sha256_file(audio) == withdrawn["audio_sha256"]
    # Numbers never move: the withdrawn one keeps 第 2 次, the one after it stays 第 3 次.
    numbers = {s["id"]: s["number_in_case"] for s in store.list_sessions("A-1")}
    assert numbers == {first: 1, wrong: 2, third: 3}
    assert [s["withdrawn"] is not None for s in sorted(store.list_sessions("A-1"), key=lambda s: s["id"])] == \
        [False, True, False]
    entries = [e for e in store.audit_rows(session_id=wrong, with_data_entries=True)
               if e["action"] == "session.withdrawn"]
    assert len(entries) == 1 and entries[0]["user"] == "sup" and entries[0]["subject"] == f"session:{wrong}"
    assert verify(store).intact


def test_a_withdrawn_session_is_not_corrected_and_not_withdrawn_twice(store, data_dir):
    session_id = file_session(store, data_dir)
    store.withdraw_session(session_id, reason="误传", actor="cli:root")
    line = store.utterances(session_id)[0]
    with pytest.raises(InvalidCorrection, match="withdrawn"):
        store.edit_utterance(session_id, line["id"], {"text": "改"}, version=line["version"],
                             by=store.account("sup"))
    with pytest.raises(SessionNotWithdrawable, match="withdrawn already"):
        store.withdraw_session(session_id, reason="再撤一次", actor="cli:root")


def test_only_a_finished_upload_with_a_reason_is_withdrawn(store, data_dir):
    live = live_session(store, data_dir)
    with pytest.raises(SessionNotWithdrawable, match="live recording"):
        store.withdraw_session(live, reason="误传", actor="cli:root")
    running = store.create_session(case_no="A-1", room="一号讯问室", kind="file", source_name="x.wav",
                                   audio_path="audio/x.wav", audio_sha256="0" * 64, audio_bytes=1, duration_s=1.0,
                                   sample_rate=16000, channels=1, diarizer=None, model="base", options={})
    with pytest.raises(SessionNotWithdrawable, match="still being transcribed"):
        store.withdraw_session(running, reason="误传", actor="cli:root")
    done = file_session(store, data_dir)
    for reason in ("", "   ", "理" * 501):
        with pytest.raises(StoreError, match="reason"):
            store.withdraw_session(done, reason=reason, actor="cli:root")
    assert store.get_session(done)["withdrawn"] is None


def test_undoing_a_withdrawal_behind_bilus_back_is_found(store, data_dir):
    session_id = file_session(store, data_dir)
    store.withdraw_session(session_id, reason="误传", actor="cli:root")
    with sqlite3.connect(store.home / "bilu.db") as raw:
        raw.execute("UPDATE sessions SET withdrawn_at = NULL, withdrawn_by = NULL, withdrawn_reason = NULL")
    report = verify(store)
    assert not report.intact and {p.subject for p in report.problems} == {f"session:{session_id}"}


def test_a_withdrawn_upload_is_not_read_back_nor_signed(store, data_dir):
    """Kept for reference (备查), its text must never become a signed 笔录; the upload beside it still can."""
    withdrawn = file_session(store, data_dir)
    kept = file_session(store, data_dir)
    store.withdraw_session(withdrawn, reason="误传", actor="cli:root")
    with pytest.raises(Conflict, match="withdrawn") as refused:
        store.start_record_review(withdrawn, actor=store.account("sup"))
    assert refused.value.zh == "该录音已撤回，仅供备查，不能核对签名"
    assert store.record_review(withdrawn)["state"] is None
    assert store.start_record_review(kept, actor=store.account("sup"))["state"] == "review"
