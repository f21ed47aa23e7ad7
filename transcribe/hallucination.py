"""What Whisper may write that nobody said: captions it learnt from subtitled video, and repetition loops.

These are suspicions, never verdicts: a person can really say 本节目由… or repeat themselves, and in an
interview record deleting what someone said is the worst error there is. So the words are kept and
marked with the reason (`Word.suspect`); the audio under them decides what the written record shows
(transcribe.speech_check). Silence and steady room noise are handled before this (Silero VAD sends
Whisper only speech).
"""
import re
from dataclasses import replace

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
# Reasons a word or an utterance is suspected (stored with it).
CAPTION = "caption"  # the utterance is mostly one of the captions above
LOOP = "loop"  # the word repeats a unit already said many times over
NO_SPEECH = "no_speech"  # Whisper itself was nearly sure its window held no speech, and unsure of the words
NO_SPEECH_AUDIO = "no_speech_audio"  # no filter doubted the text, but the audio under it is not speech
REASONS = (CAPTION, LOOP, NO_SPEECH, NO_SPEECH_AUDIO)

_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)

# A loop repeats a unit many times with high confidence. Real speech repeats short units too
# (对对对对, 是是是), so only a long stretch of repetition counts as a loop.
MIN_LOOP_REPEATS = 4
MIN_LOOP_CHARS = 16
# ... except one character over and over: nobody says 异异异异异异异异异异异异异异 (written on one second of
# speech with GENERIC kernels), while 对对对对 and 是是是 stay well under it. Marked only: the audio decides.
MIN_CHAR_RUN = 8
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


def mark_loops(words: list[Word]) -> list[Word]:
    """Every word, in order; in a run of words repeated MIN_LOOP_REPEATS+ times over MIN_LOOP_CHARS+
    characters (or one character MIN_CHAR_RUN+ times), the copies after the first are marked LOOP (they were what
    a filter used to drop)."""
    keys = [normalised(w.text) for w in words]
    marked: list[Word] = []
    i = 0
    while i < len(words):
        loop = _loop_at(keys, i)
        if loop is None:
            marked.append(words[i])
            i += 1
            continue
        unit, repeats = loop
        marked.extend(words[i : i + unit])
        marked.extend(mark(words[i + unit : i + unit * repeats], LOOP))
        i += unit * repeats
    return marked


def mark(words: list[Word], reason: str) -> list[Word]:
    """`words` with `reason` as their suspicion; a word already suspected keeps its first reason."""
    return [w if w.suspect else replace(w, suspect=reason) for w in words]


def _loop_at(keys: list[str], start: int) -> tuple[int, int] | None:
    for unit in range(1, MAX_LOOP_UNIT_WORDS + 1):
        pattern = keys[start : start + unit]
        if len(pattern) < unit or not "".join(pattern):
            break
        repeats = 1
        while keys[start + repeats * unit : start + (repeats + 1) * unit] == pattern:
            repeats += 1
        chars = repeats * len("".join(pattern))
        if repeats >= MIN_LOOP_REPEATS and (chars >= MIN_LOOP_CHARS or (len("".join(pattern)) == 1 and chars >= MIN_CHAR_RUN)):
            return unit, repeats
    return None
