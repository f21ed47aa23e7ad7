import pytest

from engine.pipeline import FileRequest, Pipeline
from engine.settings import Settings
from cases import Store


@pytest.fixture(scope="module")
def transcribed(tmp_path_factory, data_dir, whisper_model):
    """A BILU_HOME holding the two-seat mix, transcribed once for the module: (settings, session id)."""
    settings = Settings(home=tmp_path_factory.mktemp("home"))
    with Store.open(settings.home) as store:
        result = Pipeline(settings, model=whisper_model).transcribe_file(
            store,
            FileRequest(path=data_dir / "dev_room_2spk.seats.flac", case_no="A-2026-0001", room="一号讯问室",
                        seat_roles=("讯问人", "被讯问人")),
        )
    return settings, result.session_id


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, shared by a module's browser tests (tests/api/browser.py)."""
    from tests.api.browser import chromium

    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser, server):
    """A fresh browser context (no cookies, no storage) on the module's `server` fixture, at an office screen's
    size, in Chinese."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=server, locale="zh-CN")
    yield context
    context.close()
