"""Issue 16 in a real browser (Debian's Chromium through Playwright, the app under uvicorn), as the officer sees it:

- a station behind one address: one officer's five wrong passwords hold only that officer, with the wait said
  in Chinese on the login page, and an administrator's unlock lets them in;
- 新建案件 on the case list: number, title, the officer's unit; with a recording, the new session's page opens;
  the title shows in the list;
- while a room records: the elapsed time counts, the device and its state are shown, 结束录音 asks first;
- no 404 for the favicon, the history names people by their display names, a prosecutor's pages say 只读,
  /docs describes the API in Chinese.
"""
import re
import shutil
import threading
import time

import pytest

from cases import Store
from engine.settings import Settings
from tests.api.browser import log_in, serving
from tests.api.helpers import PASSWORD, stored_session
from tests.capture.conftest import pulse  # noqa: F401  (the PulseAudio server, for the live view)

CASE = "A-2026-0100"
LINES = [(0.5, 4.0, "S1", "现在依法对你进行讯问"), (4.5, 7.0, "S2", "我知道了")]


@pytest.fixture(scope="module")
def world(tmp_path_factory, data_dir):
    settings = Settings(home=tmp_path_factory.mktemp("home"), login_delay_s=30)
    (settings.home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", settings.home / "audio" / "room.wav")
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心", level="centre", parent="市局")
        store.add_unit("城关派出所", level="unit", parent="中心")
        for name, role, unit, shown in (("li", "officer", "城关派出所", "李明"), ("wang", "officer", "城关派出所", "王强"),
                                        ("jian", "prosecutor", "市局", "检察官甲"), ("admin", "admin", "市局", None)):
            store.add_user(name, role=role, unit=unit, password=PASSWORD, display_name=shown)
        session_id = stored_session(store, CASE, LINES, audio_path="audio/room.wav")
        store.set_case_unit(CASE, "城关派出所")
        store.add_room("八号讯问室", unit="城关派出所")  # a room whose agent streams to the service (never connects)
        store.add_room("市局一号室", unit="市局")  # another unit's: not listed for its officers
        store.assign_case(CASE, "jian")
        line = store.utterances(session_id)[0]
        store.edit_utterance(session_id, line["id"], {"text": "现在依法对你进行讯问。"}, version=line["version"],
                             by=store.account("li"))
    return settings, session_id


@pytest.fixture(scope="module")
def server(world):
    settings, _ = world
    with serving(settings) as url:
        yield url


def new_page(context):
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def submit_login(page, name, password):
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    with page.expect_response(lambda r: r.url.endswith("/auth/login")) as answer:
        page.click("button[type=submit]")
    return answer.value


def test_one_officers_wrong_passwords_do_not_lock_out_the_station(context, browser, server):
    page = new_page(context)
    page.goto("/login")
    assert "连续输错密码 5 次后，需等待 30 秒再试" in page.locator("#login-rule").text_content()
    statuses = [submit_login(page, "li", "not-the-password").status for _ in range(5)]
    assert statuses == [401] * 5
    assert "30 秒后再试" in page.locator("#login-error").text_content()  # the fifth says how long to wait
    held = submit_login(page, "li", PASSWORD)  # the right password, but too soon
    assert held.status == 429
    shown = page.locator("#login-error").text_content()
    assert "该账号在本机连续登录失败次数过多" in shown and "其他电脑登录不受影响" in shown
    assert page.locator("input[name=password]").is_visible()  # a page with the form, not a JSON body
    # A colleague at the same address (the same browser here) logs in as usual.
    colleague = browser.new_context(base_url=server, locale="zh-CN")
    try:
        other = colleague.new_page()
        log_in(other, "wang")
        assert other.locator(".who").text_content().strip().startswith("王强")
    finally:
        colleague.close()
    # An administrator lifts the wait (here through the API, with the login cookie); the officer is let in at once.
    administrator = browser.new_context(base_url=server, locale="zh-CN")
    try:
        log_in(administrator.new_page(), "admin")
        csrf = next(c["value"] for c in administrator.cookies() if c["name"] == "bilu_csrf")
        assert administrator.request.post("/users/li/unlock", headers={"X-CSRF-Token": csrf}).ok
    finally:
        administrator.close()
    submit_login(page, "li", PASSWORD)
    page.wait_for_url(lambda url: "/login" not in url)
    assert "李明" in page.locator(".who").text_content()


def test_an_officer_opens_a_case_with_a_recording_from_the_case_list(context, data_dir):
    page = new_page(context)
    log_in(page, "wang")
    assert not page.locator("#new-case").is_visible()  # folded away on a list that has cases
    page.click("#new-case-card summary")
    page.fill("#new-case input[name=case_no]", "A-2026-0200")
    page.fill("#new-case input[name=title]", "赵某盗窃案")
    assert page.locator("#new-case select[name=unit]").input_value() == "城关派出所"
    page.set_input_files("#new-case input[name=file]", str(data_dir / "aishell1_BAC009S0724W0121.wav"))
    page.fill("#new-case input[name=room]", "一号讯问室")
    page.click("#new-case button[type=submit]")
    page.wait_for_url(re.compile(r"/sessions/\d+/page$"), timeout=30_000)
    assert "A-2026-0200" in page.locator("h1").text_content()
    page.goto("/")
    page.click("#new-case-card summary")
    row = page.locator("#case-list tr", has_text="A-2026-0200")
    assert row.locator(".case-title").text_content() == "赵某盗窃案"
    assert "城关派出所" in row.text_content()
    # Without a recording: the new case's page, its title in the heading; a number in use is refused in Chinese.
    page.fill("#new-case input[name=case_no]", "A-2026-0201")
    page.fill("#new-case input[name=title]", "钱某诈骗案")
    page.click("#new-case button[type=submit]")
    page.wait_for_url("**/cases/A-2026-0201/page")
    assert "钱某诈骗案" in page.locator("h1").text_content()
    page.goto("/")
    page.click("#new-case-card summary")
    page.fill("#new-case input[name=case_no]", "A-2026-0201")
    page.click("#new-case button[type=submit]")
    page.wait_for_selector("#new-case-error:has-text('无法新建案件')")
    assert page.url.endswith("/")


def test_an_untitled_case_gets_its_title_on_its_page(context):
    page = new_page(context)
    log_in(page, "wang")
    page.goto(f"/cases/{CASE}/page")  # filed without a title, as bilu transcribe and a first recording do
    page.fill("#case-title input[name=title]", "孙某故意伤害案")
    page.click("#case-title button[type=submit]")
    page.wait_for_selector("#case-title-status:has-text('已保存')")
    assert page.locator("h1").text_content() == f"案件 {CASE} · 孙某故意伤害案"
    page.goto("/")
    row = page.locator("#case-list tr", has_text=CASE)
    assert row.locator(".case-title").text_content() == "孙某故意伤害案"


def test_the_case_page_lists_the_units_agent_rooms_and_their_state(context):
    page = new_page(context)
    log_in(page, "wang")
    page.goto(f"/cases/{CASE}/page")
    row = page.locator("#agent-rooms tbody tr")
    row.first.wait_for()
    assert row.count() == 1 and row.get_attribute("data-room") == "八号讯问室"
    assert row.get_attribute("data-agent") == "not_connected" and "未连接" in row.text_content()
    assert page.locator("#agent-rooms .seat-level").count() == 0  # no meters: nothing records
    row.locator("button").click()  # picking the room fills the start form
    assert page.input_value("#start-recording [name=room]") == "八号讯问室"
    assert page.locator("#start-recording [name=hotwords]").count() == 1


def test_pages_have_a_favicon_display_names_and_chinese_docs(context, world):
    _, session_id = world
    page = new_page(context)
    missing = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    log_in(page, "wang")
    page.goto(f"/sessions/{session_id}/page")
    page.wait_for_load_state("networkidle")
    assert page.request.get("/favicon.ico").ok
    first_line = page.locator("#lines li.line").first
    first_line.hover()  # a line's tools show on hover
    first_line.locator("button.history").click()
    head = page.locator("#history-list .rev-head").first
    head.wait_for()
    assert "李明" in head.text_content() and "li ·" not in head.text_content()
    page.goto("/docs")
    summaries = page.locator("table.api td:nth-child(3)").all_text_contents()
    assert summaries and all(re.search(r"[\u4e00-\u9fff]", s) for s in summaries), summaries
    assert "案件（cases）" in page.locator("h2").all_text_contents()
    assert not page.locator("#readonly-mark").count()  # an officer is not read-only
    assert missing == [], missing


def test_a_prosecutors_pages_say_read_only(context, world):
    _, session_id = world
    page = new_page(context)
    log_in(page, "jian")
    for url in ("/", f"/sessions/{session_id}/page", "/search/page"):
        page.goto(url)
        assert page.locator("#readonly-mark").text_content() == "只读", url
    page.goto("/")
    assert not page.locator("#new-case").count()  # nothing to open a case with
    page.goto(f"/cases/{CASE}/page")
    assert page.locator("#readonly-mark").is_visible() and not page.locator("#case-title").count()


@pytest.mark.recognition  # the room is transcribed in the service's process
def test_recording_shows_its_time_and_device_and_asks_before_it_ends(context, pulse):  # noqa: F811
    page = new_page(context)
    log_in(page, "wang")
    csrf = next(c["value"] for c in context.cookies() if c["name"] == "bilu_csrf")
    started = page.request.post("/rooms/七号室/sessions", headers={"X-CSRF-Token": csrf},
                                data={"case_no": CASE, "device": "vmic_stereo", "channels": 2})
    assert started.status == 201, started.text()
    session_id = started.json()["session_id"]
    page.goto(f"/sessions/{session_id}/page")
    page.wait_for_selector("#device-state.device-ok", timeout=20_000)
    assert page.locator("#device-state").text_content() == "正常，正在接收音频"
    assert "vmic_stereo" in page.locator("#device-name").text_content()
    assert "2 声道" in page.locator("#live-device").text_content()
    # A level meter per seat, each saying its level (the null sink plays nothing: digital silence).
    page.wait_for_function("document.querySelectorAll('#seat-levels .seat-level').length === 2", timeout=10_000)
    assert all(float(db) <= -80 for db in page.locator("#seat-levels .seat-level").evaluate_all(
        "meters => meters.map(m => m.dataset.db)"))
    first = page.locator("#live-elapsed").text_content()
    time.sleep(2.5)
    second = page.locator("#live-elapsed").text_content()
    assert first != second and second != "00:00:00", (first, second)  # it counts (it showed 0秒 before)
    # 结束录音 asks first; 继续录音 (the default) keeps the room recording.
    page.click("#stop-recording")
    dialog = page.locator("#stop-confirm")
    assert dialog.is_visible() and re.search(r"第\s*3\s*次讯问", dialog.text_content())  # what a new start would be
    page.click("#stop-confirm button[value=keep]")
    assert not dialog.is_visible()
    time.sleep(0.5)
    assert page.request.get(f"/sessions/{session_id}/live").json()["recording"] is True
    assert "正在录音" in page.locator("#live-state").text_content()
    page.click("#stop-recording")
    page.click("#stop-confirm-yes")
    page.wait_for_selector("#player[src]", timeout=60_000)  # stopped: the finished session's page
    status = page.request.get(f"/sessions/{session_id}/live").json()
    assert status["recording"] is False and status["status"] == "done" and "vmic_stereo" in status["device"]
