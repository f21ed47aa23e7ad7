"""A withdrawn upload's record is kept for review and can still be exported, but it says 已撤回 wherever it is
produced (issue 16, item 7): the DOCX 讯问笔录 (atop the body and every page, read back with python-docx), the text
record, the subtitles, the JSON, the sealed package's records, the file names, the signing page, the session page
and the case page. A session not withdrawn carries no such mark. Real SQLite, the real API."""
import io
import zipfile

import pytest
from docx import Document

from cases import Store
from cases.record_form import WITHDRAWN_BANNER, WITHDRAWN_MARK
from engine.settings import Settings
from tests.api.helpers import PASSWORD, bearer, client_for, stored_session

CASE = "W-1"
REASON = "上传错了文件（另一案件的录音）"
LINES = [(0.0, 3.0, "S1", "你是否申请回避"), (3.5, 5.0, "S2", "不申请回避"), (5.5, 8.0, "S1", "你有权委托律师作为辩护人")]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心", level="centre", parent="市局")
        store.add_unit("派出所", level="unit", parent="中心")
        store.add_user("boss", role="supervisor", unit="市局", password=PASSWORD, display_name="赵督察")
        store.add_user("wang", role="officer", unit="派出所", password=PASSWORD, display_name="王警官")
        (settings.home / "audio").mkdir(parents=True, exist_ok=True)
        (settings.home / "audio" / "x.wav").write_bytes(b"RIFF" + bytes(100))
        kept = stored_session(store, CASE, LINES)
        wrong = stored_session(store, CASE, LINES)
        store.set_case_unit(CASE, "派出所")
    with client_for(settings) as client:
        boss = bearer(client, "boss")
        response = client.post(f"/sessions/{wrong}/withdraw", json={"reason": REASON}, headers=boss)
        assert response.status_code == 200, response.text
        client.headers.update(bearer(client, "wang"))  # the officer exports and prints
        yield client, kept, wrong


def _docx(client, session_id: int) -> Document:
    response = client.get(f"/sessions/{session_id}/export", params={"format": "docx"})
    assert response.status_code == 200, response.text
    return Document(io.BytesIO(response.content))


def _red_bold(paragraph) -> bool:
    runs = [run for run in paragraph.runs if run.text.strip()]
    return bool(runs) and all(run.bold and str(run.font.color.rgb) == "C00000" for run in runs)


def test_the_docx_of_a_withdrawn_upload_is_marked_atop_the_body_and_every_page(api):
    client, _, wrong = api
    document = _docx(client, wrong)
    paragraphs = document.paragraphs
    texts = [p.text for p in paragraphs]
    # Right under the title, before the header fields: the mark, then when, by whom (display name) and why.
    assert texts[0] == "讯问笔录" and texts[1] == WITHDRAWN_BANNER and WITHDRAWN_MARK in texts[1]
    assert "撤回人：赵督察" in texts[2] and f"撤回原因：{REASON}" in texts[2] and "撤回时间：" in texts[2]
    assert _red_bold(paragraphs[1]) and _red_bold(paragraphs[2])
    assert texts[3] == "（第 2 次）"  # its number stays
    # Every page's header (one section: the header repeats on each page) carries the mark.
    assert len(document.sections) == 1
    header = document.sections[0].header
    assert not header.is_linked_to_previous
    assert [p.text for p in header.paragraphs if p.text] == [WITHDRAWN_BANNER] and _red_bold(header.paragraphs[0])
    # Kept as it was: the exchange is all there.
    assert "问：你是否申请回避" in texts and "答：不申请回避" in texts and texts[-1] == "以下空白"


def test_the_docx_of_a_session_not_withdrawn_has_no_mark(api):
    client, kept, _ = api
    document = _docx(client, kept)
    everything = [p.text for p in document.paragraphs] + [p.text for p in document.sections[0].header.paragraphs]
    assert not any(WITHDRAWN_MARK in text or "撤回" in text for text in everything)
    assert everything[1] == "（第 1 次）"


def test_every_export_of_a_withdrawn_upload_says_so_and_its_file_name_too(api):
    client, kept, wrong = api
    txt = client.get(f"/sessions/{wrong}/export", params={"format": "txt"})
    lines = txt.text.splitlines()
    assert lines[0] == WITHDRAWN_BANNER and REASON in lines[1] and "赵督察" in lines[1]
    assert lines.index("讯问笔录") > 1 and "问：你是否申请回避" in lines
    assert txt.headers["content-disposition"] == f'attachment; filename="session-{wrong}-withdrawn.txt"'
    srt = client.get(f"/sessions/{wrong}/export", params={"format": "srt"}).text
    first_cue = srt.split("\n\n")[0].splitlines()
    assert first_cue[0] == "1" and first_cue[1].startswith("00:00:00,000 --> ") and first_cue[2] == WITHDRAWN_BANNER
    assert srt.count("\n\n") == len(LINES)  # the mark's cue, then one per line said
    vtt = client.get(f"/sessions/{wrong}/export", params={"format": "vtt"}).text
    assert vtt.startswith("WEBVTT") and WITHDRAWN_BANNER in vtt and " line:0\n" in vtt
    exported = client.get(f"/sessions/{wrong}/export", params={"format": "json"}).json()
    assert exported["session"]["withdrawn"]["reason"] == REASON
    # Not withdrawn: no mark anywhere, the usual names.
    for fmt in ("txt", "srt", "vtt"):
        response = client.get(f"/sessions/{kept}/export", params={"format": fmt})
        assert "撤回" not in response.text
        assert response.headers["content-disposition"] == f'attachment; filename="session-{kept}.{fmt}"'
    assert client.get(f"/sessions/{kept}/export", params={"format": "json"}).json()["session"]["withdrawn"] is None


def test_the_sealed_package_of_a_withdrawn_upload_holds_marked_records(api):
    client, _, wrong = api
    response = client.get(f"/sessions/{wrong}/export", params={"format": "package"})
    assert response.status_code == 200
    assert f'filename="session-{wrong}-withdrawn.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as package:
        assert package.read("record.txt").decode("utf-8").splitlines()[0] == WITHDRAWN_BANNER
        document = Document(io.BytesIO(package.read("record.docx")))
    assert document.paragraphs[1].text == WITHDRAWN_BANNER
    assert document.sections[0].header.paragraphs[0].text == WITHDRAWN_BANNER


def test_the_pages_that_show_or_read_back_the_record_say_it_was_withdrawn(api):
    client, kept, wrong = api
    sign = client.get(f"/sessions/{wrong}/sign/page").text
    assert 'id="withdrawn"' in sign and "已撤回" in sign and REASON in sign
    assert 'id="withdrawn"' not in client.get(f"/sessions/{kept}/sign/page").text
    session_page = client.get(f"/sessions/{wrong}/page").text
    assert 'id="withdrawn"' in session_page and 'id="exports-withdrawn"' in session_page
    assert 'id="exports-withdrawn"' not in client.get(f"/sessions/{kept}/page").text
    case_page = client.get(f"/cases/{CASE}/page").text
    assert case_page.count("status-withdrawn") == 1 and 'id="withdrawn-note"' in case_page
