"""`bilu verify`, `bilu export`'s 校验码 and GET /sessions/{id}/verify, on a session the real pipeline transcribed
(real Whisper words and probabilities go into the chain's digests), on each backend of the store (with
BILU_DATABASE_URL, PostgreSQL). Tampering works on a copy of the home (and of its database)."""
import json

import pytest
from click.testing import CliRunner
from docx import Document

from api.cli import cli
from tests.api.helpers import PASSWORD, bearer, client_for
from tests.backends import Backend

BACKENDS: dict[str, Backend] = {}
"""The backend of each home these tests made (str(home) -> Backend), for `bilu` and tampering."""


def bilu(home, *args):
    env = {"BILU_HOME": str(home), "BILU_DATABASE_URL": BACKENDS[str(home)].url}
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


# On PostgreSQL the words matter no more than on SQLite: the store's mechanism is what differs (so make test does
# not run that variant again under the other kernels).
@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.mechanism)])
def transcribed(request, tmp_path_factory, data_dir, whisper_model):
    """A short real recording (4 s, one speaker) through the real pipeline, once for the module and backend:
    (settings, id). Shorter than tests/api/conftest.py's two-seat mix: the chain needs real words, not a long
    conversation."""
    from engine.pipeline import FileRequest, Pipeline
    from engine.settings import Settings

    backend = Backend("sqlite")
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        backend = Backend("postgresql", server.url(server.new_database()), server)
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=backend.url)
    BACKENDS[str(settings.home)] = backend
    with backend.open(settings.home) as store:
        result = Pipeline(settings, model=whisper_model).transcribe_file(
            store, FileRequest(path=data_dir / "aishell1_BAC009S0724W0121.wav", case_no="A-2026-0009",
                               room="一号讯问室", num_speakers=1, seat_roles=("被讯问人",)))
    return settings, result.session_id


@pytest.fixture
def copy_of(transcribed, tmp_path):
    """A copy of the transcribed home, to tamper with."""
    settings, session_id = transcribed
    home = tmp_path / "home"
    BACKENDS[str(home)] = BACKENDS[str(settings.home)].copy(settings.home, home)
    yield home, session_id
    BACKENDS.pop(str(home)).drop()


def test_a_transcribed_session_verifies_intact(transcribed):
    settings, session_id = transcribed
    result = bilu(settings.home, "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("intact: ") and " 1 audio files, " in result.stdout
    one = json.loads(bilu(settings.home, "verify", session_id, "--json").stdout)
    assert one["intact"] and one["session_id"] == session_id and one["problems"] == []
    assert one["rows"] >= 3 and one["audio_files"] == 1  # the session, its speaker, at least one line


def test_the_exported_record_carries_a_code_that_verify_matches(transcribed, tmp_path):
    settings, session_id = transcribed
    record = bilu(settings.home, "export", session_id, "--format", "txt")
    assert record.exit_code == 0, record.output
    code_line = record.stdout.rstrip("\n").splitlines()[-1]
    assert code_line.startswith("校验码：") and "（会话摘要 " in code_line
    code = code_line[len("校验码："):][:16]
    exported = json.loads(bilu(settings.home, "export", session_id, "--format", "json").stdout)
    assert exported["integrity"]["chain_head"] != code  # each export is its own entry, with its own code
    out = tmp_path / "record.docx"
    assert bilu(settings.home, "export", session_id, "--format", "docx", "-o", out).exit_code == 0
    assert any(p.text.startswith("校验码：") for p in Document(str(out)).sections[0].footer.paragraphs)
    matched = bilu(settings.home, "verify", "--code", code)
    assert matched.exit_code == 0, matched.output
    assert f"export of session {session_id}" in matched.stdout and " as txt, " in matched.stdout
    assert "audit chain up to it: intact" in matched.stdout and "unchanged since the export" in matched.stdout
    with BACKENDS[str(settings.home)].open(settings.home) as store:
        actions = [r["action"] for r in store.audit_rows(session_id=session_id)]
    assert actions.count("session.export") >= 3  # the command line's exports are audited too


def test_an_edited_line_is_reported_and_the_code_says_changed(copy_of):
    home, session_id = copy_of
    code = bilu(home, "export", session_id, "--format", "txt").stdout.rstrip("\n").splitlines()[-1][4:20]
    backend = BACKENDS[str(home)]
    line_id = backend.scalar(home, "SELECT MIN(id) FROM utterances WHERE session_id = ?", (session_id,))
    backend.tamper(home, "UPDATE utterances SET text = '我什么都没说' WHERE id = ?", params=(line_id,))
    result = bilu(home, "verify")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith(f"changed\tutterance:{line_id}\t")
    assert result.stdout.splitlines()[-1] == "NOT intact: 1 problems"
    checked = bilu(home, "verify", "--code", code)
    assert checked.exit_code == 1 and "CHANGED since the export" in checked.stdout


def test_a_truncated_recording_is_reported_by_the_command(copy_of):
    home, session_id = copy_of
    with BACKENDS[str(home)].open(home) as store:
        audio = home / store.get_session(session_id)["audio_path"]
    audio.write_bytes(audio.read_bytes()[:1000])
    report = json.loads(bilu(home, "verify", session_id, "--json").stdout)
    assert [(p["kind"], p["subject"]) for p in report["problems"]] == [("audio_changed", f"audio:{session_id}")]


def test_bad_input_exits_2(transcribed):
    settings, _ = transcribed
    unknown = bilu(settings.home, "verify", 999999)
    assert unknown.exit_code == 2 and "no session with id 999999" in unknown.stderr
    short = bilu(settings.home, "verify", "--code", "abc")
    assert short.exit_code == 2 and "hexadecimal" in short.stderr
    absent = bilu(settings.home, "verify", "--code", "0" * 16)
    assert absent.exit_code == 1 and "no export has the 校验码" in absent.stdout


def test_the_api_verifies_a_session_and_signs_its_export(copy_of):
    home, session_id = copy_of
    from engine.settings import Settings

    backend = BACKENDS[str(home)]
    settings = Settings(home=home, database_url=backend.url)
    with backend.open(home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
    with client_for(settings) as client:
        client.headers.update(bearer(client, "officer"))
        report = client.get(f"/sessions/{session_id}/verify").json()
        exported = client.get(f"/sessions/{session_id}/export", params={"format": "json"}).json()
        assert report["intact"] and report["session_id"] == session_id
        assert set(exported["integrity"]) == {"chain_head", "session_digest", "entries"}
        backend.tamper(home, "DELETE FROM words WHERE utterance_id = (SELECT MIN(id) FROM utterances)")
        broken = client.get(f"/sessions/{session_id}/verify").json()
        assert not broken["intact"] and [p["kind"] for p in broken["problems"]] == ["changed"]
        assert client.get("/sessions/999999/verify").status_code == 404
    matched = bilu(home, "verify", "--code", exported["integrity"]["chain_head"][:12], "--json")
    assert matched.exit_code == 1 and json.loads(matched.stdout)["user"] == "officer"
