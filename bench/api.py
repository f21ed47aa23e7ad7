"""The session page of a 3-hour interview in a real browser: time until it is usable.

A store with one session of ~4,000 utterances (with their words, stored through `Store.add_utterance`) over a
3-hour WAV (a real Mandarin recording repeated); the app served by uvicorn on 127.0.0.1 in a background
thread; Debian's chromium driven by Playwright with the launch arguments of tests/api/test_pages_browser.py
(never `playwright install`). Logged in once through the login form, the page /sessions/{id}/page is loaded
N times (default 5), each time measuring:
- dom_content_loaded_ms: the browser's own Navigation Timing (from the start of navigation);
- usable_ms: wall time from navigation until every transcript line is in the page, the editor's tools are
  ready (static/editor_tools.js has run: keys, speed, find and replace), the last line was clicked, and the
  player stands at that line's start (the click seeks it).
About UNSURE_SHARE of the words carry a probability under 0.5, so the page underlines them (<u> elements), as it
does a real recognizer's unsure words.
Prints the median of each and writes bench/results/api.json. Run: python bench/api.py [--loads 5]
"""
import sys
from pathlib import Path

# This file is named api.py, like the package it measures: the repository must come before bench/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import wave  # noqa: E402

import numpy as np  # noqa: E402

import common  # noqa: E402,F401
from common import audio_dir, machine, write_results  # noqa: E402

from api.app import create_app  # noqa: E402
from engine.settings import Settings  # noqa: E402
from capture import decode_file  # noqa: E402
from cases import Store  # noqa: E402
from transcribe import Utterance, Word  # noqa: E402

import search as generated  # noqa: E402  (bench/search.py: the same generated interrogation dialogue)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DURATION_S = 3 * 3600
UTTERANCES = 4000
SAMPLE_RATE = 16_000
SOURCE_RECORDING = "funasr_vad_example_70s.wav"
PASSWORD = "bench-password-1"
GOAL_USABLE_MS = 2000.0
UNSURE_SHARE = 0.08  # words under 0.5: an assumption (Whisper base on interview speech), not a measurement
SEED = 20260405


def three_hour_wav(path: Path) -> None:
    """A 16 kHz mono WAV of DURATION_S seconds: a real recording repeated (written in pieces, ~330 MiB)."""
    folder = audio_dir()
    source = folder / SOURCE_RECORDING if (folder / SOURCE_RECORDING).exists() else sorted(folder.glob("*.wav"))[0]
    piece = (np.clip(decode_file(source).mono(), -1.0, 1.0) * 32767).astype("<i2").tobytes()
    frames_left = DURATION_S * SAMPLE_RATE
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        while frames_left > 0:
            chunk = piece[: frames_left * 2]
            out.writeframes(chunk)
            frames_left -= len(chunk) // 2


def words_of(start_s: float, end_s: float, text: str, rng: np.random.Generator) -> list[Word]:
    """Two-character words spread evenly over the line (the recognizer's words are about this size); about
    UNSURE_SHARE of them unsure (probability 0.2–0.5), the rest 0.6–0.99."""
    pieces = [text[i:i + 2] for i in range(0, len(text), 2)]
    step = (end_s - start_s) / len(pieces)
    probabilities = np.where(rng.random(len(pieces)) < UNSURE_SHARE, rng.uniform(0.2, 0.5, len(pieces)),
                             rng.uniform(0.6, 0.99, len(pieces)))
    return [Word(start_s + i * step, start_s + (i + 1) * step, p, round(float(q), 3))
            for i, (p, q) in enumerate(zip(pieces, probabilities))]


def build_session(store: Store) -> tuple[int, float]:
    """A finished 3-hour session of UTTERANCES lines; returns its id and the start of its last line."""
    session_id = store.create_session(
        case_no="BENCH-API-1", room="一号讯问室", kind="file", source_name="interview.wav",
        audio_path="audio/interview.wav", audio_sha256="0" * 64, audio_bytes=DURATION_S * SAMPLE_RATE * 2,
        duration_s=float(DURATION_S), sample_rate=SAMPLE_RATE, channels=1, diarizer="channel", model="small",
        options={})
    dialogue = generated.DialogueGenerator(SEED)
    rng = np.random.default_rng(SEED)
    slot_s = DURATION_S / UTTERANCES
    last_start_s = 0.0
    for seq in range(UTTERANCES):
        speaker, role = ("S1", "讯问人") if seq % 2 == 0 else ("S2", "被讯问人")
        start_s = round(seq * slot_s + 0.2, 2)
        end_s = round(start_s + slot_s * 0.8, 2)
        store.add_utterance(session_id, Utterance.from_words(words_of(start_s, end_s, dialogue.line(role), rng),
                                                             speaker=speaker))
        last_start_s = start_s
    store.set_speaker_roles(session_id, {"S1": "讯问人", "S2": "被讯问人"})
    store.finish_session(session_id)
    return session_id, last_start_s


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(settings: Settings):
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def load_once(page, url: str, *, lines: int, last_start_s: float) -> dict:
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("n => document.querySelectorAll('#lines .line').length === n", arg=lines)
    page.wait_for_function("document.getElementById('session').dataset.toolsReady === 'true'")
    page.locator("#lines .line").last.locator(".text").click()
    page.wait_for_function(
        "t => { const p = document.getElementById('player');"
        " return p.readyState >= 1 && p.currentTime >= t - 0.05 && p.currentTime <= t + 1.0; }",
        arg=last_start_s)
    usable_ms = (time.perf_counter() - started) * 1000
    timing = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return {response_start: n.responseStart, response_end: n.responseEnd,"
        " dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, bytes: n.transferSize}; }")
    return {"dom_content_loaded_ms": round(timing["dcl"], 1), "usable_ms": round(usable_ms, 1),
            "first_byte_ms": round(timing["response_start"], 1), "html_done_ms": round(timing["response_end"], 1),
            "load_event_ms": round(timing["load"], 1), "html_bytes": timing["bytes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit("Debian's chromium is not installed (apt-get install chromium)")
    import playwright.sync_api as playwright_sync

    with tempfile.TemporaryDirectory(prefix="bilu-api-") as scratch:
        settings = Settings(home=Path(scratch))
        (settings.home / "audio").mkdir(parents=True)
        three_hour_wav(settings.home / "audio" / "interview.wav")
        started = time.perf_counter()
        with Store.open(settings.home) as store:
            store.add_user("officer", role="officer", unit="默认单位", password=PASSWORD)
            session_id, last_start_s = build_session(store)
            stored = store.utterances(session_id)
            word_count = sum(len(u["words"]) for u in stored)
            unsure_count = sum(w["probability"] < 0.5 for u in stored for w in u["words"])
        print(f"stored {UTTERANCES} utterances ({word_count} words) over {DURATION_S / 3600:.0f} h "
              f"in {time.perf_counter() - started:.1f} s")
        server, thread, base_url = serve(settings)
        loads = []
        try:
            with playwright_sync.sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base_url,
                                              locale="zh-CN")
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto("/login")
                page.fill("input[name=name]", "officer")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: "/login" not in url)
                url = f"{base_url}/sessions/{session_id}/page"
                for number in range(1, args.loads + 1):
                    page.goto("about:blank")
                    figures = load_once(page, url, lines=UTTERANCES, last_start_s=last_start_s)
                    loads.append(figures)
                    print(f"  load {number}: DOMContentLoaded {figures['dom_content_loaded_ms']:7.1f} ms  "
                          f"usable {figures['usable_ms']:7.1f} ms  (first byte {figures['first_byte_ms']} ms, "
                          f"HTML {figures['html_bytes'] / 1024:.0f} KiB)", flush=True)
                context.close()
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)

    dcl = statistics.median(load["dom_content_loaded_ms"] for load in loads)
    usable = statistics.median(load["usable_ms"] for load in loads)
    first_byte = statistics.median(load["first_byte_ms"] for load in loads)
    results = {
        "machine": machine(),
        "browser": str(CHROMIUM),
        "utterances": UTTERANCES,
        "words": word_count,
        "unsure_words": unsure_count,
        "audio_s": DURATION_S,
        "loads": loads,
        "median_first_byte_ms": first_byte,
        "median_dom_content_loaded_ms": dcl,
        "median_usable_ms": usable,
        "usable_means": "all lines present, last line clicked, player at its start",
        "goal": {"usable_ms_max": GOAL_USABLE_MS},
    }
    print(f"median of {len(loads)} loads: first byte {first_byte:.0f} ms, DOMContentLoaded {dcl:.0f} ms, "
          f"usable {usable:.0f} ms (goal < {GOAL_USABLE_MS:.0f} ms)")
    write_results("api", results)


if __name__ == "__main__":
    main()
