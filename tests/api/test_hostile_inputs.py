"""Hostile and broken input through the service: every kind gets a clear 4xx (a JSON `detail` naming the problem,
413 for size) and leaves what is stored exactly as it was; valid but unusual audio (8 kHz, 192 kHz, 8 seats, a
damaged mp3 frame, silence) is accepted and transcribed; ids that look like paths never give a 500.

"Exactly as it was": every table's rows and every file under the audio folder with its size, compared before
and after each request (tests/api/hostile_audio.py makes the files; test_hostile_cli.py sends them to the CLI).
"""
import sqlite3

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.settings import Settings
from cases import Store
from tests.api import hostile_audio
from tests.api.helpers import PASSWORD, bearer, stored_session, wait_for_status

CASE = "H-2026-1"
ALLOWED = {400, 401, 403, 404, 405, 409, 413, 422}


def snapshot(home) -> tuple[dict, dict]:
    """Every table's rows (in rowid order) and every file under audio/ with its size."""
    tables: dict[str, list] = {}
    with sqlite3.connect(home / "bilu.db") as db:
        names = [r[0] for r in db.execute("select name from sqlite_master where type = 'table' "
                                          "and name not like 'sqlite_%' order by name")]
        for name in names:
            try:
                tables[name] = db.execute(f'select * from "{name}" order by rowid').fetchall()
            except sqlite3.OperationalError:  # a table without rowid
                tables[name] = sorted(db.execute(f'select * from "{name}"').fetchall(), key=repr)
    files = {str(p.relative_to(home)): p.stat().st_size for p in (home / "audio").rglob("*") if p.is_file()}
    return tables, files


@pytest.fixture(scope="module")
def service(tmp_path_factory, whisper_model, data_dir):
    settings = Settings(home=tmp_path_factory.mktemp("home"), max_upload_mb=4)
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心A", level="centre", parent="市局")
        store.add_unit("派出所A", level="unit", parent="中心A")
        store.add_user("officer", role="officer", unit="派出所A", password=PASSWORD)
        (settings.home / "audio").mkdir(parents=True, exist_ok=True)
        (settings.home / "audio" / "kept.wav").write_bytes((data_dir / hostile_audio.CLIP).read_bytes())
        session_id = stored_session(store, CASE, [(0.0, 2.0, "S1", "你是否申请回避"), (2.5, 4.0, "S2", "不申请")],
                                    audio_path="audio/kept.wav")
        store.set_case_unit(CASE, "派出所A")
        utterance_id = store.utterances(session_id)[0]["id"]
    with TestClient(create_app(settings, model=whisper_model), base_url="https://testserver") as client:
        headers = bearer(client, "officer")
        yield client, headers, settings, {"session_id": session_id, "utterance_id": utterance_id}


def upload(client, headers, path, *, case_no: str = CASE, data: dict | None = None):
    with open(path, "rb") as file:
        return client.post(f"/cases/{case_no}/recordings", headers=headers,
                           files={"file": (path.name, file, "application/octet-stream")}, data=data or {})


@pytest.mark.mechanism  # refused before recognition, whatever the words
@pytest.mark.parametrize(("kind", "make", "message"), hostile_audio.REFUSED, ids=[k[0] for k in hostile_audio.REFUSED])
def test_broken_audio_gets_422_naming_the_problem_and_nothing_changes(service, tmp_path, data_dir, kind, make,
                                                                      message):
    client, headers, settings, _ = service
    path = make(tmp_path, data_dir)
    before = snapshot(settings.home)
    response = upload(client, headers, path)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert message in detail and path.name in detail, detail
    assert snapshot(settings.home) == before


@pytest.mark.parametrize(("kind", "make", "expect"), hostile_audio.ACCEPTED, ids=[k[0] for k in hostile_audio.ACCEPTED])
def test_unusual_but_valid_audio_is_accepted_and_transcribed(service, tmp_path, data_dir, manifest, kind, make, expect):
    client, headers, settings, _ = service
    path = make(tmp_path, data_dir)
    response = upload(client, headers, path, data={"speakers": "1"} if kind != "8-channels" else {})
    assert response.status_code == 202, response.text
    session_id = response.json()["session_id"]
    session = wait_for_status(client, session_id, headers)
    assert session["status"] == "done", session
    utterances = client.get(f"/sessions/{session_id}/utterances", headers=headers).json()
    text = "".join(u["text"] for u in utterances)
    if expect.endswith("speech"):
        reference = manifest[hostile_audio.CLIP]["transcript"]
        limit = 0.6 if expect == "narrowband speech" else 0.35
        assert hostile_audio.character_error_rate(reference, text) <= limit, text
    elif expect == "empty":
        assert utterances == [], text
    if kind == "8-channels":  # every seat kept; the voice goes to the seat whose microphone hears it loudest
        assert session["channels"] == 8
        assert {u["channel"] for u in utterances} == {3}
    with sqlite3.connect(settings.home / "bilu.db") as db:  # NaN is never stored: the columns hold real numbers
        bad = db.execute("select count(*) from utterances where start_ms is null or end_ms is null "
                         "or start_ms != start_ms or end_ms != end_ms").fetchone()[0]
    assert bad == 0


def multipart(parts: list[tuple[bytes, bytes]], boundary: bytes = b"b0undary") -> tuple[bytes, dict]:
    """A hand-built multipart body: (Content-Disposition parameters, content) per part."""
    body = b"".join(b"--" + boundary + b"\r\nContent-Disposition: form-data; " + disposition + b"\r\n\r\n"
                    + content + b"\r\n" for disposition, content in parts) + b"--" + boundary + b"--\r\n"
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"}


def clip_bytes(data_dir) -> bytes:
    return (data_dir / hostile_audio.CLIP).read_bytes()


FILE = b'name="file"; filename="a.wav"'
HTTP_CASES = [
    # (id, build(data_dir) -> (url, content, extra headers), status, words in the detail)
    ("no-file-field", lambda d: (f"/cases/{CASE}/recordings", *multipart([(b'name="room"', "一号室".encode())])),
     422, "holds no file"),
    ("two-files", lambda d: (f"/cases/{CASE}/recordings", *multipart([(FILE, clip_bytes(d)), (FILE, clip_bytes(d))])),
     422, "2 files"),
    ("file-in-another-field", lambda d: (f"/cases/{CASE}/recordings",
                                         *multipart([(b'name="audio"; filename="a.wav"', clip_bytes(d))])),
     422, "field 'audio'"),
    ("empty-filename", lambda d: (f"/cases/{CASE}/recordings", *multipart([(b'name="file"; filename=""', clip_bytes(d))])),
     422, "no name"),
    ("filename-with-dotdot", lambda d: (f"/cases/{CASE}/recordings",
                                        *multipart([(b'name="file"; filename="../../etc/passwd"', clip_bytes(d))])),
     422, "file name"),
    ("filename-with-backslash", lambda d: (f"/cases/{CASE}/recordings",
                                           *multipart([(b'name="file"; filename="..\\\\x.wav"', clip_bytes(d))])),
     422, "file name"),
    ("latin1-form-field", lambda d: (f"/cases/{CASE}/recordings",
                                     *multipart([(FILE, clip_bytes(d)), (b'name="room"', "Verhörraum".encode("latin-1"))])),
     422, "not UTF-8"),
    ("non-utf8-filename", lambda d: (f"/cases/{CASE}/recordings",
                                     *multipart([(b'name="file"; filename="\xff\xfe.wav"', clip_bytes(d))])),
     422, "not UTF-8"),
    ("unknown-field", lambda d: (f"/cases/{CASE}/recordings",
                                 *multipart([(FILE, clip_bytes(d)), (b'name="delete_all"', b"yes")])),
     422, "unknown form field"),
    ("field-twice", lambda d: (f"/cases/{CASE}/recordings",
                               *multipart([(FILE, clip_bytes(d)), (b'name="room"', b"A"), (b'name="room"', b"B")])),
     422, "given 2 times"),
    ("json-body", lambda d: (f"/cases/{CASE}/recordings", b'{"file": "a.wav"}', {"Content-Type": "application/json"}),
     422, "multipart/form-data"),
    ("garbage-multipart", lambda d: (f"/cases/{CASE}/recordings", b"\x00\x01 not multipart at all",
                                     {"Content-Type": "multipart/form-data; boundary=zzz"}),
     422, "malformed"),
    ("room-path-like", lambda d: (f"/cases/{CASE}/recordings",
                                  *multipart([(FILE, clip_bytes(d)), (b'name="room"', b"../../etc/passwd")])),
     422, "room name"),
    ("room-with-newline", lambda d: (f"/cases/{CASE}/recordings",
                                     *multipart([(FILE, clip_bytes(d)), (b'name="room"', b"A\nB")])),
     422, "room name"),
    ("seat-roles-not-roles", lambda d: (f"/cases/{CASE}/recordings",
                                        *multipart([(FILE, clip_bytes(d)), (b'name="seat_roles"', "讯问人,法官".encode())])),
     422, "法官"),
    ("speakers-zero", lambda d: (f"/cases/{CASE}/recordings", *multipart([(FILE, clip_bytes(d)), (b'name="speakers"', b"0")])),
     422, "speakers"),
    ("speakers-huge", lambda d: (f"/cases/{CASE}/recordings",
                                 *multipart([(FILE, clip_bytes(d)), (b'name="speakers"', b"9" * 40)])),
     422, "speakers"),
    ("unknown-rule-set", lambda d: (f"/cases/{CASE}/recordings",
                                    *multipart([(FILE, clip_bytes(d)), (b'name="rules"', b"nonesuch")])),
     422, "nonesuch"),
    ("unknown-condition", lambda d: (f"/cases/{CASE}/recordings",
                                     *multipart([(FILE, clip_bytes(d)), (b'name="conditions"', b"minor,astronaut")])),
     422, "astronaut"),
    ("huge-field", lambda d: (f"/cases/{CASE}/recordings",
                              *multipart([(FILE, clip_bytes(d)), (b'name="room"', b"x" * 100_000)])),
     422, "longer than"),
    ("case-10000-chars", lambda d: ("/cases/" + "A" * 10_000 + "/recordings", *multipart([(FILE, clip_bytes(d))])),
     422, "10000 characters"),
    ("case-with-nul", lambda d: ("/cases/A%00B/recordings", *multipart([(FILE, clip_bytes(d))])), 422, "case number"),
    ("case-with-newline", lambda d: ("/cases/A%0AB/recordings", *multipart([(FILE, clip_bytes(d))])), 422, "case number"),
    ("case-dotdot", lambda d: ("/cases/%2E%2E/recordings", *multipart([(FILE, clip_bytes(d))])), 422, "case number"),
    ("case-non-utf8", lambda d: ("/cases/A%FF%FE/recordings", *multipart([(FILE, clip_bytes(d))])), 422, "case number"),
    # The router decodes %2F before matching: /cases/A/B/recordings is no route at all.
    ("case-with-slash", lambda d: ("/cases/A%2FB/recordings", *multipart([(FILE, clip_bytes(d))])), 404, "Not Found"),
    ("huge-content-length", lambda d: (f"/cases/{CASE}/recordings", b"x" * 100,
                                       {"Content-Type": "multipart/form-data; boundary=b",
                                        "Content-Length": str(2 * 1024 ** 3)}),
     413, "limit of 4 MiB"),
    ("content-length-not-a-number", lambda d: (f"/cases/{CASE}/recordings", b"x" * 100,
                                               {"Content-Type": "multipart/form-data; boundary=b",
                                                "Content-Length": "lots"}),
     422, "Content-Length"),
]


@pytest.mark.mechanism  # refused before recognition, whatever the words
@pytest.mark.parametrize(("kind", "build", "status", "words"), HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_bad_upload_requests_get_a_clear_4xx_and_nothing_changes(service, data_dir, kind, build, status, words):
    client, headers, settings, _ = service
    url, content, extra = build(data_dir)
    before = snapshot(settings.home)
    response = client.post(url, headers={**headers, **extra}, content=content)
    assert response.status_code == status, response.text[:300]
    assert words in response.json()["detail"], response.text[:300]
    assert snapshot(settings.home) == before
    assert not list((settings.home / "audio" / ".incoming").glob("*"))


@pytest.mark.mechanism  # refused before recognition, whatever the words
def test_a_chunked_body_past_the_cap_is_refused_with_413_while_reading(service, data_dir):
    _, _, settings, _ = service
    small = Settings(home=settings.home, max_upload_mb=1)  # the same home, a service with a 1 MiB cap
    body, content_type = multipart([(FILE, clip_bytes(data_dir) * 30)])  # about 4 MiB
    assert len(body) > 3 << 20
    with TestClient(create_app(small), base_url="https://testserver") as client:
        headers = bearer(client, "officer")
        before = snapshot(settings.home)
        chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))  # a generator: sent chunked, no length
        response = client.post(f"/cases/{CASE}/recordings", headers={**headers, **content_type}, content=chunks)
    assert response.status_code == 413, response.text
    assert "limit of 1 MiB" in response.json()["detail"]
    assert snapshot(settings.home) == before
    assert not list((settings.home / "audio" / ".incoming").glob("*"))


S, U = "{session_id}", "{utterance_id}"
PATH_LIKE = "..%2F..%2Fetc%2Fpasswd"
ID_CASES = [
    # (method, url, json body); every one must answer 404 or 422 (or 405), never 500, and change nothing
    ("GET", f"/sessions/{PATH_LIKE}", None),
    ("GET", "/sessions/../../etc/passwd", None),
    ("GET", "/sessions/-1", None),
    ("GET", "/sessions/99999999999999999999999", None),
    ("GET", "/sessions/9223372036854775808/utterances", None),
    ("GET", "/sessions/1e9", None),
    ("GET", f"/sessions/{S}/utterances/{PATH_LIKE}", None),
    ("GET", f"/sessions/{S}/utterances/-5", None),
    ("GET", f"/sessions/{S}/utterances/99999999999999999999999", None),
    ("GET", f"/sessions/{S}/utterances/99999999999999999999999/revisions", None),
    ("PATCH", f"/sessions/{S}/utterances/99999999999999999999999", {"version": 0, "text": "改"}),
    ("PATCH", f"/sessions/{S}/utterances/{U}", {"version": 99999999999999999999999, "text": "改"}),
    ("PATCH", f"/sessions/{S}/utterances/{U}", {"version": "one", "text": "改"}),
    ("PATCH", f"/sessions/{S}/utterances/{U}", {"version": 0, "text": ["改"]}),
    ("PATCH", f"/sessions/{S}/utterances/{U}", {"version": 0, "text": "改" * 3_500_000}),  # a 10 MB body
    ("PATCH", f"/sessions/{S}/utterances/{U}", None),
    ("POST", f"/sessions/{S}/utterances/{U}/split", {"version": 0, "at_s": "NaN"}),
    ("POST", f"/sessions/{S}/utterances/{U}/split", {"version": 0, "at_s": 1e308}),
    ("POST", f"/sessions/{S}/utterances/{U}/merge", {"version": 0, "with_id": 99999999999999999999999,
                                                       "with_version": 0}),
    ("PATCH", f"/sessions/{S}/speakers/{PATH_LIKE}", {"version": 0, "role": "讯问人"}),
    ("PATCH", f"/sessions/{S}/speakers/S1", {"version": 0, "role": "<script>alert(1)</script>"}),
    ("PATCH", f"/sessions/{S}/speakers/S1", {"version": 0, "new_label": "../../etc/passwd"}),
    ("GET", f"/cases/{PATH_LIKE}", None),
    ("GET", "/cases/" + "A" * 10_000, None),
    ("GET", "/cases/A%00B/people", None),
    ("GET", "/cases/A%FF/page", None),
    ("POST", f"/cases/{PATH_LIKE}/people", {"name": "王某", "role": "证人"}),
    ("POST", f"/cases/{CASE}/people", {"name": "王某", "role": "法官"}),
    ("POST", f"/cases/{CASE}/people", {"name": 5, "role": ["证人"]}),
    ("PUT", f"/sessions/{S}/officers", {"officers": "officer"}),
    ("PUT", f"/sessions/{S}/officers", {"officers": ["../../etc/passwd"]}),
    ("POST", f"/rooms/{PATH_LIKE}/sessions", {"case_no": CASE, "seat_roles": "法官"}),
    ("POST", "/rooms/一号室/sessions", {"case_no": "../../etc/passwd"}),
    ("POST", "/rooms/一号室/sessions", {"case_no": CASE, "channels": 99999999999999999999999}),
    ("POST", f"/sessions/{S}/stop", None),
    ("GET", f"/sessions/{S}/export?format=../../etc/passwd", None),
    ("GET", "/search?q=" + "查" * 5000, None),
    ("GET", "/search?q=%22%20OR%20*", None),
    ("GET", "/search?q=a&limit=-1", None),
    ("GET", "/search?q=a&date_from=not-a-date", None),
    ("GET", f"/sessions/{S}/page?t=-1", None),
    ("DELETE", "/auth/tokens/99999999999999999999999", None),
]
SEARCH_OK = {"/search?q=" + "查" * 5000, "/search?q=%22%20OR%20*"}  # a query that finds nothing is a fine answer


@pytest.mark.mechanism  # refused before recognition, whatever the words
@pytest.mark.parametrize(("method", "url", "body"), ID_CASES, ids=[f"{m} {u[:60]}" for m, u, _ in ID_CASES])
def test_bad_ids_and_bodies_get_404_or_422_never_500(service, method, url, body):
    client, headers, settings, ids = service
    before = snapshot(settings.home)
    response = client.request(method, url.format(**ids), json=body, headers=headers)
    allowed = ALLOWED | ({200} if url in SEARCH_OK else set())
    assert response.status_code in allowed, f"{response.status_code}: {response.text[:300]}"
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        assert response.json()["detail"]
    tables, files = snapshot(settings.home)
    tables_before, files_before = before
    tables.pop("audit", None), tables_before.pop("audit", None)  # reads are audited; nothing else may change
    assert (tables, files) == (tables_before, files_before)
