"""A two-character term matched by sound alone: a recognizer's homophones of the word, not another word.

When both characters of a two-character term are replaced, the match must rest on the same syllables,
tones aside (慨实 kai shi for 开始 kai shi, 避鲁 bi lu for 笔录 bi lu: what a recognizer writes when it
mishears the word). A pair that only sounds alike through the accent merges (zu ~ zhu) is another word:
组织 is not 住址. Found by the compliance bench: the first version of the rule (one character of the term
kept, or the very same toned syllable) lost these two notices.
"""
import pytest

from lexicon import check_transcript, load_rule_set
from lexicon.matcher import RuleMatcher


@pytest.fixture(scope="module")
def matcher() -> RuleMatcher:
    return RuleMatcher(load_rule_set("criminal_first"))


@pytest.mark.parametrize(("line", "rule"), [
    ("今天2025年1月14日下午两点十分讯问现在慨实", "start_time"),  # 开始 kai1 shi3 -> 慨实 kai3 shi2
    ("避鲁你核对一下没有问惕签紫", "record_review"),  # 笔录 bi3 lu4 -> 避鲁 bi4 lu3
])
def test_both_characters_replaced_by_homophones_still_match(matcher, line, rule):
    assert rule in matcher.analyse(line).hits


@pytest.mark.parametrize(("line", "rule"), [
    ("今天2025年1月14日下午两点十分讯问现在开始", "start_time"),
    ("笔录你核对一下没有问题签字", "record_review"),
])
def test_the_clean_sentences_match_too(matcher, line, rule):
    assert rule in matcher.analyse(line).hits


def test_the_homophone_term_is_what_the_match_rests_on(matcher):
    # Without the term (or with a word of other syllables there) the same sentences are no notice.
    assert "start_time" not in matcher.analyse("今天2025年1月14日下午两点十分讯问现在").hits
    assert "record_review" not in matcher.analyse("你核对一下没有问惕签紫").hits
    assert "record_review" not in matcher.analyse("比如你核对一下没有问惕签紫").hits


@pytest.mark.parametrize("line", ["你们单位的组织纪律严不严", "李大哥你知不知道党的组织原则啊"])
def test_a_word_alike_only_through_accent_merges_is_not_the_term(matcher, line):
    # 组织 zu3 zhi1 and 住址 zhu4 zhi3: zu and zhu are one syllable only for a speaker merging zh into z.
    assert "verify_identity" not in matcher.analyse(line).hits


def test_a_whole_transcript_with_the_homophones_passes():
    doc = {"session": {"rule_set": "criminal_first"}, "utterances": [
        {"id": 1, "start_s": 0.0, "end_s": 4.0, "role": "讯问人", "text": "今天下午两点十分讯问现在慨实"},
        {"id": 2, "start_s": 900.0, "end_s": 904.0, "role": "讯问人", "text": "避鲁你核对一下没有问惕签紫"},
        {"id": 3, "start_s": 905.0, "end_s": 906.0, "role": "被讯问人", "text": "没有问题。"},
    ]}
    status = {f.rule_key: f.status for f in check_transcript(doc, load_rule_set("criminal_first"))}
    assert status["start_time"] == "satisfied"
    assert status["record_review"] == "satisfied"
