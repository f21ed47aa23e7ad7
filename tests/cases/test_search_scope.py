"""Search within a user's scope when many lines match (issue 18): the newest matching lines are ranked, and what
the search index carries about each line (on PostgreSQL: its session, unit, role and session start) follows every
change."""
from datetime import date
from pathlib import Path

import pytest

from cases import Scope, SearchFilters
from cases.access import scope_of
from cases.search import index_terms, query_terms
from cases.search_candidates import RANKED_CANDIDATES
from tests.cases.test_cases_search import open_session
from transcribe.types import Utterance, Word

PASSWORD = "search-password-1"


def said(start_s: float, text: str, speaker: str) -> Utterance:
    return Utterance.from_words([Word(start_s, start_s + 1.0, text, 0.9)], speaker=speaker)


@pytest.fixture
def store(tmp_path: Path, backend):
    with backend.open(tmp_path) as opened:
        opened.add_unit("市局", level="city")
        opened.add_unit("一中心", level="centre", parent="市局")
        opened.add_unit("甲所", level="unit", parent="一中心")
        opened.add_unit("乙所", level="unit", parent="一中心")
        opened.add_user("jia", role="officer", unit="甲所", password=PASSWORD)
        opened.add_user("yi", role="officer", unit="乙所", password=PASSWORD)
        opened.add_user("boss", role="supervisor", unit="一中心", password=PASSWORD)
        yield opened


def test_more_matches_than_are_ranked_gives_the_newest_in_scope_best_first(store):
    """A word said in more lines than RANKED_CANDIDATES: the hits are the best of the newest, never a line outside
    the scope, and a line that says the word twice comes before those that say it once."""
    mine, theirs = open_session(store, "J-1"), open_session(store, "Y-1")
    store.set_case_unit("J-1", "甲所")
    store.set_case_unit("Y-1", "乙所")
    lines = RANKED_CANDIDATES + 20
    for seq in range(lines):
        store.add_utterance(mine, said(float(seq), f"第{seq}次说身份证的事", "S1"))
    newest = store.add_utterance(theirs, said(0.0, "身份证身份证都在这里", "S1"))  # outside jia's unit
    twice = store.add_utterance(mine, said(float(lines), "身份证和身份证复印件", "S1"))
    jia = scope_of(store.account("jia"))
    hits = store.search_visible("身份证", jia, limit=50)
    assert len(hits) == 50
    assert {hit["session_id"] for hit in hits} == {mine}
    assert hits[0]["utterance_id"] == twice
    # Then, equally good, the newest ranked lines in the order said: the oldest lines were not ranked.
    first_ranked = lines - (RANKED_CANDIDATES - 1)
    assert [hit["text"] for hit in hits[1:]] == [f"第{seq}次说身份证的事" for seq in range(first_ranked, first_ranked + 49)]
    # A page larger than the ranked set ranks as many as the page holds: here every one of jia's lines.
    assert len(store.search_visible("身份证", jia, limit=1000)) == lines + 1
    boss = scope_of(store.account("boss"))
    assert {hit["session_id"] for hit in store.search_visible("身份证", boss, limit=1000)} == {mine, theirs}
    assert newest in {hit["utterance_id"] for hit in store.search_visible("身份证", boss, limit=2)}


def test_moving_a_case_to_another_unit_moves_its_lines_in_search(store):
    session_id = open_session(store, "M-1")
    store.set_case_unit("M-1", "甲所")
    store.add_utterance(session_id, said(0.0, "赃款放在仓库第三排", "S1"))
    jia, yi = scope_of(store.account("jia")), scope_of(store.account("yi"))
    assert [hit["case_no"] for hit in store.search_visible("仓库", jia)] == ["M-1"]
    assert store.search_visible("仓库", yi) == []
    store.set_case_unit("M-1", "乙所")
    assert store.search_visible("仓库", jia) == []
    assert [hit["case_no"] for hit in store.search_visible("仓库", yi)] == ["M-1"]


def test_the_role_filter_follows_roles_set_after_the_lines(store):
    session_id = open_session(store, "R-1")
    store.set_case_unit("R-1", "甲所")
    store.add_utterance(session_id, said(0.0, "你是否申请回避", "S0"))
    store.add_utterance(session_id, said(2.0, "不申请回避", "S1"))
    jia = scope_of(store.account("jia"))
    asked = SearchFilters(role="被讯问人")
    assert store.search_visible("回避", jia, asked) == []  # no roles yet
    store.set_speaker_roles(session_id, {"S0": "讯问人", "S1": "被讯问人"})
    assert [hit["text"] for hit in store.search_visible("回避", jia, asked)] == ["不申请回避"]
    # A correction after the session is done: S0's lines move to S1, whose role is 被讯问人.
    store.finish_session(session_id)
    speaker = next(s for s in store.speakers(session_id) if s["label"] == "S0")
    store.relabel_speaker(session_id, "S0", version=speaker["version"], by=store.account("jia"), new_label="S1")
    assert {hit["text"] for hit in store.search_visible("回避", jia, asked)} == {"你是否申请回避", "不申请回避"}
    assert store.search_visible("回避", jia, SearchFilters(role="讯问人")) == []


def test_a_scope_of_several_units_and_the_assigned_scope_see_only_theirs(store):
    first, second = open_session(store, "S-1"), open_session(store, "S-2")
    store.set_case_unit("S-1", "甲所")
    store.set_case_unit("S-2", "乙所")
    store.add_utterance(first, said(0.0, "银行卡转账", "S1"))
    store.add_utterance(second, said(0.0, "银行卡转账", "S1"))
    boss = scope_of(store.account("boss"))
    assert {hit["case_no"] for hit in store.search_visible("转账", boss)} == {"S-1", "S-2"}
    assert {hit["case_no"] for hit in store.search_visible("转账", Scope("below", store.unit("甲所")["id"]))} \
        == {"S-1"}
    assert store.search_visible("转账", Scope("assigned", store.account("jia").id)) == []
    assert {hit["case_no"] for hit in store.search_visible("转账", Scope("all"))} == {"S-1", "S-2"}


def test_an_old_date_range_finds_its_lines_behind_more_newer_matches_than_are_ranked(tmp_path, store, backend):
    """A store fills in time order: an old session's lines have the lowest ids. A date range far back still gets its
    lines when more than RANKED_CANDIDATES newer lines match, and a line added to the old session last (the
    highest id of all) is among them."""
    old, newer = open_session(store, "O-1"), open_session(store, "O-2")
    for case_no in ("O-1", "O-2"):
        store.set_case_unit(case_no, "甲所")
    # The store only ever writes "now": the old session's start is set as a store a year old holds it.
    backend.tamper(tmp_path, "UPDATE sessions SET created_at = ? WHERE id = ?",
                   params=("2025-02-10T08:00:00.000+00:00", old))
    old_lines = [store.add_utterance(old, said(float(n), f"旧案第{n}次提到身份证", "S1")) for n in range(3)]
    newer_lines = [store.add_utterance(newer, said(float(n), f"新案第{n}次提到身份证", "S1"))
                   for n in range(RANKED_CANDIDATES + 20)]
    old_lines.append(store.add_utterance(old, said(3.0, "旧案最后补录的身份证", "S1")))
    jia = scope_of(store.account("jia"))

    def found(date_from: date | None, date_to: date | None, limit: int = 50) -> set[int]:
        hits = store.search_visible("身份证", jia, SearchFilters(date_from=date_from, date_to=date_to), limit=limit)
        return {hit["utterance_id"] for hit in hits}

    assert found(date(2025, 2, 1), date(2025, 2, 28)) == set(old_lines)
    assert found(None, date(2025, 12, 31)) == set(old_lines)
    assert found(date(2024, 1, 1), date(2024, 12, 31)) == set()
    assert found(date(2026, 1, 1), None, limit=1000) == set(newer_lines)
    assert found(date(2025, 2, 10), date(2025, 2, 10), limit=1) <= set(old_lines)  # one day: its start's


@pytest.mark.parametrize("query, needed", [("身份证", ["身份证"]), ("转账 两千元", ["转账", "两千元"]),
                                           ("诉讼权利", ["诉讼", "权利"])])
def test_index_terms_drop_only_words_that_a_longer_term_implies(query, needed):
    assert index_terms(query_terms(query)) == needed
