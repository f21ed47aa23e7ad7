"""GET /sessions/{id}/progress, which the session page polls while an upload is transcribed (issue 16, item 6): how
far the stored transcript reaches, and the lines stored after the last one the page has. Real SQLite, the API."""
import pytest

from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, words_of
from transcribe import Utterance

DURATION_S = 600.0


@pytest.fixture
def api(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("wang", role="officer", unit="默认单位", password=PASSWORD)
    with client_for(settings) as client, Store.open(settings.home) as store:
        # Made once the service has started: at start it resumes (or fails) the uploads a stopped process left.
        session_id = store.create_session(case_no="P-1", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256="0" * 64, audio_bytes=1,
                                          duration_s=DURATION_S, sample_rate=16000, channels=1, diarizer="channel",
                                          model="base", options={})
        client.headers.update(bearer(client, "wang"))
        yield client, settings, session_id


def _add(settings, session_id: int, start_s: float, end_s: float, text: str) -> int:
    with Store.open(settings.home) as store:
        return store.add_utterance(session_id, Utterance.from_words(words_of(start_s, end_s, text), speaker="S1"))


def _reads(settings, session_id: int) -> int:
    with Store.open(settings.home) as store:
        return sum(1 for e in store.audit_rows(session_id=session_id, with_data_entries=True) if e["action"] == "utterances.read")


def test_the_progress_answers_the_figures_and_only_the_lines_after_the_last_seen(api):
    client, settings, session_id = api
    empty = client.get(f"/sessions/{session_id}/progress").json()
    assert empty == {"status": "transcribing", "duration_s": DURATION_S, "transcribed_until_s": 0.0, "percent": 0.0,
                     "error": None, "utterance_count": 0, "utterances": []}
    first = _add(settings, session_id, 10.0, 14.0, "现在依法对你进行讯问")
    second = _add(settings, session_id, 20.0, 23.0, "你是否申请回避")
    with Store.open(settings.home) as store:
        store.set_transcribed_until(session_id, 150.0)
    progress = client.get(f"/sessions/{session_id}/progress").json()
    assert progress["transcribed_until_s"] == 150.0 and progress["percent"] == 25.0
    assert progress["utterance_count"] == 2 and [u["id"] for u in progress["utterances"]] == [first, second]
    assert [w["text"] for w in progress["utterances"][0]["words"]] == ["现在", "依法", "对你", "进行", "讯问"]
    reads = _reads(settings, session_id)
    # Nothing new after the last line seen: the figures only, and no read of lines audited.
    nothing = client.get(f"/sessions/{session_id}/progress", params={"after_id": second}).json()
    assert nothing["utterances"] == [] and nothing["utterance_count"] == 2 and _reads(settings, session_id) == reads
    # A line stored later but earlier in the recording (a window transcribed out of order) comes after the last
    # one seen by id, and the new lines come in the order of the recording.
    late = _add(settings, session_id, 30.0, 32.0, "不申请")
    early = _add(settings, session_id, 2.0, 5.0, "我们是派出所的民警")
    fresh = client.get(f"/sessions/{session_id}/progress", params={"after_id": second}).json()["utterances"]
    assert [u["id"] for u in fresh] == [early, late]
    assert _reads(settings, session_id) == reads + 1
    assert first not in [u["id"] for u in fresh]


def test_the_progress_of_a_finished_upload_reaches_its_end_and_never_past_it(api):
    client, settings, session_id = api
    _add(settings, session_id, 10.0, 14.0, "现在依法对你进行讯问")
    with Store.open(settings.home) as store:
        store.set_transcribed_until(session_id, DURATION_S + 30.0)  # the last window ends past the audio
    assert client.get(f"/sessions/{session_id}/progress").json()["transcribed_until_s"] == DURATION_S
    with Store.open(settings.home) as store:
        store.finish_session(session_id)
    done = client.get(f"/sessions/{session_id}/progress", params={"after_id": 10**6}).json()
    assert done["status"] == "done" and done["percent"] == 100.0 and done["transcribed_until_s"] == DURATION_S
    assert done["utterance_count"] == 1 and done["utterances"] == []
    missing = client.get("/sessions/999/progress")
    assert missing.status_code == 404
