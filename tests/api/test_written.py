"""The written record against the recording, end to end: `bilu written …` and the API over a real store holding a
transcript of tests/data/transcripts, with the written records of bench/consistency_corpus."""
import io
import json
import sqlite3
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from api.cli import cli
from cases import Store, SearchFilters, scope_of
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, words_of
from transcribe import Utterance

ROOT = Path(__file__).resolve().parent.parent.parent
TRANSCRIPT = ROOT / "tests" / "data" / "transcripts" / "cf_theft_complete.json"
RECORD = ROOT / "bench" / "consistency_corpus" / "records" / "cf_theft_complete.txt"
LABELS = {"讯问人": "S1", "被讯问人": "S2"}


def store_transcript(store: Store, case_no: str = "A-1", *, scale: float = 1.0, audio_path: str = "audio/x.wav",
                     extra: tuple[tuple[float, str, str], ...] = ()) -> int:
    """A finished file session holding the transcript's lines, roles by speaker; times multiplied by `scale`
    (to fit a shorter real recording), and `extra` lines (start_s before scaling, role, text) added."""
    utterances = json.loads(TRANSCRIPT.read_text(encoding="utf-8"))["utterances"]
    utterances += [{"start_s": start_s, "end_s": start_s + 2.0, "role": role, "text": text}
                   for start_s, role, text in extra]
    session_id = store.create_session(case_no=case_no, room="一号讯问室", kind="file", source_name="x.wav",
                                      audio_path=audio_path, audio_sha256="0" * 64, audio_bytes=1,
                                      duration_s=210.0 * scale, sample_rate=16000, channels=1, diarizer="channel",
                                      model="base", options={})
    for u in sorted(utterances, key=lambda u: u["start_s"]):
        store.add_utterance(session_id, Utterance.from_words(
            words_of(u["start_s"] * scale, u["end_s"] * scale, u["text"]), speaker=LABELS[u["role"]]))
    store.set_speaker_roles(session_id, {label: role for role, label in LABELS.items()})
    store.finish_session(session_id)
    return session_id


def bilu(home, *args):
    return CliRunner().invoke(cli, [str(a) for a in args], env={"BILU_HOME": str(home)})


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    with Store.open(home) as store:
        session_id = store_transcript(store)
    return home, session_id


def planted(tmp_path, old: str, new: str) -> Path:
    text = RECORD.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "planted.txt"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return path


def test_a_consistent_record_exits_0_and_a_changed_amount_exits_1(home, tmp_path):
    home, session_id = home
    clean = bilu(home, "written", "import", session_id, RECORD)
    assert clean.exit_code == 0, clean.output
    assert "imported version 1" in clean.output and "consistent" in clean.output
    changed = bilu(home, "written", "import", session_id, planted(tmp_path, "卖了三百块钱", "卖了五百块钱"))
    assert changed.exit_code == 1, changed.output
    found = json.loads(bilu(home, "written", "check", session_id, "--json").output)
    assert [(d["kind"], d["what"]) for d in found] == [("changed", "amount")]
    assert set(found[0]) >= {"kind", "severity", "written", "spoken", "start_s", "end_s"}
    assert "五百" in found[0]["written"] and "三百" in found[0]["spoken"]
    assert 170 < found[0]["start_s"] < found[0]["end_s"] < 185  # where the answer was said
    assert bilu(home, "written", "check", session_id, "--version", 1).exit_code == 0  # every version kept
    versions = bilu(home, "written", "versions", session_id).output
    assert "v1" in versions and "v2" in versions and "changed" in versions


def test_the_header_is_checked_against_the_recording_start_given(home, tmp_path):
    home, session_id = home
    on_time = bilu(home, "written", "import", session_id, RECORD, "--recorded-at", "2024-11-08T09:34")
    assert on_time.exit_code == 1  # the header ends at 10:12, the 210 s recording at 09:37
    found = json.loads(bilu(home, "written", "check", session_id, "--json").output)
    assert [(d["kind"], d["what"]) for d in found] == [("header_time", "end")]


def test_bad_input_exits_2_with_a_reason(home, tmp_path):
    home, session_id = home
    assert bilu(home, "written", "check", session_id).exit_code == 2  # nothing imported yet
    not_a_record = tmp_path / "notes.txt"
    not_a_record.write_text("今天天气很好。", encoding="utf-8")
    refused = bilu(home, "written", "import", session_id, not_a_record)
    assert refused.exit_code == 2 and "问" in refused.output
    assert bilu(home, "written", "import", 999, RECORD).exit_code == 2
    assert bilu(home, "written", "import", session_id, RECORD, "--recorded-at", "yesterday").exit_code == 2
    with Store.open(home) as store:
        assert store.written_records(session_id) == []  # nothing stored for a refused import


def test_each_version_is_audited_and_a_changed_record_fails_verify(home, tmp_path):
    home, session_id = home
    bilu(home, "written", "import", session_id, RECORD)
    with Store.open(home) as store:
        entries = [e for e in store.audit_rows(session_id=session_id, with_data_entries=True)
                   if e["action"] == "written.imported"]
        assert len(entries) == 1 and entries[0]["user"].startswith("cli:")
        assert not [p for p in store.verify().problems if p.subject.startswith("written:")]
    with sqlite3.connect(home / "bilu.db") as conn:  # altered behind Bilu's back
        conn.execute("UPDATE written_records SET record_json = '{}'")
    with Store.open(home) as store:
        assert [p.kind for p in store.verify().problems if p.subject.startswith("written:")] == ["changed"]


def test_supervisors_filter_sessions_by_discrepancy_kind(home, tmp_path):
    home, session_id = home
    with Store.open(home) as store:
        other = store_transcript(store, "B-2")
    bilu(home, "written", "import", session_id, planted(tmp_path, "答：没有。", "答：有。"))
    bilu(home, "written", "import", other, RECORD)
    with Store.open(home) as store:
        store.add_user("admin", role="admin", unit="默认单位", password=PASSWORD)
        scope = scope_of(store.account("admin"))
        changed = store.find_sessions(scope, SearchFilters(discrepancy="changed"))
        assert [s["session_id"] for s in changed] == [session_id] and changed[0]["discrepancy_kinds"] == ["changed"]
        assert store.find_sessions(scope, SearchFilters(discrepancy="header_time")) == []
        assert [s["session_id"] for s in store.find_sessions(scope, SearchFilters(discrepancy="any"))] == [session_id]


def test_upload_check_and_docx_report_through_the_api(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        session_id = store_transcript(store)
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
    with client_for(settings) as client:
        headers = bearer(client, "officer")
        record = planted(tmp_path, "11月5日晚上", "11月6日晚上").read_bytes()
        uploaded = client.post(f"/sessions/{session_id}/written-record", headers=headers,
                               files={"file": ("笔录.txt", record, "text/plain")},
                               data={"recorded_at": "2024-11-08T09:34:00"})
        assert uploaded.status_code == 201, uploaded.text
        report = client.get(f"/sessions/{session_id}/written-record/check", headers=headers).json()
        assert report["version"] == 1 and not report["consistent"]
        kinds = {(d["kind"], d["what"]) for d in report["discrepancies"]}
        assert ("changed", "date") in kinds and ("header_time", "end") in kinds
        matched = [b for b in report["blocks"] if b["utterance_ids"]]
        assert len(matched) >= 0.9 * len(report["blocks"])
        starts = [b["start_s"] for b in matched if not b["moved"]]
        assert starts == sorted(starts)
        bad = client.post(f"/sessions/{session_id}/written-record", headers=headers,
                          files={"file": ("笔录.pdf", b"%PDF-1.4", "application/pdf")})
        assert bad.status_code == 422 and "docx" in bad.text
        report_file = client.get(f"/sessions/{session_id}/written-record/report.docx", headers=headers)
        assert report_file.status_code == 200
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(report_file.content)).paragraphs)
        cells = [c.text for t in docx.Document(io.BytesIO(report_file.content)).tables for r in t.rows
                 for c in r.cells]
        assert "一致性比对报告" in text and any("11月6日" in c for c in cells)
        versions = client.get(f"/sessions/{session_id}/written-record/versions", headers=headers).json()
        assert [v["version"] for v in versions] == [1]
