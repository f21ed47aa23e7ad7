"""The pages in a real browser: Debian's Chromium driven by Playwright, against the app served by uvicorn.

Log in; open a session; click a line and the player is at its start; edit a line in place, reload, see it;
a stale save shows the current text; relabel a speaker; search a phrase and land on its session at the hit's
time; the checklist links to its evidence; a transcript holding <script> is shown as text and never runs.
Needs `apt-get install chromium` and the playwright package (its own browser download is never used).
"""
import shutil
import threading
from pathlib import Path

import pytest

from engine.checking import check_session  # noqa: E402
from engine.settings import Settings  # noqa: E402
from cases import Store  # noqa: E402
from tests.api.browser import log_in, serving  # noqa: E402
from tests.api.helpers import PASSWORD, stored_session  # noqa: E402
from tests.capture.conftest import pulse  # noqa: E402,F401  (the PulseAudio server, for the live view)

SCREENSHOT = Path("/tmp/bilu_session_page_1366x768.png")
SCRIPT_LINE = "<script>window.__pwned=1</script>"
IMG_LINE = '<img src="x" onerror="window.__pwned=2">'  # would run even if inserted with innerHTML
# (start_s, end_s, speaker, text) inside the 38.6 s of dev_room_2spk.wav, so the player can seek to each.
READ_LINES = [
    (0.5, 4.0, "S1", "现在依法对你进行讯问，这是诉讼权利义务告知书，你看清楚了吗"),
    (4.5, 7.0, "S2", "看清楚了"),
    (8.0, 12.0, "S1", "你是否申请回避"),
    (12.5, 14.0, "S2", "不申请"),
    (15.0, 19.0, "S1", "你把案发当天的经过讲一下"),
    (19.5, 26.0, "S2", "那天晚上我在仓库门口等朋友"),
    (26.5, 30.0, "S2", SCRIPT_LINE),
    (30.5, 33.0, "S1", "以上笔录你看一下是否属实"),
    (33.5, 36.0, "S2", IMG_LINE),
]
EDIT_LINES = [
    (1.0, 5.0, "S1", "你叫什么名字"),
    (5.5, 9.0, "S2", "我叫张三"),
    (9.5, 13.0, "S1", "你今天为什么来这里"),
    (13.5, 18.0, "S2", "我来说明情况"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, data_dir):
    """A home with an officer, a session to read and one to correct (both with real audio)."""
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    (settings.home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", settings.home / "audio" / "room.wav")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        read_id = stored_session(store, "A-2026-0001", READ_LINES, audio_path="audio/room.wav")
        edit_id = stored_session(store, "A-2026-0002", EDIT_LINES, audio_path="audio/room.wav", room="二号讯问室")
        check_session(store, read_id, settings)
    return settings, {"read": read_id, "edit": edit_id}


@pytest.fixture(scope="module")
def server(world):
    settings, _ = world
    with serving(settings) as url:
        yield url


@pytest.fixture
def page(browser, server):
    """A fresh browser context, logged in as the officer through the login form."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page)
    yield page
    context.close()


def line(page, text: str):
    return page.locator(".line", has=page.locator(".text", has_text=text))


def player_near(page, seconds: float, *, slack_s: float = 0.6) -> None:
    """Wait until the player's position is at `seconds` (it may have played on a little since)."""
    page.wait_for_function(
        "([t, slack]) => { const p = document.getElementById('player');"
        " return p.readyState >= 1 && p.currentTime >= t - 0.05 && p.currentTime <= t + slack; }",
        arg=[seconds, slack_s])


def test_login_leads_through_cases_to_a_session(page, world):
    _, ids = world
    assert page.locator("table.list").get_by_text("A-2026-0001").is_visible()
    page.get_by_role("link", name="A-2026-0001").click()
    page.wait_for_url(f"**/cases/A-2026-0001/page")
    assert page.get_by_text("共 1 次讯问").is_visible()
    page.get_by_role("link", name=f"第 1 次（会话 {ids['read']}）").click()
    page.wait_for_url(f"**/sessions/{ids['read']}/page")
    assert page.locator(".line").count() == len(READ_LINES)
    assert page.locator("#player").get_attribute("src") == f"/sessions/{ids['read']}/audio"


def test_clicking_a_line_plays_from_its_start(page, world):
    _, ids = world
    page.goto(f"/sessions/{ids['read']}/page")
    target = line(page, "你是否申请回避")
    target.locator(".text").click()
    player_near(page, 8.0, slack_s=1.5)  # it plays on from there (the next line starts at 12.5 s)
    page.wait_for_function("document.querySelector('.line.playing .text')?.textContent === '你是否申请回避'")


def test_a_line_edited_in_place_is_saved_and_kept_after_reload(page, world):
    _, ids = world
    page.goto(f"/sessions/{ids['edit']}/page")
    target = line(page, "我叫张三")
    edited_id = target.get_attribute("data-id")
    target.locator(".text").dblclick()
    box = target.locator("textarea")
    box.fill("我叫张三丰")
    box.press("Enter")
    # Enter saves and opens the next line (issue 16, item 5); Esc leaves it.
    page.wait_for_function("id => { const open = document.querySelector('.line.editing');"
                           " return open && open.dataset.id !== id && open.querySelector('textarea'); }", arg=edited_id)
    page.keyboard.press("Escape")
    page.wait_for_selector("textarea", state="detached")
    assert line(page, "我叫张三丰").count() == 1
    page.reload()
    saved = line(page, "我叫张三丰")
    assert saved.count() == 1 and "corrected" in saved.get_attribute("class")
    # Esc cancels: the text stays as saved.
    saved.locator(".text").dblclick()
    saved.locator("textarea").fill("不该保存")
    saved.locator("textarea").press("Escape")
    assert saved.locator(".text").text_content() == "我叫张三丰"
    # The history shows the recognizer's text beside the revision.
    saved.hover()
    saved.locator("button.history").click()
    page.wait_for_selector("#history-list li:not(.empty)")
    assert page.locator("#history-original").text_content() == "我叫张三"
    assert "改：我叫张三丰" in page.locator("#history-list").text_content()


def test_a_stale_save_shows_the_current_text(page, world):
    settings, ids = world
    page.goto(f"/sessions/{ids['edit']}/page")
    target = line(page, "你今天为什么来这里")
    with Store.open(settings.home) as store:  # someone else saves first
        current = next(u for u in store.utterances(ids["edit"]) if u["text"] == "你今天为什么来这里")
        store.edit_utterance(ids["edit"], current["id"], {"text": "你今天为何到此"}, version=current["version"],
                             by=store.account("officer"))
    target.locator(".text").dblclick()
    target.locator("textarea").fill("你今天为什么来派出所")
    target.locator("textarea").press("Enter")
    conflict = target.locator(".conflict")
    conflict.wait_for()
    assert "你今天为何到此" in conflict.text_content()
    conflict.get_by_role("button", name="仍用我的修改").click()
    page.wait_for_selector("textarea", state="detached")
    page.reload()
    assert line(page, "你今天为什么来派出所").count() == 1


def test_relabelling_a_speaker_changes_all_their_lines(page, world):
    _, ids = world
    page.goto(f"/sessions/{ids['edit']}/page")
    page.select_option("#speakers li[data-label=S2] select", "犯罪嫌疑人")
    page.wait_for_function("Array.from(document.querySelectorAll('.line[data-speaker=S2] .who'))"
                           ".every(who => who.textContent === '犯罪嫌疑人')")
    page.reload()
    whos = page.locator(".line[data-speaker=S2] .who").all_text_contents()
    assert len(whos) == 2 and set(whos) == {"犯罪嫌疑人"}
    assert set(page.locator(".line[data-speaker=S1] .who").all_text_contents()) == {"讯问人"}


def test_search_lands_on_the_session_at_the_hit(page, world):
    _, ids = world
    page.goto("/search/page")
    page.fill("input[name=q]", "仓库门口")
    page.click("form.search-form button[type=submit]")
    hit = page.locator("a.hit").first
    assert page.locator("a.hit mark").first.text_content() in ("仓库", "门口", "仓库门口")
    hit.click()
    page.wait_for_url(f"**/sessions/{ids['read']}/page?t=19.5")
    player_near(page, 19.5, slack_s=0.1)
    assert page.locator(".line.playing .text").text_content() == "那天晚上我在仓库门口等朋友"


def test_script_in_a_transcript_is_shown_as_text_and_never_runs(page, world):
    _, ids = world
    page.goto(f"/sessions/{ids['read']}/page")
    for text in (SCRIPT_LINE, IMG_LINE):
        assert line(page, text).locator(".text").text_content() == text
    assert page.locator("#lines script, #lines img").count() == 0
    page.wait_for_timeout(300)  # time for an onerror handler to have run, had one been created
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The history panel and a search snippet show the text the same way.
    shown = line(page, IMG_LINE)
    shown.hover()
    shown.locator("button.history").click()
    page.wait_for_selector("#history-list li:not(.loading)")
    assert page.locator("#history-original").text_content() == IMG_LINE
    page.goto("/search/page?q=pwned")
    assert page.locator("a.hit").count() >= 1 and page.locator(".hits script, .hits img").count() == 0
    page.wait_for_timeout(300)  # time for an onerror handler to have run, had one been created
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_the_checklist_links_to_its_evidence(page, world):
    _, ids = world
    page.goto(f"/sessions/{ids['read']}/page")
    evidence = page.locator("#checklist .evidence").first
    evidence.wait_for()
    target_id = evidence.get_attribute("data-utterance-id")
    start_s = float(page.locator(f"#u-{target_id}").get_attribute("data-start"))
    evidence.click()
    player_near(page, start_s, slack_s=0.1)
    assert "target" in page.locator(f"#u-{target_id}").get_attribute("class")


def test_an_error_page_is_chinese_with_a_way_back(page, world, server):
    _, ids = world
    came_from = f"{server}/sessions/{ids['read']}/page"
    page.goto("/sessions/abc/page", referer=came_from)
    assert page.locator("h1").inner_text().startswith("请求有误")
    assert "应为整数" in page.locator(".message").inner_text()
    assert page.get_by_role("link", name="返回案件列表").is_visible()
    page.get_by_role("link", name="返回上一页").click()
    page.wait_for_url(came_from)
    assert page.locator(".line").count() == len(READ_LINES)
    page.goto("/sessions/999999/page")
    assert page.locator("h1").inner_text().startswith("找不到")
    page.get_by_role("link", name="返回案件列表").click()
    page.wait_for_url(f"{server}/")
    assert page.locator("table.list").get_by_text("A-2026-0001").is_visible()


def test_screenshot_of_the_session_page(page, world):
    _, ids = world
    page.goto(f"/sessions/{ids['read']}/page?t=15")
    player_near(page, 15.0, slack_s=0.1)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000


@pytest.mark.recognition  # the room is transcribed in the service's process
def test_the_live_view_grows_while_a_room_records(page, world, pulse, data_dir, tmp_path):  # noqa: F811
    from capture import decode_file
    from tests.audio_helpers import write_audio

    clip = write_audio(tmp_path / "opening.wav", decode_file(data_dir / "dev_room_2spk.seats.flac").samples[: 13 * 16000],
                       16000)
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "bilu_csrf")
    started = page.request.post("/rooms/六号室/sessions", headers={"X-CSRF-Token": csrf},
                                data={"case_no": "A-2026-0001", "device": "vmic_stereo", "channels": 2,
                                      "seat_roles": "讯问人,被讯问人"})
    assert started.status == 201, started.text()
    session_id = started.json()["session_id"]
    page.goto(f"/sessions/{session_id}/page")
    assert "正在录音" in page.locator("#live-state").text_content()
    player = threading.Thread(target=pulse.play, args=(clip,), kwargs={"sink": "vmic_stereo"})
    player.start()
    page.wait_for_selector("#lines li.line", timeout=30_000)  # committed lines arrive over the WebSocket
    player.join()
    page.click("#stop-recording")
    page.click("#stop-confirm-yes")  # issue 16: 结束录音 asks first (tests/api/test_pages_officer.py)
    page.wait_for_selector("#player[src]", timeout=60_000)  # stopped: the page reloads with the recording
    lines = page.locator("#lines li.line")
    assert lines.count() >= 2
    assert "被讯问人" in page.locator("#lines").text_content()
