from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word (for Chinese, usually one to four characters). Seconds from session start."""

    start_s: float
    end_s: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Utterance:
    """A stretch of speech by one speaker, with its words.

    `text` is always the concatenation of the words' text, stripped (Whisper words carry their own
    leading spaces for Latin words; Chinese words have none). `speaker` and `channel` are filled in by
    diarization; `committed` is False only for tentative live text.
    """

    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)
    channel: int | None = None
    speaker: str | None = None
    committed: bool = True

    @classmethod
    def from_words(cls, words: "tuple[Word, ...] | list[Word]", **kwargs) -> "Utterance":
        words = tuple(words)
        if not words:
            raise ValueError("an utterance needs at least one word")
        return cls(
            start_s=words[0].start_s,
            end_s=words[-1].end_s,
            text="".join(w.text for w in words).strip(),
            words=words,
            **kwargs,
        )

    def with_speaker(self, speaker: str | None, channel: int | None = None) -> "Utterance":
        return replace(self, speaker=speaker, channel=channel)
