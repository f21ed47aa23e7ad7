"""The session page's 完整性校验 panel in a real browser (Debian's Chromium via Playwright, the app under uvicorn):
the button shows 完整; after a line is edited in the database behind Bilu's back, it lists that problem."""
import shutil
import sqlite3

import pytest

from engine.settings import Settings
from cases import Store
from transcribe import Utterance
from tests.api.helpers import PASSWORD, words_of
from tests.api.browser import chromium, log_in, serving

LINES = [(0.5, 4.0, "S1", "现在依法对你进行讯问"), (4.5, 7.0, "S2", "明白")]


@pytest.fixture
def served(tmp_path, data_dir):
    import hashlib

    settings = Settings(home=tmp_path / "home")
    (settings.home / "audio").mkdir(parents=True)
    shutil.copy(data_dir / "dev_room_2spk.wav", settings.home / "audio" / "room.wav")
    audio = settings.home / "audio" / "room.wav"
    with Store.open(settings.home) as store:
        store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
        session_id = store.create_session(
            case_no="V-1", room="一号讯问室", kind="file", source_name="room.wav", audio_path="audio/room.wav",
            audio_sha256=hashlib.sha256(audio.read_bytes()).hexdigest(), audio_bytes=audio.stat().st_size,
            duration_s=38.6, sample_rate=16000, channels=1, diarizer="voice", model="base", options={})
        for start_s, end_s, speaker, text in LINES:
            store.add_utterance(session_id, Utterance.from_words(words_of(start_s, end_s, text), speaker=speaker))
        store.finish_session(session_id)
    with serving(settings) as url:
        yield url, settings, session_id


def test_the_panel_shows_intact_then_the_problem(served):
    base_url, settings, session_id = served
    with chromium() as browser:
        page = browser.new_context(base_url=base_url, locale="zh-CN").new_page()
        page.set_default_timeout(10_000)
        log_in(page)
        page.goto(f"/sessions/{session_id}/page")
        result = page.locator("#verify-result")
        page.get_by_role("button", name="校验本次讯问").click()
        page.wait_for_selector("#verify-result.intact")
        assert result.inner_text().startswith("完整（审计记录 ")
        with sqlite3.connect(settings.home / "bilu.db") as db:
            line_id = db.execute("SELECT MIN(id) FROM utterances").fetchone()[0]
            db.execute("UPDATE utterances SET text = '改' WHERE id = ?", [line_id])
        page.get_by_role("button", name="校验本次讯问").click()
        page.wait_for_selector("#verify-result.broken li")
        assert result.locator("p").inner_text() == "不完整：发现 1 处问题"
        assert result.locator("li").all_inner_texts()[0].startswith(f"被改动 utterance:{line_id}：")
