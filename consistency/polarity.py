"""Whether a clause is negated, and whether a record flipped what was said (said 没有, written 有).

A negation character does not always negate. Rules of the language this module applies before it compares:
- in some words the character is part of another meaning: 差不多 (about), 特别 (especially), 不过 (but), 非常 (very);
- two negations cancel: 没有不懂的 is 都懂, 不是不想 is 想 (a double negative is positive);
- a self-repair is not a negation of what follows: 前年，不对，是大前年 (the speaker corrects a word);
- a bare 没有 / 不 answering the question, followed by the answer itself (没有，都明白 to 有没有不明白的), may be left
  out by the recorder; it is a flip only when the record answers the other way (有 / 是);
- a negation may stand after its object: 连批号都没有 / 批号也没有 is 没有批号, or reach past 什么 (没什么问题);
- a negated verb may be written as a verb of negative meaning: 不用吃药 → 停药, 不怎么来 → 很少来, 不承认 → 否认.
"""
import difflib
import re

from consistency.text import normalize, syllables

__all__ = ["NEGATION_CHARS", "negated", "negation_differs", "polarity_flipped", "polarity_text"]

NEGATION_CHARS = set("没不未无非别否")
_NEGATION_SYLLABLES = {"mei", "bu"}
_PLAIN_NEGATIONS = "没不未"
_MASK = "\ue000"  # stands for a negation character that does not negate (a character no text holds)

_NOT_NEGATING = ("差不多", "不过", "不管", "不少", "不仅", "不但", "不断", "不久", "不然", "要不", "非常", "无论",
                 "别人", "别的", "别处", "特别", "区别", "分别", "告别", "个别", "性别", "识别", "级别", "类别",
                 "对不起", "了不起", "不好意思", "不得不", "无非", "否则", "是否", "能否", "可否", "与否")
_DOUBLE_NEGATION = re.compile(r"(没有?|不是|并非|无)(什么|谁|人|哪个|一个)?不")
_SELF_REPAIR = re.compile(r"不对(?=(?:应该|应当)?是)")
_CLAUSE_END = "，。！？；、,.!?;： "
_REPLY = re.compile(rf"(?:^|(?<=[{_CLAUSE_END}]))(?:没有|没|不是|不)(?:[{_CLAUSE_END}]+)(?=\S)")
_ANSWERS_ITSELF = re.compile(rf"^(?:有|是|是的|对|对的|会|要|在|认识|知道|没有|没|不是|不)(?:了|的)?(?:[{_CLAUSE_END}]|$)")
_NEGATIVE_MEANING = set("停拒否免禁缺忘失少")
"""Characters of verbs and adverbs that carry a negation in their meaning (停药, 拒绝, 否认, 很少)."""
_NEGATION_FILLERS = re.compile(r"(什么|怎么|多大|太|啥|大)$")
_POSTPOSED = re.compile(r"(都|也)(没|不)")


def polarity_text(text: str, *, answered: str | None = None) -> str:
    """`text` normalized, with every negation character that does not negate masked. `answered` is the other side
    of the comparison (the record) when `text` is speech: a bare reply 没有 before the answer is dropped unless the
    record begins with a reply of its own (有 / 是 / 没有)."""
    text = text or ""
    if answered is not None and not _ANSWERS_ITSELF.match(answered.strip()):
        text = _REPLY.sub("", text)
    out = normalize(text)
    sounds = syllables(out)
    if len(sounds) == len(out):  # one syllable a character: the word is found by its sound too (别仁 for 别人)
        chars = list(out)
        for word in _NOT_NEGATING:
            wanted = syllables(word)
            for at in range(len(sounds) - len(wanted) + 1):
                if sounds[at:at + len(wanted)] == wanted and any(ch in NEGATION_CHARS for ch in out[at:at + len(word)]):
                    chars[at:at + len(word)] = [_MASK if c in NEGATION_CHARS else c for c in out[at:at + len(word)]]
        out = "".join(chars)
    for word in _NOT_NEGATING:
        if word in out:
            out = out.replace(word, "".join(_MASK if ch in NEGATION_CHARS else ch for ch in word))
    out = _DOUBLE_NEGATION.sub(lambda m: _MASK * len(m.group(1)) + (m.group(2) or "") + _MASK, out)
    return _SELF_REPAIR.sub(_MASK * 2, out)


def negated(text: str, *, spoken: bool, answered: str | None = None) -> bool:
    """Whether `text` holds a negation that negates (see the module's rules)."""
    masked = polarity_text(text, answered=answered)
    if any(ch in NEGATION_CHARS for ch in masked):
        return True
    # a recognizer may write 没 as a homophone (眉, 每): on the spoken side the syllable counts
    return spoken and any(s in _NEGATION_SYLLABLES and ch != _MASK for s, ch in zip(syllables(masked), masked))


def negation_differs(written: str, spoken: str) -> bool:
    """Whether one side negates and the other does not, for an answer replaced wholesale (no place to compare):
    a side that holds a verb of negative meaning (很少, 停药, 否认) counts as negated."""
    neg_w, neg_s = negated(written, spoken=False), negated(spoken, spoken=True, answered=written)
    neg_w = neg_w or any(ch in _NEGATIVE_MEANING for ch in normalize(written))
    neg_s = neg_s or any(ch in _NEGATIVE_MEANING for ch in normalize(spoken))
    return neg_w != neg_s


def polarity_flipped(written: str, spoken: str) -> bool:
    """Said 没有 and written 有 (or the reverse) at the same place; a negated clause left out of the record is
    not a flip (the said_not_written check sees it)."""
    w, s = polarity_text(written), polarity_text(spoken, answered=written)
    if _negation_dropped(w, s) or _negation_dropped(s, w):
        return True
    neg_w, neg_s = negated(written, spoken=False), negated(spoken, spoken=True, answered=written)
    if neg_w == neg_s:
        return False
    matcher = difflib.SequenceMatcher(a=syllables(w), b=syllables(s), autojunk=False)
    if neg_s:
        spoken_syllables = syllables(s)
        at = [j for j, ch in enumerate(s) if ch in NEGATION_CHARS
              or (ch != _MASK and spoken_syllables[j] in _NEGATION_SYLLABLES)]
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "replace" and any(j1 <= j < j2 for j in at):
                if any(ch in _NEGATIVE_MEANING for ch in w[i1:i2]):
                    continue  # 不用吃药 written 停药, 不怎么来 written 很少来: the same polarity in one word
                return True
        return False
    return True


def _negation_dropped(a: str, b: str) -> bool:
    """Whether `a` negates a word that `b` holds at the same place without a negation: 没偷过 / 偷过, 没有异议 / 有异议,
    不愿意出庭 / 愿意出庭. The negation must stand unmatched right before the verb both sides share (so the clause is
    the same and only its polarity differs); a whole clause left out is not this, nor a negation `b` puts after the
    object (批号都没有). Only 没/不/未, written as such: 非/无 and the recognizer's homophones for 不 (部, 步) sit inside
    other words too often."""
    sa, sb = syllables(a), syllables(b)
    if not sa or not sb:
        return False
    matched = {}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=sa, b=sb, autojunk=False).get_opcodes():
        if tag == "equal":
            matched.update({i: j1 + i - i1 for i in range(i1, i2)})
    for i, ch in enumerate(a):
        if ch not in _PLAIN_NEGATIONS or i in matched:
            continue
        verb = i + 2 if ch == "没" and a[i + 1:i + 2] == "有" and i + 1 not in matched else i + 1
        # the negated word and the one after it are said the same on both sides
        # (喝酒 / 喝了一点酒: the word after may be a few characters on)
        if verb not in matched or not 0 < matched.get(verb + 1, -99) - matched[verb] <= 4:
            continue
        at = matched[verb]
        before = _NEGATION_FILLERS.sub("", b[max(0, at - 5):at])  # 没什么问题 is 没问题: the negation reaches past 什么
        if any(c in _PLAIN_NEGATIONS for c in before[-2:]):
            continue
        if _POSTPOSED.search(b[at:at + 12]):
            continue  # 连保健食品的批号都没有: the negation after its object
        return True
    return False
