"""POST /cases/{case_no}/recordings: a real two-seat recording uploaded, transcribed by the worker with the real
model, followed through GET /sessions/{id}; the service stays responsive meanwhile; stopping it leaves nothing
"transcribing"."""
import re
import time

import pytest

from cases import Store
from tests.api.helpers import PASSWORD, bearer, client_for, wait_for_status
from api.app import create_app
from fastapi.testclient import TestClient

SEATS = "dev_room_2spk.seats.flac"


@pytest.fixture
def home_with_officer(tmp_path):
    from engine.settings import Settings

    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心A", level="centre", parent="市局")
        store.add_unit("派出所A", level="unit", parent="中心A")
        store.add_user("officer", role="officer", unit="派出所A", password=PASSWORD)
        store.add_user("prosecutor", role="prosecutor", unit="派出所A", password=PASSWORD)
    return settings


def test_an_uploaded_recording_is_transcribed_in_the_background(home_with_officer, data_dir, whisper_model):
    settings = home_with_officer
    with TestClient(create_app(settings, model=whisper_model), base_url="https://testserver") as client:
        headers = bearer(client, "officer")
        with open(data_dir / SEATS, "rb") as file:
            response = client.post("/cases/U-2026-1/recordings", headers=headers,
                                   files={"file": (SEATS, file, "audio/flac")},
                                   data={"room": "二号讯问室", "seat_roles": "讯问人,被讯问人", "rules": "criminal_first"})
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "transcribing"
        session_id = body["session_id"]
        # The service answers while the worker transcribes.
        assert client.get("/health").status_code == 200
        session = wait_for_status(client, session_id, headers)
        assert session["status"] == "done", session
        assert session["case_no"] == "U-2026-1" and session["room"] == "二号讯问室"
        assert session["source_name"] == SEATS and session["channels"] == 2
        utterances = client.get(f"/sessions/{session_id}/utterances", headers=headers).json()
        assert len(utterances) >= 4
        assert {u["role"] for u in utterances} == {"讯问人", "被讯问人"}
        assert all(u["start_s"] < u["end_s"] for u in utterances)
        # The new case belongs to the uploader's unit, and the audio is kept by its sha256.
        assert client.get("/cases/U-2026-1", headers=headers).json()["unit"] == "派出所A"
        assert (settings.home / session["audio_path"]).stat().st_size == (data_dir / SEATS).stat().st_size
        assert not list((settings.home / "audio" / ".incoming").iterdir())
    # Who uploaded it is audited with the session's row, in its transaction: the uploader, one entry after another.
    with Store.open(settings.home) as store:
        entries = store.audit_rows(session_id=session_id, with_data_entries=True)
    assert [(e["action"], e["user"]) for e in entries[:3]] == [
        ("session.created", "officer"), ("audio.stored", "officer"), ("session.uploaded", "officer")]
    assert [e["id"] for e in entries[:3]] == list(range(entries[0]["id"], entries[0]["id"] + 3))
    assert entries[2]["detail"] == {"bytes": (data_dir / SEATS).stat().st_size}
    assert sum(e["action"] == "session.uploaded" for e in entries) == 1


def test_a_prosecutor_may_not_upload_and_nothing_is_kept(home_with_officer, data_dir):
    with client_for(home_with_officer) as client:
        response = client.post("/cases/U-2026-2/recordings", headers=bearer(client, "prosecutor"),
                               files={"file": (SEATS, (data_dir / SEATS).read_bytes(), "audio/flac")})
    assert response.status_code == 403
    assert "prosecutor" in response.json()["detail"]
    assert not [p for p in (home_with_officer.home / "audio").rglob("*") if p.is_file()]


def test_stopping_the_service_leaves_no_session_transcribing(home_with_officer, data_dir, whisper_model):
    settings = home_with_officer
    with TestClient(create_app(settings, model=whisper_model), base_url="https://testserver") as client:
        headers = bearer(client, "officer")
        content = (data_dir / "funasr_long_25s.flac").read_bytes()
        ids = []
        for n in range(3):  # the first is being transcribed when the service stops, the others wait
            response = client.post("/cases/U-2026-3/recordings", headers=headers,
                                   files={"file": (f"clip{n}.flac", content, "audio/flac")})
            assert response.status_code == 202, response.text
            ids.append(response.json()["session_id"])
    with Store.open(settings.home) as store:
        statuses = [store.get_session(i)["status"] for i in ids]
        errors = [store.get_session(i).get("error") or "" for i in ids]
    assert "transcribing" not in statuses
    assert statuses[-1] == "failed" and "upload it again" in errors[-1]


# The case page's upload form, in Debian's Chromium (the setup of test_pages_browser.py: uvicorn, Playwright).
from tests.api.test_pages_browser import page, server, world  # noqa: E402,F401  (browser: tests/api/conftest.py)


def test_the_case_page_uploads_a_file_and_lists_its_session(page, world, data_dir, tmp_path):  # noqa: F811
    page.goto("/cases/A-2026-0001/page")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1
    notes = tmp_path / "notes.wav"
    notes.write_text("这不是录音", encoding="utf-8")
    page.set_input_files("#upload-recording input[name=file]", str(notes))
    page.click("#upload-recording button[type=submit]")
    page.wait_for_function("document.getElementById('upload-error').textContent.includes('not a recording')")
    assert rows.count() == 1  # refused: nothing new

    page.set_input_files("#upload-recording input[name=file]", str(data_dir / "aishell1_BAC009S0724W0121.wav"))
    page.fill("#upload-recording input[name=room]", "三号讯问室")
    page.click("#upload-recording button[type=submit]")
    # The upload opens its session's page, which follows the transcription (issue 16); the case lists it.
    page.wait_for_url(re.compile(r"/sessions/\d+/page$"))
    page.goto("/cases/A-2026-0001/page")
    page.wait_for_function("document.querySelectorAll('table.list tbody tr').length === 2")
    uploaded = page.locator("table.list tbody tr", has_text="三号讯问室")
    deadline = time.monotonic() + 240
    while "已完成" not in uploaded.inner_text() and time.monotonic() < deadline:
        time.sleep(1.0)
        page.reload()
    assert "已完成" in uploaded.inner_text()
