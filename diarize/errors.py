"""The exceptions of the diarize package: bad input, or a diarizer this machine cannot run."""
from error_kinds import BadInput, Unavailable


class DiarizationError(BadInput):
    """The audio or the request cannot be diarized. The message says what was wrong and what is allowed."""

    code = "diarization_input_invalid"


class DiarizerUnavailable(Unavailable, DiarizationError):
    """The chosen diarizer cannot run here: pyannote.audio not installed, or its pipeline folder missing or broken.

    A DiarizationError (callers catching that keep working) whose kind is Unavailable: the message names the
    folder or the setting (BILU_PYANNOTE_PIPELINE) to fix."""

    code = "diarizer_unavailable"
