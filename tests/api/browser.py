"""What the browser tests share: the app served by uvicorn on a loopback port, and Debian's Chromium.

make installs both Playwright and Debian's chromium: a missing one fails the tests rather than skip them
(Playwright's own browser download is never used).
"""
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from engine.settings import Settings
from tests.api.helpers import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying hosts this closed network refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serving(settings: Settings, *, stop_timeout_s: float = 10.0) -> Iterator[str]:
    """The app under uvicorn in this process (so PortAudio sees the test's PulseAudio server); yields its URL.

    `stop_timeout_s`: how long stopping may take (the lifespan finishes rooms still recording)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=stop_timeout_s)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Debian's Chromium, headless, launched by Playwright."""
    import playwright.sync_api as playwright_sync

    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium; make test does it)")
    with playwright_sync.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def log_in(page, name: str = "officer") -> None:
    page.goto("/")
    assert "/login" in page.url, "a logged-out browser must land on the login form"
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
