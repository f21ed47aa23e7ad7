"""Text the aligner compares: Simplified, no punctuation, numerals as digits, and toneless pinyin per character.

A written record and a recognizer's transcript spell the same speech differently: Traditional or Simplified
characters, 三百 or 300, 5号 or 5日, homophones the recognizer chose (陈立菌 for 陈立军). Comparing on toneless
pinyin makes homophones equal; turning numerals into digits on both sides makes numbers comparable.
"""
import re
import unicodedata
from functools import lru_cache

from transcribe.simplified import to_simplified

__all__ = ["normalize", "pinyin_of", "syllables", "bigrams", "numbers_in", "NUMERAL_CHARS"]

NUMERAL_CHARS = "零〇一二两三四五六七八九十百千万亿"
_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}
_BIG = {"万": 10_000, "亿": 100_000_000}
# Words where a numeral character is not a number: left as written on both sides.
_NOT_NUMBERS = ("一下", "一样", "一致", "一起", "一遍", "一会", "一些", "一直", "一定", "一般", "一切", "一共", "万一",
                "一点儿", "统一", "唯一", "一方面", "十分", "千万", "万分", "一直", "不一", "一旦", "一并", "第一次")
_KEEP = {w: f"\x00{i}\x00" for i, w in enumerate(_NOT_NUMBERS)}
_RUN = re.compile(f"[{NUMERAL_CHARS}]+")
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


# An approximate number (概数): two neighbouring digits said together, after a whole part that ends in a unit
# and before a unit: 三四 (3 or 4), 十五六 (15 or 16), 二十七八, 三四十 (30 or 40), 七八百, 一两万, 三千四五百.
_APPROXIMATE = re.compile(r"^(?P<head>(?:[一二两三四五六七八九]?[十百千万])*)(?P<a>[一两二三四五六七八])"
                          r"(?P<b>[两二三四五六七八九])(?P<unit>[十百千万]?)$")


def _approximate(run: str) -> str | None:
    """An approximate number as its two ends, 15至16: read as one number (十五六 → 16, 二三十 → 30) it would
    lose one end and compare unequal with a record that keeps the range."""
    m = _APPROXIMATE.match(run)
    if m is None or _DIGIT[m["b"]] != _DIGIT[m["a"]] + 1:
        return None
    head, unit = m["head"], m["unit"]
    return f"{_numeral_value(head + m['a'] + unit)}至{_numeral_value(head + m['b'] + unit)}"


def _numeral_value(run: str) -> str:
    """One run of Chinese numerals as digits: 三百 → 300, 二十多 stays 20 (the 多 is not in the run),
    1989 spelled digit by digit (一九八九) → 1989, two neighbouring digits as a range (十五六 → 15至16), another
    run that is not one number (二三五) → its digits (235)."""
    if (approximate := _approximate(run)) is not None:
        return approximate
    if all(ch in _BIG for ch in run):
        return run  # 二十多万: the 万 stands after 多, not a number by itself
    if not any(ch in _UNIT or ch in _BIG for ch in run):
        return "".join(str(_DIGIT[ch]) for ch in run)
    total, section, current = 0, 0, 0
    for ch in run:
        if ch in _DIGIT:
            current = _DIGIT[ch]
        elif ch in _UNIT:
            section += (current or 1) * _UNIT[ch]
            current = 0
        else:
            total += (section + current) * _BIG[ch]
            section, current = 0, 0
    # 三万五, 一千二, 四百五: a last digit right after 百/千/万 counts in the next lower unit (35000, 1200, 450);
    # after 零 (一千零二) or 十 (二十五) it is units
    last_unit = run[-2] if len(run) >= 2 and run[-1] in _DIGIT else ""
    if current and last_unit in ("百", "千", "万"):
        current *= {"百": 10, "千": 100, "万": 1000}[last_unit]
    return str(total + section + current)


_DECIMAL_BIG = re.compile(r"(\d+)\.(\d+)(万|亿)")
_MIXED_BIG = re.compile(r"(\d+)万(?:(\d)千|(\d)(?![\d十百千万亿.]))?")


def _written_amounts(text: str) -> str:
    """3.5万 → 35000, 2万8千 and 2万8 → 28000, 6万 → 60000: the ways a record (or a recognizer) writes amounts
    with 万, as the digits the spoken 三万五千 becomes."""
    def decimal(m: re.Match) -> str:
        scale = 10_000 if m.group(3) == "万" else 100_000_000
        return str(round(float(f"{m.group(1)}.{m.group(2)}") * scale))

    def mixed(m: re.Match) -> str:
        thousands = m.group(2) or m.group(3) or "0"
        return str(int(m.group(1)) * 10_000 + int(thousands) * 1000)

    return _MIXED_BIG.sub(mixed, _DECIMAL_BIG.sub(decimal, text))


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Simplified characters, half-width letters and digits, no punctuation or spaces, numerals as digits,
    号 after a day number as 日, 点 after an hour as 时 (spoken 9点35 and written 9时35分 compare equal),
    一刻/三刻/半 as 15/45/30 minutes, amounts with 万 as plain digits (3.5万, 2万8千, 三万五 → 35000, 28000, 35000)."""
    text = unicodedata.normalize("NFKC", to_simplified(text or ""))
    text = _written_amounts(text)  # before punctuation goes: the point of 3.5万 is punctuation
    text = _PUNCT.sub("", text)
    for word, mark in _KEEP.items():
        if word == "十分":  # 十分 (very), but 四十分 is forty minutes
            text = re.sub(r"(?<![零〇一二两三四五六七八九\d])十分", mark, text)
        else:
            text = text.replace(word, mark)
    text = _RUN.sub(lambda m: _numeral_value(m.group()), text)
    for word, mark in _KEEP.items():
        text = text.replace(mark, word)
    text = re.sub(r"(\d)号", r"\1日", text)
    text = re.sub(r"(\d)点(?=\d|半|整|钟|多|左右|$)", r"\1时", text)
    text = re.sub(r"(\d)时半", r"\1时30分", text)  # 十一点半 = 11时30分
    text = re.sub(r"(\d)时([13])刻", lambda m: f"{m.group(1)}时{int(m.group(2)) * 15}分", text)  # 八点一刻 = 8时15分
    text = _written_amounts(text)  # 两万八千 said, 2万8千 heard: the same once numerals are digits
    return text.lower()


@lru_cache(maxsize=1)
def _pinyin():
    from pypinyin import Style, lazy_pinyin

    return lambda text: lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: list(chars))


@lru_cache(maxsize=4096)
def syllables(normalized: str) -> tuple[str, ...]:
    """Toneless pinyin, one syllable per Han character; a digit as it is read alone (1 → yi: a recognizer's 一制
    for 一致 became 1制, and must still sound the same), a letter as itself."""
    if not normalized:
        return ()
    return tuple(_DIGIT_SOUNDS.get(s, s) for s in _pinyin()(normalized))


_DIGIT_SOUNDS = dict(zip("0123456789", ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu")))


def pinyin_of(text: str) -> str:
    """The toneless pinyin of `text` (after `normalize`) joined by spaces, for substring tests."""
    return " ".join(syllables(normalize(text)))


def bigrams(units: tuple[str, ...]) -> list[tuple[str, str]]:
    """Adjacent pairs; a one-unit text gives itself paired with nothing, so it can still match."""
    if len(units) == 1:
        return [(units[0], "")]
    return list(zip(units, units[1:]))


_NUMBER = re.compile(r"\d+")


def numbers_in(normalized: str) -> list[str]:
    """The digit runs of a normalized text, in order."""
    return _NUMBER.findall(normalized)
