from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class Word:
    """One recognised word (for Chinese, usually one to four characters). Seconds from session start."""

    start_s: float
    end_s: float
    text: str
    probability: float
    # Why the hallucination filters doubt this word (transcribe.hallucination: "caption", "loop",
    # "no_speech"), None if they do not. A doubted word is kept, never dropped: the audio decides.
    suspect: str | None = None


@dataclass(frozen=True, slots=True)
class Utterance:
    """A stretch of speech by one speaker, with its words.

    `text` is always the concatenation of the words' text, stripped (Whisper words carry their own
    leading spaces for Latin words; Chinese words have none). `speaker` and `channel` are filled in by
    diarization; `committed` is False only for tentative live text.

    `suspect`: why the text may be something nobody said (a reason of transcribe.hallucination, or
    "no_speech_audio" when only the audio measure doubts it); None if nothing doubts it. The independent
    audio measure over the utterance's span (transcribe.speech_check) gives `speech_probability` (Silero's
    mean over the span), `energy_db` (its level above the recording's noise floor) and `not_speech`: only
    an utterance whose audio is not speech is left out of the written record, and only until an officer
    decides. Nothing is ever dropped.
    """

    start_s: float
    end_s: float
    text: str
    words: tuple[Word, ...] = field(default_factory=tuple)
    channel: int | None = None
    speaker: str | None = None
    committed: bool = True
    suspect: str | None = None
    speech_probability: float | None = None
    energy_db: float | None = None
    not_speech: bool = False

    @classmethod
    def from_words(cls, words: "tuple[Word, ...] | list[Word]", **kwargs) -> "Utterance":
        words = tuple(words)
        if not words:
            raise ValueError("an utterance needs at least one word")
        if "suspect" not in kwargs:  # doubted words make a doubted utterance
            kwargs["suspect"] = next((w.suspect for w in words if w.suspect), None)
        return cls(
            start_s=words[0].start_s,
            end_s=words[-1].end_s,
            text="".join(w.text for w in words).strip(),
            words=words,
            **kwargs,
        )

    def marks(self) -> dict:
        """The suspicion and the audio measure, to carry over to the pieces of a split utterance."""
        return {"suspect": self.suspect, "speech_probability": self.speech_probability,
                "energy_db": self.energy_db, "not_speech": self.not_speech}

    def with_speaker(self, speaker: str | None, channel: int | None = None) -> "Utterance":
        return replace(self, speaker=speaker, channel=channel)
