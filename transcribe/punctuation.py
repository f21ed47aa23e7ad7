"""Chinese punctuation (，。？) for recognised text, from what is known without a punctuation model.

No Chinese punctuation model ships in a pip package, so three things are combined:
- Whisper's own punctuation, where it writes some: kept (its half-width ,?!;: after a Han character become the
  full-width marks a 笔录 uses; a space it puts between two Chinese clauses becomes a comma).
- Pauses between words (word timestamps): a short one is a comma, a long one ends a sentence.
- Question forms at a sentence end: 吗, A-not-A (是不是, 有没有, 能不能 …), question words (什么, 为什么, 怎么,
  多少, 几个 …) unless the sentence says it does not know (我不知道他为什么…), and 呢 after those or after a
  bare noun (钱呢). An officer's line (`asking`) is held to be a question on weaker evidence.

Only punctuation is ever added or changed; the characters are never touched (`characters(punctuated) ==
characters(text)`), so the character error rate is the same with or without this pass.
"""
import re
from dataclasses import dataclass, replace
from typing import Sequence

from transcribe.types import Utterance

__all__ = ["PunctuationOptions", "SENTENCE_ENDS", "characters", "is_question", "officer_questions", "punctuate", "punctuate_words",
           "punctuated"]

SENTENCE_ENDS = "。？！"
_MARKS = "，。？！、；：…"
_ALL_PUNCTUATION = _MARKS + ",.?!;:"
# Whisper's half-width marks after a Han character, as a 笔录 writes them. A full stop after a digit or a
# Latin letter (3.5, Mr.) is not touched.
_FULL_WIDTH = {",": "，", "?": "？", "!": "！", ";": "；", ":": "：", ".": "。"}
_HALF_AFTER_HAN = re.compile(r"(?<=[\u3400-\u9fff])[,?!;:.](?![0-9])")
_NOT_TEXT = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class PunctuationOptions:
    """Pauses (seconds between one word's end and the next one's start) that punctuation stands for.

    Set from speech-rate studies of Mandarin (pauses at clause boundaries are mostly 0.3-0.8 s, at sentence
    boundaries longer), not tuned to any clip."""

    comma_pause_s: float = 0.5
    sentence_pause_s: float = 1.2


def characters(text: str) -> str:
    """The text without punctuation and spaces: what the character error rate compares."""
    return _NOT_TEXT.sub("", text)


# A sentence that says the speaker does not know, or a condition: a question word inside it is not a question.
_NOT_ASKING = re.compile(r"不知道|不清楚|不记得|记不清|忘了|不晓得|说不上|如果|要是|假如|不管|无论|不论|随时|都可以|什么的"
                         r"|没什么|没有什么|没啥|也不知")
_A_NOT_A = re.compile(r"(.)[不没]\1|有没有|是否")
_QUESTION_WORDS = re.compile(r"什么|为什么|为啥|怎么|怎样|多少|多久|多长|多大|多远|哪|谁|啥|何时|何地|几[个次点岁年月号天时分人回遍份块张瓶辆]")
_TAGS = re.compile(r"(对不对|是不是|好不好|行不行|可不可以|有没有|没有|吗|么)$")
_FILLERS = re.compile(r"[啊呀啦哈嘛]+$")


def is_question(sentence: str, *, asking: bool = False) -> bool:
    """Whether `sentence` (one sentence, punctuation ignored) asks something. `asking`: said by an officer."""
    text = _FILLERS.sub("", characters(sentence))
    if not text:
        return False
    if text.endswith(("吗", "吗吧")):
        return True
    alternative = bool(_A_NOT_A.search(text))
    # 你知不知道 asks; 我不知道 does not: the A-not-A form is taken out before looking for a denial.
    denial = bool(_NOT_ASKING.search(_A_NOT_A.sub("", text)))
    question_word = bool(_QUESTION_WORDS.search(text))
    if text.endswith("呢"):
        return not denial and (question_word or alternative or len(text) <= 3)
    if denial:
        return False
    if asking:
        return question_word or alternative or bool(_TAGS.search(text))
    # Someone else's line: a question word or A-not-A asks unless the sentence closes as a statement (…的, …了).
    return (question_word or alternative) and not text.endswith(("的", "了"))


def punctuate_words(words: Sequence[str], gaps_s: Sequence[float], *, asking: bool = False,
                    options: PunctuationOptions = PunctuationOptions()) -> list[str]:
    """The words of one utterance with punctuation added: `gaps_s[i]` is the pause after word i (the last one
    is ignored: the utterance's end ends a sentence). Where Whisper already put a mark, it is kept."""
    out = [_full_width(w) for w in words]
    if not out:
        return out
    # Whisper separates clauses of Chinese with a space (宝马佩挂 雕尘…): its own comma, written as one.
    for i in range(1, len(out)):
        before, word = out[i - 1].rstrip(), out[i]
        if word[:1].isspace() and _is_han(before[-1:]) and _is_han(word.lstrip()[:1]):
            out[i - 1], out[i] = before + "，", word.lstrip()
    sentence_start = 0
    for i in range(len(out)):
        last = i == len(out) - 1
        text = out[i].rstrip()
        if not characters(text):
            continue
        if text.endswith(tuple(SENTENCE_ENDS)):
            sentence_start = i + 1
            continue
        if not last and (text.endswith(tuple(_ALL_PUNCTUATION)) or out[i + 1].lstrip().startswith(tuple(_ALL_PUNCTUATION))):
            continue
        gap = gaps_s[i] if i < len(gaps_s) else 0.0
        if last or gap >= options.sentence_pause_s:
            sentence = "".join(out[sentence_start:i + 1])
            mark = "？" if is_question(sentence, asking=asking) else "。"
            out[i] = _replace_trailing_mark(out[i], mark)
            sentence_start = i + 1
        elif gap >= options.comma_pause_s:
            out[i] = out[i] + "，"
    return out


def punctuate(text: str, *, asking: bool = False) -> str:
    """Punctuation for a line known only as text (no word times): Whisper's marks, and an end mark."""
    return "".join(punctuate_words([text], [], asking=asking)) if text.strip() else text


def _is_han(ch: str) -> bool:
    return bool(ch) and ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")


def _full_width(word: str) -> str:
    return _HALF_AFTER_HAN.sub(lambda m: _FULL_WIDTH[m.group()], word)


def _replace_trailing_mark(word: str, mark: str) -> str:
    """`word` ending with `mark`: a trailing comma or pause mark Whisper wrote gives way to the sentence end."""
    stripped = word.rstrip()
    body = stripped.rstrip("，、；：,;:")
    if not characters(body[-1:]) and body[-1:] in _MARKS:
        return stripped
    return body + mark + word[len(stripped):]


def punctuated(utterance: Utterance, *, asking: bool = False,
               options: PunctuationOptions = PunctuationOptions()) -> Utterance:
    """The utterance with punctuation written into its words' text (as Whisper attaches its own marks to the
    word before them), so its text stays the concatenation of its words; times and marks unchanged."""
    words = utterance.words
    if not words:
        return replace(utterance, text=punctuate(utterance.text, asking=asking))
    gaps = [round(b.start_s - a.end_s, 3) for a, b in zip(words, words[1:])]
    texts = punctuate_words([w.text for w in words], gaps, asking=asking, options=options)
    new_words = tuple(replace(w, text=t) for w, t in zip(words, texts))
    return replace(utterance, words=new_words, text="".join(t for t in texts).strip())


_SENTENCES = re.compile(r"[^。？！]*[。？！]|[^。？！]+$")


def officer_questions(text: str) -> str:
    """An officer's line as the 笔录 prints it: a sentence that ends in 。 but asks by an officer's standard
    (是否…, 什么…, 几点…) ends in ？. Only a full stop already there is changed; nothing is added."""
    return "".join(
        sentence[:-1] + "？" if sentence.endswith("。") and is_question(sentence, asking=True) else sentence
        for sentence in _SENTENCES.findall(text)
    )
