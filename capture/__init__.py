"""Audio in: decoding recorded files (and, later, room microphones) into 16 kHz float32 samples.

Imports nothing of ours: every other package builds on what this one gives.
"""
from capture.chunk import AudioChunk
from capture.decode import SAMPLE_RATE, AudioDecodeError, DecodedAudio, decode_file

__all__ = ["SAMPLE_RATE", "AudioChunk", "AudioDecodeError", "DecodedAudio", "decode_file"]
