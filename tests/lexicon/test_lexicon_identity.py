"""查明犯罪嫌疑人身份情况 needs a question about the person's own identity, not an identity-sounding word.

"李大哥知不知道党的组织原则啊" was once marked 已告知 (score 0.72): the one-word term set 住址 matched 组织 by sound
alone (zu zhi ~ zhu zhi). A supervisor who trusts 已告知 must not be misled by such sentences, and the true
phrasings, clean or garbled by the recognizer, must still be found.
"""
import pytest

from lexicon import RuleError, check_transcript, load_rule_set
from lexicon.matcher import RuleMatcher

OFF_TOPIC = [
    "李大哥知不知道党的组织原则啊",  # the reported one: 组织 sounds like 住址
    "李大哥你知不知道党的组织原则啊",  # the same put to 你
    "你们单位的组织纪律严不严",
    "你知道这个制度吗",  # 制度 ~ zhi du
    "车子现在在哪里？",  # 住在哪里 with one character dropped
    "这笔钱你是怎么借的，借条在哪里？",
    "你偷的那些手机卖给谁了？",  # 给谁 has the reading ji3 sui: 几岁
    "老黑住在哪里，怎么联系？",  # someone else's address, one kind of fact, not put to the person
    "孩子是哪年出生的？",  # one kind of fact (出生), not put to the person
    "你那天上学了吗？",  # going to school that day is a fact, not where the person goes to school
    "你问他借了多少钱？",  # 问他 with no identity word
]

TRUE_PHRASINGS = [
    "你叫什么名字？",
    "姓名？",
    "家住哪里？",
    "你的姓名、出生日期、身份证号码？",
    "姓名、年龄、户籍？",
    "哪年出生的，身份证号码报一下。",
    "户籍所在地是哪里？现在住哪？",
    "你是什么文化程度，在哪上班？",
    "请手语老师问一下他的姓名和出生日期。",
    "说一下你的个人基本情况",
    "你今年多大了？",
    "你的住址在哪里？",
    # as the recognizer garbles them (homophones, dropped characters, no punctuation)
    "你叫什么铭姊",
    "腻得姓名出省日期戶籍地",
    "名年龄住址",
    "佳住哪里",
    "你报一下倪的明字和民身份号码",
    "逆使什么文化程度在哪上班",
    # the core word of a garbled long term: 出生日期 -> 楚生日 (one homophone, one dropped) is still 出生
    "请授语老师问一下他的姓名和楚生日",
    # a minor's school is an adult's work unit, and 你 may be lost or misheard (逆)
    "你叫什么？在哪上学？",
    "叫什么在哪尚学",
    "逆叫什么在纳上学",
    # a question put through the interpreter is put to the person, even with the other item garbled
    "请手语老师问一下他的出生日期",
    "请手语老师问一下她的明和出升日期",
    "请手语老师问一他的姓和出生日期",
]


def transcript(officer_line: str) -> dict:
    """An officer's line and the suspect's answer (a question-answer pair, as the checker also reads them)."""
    return {"session": {"rule_set": "criminal_first"}, "utterances": [
        {"id": 1, "start_s": 0.0, "end_s": 3.0, "role": "讯问人", "text": officer_line},
        {"id": 2, "start_s": 3.5, "end_s": 5.0, "role": "被讯问人", "text": "知道。"},
    ]}


def identity_status(officer_line: str) -> str:
    findings = check_transcript(transcript(officer_line), load_rule_set("criminal_first"))
    return next(f.status for f in findings if f.rule_key == "verify_identity")


@pytest.mark.parametrize("line", OFF_TOPIC)
def test_an_off_topic_sentence_is_not_the_identity_check(line):
    assert identity_status(line) != "satisfied"
    assert "verify_identity" not in RuleMatcher(load_rule_set("criminal_first")).analyse(line).hits


@pytest.mark.parametrize("line", TRUE_PHRASINGS)
def test_the_identity_questions_are_still_found(line):
    assert identity_status(line) == "satisfied"


@pytest.mark.parametrize("rule_set", ["criminal_later", "administrative"])
def test_the_sets_that_copy_the_rule_agree(rule_set):
    matcher = RuleMatcher(load_rule_set(rule_set))
    assert "verify_identity" not in matcher.analyse(OFF_TOPIC[0]).hits
    assert "verify_identity" in matcher.analyse("姓名、年龄、户籍？").hits


RULE = """
[[rules]]
key = "identity"
title = "查明身份"
basis = "MPS 203"
speaker = "officer"
order = "any"
phrases = []
[[rules.terms]]
all = [["姓名", "名字"], ["年龄", "出生日期"], ["住址", "户籍"]]
"""


def rule_with(tmp_path, extra: str) -> RuleMatcher:
    path = tmp_path / "custom.toml"
    path.write_text(RULE + extra, encoding="utf-8")
    return RuleMatcher(load_rule_set(str(path)))


def test_at_least_lets_some_of_the_groups_suffice(tmp_path):
    every = rule_with(tmp_path, "")
    assert "identity" not in every.analyse("姓名和年龄说一下").hits
    assert "identity" in every.analyse("姓名年龄住址说一下").hits
    some = rule_with(tmp_path, "at_least = 2\n")
    assert "identity" in some.analyse("姓名和年龄说一下").hits
    assert "identity" not in some.analyse("姓名说一下").hits


def test_max_other_chars_wants_the_terms_nearly_alone(tmp_path):
    alone = rule_with(tmp_path, "at_least = 1\nmax_other_chars = 2\n")
    assert "identity" in alone.analyse("姓名？").hits
    assert "identity" in alone.analyse("姓名呢？").hits
    assert "identity" not in alone.analyse("我们不知道他的姓名是什么").hits


@pytest.mark.parametrize(("extra", "field"), [
    ("at_least = 0\n", "at_least"), ("at_least = 4\n", "at_least"), ("at_least = true\n", "at_least"),
    ("max_other_chars = -1\n", "max_other_chars"), ("max_other_chars = \"2\"\n", "max_other_chars"),
])
def test_bad_values_are_refused_naming_the_field(tmp_path, extra, field):
    with pytest.raises(RuleError, match=rf"rule 'identity': field 'terms\[0\]\.{field}'"):
        rule_with(tmp_path, extra)
