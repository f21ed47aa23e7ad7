"""Hostile and broken recordings, each made by the test from real recorded Mandarin (or from nothing at all).

Shared by tests/api/test_hostile_inputs.py (the upload route) and tests/api/test_hostile_cli.py
(`bilu transcribe`): the same file must get the same verdict on both paths.

`REFUSED`: (id, maker, words the refusal must contain). `ACCEPTED`: (id, maker, what the transcript must be:
"speech" = the clip's words (character error rate at most
0.35), "narrowband speech" = the same at most 0.6, "empty" = no utterances, "any" = stored and finished, text not judged).
A maker takes (folder, data_dir) and returns the file it wrote (its name is what the user would send).
"""
import io
import struct
import wave
import zipfile
import zlib
from pathlib import Path

import av
import numpy as np
import soundfile as sf

from tests.audio_helpers import write_audio

CLIP = "aishell1_BAC009S0724W0121.wav"  # 4.3 s, one speaker, a trustworthy dataset label
RATE = 16000


def speech(data_dir: Path) -> np.ndarray:
    samples, rate = sf.read(data_dir / CLIP, dtype="float32")
    assert rate == RATE
    return samples


def resampled(samples: np.ndarray, rate: int) -> np.ndarray:
    """Band-limited resampling with PyAV's own resampler (the test must not share the decoder's code path)."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = RATE
    out = [f.to_ndarray()[0] for f in resampler.resample(frame)] + [f.to_ndarray()[0] for f in resampler.resample(None)]
    return np.concatenate(out)


def _wav(path: Path, samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    sf.write(path, samples, rate, subtype=subtype)
    return path


def zero_bytes(folder, data_dir):
    (path := folder / "interview.wav").write_bytes(b"")
    return path


def header_cut_short(folder, data_dir):
    (path := folder / "header.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    return path


def truncated_header(folder, data_dir):
    (path := folder / "cut.wav").write_bytes((data_dir / CLIP).read_bytes()[:30])  # stops inside the fmt chunk
    return path


def text_named_wav(folder, data_dir):
    (path := folder / "notes.wav").write_text("讯问笔录：这不是录音，只是一个文本文件。\n" * 40, encoding="utf-8")
    return path


def wav_claiming_10_hours(folder, data_dir):
    data = bytearray((data_dir / CLIP).read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = struct.pack("<I", RATE * 2 * 3600 * 10)
    (path := folder / "liar.wav").write_bytes(bytes(data))
    return path


def wav_claiming_30_hours(folder, data_dir):
    data = bytearray((data_dir / CLIP).read_bytes())
    at = data.index(b"data")
    data[at + 4:at + 8] = struct.pack("<I", 8000 * 1 * 3600 * 30)  # 8-bit 8 kHz: 30 h fits in 32 bits
    fmt = data.index(b"fmt ") + 8
    data[fmt:fmt + 16] = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
    (path := folder / "marathon.wav").write_bytes(bytes(data))
    return path


def ogg_claiming_6_hours(folder, data_dir):
    """A real Opus file whose last page's granule position (the length Ogg declares) says 6 hours."""
    write_audio(original := folder / "six.ogg.tmp.ogg", speech(data_dir), RATE)
    data = bytearray(original.read_bytes())
    original.unlink()
    last = data.rindex(b"OggS")
    data[last + 6:last + 14] = struct.pack("<q", 48000 * 3600 * 6)
    data[last + 22:last + 26] = b"\0\0\0\0"
    data[last + 22:last + 26] = struct.pack("<I", _ogg_crc(bytes(data[last:])))
    (path := folder / "six_hours.ogg").write_bytes(bytes(data))
    return path


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def channels_64(folder, data_dir):
    samples = np.zeros((RATE, 64), np.float32)
    samples[:, 0] = speech(data_dir)[:RATE]
    return _wav(folder / "sixty_four.wav", samples, RATE)


def nan_samples(folder, data_dir):
    samples = speech(data_dir).copy()
    samples[20000:20100] = np.nan
    return _wav(folder / "nan.wav", samples, RATE, "FLOAT")


def inf_samples(folder, data_dir):
    samples = speech(data_dir).copy()
    samples[30000] = np.inf
    samples[30001] = -np.inf
    return _wav(folder / "inf.wav", samples, RATE, "FLOAT")


def zip_named_m4a(folder, data_dir):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("笔录.txt", "问：你叫什么名字？\n答：张三。\n" * 50)
        archive.writestr("audio.wav", (data_dir / CLIP).read_bytes())
    (path := folder / "recording.m4a").write_bytes(buffer.getvalue())
    return path


def png_named_flac(folder, data_dir):
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))
    (path := folder / "photo.flac").write_bytes(png)
    return path


def mp3_mostly_damaged(folder, data_dir):
    write_audio(original := folder / "m.tmp.mp3", speech(data_dir), RATE)
    data = bytearray(original.read_bytes())
    original.unlink()
    noise = np.random.default_rng(7).integers(0, 256, len(data), dtype=np.uint8).tobytes()
    for start in range(600, len(data) - 200, 1200):  # every third frame or so overwritten with noise
        data[start:start + 200] = noise[start:start + 200]
    (path := folder / "shredded.mp3").write_bytes(bytes(data))
    return path


def random_bytes_as_mp3(folder, data_dir):
    (path := folder / "noise.mp3").write_bytes(np.random.default_rng(3).integers(0, 256, 50_000, np.uint8).tobytes())
    return path


def rate_8k(folder, data_dir):
    return _wav(folder / "phone_8k.wav", resampled(speech(data_dir), 8000), 8000)


def rate_192k(folder, data_dir):
    return _wav(folder / "studio_192k.wav", resampled(speech(data_dir), 192000), 192000, "PCM_24")


def channels_8(folder, data_dir):
    """Eight seats, the speaker at seat 4, heard 14 dB lower at seat 5, the other seats silent."""
    voice = speech(data_dir)
    samples = np.zeros((len(voice), 8), np.float32)
    samples[:, 3] = voice
    samples[:, 4] = voice * 0.2
    return _wav(folder / "eight_seats.wav", samples, RATE)


def all_clipped(folder, data_dir):
    return _wav(folder / "clipped.wav", np.clip(speech(data_dir) * 60.0, -1.0, 1.0), RATE)


def dc_only(folder, data_dir):
    return _wav(folder / "dc.wav", np.full(RATE * 3, 0.5, np.float32), RATE)


def a_hundredth_of_a_second(folder, data_dir):
    return _wav(folder / "blip.wav", speech(data_dir)[8000:8160], RATE)


def no_frames(folder, data_dir):
    with wave.open(str(path := folder / "stopped_at_once.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE)
    return path


def mp3_one_bad_frame(folder, data_dir):
    write_audio(original := folder / "m.tmp.mp3", speech(data_dir), RATE)
    data = bytearray(original.read_bytes())
    original.unlink()
    middle = len(data) // 2
    data[middle:middle + 300] = np.random.default_rng(1).integers(0, 256, 300, np.uint8).tobytes()
    (path := folder / "one_bad_frame.mp3").write_bytes(bytes(data))
    return path


REFUSED = [
    ("zero-bytes", zero_bytes, "empty"),
    ("header-cut-short", header_cut_short, "not a recording"),
    ("truncated-header", truncated_header, "not a recording"),
    ("text-named-wav", text_named_wav, "not a recording"),
    ("wav-claims-10-hours", wav_claiming_10_hours, "truncated"),
    ("wav-claims-30-hours", wav_claiming_30_hours, "at most 24 h"),
    ("ogg-claims-6-hours", ogg_claiming_6_hours, "truncated"),
    ("64-channels", channels_64, "64 audio channels; 1 to 32"),
    ("nan-samples", nan_samples, "NaN"),
    ("inf-samples", inf_samples, "infinity"),
    ("zip-named-m4a", zip_named_m4a, "not a recording"),
    ("png-named-flac", png_named_flac, "no audio stream"),
    ("mp3-mostly-damaged", mp3_mostly_damaged, "damaged"),
    ("random-bytes-mp3", random_bytes_as_mp3, "not a recording"),
]

ACCEPTED = [
    ("8-khz", rate_8k, "narrowband speech"),  # telephone band: Whisper base loses about half the characters
    ("192-khz", rate_192k, "speech"),
    ("8-channels", channels_8, "speech"),
    ("mp3-one-bad-frame", mp3_one_bad_frame, "speech"),
    ("all-clipped", all_clipped, "any"),
    ("dc-only", dc_only, "empty"),
    ("0.01-s", a_hundredth_of_a_second, "empty"),
    ("no-frames", no_frames, "empty"),
]


def character_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over characters, punctuation and spaces ignored, divided by the reference length."""
    keep = lambda text: [ch for ch in text if ch.isalnum()]  # noqa: E731
    ref, hyp = keep(reference), keep(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))
