"""全程留痕: the audit hash chain and `verify`, against real SQLite and real PostgreSQL (each test on both
backends, tests/backends.py) and real recorded Mandarin files.

Every tampering is done the way someone bypassing Bilu would: the database opened with sqlite3 or psycopg
directly (the audit table's triggers dropped or disabled where they stand in the way), or the audio file changed
on disk. Each
must be reported with the right kind and subject, and nothing else.
"""
import hashlib
import shutil
import sqlite3
import wave
from pathlib import Path

import pytest

from cases import SessionNotFound, Store, StoreError
from cases.audit_chain import GENESIS_HASH, entry_hash
from cases.integrity import check_export_code, signed_export, verify
from cases.migrations import MIGRATIONS, immediate_transaction
from cases.row_digests import canonical_json, sha256_text
from cases.segments import segments_digest
from tests.api.helpers import words_of
from tests.backends import SQLITE, Backend
from transcribe import Utterance

LINES = [(0.5, 4.0, "S1", "现在依法对你进行讯问你看清楚了吗"), (4.5, 7.0, "S2", "看清楚了"),
         (8.0, 12.0, "S1", "你是否申请回避"), (12.5, 14.0, "S2", "不申请")]
SEGMENT_FILES = ("aishell1_BAC009S0724W0121.wav", "aishell1_BAC009S0764W0121.wav")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_session(store: Store, data_dir: Path, case_no: str = "A-1") -> int:
    """A finished file session over the real two-speaker room recording, kept under the home like the pipeline
    keeps it (content-addressed)."""
    source = data_dir / "dev_room_2spk.wav"
    sha = sha256_file(source)
    relative = f"audio/{sha[:2]}/{sha}.wav"
    (store.home / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, store.home / relative)
    session_id = store.create_session(case_no=case_no, room="一号讯问室", kind="file", source_name=source.name,
                                      audio_path=relative, audio_sha256=sha, audio_bytes=source.stat().st_size,
                                      duration_s=38.6, sample_rate=16000, channels=1, diarizer="voice", model="base",
                                      options={"beam_size": 5})
    for start_s, end_s, speaker, text in LINES:
        store.add_utterance(session_id, Utterance.from_words(words_of(start_s, end_s, text), speaker=speaker))
    store.set_speaker_roles(session_id, {"S1": "讯问人", "S2": "被讯问人"})
    store.finish_session(session_id, timings={"total": 1.0})
    return session_id


def live_session(store: Store, data_dir: Path) -> int:
    """A finished live session whose audio is two real WAV segments and a playback file, as the recorder and
    engine/live.py leave them."""
    folder = Path("audio/live/room1")
    (store.home / folder).mkdir(parents=True)
    session_id = store.create_session(case_no="A-1", room="二号讯问室", kind="live", source_name=None,
                                      audio_path=folder.as_posix(), audio_sha256="", audio_bytes=0, duration_s=0.0,
                                      sample_rate=16000, channels=1, diarizer="voice", model="base", options={})
    start_s = 0.0
    for seq, name in enumerate(SEGMENT_FILES):
        target = store.home / folder / f"segment-{seq:05d}.wav"
        shutil.copy(data_dir / name, target)
        with wave.open(str(target)) as segment:
            frames, rate = segment.getnframes(), segment.getframerate()
        store.add_audio_segment(session_id, seq=seq, path=target.relative_to(store.home).as_posix(), start_s=start_s,
                                duration_s=frames / rate, frames=frames, sample_rate=rate, channels=1,
                                sha256=sha256_file(target))
        start_s += frames / rate
    store.add_utterance(session_id, Utterance.from_words(words_of(0.2, 3.0, "我叫张三"), speaker="S1"))
    shutil.copy(data_dir / SEGMENT_FILES[0], store.home / folder / "playback.wav")
    segments = store.audio_segments(session_id)
    store.finish_session(session_id, duration_s=start_s, audio_sha256=segments_digest(segments),
                         audio_bytes=sum((store.home / s["path"]).stat().st_size for s in segments))
    return session_id


@pytest.fixture
def home(tmp_path, data_dir, backend):
    """A home with a file session (read once, exported once), a live session, a person and an officer."""
    home = tmp_path / "home"
    with backend.open(home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password="correct-horse-9")
        file_id = file_session(store, data_dir)
        live_id = live_session(store, data_dir)
        store.add_person("A-1", name="王某", role="犯罪嫌疑人", wristband_id="WB-1")
        store.record_audit(store.account("officer"), "session.read", session_id=file_id, case_no="A-1")
        store.record_audit(store.account("officer"), "session.read", session_id=live_id, case_no="A-1")
    return home, file_id, live_id


def problems(backend: Backend, home: Path, session_id: int | None = None) -> list[tuple[str, str]]:
    with backend.open(home) as store:
        return [(p.kind, p.subject) for p in verify(store, session_id=session_id).problems]


def first_utterance(backend: Backend, home: Path, session_id: int) -> dict:
    with backend.open(home) as store:
        return store.utterances(session_id)[0]


def test_an_untouched_store_is_intact_and_counts_what_it_checked(backend, home):
    home, file_id, live_id = home
    seen = []
    with backend.open(home) as store:
        report = verify(store, progress=lambda done, total: seen.append((done, total)))
        one_session = verify(store, session_id=live_id)
    assert report.intact, report.problems
    # 2 sessions, 5 utterances, 3 speakers (S1, S2; S1 of the live one), 2 segments, 1 person
    assert report.rows == 13
    assert report.audio_files == 4  # the recording, two segments, the playback
    assert seen and seen[-1][0] == seen[-1][1] == sum(p.stat().st_size for p in (home / "audio").rglob("*.wav"))
    assert one_session.intact and one_session.audio_files == 3 and one_session.rows == 5
    assert report.entries > one_session.rows


def test_corrections_through_the_application_keep_it_intact(backend, home):
    home, file_id, _ = home
    with backend.open(home) as store:
        officer = store.account("officer")
        first, second, third, fourth = store.utterances(file_id)
        store.edit_utterance(file_id, first["id"], {"text": "现在依法对你进行讯问，你看清楚了吗？"}, version=1, by=officer)
        store.split_utterance(file_id, third["id"], at_s=10.0, version=1, by=officer)
        store.merge_utterances(file_id, second["id"], with_id=store.utterances(file_id)[0]["id"], version=1,
                               with_version=2, by=officer)
        store.relabel_speaker(file_id, "S2", version=store.speakers(file_id)[1]["version"], by=officer, role="犯罪嫌疑人")
        store.relabel_speaker(file_id, "S2", version=store.speakers(file_id)[1]["version"], by=officer, new_label="S3")
        report = verify(store)
        revisions = store.revisions(file_id)
    assert report.intact, report.problems
    assert {r["kind"] for r in revisions} == {"text", "split", "merge", "relabel"}


def test_an_utterance_edited_in_the_database_is_reported_changed(backend, home):
    home, file_id, _ = home
    line = first_utterance(backend, home, file_id)
    backend.tamper(home, "UPDATE utterances SET text = '我没有去过仓库' WHERE id = ?", params=(line["id"],))
    assert problems(backend, home) == [("changed", f"utterance:{line['id']}")]


def test_a_word_edited_in_the_database_shows_as_its_utterance_changed(backend, home):
    home, file_id, _ = home
    line = first_utterance(backend, home, file_id)
    backend.tamper(home, "UPDATE words SET start_ms = start_ms + 500 WHERE utterance_id = ? AND seq = 0",
           params=(line["id"],))
    assert problems(backend, home) == [("changed", f"utterance:{line['id']}")]


def test_a_revision_deleted_after_a_real_correction_is_reported_deleted(backend, home):
    home, file_id, _ = home
    with backend.open(home) as store:
        line = store.utterances(file_id)[1]
        store.edit_utterance(file_id, line["id"], {"text": "看清楚了。"}, version=1, by=store.account("officer"))
        revision_id = store.revisions(file_id)[0]["id"]
    assert problems(backend, home) == []
    backend.tamper(home, "DELETE FROM revisions WHERE id = ?", params=(revision_id,))
    assert problems(backend, home) == [("deleted", f"revision:{revision_id}")]


def test_an_utterance_inserted_in_the_database_is_reported_inserted(backend, home):
    home, file_id, _ = home
    backend.tamper(home, "INSERT INTO utterances (session_id, seq, start_ms, end_ms, speaker, text, committed)"
                 " VALUES (?, 99, 15000, 16000, 'S2', '是他让我去的', 1)", params=(file_id,))
    inserted = backend.scalar(home, "SELECT MAX(id) FROM utterances")
    assert problems(backend, home) == [("inserted", f"utterance:{inserted}")]


def test_an_audit_row_whose_content_was_edited_breaks_the_chain(backend, home):
    home, file_id, _ = home
    with backend.open(home) as store:
        read = store.audit_rows(session_id=file_id)[0]
    backend.tamper(home, "UPDATE audit SET content = replace(content, 'officer', 'nobody') WHERE id = ?", params=(read["id"],))
    assert problems(backend, home) == [("chain_broken", f"audit:{read['id']}")]


def test_an_audit_row_whose_column_was_edited_breaks_the_chain(backend, home):
    home, file_id, _ = home
    with backend.open(home) as store:
        read = store.audit_rows(session_id=file_id)[0]
    backend.tamper(home, "UPDATE audit SET user_name = 'nobody' WHERE id = ?", params=(read["id"],))
    assert problems(backend, home) == [("chain_broken", f"audit:{read['id']}")]


def test_an_audit_row_deleted_from_the_middle_breaks_the_chain(backend, home):
    home, file_id, _ = home
    with backend.open(home) as store:
        read = store.audit_rows(session_id=file_id)[0]
        last = store.audit_rows(with_data_entries=True)[-1]
    assert read["id"] < last["id"]
    backend.tamper(home, "DELETE FROM audit WHERE id = ?", params=(read["id"],))
    assert problems(backend, home) == [("chain_broken", f"audit:{read['id']}")]


def test_the_last_audit_rows_deleted_are_reported(backend, home):
    home, _, live_id = home
    with backend.open(home) as store:
        last = store.audit_rows(with_data_entries=True)[-1]
    assert last["action"] == "session.read" and last["session_id"] == live_id
    backend.tamper(home, "DELETE FROM audit WHERE id = ?", params=(last["id"],))
    assert problems(backend, home) == [("chain_broken", f"audit:{last['id']}")]


def test_a_truncated_recording_is_reported(backend, home):
    home, file_id, _ = home
    path = home / first_session_audio(backend, home, file_id)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert problems(backend, home) == [("audio_changed", f"audio:{file_id}")]


def test_a_recording_replaced_by_another_of_the_same_length_is_reported(backend, home, data_dir):
    home, file_id, _ = home
    path = home / first_session_audio(backend, home, file_id)
    size = path.stat().st_size
    other = (data_dir / "funasr_asr_example_zh.wav").read_bytes()
    replacement = (other * (size // len(other) + 1))[:size]
    path.write_bytes(replacement)
    assert path.stat().st_size == size
    assert problems(backend, home) == [("audio_changed", f"audio:{file_id}")]
    assert problems(backend, home, session_id=file_id) == [("audio_changed", f"audio:{file_id}")]


def test_a_deleted_live_segment_file_is_reported_missing(backend, home):
    home, _, live_id = home
    with backend.open(home) as store:
        segment = store.audio_segments(live_id)[1]
    (home / segment["path"]).unlink()
    assert problems(backend, home) == [("audio_missing", f"segment:{live_id}:1")]


def test_a_changed_playback_file_is_reported(backend, home, data_dir):
    home, _, live_id = home
    with backend.open(home) as store:
        folder = home / store.get_session(live_id)["audio_path"]
    shutil.copy(data_dir / SEGMENT_FILES[1], folder / "playback.wav")
    assert problems(backend, home) == [("audio_changed", f"playback:{live_id}")]


def test_one_session_is_checked_alone(backend, home):
    home, file_id, live_id = home
    line = first_utterance(backend, home, file_id)
    backend.tamper(home, "UPDATE utterances SET text = '改' WHERE id = ?", params=(line["id"],))
    assert problems(backend, home, session_id=live_id) == []
    assert problems(backend, home, session_id=file_id) == [("changed", f"utterance:{line['id']}")]
    with backend.open(home) as store, pytest.raises(SessionNotFound, match="no session with id 999"):
        verify(store, session_id=999)


def test_a_session_deleted_by_the_application_stays_intact(backend, home, data_dir):
    home, _, _ = home
    with backend.open(home) as store:
        session_id = store.create_session(case_no="A-2", room=None, kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0, duration_s=0.0,
                                          sample_rate=16000, channels=1, diarizer=None, model="base", options={})
        store.add_utterance(session_id, Utterance.from_words(words_of(0.0, 1.0, "你好"), speaker="S1"))
        store.fail_session(session_id, "decoding failed")
        store.delete_session(session_id)
        report = verify(store)
    assert report.intact, report.problems
    backend.tamper(home, "INSERT INTO sessions (id, case_id, kind, status, audio_path, duration_ms, sample_rate, channels,"
                 " model, options_json, created_at) VALUES (?, 1, 'file', 'done', 'audio/x.wav', 0, 16000, 1, 'base',"
                 " '{}', '2026-01-01T00:00:00.000+00:00')", params=(session_id,))
    assert problems(backend, home) == [("inserted", f"session:{session_id}")]


def test_an_export_carries_the_chain_head_and_its_code_is_matched(backend, home):
    home, file_id, _ = home
    with backend.open(home) as store:
        text, integrity = signed_export(store, file_id, fmt="txt", actor="cli:test")
        exported_json, _ = signed_export(store, file_id, fmt="json", actor="cli:test")
        entry = store.audit_rows(session_id=file_id)[-2]
        code = text.rstrip("\n").splitlines()[-1]
        found = check_export_code(store, integrity["chain_head"][:12])
    assert entry["action"] == "session.export" and entry["hash"] == integrity["chain_head"]
    assert code == f"校验码：{integrity['chain_head'][:16]}（会话摘要 {integrity['session_digest'][:16]}）"
    assert '"chain_head": "' in exported_json and integrity["session_digest"] in exported_json
    assert found["found"] and found["same"] and found["chain_intact"]
    assert (found["session_id"], found["format"], found["user"]) == (file_id, "txt", "cli:test")
    line = first_utterance(backend, home, file_id)
    backend.tamper(home, "UPDATE utterances SET text = '改' WHERE id = ?", params=(line["id"],))
    with backend.open(home) as store:
        after = check_export_code(store, integrity["chain_head"][:16].upper())
        missing = check_export_code(store, "0123456789ab")
        with pytest.raises(StoreError, match="12 to 64 hexadecimal digits"):
            check_export_code(store, "校验码12")
    assert after["found"] and after["chain_intact"] and not after["same"]
    assert after["session_digest_now"] != after["session_digest_exported"]
    assert missing == {"found": False, "code": "0123456789ab", "same": False}


def test_migration_8_chains_a_version_7_database(tmp_path, data_dir):
    home = tmp_path / "home"
    (home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", home / "audio" / "room.wav")
    sha = sha256_file(home / "audio" / "room.wav")
    db_path = home / "bilu.db"
    from sqlite_utils import Database

    db = Database(sqlite3.connect(db_path))
    db.execute("CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for number, name, migrate in MIGRATIONS[:7]:
        with immediate_transaction(db):
            migrate(db)
            db.execute("INSERT INTO migrations VALUES (?, ?, '2026-01-01')", [number, name])
    with immediate_transaction(db):  # rows as version 7 wrote them
        db.execute("INSERT INTO cases (case_no, created_at) VALUES ('OLD-1', '2026-01-01T00:00:00.000+00:00')")
        db.execute("INSERT INTO sessions (case_id, kind, status, audio_path, audio_sha256, audio_bytes, duration_ms,"
                   " sample_rate, channels, model, options_json, created_at) VALUES (1, 'file', 'done',"
                   " 'audio/room.wav', ?, 1, 38600, 16000, 1, 'base', '{}', '2026-01-01T00:00:00.000+00:00')", [sha])
        db.execute("INSERT INTO speakers (session_id, label, role) VALUES (1, 'S1', '讯问人')")
        db.execute("INSERT INTO utterances (session_id, seq, start_ms, end_ms, speaker, text, committed)"
                   " VALUES (1, 0, 0, 1000, 'S1', '你好', 1)")
        db.execute("INSERT INTO words VALUES (1, 0, 0, 1000, '你好', 0.875)")
        for action, session_id in (("auth.login", None), ("session.read", 1)):  # the content as version 7 wrote it
            content = canonical_json({"at": "2026-01-01T08:00:00.000+00:00", "user_id": None, "user": "officer",
                                      "action": action, "session_id": session_id, "case_no": None, "detail": {}})
            db.execute("INSERT INTO audit (at, user_name, action, session_id, content)"
                       " VALUES ('2026-01-01T08:00:00.000+00:00', 'officer', ?, ?, ?)", [action, session_id, content])
    db.close()
    with Store.open(home) as store:
        rows = list(store._db.query("SELECT * FROM audit ORDER BY id"))
        report = verify(store)
    assert report.intact, report.problems
    assert [r["action"] for r in rows[:2]] == ["auth.login", "session.read"]
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert rows[1]["hash"] == entry_hash(rows[0]["hash"], sha256_text(rows[1]["content"]))
    assert {r["subject"] for r in rows[2:]} == {"session:1", "audio:1", "speaker:1:S1", "utterance:1"}
    assert all(r["action"] == "chain.baseline" for r in rows[2:])
    with sqlite3.connect(db_path) as raw, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM audit")  # the triggers are back after the backfill
    SQLITE.tamper(home, "UPDATE utterances SET text = '再见' WHERE id = 1")
    assert problems(SQLITE, home) == [("changed", "utterance:1")]


def first_session_audio(backend: Backend, home: Path, session_id: int) -> str:
    with backend.open(home) as store:
        return store.get_session(session_id)["audio_path"]
