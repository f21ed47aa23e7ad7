"""Aligning written blocks to the utterances of a recording, on content and in time order.

A written record condenses: one 问 may stand for several of the officer's utterances (and the suspect's 嗯 in
between), one 答 for two answers, and the recorder drops fillers and reorders clauses. So each block is matched to
a contiguous span of utterances (possibly empty) by dynamic programming, spans in time order, utterances left
between spans unmatched; the score of a block against a span is how much of the block's content the span
contains, measured on toneless pinyin bigrams (homophones the recognizer chose count as equal), on characters,
and on jieba words with the police dictionary. A block the programme leaves unmatched is looked for once more
near its neighbours, alone, which lets a clause the recorder moved find its utterance.
"""
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from consistency.patterns import OFFICER_ROLES
from consistency.text import bigrams, normalize, syllables
from lexicon.segment import segment

__all__ = ["Spoken", "Alignment", "AlignOptions", "align", "content_score", "Content"]


@dataclass(frozen=True, slots=True)
class Spoken:
    """One utterance as the aligner sees it (the store's row reduced to what matters here)."""

    id: int
    start_s: float
    end_s: float
    role: str | None
    text: str


@dataclass(frozen=True, slots=True)
class AlignOptions:
    max_span: int = 6  # utterances one block may stand for
    band: int = 40  # how far (in utterances) from the diagonal a block's span may start, beyond the proportional
    rescue_window: int = 4  # utterances either side of the neighbours' spans where an unmatched block is looked for
    min_score: float = 0.34  # below this a block is taken as not matched by its span
    pinyin_weight: float = 0.55
    char_weight: float = 0.2
    word_weight: float = 0.25


@dataclass(frozen=True, slots=True)
class Alignment:
    block: int
    utterance_ids: tuple[int, ...]
    start_s: float | None
    end_s: float | None
    similarity: float
    moved: bool  # matched only by the second look near its neighbours (a clause the recorder moved)


class Content:
    """The comparable content of a text: pinyin bigrams, character bigrams, jieba words as pinyin."""

    __slots__ = ("normalized", "pinyin", "pinyin_bigrams", "char_bigrams", "words", "pinyin_text", "word_pinyins")

    def __init__(self, text: str) -> None:
        self.normalized = normalize(text)
        self.pinyin = syllables(self.normalized)
        self.pinyin_bigrams = Counter(bigrams(self.pinyin))
        self.char_bigrams = Counter(bigrams(tuple(self.normalized)))
        self.pinyin_text = " " + " ".join(self.pinyin) + " "
        self.words = [w for w in segment(self.normalized) if len(w) >= 2] if self.normalized else []
        self.word_pinyins = [" " + " ".join(syllables(w)) + " " for w in self.words]

    @staticmethod
    def joined(parts: list["Content"]) -> "Content":
        return Content("".join(p.normalized for p in parts))


def _covered(part: Counter, whole: Counter) -> float:
    total = sum(part.values())
    if not total:
        return 0.0
    return sum(min(n, whole.get(key, 0)) for key, n in part.items()) / total


def _word_cover(block: Content, span: Content) -> float:
    if not block.words:
        return _covered(block.pinyin_bigrams, span.pinyin_bigrams)
    found = sum(1 for w in block.word_pinyins if w in span.pinyin_text)
    return found / len(block.words)


def content_score(block: Content, span: Content, options: AlignOptions = AlignOptions()) -> float:
    """How much of the block's content the span says, 0 to 1, with a small cost for a span much longer than the
    block (so that a span does not swallow its neighbours' utterances for free)."""
    if not block.pinyin or not span.pinyin:
        return 0.0
    cover = (options.pinyin_weight * _covered(block.pinyin_bigrams, span.pinyin_bigrams)
             + options.char_weight * _covered(block.char_bigrams, span.char_bigrams)
             + options.word_weight * _word_cover(block, span))
    precision = _covered(span.pinyin_bigrams, block.pinyin_bigrams)
    return cover * (0.85 + 0.15 * precision)


def align(blocks: list[str], utterances: list[Spoken], options: AlignOptions = AlignOptions(), *,
          speakers: list[str] | None = None, progress: Callable[[int, int], None] | None = None) -> list[Alignment]:
    """One Alignment per block, in block order; spans never go back in time. `speakers` (问 or 答 per block)
    keeps the second look from giving an answer to an officer's utterance, or a question to the suspect's.
    `progress(done, total)` is called after each block is placed (a record of hundreds of blocks takes seconds)."""
    blocks_speakers = speakers
    block_content = [Content(text) for text in blocks]
    spoken_content = [Content(u.text) for u in utterances]
    n_blocks, n_utts = len(blocks), len(utterances)
    span_cache: dict[tuple[int, int], Content] = {}

    def span(i: int, j: int) -> Content:
        if (i, j) not in span_cache:
            span_cache[(i, j)] = spoken_content[i] if j == i + 1 else Content.joined(spoken_content[i:j])
        return span_cache[(i, j)]

    # best[k][i]: best total score with the first k blocks placed and the first i utterances used up
    negative = float("-inf")
    best = [[negative] * (n_utts + 1) for _ in range(n_blocks + 1)]
    back: list[list[tuple[int, int, float] | None]] = [[None] * (n_utts + 1) for _ in range(n_blocks + 1)]
    best[0][0] = 0.0
    # A span must begin and end with an utterance sharing some pinyin bigram with the block: a span that begins
    # with an utterance holding nothing of the block scores no more than the span without it. This prunes all but
    # a few starts per block, so a four-hour questioning aligns in seconds.
    spoken_keys = [set(c.pinyin_bigrams) for c in spoken_content]
    for k in range(n_blocks + 1):
        if progress is not None and 0 < k:
            progress(k, n_blocks)
        centre = (k * n_utts) // max(n_blocks, 1)
        low, high = max(0, centre - options.band - n_utts // 4), min(n_utts, centre + options.band + n_utts // 4)
        keys = set(block_content[k].pinyin_bigrams) if k < n_blocks else set()
        for i in range(n_utts + 1):
            score = best[k][i]
            if score == negative:
                continue
            if i < n_utts and score > best[k][i + 1]:  # leave utterance i unmatched
                best[k][i + 1] = score
                back[k][i + 1] = (k, i, -1.0)
            if k == n_blocks:
                continue
            if score > best[k + 1][i]:  # block k not in the recording here
                best[k + 1][i] = score
                back[k + 1][i] = (k, i, 0.0)
            if not (low <= i <= high) or i == n_utts or not keys & spoken_keys[i]:
                continue
            for j in range(i + 1, min(n_utts, i + options.max_span) + 1):
                if not keys & spoken_keys[j - 1]:
                    continue
                if speakers and not (_fits(speakers[k], utterances[i].role) and _fits(speakers[k], utterances[j - 1].role)):
                    continue  # an answer begins and ends with someone other than an officer, a question with an officer
                    # (the officer's 嗯 inside an answer is fine; the next question is not the answer's)
                similarity = content_score(block_content[k], span(i, j), options)
                if similarity < options.min_score:
                    continue
                if score + similarity > best[k + 1][j]:
                    best[k + 1][j] = score + similarity
                    back[k + 1][j] = (k, i, similarity)
    # walk back from the best end
    k, i = n_blocks, max(range(n_utts + 1), key=lambda x: best[n_blocks][x])
    spans: dict[int, tuple[int, int, float]] = {}
    while k > 0 or i > 0:
        previous = back[k][i]
        if previous is None:
            break
        pk, pi, similarity = previous
        if pk == k - 1 and similarity > 0:
            spans[pk] = (pi, i, similarity)
        k, i = pk, pi
    result: list[Alignment] = []
    for k in range(n_blocks):
        if k in spans:
            i, j, similarity = spans[k]
            chosen = utterances[i:j]
            result.append(Alignment(k, tuple(u.id for u in chosen), chosen[0].start_s, chosen[-1].end_s,
                                    round(similarity, 3), False))
        else:
            result.append(_rescue(k, blocks_speakers[k] if blocks_speakers else None, block_content[k], spans,
                                  utterances, spoken_content, options,
                                  answers_question=bool(blocks_speakers) and k > 0 and blocks_speakers[k] == "答"
                                  and blocks_speakers[k - 1] == "问"))
    return result


def _fits(speaker: str | None, role: str | None) -> bool:
    """Whether a block by `speaker` (问/答) may stand for an utterance by `role`; unknown roles fit anything."""
    if speaker is None or role is None:
        return True
    return (speaker == "问") == (role in OFFICER_ROLES)


def _rescue(k: int, speaker: str | None, block: Content, spans: dict, utterances: list[Spoken], spoken: list[Content],
            options: AlignOptions, *, answers_question: bool = False) -> Alignment:
    """An unmatched block looked for among the utterances near its neighbours' spans, one or two at a time. An
    answer is never looked for before the question it answers, when that question was matched: an answer follows
    its question (没有了 after 还有什么要说的 is not the 没有 said to the question before)."""
    before = max((spans[b][0] for b in spans if b < k), default=0)
    after = min((spans[b][1] for b in spans if b > k), default=len(utterances))
    low, high = max(0, before - options.rescue_window), min(len(utterances), after + options.rescue_window)
    if answers_question and k - 1 in spans:
        low = max(low, spans[k - 1][0])
    best: tuple[float, int, int] = (0.0, -1, -1)
    for i in range(low, high):
        for j in (i + 1, i + 2):
            if j > high or any(not _fits(speaker, u.role) for u in utterances[i:j]):
                continue
            content = spoken[i] if j == i + 1 else Content.joined(spoken[i:j])
            similarity = content_score(block, content, options)
            if similarity > best[0]:
                best = (similarity, i, j)
    similarity, i, j = best
    if similarity < options.min_score:
        return Alignment(k, (), None, None, round(similarity, 3), False)
    chosen = utterances[i:j]
    return Alignment(k, tuple(u.id for u in chosen), chosen[0].start_s, chosen[-1].end_s, round(similarity, 3), True)
