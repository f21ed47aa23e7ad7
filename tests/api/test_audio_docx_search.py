"""Audio with range requests, the DOCX record, and search with filters within what a user may see."""
import io
import os
from datetime import date, timedelta

import pytest
from docx import Document

from engine.settings import Settings
from cases import Store
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

AUDIO = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request, tmp_path_factory):
    """The same records on each backend of the store (with BILU_DATABASE_URL, on PostgreSQL)."""
    database_url = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        database_url = server.url(server.new_database())
    settings = Settings(home=tmp_path_factory.mktemp("home"), database_url=database_url)
    with Store.open(settings.home, database_url=database_url) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心", level="centre", parent="市局")
        store.add_unit("派出所", level="unit", parent="中心")
        store.add_user("boss", role="supervisor", unit="市局", password=PASSWORD)
        store.add_user("wang", role="officer", unit="派出所", password=PASSWORD)
        (settings.home / "audio" / "r.wav").write_bytes(AUDIO)
        first = stored_session(store, "D-1", [(0.0, 3.0, "S1", "你是否申请回避"), (3.5, 5.0, "S2", "不申请回避"),
                                              (5.5, 8.0, "S1", "你有权委托律师作为辩护人")],
                               room="一号讯问室", audio_path="audio/r.wav")
        second = stored_session(store, "D-2", [(0.0, 2.0, "S1", "你是否申请回避")], room="二号讯问室",
                                audio_path="audio/never-written.wav")
        for case_no in ("D-1", "D-2"):
            store.set_case_unit(case_no, "派出所")
        store.set_session_officers(first, ["wang"])
        store.set_findings(second, [])
    with client_for(settings) as client:
        client.headers.update(bearer(client, "boss"))
        yield client, first, second, settings


def test_a_range_request_gets_206_and_exactly_those_bytes(api):
    client, first, _, _ = api
    response = client.get(f"/sessions/{first}/audio", headers={"Range": "bytes=0-99"})
    assert response.status_code == 206 and response.content == AUDIO[:100]
    assert response.headers["content-range"] == f"bytes 0-99/{len(AUDIO)}"
    assert response.headers["accept-ranges"] == "bytes"
    tail = client.get(f"/sessions/{first}/audio", headers={"Range": "bytes=10000-"})
    assert tail.status_code == 206 and tail.content == AUDIO[10000:]
    whole = client.get(f"/sessions/{first}/audio")
    assert whole.status_code == 200 and whole.content == AUDIO and whole.headers["content-type"] == "audio/wav"
    assert client.get(f"/sessions/{first}/audio", headers={"Range": "bytes=99999-"}).status_code == 416


def test_missing_audio_and_audio_outside_the_home_are_refused(api, tmp_path):
    client, _, second, settings = api
    (settings.home.parent / "outside.wav").write_bytes(b"secret")
    assert client.get(f"/sessions/{second}/audio").status_code == 404
    # the store refuses a path with .. when it is written; a link pointing out of the home is refused here
    with Store.open(settings.home, database_url=settings.database_url) as store:
        linked = stored_session(store, "D-3", [(0.0, 1.0, "S1", "你好")], audio_path="audio/link.wav")
        store.set_case_unit("D-3", "派出所")
    os.symlink(settings.home.parent / "outside.wav", settings.home / "audio" / "link.wav")
    assert client.get(f"/sessions/{linked}/audio").status_code == 404


def test_docx_export_is_the_record_with_page_fields(api):
    client, first, _, _ = api
    response = client.get(f"/sessions/{first}/export", params={"format": "docx"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    document = Document(io.BytesIO(response.content))
    texts = [p.text for p in document.paragraphs]
    assert texts[0] == "讯问笔录" and texts[1] == "（第 1 次）"
    assert "地点：一号讯问室" in texts and "案件编号：D-1" in texts
    assert "问：你是否申请回避" in texts and "答：不申请回避" in texts
    assert texts.index("问：你是否申请回避") < texts.index("答：不申请回避") < texts.index("问：你有权委托律师作为辩护人")
    assert "以上笔录我看过（或向我宣读过），和我说的相符" in texts and texts[-1] == "以下空白"
    footer = document.sections[0].footer
    instructions = [e.text.strip() for p in footer.paragraphs for e in p._p.iter() if e.tag.endswith("}instrText")]
    assert [i.split()[0] for i in instructions] == ["PAGE", "NUMPAGES"]
    page_line = footer.paragraphs[-1].text
    assert page_line.startswith("第 ") and " 页 共 " in page_line and page_line.endswith(" 页")
    assert "签名" in footer.paragraphs[0].text


def test_docx_header_names_the_officers_set_on_the_session(api):
    client, first, _, _ = api
    document = Document(io.BytesIO(client.get(f"/sessions/{first}/export", params={"format": "docx"}).content))
    assert "讯问人：wang    工作单位：派出所" in [p.text for p in document.paragraphs]
    section = document.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)  # A4


def test_cli_writes_the_docx_record(api, tmp_path):
    from click.testing import CliRunner

    from api.cli import cli

    _, first, _, settings = api
    out = tmp_path / "record.docx"
    result = CliRunner().invoke(cli, ["export", str(first), "--format", "docx", "-o", str(out)],
                                env={"BILU_HOME": str(settings.home),
                                     "BILU_DATABASE_URL": settings.database_url})
    assert result.exit_code == 0, result.output
    assert Document(str(out)).paragraphs[0].text == "讯问笔录"


def test_search_filters(api):
    client, first, second, _ = api

    def sessions(**params):
        return sorted({h["session_id"] for h in client.get("/search", params={"q": "回避", **params}).json()})

    assert sessions() == [first, second]
    assert sessions(case_no="D-2") == [second]
    assert sessions(room="一号讯问室") == [first]
    assert sessions(officer="wang") == [first]
    assert sessions(unit="中心") == [first, second]
    assert sessions(role="被讯问人") == [first]
    today = date.today()
    assert sessions(date_from=str(today - timedelta(days=1)), date_to=str(today + timedelta(days=1))) == [first, second]
    assert sessions(date_from=str(today + timedelta(days=1))) == []
    hit = client.get("/search", params={"q": "不申请回避"}).json()[0]
    assert hit["session_id"] == first and hit["start_s"] == 3.5 and "【" in hit["snippet"]
    assert client.get("/search", params={"q": "回避", "unit": "没有这个单位"}).status_code == 404


def test_sessions_missing_statements(api):
    client, first, second, _ = api
    settings = api[3]
    # findings of a missing statement, as the checker writes them
    with Store.open(settings.home, database_url=settings.database_url) as store:
        from lexicon import Finding

        store.set_findings(first, [Finding("counsel", "告知委托辩护人", "missing", (), None, "", 0.0, "CPL 34", "")])
    found = client.get("/search/sessions", params={"missing": "any"}).json()
    assert [s["session_id"] for s in found] == [first]
    assert found[0]["unmet"][0]["key"] == "counsel"
    assert client.get("/search/sessions", params={"missing": "recusal"}).json() == []
    # the officer of the unit sees the same; what lies outside a user's scope is in test_authorization.py
    mine = client.get("/search/sessions", params={"missing": "any"}, headers=bearer(client, "wang")).json()
    assert [s["session_id"] for s in mine] == [first]
