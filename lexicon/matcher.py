"""Fuzzy matching of Chinese text that survives speech-recognition errors.

A recognizer that writes 训问 for 讯问 or 为做律师 for 委托律师 got the sounds (nearly) right and the
characters wrong, so two characters are compared by what they sound like: the same character costs
nothing, the same syllable (any reading of a polyphone, tones optional) costs little, a syllable with the
same final (做 zuo / 托 tuo) costs more, anything else costs a full edit. A pattern is found in a text by
approximate substring matching (Sellers' algorithm) with those substitution costs, plus inserted text
characters (fillers, extra words) and dropped pattern characters.

`RuleMatcher` applies a whole rule set to one text and caches the answer per text, so re-checking a
growing transcript only pays for the new statements.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

from pypinyin import Style, pinyin

from lexicon.rules import Rule, RuleSet

__all__ = ["RuleHit", "RuleMatcher", "TextAnalysis", "find", "normalize", "similarity"]

COST_SAME_TONED = 0.1
COST_SAME_SYLLABLE = 0.2
COST_SAME_FINAL = 0.65
COST_INSERT = 0.5
"""An extra character inside the matched stretch of text: fillers (嗯, 这个) and small rewordings are common."""
COST_DROP = 1.0
SHORT_PHRASE_CHARS = 10
SHORT_PHRASE_SIMILARITY = 0.78
MARKER_SIMILARITY = 0.9
"""Facts markers must match at least this well: one homophone in a short marker, no more."""

# Accent and recognizer confusions treated as the same sound: retroflex/dental initials, n/l, -n/-ng.
_INITIAL_MERGE = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"))
_FINAL_MERGE = (("ing", "in"), ("eng", "en"), ("ang", "an"))
_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
             "r", "z", "c", "s", "y", "w")
_NUMERALS = set("0123456789零〇一二两三四五六七八九十")
_CLOCK_UNIT_SOUNDS = {"dian", "fen"}  # 点, 分 (after merging)
_HOUR_SOUND = "si"  # 时 (shi -> si after merging)
_COLON_TIME = re.compile(r"(\d{1,2})\s*:\s*(\d{2})")
_DAYTIME_NUMBER = re.compile(r"(上午|下午|晚上|凌晨|早上|中午|傍晚|夜里)[0-9零〇一二两三四五六七八九十]")


@dataclass(frozen=True, slots=True)
class _Sound:
    toned: frozenset[str]
    plain: frozenset[str]
    finals: frozenset[str]


def normalize(text: str) -> str:
    """The characters that matter for matching: full-width folded, lower case, no punctuation or spaces;
    a clock time 14:20 becomes 14点20 so that it survives the loss of its colon."""
    text = _COLON_TIME.sub(r"\1点\2", unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _merge_syllable(toneless: str) -> tuple[str, str]:
    initial = next((i for i in _INITIALS if toneless.startswith(i)), "")
    final = toneless[len(initial):]
    for a, b in _INITIAL_MERGE:
        if initial == a:
            initial = b
    for a, b in _FINAL_MERGE:
        if final.endswith(a):
            final = final[: -len(a)] + b
    return initial + final, final


@lru_cache(maxsize=20000)
def _sound(ch: str) -> _Sound:
    if not ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"):
        return _Sound(frozenset(), frozenset(), frozenset())
    readings = pinyin(ch, style=Style.TONE3, heteronym=True, errors="ignore", neutral_tone_with_five=True)
    toned = frozenset(r for r in (readings[0] if readings else []) if r)
    plain, finals = set(), set()
    for reading in toned:
        merged, final = _merge_syllable(reading.rstrip("012345"))
        plain.add(merged)
        finals.add(final)
    return _Sound(toned, frozenset(plain), frozenset(finals))


def _sound_keys(ch: str) -> frozenset[str]:
    """What a character is indexed by: its merged syllables, or itself when it has no reading."""
    plain = _sound(ch).plain
    return plain if plain else frozenset({ch})


_COST_ROWS: dict[str, dict[str, float]] = {}
"""Substitution costs already computed: pattern character -> text character -> cost."""


def _cost_row(a: str) -> dict[str, float]:
    row = _COST_ROWS.get(a)
    if row is None:
        row = _COST_ROWS[a] = {a: 0.0}
    return row


def _cost(a: str, b: str) -> float:
    row = _cost_row(a)
    cost = row.get(b)
    if cost is None:
        sa, sb = _sound(a), _sound(b)
        if sa.toned & sb.toned:
            cost = COST_SAME_TONED
        elif sa.plain & sb.plain:
            cost = COST_SAME_SYLLABLE
        elif sa.finals & sb.finals:
            cost = COST_SAME_FINAL
        else:
            cost = 1.0
        row[b] = cost
    return cost


class _TextFeatures:
    """Sets of a text's characters and sounds, for a cheap lower bound on any match cost."""

    __slots__ = ("chars", "toned", "plain", "finals")

    def __init__(self, text: str) -> None:
        self.chars = set(text)
        self.toned: set[str] = set()
        self.plain: set[str] = set()
        self.finals: set[str] = set()
        for ch in self.chars:
            s = _sound(ch)
            self.toned |= s.toned
            self.plain |= s.plain
            self.finals |= s.finals

    def min_cost(self, ch: str) -> float:
        if ch in self.chars:
            return 0.0
        s = _sound(ch)
        if s.toned & self.toned:
            return COST_SAME_TONED
        if s.plain & self.plain:
            return COST_SAME_SYLLABLE
        if s.finals & self.finals:
            return COST_SAME_FINAL
        return 1.0


def find(pattern: str, text: str, *, min_similarity: float = 0.0,
         _features: _TextFeatures | None = None) -> tuple[float, int, int]:
    """Best approximate occurrence of `pattern` in `text` (both normalized): (similarity, start, end).

    Similarity is 1 - cost / len(pattern), at least 0. Returns (0.0, 0, 0) when no stretch reaches
    `min_similarity`; the cheap sound-set bound skips the full alignment when it cannot.
    """
    m = len(pattern)
    if m == 0 or not text:
        return 0.0, 0, 0
    budget = (1.0 - min_similarity) * m + 1e-9
    features = _features or _TextFeatures(text)
    bound = 0.0
    for ch in pattern:
        bound += features.min_cost(ch)
        if bound > budget:
            return 0.0, 0, 0
    exact = text.find(pattern)
    if exact >= 0:
        return 1.0, exact, exact + m
    rows = [_cost_row(ch) for ch in pattern]
    # Columns over the text; row i = cost of matching pattern[:i] ending at the current text position.
    prev = [i * COST_DROP for i in range(m + 1)]
    prev_start = [0] * (m + 1)
    best_cost, best_start, best_end = prev[m], 0, 0
    for j, t in enumerate(text, start=1):
        cur = [0.0] * (m + 1)
        cur_start = [j] * (m + 1)
        for i in range(1, m + 1):
            sub = rows[i - 1].get(t)
            if sub is None:
                sub = _cost(pattern[i - 1], t)
            diag = prev[i - 1] + sub
            start = prev_start[i - 1]
            insert = prev[i] + COST_INSERT
            if insert < diag:
                diag, start = insert, prev_start[i]
            drop = cur[i - 1] + COST_DROP
            if drop < diag:
                diag, start = drop, cur_start[i - 1]
            cur[i] = diag
            cur_start[i] = start
        if cur[m] < best_cost:
            best_cost, best_start, best_end = cur[m], cur_start[m], j
        prev, prev_start = cur, cur_start
    similarity = max(0.0, 1.0 - best_cost / m)
    if similarity + 1e-9 < min_similarity:
        return 0.0, 0, 0
    return similarity, best_start, best_end


def similarity(pattern: str, text: str) -> float:
    """How well `pattern` occurs somewhere in `text`, from 0 to 1, after normalizing both."""
    return find(normalize(pattern), normalize(text))[0]


def has_clock_time(text: str) -> bool:
    """A clock time such as 14时20分, 十四点二十, 下午两点, 14:20 (normalized text, sounds tolerated)."""
    n = len(text)
    for i, ch in enumerate(text):
        if ch not in _NUMERALS or (i + 1 < n and text[i + 1] in _NUMERALS):
            continue
        # i ends a run of numerals
        if i + 1 >= n:
            continue
        unit = _sound(text[i + 1]).plain
        if unit & _CLOCK_UNIT_SOUNDS or text[i + 1] == "整":
            return True
        # 时 (or a homophone) after a number, unless it is 时间 / 时候 / 时期 (一时间, 有时候 ...).
        if _HOUR_SOUND in unit and not (i + 2 < n and text[i + 2] in "间候期"):
            return True
    # A time of day followed by a number (上午10 ... when the recognizer dropped 时).
    return bool(_DAYTIME_NUMBER.search(text))


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule found in a text: its score (0..1) and the matched stretch of the normalized text."""

    rule_key: str
    score: float
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TextAnalysis:
    """What a rule set finds in one text."""

    text: str
    hits: dict[str, RuleHit]
    facts_marker: bool
    """An officer saying this has begun the questions on the facts (a marker, and no procedural rule)."""
    interrogative: bool = False
    """It has a question word (the question mark, if any, is in the raw text only)."""
    not_facts: bool = False
    """It has a word of identity or procedural questions: a question, but not on the facts."""


class RuleMatcher:
    """A rule set compiled for matching, with a bounded cache of analysed texts."""

    def __init__(self, rule_set: RuleSet, *, cache_size: int = 50_000) -> None:
        self.rule_set = rule_set
        self._rules = [(rule, tuple(normalize(p) for p in rule.phrases),
                        tuple(tuple(tuple(normalize(t) for t in g) for g in ts.groups) for ts in rule.term_sets),
                        tuple(normalize(x) for x in rule.exclude)) for rule in rule_set.rules]
        self._markers = tuple(normalize(m) for m in rule_set.facts_markers)
        self._interrogatives = tuple(normalize(m) for m in rule_set.interrogatives)
        self._not_facts = tuple(normalize(m) for m in rule_set.not_facts)
        self._cache: OrderedDict[str, TextAnalysis] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._build_index()

    def _build_index(self) -> None:
        """Index every pattern by the sounds of its characters.

        A pattern character whose syllable occurs nowhere in the text costs at least COST_SAME_FINAL, so
        a pattern with too many such characters cannot reach its threshold: counting covered characters
        through this index rules out almost every pattern for almost every text before any alignment.
        """
        patterns: set[str] = {*self._markers, *self._not_facts}
        for _rule, phrases, term_sets, exclude in self._rules:
            patterns.update(phrases, exclude)
            for groups in term_sets:
                for group in groups:
                    patterns.update(group)
        self._index: dict[str, list[tuple[str, int]]] = {}
        self._max_uncovered: dict[str, float] = {}
        for pattern in patterns:
            if not pattern:
                continue
            threshold = self._term_threshold(pattern)
            if any(pattern in phrases for _r, phrases, _t, _x in self._rules):
                threshold = min(threshold, self._phrase_threshold(pattern))
            self._max_uncovered[pattern] = (1.0 - threshold) * len(pattern) / COST_SAME_FINAL + 1e-9
            for pos, ch in enumerate(pattern):
                for key in _sound_keys(ch):
                    self._index.setdefault(key, []).append((pattern, pos))

    def _candidates(self, text: str) -> set[str]:
        covered: set[tuple[str, int]] = set()
        for key in {k for ch in set(text) for k in _sound_keys(ch)}:
            covered.update(self._index.get(key, ()))
        counts: dict[str, int] = {}
        for pattern, _pos in covered:
            counts[pattern] = counts.get(pattern, 0) + 1
        return {p for p, c in counts.items() if len(p) - c <= self._max_uncovered[p]}

    def analyse(self, text: str) -> TextAnalysis:
        key = normalize(text)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        analysis = self._analyse(key)
        with self._lock:
            self._cache[key] = analysis
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return analysis

    def _analyse(self, text: str) -> TextAnalysis:
        hits: dict[str, RuleHit] = {}
        if not text:
            return TextAnalysis(text, hits, False)
        features = _TextFeatures(text)
        candidates = self._candidates(text)
        clock: list[bool | None] = [None]  # computed once, only if a rule needs it
        for rule, phrases, term_sets, exclude in self._rules:
            hit = self._match_rule(rule, phrases, term_sets, text, features, candidates, clock)
            if hit is None:
                continue
            if any(self._term_found(x, text, features, candidates) for x in exclude):
                continue
            hits[rule.key] = hit
        # A false marker would put every later notice out of order, so markers must match closely.
        marker = not hits and any(
            self._term_found(m, text, features, candidates, min_similarity=MARKER_SIMILARITY)
            for m in self._markers)
        interrogative = not_facts = False
        if not hits:
            # Exact characters only: question words are short and sound like common words (呢 / 你).
            interrogative = any(w in text for w in self._interrogatives)
            not_facts = any(self._term_found(w, text, features, candidates) for w in self._not_facts)
        return TextAnalysis(text, hits, marker, interrogative, not_facts)

    def _term_found(self, term: str, text: str, features: _TextFeatures, candidates: set[str],
                    min_similarity: float = 0.0) -> tuple[float, int, int] | None:
        if term not in candidates:
            return None
        threshold = max(self._term_threshold(term), min_similarity)
        found = find(term, text, min_similarity=threshold, _features=features)
        if found[0] <= 0:
            return None
        if len(term) == 2 and found[0] < 1.0 and not _keeps_own_sound(term, text[found[1]:found[2]]):
            return None
        return found

    def _phrase_threshold(self, phrase: str) -> float:
        """A short phrase (under 10 characters) must match more closely: two errors in 你要不要请律师
        leave 你要不要请 + anything, which says nothing about a lawyer."""
        if len(phrase) < SHORT_PHRASE_CHARS:
            return max(self.rule_set.phrase_threshold, SHORT_PHRASE_SIMILARITY)
        return self.rule_set.phrase_threshold

    def _term_threshold(self, term: str) -> float:
        """One-character terms: that character or one with the very same toned syllable. Two or three: the set's threshold (a
        homophone passes, a dropped or unrelated character does not). Four or more: one dropped or
        wrong character is tolerated, as recognizers often lose one character of a long term."""
        if len(term) == 1:
            return max(self.rule_set.term_threshold, 1.0 - COST_SAME_TONED - 0.05)
        if len(term) >= 4:
            return min(self.rule_set.term_threshold, 1.0 - COST_DROP / len(term))
        return self.rule_set.term_threshold

    def _match_rule(self, rule: Rule, phrases: tuple[str, ...],
                    term_sets: tuple[tuple[tuple[str, ...], ...], ...], text: str, features: _TextFeatures,
                    candidates: set[str], clock: list[bool | None]) -> RuleHit | None:
        best: RuleHit | None = None
        for phrase in phrases:
            if phrase not in candidates:
                continue
            score, start, end = find(phrase, text, min_similarity=self._phrase_threshold(phrase),
                                     _features=features)
            if score > 0 and (best is None or score > best.score):
                best = RuleHit(rule.key, score, start, end)
        for term_set, groups in zip(rule.term_sets, term_sets):
            if term_set.clock_time:
                if clock[0] is None:
                    clock[0] = has_clock_time(text)
                if not clock[0]:
                    continue
            needed = len(groups) if term_set.at_least is None else term_set.at_least
            found = []
            for n, group in enumerate(groups):
                if len(found) + len(groups) - n < needed:
                    break  # too few groups left to reach `needed`
                group_best = None
                for term in group:
                    hit = self._term_found(term, text, features, candidates)
                    if hit and (group_best is None or hit[0] > group_best[0]):
                        group_best = hit
                        if hit[0] >= 1.0:
                            break
                if group_best is not None:
                    found.append(group_best)
                elif term_set.at_least is None:
                    break
            if len(found) < needed:
                continue
            if term_set.max_other_chars is not None and \
                    len(text) - _covered_chars(found) > term_set.max_other_chars:
                continue
            # Term matches are scored a little below a full phrase: they say less.
            score = 0.9 * sum(f[0] for f in found) / len(found)
            start = min(f[1] for f in found)
            end = max(f[2] for f in found)
            if best is None or score > best.score:
                best = RuleHit(rule.key, score, start, end)
        return best


def _covered_chars(found: list[tuple[float, int, int]]) -> int:
    """How many characters of the text the matched terms cover (overlapping matches counted once)."""
    covered: set[int] = set()
    for _score, start, end in found:
        covered.update(range(start, end))
    return len(covered)


def _keeps_own_sound(term: str, matched: str) -> bool:
    """A two-character term matched in `matched` keeps at least one of its characters (or one with the very
    same toned syllable, 戶 for 户), or else both of its syllables exactly, tones aside: a recognizer that
    mishears a short word writes homophones of it (慨实 for 开始, 避鲁 for 笔录). Both characters replaced
    and a syllable reached only through the accent merges (z/zh, n/l, -n/-ng) is another word: 组织 (zu)
    is not 住址 (zhu). The merges stay for one character; for both at once they say too little."""
    if any(a == b or _cost(a, b) <= COST_SAME_TONED for a in term for b in matched):
        return True
    return len(matched) == len(term) and all(_bare_syllables(a) & _bare_syllables(b)
                                             for a, b in zip(term, matched))


@lru_cache(maxsize=20000)
def _bare_syllables(ch: str) -> frozenset[str]:
    """A character's syllables without tones and without the accent merges (zhu stays zhu)."""
    return frozenset(r.rstrip("012345") for r in _sound(ch).toned)
