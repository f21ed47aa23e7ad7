"""Withdrawing a wrong upload, in Debian's Chromium (issue 16, item 7): a supervisor withdraws it on its page
with a reason; the page then says who withdrew it, when and why, and allows no correction; its audio still
plays; the case's list marks it and keeps every 第 N 次 as it was, with a note that says why; an officer is
not offered the button. Audited, under the supervisor's name.
"""
import re
import shutil

import pytest

from cases import Store
from engine.settings import Settings
from tests.api.browser import log_in, serving
from tests.api.helpers import PASSWORD, stored_session

CASE = "A-2026-0500"
LINES = [(0.5, 4.0, "S1", "现在依法对你进行讯问"), (4.5, 7.0, "S2", "我知道了")]
REASON = "上传错了文件（另一案件的录音）"


@pytest.fixture(scope="module")
def world(tmp_path_factory, data_dir):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    (settings.home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", settings.home / "audio" / "room.wav")
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心", level="centre", parent="市局")
        store.add_unit("城关派出所", level="unit", parent="中心")
        store.add_user("wang", role="officer", unit="城关派出所", password=PASSWORD, display_name="王强")
        store.add_user("zhao", role="supervisor", unit="中心", password=PASSWORD, display_name="赵督察")
        ids = [stored_session(store, CASE, LINES, audio_path="audio/room.wav") for _ in range(3)]
        store.set_case_unit(CASE, "城关派出所")
    return settings, ids


@pytest.fixture(scope="module")
def server(world):
    with serving(world[0]) as url:
        yield url


def as_user(browser, server, name):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, name)
    return context, page


def test_a_supervisor_withdraws_a_wrong_upload_and_the_numbers_stay_explained(browser, server, world):
    settings, (first, wrong, third) = world
    officer_context, officer = as_user(browser, server, "wang")
    try:
        officer.goto(f"/sessions/{wrong}/page")
        assert not officer.locator("#withdraw-open").count()  # an officer does not withdraw
        assert officer.locator(".line .edit").count() == len(LINES)
    finally:
        officer_context.close()

    context, page = as_user(browser, server, "zhao")
    try:
        page.goto(f"/sessions/{wrong}/page")
        page.click("#withdraw-open")
        dialog = page.locator("#withdraw-dialog")
        assert dialog.is_visible() and "第 2 次" in dialog.text_content()
        page.click("#withdraw-dialog button[value=cancel]")  # 取消 withdraws nothing
        assert not dialog.is_visible()
        page.click("#withdraw-open")
        page.fill("#withdraw-dialog textarea[name=reason]", REASON)
        page.click("#withdraw-yes")
        page.wait_for_selector("#withdrawn")
        banner = page.locator("#withdrawn").text_content()
        assert "已撤回" in banner and REASON in banner and "赵督察" in banner and "第 2 次" in banner
        assert not page.locator("#withdraw-open").count() and not page.locator(".line .edit").count()
        assert page.locator(".line").count() == len(LINES)  # the transcript is kept
        assert page.request.get(f"/sessions/{wrong}/audio", headers={"Range": "bytes=0-99"}).status == 206
        page.goto(f"/cases/{CASE}/page")
        rows = page.locator("table.list tbody tr")
        assert rows.count() == 3
        shown = {int(re.search(r"会话 (\d+)", r).group(1)): r for r in rows.all_text_contents()}
        assert "第 2 次" in shown[wrong] and "已撤回" in shown[wrong] and REASON in shown[wrong]
        assert "第 1 次" in shown[first] and "已撤回" not in shown[first]
        assert "第 3 次" in shown[third] and "已撤回" not in shown[third]  # not renumbered
        assert "占用其编号" in page.locator("#withdrawn-note").text_content()
    finally:
        context.close()
    with Store.open(settings.home) as store:
        entries = [e for e in store.audit_rows(session_id=wrong, with_data_entries=True)
                   if e["action"] == "session.withdrawn"]
        assert [e["user"] for e in entries] == ["zhao"]
        assert store.get_session(wrong)["withdrawn"]["reason"] == REASON
