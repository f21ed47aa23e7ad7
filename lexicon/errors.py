"""The lexicon package's exceptions: all are ValueErrors, so callers may catch either."""


class LexiconError(ValueError):
    """Bad input to the lexicon package (a rule file, a transcript, a term list)."""


class RuleError(LexiconError):
    """A rule file is malformed; the message names the file, the rule key and the field."""


class TranscriptError(LexiconError):
    """A transcript document does not have the batch JSON export shape."""
