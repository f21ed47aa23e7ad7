"""Find and replace across a transcript (issue 16, item 5): POST /sessions/{id}/utterances/replace changes each listed
line as its own correction (one revision each) against the version the editor showed, refuses the lines it cannot
change one by one, and checks the procedural findings again once for the whole replace, not once per line.
Real SQLite, the real API and checker."""
import pytest

from cases import Store
from engine.checking import check_session
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

# (start_s, end_s, speaker, text): S1 the officer, S2 the person questioned.
LINES = [
    (0.0, 3.0, "S1", "你有权委托XX"),
    (3.5, 5.0, "S2", "知道了XX"),
    (5.5, 8.0, "S1", "XX你是否申请回避"),
    (8.5, 9.5, "S2", "XX"),
    (10.0, 12.0, "S1", "你叫什么名字"),
]


@pytest.fixture
def api(tmp_path):
    settings = Settings(home=tmp_path / "home")
    with Store.open(settings.home) as store:
        store.add_user("wang", role="officer", unit="默认单位", password=PASSWORD)
        session_id = stored_session(store, "R-1", LINES)
        check_session(store, session_id, settings)  # as a transcription ends
    with client_for(settings) as client:
        client.headers.update(bearer(client, "wang"))
        yield client, settings, session_id


def _checks(settings, session_id: int) -> int:
    with Store.open(settings.home) as store:
        return sum(e["action"] == "findings.checked"
                   for e in store.audit_rows(session_id=session_id, with_data_entries=True, limit=100_000))


def test_replace_all_changes_each_line_once_and_checks_the_findings_once(api):
    client, settings, session_id = api
    lines = client.get(f"/sessions/{session_id}/utterances").json()
    by_text = {u["text"]: u for u in lines}
    counsel = {f["key"]: f["status"] for f in client.get(f"/sessions/{session_id}").json()["findings"]}["counsel"]
    assert counsel != "satisfied"  # "XX" is no lawyer
    # Someone else corrected the recusal question meanwhile: the editor still shows its old version.
    stale = by_text["XX你是否申请回避"]
    assert client.patch(f"/sessions/{session_id}/utterances/{stale['id']}",
                        json={"version": stale["version"], "text": "XX你是否申请回避？"}).status_code == 200
    checks = _checks(settings, session_id)
    listed = [{"id": u["id"], "version": u["version"]} for u in lines]  # every line the page showed, stale too
    response = client.post(f"/sessions/{session_id}/utterances/replace",
                           json={"find": "XX", "replace": "律师", "lines": listed})
    assert response.status_code == 200, response.text
    result = response.json()
    assert sorted(u["text"] for u in result["changed"]) == ["你有权委托律师", "律师", "知道了律师"]
    refused = {r["id"]: r for r in result["refused"]}
    assert refused[stale["id"]]["status"] == 409 and refused[stale["id"]]["code"] == "version_stale"
    assert refused[by_text["你叫什么名字"]["id"]]["status"] == 422
    assert "不含要查找的文字" in refused[by_text["你叫什么名字"]["id"]]["detail"]
    assert len(result["changed"]) + len(result["refused"]) == len(LINES)
    # Each changed line is one correction, with its revision; the refused ones are untouched.
    for after in result["changed"]:
        revisions = client.get(f"/sessions/{session_id}/utterances/{after['id']}/revisions").json()
        assert len(revisions) == 1 and revisions[0]["before"]["text"].replace("XX", "律师") == after["text"]
    assert client.get(f"/sessions/{session_id}/utterances/{stale['id']}").json()["text"] == "XX你是否申请回避？"
    # The checklist ran once for the whole replace, and sees the corrected lines.
    assert _checks(settings, session_id) == checks + 1
    findings = {f["key"]: f for f in client.get(f"/sessions/{session_id}").json()["findings"]}
    assert findings["counsel"]["status"] == "satisfied"


def test_a_line_left_empty_is_refused_and_nothing_changed_checks_nothing(api):
    client, settings, session_id = api
    lines = {u["text"]: u for u in client.get(f"/sessions/{session_id}/utterances").json()}
    only = lines["XX"]
    checks = _checks(settings, session_id)
    response = client.post(f"/sessions/{session_id}/utterances/replace",
                           json={"find": "XX", "replace": " ", "lines": [{"id": only["id"], "version": only["version"]},
                                                                         {"id": 10**6, "version": 0}]})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["changed"] == []
    refused = {r["id"]: r for r in result["refused"]}
    assert refused[only["id"]]["status"] == 422 and "替换后此句为空" in refused[only["id"]]["detail"]
    assert refused[10**6]["status"] == 404
    assert _checks(settings, session_id) == checks
    assert client.get(f"/sessions/{session_id}/utterances/{only['id']}").json()["version"] == only["version"]


def test_a_bad_request_is_refused_whole(api):
    client, _, session_id = api
    line = client.get(f"/sessions/{session_id}/utterances").json()[0]
    listed = [{"id": line["id"], "version": line["version"]}]
    for body in ({"find": "", "replace": "x", "lines": listed}, {"find": "XX", "replace": "x", "lines": []}):
        assert client.post(f"/sessions/{session_id}/utterances/replace", json=body).status_code == 422
    assert client.get(f"/sessions/{session_id}/utterances/{line['id']}").json()["version"] == line["version"]
    # Who may replace (those who may correct the session) is in tests/api/test_authorization.py's table.
