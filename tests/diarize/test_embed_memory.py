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


def test_two_threads_embedding_at_once_leave_onednn_as_it_was(data_dir):
    # Two live rooms (or a room beside a file) embed at the same time. oneDNN's switch is process-wide:
    # the first thread out must not turn it back on under the second, nor the second turn it off for good.
    import threading

    import torch

    from diarize.embed import _ONEDNN_OFF

    onednn_before = torch.backends.mkldnn.enabled
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def first() -> None:
        with _ONEDNN_OFF.held():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second() -> None:
        first_in.wait(10)
        with _ONEDNN_OFF.held():
            second_in.set()
            first_out.wait(10)
            seen["oneDNN off while still embedding"] = not torch.backends.mkldnn.enabled

    workers = [threading.Thread(target=first), threading.Thread(target=second)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    assert seen == {"oneDNN off while still embedding": True}
    assert torch.backends.mkldnn.enabled == onednn_before
    # And the encoder itself still works after the settings are back.
    mels = mel_frames(decode_file(data_dir / "funasr_long_25s.flac").mono())
    assert SpeakerEncoder().embed([mels[:200]]).shape == (1, 256)
