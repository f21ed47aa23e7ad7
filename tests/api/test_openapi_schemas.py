"""The OpenAPI document is the API's contract: every JSON route says what it returns, and what it returns holds.

Routes with a `response_model` are validated by FastAPI on every answer (a key the model does not name, or a
wrong type, is a 500, which the other api tests and the fuzzer would see). The routes that build their
Response themselves (the JSON login, the JSON export, the upload's 202) are not: here their real answers are
checked against the document, and so is one real answer of every other JSON route, formats included.
"""
import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from cases import Store
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

pytestmark = pytest.mark.mechanism  # response shapes, whatever the words

CASE = "S-2026-1"


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心A", level="centre", parent="市局")
        store.add_unit("派出所A", level="unit", parent="中心A")
        store.add_user("admin", role="admin", unit="市局", password=PASSWORD)
        store.add_user("officer", role="officer", unit="派出所A", password=PASSWORD)
        (settings.home / "audio").mkdir(parents=True, exist_ok=True)
        (settings.home / "audio" / "x.wav").write_bytes(bytes(range(256)) * 16)
        stored_session(store, CASE, [(0.0, 3.0, "S1", "你是否申请回避"), (3.5, 6.0, "S2", "不申请回避我知道了")])
        store.set_case_unit(CASE, "派出所A")
    return settings


@pytest.fixture(scope="module")
def document(settings) -> dict:
    return create_app(settings).openapi()


def _resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _bare(schema: dict, document: dict) -> bool:
    """True for a schema that says nothing: {}, an object without properties, or a list of those."""
    schema = _resolve(schema, document)
    if not schema:
        return True
    if "anyOf" in schema:
        return any(_bare(branch, document) for branch in schema["anyOf"])
    if schema.get("type") == "array":
        return _bare(schema.get("items", {}), document)
    return schema.get("type") == "object" and not schema.get("properties")


def test_every_json_route_documents_what_it_returns(document):
    """FastAPI lists `application/json` for every route answering JSON (an empty schema when it knows nothing):
    each must name its fields. Only 204s and the audio file have no JSON."""
    checked, bare = [], []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith("2") and "application/json" in response.get("content", {}):
                    checked.append(f"{method.upper()} {path} {status}")
                    if _bare(response["content"]["application/json"].get("schema", {}), document):
                        bare.append(f"{method.upper()} {path} {status}: {response['content']['application/json']}")
    assert len(checked) >= 36, checked  # 41 operations: 4 answer 204, the audio is a file
    assert not bare, "JSON routes without a response schema:\n" + "\n".join(bare)


def test_a_bare_schema_is_told_from_a_described_one(document):
    """The check above can fail: the shapes FastAPI gives `-> dict` and `-> list[dict]` count as bare."""
    assert _bare({"type": "object", "additionalProperties": True}, document)
    assert _bare({"type": "array", "items": {"type": "object", "additionalProperties": True}}, document)
    assert _bare({}, document)
    assert not _bare({"$ref": "#/components/schemas/SessionPublic"}, document)
    assert not _bare({"type": "array", "items": {"type": "string"}}, document)


def _conforms(document: dict, method: str, path: str, response, *, media: str = "application/json") -> None:
    """The response's body is valid against what the document says this operation returns with its status."""
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    described = document["paths"][path][method]["responses"][str(response.status_code)]
    schema = described["content"][media]["schema"]
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]}, validate_formats=True)
    errors = [f"{error.instance_path}: {error.message}" for error in validator.iter_errors(response.json())]
    assert not errors, (method, path, errors)


def test_what_each_json_route_returns_is_what_the_document_says(settings, document):
    with client_for(settings) as client:
        admin, officer = bearer(client, "admin"), bearer(client, "officer")
        login = client.post("/auth/login", json={"name": "officer", "password": PASSWORD})
        _conforms(document, "post", "/auth/login", login)
        _conforms(document, "get", "/auth/me", client.get("/auth/me"))  # the cookie login: with its csrf_token
        _conforms(document, "get", "/auth/me", client.get("/auth/me", headers=officer))
        _conforms(document, "post", "/auth/tokens", client.post("/auth/tokens", json={"label": "x"}, headers=officer))
        _conforms(document, "get", "/auth/tokens", client.get("/auth/tokens", headers=officer))
        _conforms(document, "get", "/health", client.get("/health"))
        _conforms(document, "get", "/units", client.get("/units", headers=officer))
        _conforms(document, "post", "/units", client.post("/units", json={"name": "派出所B", "level": "unit",
                                                                           "parent": "中心A"}, headers=admin))
        _conforms(document, "get", "/users", client.get("/users", headers=admin))
        _conforms(document, "post", "/users", client.post("/users", json={
            "name": "prosecutor", "role": "prosecutor", "unit": "派出所A", "password": PASSWORD}, headers=admin))
        _conforms(document, "patch", "/users/{name}", client.patch("/users/prosecutor", json={"display_name": "检察官"},
                                                                    headers=admin))
        _conforms(document, "put", "/cases/{case_no}/unit",
                  client.put(f"/cases/{CASE}/unit", json={"unit": "派出所A"}, headers=admin))
        _conforms(document, "get", "/cases/{case_no}/prosecutors",
                  client.get(f"/cases/{CASE}/prosecutors", headers=admin))
        _conforms(document, "get", "/cases", client.get("/cases", headers=officer))
        _conforms(document, "post", "/cases", client.post("/cases", json={"case_no": "S-2026-2", "title": "盗窃案"},
                                                          headers=officer))
        _conforms(document, "patch", "/cases/{case_no}", client.patch("/cases/S-2026-2", json={"title": "抢劫案"},
                                                                      headers=officer))
        for _ in range(5):  # held after five failures: an entry for the administrator's list
            client.post("/auth/login", json={"name": "officer", "password": "wrong-pass"})
        _conforms(document, "get", "/users/login-locks", client.get("/users/login-locks", headers=admin))
        _conforms(document, "post", "/users/{name}/unlock", client.post("/users/officer/unlock", headers=admin))
        _conforms(document, "get", "/cases/{case_no}", client.get(f"/cases/{CASE}", headers=officer))
        _conforms(document, "post", "/cases/{case_no}/people", client.post(
            f"/cases/{CASE}/people", json={"name": "张三", "role": "犯罪嫌疑人", "wristband_id": "W-1"}, headers=officer))
        _conforms(document, "get", "/cases/{case_no}/people", client.get(f"/cases/{CASE}/people", headers=officer))

        session_id = client.get("/sessions", headers=officer).json()[0]["id"]
        base = "/sessions/{session_id}"
        _conforms(document, "get", "/sessions", client.get("/sessions", headers=officer))
        _conforms(document, "get", base, client.get(f"/sessions/{session_id}", headers=officer))
        _conforms(document, "put", f"{base}/officers",
                  client.put(f"/sessions/{session_id}/officers", json={"officers": ["officer"]}, headers=officer))
        lines = client.get(f"/sessions/{session_id}/utterances", headers=officer)
        _conforms(document, "get", f"{base}/utterances", lines)
        first, second = lines.json()
        line = f"{base}/utterances/{{utterance_id}}"
        _conforms(document, "get", line, client.get(f"/sessions/{session_id}/utterances/{first['id']}", headers=officer))
        edited = client.patch(f"/sessions/{session_id}/utterances/{first['id']}",
                              json={"version": first["version"], "text": "你是否申请回避？"}, headers=officer)
        _conforms(document, "patch", line, edited)
        split = client.post(f"/sessions/{session_id}/utterances/{second['id']}/split",
                            json={"version": second["version"], "at_s": 4.5}, headers=officer)
        _conforms(document, "post", f"{line}/split", split)
        cut, rest = split.json()
        _conforms(document, "post", f"{line}/merge", client.post(
            f"/sessions/{session_id}/utterances/{cut['id']}/merge",
            json={"version": cut["version"], "with_id": rest["id"], "with_version": rest["version"]}, headers=officer))
        _conforms(document, "get", f"{line}/revisions",
                  client.get(f"/sessions/{session_id}/utterances/{first['id']}/revisions", headers=officer))
        revisions = client.get(f"/sessions/{session_id}/revisions", headers=officer)
        _conforms(document, "get", f"{base}/revisions", revisions)
        assert {r["kind"] for r in revisions.json()} == {"text", "split", "merge"}

        speakers = client.get(f"/sessions/{session_id}/speakers", headers=officer)
        _conforms(document, "get", f"{base}/speakers", speakers)
        speaker = speakers.json()[0]
        _conforms(document, "patch", f"{base}/speakers/{{label}}", client.patch(
            f"/sessions/{session_id}/speakers/{speaker['label']}", json={"version": speaker["version"], "role": "讯问人"},
            headers=officer))

        _conforms(document, "get", f"{base}/findings", client.get(f"/sessions/{session_id}/findings", headers=officer))
        _conforms(document, "get", f"{base}/verify", client.get(f"/sessions/{session_id}/verify", headers=officer))
        _conforms(document, "get", f"{base}/live", client.get(f"/sessions/{session_id}/live", headers=officer))
        export = client.get(f"/sessions/{session_id}/export", params={"format": "json"}, headers=officer)
        _conforms(document, "get", f"{base}/export", export)
        assert export.json()["integrity"]["entries"] > 0

        hits = client.get("/search", params={"q": "回避"}, headers=officer)
        _conforms(document, "get", "/search", hits)
        assert hits.json(), "the search found nothing to check"
        matches = client.get("/search/sessions", params={"missing": "any"}, headers=officer)
        _conforms(document, "get", "/search/sessions", matches)
        assert matches.json() and matches.json()[0]["unmet"], "no session with unmet statements to check"


def test_an_accepted_upload_answers_as_documented(settings, document, data_dir, whisper_model):
    with TestClient(create_app(settings, model=whisper_model), base_url="https://testserver") as client:
        clip = data_dir / "funasr_long_25s.flac"
        response = client.post(f"/cases/{CASE}/recordings", headers=bearer(client, "officer"),
                               files={"file": (clip.name, clip.read_bytes(), "audio/flac")})
        assert response.status_code == 202, response.text
        _conforms(document, "post", "/cases/{case_no}/recordings", response)
