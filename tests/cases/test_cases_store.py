"""The case store on real SQLite files: schema, migrations, sessions, utterances, speakers."""

import sqlite3
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest

import cases.migrations
from cases import (
    CaseNotFound,
    InvalidCaseNumber,
    SessionNotDeletable,
    SessionNotFound,
    Store,
    StoreError,
)
from transcribe.types import Utterance, Word

SHA = "0123456789abcdef" * 4


def words_over(start_s: float, end_s: float, text: str) -> list[Word]:
    """Two-character words spread evenly from start_s to end_s."""
    pieces = [text[i : i + 2] for i in range(0, len(text), 2)]
    step = (end_s - start_s) / len(pieces)
    return [
        Word(start_s + i * step, start_s + (i + 1) * step, piece, 0.5 + 0.1 * (i % 5))
        for i, piece in enumerate(pieces)
    ]


def utterance(start_s, end_s, text, speaker=None, *, channel=None, committed=True) -> Utterance:
    return Utterance.from_words(
        words_over(start_s, end_s, text), speaker=speaker, channel=channel, committed=committed
    )


def new_session(store: Store, case_no: str = "A2025-001", **overrides) -> int:
    arguments = dict(
        case_no=case_no,
        room="第一讯问室",
        kind="file",
        source_name="讯问录音.wav",
        audio_path="audio/1.flac",
        audio_sha256=SHA,
        audio_bytes=123_456,
        duration_s=1234.567,
        sample_rate=16000,
        channels=2,
        diarizer="channel",
        model="whisper-base-int8",
        options={"beam_size": 5, "temperature": [0.0, 0.2], "language": "zh"},
    )
    arguments.update(overrides)
    return store.create_session(**arguments)


@pytest.fixture
def store(tmp_path: Path, backend):
    with backend.open(tmp_path / "home") as opened:
        yield opened


# Opening, schema, migrations


def test_open_creates_home_audio_dir_and_database(tmp_path):
    home = tmp_path / "new" / "home"
    with Store.open(home) as store:
        assert store.home == home
        assert store.audio_dir == home / "audio"
        assert store.audio_dir.is_dir()
        assert (home / "bilu.db").is_file()


def test_database_is_in_wal_mode_with_foreign_keys(tmp_path):
    with Store.open(tmp_path) as store:
        assert store._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    # WAL is a property of the file: another connection sees it too.
    connection = sqlite3.connect(tmp_path / "bilu.db")
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()


def test_migrations_apply_once_and_opening_again_keeps_the_data(tmp_path):
    with Store.open(tmp_path) as store:
        session_id = new_session(store)
        store.add_utterance(session_id, utterance(0.0, 1.0, "你好", "S0"))
    with Store.open(tmp_path) as store:
        assert store.get_session(session_id)["utterance_count"] == 1
        assert cases.migrations.applied_migrations(store._db) == [
            number for number, _, _ in cases.migrations.MIGRATIONS
        ]
        assert cases.migrations.apply_migrations(store._db) == []
        tables = set(store._db.table_names())
    assert {"cases", "sessions", "speakers", "utterances", "words", "utterances_fts", "migrations"} <= tables


def test_a_failing_migration_leaves_nothing_behind(tmp_path, monkeypatch):
    Store.open(tmp_path).close()

    def broken(db):
        db.execute("CREATE TABLE half_done (id INTEGER)")
        db.execute("INSERT INTO no_such_table VALUES (1)")

    monkeypatch.setattr(
        cases.migrations, "MIGRATIONS", (*cases.migrations.MIGRATIONS, (99, "broken", broken))
    )
    with pytest.raises(StoreError, match="migration 99"):
        Store.open(tmp_path)
    monkeypatch.undo()
    with Store.open(tmp_path) as store:
        assert not store._db.table("half_done").exists()
        assert 99 not in cases.migrations.applied_migrations(store._db)


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    Store.open(tmp_path).close()
    connection = sqlite3.connect(tmp_path / "bilu.db")
    with connection:
        connection.execute("INSERT INTO migrations VALUES (999, 'future', '2030-01-01T00:00:00+00:00')")
    connection.close()
    with pytest.raises(StoreError, match="newer version"):
        Store.open(tmp_path)


# Cases


def test_ensure_case_creates_once_and_fills_a_missing_title(store):
    first = store.ensure_case("A2025-001")
    again = store.ensure_case("A2025-001", title="张某盗窃案")
    assert again["id"] == first["id"]
    assert store.get_case("A2025-001")["title"] == "张某盗窃案"
    store.ensure_case("A2025-001", title="another title")
    assert store.get_case("A2025-001")["title"] == "张某盗窃案"
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None


def test_list_cases_counts_sessions(store):
    store.ensure_case("B-empty")
    new_session(store, "A-two")
    new_session(store, "A-two")
    by_number = {case["case_no"]: case for case in store.list_cases()}
    assert by_number["A-two"]["session_count"] == 2
    assert by_number["A-two"]["last_session_at"] is not None
    assert by_number["B-empty"]["session_count"] == 0
    assert by_number["B-empty"]["last_session_at"] is None


@pytest.mark.parametrize(
    "case_no",
    ["", "A" * 65, "A/1", "A\\1", "A\n1", "A\t1", "A\x00", "A\x1b[31m", " A1", "A1 ", ".", "..", 123, None],
)
def test_bad_case_numbers_are_refused(store, case_no):
    with pytest.raises(InvalidCaseNumber, match="1 to 64 printable characters"):
        store.ensure_case(case_no)
    with pytest.raises(InvalidCaseNumber):
        new_session(store, case_no)
    assert store.list_cases() == []
    assert store.list_sessions() == []


@pytest.mark.parametrize("case_no", ["A2025-001", "京公(刑)立字[2025]00123号", "A" * 64, "案 1"])
def test_good_case_numbers_are_accepted(store, case_no):
    assert store.ensure_case(case_no)["case_no"] == case_no
    assert store.get_case(case_no)["case_no"] == case_no


def test_unknown_case_raises_case_not_found(store):
    with pytest.raises(CaseNotFound, match="X-404"):
        store.get_case("X-404")
    with pytest.raises(CaseNotFound):
        store.list_sessions("X-404")


def test_errors_are_value_errors():
    for error in (StoreError, CaseNotFound, SessionNotFound, InvalidCaseNumber, SessionNotDeletable):
        assert issubclass(error, ValueError)


# Sessions


def test_session_round_trip(store):
    session_id = new_session(store)
    session = store.get_session(session_id)
    assert session["case_no"] == "A2025-001"
    assert session["status"] == "transcribing"
    assert session["kind"] == "file"
    assert session["room"] == "第一讯问室"
    assert session["source_name"] == "讯问录音.wav"
    assert session["audio_path"] == "audio/1.flac"
    assert session["audio_sha256"] == SHA
    assert session["audio_bytes"] == 123_456
    assert session["duration_s"] == 1234.567
    assert (session["sample_rate"], session["channels"]) == (16000, 2)
    assert session["options"] == {"beam_size": 5, "temperature": [0.0, 0.2], "language": "zh"}
    assert session["timings"] is None and session["finished_at"] is None
    assert session["number_in_case"] == 1
    assert datetime.fromisoformat(session["created_at"]).tzinfo is not None

    store.finish_session(session_id, timings={"decode_s": 1.5, "transcribe_s": 60.25})
    finished = store.get_session(session_id)
    assert finished["status"] == "done"
    assert finished["timings"] == {"decode_s": 1.5, "transcribe_s": 60.25}
    started = datetime.fromisoformat(finished["created_at"])
    assert datetime.fromisoformat(finished["finished_at"]) >= started


def test_finish_session_fills_what_a_live_recording_learns_at_the_end(store):
    session_id = new_session(store, kind="live", audio_sha256="", audio_bytes=0, duration_s=0)
    assert store.get_session(session_id)["audio_sha256"] is None
    store.finish_session(session_id, status="interrupted", duration_s=61.5, audio_sha256=SHA, audio_bytes=9)
    session = store.get_session(session_id)
    assert (session["status"], session["duration_s"], session["audio_sha256"], session["audio_bytes"]) == (
        "interrupted", 61.5, SHA, 9
    )


def test_fail_session_records_the_error(store):
    session_id = new_session(store)
    store.fail_session(session_id, "decoder: unsupported codec")
    session = store.get_session(session_id)
    assert session["status"] == "failed"
    assert session["error"] == "decoder: unsupported codec"
    assert session["finished_at"] is not None


def test_list_sessions_newest_first_and_by_case(store):
    first = new_session(store, "A-1")
    second = new_session(store, "A-1")
    other = new_session(store, "B-1")
    assert [s["id"] for s in store.list_sessions()] == [other, second, first]
    assert [s["id"] for s in store.list_sessions("A-1")] == [second, first]
    assert [s["number_in_case"] for s in store.list_sessions("A-1")] == [2, 1]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "tape", "session kind"),
        ("duration_s", -1.0, "duration_s"),
        ("duration_s", float("nan"), "duration_s"),
        ("audio_sha256", "abc", "audio_sha256"),
        ("audio_path", "/etc/passwd", "relative"),
        ("audio_path", "../outside.wav", "relative"),
        ("audio_path", "C:\\audio\\x.wav", "relative"),
        ("sample_rate", 0, "sample_rate"),
        ("channels", 0, "channels"),
        ("options", {"bad": object()}, "options"),
    ],
)
def test_create_session_refuses_bad_input(store, field, value, message):
    with pytest.raises(StoreError, match=message):
        new_session(store, **{field: value})
    assert store.list_sessions() == []


def test_finish_session_refuses_a_non_final_status(store):
    session_id = new_session(store)
    with pytest.raises(StoreError, match="done, failed, interrupted, recovered"):
        store.finish_session(session_id, status="transcribing")


def test_unknown_session_id_raises_session_not_found_naming_it(store):
    with pytest.raises(SessionNotFound, match="4242"):
        store.get_session(4242)
    with pytest.raises(SessionNotFound, match="4242"):
        store.add_utterance(4242, utterance(0.0, 1.0, "你好"))
    with pytest.raises(SessionNotFound, match="4242"):
        store.utterances(4242)
    with pytest.raises(SessionNotFound, match="4242"):
        store.finish_session(4242)
    with pytest.raises(SessionNotFound, match="4242"):
        store.set_speaker_roles(4242, {"S0": "讯问人"})
    with pytest.raises(SessionNotFound, match="4242"):
        store.delete_session(4242)


def test_delete_session_removes_its_rows_but_not_a_finished_record(store):
    kept = new_session(store)
    store.add_utterance(kept, utterance(0.0, 2.0, "诉讼权利义务告知书", "S0"))
    store.finish_session(kept)
    doomed = new_session(store)
    store.add_utterance(doomed, utterance(0.0, 2.0, "诉讼权利义务告知书", "S0"))
    store.fail_session(doomed, "out of memory")

    store.delete_session(doomed)
    with pytest.raises(SessionNotFound):
        store.get_session(doomed)
    assert [hit["session_id"] for hit in store.search("告知书")] == [kept]
    for table in ("utterances", "speakers"):
        assert store._db.execute(f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", [doomed]).fetchone()[0] == 0
    assert store._db.execute("SELECT COUNT(*) FROM words").fetchone()[0] == len(store.utterances(kept)[0]["words"])

    with pytest.raises(SessionNotDeletable, match="done"):
        store.delete_session(kept)
    assert store.get_session(kept)["utterance_count"] == 1


# Utterances, words, speakers


def test_utterances_round_trip_with_millisecond_precision(store):
    session_id = new_session(store)
    words = (Word(1.2344, 1.5, "你", 0.91), Word(1.5, 2.0006, "叫什么", 0.42), Word(2.1, 2.75, "名字？", 1.0))
    first = Utterance.from_words(words, speaker="S0", channel=0)
    later = utterance(5.0, 6.5, "我叫张三", "S1", channel=1, committed=False)
    later_id = store.add_utterance(session_id, later)
    first_id = store.add_utterance(session_id, first)

    stored = store.utterances(session_id)
    assert [u["id"] for u in stored] == [first_id, later_id]  # ordered by start
    assert [u["seq"] for u in stored] == [1, 0]  # seq follows arrival
    head = stored[0]
    assert (head["start_s"], head["end_s"]) == (1.234, 2.75)
    assert head["text"] == "你叫什么名字？"
    assert (head["speaker"], head["channel"], head["committed"]) == ("S0", 0, True)
    assert head["words"] == [
        {"start_s": 1.234, "end_s": 1.5, "text": "你", "probability": 0.91},
        {"start_s": 1.5, "end_s": 2.001, "text": "叫什么", "probability": 0.42},
        {"start_s": 2.1, "end_s": 2.75, "text": "名字？", "probability": 1.0},
    ]
    assert stored[1]["committed"] is False
    assert [w["text"] for w in stored[1]["words"]] == ["我叫", "张三"]


def test_an_utterance_ending_before_it_starts_is_refused(store):
    session_id = new_session(store)
    with pytest.raises(StoreError, match="end before it starts"):
        store.add_utterance(session_id, Utterance(start_s=3.0, end_s=2.0, text="错"))
    with pytest.raises(StoreError, match="probability"):
        store.add_utterance(session_id, Utterance.from_words([Word(0.0, 1.0, "错", 1.5)]))
    assert store.utterances(session_id) == []


def test_speakers_are_created_from_utterances_and_take_roles(store):
    session_id = new_session(store)
    store.add_utterance(session_id, utterance(0.0, 1.0, "你叫什么名字", "S0", channel=0))
    store.add_utterance(session_id, utterance(1.5, 2.5, "张三", "S1", channel=1))
    store.add_utterance(session_id, utterance(3.0, 4.0, "没有声道", None))
    assert store.get_session(session_id)["speakers"] == [
        {"label": "S0", "role": None, "channel": 0},
        {"label": "S1", "role": None, "channel": 1},
    ]
    store.set_speaker_roles(session_id, {"S0": "讯问人", "S1": "被讯问人", "S2": "翻译"}, {"S2": 2})
    assert store.get_session(session_id)["speakers"] == [
        {"label": "S0", "role": "讯问人", "channel": 0},
        {"label": "S1", "role": "被讯问人", "channel": 1},
        {"label": "S2", "role": "翻译", "channel": 2},
    ]
    assert [u["role"] for u in store.utterances(session_id)] == ["讯问人", "被讯问人", None]
    store.set_speaker_roles(session_id, {"S1": None})
    assert [u["role"] for u in store.utterances(session_id)] == ["讯问人", None, None]


def test_set_speaker_roles_refuses_empty_labels_and_roles(store):
    session_id = new_session(store)
    with pytest.raises(StoreError, match="label"):
        store.set_speaker_roles(session_id, {"": "讯问人"})
    with pytest.raises(StoreError, match="role"):
        store.set_speaker_roles(session_id, {"S0": "  "})
    assert store.get_session(session_id)["speakers"] == []


def test_one_store_shared_by_threads_keeps_every_utterance(store):
    session_id = new_session(store)
    # Switch threads often, so that unguarded transactions on the shared connection would collide.
    switch_interval_s = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)

    def add_many(offset: int) -> None:
        for i in range(50):
            store.add_utterance(session_id, utterance(offset + i, offset + i + 0.5, "线程写入", f"S{offset}"))

    threads = [threading.Thread(target=add_many, args=(offset,)) for offset in (0, 100, 200)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval_s)
    stored = store.utterances(session_id)
    assert len(stored) == 150
    assert sorted(u["seq"] for u in stored) == list(range(150))


def test_two_stores_on_one_home_see_each_others_writes(tmp_path, backend):
    with backend.open(tmp_path) as writer, backend.open(tmp_path) as reader:
        session_id = new_session(writer)
        writer.add_utterance(session_id, utterance(0.0, 1.0, "现在开始讯问", "S0"))
        assert reader.get_session(session_id)["utterance_count"] == 1
        reader.add_utterance(session_id, utterance(1.0, 2.0, "好的", "S1"))
        assert [u["seq"] for u in writer.utterances(session_id)] == [0, 1]


def test_speaker_turns_round_trip_and_make_the_rttm(tmp_path, backend):
    from cases import export
    from diarize.types import SpeakerTurn

    with backend.open(tmp_path / "home") as store:
        sid = store.create_session(case_no="T-1", room=None, kind="file", source_name="a.wav", audio_path="audio/a.wav",
                                   audio_sha256="", audio_bytes=0, duration_s=10.0, sample_rate=16000, channels=2,
                                   diarizer="channel", model="base", options={})
        store.add_speaker_turns(sid, [SpeakerTurn(0.4, 3.2, "S1", 0), SpeakerTurn(3.9, 7.25, "S2", 1)])
        turns = store.speaker_turns(sid)
        assert turns == [{"start_s": 0.4, "end_s": 3.2, "speaker": "S1", "channel": 0},
                         {"start_s": 3.9, "end_s": 7.25, "speaker": "S2", "channel": 1}]
        rttm = export("rttm", store.get_session(sid), [], turns=turns).splitlines()
        assert rttm == [f"SPEAKER session-{sid} 1 0.400 2.800 <NA> <NA> S1 <NA> <NA>",
                        f"SPEAKER session-{sid} 1 3.900 3.350 <NA> <NA> S2 <NA> <NA>"]
