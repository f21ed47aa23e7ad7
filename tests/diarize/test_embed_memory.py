"""Embedding utterances of ever-different lengths (a live room labels each one as it is stored) must not
make the process grow: oneDNN kept a compiled LSTM per input shape, 0.4 MB each (diarize/embed.py)."""
import numpy as np

from capture import decode_file
from diarize.embed import SpeakerEncoder, mel_frames


def resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_embedding_many_lengths_keeps_memory_flat(data_dir):
    mels = mel_frames(decode_file(data_dir / "funasr_long_25s.flac").mono())
    encoder = SpeakerEncoder()
    lengths = np.random.default_rng(7).permutation(np.arange(100, 100 + 230))  # 230 distinct lengths, 1-3.3 s
    for length in lengths[:30]:  # warm up: the model loaded, the allocator's pools in use
        encoder.embed([mels[:length]])
    before = resident_mb()
    for length in lengths[30:]:
        encoder.embed([mels[:length]])
    grown = resident_mb() - before
    # With a compiled LSTM kept per shape: about 0.4 MB for each of the 200 lengths, 80 MB.
    assert grown < 20.0, f"resident memory grew {grown:.1f} MB over 200 embeddings"
