"""Corrections through the API: revisions, the original text kept, 409 on a stale version, split and merge,
speaker relabelling, findings rechecked after a change, and the audit rows of reads and changes."""
import pytest

from engine.settings import Settings
from cases import Store
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session
from tests.backends import backend_of, integrity_errors

LINES = [(0.0, 4.0, "S1", "现在对你进行讯问你叫什么名字"),
         (4.5, 6.5, "S2", "我叫张三今年三十岁"),
         (7.0, 9.0, "S1", "你今天为什么来这里")]


@pytest.fixture
def api(tmp_path, backend):
    settings = Settings(home=tmp_path / "home", database_url=backend.url)
    with backend.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = stored_session(store, "C-1", LINES)
    with client_for(settings) as client:
        client.headers.update(bearer(client, "officer"))
        yield client, session_id, settings


def lines(client, session_id):
    return client.get(f"/sessions/{session_id}/utterances").json()


def test_edit_keeps_the_original_and_writes_a_revision(api):
    client, sid, _ = api
    first = lines(client, sid)[0]
    assert first["version"] == 1 and first["original_text"] == first["text"]
    response = client.patch(f"/sessions/{sid}/utterances/{first['id']}", json={"version": 1, "text": "现在对你依法进行讯问"})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["text"] == "现在对你依法进行讯问" and edited["original_text"] == first["text"]
    assert edited["version"] == 2 and edited["corrected"] is True
    revisions = client.get(f"/sessions/{sid}/utterances/{first['id']}/revisions").json()
    assert [(r["kind"], r["user"], r["before"]["text"], r["after"]["text"]) for r in revisions] == [
        ("text", "officer", first["text"], "现在对你依法进行讯问")]
    # the search index follows the correction
    assert any(h["utterance_id"] == first["id"] for h in client.get("/search", params={"q": "依法"}).json())


def test_a_stale_version_gets_409_with_the_current_one(api):
    client, sid, _ = api
    line = lines(client, sid)[1]
    url = f"/sessions/{sid}/utterances/{line['id']}"
    assert client.patch(url, json={"version": 1, "text": "我叫张三"}).status_code == 200
    conflict = client.patch(url, json={"version": 1, "text": "我叫李四"})
    assert conflict.status_code == 409
    assert conflict.json()["current_version"] == 2 and conflict.json()["current"]["text"] == "我叫张三"
    assert lines(client, sid)[1]["text"] == "我叫张三"  # no silent overwrite


def test_the_database_refuses_to_overwrite_the_original_text(api):
    _, sid, settings = api
    with pytest.raises(integrity_errors(), match="never"):
        backend_of(settings).execute(settings.home, "UPDATE utterances SET original_text = 'x' WHERE session_id = ?",
                                     (sid,))


def test_split_divides_words_and_times(api):
    client, sid, _ = api
    line = lines(client, sid)[0]  # 7 two-character words over 0-4 s
    response = client.post(f"/sessions/{sid}/utterances/{line['id']}/split", json={"version": 1, "at_s": 2.0})
    assert response.status_code == 200, response.text
    first, second = response.json()
    assert first["id"] == line["id"] and (first["start_s"], first["end_s"]) == (0.0, 2.0)
    assert (second["start_s"], second["end_s"]) == (2.0, 4.0)
    assert first["text"] + second["text"] == line["text"]
    assert all(w["end_s"] <= 2.0 + 1e-9 for w in first["words"]) and all(w["start_s"] >= 2.0 - 0.6 for w in second["words"])
    assert len(first["words"]) + len(second["words"]) == len(line["words"])
    assert first["text"] == "".join(w["text"] for w in first["words"])
    assert [u["id"] for u in lines(client, sid)][:2] == [first["id"], second["id"]]
    bad = client.post(f"/sessions/{sid}/utterances/{first['id']}/split", json={"version": first["version"], "at_s": 3.0})
    assert bad.status_code == 422 and "inside" in bad.json()["detail"]


def test_merge_joins_neighbours_only(api):
    client, sid, _ = api
    a, b, c = lines(client, sid)
    not_neighbours = client.post(f"/sessions/{sid}/utterances/{a['id']}/merge",
                                 json={"version": 1, "with_id": c["id"], "with_version": 1})
    assert not_neighbours.status_code == 422
    response = client.post(f"/sessions/{sid}/utterances/{b['id']}/merge",
                           json={"version": 1, "with_id": a["id"], "with_version": 1})
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] == a["id"] and merged["text"] == a["text"] + b["text"]
    assert (merged["start_s"], merged["end_s"]) == (a["start_s"], b["end_s"])
    assert [w["text"] for w in merged["words"]] == [w["text"] for w in a["words"] + b["words"]]
    assert [u["id"] for u in lines(client, sid)] == [a["id"], c["id"]]
    assert client.get(f"/sessions/{sid}/utterances/{b['id']}").status_code == 404
    kinds = {(r["utterance_id"], r["kind"]) for r in client.get(f"/sessions/{sid}/revisions").json()}
    assert {(a["id"], "merge"), (b["id"], "merge")} <= kinds


def test_relabel_changes_every_line_of_a_speaker(api):
    client, sid, _ = api
    speakers = {s["label"]: s for s in client.get(f"/sessions/{sid}/speakers").json()}
    url = f"/sessions/{sid}/speakers/S2"
    response = client.patch(url, json={"version": speakers["S2"]["version"], "role": "犯罪嫌疑人"})
    assert response.status_code == 200, response.text
    assert [u["role"] for u in lines(client, sid) if u["speaker"] == "S2"] == ["犯罪嫌疑人"]
    assert client.patch(url, json={"version": speakers["S2"]["version"], "role": "证人"}).status_code == 409
    moved = client.patch(f"/sessions/{sid}/speakers/S1", json={"version": speakers["S1"]["version"], "new_label": "S3"})
    assert moved.status_code == 200 and moved.json()["label"] == "S3"
    assert [u["speaker"] for u in lines(client, sid)] == ["S3", "S2", "S3"]
    assert all(u["version"] == 2 for u in lines(client, sid) if u["speaker"] == "S3")


def test_a_corrected_line_rechecks_the_findings(api):
    client, sid, _ = api
    status = {f["key"]: f["status"] for f in client.get(f"/sessions/{sid}/findings").json()}
    assert status.get("rights_notice", "missing") != "satisfied"
    third = lines(client, sid)[2]
    response = client.patch(f"/sessions/{sid}/utterances/{third['id']}",
                            json={"version": 1, "text": "这是《犯罪嫌疑人诉讼权利义务告知书》，你看清楚了吗？"})
    assert response.status_code == 200
    findings = {f["key"]: f for f in client.get(f"/sessions/{sid}/findings").json()}
    assert findings["rights_notice"]["status"] == "satisfied"
    assert third["id"] in findings["rights_notice"]["utterance_ids"]


def test_reads_and_changes_are_audited(api):
    client, sid, settings = api
    line = lines(client, sid)[0]
    client.get(f"/sessions/{sid}")
    client.get(f"/sessions/{sid}/export", params={"format": "txt"})
    client.patch(f"/sessions/{sid}/utterances/{line['id']}", json={"version": 1, "text": "改过的"})
    with Store.open(settings.home, database_url=settings.database_url) as store:
        rows = store.audit_rows(session_id=sid)
    actions = [r["action"] for r in rows]
    assert ["utterances.read", "session.read", "session.export", "utterance.edited"] == actions[:4]
    assert {r["user"] for r in rows} == {"officer"}
    assert all("改过的" not in r["content"] for r in rows)  # no transcript text in the audit
    with pytest.raises(integrity_errors(), match="append-only"):
        backend_of(settings).execute(settings.home, "DELETE FROM audit")
