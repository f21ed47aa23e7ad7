"""Audio in: recorded files and room microphones, as 16 kHz (files) or device-rate (microphones) chunks,
and the crash-safe recording of every chunk to disk before anything else uses it.

Imports nothing of ours: every other package builds on what this one gives. sounddevice (and so the
PortAudio library) is loaded only when a device is used.
"""
from capture.chunk import AudioChunk
from capture.decode import SAMPLE_RATE, AudioDecodeError, DecodedAudio, decode_file
from capture.devices import CaptureArgumentError, CaptureError, InputDevice, find_input_device, list_input_devices
from capture.microphone import ChunkResampler, DeviceLost, Microphone
from capture.recorder import RecordingError, SegmentInfo, SegmentRecorder
from capture.recovery import read_segments, recover_segments, segment_windows
from capture.replay import replay_file
from capture.windows import WINDOW_S, AudioInfo, AudioWindow, decode_windows, probe_file

__all__ = [
    "SAMPLE_RATE",
    "WINDOW_S",
    "AudioChunk",
    "AudioDecodeError",
    "AudioInfo",
    "AudioWindow",
    "CaptureArgumentError",
    "CaptureError",
    "ChunkResampler",
    "DecodedAudio",
    "DeviceLost",
    "InputDevice",
    "Microphone",
    "RecordingError",
    "SegmentInfo",
    "SegmentRecorder",
    "decode_file",
    "decode_windows",
    "find_input_device",
    "list_input_devices",
    "probe_file",
    "read_segments",
    "recover_segments",
    "replay_file",
    "segment_windows",
]
