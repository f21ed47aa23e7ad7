"""Chinese full-text search helpers: segmentation for the FTS5 index, safe MATCH queries, snippets.

SQLite's unicode61 tokenizer treats a run of Han characters as one token, so the index holds
jieba-segmented text (`" ".join(jieba.cut_for_search(text))`) and queries are segmented the same way.

The segmenter is a private `jieba.Tokenizer` on jieba's default dictionary: an index segmented with one
dictionary and
queried with another misses matches (a name indexed as "张三 丰" cannot be found as "张三丰"). A
fixed dictionary keeps old and new rows searchable alike. lexicon's police/legal dictionary is not used
here on purpose: it makes 犯罪嫌疑人诉讼权利义务告知书 one token, and jieba's search mode then yields only
its 2- and 3-character dictionary parts, so a search for 权利义务告知书 or 告知书 would miss it.
"""

import logging
import re
import threading

import jieba

from cases.errors import InvalidQuery

logger = logging.getLogger(__name__)

SNIPPET_MAX_CHARS = 120
"""Longer texts are cut to a window around the first match."""
SNIPPET_CONTEXT_CHARS = 30
"""How much text the snippet window keeps before the first match."""
MAX_QUERY_CHARS = 500

HIGHLIGHT_OPEN = "【"
HIGHLIGHT_CLOSE = "】"

_tokenizer: jieba.Tokenizer | None = None
_tokenizer_lock = threading.Lock()


def _segmenter() -> jieba.Tokenizer:
    global _tokenizer
    with _tokenizer_lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)  # jieba logs "Building prefix dict" at DEBUG via its own handler
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _tokenizer = tokenizer
        return _tokenizer


def _is_searchable(token: str) -> bool:
    # unicode61 drops everything but letters and digits; a token without any would become an
    # empty phrase in the query.
    return any(ch.isalnum() for ch in token)


def segment_for_index(text: str) -> str:
    """The text as stored in the FTS5 index: jieba search-mode words separated by spaces."""
    return " ".join(token for token in _segmenter().cut_for_search(text) if _is_searchable(token))


def query_terms(query: str) -> list[str]:
    """The distinct searchable words of a query, segmented as the index is, in order of appearance.

    Raises InvalidQuery if the query is empty, too long, or has no letters or digits at all.
    """
    if not isinstance(query, str) or not query.strip():
        raise InvalidQuery("the search query is empty: give one or more words to search for",
                           zh="检索词为空：请输入一个或多个词")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQuery(
            f"the search query has {len(query)} characters; at most {MAX_QUERY_CHARS} are allowed",
            zh=f"检索词有 {len(query)} 个字符，最多 {MAX_QUERY_CHARS} 个",
        )
    terms: list[str] = []
    for token in _segmenter().cut_for_search(query):
        if _is_searchable(token) and token not in terms:
            terms.append(token)
    if not terms:
        raise InvalidQuery(
            "the search query has no words to search for (only punctuation or symbols): "
            "give Chinese words, letters or digits",
            zh="检索词中只有标点或符号：请输入中文词语、字母或数字",
        )
    return terms


def index_terms(terms: list[str]) -> list[str]:
    """The terms an index query needs: without those every line holding another term is sure to hold too.

    jieba's search mode indexes each word with its 2- and 3-character dictionary parts (身份证 → 身份, 身份证),
    and segments the query the same way, so a line that holds 身份证 holds 身份. Asking for both finds the same
    lines, but PostgreSQL multiplies the two words' frequencies as if they were independent and expects a
    frequent word to be rare (1,138 lines for 18,476), which chose a plan that reads every match.
    """
    segmenter = _segmenter()
    return [term for term in terms
            if not (2 <= len(term) <= 3 and segmenter.FREQ.get(term)
                    and any(term in other and len(other) > len(term) for other in terms))]


def match_expression(terms: list[str]) -> str:
    """An FTS5 MATCH expression that requires every term.

    Each term is a quoted string (inner quotes doubled), so user input such as `"`, `*`, `OR`,
    `NEAR(` or `column:` is searched for as text and never read as query syntax.
    """
    return " AND ".join('"' + term.replace('"', '""') + '"' for term in terms)


def highlight(text: str, terms: list[str]) -> str:
    """`text` with every occurrence of the terms marked 【like this】, cut to a window if long.

    Works on the original text (not the segmented one), so the snippet reads as it was said.
    Overlapping and touching matches become one mark: terms 诉讼 and 权利 give 【诉讼权利】.
    """
    spans = _match_spans(text, terms)
    window_start, window_end = 0, len(text)
    if len(text) > SNIPPET_MAX_CHARS:
        first = spans[0][0] if spans else 0
        window_start = max(0, min(first - SNIPPET_CONTEXT_CHARS, len(text) - SNIPPET_MAX_CHARS))
        window_end = window_start + SNIPPET_MAX_CHARS
    parts: list[str] = ["…"] if window_start > 0 else []
    position = window_start
    for start, end in spans:
        start, end = max(start, window_start), min(end, window_end)
        if start >= end:
            continue
        parts.append(text[position:start])
        parts.append(HIGHLIGHT_OPEN + text[start:end] + HIGHLIGHT_CLOSE)
        position = end
    parts.append(text[position:window_end])
    if window_end < len(text):
        parts.append("…")
    return "".join(parts)


def _match_spans(text: str, terms: list[str]) -> list[tuple[int, int]]:
    if not terms:
        return []
    # Each term separately, so that overlapping terms (看清 and 清楚 in 看清楚) are all marked.
    found = sorted(
        match.span()
        for term in terms
        for match in re.finditer(re.escape(term), text, re.IGNORECASE)
    )
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans
