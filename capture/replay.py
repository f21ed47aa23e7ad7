"""A recorded file played through the live path in real time (`bilu record --file FILE`).

It gives what a microphone gives: 16 kHz AudioChunks of `block_s`, each handed out once the time it
covers has passed, with `start_s` counted in frames. Demonstrations, tests and benchmarks then drive the
recorder and the streaming transcriber exactly as a room microphone would.
"""
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from capture.chunk import AudioChunk
from capture.decode import decode_file
from capture.devices import CaptureArgumentError

log = logging.getLogger(__name__)


def replay_file(path: str | Path, *, realtime: bool = True, block_s: float = 0.1) -> Iterator[AudioChunk]:
    """Decode `path` (AudioDecodeError if it cannot be read) and yield it block by block.

    With `realtime` a block comes when its last frame would have been captured (pacing against one start
    time, so sleeps never add up to drift); without it, as fast as the consumer takes them.
    """
    if not 0.005 <= block_s <= 10.0:
        raise CaptureArgumentError(f"block_s must be from 0.005 to 10 seconds, not {block_s!r}")
    audio = decode_file(path)
    rate = audio.sample_rate
    block_frames = max(1, int(round(block_s * rate)))
    log.info("replaying %s: %.1f s, %d channels%s", Path(path).name, audio.duration_s, audio.channels,
             " in real time" if realtime else "")
    started_at = time.monotonic()
    for first in range(0, len(audio.samples), block_frames):
        block = audio.samples[first : first + block_frames]
        if realtime:
            due_at = started_at + (first + len(block)) / rate
            if (wait_s := due_at - time.monotonic()) > 0:
                time.sleep(wait_s)
        yield AudioChunk(samples=block, sample_rate=rate, start_s=first / rate)
