"""LocalAgreement-2: commit what two successive hypotheses agree on (after ufal/whisper_streaming).

Pure logic, no model: hypotheses (timed words on the session clock, each over the audio buffer as it
stood) go in, newly committed words come out. Committed words never change; what the latest hypothesis
adds beyond them stays tentative until the next hypothesis agrees with it. `UtteranceGrouper` then groups
committed words into utterances.
"""
from dataclasses import replace

from transcribe.hallucination import normalised
from transcribe.types import Utterance, Word

# A word of a new hypothesis that starts this much before the last committed end is taken as one already
# committed (Whisper's word times move by a few tens of milliseconds between passes).
OVERLAP_TOLERANCE_S = 0.1
# After a buffer trim, Whisper may hear again the last committed words at the start of the buffer: up to
# this many are recognised as repeats when the new hypothesis starts near the committed end.
MAX_REPEAT_NGRAM = 5
REPEAT_WINDOW_S = 1.0
SENTENCE_ENDS = "。！？!?…"


def word_key(word: Word) -> str:
    """What two hypotheses must agree on: the text without punctuation, spaces or case."""
    return normalised(word.text)


def common_prefix(previous: list[Word], current: list[Word]) -> int:
    """How many leading words of `current` lie wholly inside the text both hypotheses start with.

    Compared character by character on `word_key`: Whisper splits Chinese differently from pass to pass
    (一些 / 一 些), and a word-by-word comparison would then never agree.
    """
    before = "".join(word_key(w) for w in previous)
    now = "".join(word_key(w) for w in current)
    agreed_chars = 0
    for x, y in zip(before, now):
        if x != y:
            break
        agreed_chars += 1
    n, used = 0, 0
    for w in current:
        used += len(word_key(w))
        if used > agreed_chars or (not word_key(w) and n >= len(previous)):
            break
        n += 1
    return n


class LocalAgreement:
    """Keeps the committed end and the previous hypothesis's uncommitted words; see `update`."""

    def __init__(self) -> None:
        self._committed_tail: list[Word] = []  # the last committed words, to recognise repeats
        self._committed_end_s = 0.0
        self._previous: list[Word] = []  # uncommitted words of the last hypothesis
        # Of the words the last `update` committed, how many two hypotheses agreed on (the first ones); the
        # rest were settled by a pause. Read only to explain a late commit (transcribe.stream_debug).
        self.last_agreed = 0

    @property
    def committed_end_s(self) -> float:
        """End of the last committed word (0.0 before any commit)."""
        return self._committed_end_s

    @property
    def tentative(self) -> list[Word]:
        """Words of the latest hypothesis not committed yet."""
        return list(self._previous)

    def update(self, hypothesis: list[Word], *, settled_until_s: float | None = None) -> list[Word]:
        """Take a new hypothesis; return the words it newly commits (times from this hypothesis).

        `settled_until_s`: the speech ended there and only silence follows in the audio this hypothesis
        heard, so no word starting before it sits at the edge of the audio: those are committed at once,
        without waiting for the next hypothesis (what makes the end of a turn appear without a second pass).
        """
        fresh = self._beyond_committed(hypothesis)
        agreed = common_prefix(self._previous, fresh)
        if settled_until_s is not None:
            settled = 0
            while settled < len(fresh) and fresh[settled].start_s <= settled_until_s:
                settled += 1
            agreed = max(agreed, settled)
        self.last_agreed = common_prefix(self._previous, fresh)
        committed = fresh[:agreed]
        self._previous = fresh[agreed:]
        return self._remember(committed)

    def flush(self) -> list[Word]:
        """Commit the last hypothesis's uncommitted words (the stream ended: no further hypothesis comes)."""
        committed, self._previous = self._previous, []
        return self._remember(committed)

    def _beyond_committed(self, hypothesis: list[Word]) -> list[Word]:
        words = [w for w in hypothesis if w.start_s > self._committed_end_s - OVERLAP_TOLERANCE_S]
        if words and self._committed_tail and abs(words[0].start_s - self._committed_end_s) <= REPEAT_WINDOW_S:
            # The longest run at the start of the new words that repeats the end of the committed words.
            tail_keys = [word_key(w) for w in self._committed_tail]
            new_keys = [word_key(w) for w in words]
            for n in range(min(MAX_REPEAT_NGRAM, len(tail_keys), len(new_keys)), 0, -1):
                if tail_keys[-n:] == new_keys[:n]:
                    words = words[n:]
                    break
        # Tentative words too: shown after the committed text, so they must not start inside it.
        return in_time_order(words, after_s=self._committed_end_s)

    def _remember(self, committed: list[Word]) -> list[Word]:
        in_order = in_time_order(committed, after_s=self._committed_end_s)
        if in_order:
            self._committed_tail = (self._committed_tail + in_order)[-MAX_REPEAT_NGRAM:]
            self._committed_end_s = in_order[-1].end_s
        return in_order


def in_time_order(words: list[Word], *, after_s: float) -> list[Word]:
    """`words` with times clamped so none starts before `after_s` or before the previous word ends.

    Word times move a little between passes: without this, committed times could go backwards.
    """
    in_order = []
    end_s = after_s
    for w in words:
        start_s = max(w.start_s, end_s)
        end_s = max(w.end_s, start_s)
        in_order.append(w if (start_s, end_s) == (w.start_s, w.end_s) else replace(w, start_s=start_s, end_s=end_s))
    return in_order


class UtteranceGrouper:
    """Groups committed words into utterances: sentence-ending punctuation, a pause, or a maximum length.

    A pause is either a gap longer than `pause_s` between Whisper's word times, or a break the caller heard
    (`set_breaks`: the middle of a silence Silero found). Whisper stretches the words on either side of a
    short silence over it (a 0.7 s gap between two speakers often shows as none), so without the heard
    breaks two people's lines ran into one utterance, stored only when the second line ended.
    """

    def __init__(self, *, pause_s: float, max_utterance_s: float) -> None:
        self.pause_s = pause_s
        self.max_utterance_s = max_utterance_s
        self.open: list[Word] = []
        self.last_closed_end_s = 0.0
        self._breaks_s: list[float] = []  # session times of heard silences, ascending

    def set_breaks(self, breaks_s: list[float], *, from_s: float) -> None:
        """The silences (their middles, session times) heard in the audio after `from_s`, where an utterance
        must end; those heard before `from_s` (by earlier passes over audio since trimmed) are kept."""
        self._breaks_s = [b for b in self._breaks_s if b < from_s] + sorted(b for b in breaks_s if b >= from_s)

    def add(self, words: list[Word]) -> list[Utterance]:
        closed = []
        for word in words:
            if self.open and (
                word.start_s - self.open[-1].end_s > self.pause_s
                or word.end_s - self.open[0].start_s > self.max_utterance_s
                or self._break_between(self.open[-1], word)
            ):
                closed.append(self.close())
            self.open.append(word)
            if word.text.rstrip()[-1:] in SENTENCE_ENDS:
                closed.append(self.close())
        return closed

    def close_if_paused(self, *, next_word: Word | None, heard_until_s: float) -> list[Utterance]:
        """Close the open utterance when the next word (or, with none heard yet, the audio) is a pause away."""
        if not self.open:
            return []
        if next_word is not None and self._break_between(self.open[-1], next_word):
            return [self.close()]
        following_s = heard_until_s if next_word is None else next_word.start_s
        if next_word is None and any(b > _middle(self.open[-1]) for b in self._breaks_s):
            return [self.close()]
        return [self.close()] if following_s - self.open[-1].end_s > self.pause_s else []

    def close(self) -> Utterance:
        utterance = Utterance.from_words(self.open)
        self.open = []
        self.last_closed_end_s = utterance.end_s
        return utterance

    def _break_between(self, before: Word, after: Word) -> bool:
        # By the words' middles: the word after a silence often starts inside it in Whisper's timing.
        return any(_middle(before) < b < _middle(after) for b in self._breaks_s)


def _middle(word: Word) -> float:
    return (word.start_s + word.end_s) / 2
