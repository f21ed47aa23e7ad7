"""Every route against every kind of user: the expected status of each cell, in one table.

The world: 市局 (city) > 中心A, 中心B (centres) > 派出所A, 派出所B under 中心A, 派出所C under 中心B.
Case A-1 belongs to 派出所A. The test enumerates app.routes and fails if a route is not in ROUTES: a new
route must say here who may use it.

Changes are sent with a stale version, so that "allowed" shows as 409 (let in, stopped only by the version
check) and the table runs without altering the transcript; real corrections are in test_corrections.py.
"""
import pytest
from fastapi.routing import iter_route_contexts

from cases import Store
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

UNITS = [("市局", "city", None), ("中心A", "centre", "市局"), ("中心B", "centre", "市局"),
         ("派出所A", "unit", "中心A"), ("派出所B", "unit", "中心A"), ("派出所C", "unit", "中心B")]
USERS = {  # name: (role, unit)
    "officer_own": ("officer", "派出所A"),
    "officer_other": ("officer", "派出所C"),
    "recorder_own": ("recorder", "派出所A"),
    "sup_unit": ("supervisor", "派出所A"),
    "sup_sibling": ("supervisor", "派出所B"),
    "sup_centre": ("supervisor", "中心A"),
    "sup_other_centre": ("supervisor", "中心B"),
    "sup_city": ("supervisor", "市局"),
    "pros_assigned": ("prosecutor", "市局"),
    "pros_other": ("prosecutor", "市局"),
    "admin": ("admin", "市局"),
}
WHO = [*USERS, "anonymous"]

# Expected status per kind of route (columns) and user (rows). "ok": the route's own success status.
TABLE = """
                  public self  list  read  page  export audio search correct relabel admin  open  withdraw
officer_own       ok     ok    ok    ok    ok    ok     ok    ok     ok      ok      403    ok    403
officer_other     ok     ok    ok    404   404   404    404   ok     404     404     403    ok    404
recorder_own      ok     ok    ok    ok    ok    ok     ok    ok     ok      ok      403    ok    403
sup_unit          ok     ok    ok    ok    ok    ok     ok    ok     ok      ok      403    ok    ok
sup_sibling       ok     ok    ok    404   404   404    404   ok     404     404     403    ok    404
sup_centre        ok     ok    ok    ok    ok    ok     ok    ok     ok      ok      403    ok    ok
sup_other_centre  ok     ok    ok    404   404   404    404   ok     404     404     403    ok    404
sup_city          ok     ok    ok    ok    ok    ok     ok    ok     ok      ok      403    ok    ok
pros_assigned     ok     ok    ok    ok    ok    ok     ok    ok     403     403     403    403   403
pros_other        ok     ok    ok    404   404   404    404   ok     404     404     403    403   404
admin             ok     ok    ok    ok    ok    ok     ok    ok     ok      ok      ok     ok    ok
anonymous         ok     401   401   401   303   401    401   401    401     401     401    401   401
"""


def parse_table(text: str) -> dict[tuple[str, str], str]:
    header, *rows = [line.split() for line in text.strip().splitlines()]
    return {(row[0], kind): cell for row in rows for kind, cell in zip(header, row[1:], strict=True)}


EXPECTED = parse_table(TABLE)

# (method, path) -> (kind, url, json body or None, the status when allowed)
S, U, C = "{session_id}", "{utterance_id}", "A-1"
ROUTES = {
    ("GET", "/health"): ("public", "/health", None, 200),
    ("GET", "/login"): ("public", "/login", None, 200),
    ("POST", "/auth/login"): ("public", "/auth/login", {"name": "admin", "password": PASSWORD}, 200),
    ("POST", "/auth/logout"): ("self", "/auth/logout", None, 204),
    ("GET", "/auth/me"): ("self", "/auth/me", None, 200),
    ("POST", "/auth/tokens"): ("self", "/auth/tokens", {"label": "table"}, 200),
    ("GET", "/auth/tokens"): ("self", "/auth/tokens", None, 200),
    ("DELETE", "/auth/tokens/{token_id}"): ("self", "/auth/tokens/999999", None, 404),
    ("GET", "/openapi.json"): ("list", "/openapi.json", None, 200),
    ("GET", "/docs"): ("page_public", "/docs", None, 200),
    ("GET", "/"): ("page_public", "/", None, 200),
    ("GET", "/favicon.ico"): ("public", "/favicon.ico", None, 200),
    ("GET", "/units"): ("list", "/units", None, 200),
    ("GET", "/users/login-locks"): ("admin", "/users/login-locks", None, 200),
    ("POST", "/users/{name}/unlock"): ("admin", "/users/officer_own/unlock", None, 200),
    # Opening a case under a number in use: an allowed user gets past the role and unit checks to the 409.
    ("POST", "/cases"): ("open", "/cases", {"case_no": C}, 409),
    ("PATCH", "/cases/{case_no}"): ("correct", f"/cases/{C}", {"title": "盗窃案"}, 200),
    ("POST", "/units"): ("admin", "/units", {"name": "市局", "level": "city"}, 409),
    ("GET", "/users"): ("admin", "/users", None, 200),
    ("POST", "/users"): ("admin", "/users", {"name": "admin", "role": "officer", "unit": "市局",
                                             "password": PASSWORD}, 409),
    ("PATCH", "/users/{name}"): ("admin", "/users/officer_own", {"display_name": "张警官"}, 200),
    ("PUT", "/cases/{case_no}/unit"): ("admin", f"/cases/{C}/unit", {"unit": "派出所A"}, 200),
    ("PUT", "/cases/{case_no}/prosecutors/{user_name}"): ("admin", f"/cases/{C}/prosecutors/pros_assigned", None, 204),
    ("DELETE", "/cases/{case_no}/prosecutors/{user_name}"): ("admin", f"/cases/{C}/prosecutors/nobody", None, 404),
    ("GET", "/cases/{case_no}/prosecutors"): ("read", f"/cases/{C}/prosecutors", None, 200),
    ("GET", "/cases"): ("list", "/cases", None, 200),
    ("GET", "/cases/{case_no}"): ("read", f"/cases/{C}", None, 200),
    ("GET", "/cases/{case_no}/people"): ("read", f"/cases/{C}/people", None, 200),
    ("POST", "/cases/{case_no}/people"): ("correct", f"/cases/{C}/people", {"name": "王某", "role": "犯罪嫌疑人",
                                                                          "wristband_id": "WB-0042"}, 201),
    ("GET", "/cases/{case_no}/procedure"): ("read", f"/cases/{C}/procedure", None, 200),
    ("PUT", "/cases/{case_no}/procedure"): ("correct", f"/cases/{C}/procedure", {"guardian": "王父"}, 200),
    ("GET", "/sessions/{session_id}/guardrails"): ("read", f"/sessions/{S}/guardrails", None, 200),
    # The record's read-back (issue 20), started in the world: starting it again is 409, closing it before anyone
    # signed is 409, a signature with a point outside its pad is refused: allowed users get that far, nothing changes.
    ("GET", "/sessions/{session_id}/record-review"): ("read", f"/sessions/{S}/record-review", None, 200),
    ("POST", "/sessions/{session_id}/record-review"): ("correct", f"/sessions/{S}/record-review", None, 409),
    ("POST", "/sessions/{session_id}/record-review/close"): ("correct", f"/sessions/{S}/record-review/close",
                                                             {"outcome": "signed"}, 409),
    ("POST", "/sessions/{session_id}/signatures"): ("correct", f"/sessions/{S}/signatures", {
        "signer_role": "讯问人", "signer_name": "张", "width": 40, "height": 20, "strokes": [[{"x": 99, "y": 1}]]},
        422),
    ("POST", "/sessions/{session_id}/signatures/pdf"): ("correct", f"/sessions/{S}/signatures/pdf", None, 422),
    ("GET", "/sessions/{session_id}/signatures/{signature_id}/image"):
        ("read", f"/sessions/{S}/signatures/999999/image", None, 404),
    ("GET", "/sessions/{session_id}/fault-statement"): ("read", f"/sessions/{S}/fault-statement", None, 200),
    ("GET", "/sessions/{session_id}/sign/page"): ("page", f"/sessions/{S}/sign/page", None, 200),
    ("GET", "/sessions"): ("list", "/sessions", None, 200),
    ("GET", "/sessions/{session_id}"): ("read", f"/sessions/{S}", None, 200),
    ("GET", "/sessions/{session_id}/utterances"): ("read", f"/sessions/{S}/utterances", None, 200),
    ("GET", "/sessions/{session_id}/utterances/{utterance_id}"): ("read", f"/sessions/{S}/utterances/{U}", None, 200),
    ("GET", "/sessions/{session_id}/utterances/{utterance_id}/revisions"):
        ("read", f"/sessions/{S}/utterances/{U}/revisions", None, 200),
    ("GET", "/sessions/{session_id}/revisions"): ("read", f"/sessions/{S}/revisions", None, 200),
    ("GET", "/sessions/{session_id}/speakers"): ("read", f"/sessions/{S}/speakers", None, 200),
    ("GET", "/sessions/{session_id}/findings"): ("read", f"/sessions/{S}/findings", None, 200),
    ("GET", "/sessions/{session_id}/verify"): ("read", f"/sessions/{S}/verify", None, 200),
    ("GET", "/sessions/{session_id}/live"): ("read", f"/sessions/{S}/live", None, 200),
    ("GET", "/sessions/{session_id}/progress"): ("read", f"/sessions/{S}/progress", None, 200),
    ("GET", "/sessions/{session_id}/page"): ("page", f"/sessions/{S}/page", None, 200),
    ("GET", "/cases/{case_no}/page"): ("page", f"/cases/{C}/page", None, 200),
    ("GET", "/search/page"): ("page_public", "/search/page?q=权利", None, 200),
    ("GET", "/sessions/{session_id}/export"): ("export", f"/sessions/{S}/export?format=docx", None, 200),
    ("GET", "/sessions/{session_id}/audio"): ("audio", f"/sessions/{S}/audio", None, 206),
    ("GET", "/search"): ("search", "/search?q=权利", None, 200),
    ("GET", "/search/sessions"): ("search", "/search/sessions?missing=any", None, 200),
    ("PATCH", "/sessions/{session_id}/utterances/{utterance_id}"):
        ("correct", f"/sessions/{S}/utterances/{U}", {"version": 0, "text": "改"}, 409),
    # Lines that do not exist are refused one by one (200, nothing changed): the table changes nothing.
    ("POST", "/sessions/{session_id}/utterances/replace"):
        ("correct", f"/sessions/{S}/utterances/replace",
         {"find": "改", "replace": "正", "lines": [{"id": 0, "version": 0}]}, 200),
    ("POST", "/sessions/{session_id}/utterances/{utterance_id}/split"):
        ("correct", f"/sessions/{S}/utterances/{U}/split", {"version": 0, "at_s": 1.0}, 409),
    ("POST", "/sessions/{session_id}/utterances/{utterance_id}/merge"):
        ("correct", f"/sessions/{S}/utterances/{U}/merge", {"version": 0, "with_id": 0, "with_version": 0}, 409),
    ("POST", "/sessions/{session_id}/utterances/{utterance_id}/suspect"):
        ("correct", f"/sessions/{S}/utterances/{U}/suspect", {"version": 0, "decision": "restored"}, 409),
    ("PUT", "/sessions/{session_id}/officers"): ("correct", f"/sessions/{S}/officers", {"officers": ["officer_own"]},
                                                 200),
    # An unknown seat role is refused (422) only after the access checks: an allowed user gets that far and no
    # recording starts.
    ("POST", "/rooms/{room}/sessions"): ("correct", "/rooms/一号室/sessions", {"case_no": C, "seat_roles": "法官"},
                                         422),
    ("POST", "/sessions/{session_id}/stop"): ("correct", f"/sessions/{S}/stop", None, 409),
    ("GET", "/rooms"): ("list", "/rooms", None, 200),
    # An uploaded session is no room agent's open recording: an administrator gets past the role check to the 409.
    ("POST", "/sessions/{session_id}/finish-abandoned"): ("admin", f"/sessions/{S}/finish-abandoned", None, 409),
    # An empty reason is refused (422) only after the access checks: nothing is withdrawn by the table.
    ("POST", "/sessions/{session_id}/withdraw"): ("withdraw", f"/sessions/{S}/withdraw", {"reason": ""}, 422),
    # Sent without a file: an allowed user gets past the access checks to the 422 for the missing recording.
    ("POST", "/cases/{case_no}/recordings"): ("correct", f"/cases/{C}/recordings", None, 422),
    ("PATCH", "/sessions/{session_id}/speakers/{label}"):
        ("relabel", f"/sessions/{S}/speakers/S2", {"version": 0, "role": "犯罪嫌疑人"}, 409),
    # Sent without a file: an allowed user gets past the access checks to the 422 for the missing record.
    ("POST", "/sessions/{session_id}/written-record"): ("correct", f"/sessions/{S}/written-record", None, 422),
    ("GET", "/sessions/{session_id}/written-record/versions"): ("read", f"/sessions/{S}/written-record/versions",
                                                                None, 200),
    ("GET", "/sessions/{session_id}/written-record/check"): ("read", f"/sessions/{S}/written-record/check", None, 200),
    ("GET", "/sessions/{session_id}/written-record/report.docx"):
        ("export", f"/sessions/{S}/written-record/report.docx", None, 200),
}
# The pages send a logged-out browser to the login form, like the other pages; logged in, they are lists.
PAGE_PUBLIC_ROW = {who: ("303" if who == "anonymous" else "ok") for who in WHO}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """The same world on each backend of the store (with BILU_DATABASE_URL, on PostgreSQL)."""
    from engine.settings import Settings

    database_url = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        database_url = server.url(server.new_database())
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=database_url)
    with Store.open(settings.home, database_url=database_url) as store:
        for name, level, parent in UNITS:
            store.add_unit(name, level=level, parent=parent)
        for name, (role, unit) in USERS.items():
            store.add_user(name, role=role, unit=unit, password=PASSWORD)
        (settings.home / "audio" / "a1.wav").write_bytes(bytes(range(256)) * 8)
        session_id = stored_session(store, C, [(0.0, 4.0, "S1", "这是诉讼权利义务告知书你看清楚了吗"),
                                               (4.5, 6.0, "S2", "看清楚了")], audio_path="audio/a1.wav")
        store.set_case_unit(C, "派出所A")
        store.assign_case(C, "pros_assigned")
        store.start_record_review(session_id)
        record = "问：这是诉讼权利义务告知书，你看清楚了吗？\n答：看清楚了。\n".encode()
        store.add_written_record(session_id, filename="笔录.txt", content=record, record={}, recording_started_at=None,
                                 discrepancy_kinds=[], discrepancy_count=0)
        utterance_id = store.utterances(session_id)[0]["id"]
    with client_for(settings) as client:
        headers = {name: bearer(client, name) for name in USERS}
        headers["anonymous"] = {}
        yield client, headers, {"session_id": session_id, "utterance_id": utterance_id}


def route_keys(app) -> set[tuple[str, str]]:
    keys = set()
    for context in iter_route_contexts(app.routes):
        for method in getattr(context, "methods", None) or ():
            if method != "HEAD":
                keys.add((method, context.path))
    return keys


def test_every_route_is_in_the_table(world):
    client, _, _ = world
    routes = route_keys(client.app)
    assert routes, "no routes found: has FastAPI changed how routes are listed?"
    missing = sorted(routes - set(ROUTES))
    assert not missing, f"routes missing from the authorization table: {missing}"
    assert not sorted(set(ROUTES) - routes), "the table lists routes the app does not have"


@pytest.mark.parametrize("who", WHO)
def test_each_role_against_each_route(world, who):
    client, headers, ids = world
    wrong = []
    for (method, _), (kind, url, body, ok_status) in ROUTES.items():
        cell = PAGE_PUBLIC_ROW[who] if kind == "page_public" else EXPECTED[(who, kind)]
        expected = ok_status if cell == "ok" else int(cell)
        request_headers = dict(headers[who])
        if kind == "audio":
            request_headers["Range"] = "bytes=0-99"
        client.cookies.clear()
        response = client.request(method, url.format(**ids), json=body, headers=request_headers,
                                  follow_redirects=False)
        if response.status_code != expected:
            wrong.append(f"{method} {url}: {response.status_code} (expected {expected}) {response.text[:120]}")
    assert not wrong, f"{who}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("who", [w for w in USERS])
def test_lists_and_search_show_only_visible_cases(world, who):
    client, headers, ids = world
    sees = EXPECTED[(who, "read")] == "ok"
    cases = [c["case_no"] for c in client.get("/cases", headers=headers[who]).json()]
    sessions = [s["id"] for s in client.get("/sessions", headers=headers[who]).json()]
    hits = client.get("/search", params={"q": "权利"}, headers=headers[who]).json()
    assert (C in cases) == sees and (ids["session_id"] in sessions) == sees
    assert any(h["session_id"] == ids["session_id"] for h in hits) == sees
