"""What an officer sees of the written record (Chromium via Playwright): uploading it on the session page, the
record beside the transcript, a block clicked plays where it was said, the discrepancies listed by severity."""
import shutil
from pathlib import Path

import pytest

from cases import Store
from engine.settings import Settings
from tests.api.browser import chromium, log_in, serving
from tests.api.helpers import PASSWORD
from tests.api.test_written import RECORD, store_transcript

SCALE = 0.18  # the 208 s transcript laid over the 38.6 s of dev_room_2spk.wav, so that the player can seek
COMPLAINT = "你们昨天晚上打我了"


@pytest.fixture(scope="module")
def world(tmp_path_factory, data_dir):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    (settings.home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", settings.home / "audio" / "room.wav")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = store_transcript(store, scale=SCALE, audio_path="audio/room.wav",
                                      extra=((187.5, "被讯问人", COMPLAINT),))
    record = tmp_path_factory.mktemp("records") / "笔录.txt"
    record.write_text(RECORD.read_text(encoding="utf-8").replace("11月5日晚上", "11月6日晚上"), encoding="utf-8")
    with serving(settings) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1600, "height": 900}, base_url=url, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page)
        yield page, session_id, record
        context.close()


def player_near(page, seconds: float, *, slack_s: float = 0.8) -> None:
    page.wait_for_function(
        "([t, slack]) => { const p = document.getElementById('player');"
        " return p.readyState >= 1 && p.currentTime >= t - 0.05 && p.currentTime <= t + slack; }",
        arg=[seconds, slack_s])


def test_the_officer_uploads_the_record_and_sees_it_beside_the_transcript(world):
    page, session_id, record = world
    page.goto(f"/sessions/{session_id}/page")
    page.wait_for_function("() => document.getElementById('written-status').textContent.includes('尚未导入')")
    assert page.locator("#written").is_hidden()
    page.set_input_files("#written-file", str(record))
    page.click("#written-submit")
    page.wait_for_selector("#written:not([hidden]) .block")
    blocks = page.locator("#blocks .block")
    assert blocks.count() == 28
    assert page.locator("#lines .line").first.bounding_box()["x"] < blocks.first.bounding_box()["x"]  # beside
    # the discrepancies, the most severe first: the complaint left out, then the date written differently
    items = page.locator("#discrepancies .discrepancy")
    kinds = [items.nth(i).get_attribute("data-kind") for i in range(items.count())]
    assert kinds[:2] == ["said_not_written", "changed"], kinds
    assert "严重" in items.nth(0).text_content() and COMPLAINT in items.nth(0).text_content()
    assert "11月6日" in items.nth(1).text_content() and "一般" in items.nth(1).text_content()
    assert "2 处不一致" in page.locator("#written-status").text_content()


def test_a_block_clicked_plays_where_it_was_said_and_marks_its_lines(world):
    page, session_id, _ = world
    page.goto(f"/sessions/{session_id}/page")
    block = page.locator("#blocks .block", has_text="11月6日晚上")
    block.wait_for()
    assert "flag-medium" in block.get_attribute("class")  # the changed block is marked
    block.click()
    linked = page.locator("#lines .line.linked")
    assert linked.count() >= 1 and "11月5" in linked.first.text_content()
    player_near(page, float(linked.first.get_attribute("data-start")))
    page.locator("#discrepancies .discrepancy[data-kind=said_not_written]").click()
    complaint = page.locator("#lines .line", has_text=COMPLAINT)
    assert "linked" in complaint.get_attribute("class")
    player_near(page, float(complaint.get_attribute("data-start")))


def test_a_second_version_is_kept_and_the_report_downloads(world, tmp_path):
    page, session_id, record = world
    page.goto(f"/sessions/{session_id}/page")
    page.wait_for_selector("#written:not([hidden]) .block")
    fixed = tmp_path / "笔录-改.txt"
    fixed.write_text(record.read_text(encoding="utf-8").replace("11月6日", "11月5日").replace(
        "答：没有了。", f"答：没有了。{COMPLAINT}。"), encoding="utf-8")
    page.set_input_files("#written-file", str(fixed))
    page.click("#written-submit")
    page.wait_for_function("() => document.getElementById('written-version').textContent.includes('第 2 版')")
    assert "一致" in page.locator("#written-status").text_content()
    assert page.locator("#discrepancies .discrepancy").count() == 0
    with page.expect_download() as download:
        page.get_by_role("link", name="比对报告 DOCX").click()
    assert download.value.suggested_filename.endswith(".docx")
    versions = page.request.get(f"/sessions/{session_id}/written-record/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
