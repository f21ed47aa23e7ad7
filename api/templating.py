"""The pages' HTML: Jinja2 templates (autoescape on: every value is shown as text) and their static files.

Templates live in api/templates, scripts and styles in api/static (served at /static, no build step and
nothing fetched from another site). Static URLs carry a digest of the file so a browser never keeps an old
script after an upgrade.
"""
import functools
import hashlib
from datetime import datetime
from pathlib import Path

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from cases import may_correct

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

SESSION_STATUS_ZH = {"transcribing": "录音/转写中", "done": "已完成", "interrupted": "已中断",
                     "recovered": "已恢复", "failed": "失败"}
FINDING_STATUS_ZH = {"satisfied": "已告知", "missing": "缺失", "out_of_order": "顺序不当",
                     "wrong_speaker": "非讯问人所述"}
GUARD_STATUS_ZH = {"ok": "符合", "violated": "违反", "warning": "即将超时", "not_applicable": "不适用"}
# A word the recognizer gave less than this probability is underlined on the session page (static/session.js
# reads the same value from the page): where a correction is most likely needed.
UNSURE_WORD_PROBABILITY = 0.5
USER_ROLE_ZH = {"officer": "民警", "recorder": "记录员", "supervisor": "督察", "prosecutor": "检察官",
                "admin": "管理员"}


@functools.cache
def static_url(name: str) -> str:
    """/static/NAME?v=DIGEST: a new file content gives a new URL."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def zh_datetime(value: str | None) -> str:
    """An ISO 8601 time as 2026年3月5日 14:03 (the local time it carries)."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def clock(seconds: float | None) -> str:
    """Seconds as HH:MM:SS (the time of a line in its recording)."""
    total = int(seconds or 0)
    minutes, secs = divmod(total, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{secs:02d}"


def zh_duration(seconds: float | None) -> str:
    total = int(round(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}小时{minutes:02d}分"
    return f"{minutes}分{secs:02d}秒" if minutes else f"{secs}秒"


def marked_pieces(snippet: str) -> list[tuple[str, bool]]:
    """A search snippet with matches marked 【 】 as (text, is_match) pieces, for <mark> without raw HTML."""
    pieces: list[tuple[str, bool]] = []
    rest = snippet
    while rest:
        start = rest.find("【")
        end = rest.find("】", start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            pieces.append((rest, False))
            break
        if start:
            pieces.append((rest[:start], False))
        pieces.append((rest[start + 1:end], True))
        rest = rest[end + 1:]
    return pieces


def text_pieces(utterance: dict) -> list[tuple[str, float | None]]:
    """A line's text as (text, probability) pieces: a word below UNSURE_WORD_PROBABILITY is its own piece with
    its probability, the rest runs together with None. A corrected line (its words no longer spell its text)
    is one piece: what the officer wrote is not the recognizer's guess."""
    words = utterance.get("words") or []
    text = utterance["text"]
    if not words or "".join(w["text"] for w in words).strip() != text:
        return [(text, None)]
    pieces: list[tuple[str, float | None]] = []
    plain = ""
    for index, word in enumerate(words):
        # The joined text was stripped: so are the first and last words.
        shown = word["text"].lstrip() if index == 0 else word["text"]
        shown = shown.rstrip() if index == len(words) - 1 else shown
        if word["probability"] < UNSURE_WORD_PROBABILITY and shown.strip():
            if plain:
                pieces.append((plain, None))
                plain = ""
            pieces.append((shown, word["probability"]))
        else:
            plain += shown
    if plain:
        pieces.append((plain, None))
    return pieces if "".join(piece for piece, _ in pieces) == text else [(text, None)]


def text_html(utterance: dict) -> Markup:
    """The line's text for the page, escaped, its unsure words in <u class="unsure"> with their probability.
    One call per line: a Jinja loop over the pieces cost more than the pieces themselves on a 4-hour page."""
    return Markup("").join(
        escape(piece) if probability is None else
        Markup('<u class="unsure" title="识别把握 {}%">{}</u>').format(round(probability * 100), piece)
        for piece, probability in text_pieces(utterance))


@functools.cache
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(static_url=static_url, session_status_zh=SESSION_STATUS_ZH,
                       finding_status_zh=FINDING_STATUS_ZH, guard_status_zh=GUARD_STATUS_ZH, user_role_zh=USER_ROLE_ZH,
                       read_only=lambda user: user is not None and not may_correct(user),
                       unsure_word_probability=UNSURE_WORD_PROBABILITY)
    env.filters.update(zh_datetime=zh_datetime, clock=clock, zh_duration=zh_duration, marked_pieces=marked_pieces,
                       text_html=text_html)
    return env


def render_page(template: str, *, status_code: int = 200, **context) -> HTMLResponse:
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})
