"""Security checks that were not covered elsewhere (issue 6): script in a transcript shown as text on the search and
case pages, CSRF on uploads with a cookie login (header or form field), nothing secret or spoken in the logs at
DEBUG, and the audio route refusing a link to /etc/passwd.

Already covered, not repeated here: the session page (test_app.py, test_pages_browser.py), SRT/VTT escaping
(tests/cases/test_cases_exports.py), HttpOnly + SameSite cookies, CSRF on JSON routes and login throttling
(test_login.py), a link out of the home to another file (test_audio_docx_search.py).
"""
import logging
import os
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.settings import Settings
from cases import Store
from tests.api import hostile_audio
from tests.api.helpers import PASSWORD, stored_session

pytestmark = pytest.mark.mechanism  # access and logging, whatever the words

SCRIPT = "<script>alert('x')</script>"
SECRET_LINE = "我把赃款藏在仓库第三排"  # transcript text that must never reach a log


@pytest.fixture
def service(tmp_path, whisper_model):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心A", level="centre", parent="市局")
        store.add_unit("派出所A", level="unit", parent="中心A")
        store.add_user("li", role="officer", unit="派出所A", password=PASSWORD)
        session_id = stored_session(store, "S-1", [(0.0, 3.0, "S1", f"权利告知{SCRIPT}"), (3.5, 6.0, "S2", SECRET_LINE)],
                                    room="<img src=x onerror=alert(1)>")
        store.set_case_unit("S-1", "派出所A")
    with TestClient(create_app(settings, model=whisper_model), base_url="https://testserver") as client:
        yield client, settings, session_id


def cookie_login(client) -> str:
    response = client.post("/auth/login", json={"name": "li", "password": PASSWORD})
    assert response.status_code == 200
    return response.json()["csrf_token"]


def test_search_and_case_pages_show_script_as_text(service):
    client, _, _ = service
    cookie_login(client)
    search = client.get("/search/page", params={"q": "权利"}).text
    assert "权利" in search and SCRIPT not in search and "&lt;script&gt;" in search
    case = client.get("/cases/S-1/page").text
    assert "<img src=x" not in case and "&lt;img src=x" in case


def test_a_cookie_upload_needs_the_csrf_token_as_header_or_form_field(service, data_dir):
    client, settings, _ = service
    csrf = cookie_login(client)
    clip = (data_dir / hostile_audio.CLIP).read_bytes()
    files = {"file": ("clip.wav", clip, "audio/wav")}
    assert client.post("/cases/S-1/recordings", files=files).status_code == 403
    assert client.post("/cases/S-1/recordings", files=files, data={"csrf_token": "0" * 64}).status_code == 403
    with Store.open(settings.home) as store:
        assert len(store.list_sessions("S-1")) == 1
    by_header = client.post("/cases/S-1/recordings", files=files, data={"speakers": "1"},
                            headers={"X-CSRF-Token": csrf})
    # The form field: the body was read to find it before the route ran; the upload still arrives whole.
    by_field = client.post("/cases/S-1/recordings", files=files, data={"speakers": "1", "csrf_token": csrf})
    assert by_header.status_code == 202, by_header.text
    assert by_field.status_code == 202, by_field.text


def test_logs_hold_no_password_token_or_transcript_text(service, data_dir, caplog):
    client, settings, session_id = service
    caplog.set_level(logging.DEBUG)
    csrf = cookie_login(client)
    token = client.post("/auth/tokens", json={"label": "t"}, headers={"X-CSRF-Token": csrf}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    client.post("/auth/login", json={"name": "li", "password": "wrong-password-77"})
    utterance = client.get(f"/sessions/{session_id}/utterances", headers=bearer).json()[1]
    corrected = client.patch(f"/sessions/{session_id}/utterances/{utterance['id']}", headers=bearer,
                             json={"version": utterance["version"], "text": "更正后的秘密内容"})
    assert corrected.status_code == 200, corrected.text
    assert client.get("/search", params={"q": "仓库第三排"}, headers=bearer).status_code == 200
    with open(data_dir / hostile_audio.CLIP, "rb") as file:
        uploaded = client.post("/cases/S-1/recordings", headers=bearer, data={"speakers": "1"},
                               files={"file": ("张三供述.wav", file, "audio/wav")})
    assert uploaded.status_code == 202
    deadline = time.monotonic() + 240
    while client.get(f"/sessions/{uploaded.json()['session_id']}", headers=bearer).json()["status"] == "transcribing":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    with Store.open(settings.home) as store:
        heard = [u["text"] for u in store.utterances(uploaded.json()["session_id"])]
    assert heard, "the upload was transcribed"
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert len(caplog.records) > 0
    secrets = [PASSWORD, "wrong-password-77", token, csrf, client.cookies.get("bilu_session"), SECRET_LINE,
               "更正后的秘密内容", "仓库第三排", "张三供述", *heard]
    leaked = [s for s in secrets if s and s in logged]
    assert not leaked, leaked


def test_audio_linked_to_etc_passwd_is_refused(service):
    client, settings, _ = service
    cookie_login(client)
    with Store.open(settings.home) as store:
        linked = stored_session(store, "S-1", [(0.0, 1.0, "S1", "你好")], audio_path="audio/passwd.wav")
    (settings.home / "audio").mkdir(parents=True, exist_ok=True)
    os.symlink("/etc/passwd", settings.home / "audio" / "passwd.wav")
    response = client.get(f"/sessions/{linked}/audio")
    assert response.status_code == 404 and "root:" not in response.text
