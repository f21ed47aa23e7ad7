"""Keeping recordings: every file is copied into BILU_HOME before anything else is done with it.

Stored audio is named by its sha256 (content-addressed): the name proves the content, and the same
recording imported twice is kept once.
"""
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from capture.recorder import fsync_folder

_BLOCK = 1 << 20
# A staged copy lives from its first byte until it is kept or refused: seconds for a file, minutes for a
# large upload. One untouched for a day was left by a process that died while copying.
STALE_STAGED_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class KeptAudio:
    path: Path  # absolute
    relative_path: str  # relative to BILU_HOME, as the store records it
    sha256: str
    size_bytes: int


def stage_copy(source: Path, audio_dir: Path) -> tuple[Path, str, int]:
    """Copy `source` into audio_dir/.incoming, flushed to disk; returns (staged path, sha256, bytes)."""
    incoming = audio_dir / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    staged = incoming / f"{uuid.uuid4().hex}{_suffix(source)}"
    digest = hashlib.sha256()
    size = 0
    with open(source, "rb") as src, open(staged, "wb") as dst:
        while block := src.read(_BLOCK):
            digest.update(block)
            size += len(block)
            dst.write(block)
        dst.flush()
        os.fsync(dst.fileno())
    return staged, digest.hexdigest(), size


def keep(staged: Path, sha256: str, size_bytes: int, *, home: Path) -> KeptAudio:
    """Move a staged copy to its permanent, content-addressed place under home/audio."""
    relative = Path("audio") / sha256[:2] / f"{sha256}{staged.suffix}"
    final = home / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        staged.unlink()
    else:
        os.replace(staged, final)
        fsync_folder(final.parent)
    return KeptAudio(path=final, relative_path=relative.as_posix(), sha256=sha256, size_bytes=size_bytes)


def discard(staged: Path) -> None:
    staged.unlink(missing_ok=True)


def remove_stale_staged(audio_dir: Path, *, older_than_s: float = STALE_STAGED_S) -> int:
    """Delete staged copies in audio_dir/.incoming not written to for `older_than_s` (left by a process
    killed mid-copy: nothing refers to them, the source is still where it was); returns how many."""
    incoming = audio_dir / ".incoming"
    if not incoming.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for path in incoming.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:  # kept or discarded by its own process meanwhile
            continue
    return removed


def _suffix(source: Path) -> str:
    suffix = source.suffix.lower()
    # Only a plain extension is kept: the stored name must never carry anything path-like.
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ".audio"
