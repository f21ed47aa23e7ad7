"""What Whisper writes that nobody said: captions it learnt from subtitled video, and repetition loops.

Silence and steady room noise are handled before this (Silero VAD sends Whisper only speech); what is
left here works on the recognised words, so the timings of what remains stay true.
"""
import re

from transcribe.types import Word

# Whole-utterance captions Whisper invents on silence, music or noise (from faster-whisper, WhisperX and
# WhisperLive users' reports). Matched on Simplified text with punctuation and spaces removed.
_CAPTION_PATTERNS = tuple(
    re.compile(p)
    for p in (
        r"(字幕|翻译|校对|时间轴)(由|制作|提供|来自|志愿者|组|君).{0,24}",
        r"(由)?amara(org)?(社群|社区)?(提供)?",
        r"(请|欢迎)?(不吝|记得|大家)?(点赞|订阅|转发|打赏|关注)((订阅|点赞|转发|打赏|关注|支持|明镜|与|和|点点|栏目|频道|我们|的)+)",
        r"(谢谢|感谢)(大家|各位|您)?(的)?(收看|观看|收听)",
        r"(本|该)?(视频|节目)(由|来自).{0,16}",
        r"中文字幕.{0,12}",
        r"优优独播剧场.{0,24}",
        r"yoyotelevisionseriesexclusive",
    )
)
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)

# A loop repeats a unit many times with high confidence. Real speech repeats short units too
# (对对对对, 是是是), so only a long stretch of repetition counts as a loop.
MIN_LOOP_REPEATS = 4
MIN_LOOP_CHARS = 16
MAX_LOOP_UNIT_WORDS = 12


def normalised(text: str) -> str:
    return _STRIP.sub("", text).lower()


def is_caption(text: str) -> bool:
    """True when the whole utterance is one of the captions Whisper invents."""
    plain = normalised(text)
    if not plain:
        return False
    # The captions must make up most of the utterance: a suspect who says 关注 in a sentence is no caption.
    covered = sum(len(m.group(0)) for pattern in _CAPTION_PATTERNS for m in pattern.finditer(plain))
    return covered >= 0.6 * len(plain)


def remove_loops(words: list[Word]) -> list[Word]:
    """Keep one copy of any run of words repeated MIN_LOOP_REPEATS+ times over MIN_LOOP_CHARS+ characters."""
    keys = [normalised(w.text) for w in words]
    kept: list[Word] = []
    i = 0
    while i < len(words):
        loop = _loop_at(keys, i)
        if loop is None:
            kept.append(words[i])
            i += 1
            continue
        unit, repeats = loop
        kept.extend(words[i : i + unit])
        i += unit * repeats
    return kept


def _loop_at(keys: list[str], start: int) -> tuple[int, int] | None:
    for unit in range(1, MAX_LOOP_UNIT_WORDS + 1):
        pattern = keys[start : start + unit]
        if len(pattern) < unit or not "".join(pattern):
            break
        repeats = 1
        while keys[start + repeats * unit : start + (repeats + 1) * unit] == pattern:
            repeats += 1
        if repeats >= MIN_LOOP_REPEATS and repeats * len("".join(pattern)) >= MIN_LOOP_CHARS:
            return unit, repeats
    return None
