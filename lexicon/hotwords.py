"""ASR hotwords: the case's own names first, then the lexicon's key terms, capped to fit Whisper's prompt.

faster-whisper puts the hotwords before the previous window's text in every window's prompt; Whisper
reserves half of its 448-token context (224) for that prompt, so the hotwords must stay well inside it.
Whisper's tokenizer spends about 1.6-2 tokens on a Chinese character (measured on the lexicon terms with
the base model's tokenizer), so the default cap of 56 characters keeps the hotwords near 100 tokens and
leaves the rest to the previous text. Terms are separated by spaces, which cost fewer tokens than "，".
"""

from __future__ import annotations

import logging
from importlib import resources
from typing import Iterable

from lexicon.errors import LexiconError

__all__ = ["DEFAULT_HOTWORD_CHARS", "build_hotwords", "lexicon_hotwords"]

logger = logging.getLogger(__name__)

DEFAULT_HOTWORD_CHARS = 56
_MAX_TERM_CHARS = 20


def lexicon_hotwords() -> list[str]:
    """The lexicon's hotword terms, most useful first (`lexicon/dict/hotwords.txt`)."""
    text = (resources.files("lexicon") / "dict" / "hotwords.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def build_hotwords(case_terms: Iterable[str] = (), *, max_chars: int = DEFAULT_HOTWORD_CHARS) -> str:
    """Hotwords for the recognizer: `case_terms` (names of people and places, in the order given), then
    the lexicon's terms, space-separated, at most `max_chars` characters in all. Terms that do not fit
    are left out whole, never cut; duplicates are dropped."""
    if isinstance(case_terms, str):
        raise LexiconError("case_terms must be a list of terms, not one string")
    if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
        raise LexiconError(f"max_chars must be a positive integer, got {max_chars!r}")
    own = []
    for n, term in enumerate(case_terms):
        if not isinstance(term, str):
            raise LexiconError(f"case_terms[{n}] must be a string, got {type(term).__name__}")
        term = " ".join(term.split())
        if not term:
            continue
        if len(term) > _MAX_TERM_CHARS:
            raise LexiconError(f"case_terms[{n}] is {len(term)} characters; a hotword may have at most "
                               f"{_MAX_TERM_CHARS} (give names and places, not sentences)")
        own.append(term)
    chosen: list[str] = []
    used = 0
    left_out = 0
    for term in dict.fromkeys([*own, *lexicon_hotwords()]):
        cost = len(term) + (1 if chosen else 0)
        if used + cost > max_chars:
            left_out += 1
            continue
        chosen.append(term)
        used += cost
    if left_out:
        logger.debug("hotwords: %d terms left out to stay within %d characters", left_out, max_chars)
    return " ".join(chosen)
