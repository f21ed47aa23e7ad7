"""Punctuation added to recognised text: only marks, never characters; pauses and question forms decide.

The rules are pure functions of words, pauses and who speaks; one test runs the real model on a clip to show
that what is stored carries marks and scores the same character error rate as without them.
"""
import json
from pathlib import Path

import pytest
from faster_whisper import decode_audio

from cases.record_form import record_turns
from transcribe import Word, transcribe_samples
from transcribe.metrics import character_error_rate
from transcribe.punctuation import (
    SENTENCE_ENDS,
    characters,
    is_question,
    officer_questions,
    punctuate,
    punctuate_words,
    punctuated,
)
from transcribe.types import Utterance

LINES = Path(__file__).resolve().parents[2] / "bench" / "data" / "punctuation_lines.jsonl"


def reference_lines() -> list[dict]:
    return [json.loads(line) for line in LINES.read_text(encoding="utf-8").splitlines()]


def test_punctuation_never_changes_a_character_nor_the_error_rate():
    for row in reference_lines():
        bare = characters(row["text"])
        for asking in (False, True):
            out = officer_questions(punctuate(bare, asking=asking))
            assert characters(out) == bare
            assert character_error_rate(row["text"], out) == character_error_rate(row["text"], bare) == 0.0
            assert out[-1] in SENTENCE_ENDS


def test_punctuating_twice_changes_nothing_more():
    for row in reference_lines():
        once = punctuate(characters(row["text"]))
        assert punctuate(once) == once
        assert officer_questions(officer_questions(once)) == officer_questions(once)


def _words(*pairs: tuple[str, float]) -> list[Word]:
    """Words of 0.3 s each, each followed by the pause given with it."""
    words, t = [], 0.0
    for text, pause in pairs:
        words.append(Word(start_s=t, end_s=t + 0.3, text=text, probability=0.9))
        t += 0.3 + pause
    return words


def test_a_short_pause_is_a_comma_a_long_one_ends_a_sentence():
    utterance = Utterance.from_words(_words(("我们", 0.05), ("是", 0.05), ("同事", 0.7), ("平时", 0.05),
                                            ("关系", 0.05), ("还可以", 1.5), ("你", 0.05), ("认识", 0.05),
                                            ("他", 0.05), ("吗", 0.0)))
    out = punctuated(utterance)
    assert out.text == "我们是同事，平时关系还可以。你认识他吗？"
    assert out.text == "".join(w.text for w in out.words)  # the text stays the concatenation of the words
    assert [(w.start_s, w.end_s) for w in out.words] == [(w.start_s, w.end_s) for w in utterance.words]


def test_whisper_marks_are_kept_and_written_full_width():
    assert punctuate_words(["好的,", "我", "知道了"], [0.0, 0.0, 0.0]) == ["好的，", "我", "知道了。"]
    assert punctuate("温度是3.5度") == "温度是3.5度。"  # a decimal point is not a full stop
    assert punctuate("你是谁?") == "你是谁？"
    assert punctuate("是我拿的，") == "是我拿的。"  # a trailing comma gives way to the sentence end


@pytest.mark.parametrize(("sentence", "asking", "question"), [
    ("你知道今天为什么叫你来吗", False, True),
    ("你知不知道", False, True),
    ("我不知道他为什么要报警", False, False),
    ("没有什么要补充的了", False, False),
    ("我在家里看电视呢", False, False),
    ("钱呢", False, True),
    ("你叫什么名字", True, True),
    ("你动手了没有", True, True),
    ("如果有什么不清楚的可以随时提出来", True, False),
    ("现在依法对你进行讯问", True, False),
])
def test_question_forms(sentence, asking, question):
    assert is_question(sentence, asking=asking) is question


def test_the_record_prints_an_officers_question_with_a_question_mark():
    utterances = [
        {"start_s": 0.0, "end_s": 1.0, "text": "你几点到的。", "speaker": "S0", "role": "讯问人"},
        {"start_s": 1.5, "end_s": 2.0, "text": "十点多到的。", "speaker": "S1", "role": "被讯问人"},
        {"start_s": 2.5, "end_s": 3.0, "text": "你叫什么名字", "speaker": "S0", "role": "讯问人"},
    ]
    assert record_turns(utterances) == [("问", "你几点到的？"), ("答", "十点多到的。"), ("问", "你叫什么名字")]


def test_recognised_text_is_stored_punctuated_and_scores_the_same(whisper_model, data_dir, manifest):
    name = "paddlespeech_zh.wav"
    utterances, _ = transcribe_samples(whisper_model, decode_audio(str(data_dir / name)))
    utterances = list(utterances)
    assert utterances
    text = "".join(u.text for u in utterances)
    for utterance in utterances:
        assert utterance.text[-1] in SENTENCE_ENDS
        assert utterance.text == "".join(w.text for w in utterance.words).strip()
    reference = manifest[name]["transcript"]
    assert character_error_rate(reference, text) == character_error_rate(reference, characters(text))


def test_a_space_whisper_puts_between_chinese_clauses_is_a_comma():
    assert punctuate_words(["展品", "私有", " 展", "圆"], [0.0, 0.0, 0.0]) == ["展品", "私有，", "展", "圆。"]
    assert punctuate_words(["he", " must", " be"], [0.0, 0.0]) == ["he", " must", " be。"]  # Latin: spaces stay
