"""Suspected lines in the store: kept with their marks, left out of the written record only when their audio is
not speech, an officer's decision recorded as a revision and covered by the audit chain (issue 15)."""
import io
import sqlite3
from pathlib import Path

import pytest
from docx import Document

from cases import InvalidCorrection, Store, StoreError, export
from cases.docx_export import export_docx
from cases.integrity import verify
from cases.migrations import MIGRATIONS
from cases.row_digests import UTTERANCE_FIELDS, utterance_digest
from tests.api.helpers import words_of
from transcribe import Utterance

SAID = "我那天晚上一直在家里"
INVENTED = "字幕由Amara.org社群提供"


def line(start_s: float, end_s: float, text: str, speaker: str, **marks) -> Utterance:
    return Utterance.from_words(words_of(start_s, end_s, text), speaker=speaker, **marks)


@pytest.fixture
def session(tmp_path: Path, backend):
    """A finished session: a said line, a caption over silence, a caption over speech, a said line."""
    with backend.open(tmp_path / "home") as store:
        store.add_user("officer", role="officer", unit="默认单位", password="correct-horse-9")
        session_id = store.create_session(case_no="A-15", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0,
                                          duration_s=20.0, sample_rate=16000, channels=1, diarizer="voice",
                                          model="base", options={})
        for utterance in (
            line(0.5, 3.0, "你那天晚上在哪里", "S1", speech_probability=0.9, energy_db=40.0),
            line(3.5, 6.0, INVENTED, "S2", suspect="caption", speech_probability=0.01, energy_db=0.3,
                 not_speech=True),
            line(6.5, 9.0, "本节目由我们单位提供", "S2", suspect="caption", speech_probability=0.8, energy_db=35.0),
            line(9.5, 12.0, SAID, "S2", speech_probability=0.85, energy_db=38.0),
        ):
            store.add_utterance(session_id, utterance)
        store.set_speaker_roles(session_id, {"S1": "讯问人", "S2": "被讯问人"})
        store.finish_session(session_id, timings={"total": 1.0})
        yield store, session_id


def record(store: Store, session_id: int) -> str:
    return export("txt", store.get_session(session_id), store.utterances(session_id))


def test_marks_are_stored_and_read_back(session):
    store, session_id = session
    asked, invented, spoken_caption, said = store.utterances(session_id)
    assert (invented["suspect"], invented["not_speech"], invented["in_record"]) == ("caption", True, False)
    assert invented["text"] == INVENTED and invented["speech_probability"] == 0.01 and invented["energy_db"] == 0.3
    assert (spoken_caption["suspect"], spoken_caption["not_speech"], spoken_caption["in_record"]) == (
        "caption", False, True)
    assert asked["suspect"] is None and asked["in_record"] and said["in_record"]


def test_only_text_over_audio_that_is_not_speech_leaves_the_record(session):
    store, session_id = session
    text = record(store, session_id)
    assert "本节目由我们单位提供" in text and SAID in text and "你那天晚上在哪里" in text
    assert "Amara" not in text
    document = Document(io.BytesIO(export_docx(store.get_session(session_id), store.utterances(session_id))))
    docx_text = "\n".join(p.text for p in document.paragraphs)
    assert SAID in docx_text and "Amara" not in docx_text
    # Every other export keeps every line, with its marks.
    assert "Amara" in export("srt", store.get_session(session_id), store.utterances(session_id))
    assert '"suspect": "caption"' in export("json", store.get_session(session_id), store.utterances(session_id))


def test_an_officer_restores_and_keeps_out_with_a_revision_each(session):
    store, session_id = session
    officer = store.account("officer")
    invented = store.utterances(session_id)[1]
    restored = store.decide_suspect(session_id, invented["id"], "restored", version=invented["version"],
                                    by=officer)
    assert restored["in_record"] and restored["suspect_decision"] == "restored" and restored["text"] == INVENTED
    assert "Amara" in record(store, session_id)
    kept_out = store.decide_suspect(session_id, invented["id"], "kept_out", version=restored["version"], by=officer)
    assert not kept_out["in_record"] and "Amara" not in record(store, session_id)
    revisions = store.revisions(session_id, invented["id"])
    assert [(r["kind"], r["user"], r["before"]["in_record"], r["after"]["in_record"]) for r in revisions] == [
        ("suspect", "officer", False, True), ("suspect", "officer", True, False)]
    report = verify(store)
    assert report.intact, report.problems


def test_a_decision_needs_a_suspected_line_a_known_decision_and_the_current_version(session):
    store, session_id = session
    officer = store.account("officer")
    asked, invented, _, _ = store.utterances(session_id)
    with pytest.raises(InvalidCorrection, match="not suspected"):
        store.decide_suspect(session_id, asked["id"], "kept_out", version=asked["version"], by=officer)
    with pytest.raises(InvalidCorrection, match="kept_out, restored"):
        store.decide_suspect(session_id, invented["id"], "delete", version=invented["version"], by=officer)
    store.decide_suspect(session_id, invented["id"], "restored", version=invented["version"], by=officer)
    with pytest.raises(StoreError, match="changed by someone else"):
        store.decide_suspect(session_id, invented["id"], "kept_out", version=invented["version"], by=officer)


def test_a_verdict_changed_behind_the_applications_back_is_found(session, backend):
    store, session_id = session
    invented = store.utterances(session_id)[1]
    backend.tamper(store.home, "UPDATE utterances SET not_speech = 0 WHERE id = ?", params=(invented["id"],))
    report = verify(store)
    assert not report.intact
    assert any(p.subject == f"utterance:{invented['id']}" for p in report.problems)


def test_split_keeps_the_marks_and_merge_never_takes_a_line_out_of_the_record(session):
    store, session_id = session
    officer = store.account("officer")
    _, invented, spoken_caption, said = store.utterances(session_id)
    first, second = store.split_utterance(session_id, invented["id"], at_s=4.7, version=invented["version"],
                                          by=officer)
    assert [(u["suspect"], u["in_record"]) for u in (first, second)] == [("caption", False), ("caption", False)]
    merged = store.merge_utterances(session_id, second["id"], with_id=spoken_caption["id"], version=second["version"],
                                    with_version=spoken_caption["version"], by=officer)
    assert merged["in_record"] and "本节目由我们单位提供" in record(store, session_id)
    assert verify(store).intact


def test_an_unknown_reason_is_refused(session):
    store, session_id = session
    with pytest.raises(StoreError, match="suspect reason"):
        store.add_utterance(session_id, line(13.0, 14.0, "好的", "S2", suspect="guess"))


def test_rows_stored_before_migration_11_keep_their_digest():
    row = {field: 1 for field in UTTERANCE_FIELDS}
    unjudged = {**row, "suspect": None, "not_speech": None, "speech_probability": None, "energy_db": None,
                "suspect_decision": None}
    assert utterance_digest(unjudged, []) == utterance_digest(row, [])
    assert utterance_digest({**unjudged, "not_speech": 1}, []) != utterance_digest(row, [])


def test_migration_11_keeps_every_revision(tmp_path):
    home = tmp_path / "home"
    with Store.open(home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password="correct-horse-9")
        session_id = store.create_session(case_no="A-15", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256="", audio_bytes=0,
                                          duration_s=5.0, sample_rate=16000, channels=1, diarizer="voice",
                                          model="base", options={})
        store.add_utterance(session_id, line(0.5, 3.0, "你叫什么名字", "S1"))
        store.finish_session(session_id, timings={})
        utterance = store.utterances(session_id)[0]
        store.edit_utterance(session_id, utterance["id"], {"text": "你叫什么名字？"}, version=1,
                             by=store.account("officer"))
        before = store.revisions(session_id)
    # Back to the schema before migration 11 (as a database in the field has it), then open again.
    with sqlite3.connect(home / "bilu.db") as db:
        db.execute("ALTER TABLE utterances DROP COLUMN suspect_decision")
        for column in ("suspect", "not_speech", "speech_probability", "energy_db"):
            db.execute(f"ALTER TABLE utterances DROP COLUMN {column}")
        db.execute("DELETE FROM migrations WHERE number = 11")
    assert (11, "suspect_utterances") in [(number, name) for number, name, _ in MIGRATIONS]
    with Store.open(home) as store:
        assert store.revisions(session_id) == before
        assert store.utterances(session_id)[0]["in_record"]
        assert verify(store).intact
