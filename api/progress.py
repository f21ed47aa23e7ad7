"""A progress bar on a terminal (and nothing when output goes to a file or a pipe)."""
import sys

from tqdm import tqdm


class TerminalProgress:
    """One bar per stage, measured in seconds of audio. Silent when stderr is not a terminal."""

    def __init__(self):
        self._bar: tqdm | None = None
        self._stage: str | None = None
        self._enabled = sys.stderr.isatty()

    def update(self, stage: str, done_s: float, total_s: float) -> None:
        if not self._enabled:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=round(total_s, 1), desc=f"{stage:>12}", unit="s", file=sys.stderr,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}<{remaining}]")
        self._bar.update(max(0.0, min(done_s, self._bar.total) - self._bar.n))

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "TerminalProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
