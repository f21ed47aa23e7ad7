"""Shared by the api tests: a client over https (the login cookie is Secure), accounts, stored sessions."""
import time

from fastapi.testclient import TestClient

from api.app import create_app
from cases import Store
from transcribe import Utterance, Word

PASSWORD = "correct-horse-9"
SHA = "0" * 64


def client_for(settings) -> TestClient:
    return TestClient(create_app(settings), base_url="https://testserver")


def bearer(client: TestClient, name: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/auth/tokens", json={"name": name, "password": password, "label": "test"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def words_of(start_s: float, end_s: float, text: str) -> list[Word]:
    """Two-character words spread evenly over the line."""
    pieces = [text[i:i + 2] for i in range(0, len(text), 2)]
    step = (end_s - start_s) / len(pieces)
    return [Word(start_s + i * step, start_s + (i + 1) * step, p, 0.9) for i, p in enumerate(pieces)]


def stored_session(store: Store, case_no: str, lines: list[tuple[float, float, str, str]], *,
                   roles: dict[str, str] | None = None, room: str = "一号讯问室", audio_path: str = "audio/x.wav") -> int:
    """A finished session built directly with the store: lines are (start_s, end_s, speaker, text)."""
    session_id = store.create_session(case_no=case_no, room=room, kind="file", source_name="x.wav",
                                      audio_path=audio_path, audio_sha256=SHA, audio_bytes=1, duration_s=600.0,
                                      sample_rate=16000, channels=1, diarizer="channel", model="base", options={})
    for start_s, end_s, speaker, text in lines:
        store.add_utterance(session_id, Utterance.from_words(words_of(start_s, end_s, text), speaker=speaker))
    store.set_speaker_roles(session_id, roles or {"S1": "讯问人", "S2": "被讯问人"})
    store.finish_session(session_id)
    return session_id


def wait_for_status(client, session_id: int, headers: dict, *, limit_s: float = 240.0) -> dict:
    """Poll until the session leaves "transcribing" (a generous limit so a busy machine does not fail it)."""
    deadline = time.monotonic() + limit_s
    while True:
        session = client.get(f"/sessions/{session_id}", headers=headers).json()
        if session["status"] != "transcribing" or time.monotonic() > deadline:
            return session
        time.sleep(0.5)
