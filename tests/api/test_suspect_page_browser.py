"""The session page in a real browser (Chromium via Playwright): a line whose audio is not speech is shown
struck through with its reason; the officer restores it, then keeps it out again; each survives a reload."""
import pytest

from cases import Store
from engine.settings import Settings
from tests.api.browser import chromium, log_in, serving
from tests.api.helpers import PASSWORD, SHA, words_of
from transcribe import Utterance

ASKED = "你那天晚上在哪里"
INVENTED = "字幕由Amara社群提供"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = store.create_session(case_no="P-15", room="一号讯问室", kind="file", source_name="x.wav",
                                          audio_path="audio/x.wav", audio_sha256=SHA, audio_bytes=1, duration_s=20.0,
                                          sample_rate=16000, channels=1, diarizer="channel", model="base", options={})
        store.add_utterance(session_id, Utterance.from_words(words_of(0.0, 3.0, ASKED), speaker="S1",
                                                             speech_probability=0.9, energy_db=40.0))
        store.add_utterance(session_id, Utterance.from_words(words_of(3.5, 6.0, INVENTED), speaker="S2",
                                                             suspect="caption", speech_probability=0.01,
                                                             energy_db=0.5, not_speech=True))
        store.finish_session(session_id)
    with serving(settings) as url, chromium() as browser:
        context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=url, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page)
        yield page, session_id
        context.close()


def struck(line) -> bool:
    return "line-through" in line.locator(".text").evaluate("e => getComputedStyle(e).textDecorationLine")


def test_a_left_out_line_is_struck_through_and_the_officer_restores_or_keeps_it_out(world):
    page, session_id = world
    page.goto(f"/sessions/{session_id}/page")
    invented = page.locator(".line", has=page.locator(".text", has_text=INVENTED))
    asked = page.locator(".line", has=page.locator(".text", has_text=ASKED))
    assert struck(invented) and not struck(asked)
    assert "疑似字幕幻觉" in invented.locator(".note").text_content()
    invented.hover()
    invented.locator("button.restore").click()
    page.wait_for_function("() => !document.querySelector('.line.left-out')")
    page.reload()
    assert not struck(invented) and "已恢复" in invented.locator(".note").text_content()
    invented.hover()
    invented.locator("button.keep-out").click()
    page.wait_for_selector(".line.left-out")
    page.reload()
    assert struck(invented) and "已确认不入笔录" in invented.locator(".note").text_content()
    assert invented.locator(".text").text_content() == INVENTED  # never deleted
