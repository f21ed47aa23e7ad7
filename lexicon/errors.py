"""The lexicon package's exceptions: all are bad input (and so ValueErrors, as callers may catch either)."""
from error_kinds import BadInput


class LexiconError(BadInput):
    """Bad input to the lexicon package (a rule file, a transcript, a term list)."""

    code = "lexicon_input_invalid"


class RuleError(LexiconError):
    """A rule file is malformed, or a rule set or condition is unknown; the message names which."""

    code = "rule_invalid"


class TranscriptError(LexiconError):
    """A transcript document does not have the batch JSON export shape."""

    code = "transcript_invalid"
