"""Whether a written answer changed a name or a place the speaker said: 孙建华 written 孙建明, 佛山 written 中山.

A recorder rewords freely (妻子 for 老婆, 委托 for 请), so a replaced run counts only where it reads as part of a name
or place: after a surname or 阿/老/小, before 路/村/区, a direction, a word jieba tags as a name or place. Rules of the
language that keep look-alikes out: a character with several readings is heard as any of them (覃 qin/tan → 秦), words
for people are built like names but are none (老太太), a surname character inside a common word is none (收钱, 高铁),
and a name the speaker said elsewhere in the same answer was said.
"""
import difflib

from consistency.polarity import NEGATION_CHARS
from consistency.text import normalize, syllables
from lexicon.segment import segment_tagged

__all__ = ["substitutions"]

_NAME_PREFIX = set("阿老小") | set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
                                     "叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
                                     "万钱严覃武戴莫孔向汤")
"""A one-character change right after these reads as a name changed: 阿强 → 阿龙, 周强 → 周刚 (common surnames)."""
_SURNAMES = _NAME_PREFIX - set("阿老小")
_FUNCTION_CHARS = set("的地得了着过和跟与及或在是那这个条些")
"""Particles, conjunctions and demonstratives: what a recorder rewords freely, never a name."""
_PLACE_SUFFIX = set("市区县镇乡村路街巷庄")
_DIRECTIONS = set("东西南北")
_DIRECTION_SOUNDS = {"dong", "xi", "nan", "bei"}
"""城西 → 城东, 北关 → 南关: a direction changed is a place changed (heard by its sound: 城吸 is 城西)."""


_PROPER_NOUN_FLAGS = ("nr", "ns", "nt", "nz")


_LOCATIVES = set("在到去从往于")
"""在烧烤摊 / 在夜市: a noun right after a locative preposition is where something happened, a place."""


def _proper_noun_at(text: str, a: int, b: int, flags: tuple[str, ...] = _PROPER_NOUN_FLAGS) -> bool:
    """Whether characters a..b of `text` fall in a word jieba tags as a person, place or organisation name."""
    at = 0
    for word, flag in segment_tagged(text):
        if at < b and at + len(word) > a and flag.startswith(flags):
            return True
        at += len(word)
    return False


def _noun_at(text: str, a: int, b: int) -> bool:
    """Whether characters a..b of `text` fall in a noun (a place word or any other noun)."""
    return _proper_noun_at(text, a, b, ("n", "s"))


def substitutions(written: str, spoken: str) -> list[tuple[str, str]]:
    """Runs of written characters whose place in speech holds other characters, with matched content on both
    sides: a name or place replaced, not a clause left out or added. Two to four characters; one when it reads
    as part of a name or place (阿强 → 阿龙 after 阿/老/小, 城南路 → 城北路 before 路/村/区…)."""
    w, s = normalize(written), normalize(spoken)
    ws, ss = syllables(w), syllables(s)
    if not ws or not ss:
        return []
    matcher = difflib.SequenceMatcher(a=ws, b=ss, autojunk=False)
    opcodes = matcher.get_opcodes()
    found = []
    for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if (tag == "replace" and i2 - i1 == 1 and j2 - j1 <= 2 and w[i1] in _SURNAMES and s[j2 - 1] in _SURNAMES
                and i2 + 1 < len(w) and n + 1 < len(opcodes) and opcodes[n + 1][0] == "equal"
                and opcodes[n + 1][2] - opcodes[n + 1][1] >= 2):
            if not _same_reading(w[i1], s[j2 - 1]):
                found.append((w[i1], s[j2 - 1]))  # 邓国平 → 唐国平: one surname for another before the same given name
            continue
        if tag != "replace" or not (1 <= i2 - i1 <= 4 and 1 <= j2 - j1 <= 4) or n == 0:
            continue
        equal_before = opcodes[n - 1][0] == "equal"
        equal_after = n + 1 < len(opcodes) and opcodes[n + 1][0] == "equal"
        one = i2 - i1 == 1 and len(s[j1:j2].strip("".join(_FUNCTION_CHARS))) == 1  # 刘芬 / 刘方的
        # 阿强 → 阿龙, 周强 → 周刚; 孙建华 → 孙建明 (the surname and the given name's first character matched)
        surname_before = one and ((w[i1 - 1] in _NAME_PREFIX and _name_starts(w, i1 - 1))
                                  or (i1 >= 2 and w[i1 - 2] in _NAME_PREFIX and j1 >= 2 and s[j1 - 2] == w[i1 - 2]
                                      and w[i1 - 1] not in _FUNCTION_CHARS and _name_starts(w, i1 - 2)))
        if not (equal_before and (equal_after or (i2 - i1 == 1 and surname_before))):
            continue  # a given name after a surname may end the clause; anything else needs matched text around
        # one character of a word jieba reads as a name or place on both sides: 中山 / 佛山, 冉光荣 / 冉光明
        both_proper = j2 - j1 == 1 and _proper_noun_at(w, i1, i2, ("nr", "ns")) and _proper_noun_at(s, j1, j2, ("nr", "ns"))
        if i2 - i1 == 1 and not (surname_before or (i2 < len(w) and w[i2] in _PLACE_SUFFIX) or both_proper
                                 or (w[i1] in _DIRECTIONS and ss[j1] in _DIRECTION_SOUNDS)):
            continue
        run = w[i1:i2]
        if i2 - i1 > 1 and not (_proper_noun_at(w, i1, i2) or _proper_noun_at(s, j1, j2)
                                or (w[i1 - 1] in _LOCATIVES and (_noun_at(w, i1, i2) or _noun_at(s, j1, j2)))
                                or (i2 < len(w) and w[i2] in _PLACE_SUFFIX)
                                or any(ch in _DIRECTIONS for ch in run)):
            continue  # 妻子 / 老婆, 委托 / 请: other words for the same thing, not a name or a place
        if not run.strip("".join(_FUNCTION_CHARS)) or not s[j1:j2].strip("".join(_FUNCTION_CHARS)):
            continue  # 的 / 那条, 和 / 跟: the recorder's wording, not a name or place (住经开区 / 住在高新区 is)
        if any(ch.isdigit() for ch in run + s[j1:j2]) or any(ch in NEGATION_CHARS for ch in run + s[j1:j2]):
            continue
        if _same_reading(run, s[j1:j2]) or _in_person_word(w, i1, i2) or _in_person_word(s, j1, j2):
            continue
        if len(run) >= 2 and run in s:
            continue  # 在南宁东站 / 在火车东站 after 去的南宁: a name the speaker said in the same answer
        found.append((run, s[j1:j2]))
    return found


def _name_starts(text: str, at: int) -> bool:
    """Whether a name may begin at character `at`: after 阿/老/小 always; a surname only where jieba does not read it
    as part of a common word (收钱, 高铁: 钱 and 高 are surnames, but not there)."""
    if text[at] not in _SURNAMES:
        return True
    start = 0
    for word, flag in segment_tagged(text):
        if start <= at < start + len(word):
            return len(word) == 1 or (start == at and flag.startswith("nr"))
        start += len(word)
    return True


_PERSON_WORDS = ("老太太", "老大爷", "老大娘", "老爷子", "老奶奶", "老爷爷", "老头", "老人", "老乡", "老板", "老婆", "老公",
                 "小伙子", "小孩", "小姑娘", "小朋友", "小姐")
"""Words for people built like a name (老/小 + …) that are none: 老太太 for 老年妇女 is no name changed."""


def _in_person_word(text: str, a: int, b: int) -> bool:
    for word in _PERSON_WORDS:
        at = text.find(word)
        while at >= 0:
            if at < b and at + len(word) > a:
                return True
            at = text.find(word, at + 1)
    return False


def _same_reading(a: str, b: str) -> bool:
    """Whether each character of `a` has a reading of the one of `b` at its place: 覃 (qin or tan) heard as 秦."""
    from pypinyin import Style, pinyin

    if len(a) != len(b):
        return False
    readings_a = pinyin(a, style=Style.NORMAL, heteronym=True)
    readings_b = pinyin(b, style=Style.NORMAL, heteronym=True)
    return all(set(x) & set(y) for x, y in zip(readings_a, readings_b))
