"""Chinese word segmentation with the police/legal user dictionary (jieba).

The dictionary (`lexicon/dict/police_legal.txt`, one term a line) keeps terms such as 诉讼权利义务告知书
or 取保候审 whole, for the search index and for anyone reading segmented text. The tokenizer is built
once, on first use, and shared; jieba's own chatter ("Building prefix dict ...") is kept below INFO.
"""

from __future__ import annotations

import logging
import threading
import warnings
from importlib import resources

from lexicon.errors import LexiconError

__all__ = ["dictionary_terms", "segment", "segment_for_search", "segment_tagged"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_tokenizer = None
_tagger = None


def dictionary_terms() -> list[str]:
    """The terms of the police/legal user dictionary, in file order."""
    text = (resources.files("lexicon") / "dict" / "police_legal.txt").read_text(encoding="utf-8")
    return [line.split()[0] for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _get_tokenizer():
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            with warnings.catch_warnings():
                # jieba 0.42 imports pkg_resources, which warns on recent setuptools.
                warnings.simplefilter("ignore")
                import jieba
            # jieba logs at DEBUG through its own handler; keep it quiet unless something goes wrong.
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            for term in dictionary_terms():
                # No frequency given: jieba suggests one high enough to keep the term whole.
                tokenizer.add_word(term)
            logger.debug("jieba tokenizer ready with %d user terms", len(dictionary_terms()))
            _tokenizer = tokenizer
        return _tokenizer


def segment(text: str) -> list[str]:
    """Words of `text` (precise mode, HMM for unknown words), without whitespace tokens."""
    if not isinstance(text, str):
        raise LexiconError(f"segment() needs a string, got {type(text).__name__}")
    return [w for w in _get_tokenizer().cut(text) if w.strip()]


def segment_for_search(text: str) -> list[str]:
    """Words of `text` for a search index: long words also yield their dictionary sub-words."""
    if not isinstance(text, str):
        raise LexiconError(f"segment_for_search() needs a string, got {type(text).__name__}")
    return [w for w in _get_tokenizer().cut_for_search(text) if w.strip()]


def segment_tagged(text: str) -> list[tuple[str, str]]:
    """(word, part-of-speech flag) pairs of `text`, jieba's tags (nr person, ns place, nt organisation, nz other
    proper noun), with the same user dictionary as `segment`."""
    if not isinstance(text, str):
        raise LexiconError(f"segment_tagged() needs a string, got {type(text).__name__}")
    global _tagger
    tokenizer = _get_tokenizer()
    with _lock:
        if _tagger is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import jieba.posseg
            _tagger = jieba.posseg.POSTokenizer(tokenizer)
    return [(pair.word, pair.flag) for pair in _tagger.cut(text) if pair.word.strip()]
