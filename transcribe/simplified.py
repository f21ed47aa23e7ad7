"""Whisper writes Mandarin in Traditional characters more often than not: convert everything to Simplified.

OpenCC t2s converts phrase by phrase, and keeps a character that is also Simplified in another use: 瞭 (瞭望)
stays in 瞭解, 著 (著名) stays in 看著, 甚麼 becomes 甚么. Whisper's words are short (瞭 and 解 can be two words),
so OpenCC never sees the phrase. A small table of common words then fixes what is left, on the utterance's
whole text, one character for one character (word times and boundaries are untouched).
"""
import re
from functools import lru_cache
from typing import Sequence

__all__ = ["simplified_words", "to_simplified"]


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


# (pattern, replacement of the same length), applied to Simplified text after OpenCC.
_FIXES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), r) for p, r in (
    (r"瞭解", "了解"), (r"明瞭", "明了"), (r"瞭然", "了然"), (r"瞭若", "了若"), (r"甚么", "什么"),
    (r"妳", "你"), (r"牠", "它"),
))
# 著 is 着 (看着, 跟着, 着急) except in the words where it means "to write, notable" (著名, 显著, 土著).
_ZHU_WORDS = re.compile(r"著(名|作|称|述|录|者|书|文|有)|(显|卓|名|论|原|编|专|土|昭|巨|遗|合|新|译|所|撰|拙|大|遗)著")
_ZHE = "著"


def _fix(text: str) -> str:
    for pattern, replacement in _FIXES:
        text = pattern.sub(replacement, text)
    if _ZHE in text:
        keep = {m.start() + m.group().index(_ZHE) for m in _ZHU_WORDS.finditer(text)}
        text = "".join("着" if ch == _ZHE and i not in keep else ch for i, ch in enumerate(text))
    return text


def to_simplified(text: str) -> str:
    return _fix(_converter().convert(text)) if text else text


def simplified_words(texts: Sequence[str]) -> list[str]:
    """Words in Simplified characters, the common-word fixes applied across word boundaries (瞭 + 解)."""
    converted = [_converter().convert(t) if t else t for t in texts]
    joined = "".join(converted)
    fixed = _fix(joined)
    if len(fixed) != len(joined):  # every fix is one character for one; anything else would move text
        return converted
    out, at = [], 0
    for word in converted:
        out.append(fixed[at:at + len(word)])
        at += len(word)
    return out
