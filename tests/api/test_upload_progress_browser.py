"""After an upload, the session page follows the transcription (issue 16, item 6), in Debian's Chromium.

The officer uploads a real recording from the case page and lands on the new session's page, which then,
without a reload: shows how far the transcription is (a percentage that moves), adds the lines as they are
stored, never says 本次讯问没有识别出语句 while it runs, offers the exports only when it is done, and then
lets the officer correct a line.
"""
import re
import shutil

import pytest

from api.routes.pages import EXPORTS
from cases import Store
from engine.settings import Settings
from tests.api.browser import chromium, log_in, serving
from tests.api.helpers import PASSWORD

CASE = "A-2026-0400"

# Runs in the page from its first script on: one sample per change of the transcript or the progress text, so
# that what the officer saw while the run went on can be read afterwards.
WATCH = """() => {
  window.__seen = [];
  const sample = () => window.__seen.push({
    lines: document.querySelectorAll('#lines .line').length,
    state: document.querySelector('#transcribing .state')?.textContent || '',
    percent: document.getElementById('transcribe-percent')?.textContent || '',
    noLines: !!document.getElementById('no-lines') && !document.getElementById('no-lines').hidden,
    exports: !document.getElementById('exports').hidden,
  });
  sample();
  new MutationObserver(sample).observe(document.getElementById('session'),
                                       { childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        store.add_unit("市局", level="city")
        store.add_unit("中心", level="centre", parent="市局")
        store.add_unit("城关派出所", level="unit", parent="中心")
        store.add_user("wang", role="officer", unit="城关派出所", password=PASSWORD)
        store.ensure_case(CASE, title="周某盗窃案")
        store.set_case_unit(CASE, "城关派出所")
    return settings


@pytest.fixture(scope="module")
def server(world):
    with serving(world, stop_timeout_s=120) as url:
        yield url


@pytest.mark.recognition  # the upload is transcribed in the service's process, with the real model
@pytest.mark.mechanism  # what the page shows, not which words the model writes
def test_the_page_follows_an_upload_until_it_is_done(world, server, data_dir, tmp_path):
    recording = tmp_path / "room.wav"
    shutil.copy(data_dir / "dev_room_2spk.wav", recording)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(20_000)
        log_in(page, "wang")
        page.goto(f"/cases/{CASE}/page")
        page.set_input_files("#upload-recording input[name=file]", str(recording))
        page.fill("#upload-recording input[name=room]", "一号讯问室")
        page.click("#upload-recording button[type=submit]")
        page.wait_for_url(re.compile(r"/sessions/\d+/page$"))
        page.evaluate(WATCH)
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        assert page.locator("#exports-wait").text_content() == "转写完成后可导出。"
        page.wait_for_selector("#transcribing.ended-done", timeout=300_000)
        assert page.evaluate("window.__sameDocument") is True, "the page reloaded"
        seen = page.evaluate("window.__seen")
        running = [s for s in seen if s["state"] == "正在转写这份录音"]
        assert running and not any(s["noLines"] or s["exports"] for s in running), running
        # The percentage moved while it ran, and lines came in before the end.
        percents = {int(m.group(1)) for s in running if (m := re.search(r"已转写 (\d+)%", s["percent"]))}
        assert any(0 < p < 100 for p in percents), [s["percent"] for s in running]
        assert any(s["lines"] > 0 for s in running), "no line shown before the transcription ended"
        # Done: every stored line is on the page, the exports are offered, a line can be corrected.
        session_id = int(re.search(r"/sessions/(\d+)/page", page.url).group(1))
        with Store.open(world.home) as store:
            stored = store.utterances(session_id)
            assert store.get_session(session_id)["status"] == "done"
        assert stored and page.locator("#lines .line").count() == len(stored)
        assert page.locator("#exports a").count() == len(EXPORTS) and page.locator("#exports").is_visible()
        assert not page.locator("#exports-wait").count()
        assert not page.locator("#no-lines").is_visible()
        assert page.locator("#session-status").text_content() == "转写完成"
        first = page.locator("#lines .line").first
        first.locator(".text").dblclick()
        page.locator(".line.editing textarea").fill("以下为校对后的第一句")
        page.locator(".line.editing textarea").press("Escape")  # the editor opens: corrections are allowed
        context.close()
