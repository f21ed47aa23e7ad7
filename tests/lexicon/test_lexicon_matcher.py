"""The matcher finds statements through recognition errors, and does not find them where they are not."""
import pytest

from lexicon import load_rule_set, similarity
from lexicon.matcher import RuleMatcher, find, has_clock_time, normalize


@pytest.fixture(scope="module")
def matcher() -> RuleMatcher:
    return RuleMatcher(load_rule_set())


@pytest.mark.parametrize(
    ("pattern", "text", "at_least"),
    [
        ("讯问", "现在对你进行训问", 0.9),  # same syllable, other character
        ("委托律师", "你有权为做律师作为辩护人", 0.75),  # 委/为 same syllable, 托/做 same final
        ("诉讼权利义务告知书", "这是诉讼权力义务告之书", 0.85),
        ("诉讼权利义务告知书", "这是诉讼权利务告知书", 0.85),  # one character dropped
        ("你是否申请回避", "那个你是否嗯申请回避", 0.9),  # a filler inside
        ("讯问笔录", "訊問筆錄", 0.9),  # traditional characters sound the same
    ],
)
def test_misrecognised_text_still_matches(pattern, text, at_least):
    assert similarity(pattern, text) >= at_least


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("委托律师", "那天晚上我在网吧上网"),
        ("申请回避", "你的身份证号码是多少"),
        ("录音录像", "你把事情经过讲一下"),
    ],
)
def test_unrelated_text_does_not_match(pattern, text):
    assert similarity(pattern, text) < 0.5


def test_find_reports_where_the_match_is():
    text = normalize("好，你有权委托律师。")
    score, start, end = find("委托律师", text)
    assert score == 1.0 and text[start:end] == "委托律师"
    score, start, end = find("委托律师", normalize("你有权为做律师"))
    assert 0.75 < score < 1.0 and end - start == 4


def test_normalize_drops_punctuation_and_folds_width():
    assert normalize("现在是１４：２０，讯问 开始！") == "现在是14点20讯问开始"


@pytest.mark.parametrize("text", ["现在是14时20分", "现在是十四点二十分", "下午两点半", "上午10开始讯问",
                                  "现在是9时整", "14:20"])
def test_clock_times_are_recognised(text):
    assert has_clock_time(normalize(text))


@pytest.mark.parametrize("text", ["有时候我会去", "一时间不知道", "你的出生日期1990年5月3日", "第一次讯问"])
def test_other_numbers_are_not_clock_times(text):
    assert not has_clock_time(normalize(text))


def test_rule_matcher_finds_rules_by_terms_and_phrases(matcher):
    hits = matcher.analyse("你有权为做律师作为辩护人，也可以申请法律援助。").hits
    assert "counsel" in hits
    hits = matcher.analyse("现在是2025年3月5日14时20分，讯问开始。").hits
    assert set(hits) == {"start_time"}
    hits = matcher.analyse("现在是15时40分，讯问结束。").hits
    assert set(hits) == {"end_time"}


def test_rule_matcher_exclusions_keep_lookalikes_out(matcher):
    # Asking about prior penalties is identity, not the crime question; a CCTV video is not the
    # announcement that the questioning is recorded.
    assert "crime_question_first" not in matcher.analyse("你以前有没有受过违法犯罪处理？").hits
    assert "announce_recording" not in matcher.analyse("现场的监控录像我们已经调取了。").hits


def test_facts_markers_flag_questions_on_the_facts(matcher):
    assert matcher.analyse("你把事情的经过讲一下。").facts_marker
    assert not matcher.analyse("你的文化程度？").facts_marker
    assert not matcher.analyse("你是否申请回避？").facts_marker  # a rule, not a question on the facts


def test_analysis_is_cached_per_text(matcher):
    first = matcher.analyse("你是否申请回避？")
    assert matcher.analyse("你是否申请回避") is first  # punctuation does not matter
