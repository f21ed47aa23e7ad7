"""The exception that bad diarization input raises."""


class DiarizationError(ValueError):
    """The audio or the request cannot be diarized. The message says what was wrong and what is allowed."""
