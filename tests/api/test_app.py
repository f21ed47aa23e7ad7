"""The service through TestClient(create_app(settings)) against a real SQLite file."""
import pytest

from cases import Store
from tests.api.helpers import PASSWORD, bearer, client_for
from transcribe import Utterance, Word


@pytest.fixture(scope="module")
def client(transcribed):
    """Logged in as an administrator (who sees every case) with a bearer token."""
    settings, _ = transcribed
    with Store.open(settings.home) as store:
        store.add_user("app-admin", role="admin", unit="默认单位", password=PASSWORD)
    with client_for(settings) as client:
        client.headers.update(bearer(client, "app-admin"))
        yield client


@pytest.fixture(scope="module")
def session_id(transcribed):
    return transcribed[1]


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_everything_but_health_needs_login(transcribed, session_id):
    with client_for(transcribed[0]) as anonymous:
        assert anonymous.get("/health").status_code == 200
        for path in ("/cases", f"/sessions/{session_id}", "/search?q=讯问", "/openapi.json"):
            assert anonymous.get(path).status_code == 401, path
        page = anonymous.get(f"/sessions/{session_id}/page", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")


def test_openapi_and_docs(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/cases", "/sessions/{session_id}", "/sessions/{session_id}/export", "/search"} <= set(paths)
    assert client.get("/docs").status_code == 200


def test_cases_and_sessions(client, session_id):
    cases = client.get("/cases").json()
    assert [c["case_no"] for c in cases] == ["A-2026-0001"]
    case = client.get("/cases/A-2026-0001").json()
    assert [s["id"] for s in case["sessions"]] == [session_id]
    session = client.get(f"/sessions/{session_id}").json()
    assert session["status"] == "done" and session["channels"] == 2
    assert session["options"]["whisper"]["vad_filter"] is True  # the options used are kept with the record
    utterances = client.get(f"/sessions/{session_id}/utterances").json()
    assert utterances and all(u["start_s"] < u["end_s"] for u in utterances)


def test_export_is_a_download(client, session_id):
    response = client.get(f"/sessions/{session_id}/export", params={"format": "txt"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="session-{session_id}.txt"'
    assert "讯问笔录" in response.text


def test_search_finds_a_spoken_word(client, session_id):
    text = client.get(f"/sessions/{session_id}/utterances").json()[0]["text"]
    word = text[:2]
    hits = client.get("/search", params={"q": word}).json()
    assert any(h["session_id"] == session_id and "【" in h["snippet"] for h in hits)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/sessions/999999", 404),
        ("/sessions/999999/export?format=txt", 404),
        ("/cases/NO-SUCH-CASE", 404),
        ("/sessions/abc", 422),
        ("/sessions/1/export?format=pdf", 422),
        ("/search?q=", 422),
        ("/sessions/..%2F..%2Fetc%2Fpasswd", 404),  # no route matches a path-like id
    ],
)
def test_bad_requests_get_4xx(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]


def test_pages_show_transcript_text_as_text(transcribed, client):
    settings, _ = transcribed
    with Store.open(settings.home) as store:
        sid = store.create_session(case_no="XSS-1", room="<b>room</b>", kind="file", source_name="x.wav",
                                   audio_path="audio/x.wav", audio_sha256="0" * 64, audio_bytes=1, duration_s=1.0,
                                   sample_rate=16000, channels=1, diarizer=None, model="base", options={})
        words = (Word(0.0, 0.5, "<script>alert(1)</script>", 0.9),)
        store.add_utterance(sid, Utterance.from_words(words, speaker="S1"))
        store.finish_session(sid)
    page = client.get(f"/sessions/{sid}/page").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "<b>room</b>" not in client.get("/").text
