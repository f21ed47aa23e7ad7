"""The transcript editor in a real browser (issue 16, item 5): Debian's Chromium through Playwright, the app
under uvicorn, real audio (tests/data/dev_room_2spk.wav) behind every session.

While typing in a line: F9 plays and pauses, F7 goes back 3 s, the speed goes from 0.75× to 2×; Enter saves
and opens the next line; a line is split at the caret and merged with the next; one line moves to another
speaker; find and replace changes every line holding the text, each change one revision; each speaker has a
colour; words the recognizer was unsure of are underlined until the line is corrected.
"""
import shutil

import pytest

from cases import Store
from engine.settings import Settings
from tests.api.browser import log_in, serving
from tests.api.helpers import PASSWORD, SHA
from transcribe import Utterance, Word

CASE = "A-2026-0300"
# (start_s, end_s, speaker, words as (text, probability)): within the recording's 38.6 s.
LINES = [
    (1.0, 4.0, "S1", [("你叫", 0.95), ("什么", 0.9), ("名字", 0.93)]),
    (4.5, 7.5, "S2", [("我叫", 0.9), ("张三", 0.21), ("今年", 0.88), ("三十", 0.9)]),
    (8.0, 11.0, "S1", [("张三", 0.9), ("你今天", 0.9), ("为什么", 0.92), ("来这里", 0.9)]),
    (11.5, 14.0, "S2", [("我来", 0.9), ("说明", 0.9), ("情况", 0.9)]),
    (14.5, 18.0, "S1", [("你把", 0.9), ("经过", 0.9), ("讲一下", 0.9)]),
    (18.5, 22.0, "S2", [("那天", 0.9), ("张三", 0.9), ("在家", 0.9)]),
]


def words_over(start_s: float, end_s: float, pieces: list[tuple[str, float]]) -> list[Word]:
    step = (end_s - start_s) / len(pieces)
    return [Word(start_s + i * step, start_s + (i + 1) * step, text, p) for i, (text, p) in enumerate(pieces)]


def transcript(store: Store, name: str) -> int:
    """A finished session of LINES in CASE over the real recording."""
    session_id = store.create_session(case_no=CASE, room=name, kind="file", source_name="room.wav",
                                      audio_path="audio/room.wav", audio_sha256=SHA, audio_bytes=1, duration_s=38.6,
                                      sample_rate=16000, channels=1, diarizer="channel", model="base", options={})
    for start_s, end_s, speaker, pieces in LINES:
        store.add_utterance(session_id, Utterance.from_words(words_over(start_s, end_s, pieces), speaker=speaker))
    store.set_speaker_roles(session_id, {"S1": "讯问人", "S2": "被讯问人"})
    store.finish_session(session_id)
    return session_id


@pytest.fixture(scope="module")
def world(tmp_path_factory, data_dir):
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    (settings.home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", settings.home / "audio" / "room.wav")
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        store.add_user("jian", role="prosecutor", unit="默认单位", password=PASSWORD)
        ids = {name: transcript(store, name) for name in ("keys", "enter", "split", "merge", "move", "replace",
                                                          "look")}
        store.assign_case(CASE, "jian")
    return settings, ids


@pytest.fixture(scope="module")
def server(world):
    settings, _ = world
    with serving(settings) as url:
        yield url


def open_session(context, session_id: int, user: str = "officer"):
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, user)
    page.goto(f"/sessions/{session_id}/page")
    page.wait_for_function("document.getElementById('session').dataset.toolsReady === 'true'")
    return page


def line_with(page, text: str):
    return page.locator(".line", has=page.locator(".text", has_text=text))


def texts(page) -> list[str]:
    return page.locator("#lines .line .text").all_text_contents()


def stored(world, name: str) -> list[dict]:
    settings, ids = world
    with Store.open(settings.home) as store:
        return store.utterances(ids[name])


def revisions(world, name: str) -> list[dict]:
    settings, ids = world
    with Store.open(settings.home) as store:
        return store.revisions(ids[name])


def player_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_the_player_answers_f9_and_f7_while_typing_and_plays_at_the_chosen_speed(context, world):
    page = open_session(context, world[1]["keys"])
    assert page.locator("#speed option").all_inner_texts() == ["0.75×", "1×", "1.25×", "1.5×", "1.75×", "2×"]
    page.select_option("#speed", "2")
    assert page.evaluate("document.getElementById('player').playbackRate") == 2
    page.wait_for_function("document.getElementById('player').readyState >= 1")
    line_with(page, "说明情况").locator(".text").dblclick()
    box = page.locator(".line.editing textarea")
    box.press("End")
    box.type("了")
    # A click on a line plays it (the double click that opened the editor too): stop it, to start it by key.
    page.evaluate("document.getElementById('player').pause()")
    page.wait_for_function("document.getElementById('player').paused")
    box.press("F9")  # play, from the textarea, without leaving it
    page.wait_for_function("!document.getElementById('player').paused")
    page.wait_for_function("document.getElementById('player').currentTime > 4.5")
    # At 2×, about two seconds of recording go by per second.
    t0, wall0 = player_time(page), page.evaluate("performance.now()")
    page.wait_for_timeout(1500)
    t1, wall1 = player_time(page), page.evaluate("performance.now()")
    assert (t1 - t0) / ((wall1 - wall0) / 1000) > 1.5
    box.press("F9")  # pause
    page.wait_for_function("document.getElementById('player').paused")
    before = player_time(page)
    box.press("F7")  # back 3 s
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {before - 3}) < 0.05")
    assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
    assert box.input_value() == "我来说明情况了"  # the keys typed nothing into the line
    page.select_option("#speed", "0.75")
    assert page.evaluate("document.getElementById('player').playbackRate") == 0.75


def test_enter_saves_each_line_and_opens_the_next(context, world):
    page = open_session(context, world[1]["enter"])
    line_with(page, "你叫什么名字").locator(".text").dblclick()
    for corrected in ("你叫什么名字？", "我叫张三，今年三十。"):
        box = page.locator(".line.editing textarea")
        box.fill(corrected)
        box.press("Enter")
        page.wait_for_function("t => { const open = document.querySelector('.line.editing textarea');"
                               " return open && open.value !== t; }", arg=corrected)
    # The third line is open, with its own text; the two before are saved.
    assert page.locator(".line.editing textarea").input_value() == "张三你今天为什么来这里"
    page.keyboard.press("Escape")
    assert texts(page)[:3] == ["你叫什么名字？", "我叫张三，今年三十。", "张三你今天为什么来这里"]
    assert [u["text"] for u in stored(world, "enter")][:2] == ["你叫什么名字？", "我叫张三，今年三十。"]
    assert [r["kind"] for r in revisions(world, "enter")] == ["text", "text"]


def test_a_line_is_split_at_the_caret(context, world):
    page = open_session(context, world[1]["split"])
    line_with(page, "张三你今天为什么来这里").locator(".text").dblclick()
    box = page.locator(".line.editing textarea")
    box.evaluate("b => b.setSelectionRange(2, 2)")  # after 张三, the first word (8.0–8.75 s)
    page.locator(".line.editing .edit-tools button.split").click()
    page.wait_for_selector("textarea", state="detached")
    assert texts(page)[2:4] == ["张三", "你今天为什么来这里"]
    page.reload()
    assert texts(page)[2:4] == ["张三", "你今天为什么来这里"]
    first, second = stored(world, "split")[2:4]
    # Cut where the words meet: the first word ends at 8.75 s.
    assert first["end_s"] == pytest.approx(8.75, abs=0.011) and second["start_s"] == first["end_s"]
    assert second["end_s"] == 11.0 and [w["text"] for w in second["words"]] == ["你今天", "为什么", "来这里"]
    assert {r["kind"] for r in revisions(world, "split")} == {"split"}


def test_a_line_is_merged_with_the_next(context, world):
    page = open_session(context, world[1]["merge"])
    count = page.locator("#lines .line").count()
    line_with(page, "你把经过讲一下").locator(".text").dblclick()
    page.locator(".line.editing .edit-tools button.merge").click()
    page.wait_for_selector("textarea", state="detached")
    assert page.locator("#lines .line").count() == count - 1
    assert texts(page)[-1] == "你把经过讲一下那天张三在家"
    page.reload()
    assert page.locator("#lines .line").count() == count - 1 and texts(page)[-1] == "你把经过讲一下那天张三在家"
    assert {r["kind"] for r in revisions(world, "merge")} == {"merge"}


def test_one_line_moves_to_another_speaker(context, world):
    page = open_session(context, world[1]["move"])
    s1_colour = line_with(page, "你叫什么名字").get_attribute("data-colour")
    s2_colour = line_with(page, "我来说明情况").get_attribute("data-colour")
    assert s1_colour != s2_colour
    target = line_with(page, "你把经过讲一下")
    target.locator(".text").dblclick()
    page.select_option(".line.editing select.move-speaker", "S2")
    page.wait_for_function("document.querySelector('.line.editing').dataset.speaker === 'S2'")
    page.keyboard.press("Escape")
    assert target.locator(".who").text_content() == "被讯问人" and target.get_attribute("data-colour") == s2_colour
    colour = target.locator(".who").evaluate("who => getComputedStyle(who).color")
    assert colour == line_with(page, "我来说明情况").locator(".who").evaluate("who => getComputedStyle(who).color")
    page.reload()
    assert page.locator(".line[data-speaker=S2]").count() == 4 and page.locator(".line[data-speaker=S1]").count() == 2
    moved = [r for r in revisions(world, "move") if r["kind"] == "speaker"]
    assert len(moved) == 1 and moved[0]["before"]["speaker"] == "S1" and moved[0]["after"]["speaker"] == "S2"


def test_find_and_replace_changes_every_line_each_a_revision(context, world):
    page = open_session(context, world[1]["replace"])
    page.fill("#find-replace input[name=find]", "张三")
    page.click("#find-replace .find-next")
    assert "共 3 句" in page.locator("#find-status").text_content()
    assert page.locator(".line.found").count() == 3
    page.fill("#find-replace input[name=replace]", "张叁")
    page.click("#find-replace .replace-all")
    page.wait_for_selector("#find-status:has-text('已替换 3 句')")
    assert sum("张叁" in t for t in texts(page)) == 3 and not any("张三" in t for t in texts(page))
    page.reload()
    assert sum("张叁" in t for t in texts(page)) == 3
    changed = revisions(world, "replace")
    assert len(changed) == 3 and {r["kind"] for r in changed} == {"text"}
    assert all(r["before"]["text"].replace("张三", "张叁") == r["after"]["text"] for r in changed)


def test_unsure_words_are_underlined_until_corrected_and_a_reader_may_only_find(context, browser, server, world):
    page = open_session(context, world[1]["look"])
    unsure = line_with(page, "我叫张三今年三十").locator("u.unsure")
    assert unsure.all_text_contents() == ["张三"] and "21%" in unsure.get_attribute("title")
    assert page.locator("#lines u.unsure").count() == 1  # only the word below one half
    assert line_with(page, "我叫张三今年三十").locator(".text").text_content() == "我叫张三今年三十"
    # Colours: every line of a speaker in one colour, the two speakers in two.
    colours = page.evaluate("Array.from(document.querySelectorAll('#lines .line')).map(l =>"
                            " [l.dataset.speaker, getComputedStyle(l.querySelector('.who')).color])")
    by_speaker = {speaker: {c for s, c in colours if s == speaker} for speaker, _ in colours}
    assert all(len(c) == 1 for c in by_speaker.values()) and by_speaker["S1"] != by_speaker["S2"]
    # A prosecutor finds, but has nothing to replace with.
    prosecutor = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server, locale="zh-CN")
    try:
        reader = open_session(prosecutor, world[1]["look"], "jian")
        assert reader.locator("#find-replace input[name=find]").is_visible()
        assert not reader.locator("#find-replace .replace-all").count()
        assert not reader.locator(".line .edit").count()
    finally:
        prosecutor.close()
    # Corrected by the officer: the line is the officer's text, no longer the recognizer's guess.
    line_with(page, "我叫张三今年三十").locator(".text").dblclick()
    page.locator(".line.editing textarea").fill("我叫张山，今年三十")
    page.locator(".line.editing textarea").press("Enter")
    page.wait_for_selector(".line:has-text('我叫张山，今年三十') .text:not([hidden])")
    assert line_with(page, "我叫张山，今年三十").locator("u.unsure").count() == 0
    page.reload()
    assert line_with(page, "我叫张山，今年三十").locator("u.unsure").count() == 0
