"""Chinese text for interview rooms: procedural-statement rules and their checker, the police/legal
jieba dictionary for segmentation and search, and ASR hotwords.

Imports only transcribe and diarize types below it; what leaves the package is our own frozen
dataclasses (Statement, Finding, Rule, RuleSet, Alert).
"""

from lexicon.checker import check, check_transcript
from lexicon.errors import LexiconError, RuleError, TranscriptError
from lexicon.findings import STATUSES, Finding, Statement, statements_from_transcript
from lexicon.hotwords import DEFAULT_HOTWORD_CHARS, build_hotwords
from lexicon.live import Alert, LiveChecker
from lexicon.matcher import similarity
from lexicon.rules import ORDERS, Rule, RuleSet, TermSet, condition_names, load_rule_set, rule_set_names
from lexicon.segment import dictionary_terms, segment, segment_for_search

__all__ = [
    "DEFAULT_HOTWORD_CHARS",
    "ORDERS",
    "STATUSES",
    "Alert",
    "Finding",
    "LexiconError",
    "LiveChecker",
    "Rule",
    "RuleError",
    "RuleSet",
    "Statement",
    "TermSet",
    "TranscriptError",
    "build_hotwords",
    "check",
    "check_transcript",
    "condition_names",
    "dictionary_terms",
    "load_rule_set",
    "rule_set_names",
    "segment",
    "segment_for_search",
    "similarity",
    "statements_from_transcript",
]
