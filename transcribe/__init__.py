"""Speech to text: faster-whisper with the embedded Whisper base model (or an operator's model folder).

Output is always Simplified Chinese, with timed words; silence, invented captions and repetition loops
write nothing.
"""
from transcribe.batch import TranscribeOptions, TranscriptInfo, transcribe_samples
from transcribe.model import EMBEDDED, ModelError, ModelSpec, embedded_model_dir, load_model, resolve_model_dir
from transcribe.short_window import PassWindow
from transcribe.simplified import to_simplified
from transcribe.streaming import StreamingError, StreamingTranscriber, StreamUpdate
from transcribe.types import Utterance, Word

__all__ = [
    "EMBEDDED",
    "ModelError",
    "ModelSpec",
    "PassWindow",
    "StreamUpdate",
    "StreamingError",
    "StreamingTranscriber",
    "TranscribeOptions",
    "TranscriptInfo",
    "Utterance",
    "Word",
    "embedded_model_dir",
    "load_model",
    "resolve_model_dir",
    "to_simplified",
    "transcribe_samples",
]
