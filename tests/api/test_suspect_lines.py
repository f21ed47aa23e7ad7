"""Suspected lines through the API (issue 15): shown with their marks (struck through on the page while out of
the written record), kept out or restored by an officer as a revision, the 讯问笔录 export following."""
import pytest

from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, SHA, bearer, client_for, words_of
from transcribe import Utterance

ASKED = "你那天晚上在哪里"
INVENTED = "请不吝点赞订阅转发打赏支持明镜与点点栏目"


@pytest.fixture
def api(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        store.add_user("prosecutor", role="prosecutor", unit="默认单位", password=PASSWORD)
        session_id = store.create_session(case_no="C-15", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256=SHA, audio_bytes=1, duration_s=60.0,
                                          sample_rate=16000, channels=1, diarizer="channel", model="base", options={})
        store.add_utterance(session_id, Utterance.from_words(words_of(0.0, 3.0, ASKED), speaker="S1",
                                                             speech_probability=0.9, energy_db=40.0))
        store.add_utterance(session_id, Utterance.from_words(words_of(3.5, 8.0, INVENTED), speaker="S2",
                                                             suspect="caption", speech_probability=0.002,
                                                             energy_db=0.0, not_speech=True))
        store.set_speaker_roles(session_id, {"S1": "讯问人", "S2": "被讯问人"})
        store.finish_session(session_id)
    with client_for(settings) as client:
        client.headers.update(bearer(client, "officer"))
        yield client, session_id


def record_text(client, sid) -> str:
    response = client.get(f"/sessions/{sid}/export", params={"format": "txt"})
    assert response.status_code == 200, response.text
    return response.text


def test_a_line_over_audio_that_is_not_speech_is_shown_marked_and_left_out_of_the_record(api):
    client, sid = api
    asked, invented = client.get(f"/sessions/{sid}/utterances").json()
    assert asked["suspect"] is None and asked["in_record"]
    assert invented["text"] == INVENTED and invented["suspect"] == "caption"
    assert invented["not_speech"] and not invented["in_record"] and invented["suspect_decision"] is None
    assert ASKED in record_text(client, sid) and INVENTED not in record_text(client, sid)
    page = client.get(f"/sessions/{sid}/page").text
    assert 'left-out"' in page and 'data-suspect="caption"' in page and INVENTED in page


def test_the_officer_restores_then_confirms_each_a_revision(api):
    client, sid = api
    invented = client.get(f"/sessions/{sid}/utterances").json()[1]
    url = f"/sessions/{sid}/utterances/{invented['id']}/suspect"
    restored = client.post(url, json={"version": invented["version"], "decision": "restored"})
    assert restored.status_code == 200, restored.text
    assert restored.json()["in_record"] and INVENTED in record_text(client, sid)
    stale = client.post(url, json={"version": invented["version"], "decision": "kept_out"})
    assert stale.status_code == 409 and stale.json()["current"]["suspect_decision"] == "restored"
    kept_out = client.post(url, json={"version": restored.json()["version"], "decision": "kept_out"})
    assert kept_out.status_code == 200 and not kept_out.json()["in_record"]
    assert INVENTED not in record_text(client, sid)
    revisions = client.get(f"/sessions/{sid}/utterances/{invented['id']}/revisions").json()
    assert [(r["kind"], r["before"]["in_record"], r["after"]["in_record"]) for r in revisions] == [
        ("suspect", False, True), ("suspect", True, False)]
    assert client.get(f"/sessions/{sid}/utterances").json()[1]["text"] == INVENTED  # never deleted


def test_bad_decisions_are_refused_with_a_reason(api):
    client, sid = api
    asked, invented = client.get(f"/sessions/{sid}/utterances").json()
    not_suspected = client.post(f"/sessions/{sid}/utterances/{asked['id']}/suspect",
                                json={"version": asked["version"], "decision": "kept_out"})
    assert not_suspected.status_code == 422 and "not suspected" in not_suspected.json()["detail"]
    unknown = client.post(f"/sessions/{sid}/utterances/{invented['id']}/suspect",
                          json={"version": invented["version"], "decision": "delete"})
    assert unknown.status_code == 422
    client.headers.update(bearer(client, "prosecutor"))
    refused = client.post(f"/sessions/{sid}/utterances/{invented['id']}/suspect",
                          json={"version": invented["version"], "decision": "restored"})
    assert refused.status_code in (403, 404)  # a prosecutor never corrects (404: not even in their scope)
    client.headers.update(bearer(client, "officer"))
    assert not client.get(f"/sessions/{sid}/utterances").json()[1]["in_record"]
