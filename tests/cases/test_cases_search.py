"""Chinese full-text search through the store: jieba segmentation, safe queries, snippets."""

from pathlib import Path

import pytest

from cases import InvalidQuery, Store
from cases.search import highlight, match_expression, query_terms, segment_for_index
from transcribe.types import Utterance, Word

LONG_NOTICE = "这是犯罪嫌疑人诉讼权利义务告知书，你看清楚了吗？"


def said(start_s: float, text: str, speaker: str) -> Utterance:
    return Utterance.from_words([Word(start_s, start_s + 2.0, text, 0.9)], speaker=speaker)


def open_session(store: Store, case_no: str) -> int:
    return store.create_session(
        case_no=case_no, room="一号室", kind="file", source_name="a.wav", audio_path="audio/a.flac",
        audio_sha256="f" * 64, audio_bytes=1, duration_s=60.0, sample_rate=16000, channels=1,
        diarizer="voice", model="whisper-base", options={},
    )


@pytest.fixture
def store(tmp_path: Path, backend):
    with backend.open(tmp_path) as opened:
        first = open_session(opened, "A-1")
        for start_s, text, speaker in [
            (0.0, "现在对讯问过程进行全程同步录音录像", "S0"),
            (3.0, LONG_NOTICE, "S0"),
            (6.0, "看清楚了", "S1"),
            (9.0, "你有权委托律师作为辩护人", "S0"),
            (12.0, "我不申请回避 OR 什么的 NEAR 都行", "S1"),
        ]:
            opened.add_utterance(first, said(start_s, text, speaker))
        opened.set_speaker_roles(first, {"S0": "讯问人", "S1": "被讯问人"})
        second = open_session(opened, "B-2")
        opened.add_utterance(second, said(0.0, "你看清楚告知书了吗", "S0"))
        yield opened


def test_a_word_inside_a_longer_utterance_is_found(store):
    hits = store.search("嫌疑人")
    assert [hit["text"] for hit in hits] == [LONG_NOTICE]
    hit = hits[0]
    assert hit["snippet"] == "这是犯罪【嫌疑人】诉讼权利义务告知书，你看清楚了吗？"
    assert (hit["case_no"], hit["speaker"], hit["role"]) == ("A-1", "S0", "讯问人")
    assert (hit["start_s"], hit["end_s"]) == (3.0, 5.0)
    assert isinstance(hit["utterance_id"], int) and isinstance(hit["session_id"], int)


def test_every_word_of_the_query_is_required(store):
    assert {hit["case_no"] for hit in store.search("告知书")} == {"A-1", "B-2"}
    hits = store.search("权利义务告知书")
    assert [hit["text"] for hit in hits] == [LONG_NOTICE]
    assert hits[0]["snippet"] == "这是犯罪嫌疑人诉讼【权利义务告知书】，你看清楚了吗？"
    assert store.search("告知书 律师") == []


def test_search_filters_by_case_and_role(store):
    assert [hit["case_no"] for hit in store.search("看清楚", case_no="B-2")] == ["B-2"]
    assert [hit["text"] for hit in store.search("看清楚", role="被讯问人")] == ["看清楚了"]
    assert {hit["role"] for hit in store.search("看清楚", role="讯问人")} == {"讯问人"}
    assert store.search("看清楚", role="翻译") == []


def test_limit_is_respected_and_checked(store):
    assert len(store.search("看清楚", limit=1)) == 1
    for bad in (0, -1, 10_000, "5"):
        with pytest.raises(InvalidQuery, match="limit"):
            store.search("看清楚", limit=bad)


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_an_empty_query_is_refused(store, query):
    with pytest.raises(InvalidQuery, match="empty"):
        store.search(query)


@pytest.mark.parametrize("query", ['"', "*", "(", ")", '""', "^", "，。？"])
def test_a_query_of_only_syntax_or_punctuation_is_refused_cleanly(store, query):
    with pytest.raises(InvalidQuery, match="no words"):
        store.search(query)


@pytest.mark.parametrize(
    "query",
    ['告知书"', "告知书*", "OR", "告知书 OR 律师", "NEAR(", "NEAR(告知书 律师)", "segmented:告知书",
     "律师 NOT 辩护人", '"告知书" OR "x"', "^看清楚", "看清楚 AND"],
)
def test_fts_syntax_in_a_query_is_searched_as_text(store, query):
    terms = query_terms(query)
    hits = store.search(query)
    for hit in hits:
        for term in terms:
            assert term.casefold() in hit["text"].casefold(), (query, term, hit["text"])
    # OR and NEAR are plain words here: only the utterance that says them can match.
    if query in ("OR", "NEAR("):
        assert [hit["text"] for hit in hits] == ["我不申请回避 OR 什么的 NEAR 都行"]
    if query in ("告知书 OR 律师", "律师 NOT 辩护人", "看清楚 AND"):
        assert hits == []


def test_match_expression_quotes_every_term():
    assert match_expression(["告知书", 'a"b']) == '"告知书" AND "a""b"'


def test_index_text_is_segmented_with_spaces():
    segmented = segment_for_index("这是犯罪嫌疑人诉讼权利义务告知书，你看清楚了吗？")
    tokens = segmented.split(" ")
    assert {"嫌疑人", "嫌疑", "告知"} <= set(tokens)
    assert "，" not in tokens and "？" not in tokens


def test_highlight_merges_touching_and_overlapping_matches():
    assert highlight("诉讼权利义务", ["诉讼", "权利"]) == "【诉讼权利】义务"
    assert highlight("你看清楚了吗", ["看清", "清楚"]) == "你【看清楚】了吗"
    assert highlight("Wang said OK", ["ok"]) == "Wang said 【OK】"
    assert highlight("律师律师", ["律师"]) == "【律师律师】"
    assert highlight("没有匹配", ["告知书"]) == "没有匹配"


def test_highlight_cuts_a_long_text_to_a_window_around_the_match():
    text = "甲" * 200 + "告知书" + "乙" * 200
    snippet = highlight(text, ["告知书"])
    assert "【告知书】" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(snippet) <= 120 + 4


def test_snippets_of_long_utterances_keep_the_match(store, tmp_path):
    session_id = store.list_sessions("B-2")[0]["id"]
    long_text = "前面的话" * 40 + "认罪认罚可以从宽处理" + "后面的话" * 40
    store.add_utterance(session_id, said(30.0, long_text, "S0"))
    hit = store.search("从宽处理")[0]
    assert "【从宽处理】" in hit["snippet"] and hit["snippet"].startswith("…")
    assert hit["text"] == long_text
