"""Speech to text: faster-whisper with the embedded Whisper base model (or an operator's model folder).

Output is always Simplified Chinese, with timed words. Silence is never sent to Whisper; text it may have
invented (captions, repetition loops, text over audio that is not speech) is kept and marked `suspect`,
with an independent measure of the audio under it (transcribe.speech_check): nothing is dropped.
"""
from transcribe.batch import TranscribeOptions, TranscriptInfo, transcribe_samples
from transcribe.model import (DEVICES, EMBEDDED, ModelError, ModelSpec, embedded_model_dir, load_model, resolve_device,
                              resolve_model_dir)
from transcribe.short_window import PassWindow
from transcribe.simplified import to_simplified
from transcribe.speech_check import SpeechMeasure, judged, measure_span, noise_floor_db
from transcribe.streaming import StreamingError, StreamingTranscriber, StreamUpdate
from transcribe.types import Utterance, Word

__all__ = [
    "DEVICES",
    "EMBEDDED",
    "ModelError",
    "ModelSpec",
    "PassWindow",
    "SpeechMeasure",
    "StreamUpdate",
    "StreamingError",
    "StreamingTranscriber",
    "TranscribeOptions",
    "TranscriptInfo",
    "Utterance",
    "Word",
    "embedded_model_dir",
    "judged",
    "load_model",
    "measure_span",
    "noise_floor_db",
    "resolve_device",
    "resolve_model_dir",
    "to_simplified",
    "transcribe_samples",
]
